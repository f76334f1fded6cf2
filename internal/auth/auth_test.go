package auth_test

import (
	"context"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/auth"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

const password = "correct horse battery"

var (
	cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}
	epoch = time.Date(2030, time.January, 7, 9, 0, 0, 0, time.UTC)
)

type env struct {
	st   *store.Store
	clk  *clock.Fake
	svc  *auth.Service
	ann  account.User
	bob  account.User
	orgB account.User
}

func newEnv(t *testing.T, st *store.Store, clk *clock.Fake) *env {
	t.Helper()
	ctx := context.Background()
	a, err := st.CreateOrg(ctx, "acme", "Acme Inc")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.CreateOrg(ctx, "globex", "Globex")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.CreateUsers(ctx, st, a.ID, cheap, []account.NewUser{
		{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", Password: password},
		{Name: "Bob Stone", Email: "bob@acme.test", Extension: "102", Password: password},
	})
	if err != nil {
		t.Fatal(err)
	}
	ub, err := admin.CreateUsers(ctx, st, b.ID, cheap, []account.NewUser{{Name: "Olga", Email: "olga@globex.test", Extension: "101", Password: password}})
	if err != nil {
		t.Fatal(err)
	}
	return &env{st: st, clk: clk, svc: auth.New(st, clk, cheap), ann: us[0], bob: us[1], orgB: ub[0]}
}

func (e *env) login(t *testing.T, email, pw, addr string) (auth.Result, error) {
	t.Helper()
	return e.svc.Login(context.Background(), auth.Login{Email: email, Password: pw, DeviceName: "Laptop", Platform: "web", RemoteAddr: addr})
}

func (e *env) mustLogin(t *testing.T, email string) auth.Result {
	t.Helper()
	r, err := e.login(t, email, password, "192.0.2.1")
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return r
}

func wantCode(t *testing.T, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("got %v, want %s", err, code)
	}
}

var token43 = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestLoginIssuesTokensStoredAsHashes(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	storetest.Each(t, clk, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st, clk)
		ctx := context.Background()
		r := e.mustLogin(t, " ANN@acme.test ")
		if r.User.ID != e.ann.ID || r.Session.UserID != e.ann.ID || r.Session.OrgID != e.ann.OrgID || r.Session.Platform != account.PlatformWeb ||
			!r.Session.CreatedAt.Equal(epoch) || !r.Session.LastSeenAt.Equal(epoch) {
			t.Errorf("result %+v", r)
		}
		for _, tok := range []string{r.Token, r.CSRF} {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			if !token43.MatchString(tok) || err != nil || len(b) != 32 {
				t.Errorf("token %q is not 256 random bits in base64url", tok)
			}
		}
		if r.Token == r.CSRF {
			t.Error("the CSRF token is the session token")
		}
		if h := auth.HashToken(r.Token); len(h) != 64 || strings.Contains(h, r.Token) {
			t.Errorf("HashToken = %q", h)
		}
		// The store knows the session by the hash only.
		if _, err := st.SessionByTokenHash(ctx, r.Token); !apperr.Is(err, apperr.Unauthenticated) {
			t.Errorf("the raw token finds a session: %v", err)
		}
		a, err := st.SessionByTokenHash(ctx, auth.HashToken(r.Token))
		if err != nil || a.Session.ID != r.Session.ID || a.CSRFHash != auth.HashToken(r.CSRF) {
			t.Errorf("by hash: %+v, %v", a, err)
		}
		a, err = e.svc.Authenticate(ctx, r.Token)
		if err != nil || a.User.ID != e.ann.ID || a.Session.ID != r.Session.ID {
			t.Errorf("Authenticate: %+v, %v", a, err)
		}
		if !auth.CheckCSRF(a, r.CSRF) {
			t.Error("CheckCSRF refuses the session's CSRF token")
		}
		other := e.mustLogin(t, "ann@acme.test")
		for _, bad := range []string{"", r.Token, other.CSRF, other.Token, r.CSRF + "x", r.CSRF[1:]} {
			if auth.CheckCSRF(a, bad) {
				t.Errorf("CheckCSRF accepts %q", bad)
			}
		}
	})
}

func TestWrongCredentialsLookAlike(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	if _, err := e.st.DeactivateUser(context.Background(), e.bob.OrgID, e.bob.ID); err != nil {
		t.Fatal(err)
	}
	var first error
	for i, c := range []struct{ email, pw string }{
		{"ann@acme.test", "wrong password"},
		{"nobody@acme.test", password},
		{"bob@acme.test", password}, // deactivated
		{"ann@acme.test", ""},
		{"", password},
		{"not an email", password},
		{strings.Repeat("a", 300) + "@acme.test", password},
		{"ann@acme.test", strings.Repeat("p", 300)},
	} {
		_, err := e.login(t, c.email, c.pw, "192.0.2."+string(rune('1'+i)))
		wantCode(t, err, apperr.Unauthenticated)
		if first == nil {
			first = err
		}
		if apperr.MessageOf(err) != apperr.MessageOf(first) {
			t.Errorf("%q/%q: %q; a wrong password: %q", c.email, c.pw, apperr.MessageOf(err), apperr.MessageOf(first))
		}
	}
}

func TestLoginRefusesMalformedRequests(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	ctx := context.Background()
	for _, in := range []auth.Login{
		{Email: "ann@acme.test", Password: password, Platform: "tv"},
		{Email: "ann@acme.test", Password: password, Platform: ""},
		{Email: "ann@acme.test", Password: password, Platform: "web", DeviceName: strings.Repeat("d", 101)},
		{Email: "ann@acme.test", Password: password, Platform: "web", DeviceName: "a\x00b"},
	} {
		_, err := e.svc.Login(ctx, in)
		wantCode(t, err, apperr.Invalid)
	}
	sessions, err := e.st.Sessions(ctx, e.ann.ID)
	if err != nil || len(sessions) != 0 {
		t.Errorf("sessions after refused logins: %v, %v", sessions, err)
	}
}

func TestAuthenticate(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	ctx := context.Background()
	r := e.mustLogin(t, "ann@acme.test")

	for _, bad := range []string{"", "short", strings.Repeat("A", 43), r.Token + "A", r.Token[:42], r.CSRF, " " + r.Token[1:]} {
		_, err := e.svc.Authenticate(ctx, bad)
		wantCode(t, err, apperr.Unauthenticated)
	}

	t.Run("use is written down at most once a minute", func(t *testing.T) {
		clk.Advance(30 * time.Second)
		a, err := e.svc.Authenticate(ctx, r.Token)
		if err != nil || !a.Session.LastSeenAt.Equal(epoch) {
			t.Fatalf("after 30 s: last seen %v, %v", a.Session.LastSeenAt, err)
		}
		clk.Advance(time.Minute)
		a, err = e.svc.Authenticate(ctx, r.Token)
		if err != nil || !a.Session.LastSeenAt.Equal(clk.Now()) {
			t.Fatalf("after 90 s: last seen %v, %v", a.Session.LastSeenAt, err)
		}
		list, _ := e.st.Sessions(ctx, e.ann.ID)
		if len(list) != 1 || !list[0].LastSeenAt.Equal(clk.Now()) {
			t.Errorf("stored last seen: %+v", list)
		}
	})

	t.Run("30 days of use keep a session; 30 days without end it", func(t *testing.T) {
		for range 3 {
			clk.Advance(20 * 24 * time.Hour)
			if _, err := e.svc.Authenticate(ctx, r.Token); err != nil {
				t.Fatalf("a session used every 20 days ended: %v", err)
			}
		}
		clk.Advance(account.SessionTTL + time.Millisecond)
		_, err := e.svc.Authenticate(ctx, r.Token)
		wantCode(t, err, apperr.Unauthenticated)
		if ok, _, _, err := e.st.StreamStart(ctx, r.User.OrgID, r.User.ID, r.Session.ID); err != nil || ok {
			t.Errorf("the expired session is still stored: %v, %v", ok, err)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	ctx := context.Background()
	r1, r2 := e.mustLogin(t, "ann@acme.test"), e.mustLogin(t, "ann@acme.test")
	a, err := e.svc.Authenticate(ctx, r1.Token)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Logout(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, r1.Token)
	wantCode(t, err, apperr.Unauthenticated)
	wantCode(t, e.svc.Logout(ctx, a), apperr.NotFound)
	if _, err := e.svc.Authenticate(ctx, r2.Token); err != nil {
		t.Errorf("the other session ended too: %v", err)
	}
}

func TestDeactivationEndsEverySession(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	ctx := context.Background()
	rs := []auth.Result{e.mustLogin(t, "bob@acme.test"), e.mustLogin(t, "bob@acme.test")}
	ended, err := e.st.DeactivateUser(ctx, e.bob.OrgID, e.bob.ID)
	if err != nil || len(ended) != 2 {
		t.Fatalf("ended %v, %v", ended, err)
	}
	for _, r := range rs {
		_, err := e.svc.Authenticate(ctx, r.Token)
		wantCode(t, err, apperr.Unauthenticated)
	}
	_, err = e.login(t, "bob@acme.test", password, "192.0.2.9")
	wantCode(t, err, apperr.Unauthenticated)
}

// TestLoginLimits: the per-account limit holds whatever address the guesses
// come from; the per-address limit holds whatever accounts are tried.
func TestLoginLimits(t *testing.T) {
	t.Parallel()
	t.Run("per account, from many addresses", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewFake(epoch)
		e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
		for i := range auth.MaxAccountFails {
			_, err := e.login(t, "ann@acme.test", "wrong password", "198.51.100."+string(rune('1'+i)))
			wantCode(t, err, apperr.Unauthenticated)
		}
		_, err := e.login(t, "Ann@Acme.Test", password, "203.0.113.7")
		wantCode(t, err, apperr.RateLimited)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.RetryAfter != int(auth.Window/time.Second) {
			t.Errorf("RetryAfter of %v", err)
		}
		if _, err := e.login(t, "bob@acme.test", password, "203.0.113.7"); err != nil {
			t.Errorf("Bob is blocked too: %v", err)
		}
		clk.Advance(auth.Window)
		if _, err := e.login(t, "ann@acme.test", password, "203.0.113.7"); err != nil {
			t.Errorf("still blocked after the window: %v", err)
		}
	})
	t.Run("per address, across accounts", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewFake(epoch)
		e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
		const addr = "198.51.100.1"
		for i := range auth.MaxAddrFails {
			_, err := e.login(t, "guess"+strings.Repeat("x", i)+"@acme.test", password, addr)
			wantCode(t, err, apperr.Unauthenticated)
			clk.Advance(time.Second)
		}
		_, err := e.login(t, "ann@acme.test", password, addr)
		wantCode(t, err, apperr.RateLimited)
		if _, err := e.login(t, "ann@acme.test", password, "198.51.100.2"); err != nil {
			t.Errorf("another address is blocked: %v", err)
		}
		// The oldest failure leaves the window first: one more try frees.
		clk.Advance(auth.Window - auth.MaxAddrFails*time.Second)
		if _, err := e.login(t, "bob@acme.test", password, addr); err != nil {
			t.Errorf("still blocked once the oldest failure left the window: %v", err)
		}
	})
	t.Run("a success forgets the account's failures", func(t *testing.T) {
		t.Parallel()
		clk := clock.NewFake(epoch)
		e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
		for round := range 3 {
			for range auth.MaxAccountFails - 1 {
				_, err := e.login(t, "ann@acme.test", "wrong password", "198.51.100.1")
				wantCode(t, err, apperr.Unauthenticated)
			}
			if _, err := e.login(t, "ann@acme.test", password, "198.51.100.1"); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	})
}

// TestConcurrentGuessesAreCounted: guesses sent at once must not all pass
// the limiter's check before any of them is counted as a failure; at most
// MaxAccountFails passwords may be tried per window, however they arrive.
func TestConcurrentGuessesAreCounted(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	const n = 40
	results := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		go func() {
			<-start
			_, err := e.login(t, "ann@acme.test", "guess number "+strings.Repeat("x", i), "198.51.100.1")
			results <- err
		}()
	}
	close(start)
	tried := 0
	for range n {
		err := <-results
		switch {
		case apperr.Is(err, apperr.Unauthenticated):
			tried++
		case apperr.Is(err, apperr.RateLimited):
		default:
			t.Fatalf("unexpected %v", err)
		}
	}
	if tried > auth.MaxAccountFails {
		t.Errorf("%d passwords were checked for one account in one window, want at most %d", tried, auth.MaxAccountFails)
	}
}

// A user lists and ends their own sessions only; another user's session
// id is not found, and stays.
func TestOwnSessions(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(epoch)
	e := newEnv(t, storetest.Open(t, "sqlite", clk), clk)
	ctx := context.Background()
	r1 := e.mustLogin(t, "ann@acme.test")
	clk.Advance(time.Second)
	r2 := e.mustLogin(t, "ann@acme.test")
	rb := e.mustLogin(t, "bob@acme.test")
	ann, err := e.svc.Authenticate(ctx, r1.Token)
	if err != nil {
		t.Fatal(err)
	}
	list, err := e.svc.Sessions(ctx, ann)
	if err != nil || len(list) != 2 || list[0].ID != r2.Session.ID || list[1].ID != r1.Session.ID {
		t.Fatalf("Sessions = %+v, %v; want ann's two, newest first", list, err)
	}
	wantCode(t, e.svc.EndSession(ctx, ann, rb.Session.ID), apperr.NotFound)
	if _, err := e.svc.Authenticate(ctx, rb.Token); err != nil {
		t.Errorf("bob's session after ann tried to end it: %v", err)
	}
	if err := e.svc.EndSession(ctx, ann, r2.Session.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, r2.Token)
	wantCode(t, err, apperr.Unauthenticated)
	if list, _ := e.svc.Sessions(ctx, ann); len(list) != 1 || list[0].ID != r1.Session.ID {
		t.Errorf("Sessions after ending one = %+v", list)
	}
}
