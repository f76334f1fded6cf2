package webrtcmedia

import (
	"context"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/zaf/g711"
)

// client plays the browser: a pion PeerConnection of its own, on the
// loopback, with one audio track each way.
type client struct {
	t     testing.TB
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu   sync.Mutex
	got  []*rtp.Packet
	recv chan struct{} // closed at the first packet received
	once sync.Once

	countOnly bool          // keep no packets, only count them (benchmarks)
	count     atomic.Int64  // packets received
	arrived   chan struct{} // signalled (not closed) after each packet
}

type clientOpts struct {
	countOnly  bool
	onPacket   func(p *rtp.Packet) // with countOnly: sees each packet (reused) as it arrives
	codecs     []Codec
	iceServers []webrtc.ICEServer
	relayOnly  bool
}

func newClient(t testing.TB, o clientOpts) *client {
	t.Helper()
	var m webrtc.MediaEngine
	for _, c := range o.codecs {
		if err := m.RegisterCodec(codecParameters(c), webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	conf := webrtc.Configuration{ICEServers: o.iceServers}
	if o.relayOnly {
		conf.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(s)).NewPeerConnection(conf)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t, pc: pc, recv: make(chan struct{}), countOnly: o.countOnly, arrived: make(chan struct{}, 1)}
	t.Cleanup(func() { pc.Close() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for {
			if c.countOnly {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				if o.onPacket != nil && pkt.Unmarshal(buf[:n]) == nil {
					o.onPacket(&pkt)
				}
			} else {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				c.mu.Lock()
				c.got = append(c.got, p)
				c.mu.Unlock()
			}
			c.count.Add(1)
			select {
			case c.arrived <- struct{}{}:
			default:
			}
			c.once.Do(func() { close(c.recv) })
		}
	})
	return c
}

// addTrack adds the client's sending track, of codec.
func (c *client) addTrack(codec Codec) {
	c.t.Helper()
	tr, err := webrtc.NewTrackLocalStaticRTP(capability(codec), "mic", "client")
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.pc.AddTrack(tr); err != nil {
		c.t.Fatal(err)
	}
	c.track = tr
}

// offer is the client's complete (non-trickle) offer.
func (c *client) offer() string {
	c.t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.setLocal(o)
}

func (c *client) setLocal(d webrtc.SessionDescription) string {
	c.t.Helper()
	done := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(d); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.t.Fatal("client: gathering did not complete")
	}
	return c.pc.LocalDescription().SDP
}

func (c *client) setAnswer(sdp string) {
	c.t.Helper()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		c.t.Fatal(err)
	}
}

// answer answers the endpoint's offer.
func (c *client) answer(offer string) string {
	c.t.Helper()
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		c.t.Fatal(err)
	}
	a, err := c.pc.CreateAnswer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.setLocal(a)
}

func (c *client) waitConnected() {
	c.t.Helper()
	ch := make(chan struct{})
	var once sync.Once
	c.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(ch) })
		}
	})
	if c.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
		return
	}
	select {
	case <-ch:
	case <-time.After(15 * time.Second):
		c.t.Fatalf("client: not connected, state %v", c.pc.ConnectionState())
	}
}

// send writes packets of frames, one per 20 ms, until ctx ends; frame(i)
// is the i-th payload, samplesPer the timestamp step. Each packet carries
// a header extension (id 5) that was never negotiated, as a peer may.
func (c *client) send(ctx context.Context, samplesPer uint32, frame func(i int) []byte) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(1000 + i), Timestamp: uint32(i) * samplesPer, SSRC: 1, Marker: i == 0}, Payload: frame(i)}
		if err := p.SetExtension(5, []byte{0xEE}); err != nil {
			panic(err)
		}
		if err := c.track.WriteRTP(p); err != nil {
			return
		}
	}
}

func (c *client) received() []*rtp.Packet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*rtp.Packet(nil), c.got...)
}

// waitPackets waits until the client has received at least n packets.
func (c *client) waitPackets(n int, within time.Duration) []*rtp.Packet {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := c.received()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("client received %d packets in %v, want %d", len(got), within, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ulawTone is the i-th 20 ms PCMU frame of a hz sine at 8 kHz.
func ulawTone(hz float64) func(i int) []byte {
	return func(i int) []byte {
		out := make([]byte, 160)
		for k := range out {
			n := float64(i*160 + k)
			out[k] = g711.EncodeUlawFrame(int16(8000 * math.Sin(2*math.Pi*hz*n/8000)))
		}
		return out
	}
}

// goertzel is the power of samples (at rate) at hz.
func goertzel(samples []float64, rate, hz float64) float64 {
	w := 2 * math.Pi * hz / rate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := x + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// checkTone decodes the PCMU payloads and fails unless hz stands out: at
// least 20 times the power of other, and most of the signal's energy.
func checkTone(t *testing.T, pkts []*rtp.Packet, hz, other float64) {
	t.Helper()
	var samples []float64
	for _, p := range pkts {
		for _, b := range p.Payload {
			samples = append(samples, float64(g711.DecodeUlawFrame(b)))
		}
	}
	var energy float64
	for _, x := range samples {
		energy += x * x
	}
	n := float64(len(samples))
	at, off := goertzel(samples, 8000, hz), goertzel(samples, 8000, other)
	share := 2 * at / (n * energy) // a pure tone at hz: 1
	if at < 20*off || share < 0.8 {
		t.Fatalf("received %d samples: power at %v Hz %.3g, at %v Hz %.3g, share of energy at %v Hz %.2f", len(samples), hz, at, other, off, hz, share)
	}
}
