package webrtcmedia

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

func newEndpoint(t testing.TB, mod ...func(*Config)) *Endpoint {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0"}
	for _, m := range mod {
		m(&cfg)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// call is a call between two clients through the endpoint: a dialled out
// (its offer answered by Answer), b was rung (Offer, then its answer to
// SetAnswer), and the endpoint bridges the two legs.
type call struct {
	a, b       *client
	legA, legB *Leg
	bridged    chan error
}

func placeCall(t testing.TB, e *Endpoint, a, b *client, prefer []Codec) *call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	legA, answer, err := e.Answer(ctx, a.offer(), prefer)
	if err != nil {
		t.Fatalf("Answer: %v", err)
	}
	a.setAnswer(answer)
	legB, offer, err := e.Offer(ctx, prefer)
	if err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if err := legB.SetAnswer(b.answer(offer)); err != nil {
		t.Fatalf("SetAnswer: %v", err)
	}
	c := &call{a: a, b: b, legA: legA, legB: legB, bridged: make(chan error, 1)}
	go func() { c.bridged <- Bridge(legA, legB) }()
	t.Cleanup(func() { legA.Close(); legB.Close() })
	a.waitConnected()
	b.waitConnected()
	for _, l := range []*Leg{legA, legB} {
		select {
		case <-l.Connected():
		case <-time.After(10 * time.Second):
			t.Fatal("leg not connected")
		}
	}
	return c
}

// hangUp closes both legs and checks the bridge ends without error and the
// endpoint forgets them.
func (c *call) hangUp(t testing.TB, e *Endpoint) {
	t.Helper()
	c.legA.Close()
	c.legB.Close()
	select {
	case err := <-c.bridged:
		if err != nil {
			t.Fatalf("Bridge: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Bridge did not return after both legs closed")
	}
	if n := e.Legs(); n != 0 {
		t.Fatalf("%d legs open after hang-up", n)
	}
}

// TestBridgePCMU: an app dialling out (offer answered by the endpoint) and
// an app rung (the endpoint's offer answered by it), both PCMU, each
// sending a tone: each hears the other's tone, decoded from G.711, and
// the answer names only PCMU although the caller offered Opus first.
func TestBridgePCMU(t *testing.T) {
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{Opus, PCMU}})
	a.addTrack(PCMU)
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	b.addTrack(PCMU)
	c := placeCall(t, e, a, b, []Codec{PCMU, PCMA})
	if got := c.legA.Codec(); !got.Same(PCMU) || got.PayloadType != 0 {
		t.Fatalf("leg A codec %v", got)
	}
	if got := c.legB.Codec(); !got.Same(PCMU) {
		t.Fatalf("leg B codec %v", got)
	}
	if desc := a.pc.RemoteDescription().SDP; bytes.Contains([]byte(desc), []byte("opus")) {
		t.Fatalf("the answer lists opus:\n%s", desc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.send(ctx, 160, ulawTone(440))
	go b.send(ctx, 160, ulawTone(1000))
	checkTone(t, b.waitPackets(50, 10*time.Second)[5:], 440, 1000)
	checkTone(t, a.waitPackets(50, 10*time.Second)[5:], 1000, 440)
	cancel()
	c.hangUp(t, e)
}

// opusFrame is a stand-in Opus frame: there is no pure-Go Opus encoder,
// and the bridge never looks inside a payload, so bytes that say which
// packet they are show that each arrives unmodified.
func opusFrame(tag byte) func(i int) []byte {
	return func(i int) []byte {
		out := make([]byte, 80)
		for k := range out {
			out[k] = tag ^ byte(i) ^ byte(k*7)
		}
		out[0], out[1] = byte(i>>8), byte(i)
		return out
	}
}

// checkOpus: pkts are the frames of opusFrame(tag), unmodified, in order,
// with the sender's sequence numbers and timestamps.
func checkOpus(t *testing.T, pkts []*rtp.Packet, tag byte, pt uint8) {
	t.Helper()
	frame := opusFrame(tag)
	var prev int = -1
	for _, p := range pkts {
		i := int(p.Payload[0])<<8 | int(p.Payload[1])
		if !bytes.Equal(p.Payload, frame(i)) {
			t.Fatalf("packet %d: payload %x, want %x", i, p.Payload, frame(i))
		}
		if p.SequenceNumber != uint16(1000+i) || p.Timestamp != uint32(i)*960 {
			t.Fatalf("packet %d: seq %d ts %d", i, p.SequenceNumber, p.Timestamp)
		}
		if p.PayloadType != pt {
			t.Fatalf("packet %d: payload type %d, want %d", i, p.PayloadType, pt)
		}
		if p.Extension || len(p.Extensions) != 0 {
			t.Fatalf("packet %d: header extensions %v passed the bridge", i, p.Extensions)
		}
		if p.Marker != (i == 0) {
			t.Fatalf("packet %d: marker %v", i, p.Marker)
		}
		if i <= prev {
			t.Fatalf("packet %d after %d", i, prev)
		}
		prev = i
	}
}

// TestBridgeOpus: two Opus apps, one of which numbers Opus 109 as Firefox
// does; each one's packets reach the other with payloads, sequence
// numbers, timestamps and marker as sent, under the receiver's own payload
// type, without the header extension the sender added.
func TestBridgeOpus(t *testing.T) {
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{Opus, PCMU}})
	a.addTrack(Opus)
	opus109 := Opus
	opus109.PayloadType = 109
	b := newClient(t, clientOpts{codecs: []Codec{opus109}})
	b.addTrack(opus109)
	c := placeCall(t, e, a, b, nil)
	if got := c.legA.Codec(); !got.Same(Opus) || got.PayloadType != 111 {
		t.Fatalf("leg A codec %v", got)
	}
	if got := c.legB.Codec(); !got.Same(Opus) || got.PayloadType != 111 {
		// b answers the endpoint's offer, so the endpoint's numbering holds
		t.Fatalf("leg B codec %v", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.send(ctx, 960, opusFrame(0xA0))
	go b.send(ctx, 960, opusFrame(0x0B))
	checkOpus(t, b.waitPackets(40, 10*time.Second), 0xA0, 111)
	checkOpus(t, a.waitPackets(40, 10*time.Second), 0x0B, 111)
	cancel()
	c.hangUp(t, e)
}

// TestCodecMismatch: an Opus leg and a PCMU leg are not bridged.
func TestCodecMismatch(t *testing.T) {
	e := newEndpoint(t)
	ctx := context.Background()
	a := newClient(t, clientOpts{codecs: []Codec{Opus}})
	a.addTrack(Opus)
	legA, _, err := e.Answer(ctx, a.offer(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer legA.Close()
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	legB, offer, err := e.Offer(ctx, []Codec{Opus, PCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer legB.Close()
	b.addTrack(PCMU)
	if err := legB.SetAnswer(b.answer(offer)); err != nil {
		t.Fatal(err)
	}
	if got := legB.Codec(); !got.Same(PCMU) {
		t.Fatalf("leg B codec %v, want PCMU", got)
	}
	if err := Bridge(legA, legB); !errors.Is(err, ErrCodecMismatch) {
		t.Fatalf("Bridge = %v, want ErrCodecMismatch", err)
	}
}

// TestBadOffers: what is not one audio section of a known codec is
// refused with a clear error, and no leg stays open.
func TestBadOffers(t *testing.T) {
	e := newEndpoint(t)
	ctx := context.Background()
	c := newClient(t, clientOpts{codecs: []Codec{Opus, PCMU}})
	c.addTrack(Opus)
	good := c.offer()
	for _, tc := range []struct {
		name, sdp string
		want      error
	}{
		{"empty", "", ErrBadSDP},
		{"garbage", "hello", ErrBadSDP},
		{"huge", good + string(bytes.Repeat([]byte("a=x-pad:0123456789\r\n"), MaxSDPSize/20)), ErrBadSDP},
		{"video", replace(good, "m=audio", "m=video"), ErrBadSDP},
		{"rejected", replaceRe(good, `m=audio \d+`, "m=audio 0"), ErrBadSDP},
		{"plain RTP", replace(good, "UDP/TLS/RTP/SAVPF", "RTP/AVP"), ErrBadSDP},
		{"no fingerprint", dropLines(good, "a=fingerprint:"), ErrBadSDP},
		{"no ice-pwd", dropLines(good, "a=ice-pwd:"), ErrBadSDP},
		{"empty fingerprint", replaceRe(good, `a=fingerprint:[^\r]*`, "a=fingerprint: "), ErrBadSDP},
		{"unbundled", dropLines(good, "a=group:"), ErrBadSDP},
		{"too many candidates", replace(good, "a=end-of-candidates", strings.Repeat("a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n", MaxCandidates+1)+"a=end-of-candidates"), ErrBadSDP},
		{"two sections", good + good[bytes.Index([]byte(good), []byte("m=audio")):], ErrBadSDP},
		{"no known codec", replace(replace(good, "opus/48000/2", "speex/8000"), "PCMU/8000", "G729/8000"), ErrNoCommonCodec},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leg, _, err := e.Answer(ctx, tc.sdp, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Answer = %v, %v; want %v", leg, err, tc.want)
			}
			if n := e.Legs(); n != 0 {
				t.Fatalf("%d legs open", n)
			}
		})
	}
	// a codec the offer lists, but not one the caller accepts
	if _, _, err := e.Answer(ctx, good, []Codec{PCMA}); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("Answer with PCMA only = %v", err)
	}
	// an answer naming a codec that was not offered leaves the leg waiting
	leg, _, err := e.Offer(ctx, []Codec{PCMA})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	if err := leg.SetAnswer(good); !errors.Is(err, ErrNoCommonCodec) {
		t.Fatalf("SetAnswer = %v", err)
	}
	if (leg.Codec() != Codec{}) {
		t.Fatalf("codec %v after a refused answer", leg.Codec())
	}
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

func replaceRe(s, re, new string) string { return regexp.MustCompile(re).ReplaceAllString(s, new) }

// dropLines drops the lines of s that start with prefix.
func dropLines(s, prefix string) string {
	var out []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if !strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// TestParseBrowserOffer: a browser's offer yields the codecs the endpoint
// knows, in the browser's order and with its payload types, and the
// endpoint answers it with the codec the caller prefers.
func TestParseBrowserOffer(t *testing.T) {
	a, err := ParseSDP(browserOffer)
	if err != nil {
		t.Fatal(err)
	}
	want := []Codec{Opus, PCMU, PCMA}
	if len(a.Codecs) != len(want) {
		t.Fatalf("codecs %v, want %v", a.Codecs, want)
	}
	for i := range want {
		if a.Codecs[i] != want[i] {
			t.Fatalf("codecs %v, want %v", a.Codecs, want)
		}
	}
	e := newEndpoint(t)
	leg, answer, err := e.Answer(context.Background(), browserOffer, []Codec{PCMA, PCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	if got := leg.Codec(); got != PCMA {
		t.Fatalf("codec %v, want PCMA", got)
	}
	if !strings.Contains(answer, "m=audio ") || !strings.Contains(answer, "a=rtpmap:8 PCMA/8000") ||
		strings.Contains(answer, "opus") || strings.Contains(answer, "PCMU") ||
		!strings.Contains(answer, fmt.Sprintf(" %s %d typ host", e.Addr().IP, e.Addr().Port)) {
		t.Fatalf("answer:\n%s", answer)
	}
}

// TestPeerHangsUp: when an app closes its connection, its leg is done, its
// reads end, and the bridge ends once the other side's next packet finds
// the leg closed; the call server then closes the other leg.
func TestPeerHangsUp(t *testing.T) {
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	a.addTrack(PCMU)
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	b.addTrack(PCMU)
	c := placeCall(t, e, a, b, []Codec{PCMU})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.send(ctx, 160, ulawTone(1000))
	a.waitPackets(5, 10*time.Second)
	a.pc.Close()
	select {
	case <-c.legA.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("leg A not done after its peer closed")
	}
	if _, err := c.legA.ReadRTP(make([]byte, 1500)); err == nil {
		t.Fatal("ReadRTP on a done leg succeeded")
	}
	select {
	case err := <-c.bridged:
		if err != nil {
			t.Fatalf("Bridge: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Bridge still running after leg A ended")
	}
	c.legB.Close()
	if n := e.Legs(); n != 0 {
		t.Fatalf("%d legs open", n)
	}
}

// TestEndpointClose: closing the endpoint ends its legs and refuses new
// ones.
func TestEndpointClose(t *testing.T) {
	e := newEndpoint(t)
	leg, _, err := e.Offer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e.Close()
	select {
	case <-leg.Done():
	default:
		t.Fatal("leg not done after the endpoint closed")
	}
	if _, _, err := e.Offer(context.Background(), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Offer after Close = %v, want ErrClosed", err)
	}
}

// TestNewRefusesBadConfig: a public IP that is not an address, or an
// address that cannot be listened on, is refused.
func TestNewRefusesBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{Addr: "127.0.0.1:0", PublicIPs: []string{"media.example"}},
		{Addr: "127.0.0.1:0", PublicIPs: []string{"0.0.0.0"}},
		{Addr: "not an address"},
	} {
		if e, err := New(cfg); err == nil {
			e.Close()
			t.Fatalf("New(%+v) succeeded", cfg)
		}
	}
}

// TestPublicIP: with a public IP, the endpoint's candidates name it, on
// the media port, instead of the listen address.
func TestPublicIP(t *testing.T) {
	e := newEndpoint(t, func(c *Config) { c.PublicIPs = []string{"203.0.113.7"} })
	leg, offer, err := e.Offer(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	want := fmt.Sprintf(" 203.0.113.7 %d typ host", e.Addr().Port)
	if !strings.Contains(offer, want) || strings.Contains(offer, " 127.0.0.1 ") {
		t.Fatalf("offer does not announce%q alone:\n%s", want, offer)
	}
}

// TestTrickledCandidates: an app that sends its offer before its
// candidates, then each candidate as it finds it: AddRemoteCandidate takes
// them and the call connects (the endpoint would also learn the app's
// address from its checks); a malformed candidate is refused.
func TestTrickledCandidates(t *testing.T) {
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	a.addTrack(PCMU)
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	b.addTrack(PCMU)
	cands := make(chan string, 16)
	a.pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			cands <- ""
			return
		}
		cands <- c.ToJSON().Candidate
	})
	o, err := a.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(o.SDP, "a=candidate") {
		t.Fatal("the offer already has candidates")
	}
	ctx := context.Background()
	legA, answer, err := e.Answer(ctx, o.SDP, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer legA.Close()
	a.setAnswer(answer)
	for _, bad := range []string{"candidate:1 1 udp", "candidate:" + strings.Repeat("9", MaxCandidateSize)} {
		if err := legA.AddRemoteCandidate(bad); !errors.Is(err, ErrBadSDP) {
			t.Fatalf("AddRemoteCandidate(%.30q) = %v", bad, err)
		}
	}
	var first string
	for c := range cands {
		if err := legA.AddRemoteCandidate(c); err != nil {
			t.Fatalf("AddRemoteCandidate(%q): %v", c, err)
		}
		if first == "" {
			first = c
		}
		if c == "" {
			break
		}
	}
	// a flood of candidates stops at MaxCandidates
	var err2 error
	for i := 0; i < MaxCandidates && err2 == nil; i++ {
		err2 = legA.AddRemoteCandidate(first)
	}
	if !errors.Is(err2, ErrBadSDP) {
		t.Fatalf("candidate %d: %v, want a refusal", MaxCandidates+1, err2)
	}
	legB, offer, err := e.Offer(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer legB.Close()
	if err := legB.SetAnswer(b.answer(offer)); err != nil {
		t.Fatal(err)
	}
	go Bridge(legA, legB)
	a.waitConnected()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go a.send(sctx, 160, ulawTone(440))
	checkTone(t, b.waitPackets(30, 10*time.Second)[5:], 440, 1000)
}
