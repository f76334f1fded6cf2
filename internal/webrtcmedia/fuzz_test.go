package webrtcmedia

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// browserOffer is an offer shaped as Chromium sends one for a call with a
// microphone: one audio section, Opus first, G.711 among the rest.
const browserOffer = "v=0\r\n" +
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n" +
	"s=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS mic\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n" +
	"c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n" +
	"a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n" +
	"a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g1k\r\na=ice-options:trickle\r\n" +
	"a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\n" +
	"a=setup:actpass\r\na=mid:0\r\n" +
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n" +
	"a=sendrecv\r\na=msid:mic track\r\na=rtcp-mux\r\n" +
	"a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n" +
	"a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\n" +
	"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:13 CN/8000\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n" +
	"a=ssrc:3735928559 cname:abc\r\n"

// checkAccepted states what ParseSDP promises of what it accepts.
func checkAccepted(t *testing.T, s string, a Audio) {
	if len(s) > MaxSDPSize || len(a.Codecs) == 0 {
		t.Fatalf("accepted %d bytes with codecs %v", len(s), a.Codecs)
	}
	for _, c := range a.Codecs {
		if _, ok := known(c); !ok || c.PayloadType > 127 {
			t.Fatalf("accepted codec %v", c)
		}
	}
}

// FuzzOfferSDP: whatever an app sends as its offer, ParseSDP and Answer
// neither panic nor leave a leg open when they refuse it, and what they
// refuse is a clear refusal (ErrBadSDP or ErrNoCommonCodec).
func FuzzOfferSDP(f *testing.F) {
	c := newClient(f, clientOpts{codecs: []Codec{Opus, PCMU, PCMA}})
	c.addTrack(Opus)
	f.Add(c.offer())
	f.Add(browserOffer)
	f.Add(strings.Replace(browserOffer, "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8", "m=audio 9 UDP/TLS/RTP/SAVPF 0 8", 1))
	f.Add("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n")
	f.Add("")
	e := newEndpoint(f)
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseSDP(s)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("ParseSDP: %v, not a wrapped ErrBadSDP", err)
			}
		} else {
			checkAccepted(t, s, a)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		leg, answer, err := e.Answer(ctx, s, nil)
		if err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("Answer: %v, not a wrapped ErrBadSDP", err)
			}
			if n := e.Legs(); n != 0 {
				t.Fatalf("%d legs open after a refused offer", n)
			}
			return
		}
		defer leg.Close()
		if _, err := ParseSDP(answer); err != nil {
			t.Fatalf("our own answer does not pass ParseSDP: %v", err)
		}
	})
}

// FuzzAnswerSDP: whatever an app answers to the endpoint's offer,
// SetAnswer does not panic, and either refuses it clearly, leaving the leg
// waiting for an answer as it was, or takes it with a codec it offered.
func FuzzAnswerSDP(f *testing.F) {
	e := newEndpoint(f)
	c := newClient(f, clientOpts{codecs: []Codec{Opus, PCMU}})
	c.addTrack(PCMU)
	newLeg := func(t testing.TB) (*Leg, string) {
		leg, offer, err := e.Offer(context.Background(), []Codec{PCMU, Opus})
		if err != nil {
			t.Fatal(err)
		}
		return leg, offer
	}
	leg, offer := newLeg(f)
	f.Cleanup(func() { leg.Close() })
	f.Add(c.answer(offer))
	f.Add(strings.Replace(browserOffer, "a=setup:actpass", "a=setup:active", 1))
	f.Add("v=0\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		if err := leg.SetAnswer(s); err != nil {
			if !errors.Is(err, ErrBadSDP) && !errors.Is(err, ErrNoCommonCodec) {
				t.Fatalf("SetAnswer: %v, not a wrapped ErrBadSDP", err)
			}
			if (leg.Codec() != Codec{}) {
				t.Fatalf("codec %v after a refused answer", leg.Codec())
			}
			return
		}
		if got := leg.Codec(); !got.Same(PCMU) && !got.Same(Opus) {
			t.Fatalf("answer took codec %v, not offered", got)
		}
		leg.Close()
		leg, _ = newLeg(t)
	})
}

// FuzzCandidate: whatever an app trickles as a candidate,
// AddRemoteCandidate does not panic and refuses it clearly or takes it.
func FuzzCandidate(f *testing.F) {
	e := newEndpoint(f)
	leg, _, err := e.Answer(context.Background(), browserOffer, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { leg.Close() })
	f.Add("candidate:1 1 udp 2122260223 127.0.0.1 50001 typ host generation 0")
	f.Add("candidate:2 1 udp 1686052607 203.0.113.9 40000 typ srflx raddr 10.0.0.2 rport 40000")
	f.Add("candidate:3 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active")
	f.Add("candidate:4 1 udp 2122260223 3f1c.local 50002 typ host")
	f.Add("")
	f.Fuzz(func(t *testing.T, c string) {
		if err := leg.AddRemoteCandidate(c); err != nil && !errors.Is(err, ErrBadSDP) {
			t.Fatalf("AddRemoteCandidate: %v, not a wrapped ErrBadSDP", err)
		}
	})
}
