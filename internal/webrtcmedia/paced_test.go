package webrtcmedia

import (
	"context"
	"encoding/binary"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestPacedCalls (VO_BENCH=1) runs VO_BENCH_CALLS app ↔ app calls (100
// unless set) through one endpoint for VO_BENCH_SECONDS (10), each side
// sending a 160-byte PCMU packet every 20 ms as a phone does, and reports
// the packets lost, the transit time from the sender's write to the
// receiver's read (through the clients' stacks and the endpoint's bridge),
// and the process's CPU per call.
func TestPacedCalls(t *testing.T) {
	if os.Getenv("VO_BENCH") == "" {
		t.Skip("a measurement: set VO_BENCH=1")
	}
	calls, seconds := envInt("VO_BENCH_CALLS", 100), envInt("VO_BENCH_SECONDS", 10)
	e := newEndpoint(t)
	var mu sync.Mutex
	var delays []time.Duration
	// a packet is measured when it was sent inside [from, until)
	var from, until atomic.Int64
	until.Store(1 << 62)
	inWindow := func(sentAt int64) bool {
		f := from.Load()
		return f != 0 && sentAt >= f && sentAt < until.Load()
	}
	onPacket := func(p *rtp.Packet) {
		if len(p.Payload) < 8 {
			return
		}
		sentAt := int64(binary.BigEndian.Uint64(p.Payload))
		if !inWindow(sentAt) {
			return
		}
		d := time.Duration(time.Now().UnixNano() - sentAt)
		mu.Lock()
		delays = append(delays, d)
		mu.Unlock()
	}
	type side struct{ from, to *client }
	var sides []side
	for i := 0; i < calls; i++ {
		a := newClient(t, clientOpts{codecs: []Codec{PCMU}, countOnly: true, onPacket: onPacket})
		a.addTrack(PCMU)
		b := newClient(t, clientOpts{codecs: []Codec{PCMU}, countOnly: true, onPacket: onPacket})
		b.addTrack(PCMU)
		placeCall(t, e, a, b, []Codec{PCMU})
		sides = append(sides, side{a, b}, side{b, a})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent atomic.Int64
	for _, s := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			payload := make([]byte, 160)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1}, Payload: payload}
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				p.SequenceNumber++
				p.Timestamp += 160
				now := time.Now().UnixNano()
				binary.BigEndian.PutUint64(payload, uint64(now))
				if inWindow(now) {
					sent.Add(1)
				}
				if err := s.from.track.WriteRTP(p); err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(time.Second) // every stream flowing
	cpu0 := cpuTime()
	start := time.Now()
	from.Store(start.UnixNano())
	time.Sleep(time.Duration(seconds) * time.Second)
	end := time.Now()
	until.Store(end.UnixNano())
	elapsed := end.Sub(start)
	cpu := cpuTime() - cpu0
	time.Sleep(500 * time.Millisecond) // the last packets in flight arrive
	cancel()
	wg.Wait()
	mu.Lock()
	got := int64(len(delays))
	slices.Sort(delays)
	pct := func(q float64) time.Duration { return delays[int(q*float64(len(delays)-1))] }
	if got == 0 {
		t.Fatal("no packet received")
	}
	t.Logf("%d calls, %v: %d packets sent, %d received (%.3f %% lost); transit p50 %v, p99 %v, max %v; CPU %.1f %% of a core, %.3f %% per call (endpoint and clients)",
		calls, elapsed.Round(time.Millisecond), sent.Load(), got, 100*float64(sent.Load()-got)/float64(sent.Load()),
		pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), delays[len(delays)-1].Round(10*time.Microsecond),
		100*cpu.Seconds()/elapsed.Seconds(), 100*cpu.Seconds()/elapsed.Seconds()/float64(calls))
	mu.Unlock()
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
