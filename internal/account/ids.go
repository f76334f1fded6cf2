package account

import (
	"crypto/rand"
	"encoding/base32"
	"strings"
)

// NewID returns a random opaque id with a readable prefix ("u", "o", "s").
func NewID(prefix string) string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + "_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Auth is what a session token resolves to: the session, its active user,
// and the hash of the session's CSRF token.
type Auth struct {
	Session  Session
	User     User
	CSRFHash string
}

// HashedUser is a validated user to add, with its password already hashed
// (and NewUser.Password empty).
type HashedUser struct {
	NewUser
	PasswordHash string
}
