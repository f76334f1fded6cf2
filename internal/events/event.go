// Package events carries what happens in an org to the people watching it:
// the Event type every part appends to the org's log, the Hub that fans
// events out to live connections in seq order, and the Bus that joins nodes.
package events

import (
	"encoding/json"
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
type Event struct {
	OrgID string `json:"org_id"`
	Seq   int64  `json:"seq"`
	Type  string `json:"type"`
	// UserID, when set, limits the event to that user's sessions.
	UserID string `json:"user_id,omitempty"`
	// SessionID, when set, limits the event to that one session.
	SessionID string `json:"session_id,omitempty"`
	// Data is the JSON object of the event's own fields.
	Data json.RawMessage `json:"data"`
}

// For reports whether a connection of the given user and session receives e.
func (e *Event) For(userID, sessionID string) bool {
	if e.SessionID != "" {
		return e.SessionID == sessionID
	}
	return e.UserID == "" || e.UserID == userID
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
