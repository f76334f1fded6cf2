// Package auth logs people in and out: it checks passwords, issues session
// tokens (256 random bits, stored only as SHA-256 hashes), resolves tokens
// on every request, limits password guessing, and ends sessions.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
)

// Store is what auth needs of the database.
type Store interface {
	UserByEmail(ctx context.Context, email string) (account.User, error)
	CreateSession(ctx context.Context, s account.Session, tokenHash, csrfHash string) error
	SessionByTokenHash(ctx context.Context, tokenHash string) (account.Auth, error)
	TouchSession(ctx context.Context, id string) error
	EndSession(ctx context.Context, orgID, userID, sessionID string) error
	Sessions(ctx context.Context, userID string) ([]account.Session, error)
	SetPassword(ctx context.Context, orgID, userID, hash, keepSession string) ([]string, error)
}

// Service is the login desk.
type Service struct {
	store   Store
	clock   clock.Clock
	params  account.HashParams // for new hashes
	limiter *Limiter
	dummy   string
	// hashing bounds concurrent password checks so a login flood cannot
	// exhaust memory (each argon2id check takes its memory cost).
	hashing chan struct{}
}

// New returns a Service. params must match those the stored hashes were
// made with only in algorithm: each hash carries its own cost.
func New(s Store, c clock.Clock, params account.HashParams) *Service {
	return &Service{store: s, clock: c, params: params, limiter: NewLimiter(c), dummy: account.DummyHash(params), hashing: make(chan struct{}, 4)}
}

// Login is a login attempt.
type Login struct {
	Email, Password, DeviceName, Platform string
	RemoteAddr                            string
}

// Result is a successful login. Token and CSRF are shown once and never
// stored.
type Result struct {
	Token, CSRF string
	Session     account.Session
	User        account.User
}

// Login checks the credentials and opens a session. Returns Invalid for a
// malformed request, Unauthenticated for any wrong credential (the same for
// an unknown email), RateLimited after repeated failures.
func (s *Service) Login(ctx context.Context, in Login) (Result, error) {
	platform, err := account.ParsePlatform(in.Platform)
	if err != nil {
		return Result{}, err
	}
	device, err := account.NormalizeDeviceName(in.DeviceName)
	if err != nil {
		return Result{}, err
	}
	if len(in.Email) > account.MaxEmailLen || len(in.Password) > account.MaxPasswordLen {
		return Result{}, apperr.New(apperr.Unauthenticated, "wrong email or password")
	}
	email, _ := account.NormalizeEmail(in.Email)
	acctKey, addrKey := "acct:"+email, "addr:"+in.RemoteAddr
	// The attempt counts as a failure before the password is checked, so
	// simultaneous guesses cannot all slip under the limit; a success is
	// taken back below.
	if wait := s.limiter.Take(acctKey, addrKey); wait > 0 {
		return Result{}, rateLimited(wait)
	}
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		s.limiter.Forgive(acctKey, addrKey)
		return Result{}, err
	}
	hash := s.dummy
	if err == nil {
		hash = u.PasswordHash
	}
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		s.limiter.Forgive(acctKey, addrKey)
		return Result{}, ctx.Err()
	}
	ok := account.CheckPassword(hash, in.Password)
	<-s.hashing
	if !ok || err != nil {
		return Result{}, apperr.New(apperr.Unauthenticated, "wrong email or password")
	}
	s.limiter.Reset(acctKey)
	s.limiter.Forgive(addrKey)
	now := s.clock.Now().Truncate(time.Millisecond)
	r := Result{Token: randomToken(), CSRF: randomToken(), User: u}
	r.Session = account.Session{ID: account.NewID("s"), UserID: u.ID, OrgID: u.OrgID, DeviceName: device, Platform: platform, CreatedAt: now, LastSeenAt: now}
	if err := s.store.CreateSession(ctx, r.Session, HashToken(r.Token), HashToken(r.CSRF)); err != nil {
		return Result{}, err
	}
	return r, nil
}

// PasswordChange is a user changing their own password.
type PasswordChange struct {
	Current, New string
	// LogOutOthers ends every other session of the user, as remote
	// logout does; the session asking stays.
	LogOutOthers bool
	RemoteAddr   string
}

// ChangePassword checks the caller's current password and stores the new
// one, hashed with argon2id. Returns Invalid for a new password breaking
// SPEC §7, Unauthenticated for a wrong current password (a failure the
// login limiter counts, per account and per address), RateLimited once the
// limiter blocks either. Returns the ids of the sessions ended.
func (s *Service) ChangePassword(ctx context.Context, a account.Auth, in PasswordChange) ([]string, error) {
	if err := account.ValidatePassword(in.New); err != nil {
		return nil, apperr.New(apperr.Invalid, "new_password must be valid text of %d to %d characters", account.MinPasswordLen, account.MaxPasswordLen)
	}
	acctKey, addrKey := "acct:"+a.User.Email, "addr:"+in.RemoteAddr
	if wait := s.limiter.Take(acctKey, addrKey); wait > 0 {
		return nil, rateLimited(wait)
	}
	ok := len(in.Current) <= account.MaxPasswordLen && s.check(ctx, a.User.PasswordHash, in.Current)
	if err := ctx.Err(); err != nil {
		s.limiter.Forgive(acctKey, addrKey)
		return nil, err
	}
	if !ok {
		return nil, apperr.New(apperr.Unauthenticated, "current_password is wrong")
	}
	s.limiter.Reset(acctKey)
	s.limiter.Forgive(addrKey)
	hash, err := account.HashPassword(in.New, s.params)
	if err != nil {
		return nil, err
	}
	keep := ""
	if in.LogOutOthers {
		keep = a.Session.ID
	}
	return s.store.SetPassword(ctx, a.User.OrgID, a.User.ID, hash, keep)
}

// check compares a password with a hash, holding one of the hashing slots.
func (s *Service) check(ctx context.Context, hash, password string) bool {
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-s.hashing }()
	return account.CheckPassword(hash, password)
}

// touchEvery limits how often use of a session is written down.
const touchEvery = time.Minute

// Authenticate resolves a token. Unauthenticated when it is unknown,
// revoked, expired or its user deactivated.
func (s *Service) Authenticate(ctx context.Context, token string) (account.Auth, error) {
	if len(token) != tokenLen {
		return account.Auth{}, apperr.New(apperr.Unauthenticated, "not logged in")
	}
	a, err := s.store.SessionByTokenHash(ctx, HashToken(token))
	if err != nil {
		return a, err
	}
	now := s.clock.Now()
	if now.Sub(a.Session.LastSeenAt) > account.SessionTTL {
		if err := s.store.EndSession(ctx, a.Session.OrgID, a.Session.UserID, a.Session.ID); err != nil && !apperr.Is(err, apperr.NotFound) {
			return account.Auth{}, err
		}
		return account.Auth{}, apperr.New(apperr.Unauthenticated, "session expired")
	}
	if now.Sub(a.Session.LastSeenAt) > touchEvery {
		if err := s.store.TouchSession(ctx, a.Session.ID); err != nil {
			return account.Auth{}, err
		}
		a.Session.LastSeenAt = now
	}
	return a, nil
}

// CheckCSRF reports whether token is the CSRF token issued with the session.
func CheckCSRF(a account.Auth, token string) bool {
	if len(token) != tokenLen {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(HashToken(token)), []byte(a.CSRFHash)) == 1
}

// Logout ends the session the caller is using.
func (s *Service) Logout(ctx context.Context, a account.Auth) error {
	return s.store.EndSession(ctx, a.Session.OrgID, a.Session.UserID, a.Session.ID)
}

// Sessions lists the caller's own sessions, newest first.
func (s *Service) Sessions(ctx context.Context, a account.Auth) ([]account.Session, error) {
	return s.store.Sessions(ctx, a.User.ID)
}

// EndSession ends one of the caller's own sessions (remote logout; their
// current one included). NotFound for any other session, another user's
// included, so an id of someone else's tells nothing.
func (s *Service) EndSession(ctx context.Context, a account.Auth, sessionID string) error {
	return s.store.EndSession(ctx, a.User.OrgID, a.User.ID, sessionID)
}

// tokenLen is the length of a token: 32 random bytes in unpadded base64url.
const tokenLen = 43

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// HashToken is how tokens are stored: a hash, never the token itself.
func HashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

func rateLimited(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	e := apperr.New(apperr.RateLimited, "too many failed logins; try again in %d seconds", secs)
	e.RetryAfter = secs
	return e
}
