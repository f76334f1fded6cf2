package webrtcmedia

import (
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkBridge measures RTP packets bridged per second through one
// endpoint: calls pairs of clients, each caller sending 160-byte PCMU
// packets to its callee as fast as 32 packets in flight allow. An op is
// one packet; cpu-µs/pkt is the process's CPU time per packet heard. The
// clients run in the same process: their SRTP, and their sockets, are in
// the cost, so the endpoint alone does more.
func BenchmarkBridge(b *testing.B) {
	for _, calls := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) { benchBridge(b, calls) })
	}
}

func benchBridge(b *testing.B, calls int) {
	e := newEndpoint(b)
	type pair struct{ a, b *client }
	pairs := make([]pair, calls)
	for i := range pairs {
		a := newClient(b, clientOpts{codecs: []Codec{PCMU}, countOnly: true})
		a.addTrack(PCMU)
		r := newClient(b, clientOpts{codecs: []Codec{PCMU}, countOnly: true})
		r.addTrack(PCMU)
		c := placeCall(b, e, a, r, []Codec{PCMU})
		_ = c
		pairs[i] = pair{a, r}
	}
	// warm up: each callee has heard from its caller
	for _, p := range pairs {
		sendWindowed(p.a, p.b, 10, 32)
	}
	per := b.N/calls + 1
	base := make([]int64, calls)
	for i, p := range pairs {
		base[i] = p.b.count.Load()
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for _, p := range pairs {
		wg.Add(1)
		go func() { defer wg.Done(); sendWindowed(p.a, p.b, per, 32) }()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	var got int64
	for i, p := range pairs {
		got += p.b.count.Load() - base[i]
	}
	sent := int64(per * calls)
	b.ReportMetric(float64(got)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(100*float64(sent-got)/float64(sent), "loss%")
	b.ReportMetric(float64(cpu.Microseconds())/float64(got), "cpu-µs/pkt")
}

// cpuTime is the user and system time the process has used.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// sendWindowed sends n packets from a, keeping at most window of them
// unheard by r; a packet not heard within 200 ms is counted lost. It
// returns once r heard the last or it was given up.
func sendWindowed(a, r *client, n, window int) {
	payload := make([]byte, 160)
	p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: payload}
	base := r.count.Load()
	var sent, given int64 // given: packets written off as lost
	wait := func(limit int64) {
		for sent-(r.count.Load()-base)-given > limit {
			select {
			case <-r.arrived:
			case <-time.After(200 * time.Millisecond):
				given = sent - (r.count.Load() - base)
			}
		}
	}
	for i := 0; i < n; i++ {
		wait(int64(window) - 1)
		sent++
		p.SequenceNumber++
		p.Timestamp += 160
		if err := a.track.WriteRTP(p); err != nil {
			return
		}
	}
	wait(0)
}
