package webrtcmedia

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/stun/v3"
	"github.com/pion/webrtc/v4"

	"vo/internal/turncred"
	"vo/internal/turnserver"
)

// attrOf is the value of the first a=<key>: line of an SDP.
func attrOf(sdp, key string) string {
	for _, l := range strings.Split(sdp, "\r\n") {
		if v, ok := strings.CutPrefix(l, "a="+key+":"); ok {
			return v
		}
	}
	return ""
}

// TestForeignRTPDropped: RTP sent to the endpoint's media port from an
// address that is not the negotiated peer never reaches the other leg:
// neither from a socket the endpoint never heard of, nor from one that
// first sent a STUN check naming the leg's ICE username (known to anyone
// who saw the SDP) with a wrong password, nor in plaintext from one that
// passed a check as the peer would (it lacks the SRTP keys).
func TestForeignRTPDropped(t *testing.T) {
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	a.addTrack(PCMU)
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	b.addTrack(PCMU)
	c := placeCall(t, e, a, b, []Codec{PCMU})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.send(ctx, 160, ulawTone(440))
	b.waitPackets(10, 10*time.Second)

	marker := bytes.Repeat([]byte{0xAB}, 160)
	forged, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, SSRC: 1}, Payload: marker}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	endpointUfrag := attrOf(c.legA.pc.LocalDescription().SDP, "ice-ufrag")
	endpointPwd := attrOf(c.legA.pc.LocalDescription().SDP, "ice-pwd")
	clientUfrag := attrOf(a.pc.LocalDescription().SDP, "ice-ufrag")
	if endpointUfrag == "" || endpointPwd == "" || clientUfrag == "" {
		t.Fatal("no ICE credentials in the SDPs")
	}
	check := func(pwd string) []byte {
		m, err := stun.Build(stun.TransactionID, stun.BindingRequest,
			stun.NewUsername(endpointUfrag+":"+clientUfrag),
			stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
		if err != nil {
			t.Fatal(err)
		}
		return m.Raw
	}
	for _, first := range [][]byte{nil, check("not-the-password"), check(endpointPwd)} {
		s, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if first != nil {
			if _, err := s.WriteTo(first, e.Addr()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for i := 0; i < 50; i++ {
			forged[3] = byte(i) // sequence number
			if _, err := s.WriteTo(forged, e.Addr()); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := len(b.received())
	time.Sleep(500 * time.Millisecond)
	got := b.received()
	if len(got) <= before {
		t.Fatal("b stopped receiving a's audio")
	}
	for _, p := range got {
		if bytes.Equal(p.Payload, marker) {
			t.Fatalf("b received a forged packet (seq %d)", p.SequenceNumber)
		}
	}
	checkTone(t, got[5:], 440, 1000)
	cancel()
	c.hangUp(t, e)
}

// TestRelayedThroughTURN: an app that may only use a relay
// (iceTransportPolicy "relay") reaches the endpoint through the embedded
// TURN server, and the tones still go both ways.
func TestRelayedThroughTURN(t *testing.T) {
	secret := []byte("turn-secret-of-the-test")
	ts, err := turnserver.New(turnserver.Config{Addr: "127.0.0.1:0", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	creds, _ := turncred.ICEServers(time.Now(), time.Hour, secret, "session-a", ts.URLs(""))
	var servers []webrtc.ICEServer
	for _, s := range creds {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	e := newEndpoint(t)
	a := newClient(t, clientOpts{codecs: []Codec{PCMU}, iceServers: servers, relayOnly: true})
	a.addTrack(PCMU)
	b := newClient(t, clientOpts{codecs: []Codec{PCMU}})
	b.addTrack(PCMU)
	c := placeCall(t, e, a, b, []Codec{PCMU})
	offer := a.pc.LocalDescription().SDP
	if !strings.Contains(offer, "typ relay") || strings.Contains(offer, "typ host") || strings.Contains(offer, "typ srflx") {
		t.Fatalf("a's candidates are not relays only:\n%s", offer)
	}
	if ts.AllocationCount() == 0 {
		t.Fatal("no TURN allocation")
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

// TestEndpointRelayCandidates: with ICE servers configured, each leg gets
// fresh credentials and the endpoint offers a relay candidate of its own
// beside its host candidate.
func TestEndpointRelayCandidates(t *testing.T) {
	secret := []byte("turn-secret-of-the-test")
	ts, err := turnserver.New(turnserver.Config{Addr: "127.0.0.1:0", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Close()
	asked := 0
	e := newEndpoint(t, func(c *Config) {
		c.ICEServers = func() []turncred.ICEServer {
			asked++
			s, _ := turncred.ICEServers(time.Now(), time.Hour, secret, "media", ts.URLs(""))
			return s
		}
	})
	leg, offer, err := e.Offer(context.Background(), []Codec{PCMU})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	if asked != 1 || !strings.Contains(offer, "typ relay") || !strings.Contains(offer, "typ host") {
		t.Fatalf("asked %d times; offer:\n%s", asked, offer)
	}
	if ts.AllocationCount() == 0 {
		t.Fatal("no TURN allocation")
	}
}
