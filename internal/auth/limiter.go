package auth

import (
	"sync"
	"time"

	"vo/internal/clock"
)

// The login limits: per account, then per address, failures within Window.
const (
	Window          = 15 * time.Minute
	MaxAccountFails = 5
	MaxAddrFails    = 20
	maxKeys         = 100_000
)

// Limiter counts failed logins per key in a sliding window. A key whose
// count reached its limit is blocked until its oldest failure leaves the
// window. It lives in memory: each node limits on its own.
type Limiter struct {
	mu    sync.Mutex
	clock clock.Clock
	fails map[string][]time.Time
}

// NewLimiter returns an empty limiter.
func NewLimiter(c clock.Clock) *Limiter {
	return &Limiter{clock: c, fails: map[string][]time.Time{}}
}

func limitOf(key string) int {
	if len(key) > 5 && key[:5] == "acct:" {
		return MaxAccountFails
	}
	return MaxAddrFails
}

// Take returns how long until the last blocked key frees; when no key is
// blocked it returns 0 and counts the attempt as a failure of each key,
// in the same step, so that concurrent attempts cannot pass the limit
// together. A success is taken back with Forgive.
func (l *Limiter) Take(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	if wait := l.blocked(now, keys); wait > 0 {
		return wait
	}
	l.fail(now, keys)
	return 0
}

// Forgive takes back one failure of each key.
func (l *Limiter) Forgive(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if f := l.fails[k]; len(f) > 1 {
			l.fails[k] = f[:len(f)-1]
		} else {
			delete(l.fails, k)
		}
	}
}

func (l *Limiter) blocked(now time.Time, keys []string) time.Duration {
	var wait time.Duration
	for _, k := range keys {
		f := l.prune(k, now)
		if len(f) >= limitOf(k) {
			if w := f[len(f)-limitOf(k)].Add(Window).Sub(now); w > wait {
				wait = w
			}
		}
	}
	return wait
}

func (l *Limiter) fail(now time.Time, keys []string) {
	if len(l.fails) > maxKeys {
		for k := range l.fails {
			if len(l.prune(k, now)) == 0 {
				delete(l.fails, k)
			}
		}
	}
	for _, k := range keys {
		f := append(l.prune(k, now), now)
		if len(f) > MaxAddrFails {
			f = f[len(f)-MaxAddrFails:]
		}
		l.fails[k] = f
	}
}

// Reset forgets the failures of a key (after a successful login).
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, key)
}

func (l *Limiter) prune(k string, now time.Time) []time.Time {
	f := l.fails[k]
	i := 0
	for i < len(f) && !f[i].Add(Window).After(now) {
		i++
	}
	if i > 0 {
		f = f[i:]
		if len(f) == 0 {
			delete(l.fails, k)
			return nil
		}
		l.fails[k] = f
	}
	return f
}
