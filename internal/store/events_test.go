package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
)

// logSome appends n presence changes (two events each) to the org's log.
func logSome(t *testing.T, s *store.Store, u account.User, n int) {
	t.Helper()
	for i := range n {
		msg := "note " + string(rune('a'+i%26)) + time.Duration(i).String()
		if _, err := s.ChangePresence(context.Background(), u.OrgID, u.ID, func(st *presence.State) error {
			st.Message = msg
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEventsAfter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		ann := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))[0]
		olga := mustCreate(t, s, other.ID, nu("Olga", "olga@other.test", "101", ""))[0]
		logSome(t, s, ann, 10)
		logSome(t, s, olga, 3)
		h := head(t, s, o.ID)
		if h != 21 { // contact (user added) + 10×(presence, me.presence)
			t.Fatalf("head %d, want 21", h)
		}
		all := eventsAfter(t, s, o.ID, 0)
		if len(all) != int(h) {
			t.Fatalf("%d events, want %d", len(all), h)
		}
		for i, e := range all {
			if e.Seq != int64(i+1) || e.OrgID != o.ID {
				t.Fatalf("event %d has seq %d org %s: the log must be every seq of the org in order", i, e.Seq, e.OrgID)
			}
		}
		for _, tc := range []struct {
			name       string
			after      int64
			limit      int
			ok         bool
			first, num int64
		}{
			{"from the start", 0, 1000, true, 1, 21},
			{"a page", 5, 4, true, 6, 4},
			{"the last one", h - 1, 1000, true, h, 1},
			{"at the head", h, 1000, true, 0, 0},
			{"ahead of the head", h + 1, 1000, false, 0, 0},
			{"far ahead", h + 1000, 1000, false, 0, 0},
		} {
			evs, ok, err := s.EventsAfter(ctx, o.ID, tc.after, tc.limit)
			if err != nil || ok != tc.ok || int64(len(evs)) != tc.num || tc.num > 0 && evs[0].Seq != tc.first {
				t.Errorf("%s: %d events (first %v), ok=%v, err=%v; want %d from %d, ok=%v", tc.name, len(evs), evs, ok, err, tc.num, tc.first, tc.ok)
			}
		}
	})
}

// Pruning drops what is older than the retention but always keeps the
// newest event, so a current cursor stays valid; an older cursor then
// needs a snapshot (ok=false).
func TestPruneEvents(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))[0]
		logSome(t, s, ann, 5)
		h := head(t, s, o.ID)

		c.Advance(store.EventRetention - time.Minute)
		if n, err := s.PruneEvents(ctx); err != nil || n != 0 {
			t.Fatalf("pruned %d, %v within the retention", n, err)
		}
		c.Advance(2 * time.Minute)
		n, err := s.PruneEvents(ctx)
		if err != nil || n != h-1 {
			t.Fatalf("pruned %d, %v; want %d (all but the newest)", n, err, h-1)
		}
		if evs, ok, err := s.EventsAfter(ctx, o.ID, h, 100); err != nil || !ok || len(evs) != 0 {
			t.Fatalf("current cursor after pruning: %v ok=%v %v", evs, ok, err)
		}
		if evs, ok, err := s.EventsAfter(ctx, o.ID, h-1, 100); err != nil || !ok || len(evs) != 1 || evs[0].Seq != h {
			t.Fatalf("the newest event must survive: %v ok=%v %v", evs, ok, err)
		}
		for _, after := range []int64{0, 1, h - 2} {
			if evs, ok, err := s.EventsAfter(ctx, o.ID, after, 100); err != nil || ok || len(evs) != 0 {
				t.Fatalf("cursor %d older than the log: %v ok=%v %v; want ok=false", after, evs, ok, err)
			}
		}
		// New events after the prune follow on without a gap.
		logSome(t, s, ann, 1)
		if evs := eventsAfter(t, s, o.ID, h); len(evs) != 2 || evs[0].Seq != h+1 || evs[1].Seq != h+2 {
			t.Fatalf("events after pruning: %+v", evs)
		}
		// Only the old survivor goes now: it is no longer the newest.
		if n, err := s.PruneEvents(ctx); err != nil || n != 1 {
			t.Fatalf("second prune removed %d, %v; want 1 (the old survivor)", n, err)
		}
		if evs, ok, _ := s.EventsAfter(ctx, o.ID, h, 100); !ok || len(evs) != 2 {
			t.Fatalf("recent events were pruned: %+v ok=%v", evs, ok)
		}
	})
}

// TestCatchUpIsolation: a session's catch-up holds the org's events, its
// user's own and its own, and never another user's private events or
// another session's.
func TestCatchUpIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""), nu("Ben Ortiz", "ben@acme.test", "102", ""), nu("Cy Young", "cy@acme.test", "103", ""))
		ann, ben, cy := us[0], us[1], us[2]
		annWeb, _ := login(t, s, ann, account.PlatformWeb, t0)
		annPhone, _ := login(t, s, ann, account.PlatformMobile, t0)
		benWeb, _ := login(t, s, ben, account.PlatformWeb, t0)
		from := head(t, s, o.ID)
		for _, e := range []events.Event{
			events.ToOrg(o.ID, "t.org", json.RawMessage(`{"n":"org"}`)),
			events.ToUsers(o.ID, "t.dm", json.RawMessage(`{"n":"ann+ben"}`), ben.ID, ann.ID),
			events.ToUsers(o.ID, "t.dm", json.RawMessage(`{"n":"ben+cy"}`), ben.ID, cy.ID),
			events.ToUsers(o.ID, "t.own", json.RawMessage(`{"n":"ann"}`), ann.ID),
			events.ToSession(o.ID, ann.ID, annWeb.ID, "t.session", json.RawMessage(`{"n":"ann web"}`)),
		} {
			if err := s.AppendForTest(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		to := head(t, s, o.ID)
		seen := func(u account.User, sess account.Session) string {
			evs, last, ok, err := s.EventsFor(ctx, o.ID, u.ID, sess.ID, from, 100)
			if err != nil || !ok || last != to {
				t.Fatalf("catch-up of %s: last %d ok=%v err=%v, want last %d", u.Name, last, ok, err, to)
			}
			var ns []string
			for _, e := range evs {
				var d struct{ N string }
				json.Unmarshal(e.Data, &d)
				ns = append(ns, d.N)
			}
			return strings.Join(ns, ",")
		}
		for _, tc := range []struct {
			who  account.User
			sess account.Session
			want string
		}{
			{ann, annWeb, "org,ann+ben,ann,ann web"},
			{ann, annPhone, "org,ann+ben,ann"},
			{ben, benWeb, "org,ann+ben,ben+cy"},
			{cy, account.Session{ID: "s_cy"}, "org,ben+cy"},
		} {
			if got := seen(tc.who, tc.sess); got != tc.want {
				t.Errorf("%s on %s sees %q, want %q", tc.who.Name, tc.sess.ID, got, tc.want)
			}
		}
		// More than the limit to send: a snapshot is smaller.
		if _, _, ok, err := s.EventsFor(ctx, o.ID, ann.ID, annWeb.ID, from, 3); ok || err != nil {
			t.Errorf("4 events for a limit of 3: ok=%v err=%v, want a snapshot", ok, err)
		}
		// The hub's gap fill reads everything, each event with its audience.
		var aud []string
		for _, e := range eventsAfter(t, s, o.ID, from) {
			aud = append(aud, e.SessionID+strings.Join(e.Audience, "+"))
		}
		pair := func(a, b string) string { return strings.Join(slices.Sorted(slices.Values([]string{a, b})), "+") }
		if got, want := strings.Join(aud, " "), " "+pair(ann.ID, ben.ID)+" "+pair(ben.ID, cy.ID)+" "+ann.ID+" "+annWeb.ID+ann.ID; got != want {
			t.Errorf("audiences %q, want %q", got, want)
		}
	})
}
