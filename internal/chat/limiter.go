package chat

import (
	"sync"
	"time"

	"vo/internal/clock"
)

// Limiter is a token bucket per key on a clock: burst at once, then rate
// a second. It lives in memory: each node limits on its own.
type Limiter struct {
	mu      sync.Mutex
	clock   clock.Clock
	rate    float64
	burst   float64
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxBuckets bounds the limiter's memory: past it, full buckets (which
// limit nothing) are dropped.
const maxBuckets = 100_000

// NewLimiter returns a limiter allowing burst at once and rate a second.
func NewLimiter(c clock.Clock, rate, burst int) *Limiter {
	return &Limiter{clock: c, rate: float64(rate), burst: float64(burst), buckets: map[string]*bucket{}}
}

// Take takes a token of key's bucket and returns 0, or, when the bucket
// is empty, takes nothing and returns how long until it holds a token.
func (l *Limiter) Take(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	}
	b.tokens--
	return 0
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(l.burst, b.tokens+l.rate*d.Seconds())
		b.at = now
	}
}

func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
}
