// Package events carries what happens in an org to the people watching it:
// the Event type every part appends to the org's log, the Hub that fans
// events out to live connections in seq order, and the Bus that joins nodes.
package events

import (
	"encoding/json"
	"slices"
	"strconv"
)

// The event types of SPEC §5.
const (
	TypePresence     = "presence"
	TypeMePresence   = "me.presence"
	TypeContact      = "contact"
	TypeSessionEnded = "session.ended"
)

// Event is one entry of an org's log. Seq is strictly increasing per org and
// is the cursor clients resume from.
//
// Its audience takes one of three forms: the whole org (no Audience, no
// SessionID: presence, contact), a set of users (Audience: me.presence to
// its owner, later a conversation's members, a call's parties, a
// meeting's invitees), or one session (SessionID, with its owner as the
// Audience: session.ended). The hub reaches a set of users through its
// index by user, so delivering costs per recipient, not per org member.
type Event struct {
	OrgID string `json:"org_id"`
	Seq   int64  `json:"seq"`
	Type  string `json:"type"`
	// Audience, when set, limits the event to these users' sessions.
	Audience []string `json:"audience,omitempty"`
	// SessionID, when set, limits the event to that one session of the
	// Audience's one user.
	SessionID string `json:"session_id,omitempty"`
	// Data is the JSON object of the event's own fields.
	Data json.RawMessage `json:"data"`
}

// ToOrg returns an event for everyone in the org.
func ToOrg(orgID, typ string, data json.RawMessage) Event {
	return Event{OrgID: orgID, Type: typ, Data: data}
}

// ToUsers returns an event for the given users' sessions only. Each user
// is named once however often given, so none receives it twice.
func ToUsers(orgID, typ string, data json.RawMessage, userIDs ...string) Event {
	return Event{OrgID: orgID, Type: typ, Audience: slices.Compact(slices.Sorted(slices.Values(userIDs))), Data: data}
}

// ToSession returns an event for one session of one user only.
func ToSession(orgID, userID, sessionID, typ string, data json.RawMessage) Event {
	return Event{OrgID: orgID, Type: typ, Audience: []string{userID}, SessionID: sessionID, Data: data}
}

// OrgWide reports whether everyone in the org receives e.
func (e *Event) OrgWide() bool { return len(e.Audience) == 0 && e.SessionID == "" }

// For reports whether a connection of the given user and session receives e.
func (e *Event) For(userID, sessionID string) bool {
	if e.SessionID != "" {
		return e.SessionID == sessionID
	}
	if len(e.Audience) == 0 {
		return true
	}
	for _, u := range e.Audience {
		if u == userID {
			return true
		}
	}
	return false
}

// Cursor is the client-facing form of a seq.
func Cursor(seq int64) string { return strconv.FormatInt(seq, 10) }

// ParseCursor reads a cursor; ok is false when it is not one we gave.
func ParseCursor(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// Frame renders the event as the text frame a client receives:
// {"type": ..., "cursor": ..., <data fields>}.
func (e *Event) Frame() []byte {
	b := make([]byte, 0, len(e.Data)+64)
	b = append(b, `{"type":`...)
	b = strconv.AppendQuote(b, e.Type)
	b = append(b, `,"cursor":"`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, '"')
	if len(e.Data) > 2 {
		b = append(b, ',')
		b = append(b, e.Data[1:]...) // the data object's fields and its closing brace
	} else {
		b = append(b, '}')
	}
	return b
}
