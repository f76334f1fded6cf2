package store_test

import (
	"context"
	"encoding/json"
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
		if h != 11 { // contact (user added) + 10 presence; the me.presence go to Ann's own stream
			t.Fatalf("head %d, want 11", h)
		}
		if uh, err := s.UserEventHead(ctx, ann.ID); err != nil || uh != 10 {
			t.Fatalf("Ann's own stream head %d, %v; want 10 (her me.presence)", uh, err)
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
			{"from the start", 0, 1000, true, 1, 11},
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
		uh, err := s.UserEventHead(ctx, ann.ID)
		if err != nil || uh != 5 {
			t.Fatalf("user head %d, %v", uh, err)
		}

		c.Advance(store.EventRetention - time.Minute)
		if n, err := s.PruneEvents(ctx); err != nil || n != 0 {
			t.Fatalf("pruned %d, %v within the retention", n, err)
		}
		c.Advance(2 * time.Minute)
		n, err := s.PruneEvents(ctx)
		if err != nil || n != h-1+uh-1 {
			t.Fatalf("pruned %d, %v; want %d (all but each stream's newest)", n, err, h-1+uh-1)
		}
		if evs, ok, err := s.UserEventsAfter(ctx, o.ID, ann.ID, uh-1, 100); err != nil || !ok || len(evs) != 1 || evs[0].Pos[0] != uh {
			t.Fatalf("the newest of Ann's own stream must survive: %v ok=%v %v", evs, ok, err)
		}
		if _, ok, err := s.UserEventsAfter(ctx, o.ID, ann.ID, uh-2, 100); err != nil || ok {
			t.Fatalf("a cursor older than Ann's own stream: ok=%v %v; want ok=false", ok, err)
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
		// New events after the prune follow on without a gap (the
		// presence here, its me.presence in Ann's own stream).
		logSome(t, s, ann, 1)
		if evs := eventsAfter(t, s, o.ID, h); len(evs) != 1 || evs[0].Seq != h+1 {
			t.Fatalf("events after pruning: %+v", evs)
		}
		// Only the old survivor goes now: it is no longer the newest.
		if n, err := s.PruneEvents(ctx); err != nil || n != 2 {
			t.Fatalf("second prune removed %d, %v; want 2 (the old survivors, one per stream)", n, err)
		}
		if evs, ok, _ := s.EventsAfter(ctx, o.ID, h, 100); !ok || len(evs) != 1 {
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
		from := mark(t, s, o.ID)
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
		to := mark(t, s, o.ID)
		cursor := func(m logMark, u account.User) events.Position {
			return events.Position{Org: m.org, User: m.users[u.ID]}
		}
		seen := func(u account.User, sess account.Session) string {
			evs, last, ok, err := s.EventsFor(ctx, o.ID, u.ID, sess.ID, cursor(from, u), 100)
			if err != nil || !ok || last != cursor(to, u) {
				t.Fatalf("catch-up of %s: last %+v ok=%v err=%v, want last %+v", u.Name, last, ok, err, cursor(to, u))
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
		if _, _, ok, err := s.EventsFor(ctx, o.ID, ann.ID, annWeb.ID, cursor(from, ann), 3); ok || err != nil {
			t.Errorf("4 events for a limit of 3: ok=%v err=%v, want a snapshot", ok, err)
		}
		// The hub's gap fill reads the org's stream, and each user's own,
		// a private event in each recipient's at its position there.
		if got := eventsAfter(t, s, o.ID, from.org); len(got) != 1 || !got[0].OrgWide() {
			t.Errorf("org stream after the mark: %+v, want the one org event", got)
		}
		for _, tc := range []struct {
			who  account.User
			want string
		}{
			{ann, "ann+ben ann ann web/" + annWeb.ID},
			{ben, "ann+ben ben+cy"},
			{cy, "ben+cy"},
		} {
			evs, ok, err := s.UserEventsAfter(ctx, o.ID, tc.who.ID, from.users[tc.who.ID], 100)
			if err != nil || !ok {
				t.Fatalf("%s's stream: ok=%v %v", tc.who.Name, ok, err)
			}
			var got []string
			for k, e := range evs {
				var d struct{ N string }
				json.Unmarshal(e.Data, &d)
				if len(e.Audience) != 1 || e.Audience[0] != tc.who.ID || e.Pos[0] != from.users[tc.who.ID]+int64(k)+1 {
					t.Errorf("%s's stream: %+v not at its position there", tc.who.Name, e)
				}
				if e.SessionID != "" {
					d.N += "/" + e.SessionID
				}
				got = append(got, d.N)
			}
			if strings.Join(got, " ") != tc.want {
				t.Errorf("%s's stream holds %q, want %q", tc.who.Name, strings.Join(got, " "), tc.want)
			}
		}
	})
}

// TestStreamStart: what a stream reads once subscribed, in one statement,
// is whether its session is logged in and the heads of the org's stream
// and its user's own, each as the log has it: a user with no private
// event yet is at 0, another user's events move neither, and an ended
// session is not alive.
func TestStreamStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""), nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		sess, _ := login(t, s, ann, account.PlatformMobile, t0)
		check := func(when string) {
			t.Helper()
			alive, org, user, err := s.StreamStart(ctx, o.ID, ann.ID, sess.ID)
			uh, uerr := s.UserEventHead(ctx, ann.ID)
			if err != nil || uerr != nil || !alive || org != head(t, s, o.ID) || user != uh {
				t.Fatalf("%s: alive=%v org=%d user=%d %v; want alive, org %d, user %d (%v)", when, alive, org, user, err, head(t, s, o.ID), uh, uerr)
			}
		}
		check("after login")
		logSome(t, s, ben, 3) // Ben's private events are not Ann's
		check("after Ben's changes")
		logSome(t, s, ann, 2)
		check("after Ann's changes")
		if _, _, user, _ := s.StreamStart(ctx, o.ID, ann.ID, sess.ID); user == 0 {
			t.Fatal("Ann's own stream did not move with her presence changes")
		}
		if err := s.EndSession(ctx, o.ID, ann.ID, sess.ID); err != nil {
			t.Fatal(err)
		}
		if alive, _, _, err := s.StreamStart(ctx, o.ID, ann.ID, sess.ID); err != nil || alive {
			t.Fatalf("ended session: alive=%v %v; want not alive", alive, err)
		}
	})
}
