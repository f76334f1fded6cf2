// Package events carries what happens in an org to the people watching it:
// the Event type every part appends to the org's log, the Hub that fans
// events out to live connections in seq order. It knows no database and no
// network: package natsbus carries events between nodes.
package events

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// The event types of SPEC §5.
const (
	TypePresence     = "presence"
	TypeMePresence   = "me.presence"
	TypeContact      = "contact"
	TypeSessionEnded = "session.ended"
)

// Event is one entry of an org's log. An event for the whole org has a
// position in the org's shared stream (Seq); an event for users or a
// session has none there, and instead a position in each recipient's own
// stream (Pos, beside Audience). Each stream's positions are strictly
// increasing, and a client's cursor is the pair (Position) it has read up
// to. (Private events logged before the streams were split have a Seq and
// no Pos.)
//
// Its audience takes one of three forms: the whole org (no Audience, no
// SessionID: presence, contact), a set of users (Audience: me.presence to
// its owner, later a conversation's members, a call's parties, a
// meeting's invitees), or one session (SessionID, with its owner as the
// Audience: session.ended). The hub reaches a set of users through its
// index by user, so delivering costs per recipient, not per org member.
type Event struct {
	OrgID string `json:"org_id"`
	Seq   int64  `json:"seq,omitempty"`
	Type  string `json:"type"`
	// Audience, when set, limits the event to these users' sessions.
	Audience []string `json:"audience,omitempty"`
	// Pos is the event's position in each Audience member's stream, in
	// the same order; empty until the event is stored.
	Pos []int64 `json:"pos,omitempty"`
	// SessionID, when set, limits the event to that one session of the
	// Audience's one user.
	SessionID string `json:"session_id,omitempty"`
	// Data is the JSON object of the event's own fields.
	Data json.RawMessage `json:"data"`
	// Live marks an event that is not logged (typing): it has no
	// position, reaches only the Audience's connected sessions, and is
	// lost to the rest.
	Live bool `json:"live,omitempty"`
}

// ToUsersLive returns a live event (not logged) for the given users'
// sessions.
func ToUsersLive(orgID, typ string, data json.RawMessage, userIDs ...string) Event {
	e := ToUsers(orgID, typ, data, userIDs...)
	e.Live = true
	return e
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

// Position is how far a connection has read: the org's shared stream and
// its user's own stream.
type Position struct{ Org, User int64 }

// Cursor is the client-facing form of a position, opaque to clients:
// "<org+user>.<org>.<user>". The leading total grows with every event a
// connection receives, whichever stream it is in.
func (p Position) Cursor() string { return string(p.AppendCursor(nil)) }

// AppendCursor appends p's cursor to b.
func (p Position) AppendCursor(b []byte) []byte {
	b = strconv.AppendInt(b, p.Org+p.User, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, p.Org, 10)
	b = append(b, '.')
	return strconv.AppendInt(b, p.User, 10)
}

// ParseCursor reads a cursor; ok is false when it is not one we give
// (including a cursor from before the streams were split, a plain number).
func ParseCursor(s string) (Position, bool) {
	sum, rest, ok1 := strings.Cut(s, ".")
	o, u, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return Position{}, false
	}
	n, err1 := strconv.ParseInt(sum, 10, 64)
	org, err2 := strconv.ParseInt(o, 10, 64)
	user, err3 := strconv.ParseInt(u, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || org < 0 || user < 0 || n != org+user {
		return Position{}, false
	}
	return Position{org, user}, true
}

// FrameParts renders the event as the text frame a client receives,
// {"type": ..., "cursor": ..., <data fields>}, but for the cursor's value:
// head ends where it starts and tail follows it. The cursor differs per
// connection; the rest is rendered once for all.
func (e *Event) FrameParts() (head, tail []byte) {
	head = make([]byte, 0, len(e.Type)+24)
	head = append(head, `{"type":`...)
	head = strconv.AppendQuote(head, e.Type)
	head = append(head, `,"cursor":"`...)
	tail = make([]byte, 0, len(e.Data)+2)
	tail = append(tail, '"')
	if len(e.Data) > 2 {
		tail = append(tail, ',')
		tail = append(tail, e.Data[1:]...) // the data object's fields and its closing brace
	} else {
		tail = append(tail, '}')
	}
	return head, tail
}

// Frame renders the event's whole frame with the cursor of p.
func (e *Event) Frame(p Position) []byte {
	head, tail := e.FrameParts()
	return append(p.AppendCursor(head), tail...)
}
