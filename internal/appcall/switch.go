// Package appcall is the transport of calls from and to the app: WebRTC
// audio through the server (webrtcmedia), signalled over the HTTP API and
// the event stream (SPEC §10). The app always makes the offer, placing a
// call or answering one, and the server answers it, so the app needs no
// SDP from the server before the user acts. The call service (telephony)
// decides where a call goes; the Switch carries out the decision for the
// calls whose caller or callee is an app session.
//
// A call's lifetime: Place answers the caller's offer at once (the caller's
// leg to the server is up while it rings) and writes both parties' rows,
// whose ringing event reaches every session of the callee. The first
// session to Answer has its offer answered with the caller's codec, and the
// server copies packets between the two legs. Decline from the callee sends
// the call to voicemail; no answer within the ring time does the same (or
// forwards it); Hangup from either party, or a leg's connection ending,
// ends it.
//
// Active calls are in the memory of the node that placed them: the app's
// answer must reach that node (one node, or sticky routing by call).
package appcall

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/rtp"

	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/telephony"
	"vo/internal/webrtcmedia"
)

// Config is what a Switch needs.
type Config struct {
	Calls *telephony.Service
	Media *webrtcmedia.Endpoint
	// Apps tells whether a user has an app session that can ring now (a
	// live event stream).
	Apps func(orgID, userID string) bool
	// HasPhones tells whether a user has a registered SIP phone, and
	// Phones rings them for a call from the app and returns the one that
	// answered (the SIP server); nil, phones are not rung.
	HasPhones func(userID string) bool
	Phones    func(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (PhoneLeg, error)
	// RingTimeout is how long apps ring before a call is unanswered; zero
	// is the decision's (20 s).
	RingTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
}

// PhoneLeg is a SIP phone that answered a call from the app.
type PhoneLeg interface {
	webrtcmedia.Stream
	Done() <-chan struct{}
	Hangup()
}

// Switch holds the app calls this node carries.
type Switch struct {
	cfg Config
	lg  *slog.Logger

	mu     sync.Mutex
	active map[string]*call // by either party's call id
	wg     sync.WaitGroup
}

// New returns a switch.
func New(cfg Config) *Switch {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	return &Switch{cfg: cfg, lg: lg, active: map[string]*call{}}
}

// call is one call in progress.
type call struct {
	mu     sync.Mutex
	p      *telephony.Placed
	caller *webrtcmedia.Leg
	callee *webrtcmedia.Leg // set by the first Answer
	codec  webrtcmedia.Codec
	state  telephony.State
	sw     *Switch
	// answered gets the callee's leg once; declined and hungUp are closed
	// once.
	answered chan *webrtcmedia.Leg
	declined chan struct{}
	hungUp   chan struct{}
	once     struct{ decline, hangup sync.Once }
}

// Started is what the caller gets back: their call row and the server's
// SDP answer to their offer.
type Started struct {
	Call   telephony.Call
	Answer string
}

// The codecs a call's first leg may use. A call that may reach a SIP phone
// or voicemail is G.711 (what phones speak and the recorder decodes); the
// caller's leg is answered before anyone knows who will take the call.
var g711 = []webrtcmedia.Codec{webrtcmedia.PCMU, webrtcmedia.PCMA}

// Place places a call from an app session to what the user dialled, with
// the app's SDP offer. NotFound, Forbidden as telephony.Service.Place;
// Invalid for an offer that is not one audio stream the server speaks.
func (s *Switch) Place(ctx context.Context, orgID, userID, dialled, offer string) (*Started, error) {
	// Checked before anything is stored: a bad offer leaves no call rows
	// (Media.Answer checks it again, after Place has written them).
	if _, err := webrtcmedia.ParseSDP(offer); err != nil {
		return nil, apperr.New(apperr.Invalid, "%s", sdpProblem(err))
	}
	if s.placing(userID) >= MaxCallsPerUser {
		e := apperr.New(apperr.RateLimited, "at most %d calls at once; hang one up first", MaxCallsPerUser)
		e.RetryAfter = 5
		return nil, e
	}
	p, err := s.cfg.Calls.Place(ctx, orgID, userID, dialled, s.reach())
	if err != nil {
		return nil, err
	}
	leg, answer, err := s.cfg.Media.Answer(ctx, offer, g711)
	if err != nil {
		s.end(p, telephony.Failed)
		if errors.Is(err, webrtcmedia.ErrBadSDP) || errors.Is(err, webrtcmedia.ErrNoCommonCodec) {
			return nil, apperr.New(apperr.Invalid, "%s", sdpProblem(err))
		}
		return nil, fmt.Errorf("answer the caller's offer: %w", err)
	}
	c := &call{p: p, caller: leg, codec: leg.Codec(), state: telephony.Ringing, answered: make(chan *webrtcmedia.Leg, 1),
		declined: make(chan struct{}), hungUp: make(chan struct{})}
	out := p.Out // the call's goroutine changes p from now on
	s.mu.Lock()
	s.active[p.Out.ID], s.active[p.In.ID] = c, c
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.run(c)
	}()
	return &Started{Call: out, Answer: answer}, nil
}

// MaxCallsPerUser bounds the calls one user may have placed from the app
// at once: each holds a peer connection on the server.
const MaxCallsPerUser = 3

// placing counts the calls in progress the user placed.
func (s *Switch) placing(userID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, c := range s.active {
		if id == c.p.Out.ID && c.p.Caller.ID == userID {
			n++
		}
	}
	return n
}

func sdpProblem(err error) string {
	if errors.Is(err, webrtcmedia.ErrNoCommonCodec) {
		return "the offer has no audio codec the server speaks (opus, PCMU, PCMA)"
	}
	return "the offer is not one WebRTC audio stream: " + err.Error()
}

// find returns the user's call of that id, and whether it is their
// incoming side. c.p is read under s.mu, which its replacement (forwarding)
// holds too.
func (s *Switch) find(orgID, userID, callID string) (c *call, incoming, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok = s.active[callID]
	if !ok || c.p.Caller.OrgID != orgID {
		return nil, false, false
	}
	switch {
	case callID == c.p.In.ID && c.p.Callee.ID == userID:
		return c, true, true
	case callID == c.p.Out.ID && c.p.Caller.ID == userID:
		return c, false, true
	}
	return nil, false, false
}

// Answer takes the call on this session, with its SDP offer, and returns
// the server's answer. NotFound when the user has no such incoming call
// ringing here; Conflict when it was answered already (on another device)
// or has ended.
func (s *Switch) Answer(ctx context.Context, orgID, userID, callID, offer string) (string, error) {
	c, incoming, ok := s.find(orgID, userID, callID)
	if !ok || !incoming {
		return "", apperr.New(apperr.NotFound, "no such call ringing")
	}
	// A bad offer is refused before the call's state is looked at.
	if _, err := webrtcmedia.ParseSDP(offer); err != nil {
		return "", apperr.New(apperr.Invalid, "%s", sdpProblem(err))
	}
	c.mu.Lock()
	if c.state != telephony.Ringing || c.callee != nil {
		c.mu.Unlock()
		return "", apperr.New(apperr.Conflict, "the call was answered elsewhere or has ended")
	}
	leg, answer, err := s.cfg.Media.Answer(ctx, offer, []webrtcmedia.Codec{c.codec})
	if err != nil {
		c.mu.Unlock()
		if errors.Is(err, webrtcmedia.ErrBadSDP) || errors.Is(err, webrtcmedia.ErrNoCommonCodec) {
			return "", apperr.New(apperr.Invalid, "%s", sdpProblem(err))
		}
		return "", fmt.Errorf("answer the callee's offer: %w", err)
	}
	c.callee = leg
	c.mu.Unlock()
	c.answered <- leg
	return answer, nil
}

// Decline refuses an incoming call that rings: it goes to voicemail.
// NotFound when there is no such call ringing for the user.
func (s *Switch) Decline(orgID, userID, callID string) error {
	c, incoming, ok := s.find(orgID, userID, callID)
	if !ok || !incoming {
		return apperr.New(apperr.NotFound, "no such call ringing")
	}
	c.once.decline.Do(func() { close(c.declined) })
	return nil
}

// Hangup ends the user's call (the caller giving up while it rings, or
// either party once it is up). NotFound when the user has no such call in
// progress here.
func (s *Switch) Hangup(orgID, userID, callID string) error {
	c, _, ok := s.find(orgID, userID, callID)
	if !ok {
		return apperr.New(apperr.NotFound, "no such call in progress")
	}
	c.once.hangup.Do(func() { close(c.hungUp) })
	return nil
}

// Incoming is an app session that answered a call from a phone.
type Incoming struct {
	*webrtcmedia.Leg
	c *call
}

// HungUp is closed when the app hangs up.
func (in *Incoming) HungUp() <-chan struct{} { return in.c.hungUp }

// Close ends the app's leg and forgets the call.
func (in *Incoming) Close() {
	in.Leg.Close()
	in.c.sw.forget(in.c)
}

// ErrDeclined is what Ring returns when the callee declined.
var ErrDeclined = errors.New("appcall: declined")

// Ring rings the callee's app sessions for a call from elsewhere (a SIP
// phone) whose audio is codec. It returns the session that answered (its
// leg uses codec), ErrDeclined, or ctx's error when the ringing ended.
func (s *Switch) Ring(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (*Incoming, error) {
	c := &call{p: p, codec: codec, state: telephony.Ringing, sw: s, answered: make(chan *webrtcmedia.Leg, 1),
		declined: make(chan struct{}), hungUp: make(chan struct{})}
	s.mu.Lock()
	s.active[p.In.ID] = c
	s.mu.Unlock()
	select {
	case leg := <-c.answered:
		c.mu.Lock()
		c.state = telephony.Up
		c.mu.Unlock()
		return &Incoming{Leg: leg, c: c}, nil
	case <-c.declined:
	case <-ctx.Done():
	}
	if !c.stopRinging() { // answered in the same instant
		return &Incoming{Leg: <-c.answered, c: c}, nil
	}
	s.forget(c)
	select {
	case <-c.declined:
		return nil, ErrDeclined
	default:
		return nil, ctx.Err()
	}
}

func (s *Switch) forget(c *call) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range []string{c.p.Out.ID, c.p.In.ID} {
		if s.active[id] == c {
			delete(s.active, id)
		}
	}
}

// Close hangs up every call and waits for their ends to be recorded.
func (s *Switch) Close() {
	s.mu.Lock()
	for _, c := range s.active {
		c.once.hangup.Do(func() { close(c.hungUp) })
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Switch) reach() telephony.Reach {
	r := telephony.Reach{Apps: s.cfg.Apps}
	if s.cfg.Phones != nil {
		r.Phones = s.cfg.HasPhones
	}
	return r
}

func (s *Switch) ringTimeout(d telephony.Decision) time.Duration { return d.RingFor(s.cfg.RingTimeout) }

// run carries the call from ringing to its end.
func (s *Switch) run(c *call) {
	defer func() {
		c.caller.Close()
		c.mu.Lock()
		if c.callee != nil {
			c.callee.Close()
		}
		c.state = telephony.Ended
		c.mu.Unlock()
		s.mu.Lock()
		delete(s.active, c.p.Out.ID)
		delete(s.active, c.p.In.ID)
		s.mu.Unlock()
	}()
	for {
		switch c.p.Decision.Action {
		case telephony.ToVoicemail:
			s.voicemail(c)
			return
		case telephony.Ring:
		default:
			s.end(c.p, telephony.Failed)
			return
		}
		timer := time.NewTimer(s.ringTimeout(c.p.Decision))
		phone, stopPhones := s.ringPhones(c)
		select {
		case leg := <-c.answered:
			timer.Stop()
			stopPhones()
			s.bridge(c, leg)
			return
		case ph := <-phone:
			timer.Stop()
			stopPhones()
			if c.stopRinging() {
				s.bridgePhone(c, ph)
			} else {
				ph.Hangup() // an app answered in the same instant
				s.bridge(c, <-c.answered)
			}
			return
		case <-c.declined:
			timer.Stop()
			stopPhones()
			if c.stopRinging() {
				s.voicemail(c)
			} else {
				s.bridge(c, <-c.answered)
			}
			return
		case <-c.hungUp:
			timer.Stop()
			stopPhones()
			s.end(c.p, telephony.Missed)
			return
		case <-c.caller.Done():
			timer.Stop()
			stopPhones()
			s.end(c.p, telephony.Missed)
			return
		case <-timer.C:
			stopPhones()
		}
		c.mu.Lock()
		answered := c.callee != nil
		c.mu.Unlock()
		if answered { // answered in the same instant the time ran out
			s.bridge(c, <-c.answered)
			return
		}
		if c.p.Decision.OnTimeout != telephony.Forward {
			if c.stopRinging() {
				s.voicemail(c)
			} else {
				s.bridge(c, <-c.answered)
			}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		next, err := s.cfg.Calls.Unanswered(ctx, c.p, s.reach())
		cancel()
		if err != nil {
			s.lg.Warn("appcall: forward an unanswered call", slog.Any("err", err))
			s.voicemail(c)
			return
		}
		s.mu.Lock()
		delete(s.active, c.p.In.ID)
		c.mu.Lock()
		c.p = next
		c.mu.Unlock()
		s.active[next.In.ID] = c
		s.mu.Unlock()
	}
}

// ringPhones rings the callee's phones while the apps ring, when the
// decision says so. phone gets the one that answered; stop ends the
// ringing, and hangs up a phone that answered after all.
func (s *Switch) ringPhones(c *call) (phone <-chan PhoneLeg, stop func()) {
	ch := make(chan PhoneLeg, 1)
	if !c.p.Decision.RingPhones || s.cfg.Phones == nil {
		return ch, func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	p := c.p
	go func() {
		defer close(done)
		if l, err := s.cfg.Phones(ctx, p, c.codec); err == nil {
			ch <- l
		}
	}()
	return ch, func() {
		cancel()
		<-done
		select {
		case l := <-ch:
			l.Hangup()
		default:
		}
	}
}

// bridgePhone records the answer of a SIP phone and copies packets between
// it and the caller's leg until either hangs up.
func (s *Switch) bridgePhone(c *call, ph PhoneLeg) { s.bridgeTo(c, ph, ph.Done(), ph.Hangup) }

// stopRinging ends the ringing without an answer; false when an Answer
// came first.
func (c *call) stopRinging() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.callee != nil {
		return false
	}
	c.state = telephony.Ended
	return true
}

// bridge records the answer of an app session and copies packets between
// the legs.
func (s *Switch) bridge(c *call, callee *webrtcmedia.Leg) {
	s.bridgeTo(c, callee, callee.Done(), func() { callee.Close() })
}

// bridgeTo records the answer, copies packets between the caller's leg and
// the callee's, and ends the call when either party hangs up or either
// leg's connection ends (done is the callee's; end stops it).
func (s *Switch) bridgeTo(c *call, callee webrtcmedia.Stream, done <-chan struct{}, end func()) {
	c.mu.Lock()
	c.state = telephony.Up
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := s.cfg.Calls.Answered(ctx, c.p); err != nil {
		s.lg.Error("appcall: answered call", slog.Any("err", err))
	}
	cancel()
	bridged := make(chan error, 1)
	go func() { bridged <- webrtcmedia.Bridge(c.caller, callee) }()
	select {
	case <-c.hungUp:
	case <-c.caller.Done():
	case <-done:
	case err := <-bridged:
		if err != nil {
			s.lg.Warn("appcall: bridge", slog.Any("err", err))
		}
	}
	end()
	c.caller.Close()
	s.end(c.p, telephony.Answered)
}

func (s *Switch) end(p *telephony.Placed, r telephony.Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cfg.Calls.Ended(ctx, p, r); err != nil {
		s.lg.Error("appcall: end call", slog.Any("err", err))
	}
}

// voicemail plays the greeting to the caller's leg, then records what they
// say until they hang up, for at most telephony.MaxVoicemail.
func (s *Switch) voicemail(c *call) {
	leg := c.caller
	select {
	case <-leg.Connected():
	case <-leg.Done():
		s.end(c.p, telephony.Missed)
		return
	case <-c.hungUp:
		s.end(c.p, telephony.Missed)
		return
	case <-time.After(15 * time.Second):
		s.end(c.p, telephony.Failed)
		return
	}
	codec := leg.Codec()
	alaw := codec.Same(webrtcmedia.PCMA)
	if !alaw && !codec.Same(webrtcmedia.PCMU) {
		s.lg.Warn("appcall: voicemail needs G.711", slog.String("codec", codec.String()))
		s.end(c.p, telephony.Failed)
		return
	}
	gctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	greeting := s.cfg.Calls.GreetingFor(gctx, c.p.Callee)
	cancel()
	if !playGreeting(leg, greeting, alaw, c.hungUp) {
		s.end(c.p, telephony.Missed)
		return
	}
	stop := make(chan struct{})
	timer := time.AfterFunc(telephony.MaxVoicemail, func() { close(stop) })
	defer timer.Stop()
	go func() {
		select {
		case <-c.hungUp:
		case <-stop:
		case <-leg.Done():
		}
		leg.Close()
	}()
	var pcm []byte
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, err := leg.ReadRTP(buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, webrtcmedia.ErrClosed) {
				s.lg.Debug("appcall: voicemail read", slog.Any("err", err))
			}
			break
		}
		if pkt.Unmarshal(buf[:n]) != nil {
			continue
		}
		pcm = append(pcm, telephony.DecodeG711(alaw, pkt.Payload)...)
	}
	dur := time.Duration(len(pcm)/2) * time.Second / 8000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Calls.LeaveVoicemail(ctx, c.p, telephony.WAV(pcm, 8000), dur); err != nil {
		s.lg.Error("appcall: leave voicemail", slog.Any("err", err))
	}
}

// playGreeting sends the greeting (an 8 kHz WAV) as 20 ms G.711 packets in
// real time; false when the caller hung up meanwhile.
func playGreeting(leg *webrtcmedia.Leg, wav []byte, alaw bool, hungUp <-chan struct{}) bool {
	frames := telephony.G711Frames(wav, alaw)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	p := rtp.Packet{Header: rtp.Header{Version: 2, Marker: true}}
	for i, f := range frames {
		select {
		case <-hungUp:
			return false
		case <-leg.Done():
			return false
		case <-tick.C:
		}
		p.SequenceNumber = uint16(i)
		p.Timestamp = uint32(i * len(f))
		p.Payload = f
		if err := leg.WriteRTP(&p); err != nil {
			return false
		}
		p.Marker = false
	}
	return true
}
