// Package webrtcmedia is the server's WebRTC media endpoint (SPEC §10):
// every call leg of an app is a pion PeerConnection of this endpoint, all
// of them on one UDP port (pion's ICE UDP mux), audio only, with Opus,
// PCMU and PCMA. A Leg carries one audio stream each way as RTP; Bridge
// copies packets between two legs (or any two Streams, such as a SIP
// leg's) whose codecs are the same. Transcoding is out of scope: a call
// whose two sides share no codec is refused by Bridge.
//
// Signalling is non-trickle: Answer and Offer return an SDP that already
// holds every candidate of the endpoint. SDP from a peer is checked by
// ParseSDP before pion reads it.
package webrtcmedia

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"

	"vo/internal/turncred"
)

// Config is what an Endpoint is built from.
type Config struct {
	// Addr is the UDP address media arrives on, "host:port", shared by
	// every leg; port 0 takes a free one.
	Addr string
	// PublicIPs, when set, are announced in place of the listen address
	// (a host behind a 1:1 NAT: the addresses that reach Addr's port).
	PublicIPs []string
	// ICEServers, when set, is asked for TURN servers with fresh
	// credentials for each new leg; the endpoint then also offers relay
	// candidates (one allocation per leg), for an endpoint that peers
	// cannot reach directly.
	ICEServers func() []turncred.ICEServer
	// GatherTimeout bounds the wait for the endpoint's candidates before
	// an SDP is returned; zero, 5 s.
	GatherTimeout time.Duration
	// Logger takes the endpoint's own messages; nil, slog.Default().
	// pion's logging is off (it names addresses and ICE usernames).
	Logger *slog.Logger
}

// socketBuffer is the media socket's kernel buffer each way: about 16,000
// packets of G.711, a fifth of a second of 1,500 bridged calls.
const socketBuffer = 4 << 20

// Endpoint makes legs; it owns the media socket.
type Endpoint struct {
	cfg  Config
	api  *webrtc.API
	conn net.PacketConn
	mux  ice.UDPMux

	mu     sync.Mutex
	legs   map[*Leg]struct{}
	closed bool
}

// New listens on cfg.Addr and returns an endpoint that serves until Close.
func New(cfg Config) (*Endpoint, error) {
	if cfg.GatherTimeout <= 0 {
		cfg.GatherTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	for _, ip := range cfg.PublicIPs {
		if a := net.ParseIP(ip); a == nil || a.IsUnspecified() {
			return nil, fmt.Errorf("webrtcmedia: public IP %q: want a concrete IP address", ip)
		}
	}
	conn, err := net.ListenPacket("udp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: %w", err)
	}
	if u, ok := conn.(*net.UDPConn); ok {
		// every leg shares this socket: a burst of all of them must fit
		// (the kernel caps it at net.core.rmem_max / wmem_max)
		_ = u.SetReadBuffer(socketBuffer)
		_ = u.SetWriteBuffer(socketBuffer)
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled
	mux := webrtc.NewICEUDPMux(quiet.NewLogger("ice"), conn)

	var m webrtc.MediaEngine
	for _, c := range DefaultPrefer {
		if err := m.RegisterCodec(codecParameters(c), webrtc.RTPCodecTypeAudio); err != nil {
			mux.Close()
			return nil, fmt.Errorf("webrtcmedia: %w", err)
		}
	}
	var s webrtc.SettingEngine
	s.LoggerFactory = quiet
	s.SetICEUDPMux(mux)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if ip := conn.LocalAddr().(*net.UDPAddr).IP; ip.IsLoopback() {
		s.SetIncludeLoopbackCandidate(true) // a development or test endpoint
	}
	if len(cfg.PublicIPs) > 0 {
		if err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			mux.Close()
			return nil, fmt.Errorf("webrtcmedia: public IPs: %w", err)
		}
	}
	e := &Endpoint{
		cfg:  cfg,
		api:  webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(s)),
		conn: conn,
		mux:  mux,
		legs: map[*Leg]struct{}{},
	}
	return e, nil
}

func codecParameters(c Codec) webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{RTPCodecCapability: capability(c), PayloadType: webrtc.PayloadType(c.PayloadType)}
}

func capability(c Codec) webrtc.RTPCodecCapability {
	cp := webrtc.RTPCodecCapability{MimeType: "audio/" + c.Name, ClockRate: c.ClockRate, Channels: c.channels()}
	if strings.EqualFold(c.Name, "opus") {
		cp.MimeType = webrtc.MimeTypeOpus
		cp.SDPFmtpLine = "minptime=10;useinbandfec=1"
	}
	return cp
}

// Addr is the UDP address media arrives on.
func (e *Endpoint) Addr() *net.UDPAddr { return e.conn.LocalAddr().(*net.UDPAddr) }

// Legs is how many legs are open.
func (e *Endpoint) Legs() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.legs)
}

// Close closes every leg and the media socket.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	e.closed = true
	legs := make([]*Leg, 0, len(e.legs))
	for l := range e.legs {
		legs = append(legs, l)
	}
	e.mu.Unlock()
	for _, l := range legs {
		l.Close()
	}
	return e.mux.Close()
}

// ErrClosed is returned by an endpoint or leg that was closed.
var ErrClosed = errors.New("webrtcmedia: closed")

func (e *Endpoint) peerConnection() (*webrtc.PeerConnection, error) {
	var conf webrtc.Configuration
	if e.cfg.ICEServers != nil {
		for _, s := range e.cfg.ICEServers() {
			conf.ICEServers = append(conf.ICEServers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
		}
	}
	return e.api.NewPeerConnection(conf)
}

func (e *Endpoint) track(l *Leg) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.legs[l] = struct{}{}
	return true
}

func (e *Endpoint) forget(l *Leg) {
	e.mu.Lock()
	delete(e.legs, l)
	e.mu.Unlock()
}

// Answer makes a leg from a peer's offer (an app that places a call) and
// returns it with the endpoint's answer. The leg uses the first codec of
// prefer (nil: DefaultPrefer) that the offer lists, under the offer's
// payload type. A bad offer wraps ErrBadSDP, one with no common codec
// ErrNoCommonCodec; either way nothing is left open.
func (e *Endpoint) Answer(ctx context.Context, offer string, prefer []Codec) (*Leg, string, error) {
	if len(prefer) == 0 {
		prefer = DefaultPrefer
	}
	audio, err := ParseSDP(offer)
	if err != nil {
		return nil, "", err
	}
	codec, ok := choose(prefer, audio.Codecs)
	if !ok {
		return nil, "", fmt.Errorf("%w: offered %v, accepted %v", ErrNoCommonCodec, audio.Codecs, prefer)
	}
	l, err := e.newLeg()
	if err != nil {
		return nil, "", err
	}
	answer, err := l.answer(ctx, offer, codec, audio.Candidates)
	if err != nil {
		l.Close()
		return nil, "", err
	}
	return l, answer, nil
}

// Offer makes a leg that rings a peer (the server calls an app): it
// returns the leg with the endpoint's offer, listing prefer (nil:
// DefaultPrefer) in that order. The peer's answer goes to SetAnswer.
func (e *Endpoint) Offer(ctx context.Context, prefer []Codec) (*Leg, string, error) {
	if len(prefer) == 0 {
		prefer = DefaultPrefer
	}
	var ours []Codec
	for _, p := range prefer {
		k, ok := known(p)
		if !ok {
			return nil, "", fmt.Errorf("webrtcmedia: codec %v is not one of opus, PCMU, PCMA", p)
		}
		ours = append(ours, k)
	}
	l, err := e.newLeg()
	if err != nil {
		return nil, "", err
	}
	offer, err := l.offer(ctx, ours)
	if err != nil {
		l.Close()
		return nil, "", err
	}
	return l, offer, nil
}

func (e *Endpoint) newLeg() (*Leg, error) {
	pc, err := e.peerConnection()
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: %w", err)
	}
	l := newLeg(e, pc)
	if !e.track(l) {
		pc.Close()
		return nil, ErrClosed
	}
	return l, nil
}

// gather sets desc as the local description and waits until every
// candidate is in it; it returns the description with them.
func (e *Endpoint) gather(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	t := time.NewTimer(e.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return "", fmt.Errorf("webrtcmedia: gathering candidates took more than %v", e.cfg.GatherTimeout)
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}
