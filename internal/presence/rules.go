// Package presence owns what colleagues see of each other: the status a
// user chooses, the state derived from their sessions and activity, and the
// rules of SPEC §2 that turn one into the other. Derive is a pure function
// over plain values; the Service around it stores, expires and announces.
package presence

import (
	"time"

	"vo/internal/apperr"
	"vo/internal/text"
)

// Status is what a user chooses.
type Status string

// The statuses of SPEC §2.
const (
	Available Status = "available"
	Busy      Status = "busy"
	DND       Status = "dnd"
	Away      Status = "away"
	Invisible Status = "invisible"
)

// Activity overlays the chosen status while it lasts.
type Activity string

// The activities of SPEC §2; None is no activity.
const (
	None      Activity = ""
	OnCall    Activity = "on_call"
	InMeeting Activity = "in_meeting"
)

// Shown is what others see.
type Shown string

// The values others may see.
const (
	ShownAvailable Shown = "available"
	ShownBusy      Shown = "busy"
	ShownAway      Shown = "away"
	ShownOffline   Shown = "offline"
)

// MaxMessageLen is the longest status message, in code points.
const MaxMessageLen = 140

// DefaultAutoAway is the org's auto-away time unless it sets another.
const DefaultAutoAway = 10 * time.Minute

// State is a user's stored presence: what they chose, and for how long.
type State struct {
	Status           Status
	StatusUntil      time.Time // zero: until changed
	Message          string
	MessageExpiresAt time.Time // zero: never
	Activity         Activity
	LastActive       time.Time // the last user activity on any session
	Version          int64
}

// Facts are what Derive needs besides the stored state.
type Facts struct {
	Sessions       int // logged-in sessions
	MobileSessions int // of which on the mobile platform
	Now            time.Time
	AutoAway       time.Duration
}

// Derive applies the rules of SPEC §2, in their order, and returns what
// others see.
func Derive(s State, f Facts) Shown {
	switch {
	case f.Sessions == 0:
		return ShownOffline
	case s.Status == Invisible:
		return ShownOffline
	case s.Status == DND:
		return ShownBusy
	case s.Activity != None:
		return ShownBusy
	case s.Status == Busy:
		return ShownBusy
	case s.Status == Away:
		return ShownAway
	}
	if f.MobileSessions == 0 && !f.Now.Before(s.LastActive.Add(autoAway(f.AutoAway))) {
		return ShownAway
	}
	return ShownAvailable
}

// Expire returns the state with a status whose status_until has come
// reverted to available, and a message whose expiry has come cleared.
func Expire(s State, now time.Time) State {
	if !s.StatusUntil.IsZero() && !now.Before(s.StatusUntil) {
		s.Status, s.StatusUntil = Available, time.Time{}
	}
	if !s.MessageExpiresAt.IsZero() && !now.Before(s.MessageExpiresAt) {
		s.Message, s.MessageExpiresAt = "", time.Time{}
	}
	return s
}

// NextChange returns the next instant at which Expire or Derive could give
// a different answer without anyone acting, or zero when there is none.
func NextChange(s State, f Facts) time.Time {
	var next time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && t.After(f.Now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	earliest(s.StatusUntil)
	earliest(s.MessageExpiresAt)
	if f.Sessions > 0 && f.MobileSessions == 0 && s.Status == Available {
		earliest(s.LastActive.Add(autoAway(f.AutoAway)))
	}
	return next
}

func autoAway(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultAutoAway
	}
	return d
}

// ParseStatus accepts the five statuses of SPEC §2.
func ParseStatus(s string) (Status, error) {
	switch st := Status(s); st {
	case Available, Busy, DND, Away, Invisible:
		return st, nil
	}
	return "", apperr.New(apperr.Invalid, "status must be available, busy, dnd, away or invisible")
}

// NormalizeMessage trims a status message and checks it by the rules of
// package text: at most MaxMessageLen code points on one line, nothing
// invisible-only. The empty message is valid: it clears.
func NormalizeMessage(m string) (string, error) {
	return text.Normalize(m, text.Rules{Field: "message", Max: MaxMessageLen})
}

// Row is a user's stored presence with what others were last shown.
type Row struct {
	UserID string
	State  State
	Shown  Shown
}
