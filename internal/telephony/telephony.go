// Package telephony holds the rules of calls and voicemail (SPEC §10): the
// call and voicemail records, call forwarding, where an incoming call goes
// (Route, a pure function of the callee's state) and what a dialled string
// means (ParseDestination). It knows no SIP, no media and no database.
package telephony

import (
	"strings"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
)

// DefaultSIPAddr is where phones register and call when the server names
// no address (SPEC §10: vo serve --sip-addr).
const DefaultSIPAddr = "127.0.0.1:5060"

// RingTimeout is how long a call rings before it counts as unanswered.
const RingTimeout = 20 * time.Second

// Direction says who placed a call, from the owner's side.
type Direction string

// The directions of SPEC §10.
const (
	In  Direction = "in"
	Out Direction = "out"
)

// Result is how a call ended.
type Result string

// The results of SPEC §10.
const (
	Answered      Result = "answered"
	Missed        Result = "missed"
	Declined      Result = "declined"
	VoicemailLeft Result = "voicemail"
	Failed        Result = "failed"
	BusyResult    Result = "busy"
)

// Valid reports whether r is one of the results of SPEC §10.
func (r Result) Valid() bool {
	switch r {
	case Answered, Missed, Declined, VoicemailLeft, Failed, BusyResult:
		return true
	}
	return false
}

// Peer is the other party of a call or the caller of a voicemail. UserID is
// empty for someone outside the org.
type Peer struct {
	UserID string
	Number string
	Name   string
}

// Call is one call as its owner sees it. AnsweredAt and EndedAt are zero
// while not yet answered or ended.
type Call struct {
	ID         string
	OrgID      string
	OwnerID    string
	Direction  Direction
	Peer       Peer
	StartedAt  time.Time
	AnsweredAt time.Time
	EndedAt    time.Time
	Result     Result
}

// Voicemail is one recording left for its owner; the audio is in the blob
// store under BlobKey.
type Voicemail struct {
	ID         string
	OrgID      string
	OwnerID    string
	From       Peer
	CreatedAt  time.Time
	DurationMS int64
	Heard      bool
	BlobKey    string
	MediaType  string
}

// ForwardMode says when a user's calls are forwarded.
type ForwardMode string

// The forwarding modes.
const (
	ForwardOff        ForwardMode = "off"
	ForwardAlways     ForwardMode = "always"
	ForwardUnanswered ForwardMode = "unanswered"
)

// Forwarding is a user's call forwarding: Target is an extension of the org.
type Forwarding struct {
	Mode   ForwardMode
	Target string
}

// Validate checks a forwarding setting: a known mode and, unless off, an
// extension to forward to. Off clears the target.
func (f Forwarding) Validate() (Forwarding, error) {
	switch f.Mode {
	case ForwardOff:
		return Forwarding{Mode: ForwardOff}, nil
	case ForwardAlways, ForwardUnanswered:
		f.Target = strings.TrimSpace(f.Target)
		if err := account.ValidateExtension(f.Target); err != nil {
			return Forwarding{}, apperr.New(apperr.Invalid, "target must be an extension of 2 to 8 digits")
		}
		return f, nil
	case "":
		return Forwarding{}, apperr.New(apperr.Invalid, "mode is required: off, always or unanswered")
	}
	return Forwarding{}, apperr.New(apperr.Invalid, "mode must be off, always or unanswered")
}

// The event types of SPEC §10.
const (
	TypeCall      = "call"
	TypeVoicemail = "voicemail"
)

// State is where a call stands, as its call events say.
type State string

// The states of SPEC §10.
const (
	Ringing State = "ringing"
	Up      State = "answered"
	Ended   State = "ended"
)
