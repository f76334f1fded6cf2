package telephony

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/notify"
	"vo/internal/presence"
)

// Store is what the call service needs of the database.
type Store interface {
	UserByDial(ctx context.Context, orgID string, d Destination) (account.User, error)
	UserByID(ctx context.Context, orgID, id string) (account.User, error)
	Presence(ctx context.Context, orgID, userID string) (presence.Row, error)
	Forwarding(ctx context.Context, orgID, userID string) (Forwarding, error)
	InsertCall(ctx context.Context, c Call) error
	AnswerCall(ctx context.Context, c Call) error
	FinishCall(ctx context.Context, c Call) error
	InsertVoicemail(ctx context.Context, v Voicemail) error
	UnheardVoicemails(ctx context.Context, orgID, userID string, limit int) ([]Voicemail, error)
	SetHeard(ctx context.Context, orgID, userID, id string, heard bool) (Voicemail, error)
	GreetingKey(ctx context.Context, orgID, userID string) (string, error)
	SetGreetingKey(ctx context.Context, orgID, userID, key string) (old string, err error)
}

// MaxVoicemail is the longest recording a caller may leave (SPEC §10).
const MaxVoicemail = 3 * time.Minute

// Service places calls: it finds who a dialled string names in the
// caller's org, decides with Route where the call goes, and keeps both
// parties' call rows and the voicemails. The transports (SIP, WebRTC)
// carry the media and do what the Decision says.
type Service struct {
	st    Store
	blobs blobs.Store
	clk   clock.Clock
	// changed hears of every voicemail left or played through the
	// mailbox (the SIP server's message-waiting lamps); set once the
	// server exists.
	changed atomic.Pointer[func(orgID, userID string)]
	push    Pusher
}

// Pusher queues a Web Push to a user's sessions that have no live event
// stream (notify.Service).
type Pusher interface {
	Notify(ctx context.Context, orgID, userID string, p notify.Push) (int, error)
}

// SetPusher makes a missed call and a new voicemail a push to the callee's
// sessions that are not looking (SPEC §9). Set before calls are placed.
func (s *Service) SetPusher(p Pusher) { s.push = p }

// pushTo queues p for the user. The call or voicemail is stored already:
// a push that cannot be queued is lost, never the call.
func (s *Service) pushTo(ctx context.Context, orgID, userID string, p notify.Push) {
	if s.push == nil {
		return
	}
	_, _ = s.push.Notify(ctx, orgID, userID, p)
}

func peerName(p Peer) string {
	if p.Name != "" {
		return p.Name
	}
	return p.Number
}

// pushRinging rings the callee's closed apps (SPEC §9: an incoming call,
// while it rings): a push worth sending only for the ring time, under the
// tag the missed-call push will replace.
func (s *Service) pushRinging(ctx context.Context, p *Placed) {
	if p.Decision.Action != Ring || !p.Decision.RingApps {
		return
	}
	s.pushTo(ctx, p.In.OrgID, p.In.OwnerID, notify.Push{Type: notify.Call, Title: peerName(p.In.Peer), Body: "Incoming call",
		URL: "/calls", Tag: "call-" + p.In.ID, TTL: p.Decision.RingFor(0)})
}

// pushMissed tells the callee of a call that rang and nobody took; on a
// device that showed the incoming call, it takes that notification's place.
func (s *Service) pushMissed(ctx context.Context, c Call) {
	s.pushTo(ctx, c.OrgID, c.OwnerID, notify.Push{Type: notify.MissedCall, Title: "Missed call", Body: peerName(c.Peer),
		URL: "/calls", Tag: "call-" + c.ID})
}

// OnVoicemail sets what hears of every voicemail left or played.
func (s *Service) OnVoicemail(f func(orgID, userID string)) { s.changed.Store(&f) }

// NewService makes a call service over the store and the blob store the
// recordings go to.
func NewService(st Store, b blobs.Store, clk clock.Clock) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Service{st: st, blobs: b, clk: clk}
}

// Reach tells which devices of a user can ring now. A nil func: none of
// that kind (a transport that cannot ring them yet).
type Reach struct {
	Phones func(userID string) bool        // a registered SIP phone
	Apps   func(orgID, userID string) bool // an app session with a live event stream
}

func (r Reach) phones(id string) bool { return r.Phones != nil && r.Phones(id) }

func (r Reach) apps(orgID, id string) bool { return r.Apps != nil && r.Apps(orgID, id) }

// Placed is a call on its way: both parties, where it goes, and each
// party's row.
type Placed struct {
	Caller, Callee account.User
	Decision       Decision
	Out, In        Call // the caller's row and the callee's
}

func peerOf(u account.User) Peer {
	n := u.Extension
	if n == "" {
		n = u.PhoneNumber
	}
	return Peer{UserID: u.ID, Number: n, Name: u.Name}
}

// Place decides where a call from the caller to what they dialled goes
// and records it as ringing for both. NotFound for an extension or number
// nobody of the org has and for what is neither (SPEC §10: 404); Forbidden
// for a number outside the org, until a trunk exists (403).
// reach tells which of a user's devices can ring. Forwarding is followed once: the target's own forwarding is not.
func (s *Service) Place(ctx context.Context, orgID, callerID, dialled string, reach Reach) (*Placed, error) {
	caller, err := s.st.UserByID(ctx, orgID, callerID)
	if err != nil {
		return nil, err
	}
	d := ParseDestination(dialled)
	var callee account.User
	switch d.Kind {
	case DestExtension, DestNumber:
		callee, err = s.st.UserByDial(ctx, orgID, d)
		if apperr.Is(err, apperr.NotFound) && d.Kind == DestNumber {
			// The seam where a carrier trunk will plug in.
			return nil, apperr.New(apperr.Forbidden, "calls outside the organisation need a trunk, and none is set up")
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, apperr.New(apperr.NotFound, "no such extension or number")
	}
	dec, err := s.route(ctx, orgID, callee, true, reach)
	if err != nil {
		return nil, err
	}
	if dec.Action == Forward {
		target, err := s.st.UserByDial(ctx, orgID, Destination{Kind: DestExtension, Value: dec.ForwardTo})
		if err != nil {
			return nil, err
		}
		callee = target
		if dec, err = s.route(ctx, orgID, callee, false, reach); err != nil {
			return nil, err
		}
	}
	now := s.clk.Now().Truncate(time.Millisecond)
	p := &Placed{Caller: caller, Callee: callee, Decision: dec,
		Out: Call{ID: account.NewID("call"), OrgID: orgID, OwnerID: caller.ID, Direction: Out, Peer: peerOf(callee), StartedAt: now},
		In:  Call{ID: account.NewID("call"), OrgID: orgID, OwnerID: callee.ID, Direction: In, Peer: peerOf(caller), StartedAt: now}}
	if err := s.st.InsertCall(ctx, p.Out); err != nil {
		return nil, err
	}
	if err := s.st.InsertCall(ctx, p.In); err != nil {
		return nil, err
	}
	s.pushRinging(ctx, p)
	return p, nil
}

// route gathers what Route needs of the callee.
func (s *Service) route(ctx context.Context, orgID string, callee account.User, forwarding bool, reach Reach) (Decision, error) {
	pres, err := s.st.Presence(ctx, orgID, callee.ID)
	if err != nil {
		return Decision{}, err
	}
	in := RouteInput{Status: pres.State.Status, Activity: pres.State.Activity, Phones: reach.phones(callee.ID), Sessions: reach.apps(orgID, callee.ID)}
	if forwarding {
		f, err := s.st.Forwarding(ctx, orgID, callee.ID)
		if err != nil {
			return Decision{}, err
		}
		in.Forwarding = f
		if f.Mode != ForwardOff && f.Target != "" {
			t, err := s.st.UserByDial(ctx, orgID, Destination{Kind: DestExtension, Value: f.Target})
			in.TargetExists = err == nil && t.ID != callee.ID
		}
	}
	return Route(in), nil
}

// Unanswered moves a call nobody answered in time to the target of the
// callee's "when unanswered" forwarding (Decision.OnTimeout Forward): the
// callee's row ends missed, the target gets a row of their own, and the
// call is routed anew for the target, whose own forwarding is not followed
// (so no loop). The caller's row goes on. NotFound when the target is gone.
func (s *Service) Unanswered(ctx context.Context, p *Placed, reach Reach) (*Placed, error) {
	target, err := s.st.UserByDial(ctx, p.Caller.OrgID, Destination{Kind: DestExtension, Value: p.Decision.ForwardTo})
	if err != nil {
		return nil, err
	}
	dec, err := s.route(ctx, p.Caller.OrgID, target, false, reach)
	if err != nil {
		return nil, err
	}
	now := s.clk.Now().Truncate(time.Millisecond)
	in := p.In
	in.EndedAt, in.Result = now, Missed
	if err := s.st.FinishCall(ctx, in); err != nil {
		return nil, err
	}
	s.pushMissed(ctx, in)
	next := &Placed{Caller: p.Caller, Callee: target, Decision: dec, Out: p.Out,
		In: Call{ID: account.NewID("call"), OrgID: p.Caller.OrgID, OwnerID: target.ID, Direction: In, Peer: peerOf(p.Caller), StartedAt: now}}
	if err := s.st.InsertCall(ctx, next.In); err != nil {
		return nil, err
	}
	s.pushRinging(ctx, next)
	return next, nil
}

// Answered records that the callee took the call.
func (s *Service) Answered(ctx context.Context, p *Placed) error {
	now := s.clk.Now().Truncate(time.Millisecond)
	p.Out.AnsweredAt, p.In.AnsweredAt = now, now
	if err := s.st.AnswerCall(ctx, p.Out); err != nil {
		return err
	}
	return s.st.AnswerCall(ctx, p.In)
}

// Ended records how the call ended, for both parties. A call that rang
// and ended missed is a push to the callee.
func (s *Service) Ended(ctx context.Context, p *Placed, r Result) error {
	now := s.clk.Now().Truncate(time.Millisecond)
	p.Out.EndedAt, p.In.EndedAt, p.Out.Result, p.In.Result = now, now, r, r
	if err := s.st.FinishCall(ctx, p.Out); err != nil {
		return err
	}
	if err := s.st.FinishCall(ctx, p.In); err != nil {
		return err
	}
	if r == Missed && p.Decision.Action == Ring {
		s.pushMissed(ctx, p.In)
	}
	return nil
}

// LeaveVoicemail stores a recording (a WAV file) for the callee and ends
// the call as a voicemail. An empty recording leaves nothing: the call is
// missed.
func (s *Service) LeaveVoicemail(ctx context.Context, p *Placed, wav []byte, duration time.Duration) error {
	if duration <= 0 || s.blobs == nil {
		return s.Ended(ctx, p, Missed)
	}
	v := Voicemail{ID: account.NewID("vm"), OrgID: p.Callee.OrgID, OwnerID: p.Callee.ID, From: peerOf(p.Caller),
		CreatedAt: s.clk.Now().Truncate(time.Millisecond), DurationMS: duration.Milliseconds(), MediaType: "audio/wav"}
	v.BlobKey = "voicemail/" + v.ID
	if err := s.blobs.Put(ctx, v.BlobKey, bytes.NewReader(wav), int64(len(wav)), "audio/wav"); err != nil {
		return err
	}
	if err := s.st.InsertVoicemail(ctx, v); err != nil {
		return err
	}
	if f := s.changed.Load(); f != nil {
		(*f)(v.OrgID, v.OwnerID)
	}
	s.pushTo(ctx, v.OrgID, v.OwnerID, notify.Push{Type: notify.Voicemail, Title: "Voicemail from " + peerName(v.From),
		Body: fmt.Sprintf("%d s", (v.DurationMS+999)/1000), URL: "/calls/voicemail", Tag: "vm-" + v.ID})
	return s.Ended(ctx, p, VoicemailLeft)
}
