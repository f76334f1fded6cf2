// Package turncred mints and checks the short-lived TURN credentials of the
// scheme coturn calls the REST API (use-auth-secret, after
// draft-uberti-behave-turn-rest): the username is "<unix expiry>:<id>" and
// the password is base64(HMAC-SHA1(secret, username)). A TURN server that
// knows the secret checks a credential without asking anyone, so the same
// credentials work for the embedded server (package turnserver) and for an
// external coturn started with --use-auth-secret --static-auth-secret.
package turncred

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the scheme is HMAC-SHA1; HMAC does not rest on SHA-1's collision resistance
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// DefaultTTL is how long a minted credential lasts. A TURN client refreshes
// its allocation with the same credential every few minutes, so the
// credential must outlive the longest call made with it: past its expiry the
// next refresh is refused and the relay ends. Six hours covers any working
// call while a credential that leaks (a log, a shared screenshot) is dead
// before the next day; the app asks for fresh ones per call, never caches
// them, and expires_at tells it when to ask again.
const DefaultTTL = 6 * time.Hour

// MaxIDLen bounds the id part of a username; a STUN USERNAME is at most 513
// bytes (RFC 8489 §14.3) and the expiry takes up to 20 of them.
const MaxIDLen = 256

// ICEServer is one entry of RTCConfiguration.iceServers.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

// Username is the username that expires at expiry, for id (a session or
// user id; it must not contain ':' so that the expiry parses back).
func Username(expiry time.Time, id string) string {
	return strconv.FormatInt(expiry.Unix(), 10) + ":" + id
}

// Password is the password of username under secret.
func Password(secret []byte, username string) string {
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ICEServers mints one credential for id, valid from now for ttl (zero:
// DefaultTTL), for the TURN servers at urls ("turn:host:3478",
// "turn:host:3478?transport=tcp", "turns:..."). It returns nothing without
// a secret or urls: the app then goes without a relay. The expiry is
// rounded down to the second, as the username carries it.
func ICEServers(now time.Time, ttl time.Duration, secret []byte, id string, urls []string) ([]ICEServer, time.Time) {
	if len(secret) == 0 || len(urls) == 0 {
		return []ICEServer{}, time.Time{}
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	exp := now.Add(ttl).Truncate(time.Second)
	u := Username(exp, id)
	return []ICEServer{{URLs: append([]string(nil), urls...), Username: u, Credential: Password(secret, u)}}, exp
}

// Errors of Check.
var (
	ErrMalformed = errors.New("turncred: username is not <unix expiry>:<id>")
	ErrExpired   = errors.New("turncred: credential expired")
)

// Check tells whether username is well formed and unexpired at now; it
// returns the expiry and the id. It does not check the password: TURN
// proves knowledge of it through MESSAGE-INTEGRITY, with the key
// Password gives.
func Check(now time.Time, username string) (expiry time.Time, id string, err error) {
	ts, id, ok := strings.Cut(username, ":")
	if !ok || ts == "" || len(ts) > 20 || len(id) > MaxIDLen {
		return time.Time{}, "", ErrMalformed
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, "", ErrMalformed
	}
	expiry = time.Unix(sec, 0).UTC()
	if !now.Before(expiry) {
		return expiry, id, ErrExpired
	}
	return expiry, id, nil
}

// Config is where a node's TURN servers are and the secret their
// credentials are minted with.
type Config struct {
	// URLs are the TURN URLs the app is told of; none, no relay.
	URLs []string
	// Secret is shared with the TURN servers; none, no relay.
	Secret []byte
	// TTL is how long a credential lasts; zero, DefaultTTL.
	TTL time.Duration
}

// Mint is ICEServers over the configuration.
func (c Config) Mint(now time.Time, id string) ([]ICEServer, time.Time) {
	return ICEServers(now, c.TTL, c.Secret, id, c.URLs)
}

// CheckURL tells whether u is a TURN URL (RFC 7065): turn: or turns:, a
// host, an optional port and an optional ?transport=udp|tcp.
func CheckURL(u string) error {
	scheme, rest, ok := strings.Cut(u, ":")
	if !ok || (scheme != "turn" && scheme != "turns") || rest == "" || strings.HasPrefix(rest, "//") {
		return fmt.Errorf("TURN URL %q: want turn:HOST[:PORT][?transport=udp|tcp] or turns:…", u)
	}
	hostport, query, _ := strings.Cut(rest, "?")
	if query != "" && query != "transport=udp" && query != "transport=tcp" {
		return fmt.Errorf("TURN URL %q: the only query is transport=udp or transport=tcp", u)
	}
	if hostport == "" || strings.ContainsAny(hostport, " /@") {
		return fmt.Errorf("TURN URL %q: no host", u)
	}
	return nil
}
