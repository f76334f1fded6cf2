// Package sipserver is the SIP registrar transport of SPEC §10: it answers
// REGISTER with digest authentication and keeps bindings, asking a Backend
// for credentials and sessions.
package sipserver

import (
	"context"
	"time"
)

// Credential is the stored digest credential of one SIP user.
type Credential struct {
	UserID, OrgID     string
	HA1MD5, HA1SHA256 string
}

// Binding is one registered contact of an address of record.
type Binding struct {
	UserID, OrgID string
	AOR, Contact  string
	Source        string
	Expires       time.Time
	SessionID     string
	// Device names the phone's session, from its User-Agent.
	Device string
	// Key tells the phone apart from the user's others (DeviceKey), so a
	// phone signed out from the app can be refused (Backend.Revoked).
	Key string
}

// Backend is what the registrar needs from the store.
type Backend interface {
	// Credential finds the digest credential of username in realm; ok=false when none.
	Credential(ctx context.Context, realm, username string) (c Credential, ok bool, err error)
	// Register records (or refreshes) a binding as a session of platform "sip" and returns its session id.
	Register(ctx context.Context, b Binding) (sessionID string, err error)
	// Unregister ends the session of a binding.
	Unregister(ctx context.Context, sessionID string) error
	// SessionAlive reports whether a session still exists (remote logout ends it).
	SessionAlive(ctx context.Context, sessionID string) (bool, error)
	// Revoked reports whether the user's phone of that DeviceKey was
	// signed out from the app under the user's current SIP password.
	Revoked(ctx context.Context, userID, key string) (bool, error)
	// VoicemailCounts counts the user's voicemails not heard and heard.
	VoicemailCounts(ctx context.Context, orgID, userID string) (unheard, heard int, err error)
}
