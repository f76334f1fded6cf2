// Package account holds the people of Virtual Office: organizations, users
// and their logged-in sessions, the rules that make a valid user, and the
// hashing of passwords. It knows no database and no transport.
package account

import "time"

// Role is what a user may administer.
type Role string

// The roles of SPEC §1.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Platform is the kind of device a session runs on.
type Platform string

// The platforms of SPEC §1.
const (
	PlatformWeb     Platform = "web"
	PlatformMobile  Platform = "mobile"
	PlatformDesktop Platform = "desktop"
	PlatformSIP     Platform = "sip"
)

// Org is a company; nothing of one org is ever visible to another.
type Org struct {
	ID       string
	Slug     string
	Name     string
	AutoAway time.Duration
}

// User is a person of an org. Active is false once deactivated.
type User struct {
	ID           string
	OrgID        string
	Name         string
	Email        string
	Role         Role
	Extension    string
	PhoneNumber  string // E.164, or "" when none
	PasswordHash string
	PhotoHash    string // "" when no photo
	Active       bool
	CreatedAt    time.Time
}

// Session is one logged-in device. Its token is stored only as a hash.
type Session struct {
	ID         string
	UserID     string
	OrgID      string
	DeviceName string
	Platform   Platform
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// SessionTTL is how long an unused session stays logged in (SPEC §1).
const SessionTTL = 30 * 24 * time.Hour
