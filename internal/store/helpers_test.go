package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/events"
	"vo/internal/store"
)

// cheap keeps argon2id fast in tests; the algorithm is the same.
var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

const testPassword = "correct-horse-battery"

// testHash is one password hash shared by every test user.
var testHash = sync.OnceValue(func() string {
	h, err := account.HashPassword(testPassword, cheap)
	if err != nil {
		panic(err)
	}
	return h
})

// t0 is where every fake clock starts.
var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

func newOrg(t testing.TB, s *store.Store, slug string) account.Org {
	t.Helper()
	o, err := s.CreateOrg(context.Background(), slug, "Org "+slug)
	if err != nil {
		t.Fatalf("create org %s: %v", slug, err)
	}
	return o
}

// nu is a new member with the shared test password.
func nu(name, email, ext, phone string) account.HashedUser {
	return account.HashedUser{
		NewUser:      account.NewUser{Name: name, Email: email, Extension: ext, PhoneNumber: phone, Role: account.RoleMember},
		PasswordHash: testHash(),
	}
}

func mustCreate(t testing.TB, s *store.Store, orgID string, in ...account.HashedUser) []account.User {
	t.Helper()
	us, err := s.CreateUsers(context.Background(), orgID, in)
	if err != nil {
		t.Fatalf("create users: %v", err)
	}
	return us
}

// login stores a new session of u on the platform, created at the given
// instant, and returns it with its token hash.
func login(t testing.TB, s *store.Store, u account.User, p account.Platform, at time.Time) (account.Session, string) {
	t.Helper()
	at = at.Truncate(time.Millisecond)
	sess := account.Session{ID: account.NewID("s"), UserID: u.ID, OrgID: u.OrgID, DeviceName: "Test " + string(p), Platform: p, CreatedAt: at, LastSeenAt: at}
	tokenHash := "tok-" + sess.ID
	if err := s.CreateSession(context.Background(), sess, tokenHash, "csrf-"+sess.ID); err != nil {
		t.Fatalf("create session: %v", err)
	}
	return sess, tokenHash
}

func head(t testing.TB, s *store.Store, orgID string) int64 {
	t.Helper()
	h, err := s.EventHead(context.Background(), orgID)
	if err != nil {
		t.Fatalf("event head: %v", err)
	}
	return h
}

// logMark is how far an org's streams went: the org's and its users'.
type logMark struct {
	org   int64
	users map[string]int64
}

func mark(t testing.TB, s *store.Store, orgID string) logMark {
	t.Helper()
	users, err := s.UserHeadsForTest(context.Background(), orgID)
	if err != nil {
		t.Fatalf("user heads: %v", err)
	}
	return logMark{head(t, s, orgID), users}
}

// loggedAfter returns every event logged for the org since m, in both
// streams: the org's, and its users' (a private event once per recipient,
// right after the org event it was logged after).
func loggedAfter(t testing.TB, s *store.Store, orgID string, m logMark) []events.Event {
	t.Helper()
	orgEvs := eventsAfter(t, s, orgID, m.org)
	userEvs, after, err := s.UserEventsForTest(context.Background(), orgID, m.users)
	if err != nil {
		t.Fatalf("user events: %v", err)
	}
	var out []events.Event
	i, j := 0, 0
	for i < len(orgEvs) || j < len(userEvs) {
		if j == len(userEvs) || i < len(orgEvs) && orgEvs[i].Seq <= after[j] {
			out = append(out, orgEvs[i])
			i++
		} else {
			out = append(out, userEvs[j])
			j++
		}
	}
	return out
}

// eventsAfter returns every event of the org's stream after seq; the log
// must still hold them.
func eventsAfter(t testing.TB, s *store.Store, orgID string, after int64) []events.Event {
	t.Helper()
	evs, ok, err := s.EventsAfter(context.Background(), orgID, after, 10_000)
	if err != nil || !ok {
		t.Fatalf("events after %d: ok=%v err=%v", after, ok, err)
	}
	return evs
}

func wantCode(t testing.TB, err error, code apperr.Code) {
	t.Helper()
	if !apperr.Is(err, code) {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func rowErr(t testing.TB, err error) *apperr.RowError {
	t.Helper()
	var re *apperr.RowError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want a *apperr.RowError", err, err)
	}
	return re
}

func activeCount(t testing.TB, s *store.Store, orgID string) int {
	t.Helper()
	ids, err := s.ActiveUserIDs(context.Background(), orgID)
	if err != nil {
		t.Fatalf("active users: %v", err)
	}
	return len(ids)
}

func ext(i int) string { return fmt.Sprint(100 + i) }
