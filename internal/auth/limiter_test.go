package auth

import (
	"strconv"
	"testing"
	"time"

	"vo/internal/clock"
)

var t0 = time.Date(2030, time.January, 7, 9, 0, 0, 0, time.UTC)

func TestLimiterAccountWindow(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	l := NewLimiter(clk)
	const k = "acct:ann@acme.test"
	// Failures a minute apart: 0, 1, 2, 3, 4 minutes.
	for i := range MaxAccountFails {
		if w := l.Blocked(k); w != 0 {
			t.Fatalf("blocked after %d failures", i)
		}
		l.Fail(k)
		if i < MaxAccountFails-1 {
			clk.Advance(time.Minute)
		}
	}
	// Now at 4 min: blocked until the first failure (at 0) is 15 min old.
	if w := l.Blocked(k); w != Window-4*time.Minute {
		t.Fatalf("wait %v, want %v", w, Window-4*time.Minute)
	}
	clk.Advance(Window - 4*time.Minute - time.Nanosecond)
	if w := l.Blocked(k); w != time.Nanosecond {
		t.Fatalf("wait %v just before the window, want 1ns", w)
	}
	clk.Advance(time.Nanosecond)
	if w := l.Blocked(k); w != 0 {
		t.Fatalf("still blocked (%v) once the oldest failure left the window", w)
	}
	// One more failure blocks again, until the second oldest leaves.
	l.Fail(k)
	if w := l.Blocked(k); w != time.Minute {
		t.Fatalf("wait %v, want 1m", w)
	}
}

func TestLimiterAddressLimit(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	l := NewLimiter(clk)
	const k = "addr:198.51.100.1"
	for i := range MaxAddrFails - 1 {
		l.Fail(k, "acct:user"+strconv.Itoa(i)+"@acme.test")
	}
	if w := l.Blocked(k); w != 0 {
		t.Fatalf("address blocked after %d failures", MaxAddrFails-1)
	}
	l.Fail(k)
	if w := l.Blocked(k); w != Window {
		t.Fatalf("wait %v, want %v", w, Window)
	}
	if w := l.Blocked("addr:198.51.100.2"); w != 0 {
		t.Fatalf("another address blocked")
	}
	// Blocked reports the longest wait of the keys given.
	clk.Advance(time.Minute)
	for range MaxAccountFails {
		l.Fail("acct:ann@acme.test")
	}
	if w := l.Blocked("acct:ann@acme.test", k); w != Window {
		t.Fatalf("wait %v, want the account's %v", w, Window)
	}
}

func TestLimiterReset(t *testing.T) {
	t.Parallel()
	l := NewLimiter(clock.NewFake(t0))
	for range MaxAccountFails {
		l.Fail("acct:a", "addr:x")
	}
	l.Reset("acct:a")
	if w := l.Blocked("acct:a"); w != 0 {
		t.Fatalf("blocked after Reset: %v", w)
	}
	if n := len(l.fails["addr:x"]); n != MaxAccountFails {
		t.Fatalf("Reset of the account touched the address: %d failures left", n)
	}
}

// TestLimiterMemoryIsBounded: a key never holds more failures than the
// largest limit, and keys whose failures all expired are dropped once there
// are many.
func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	l := NewLimiter(clk)
	for range 1000 {
		l.Fail("addr:x")
	}
	if n := len(l.fails["addr:x"]); n != MaxAddrFails {
		t.Fatalf("%d failures kept, want %d", n, MaxAddrFails)
	}
	for i := range maxKeys + 1 {
		l.fails["acct:"+strconv.Itoa(i)] = []time.Time{t0}
	}
	clk.Advance(Window)
	l.Fail("acct:new")
	if n := len(l.fails); n != 1 {
		t.Fatalf("%d keys kept after all but one expired, want 1", n)
	}
}

// Blocked returns how long until the last blocked key frees, or 0,
// counting nothing.
func (l *Limiter) Blocked(keys ...string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.blocked(l.clock.Now(), keys)
}

// Fail records a failure against each key, blocked or not.
func (l *Limiter) Fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fail(l.clock.Now(), keys)
}
