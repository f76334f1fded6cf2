package sipserver

import (
	"context"
	"crypto/subtle"
	"sync"
	"time"
)

// Outcome of checking digest credentials.
type Outcome int

const (
	Challenge Outcome = iota // no/unknown/replayed nonce: send a fresh challenge
	Stale                    // expired nonce: challenge with stale=true
	Forbidden                // bad response or unknown user: 403, same path for both
	OK
)

// dummyHA1 is used for unknown users so both cases do the same work.
var dummyHA1 = HA1("SHA-256", "-", "-", "-")

// Authenticator checks digest credentials for REGISTER and INVITE alike.
type Authenticator struct {
	Backend Backend
	nonces  nonces
	mu      sync.Mutex
	seen    map[string]time.Time // nonce+nc already used
	// order holds seen's keys oldest first, so that forgetting the
	// expired ones costs per key forgotten, not a scan of every key on
	// every request (which took 40 % of a REGISTER's time under load).
	order []seenKey
}

type seenKey struct {
	key string
	at  time.Time
}

// NewAuthenticator makes an Authenticator with server key and nonce lifetime.
func NewAuthenticator(b Backend, key []byte, ttl time.Duration) *Authenticator {
	return &Authenticator{Backend: b, nonces: nonces{key: key, ttl: ttl}, seen: map[string]time.Time{}}
}

// Nonce makes a fresh nonce for a challenge.
func (a *Authenticator) Nonce(now time.Time) string { return a.nonces.make(now) }

// Check verifies d for method in realm at now.
func (a *Authenticator) Check(ctx context.Context, d Digest, realm, method string, now time.Time) (Outcome, Credential, error) {
	valid, stale := a.nonces.check(d.Nonce, now)
	if !valid || d.Realm != realm || hasher(d.Algorithm) == nil {
		return Challenge, Credential{}, nil
	}
	if stale {
		return Stale, Credential{}, nil
	}
	a.mu.Lock()
	a.forget(now)
	key := d.Nonce + "/" + d.NC
	_, replay := a.seen[key]
	if !replay {
		a.seen[key] = now
		a.order = append(a.order, seenKey{key, now})
	}
	a.mu.Unlock()
	if replay {
		return Challenge, Credential{}, nil
	}
	c, ok, err := a.Backend.Credential(ctx, realm, d.Username)
	if err != nil {
		return Challenge, Credential{}, err
	}
	ha1 := c.HA1MD5
	if hasher(d.Algorithm)().Size() == 32 {
		ha1 = c.HA1SHA256
	}
	if !ok || ha1 == "" {
		ha1 = dummyHA1
	}
	match := subtle.ConstantTimeCompare([]byte(ExpectedResponse(d, ha1, method)), []byte(d.Response)) == 1
	if !ok || !match {
		return Forbidden, Credential{}, nil
	}
	return OK, c, nil
}

// forget drops the used nonces older than twice the nonce lifetime (a
// nonce that old is refused as invalid anyway). Keys are added with the
// time of their request, so the oldest are first; a clock that stepped
// back only keeps a key longer.
func (a *Authenticator) forget(now time.Time) {
	n := 0
	for n < len(a.order) && now.Sub(a.order[n].at) > 2*a.nonces.ttl {
		delete(a.seen, a.order[n].key)
		n++
	}
	if n > 0 {
		a.order = append(a.order[:0:0], a.order[n:]...)
	}
}
