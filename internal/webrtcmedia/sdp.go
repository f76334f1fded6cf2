package webrtcmedia

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// Codec is an audio codec as negotiated: its name (the rtpmap encoding
// name: "opus", "PCMU", "PCMA"), the payload type this leg's peer uses for
// it, its RTP clock rate and channel count.
type Codec struct {
	Name        string
	PayloadType uint8
	ClockRate   uint32
	Channels    uint16
}

// The codecs an Endpoint speaks, with the payload types it offers them
// under. Opus keeps app ↔ app calls wideband; PCMU and PCMA let an app
// talk to a desk phone with no transcoding.
var (
	Opus = Codec{Name: "opus", PayloadType: 111, ClockRate: 48000, Channels: 2}
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000, Channels: 1}
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000, Channels: 1}
)

// DefaultPrefer is the order of preference when a caller gives none.
var DefaultPrefer = []Codec{Opus, PCMU, PCMA}

// Same tells whether c and o are the same codec, whatever payload type
// each side numbers it with.
func (c Codec) Same(o Codec) bool {
	return strings.EqualFold(c.Name, o.Name) && c.ClockRate == o.ClockRate && c.channels() == o.channels()
}

func (c Codec) channels() uint16 {
	if c.Channels == 0 {
		return 1
	}
	return c.Channels
}

func (c Codec) String() string {
	return fmt.Sprintf("%s/%d/%d (pt %d)", c.Name, c.ClockRate, c.channels(), c.PayloadType)
}

// known is the endpoint's own codec that c is, if any.
func known(c Codec) (Codec, bool) {
	for _, k := range DefaultPrefer {
		if k.Same(c) {
			return k, true
		}
	}
	return Codec{}, false
}

// MaxSDPSize bounds an SDP we accept. A browser's audio-only offer with
// every candidate gathered is a few KiB; the event stream's largest frame
// is 64 KiB.
const MaxSDPSize = 32 << 10

// ErrBadSDP is wrapped by every refusal of an SDP from a peer.
var ErrBadSDP = errors.New("webrtcmedia: bad SDP")

// ErrNoCommonCodec is wrapped when the peer offers (or answers) no codec
// the caller accepts.
var ErrNoCommonCodec = errors.New("webrtcmedia: no common audio codec")

func badSDP(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSDP, fmt.Sprintf(format, args...))
}

// Audio is what an SDP from a peer says about its one audio stream: the
// codecs it lists that the endpoint knows, in the peer's order of
// preference, with the peer's payload types.
type Audio struct {
	Codecs     []Codec
	Candidates int // a=candidate lines
}

// MaxCandidates bounds the ICE candidates of one leg's peer, in its SDP
// and trickled together: each is paired with the endpoint's and checked,
// and a browser sends a handful.
const MaxCandidates = 32

func countAttr(m *sdp.MediaDescription, key string) int {
	n := 0
	for _, a := range m.Attributes {
		if a.Key == key {
			n++
		}
	}
	return n
}

// ParseSDP checks an SDP offer or answer from an untrusted peer before
// pion sees it: at most MaxSDPSize bytes, parseable, exactly one media
// section, which is audio over UDP/TLS/RTP/SAVPF with a port, ICE
// credentials, a DTLS fingerprint and a mid in the BUNDLE group (as every
// browser sends; pion rejects an unbundled section), listing at least one
// codec the endpoint knows. Every refusal wraps ErrBadSDP, or
// ErrNoCommonCodec for the last.
func ParseSDP(s string) (Audio, error) {
	if len(s) == 0 {
		return Audio{}, badSDP("empty")
	}
	if len(s) > MaxSDPSize {
		return Audio{}, badSDP("%d bytes, more than %d", len(s), MaxSDPSize)
	}
	var d sdp.SessionDescription
	if err := d.UnmarshalString(s); err != nil {
		return Audio{}, badSDP("does not parse: %v", err)
	}
	if len(d.MediaDescriptions) != 1 {
		return Audio{}, badSDP("%d media sections, want one audio section", len(d.MediaDescriptions))
	}
	m := d.MediaDescriptions[0]
	if m.MediaName.Media != "audio" {
		return Audio{}, badSDP("media section is %q, want audio", m.MediaName.Media)
	}
	if m.MediaName.Port.Value == 0 {
		return Audio{}, badSDP("audio section is rejected (port 0)")
	}
	if proto := strings.Join(m.MediaName.Protos, "/"); proto != "UDP/TLS/RTP/SAVPF" {
		return Audio{}, badSDP("audio transport %q, want UDP/TLS/RTP/SAVPF", proto)
	}
	for _, attr := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		if !hasAttr(&d, m, attr) {
			return Audio{}, badSDP("no a=%s", attr)
		}
	}
	if fp := attr(&d, m, "fingerprint"); len(strings.Fields(fp)) != 2 {
		return Audio{}, badSDP("a=fingerprint is not <hash function> <fingerprint>")
	}
	mid, _ := m.Attribute("mid")
	group, _ := d.Attribute("group")
	if mid == "" || !slices.Contains(strings.Fields(strings.TrimPrefix(group, "BUNDLE")), mid) || !strings.HasPrefix(group, "BUNDLE") {
		return Audio{}, badSDP("the audio section is not in an a=group:BUNDLE by its a=mid")
	}
	if n := countAttr(m, "candidate"); n > MaxCandidates {
		return Audio{}, badSDP("%d candidates, more than %d", n, MaxCandidates)
	}
	var a Audio
	a.Candidates = countAttr(m, "candidate")
	for _, f := range m.MediaName.Formats {
		pt, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return Audio{}, badSDP("payload type %q", f)
		}
		c, ok := rtpmap(m, uint8(pt))
		if !ok {
			continue
		}
		if k, ok := known(c); ok {
			k.PayloadType = uint8(pt)
			a.Codecs = append(a.Codecs, k)
		}
	}
	if len(a.Codecs) == 0 {
		return Audio{}, fmt.Errorf("%w: the peer lists none of opus, PCMU, PCMA", ErrNoCommonCodec)
	}
	return a, nil
}

func hasAttr(d *sdp.SessionDescription, m *sdp.MediaDescription, key string) bool {
	return attr(d, m, key) != ""
}

// attr is the value of a=key in the media section, else at session level.
func attr(d *sdp.SessionDescription, m *sdp.MediaDescription, key string) string {
	if v, ok := m.Attribute(key); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	v, _ := d.Attribute(key)
	return strings.TrimSpace(v)
}

// rtpmap is the codec payload type pt names in m: its a=rtpmap, or for the
// static types 0 and 8 without one, RFC 3551's meaning.
func rtpmap(m *sdp.MediaDescription, pt uint8) (Codec, bool) {
	prefix := strconv.Itoa(int(pt)) + " "
	for _, at := range m.Attributes {
		if at.Key != "rtpmap" || !strings.HasPrefix(at.Value, prefix) {
			continue
		}
		// no space is allowed, as pion reads it
		parts := strings.Split(at.Value[len(prefix):], "/")
		if len(parts) < 2 || len(parts) > 3 {
			return Codec{}, false
		}
		rate, err := strconv.ParseUint(parts[1], 10, 32)
		if err != nil {
			return Codec{}, false
		}
		c := Codec{Name: parts[0], PayloadType: pt, ClockRate: uint32(rate), Channels: 1}
		if len(parts) == 3 {
			ch, err := strconv.ParseUint(parts[2], 10, 16)
			if err != nil {
				return Codec{}, false
			}
			c.Channels = uint16(ch)
		}
		return c, true
	}
	switch pt {
	case 0:
		return PCMU, true
	case 8:
		return PCMA, true
	}
	return Codec{}, false
}

// choose is the first codec of prefer that the peer's list has, with the
// peer's payload type; the peer's own order decides nothing.
func choose(prefer []Codec, peer []Codec) (Codec, bool) {
	for _, p := range prefer {
		for _, c := range peer {
			if p.Same(c) {
				return c, true
			}
		}
	}
	return Codec{}, false
}
