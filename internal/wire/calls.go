package wire

import (
	"time"

	"vo/internal/events"
	"vo/internal/telephony"
)

// Peer is the other party of a call or the caller of a voicemail (SPEC
// §10); UserID is left out for someone outside the org.
type Peer struct {
	UserID string `json:"user_id,omitempty"`
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
}

// Call is one call as its owner sees it (SPEC §10).
type Call struct {
	ID         string     `json:"id"`
	Direction  string     `json:"direction"`
	Peer       Peer       `json:"peer"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at"`
	EndedAt    *time.Time `json:"ended_at"`
	Result     *string    `json:"result"`
}

// Voicemail is one voicemail as its owner lists it (SPEC §10).
type Voicemail struct {
	ID         string    `json:"id"`
	From       Peer      `json:"from"`
	CreatedAt  time.Time `json:"created_at"`
	DurationMS int64     `json:"duration_ms"`
	Heard      bool      `json:"heard"`
}

// PeerOf is the wire form of a call's peer.
func PeerOf(p telephony.Peer) Peer {
	return Peer{UserID: p.UserID, Number: p.Number, Name: p.Name}
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// CallOf is the wire form of a call: the times not yet reached and the
// result of a call still going are null.
func CallOf(c telephony.Call) Call {
	b := Call{ID: c.ID, Direction: string(c.Direction), Peer: PeerOf(c.Peer), StartedAt: c.StartedAt.UTC(),
		AnsweredAt: timeOrNil(c.AnsweredAt), EndedAt: timeOrNil(c.EndedAt)}
	if c.Result != "" {
		r := string(c.Result)
		b.Result = &r
	}
	return b
}

// VoicemailOf is the wire form of a voicemail.
func VoicemailOf(v telephony.Voicemail) Voicemail {
	return Voicemail{ID: v.ID, From: PeerOf(v.From), CreatedAt: v.CreatedAt.UTC(), DurationMS: v.DurationMS, Heard: v.Heard}
}

// CallChanged is the call event of SPEC §10 for the call's owner: each
// party has a row of its own (direction and peer differ), so each gets
// its own event.
func CallChanged(c telephony.Call, state telephony.State) (events.Event, error) {
	b, err := encode(struct {
		Call  Call            `json:"call"`
		State telephony.State `json:"state"`
	}{CallOf(c), state})
	return events.ToUsers(c.OrgID, telephony.TypeCall, b, c.OwnerID), err
}

// VoicemailAdded is the voicemail event of SPEC §10, to the owner.
func VoicemailAdded(v telephony.Voicemail) (events.Event, error) {
	b, err := encode(struct {
		Voicemail Voicemail `json:"voicemail"`
	}{VoicemailOf(v)})
	return events.ToUsers(v.OrgID, telephony.TypeVoicemail, b, v.OwnerID), err
}
