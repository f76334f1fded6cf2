// Package wire holds the JSON shapes of SPEC §4 and §5: what the HTTP API
// answers and what the event stream carries. Both the API and the event log
// render through these types, so a Contact looks the same wherever it
// appears; and the events the domain hands the store to log are built
// here (events.go), so the store keeps their bytes and renders nothing.
package wire

import (
	"net/url"
	"time"

	"vo/internal/account"
	"vo/internal/presence"
)

// OrgRef is the org inside Me.
type OrgRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Presence is a user's own view of their presence. Like every absent
// value, no message is null.
type Presence struct {
	Status           string     `json:"status"`
	StatusUntil      *time.Time `json:"status_until"`
	Message          *string    `json:"message"`
	MessageExpiresAt *time.Time `json:"message_expires_at"`
	Shown            string     `json:"shown"`
	Activity         *string    `json:"activity"`
	Version          int64      `json:"version"`
}

// ContactPresence is what others see of a user's presence: never the
// chosen status, so dnd and invisible stay private.
type ContactPresence struct {
	Shown    string  `json:"shown"`
	Activity *string `json:"activity"`
	Message  *string `json:"message"`
	Version  int64   `json:"version"`
}

// PresenceItem is one user's entry in a snapshot or a presence event.
type PresenceItem struct {
	UserID string `json:"user_id"`
	ContactPresence
}

// Me is the logged-in user.
type Me struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Email       string   `json:"email"`
	Role        string   `json:"role"`
	Org         OrgRef   `json:"org"`
	Extension   string   `json:"extension"`
	PhoneNumber *string  `json:"phone_number"`
	PhotoURL    *string  `json:"photo_url"`
	Presence    Presence `json:"presence"`
}

// Contact is a colleague as the directory shows them.
type Contact struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Email       string          `json:"email"`
	Extension   string          `json:"extension"`
	PhoneNumber *string         `json:"phone_number"`
	PhotoURL    *string         `json:"photo_url"`
	Presence    ContactPresence `json:"presence"`
}

// Session is one logged-in device.
type Session struct {
	ID         string    `json:"id"`
	DeviceName string    `json:"device_name"`
	Platform   string    `json:"platform"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	Current    *bool     `json:"current,omitempty"`
}

// ContactOf renders a user with what others see of their presence.
func ContactOf(u account.User, p ContactPresence) Contact {
	return Contact{ID: u.ID, Name: u.Name, Email: u.Email, Extension: u.Extension,
		PhoneNumber: optional(u.PhoneNumber), PhotoURL: PhotoURL(u), Presence: p}
}

// MeOf renders the logged-in user.
func MeOf(u account.User, o account.Org, p Presence) Me {
	return Me{ID: u.ID, Name: u.Name, Email: u.Email, Role: string(u.Role), Org: OrgRef{ID: o.ID, Name: o.Name},
		Extension: u.Extension, PhoneNumber: optional(u.PhoneNumber), PhotoURL: PhotoURL(u), Presence: p}
}

// SessionOf renders a session.
func SessionOf(s account.Session) Session {
	return Session{ID: s.ID, DeviceName: s.DeviceName, Platform: string(s.Platform), CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt}
}

// PhotoURL is where a user's photo is served; it changes with the photo's
// content hash, so clients and caches may keep it forever.
func PhotoURL(u account.User) *string {
	if u.PhotoHash == "" {
		return nil
	}
	s := "/api/v1/users/" + url.PathEscape(u.ID) + "/photo?v=" + url.QueryEscape(u.PhotoHash)
	return &s
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// OwnPresence renders a user's own view of their presence.
func OwnPresence(s presence.State, shown presence.Shown) Presence {
	return Presence{Status: string(s.Status), StatusUntil: optionalTime(s.StatusUntil), Message: optional(s.Message),
		MessageExpiresAt: optionalTime(s.MessageExpiresAt), Shown: string(shown), Activity: activity(s.Activity), Version: s.Version}
}

// PublicPresence renders what others see. An offline user shows no
// activity, so invisible stays invisible.
func PublicPresence(s presence.State, shown presence.Shown) ContactPresence {
	p := ContactPresence{Shown: string(shown), Message: optional(s.Message), Version: s.Version}
	if shown != presence.ShownOffline {
		p.Activity = activity(s.Activity)
	}
	return p
}

func activity(a presence.Activity) *string {
	if a == presence.None {
		return nil
	}
	s := string(a)
	return &s
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
