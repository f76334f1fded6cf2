package telephony

import (
	"time"

	"vo/internal/presence"
)

// RouteInput is what Route needs to know of the callee.
type RouteInput struct {
	Status   presence.Status   // the status the callee chose
	Activity presence.Activity // on_call or in_meeting: call waiting, still rings
	// Sessions is whether the callee has an app session that can ring: live
	// now or reachable by push.
	Sessions bool
	// Phones is whether the callee has a registered SIP phone.
	Phones     bool
	Forwarding Forwarding
	// TargetExists is whether the forwarding target is an active user of
	// the same org (and not the callee).
	TargetExists bool
}

// Action is what happens to an incoming call first.
type Action string

// The actions of a Decision.
const (
	Ring        Action = "ring"
	ToVoicemail Action = "voicemail"
	Forward     Action = "forward"
)

// Reason says why a call went to voicemail.
type Reason string

// The reasons.
const (
	NoReason       Reason = ""
	ReasonDND      Reason = "dnd"
	ReasonNoDevice Reason = "no_device"
	ReasonNoAnswer Reason = "no_answer"
)

// Decision is where an incoming call goes. When Action is Ring, the listed
// device classes ring at once for Timeout; then, if no one answered, the
// call goes to OnTimeout (ToVoicemail, or Forward to ForwardTo).
type Decision struct {
	Action     Action
	Reason     Reason // for ToVoicemail
	RingApps   bool   // the callee's app sessions (live and push)
	RingPhones bool   // the callee's registered SIP phones
	ForwardTo  string // the extension for Forward, now or on timeout
	Timeout    time.Duration
	OnTimeout  Action
	// WhileBusy is set when the callee is on a call or in a meeting: the
	// call rings as call waiting.
	WhileBusy bool
}

// RingFor is how long the decision's devices ring: override when set (a
// transport's configuration, in tests), else the decision's Timeout, else
// RingTimeout.
func (d Decision) RingFor(override time.Duration) time.Duration {
	switch {
	case override > 0:
		return override
	case d.Timeout > 0:
		return d.Timeout
	}
	return RingTimeout
}

// Route decides where an incoming call goes (SPEC §2 calls column, §10).
// DND wins over everything, forwarding included; forwarding always comes
// next; then the callee's devices ring, and with none the call goes to
// voicemail, or to the forwarding target for unanswered forwarding. A
// forwarding target that does not exist is ignored.
func Route(in RouteInput) Decision {
	if in.Status == presence.DND {
		return Decision{Action: ToVoicemail, Reason: ReasonDND}
	}
	fwd := in.TargetExists && in.Forwarding.Target != ""
	if fwd && in.Forwarding.Mode == ForwardAlways {
		return Decision{Action: Forward, ForwardTo: in.Forwarding.Target}
	}
	unanswered := fwd && in.Forwarding.Mode == ForwardUnanswered
	if !in.Sessions && !in.Phones {
		if unanswered {
			return Decision{Action: Forward, ForwardTo: in.Forwarding.Target}
		}
		return Decision{Action: ToVoicemail, Reason: ReasonNoDevice}
	}
	d := Decision{
		Action:     Ring,
		RingApps:   in.Sessions,
		RingPhones: in.Phones,
		Timeout:    RingTimeout,
		OnTimeout:  ToVoicemail,
		Reason:     ReasonNoAnswer,
		WhileBusy:  in.Activity == presence.OnCall || in.Activity == presence.InMeeting,
	}
	if unanswered {
		d.OnTimeout, d.ForwardTo, d.Reason = Forward, in.Forwarding.Target, NoReason
	}
	return d
}
