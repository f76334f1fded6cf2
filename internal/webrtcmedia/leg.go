package webrtcmedia

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Leg is one peer's call leg: one audio stream each way.
type Leg struct {
	e     *Endpoint
	pc    *webrtc.PeerConnection
	tr    *webrtc.RTPTransceiver
	local *webrtc.TrackLocalStaticRTP

	mu      sync.Mutex
	codec   Codec
	offered []Codec // what Offer listed, until SetAnswer
	remote  *webrtc.TrackRemote
	cands   int // the peer's candidates: in its SDP, and trickled

	gotTrack  chan struct{} // closed when the peer's track arrives
	connected chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	connOnce  sync.Once
	trackOnce sync.Once
}

func newLeg(e *Endpoint, pc *webrtc.PeerConnection) *Leg {
	l := &Leg{e: e, pc: pc, gotTrack: make(chan struct{}), connected: make(chan struct{}), done: make(chan struct{})}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			l.connOnce.Do(func() { close(l.connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			go l.Close()
		}
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if t.Kind() != webrtc.RTPCodecTypeAudio {
			return
		}
		l.trackOnce.Do(func() {
			l.mu.Lock()
			l.remote = t
			l.mu.Unlock()
			close(l.gotTrack)
		})
	})
	return l
}

// answer answers offer with codec alone.
func (l *Leg) answer(ctx context.Context, offer string, codec Codec, cands int) (string, error) {
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	var tr *webrtc.RTPTransceiver
	for _, t := range l.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio {
			tr = t
		}
	}
	if tr == nil {
		return "", badSDP("no audio transceiver from the offer")
	}
	if err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{codecParameters(codec)}); err != nil {
		// pion did not take the offer's line for the codec as ParseSDP did
		return "", fmt.Errorf("%w: the offer's %v cannot be used (%v)", ErrBadSDP, codec, err)
	}
	track, err := newTrack(codec)
	if err != nil {
		return "", err
	}
	sender, err := l.pc.AddTrack(track)
	if err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	if sender != tr.Sender() {
		return "", errors.New("webrtcmedia: the offer's audio section did not take the endpoint's track")
	}
	l.mu.Lock()
	l.tr, l.local, l.codec, l.cands = tr, track, codec, cands
	l.mu.Unlock()
	go drainRTCP(sender)
	answer, err := l.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	sdp, err := l.e.gather(ctx, l.pc, answer)
	if err != nil {
		return "", err
	}
	// pion answers what it cannot take with a rejected section rather
	// than an error: refuse the offer then.
	if _, err := ParseSDP(sdp); err != nil {
		return "", fmt.Errorf("%w: the offer cannot be answered (%v)", ErrBadSDP, err)
	}
	return sdp, nil
}

// offer makes the leg's audio transceiver listing codecs and returns the
// offer.
func (l *Leg) offer(ctx context.Context, codecs []Codec) (string, error) {
	track, err := newTrack(codecs[0])
	if err != nil {
		return "", err
	}
	tr, err := l.pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
	if err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	params := make([]webrtc.RTPCodecParameters, len(codecs))
	for i, c := range codecs {
		params[i] = codecParameters(c)
	}
	if err := tr.SetCodecPreferences(params); err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	l.mu.Lock()
	l.tr, l.local, l.offered = tr, track, codecs
	l.mu.Unlock()
	go drainRTCP(tr.Sender())
	offer, err := l.pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("webrtcmedia: %w", err)
	}
	return l.e.gather(ctx, l.pc, offer)
}

// SetAnswer takes the peer's answer to the leg's offer. The codec is the
// first the answer lists of those offered. A bad answer wraps ErrBadSDP
// (one naming no offered codec, ErrNoCommonCodec) and leaves the leg as it
// was, so the caller decides whether to close it.
func (l *Leg) SetAnswer(answer string) error {
	audio, err := ParseSDP(answer)
	if err != nil {
		return err
	}
	l.mu.Lock()
	offered, track := l.offered, l.local
	l.mu.Unlock()
	if offered == nil {
		return errors.New("webrtcmedia: SetAnswer on a leg that made no offer, or was answered already")
	}
	var codec Codec
	found := false
	for _, c := range audio.Codecs {
		if _, ok := choose([]Codec{c}, offered); ok {
			codec, found = c, true
			break
		}
	}
	if !found {
		return fmt.Errorf("%w: answered %v, offered %v", ErrNoCommonCodec, audio.Codecs, offered)
	}
	old := track
	if !codec.Same(offered[0]) {
		// the sender starts when the answer is set: give it a track of
		// the answered codec before.
		if track, err = newTrack(codec); err != nil {
			return err
		}
		if err := l.tr.Sender().ReplaceTrack(track); err != nil {
			return fmt.Errorf("webrtcmedia: %w", err)
		}
	}
	if err := l.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		if track != old {
			_ = l.tr.Sender().ReplaceTrack(old) // not started: only swaps back
		}
		return fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	l.mu.Lock()
	l.local, l.codec, l.offered, l.cands = track, codec, nil, audio.Candidates
	l.mu.Unlock()
	return nil
}

func newTrack(c Codec) (*webrtc.TrackLocalStaticRTP, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(capability(c), "audio", "vo")
	if err != nil {
		return nil, fmt.Errorf("webrtcmedia: %w", err)
	}
	return t, nil
}

// drainRTCP reads the peer's RTCP for the sender until it closes: pion
// delivers it to whoever reads, and nothing here uses it yet.
func drainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// MaxCandidateSize bounds one trickled candidate line.
const MaxCandidateSize = 1024

// AddRemoteCandidate adds one ICE candidate the peer trickled after its
// SDP: the candidate line as RTCIceCandidate.candidate gives it
// ("candidate:…"); "" says the peer has no more. It needs the peer's SDP
// first (Answer's offer, or SetAnswer). A malformed candidate wraps
// ErrBadSDP and changes nothing; one of a kind pion cannot use (an mDNS
// name: the endpoint resolves none) is ignored, as browsers do.
func (l *Leg) AddRemoteCandidate(c string) error {
	if len(c) > MaxCandidateSize {
		return badSDP("candidate of %d bytes, more than %d", len(c), MaxCandidateSize)
	}
	if c != "" {
		if _, err := ice.UnmarshalCandidate(c); err != nil &&
			!errors.Is(err, ice.ErrUnknownCandidateTyp) && !errors.Is(err, ice.ErrDetermineNetworkType) {
			return badSDP("candidate: %v", err)
		}
	}
	if l.pc.RemoteDescription() == nil {
		return errors.New("webrtcmedia: a candidate before the peer's SDP")
	}
	if c != "" {
		l.mu.Lock()
		full := l.cands >= MaxCandidates
		if !full {
			l.cands++
		}
		l.mu.Unlock()
		if full {
			return badSDP("more than %d candidates", MaxCandidates)
		}
	}
	if err := l.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrBadSDP, err)
	}
	return nil
}

// Codec is the negotiated codec, with the payload type of this leg's peer;
// the zero Codec before the offer is answered.
func (l *Leg) Codec() Codec {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.codec
}

// Connected is closed once ICE and DTLS are up.
func (l *Leg) Connected() <-chan struct{} { return l.connected }

// Done is closed when the leg ends: its connection failed or closed, or
// Close was called.
func (l *Leg) Done() <-chan struct{} { return l.done }

// ReadRTP reads the next RTP packet the peer sent (decrypted) into buf and
// returns its length. It waits for the peer's first packet; after the leg
// ends it returns io.EOF.
func (l *Leg) ReadRTP(buf []byte) (int, error) {
	select {
	case <-l.gotTrack:
	case <-l.done:
		return 0, io.EOF
	}
	l.mu.Lock()
	t := l.remote
	l.mu.Unlock()
	n, _, err := t.Read(buf)
	if err != nil {
		select {
		case <-l.done:
			return 0, io.EOF
		default:
		}
	}
	return n, err
}

// WriteRTP sends p to the peer under the leg's own SSRC and the peer's
// payload type for the codec (p is copied, not changed). Before the
// connection is up a packet is dropped; after the leg ends it returns
// ErrClosed.
func (l *Leg) WriteRTP(p *rtp.Packet) error {
	select {
	case <-l.done:
		return ErrClosed
	default:
	}
	l.mu.Lock()
	t := l.local
	l.mu.Unlock()
	if t == nil {
		return nil
	}
	return t.WriteRTP(p)
}

// Close ends the leg and its connection; it is safe to call more than
// once and from any goroutine.
func (l *Leg) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.pc.Close()
		l.e.forget(l)
	})
	return err
}
