package store_test

import (
	"context"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
)

// The version goes up exactly when something anyone sees changed, and each
// such change logs a presence and a me.presence event.
func TestChangePresenceVersion(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		ann := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))[0]
		login(t, s, ann, account.PlatformMobile, c.Now()) // mobile: no auto-away in the way
		p, err := s.Presence(ctx, o.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		v := p.State.Version
		set := func(f func(*presence.State)) func(*presence.State) error {
			return func(st *presence.State) error { f(st); return nil }
		}
		for _, tc := range []struct {
			name   string
			change func(*presence.State) error
			bump   bool
			shown  presence.Shown
		}{
			{"recompute, nothing new", nil, false, presence.ShownAvailable},
			{"same status again", set(func(st *presence.State) { st.Status = presence.Available }), false, presence.ShownAvailable},
			{"activity time only", set(func(st *presence.State) { st.LastActive = c.Now() }), false, presence.ShownAvailable},
			{"busy", set(func(st *presence.State) { st.Status = presence.Busy }), true, presence.ShownBusy},
			{"busy again", set(func(st *presence.State) { st.Status = presence.Busy }), false, presence.ShownBusy},
			{"dnd: shown stays busy, status changed", set(func(st *presence.State) { st.Status = presence.DND }), true, presence.ShownBusy},
			{"message", set(func(st *presence.State) { st.Message = "At lunch" }), true, presence.ShownBusy},
			{"same message", set(func(st *presence.State) { st.Message = "At lunch" }), false, presence.ShownBusy},
			{"on a call", set(func(st *presence.State) { st.Activity = presence.OnCall }), true, presence.ShownBusy},
			{"call over, available", set(func(st *presence.State) { st.Activity, st.Status = presence.None, presence.Available }), true, presence.ShownAvailable},
			{"invisible", set(func(st *presence.State) { st.Status = presence.Invisible }), true, presence.ShownOffline},
		} {
			before := mark(t, s, o.ID)
			row, err := s.ChangePresence(ctx, o.ID, ann.ID, tc.change)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			want := v
			if tc.bump {
				want = v + 1
			}
			if row.State.Version != want || row.Shown != tc.shown {
				t.Fatalf("%s: version %d shown %s, want %d %s", tc.name, row.State.Version, row.Shown, want, tc.shown)
			}
			evs := loggedAfter(t, s, o.ID, before)
			if !tc.bump && len(evs) != 0 || tc.bump && (len(evs) != 2 || evs[0].Type != events.TypePresence || evs[1].Type != events.TypeMePresence || len(evs[1].Audience) != 1 || evs[1].Audience[0] != ann.ID || !evs[0].OrgWide()) {
				t.Fatalf("%s: events %+v", tc.name, evs)
			}
			stored, _ := s.Presence(ctx, o.ID, ann.ID)
			if stored.State.Version != want || stored.Shown != tc.shown {
				t.Fatalf("%s: stored %+v", tc.name, stored)
			}
			v = want
		}
		// A change the callback refuses leaves everything as it was.
		_, err = s.ChangePresence(ctx, o.ID, ann.ID, func(st *presence.State) error {
			st.Status = presence.Busy
			return apperr.New(apperr.Invalid, "no")
		})
		wantCode(t, err, apperr.Invalid)
		if p, _ := s.Presence(ctx, o.ID, ann.ID); p.State.Version != v || p.State.Status != presence.Invisible {
			t.Fatalf("a refused change was stored: %+v", p)
		}
		_, err = s.ChangePresence(ctx, other.ID, ann.ID, nil)
		wantCode(t, err, apperr.NotFound)
	})
}

// Logging in brings a user from offline to available; ending the last
// session brings them back to offline; auto-away applies without a mobile
// session.
func TestPresenceFollowsSessions(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))[0]
		shown := func(want presence.Shown) int64 {
			t.Helper()
			p, err := s.Presence(ctx, o.ID, ann.ID)
			if err != nil || p.Shown != want {
				t.Fatalf("shown %q, %v; want %q", p.Shown, err, want)
			}
			return p.State.Version
		}
		v0 := shown(presence.ShownOffline)
		web, _ := login(t, s, ann, account.PlatformWeb, c.Now())
		v1 := shown(presence.ShownAvailable)
		desk, _ := login(t, s, ann, account.PlatformDesktop, c.Now())
		v2 := shown(presence.ShownAvailable)
		if v1 != v0+1 || v2 != v1 {
			t.Fatalf("versions %d, %d, %d: want +1 on the first login only", v0, v1, v2)
		}
		if err := s.EndSession(ctx, o.ID, ann.ID, web.ID); err != nil {
			t.Fatal(err)
		}
		if v := shown(presence.ShownAvailable); v != v2 {
			t.Fatalf("version %d after ending one of two sessions, want %d", v, v2)
		}
		// Auto-away is due ten minutes after the last activity.
		next, err := s.NextPresenceChange(ctx)
		if err != nil || !next.Equal(c.Now().Add(presence.DefaultAutoAway)) {
			t.Fatalf("next change %v, %v; want %v", next, err, c.Now().Add(presence.DefaultAutoAway))
		}
		c.Advance(presence.DefaultAutoAway)
		if _, err := s.ChangePresence(ctx, o.ID, ann.ID, nil); err != nil {
			t.Fatal(err)
		}
		v3 := shown(presence.ShownAway)
		if err := s.EndSession(ctx, o.ID, ann.ID, desk.ID); err != nil {
			t.Fatal(err)
		}
		if v := shown(presence.ShownOffline); v != v3+1 {
			t.Fatalf("version %d after the last logout, want %d", v, v3+1)
		}
		if next, _ := s.NextPresenceChange(ctx); !next.IsZero() {
			t.Fatalf("offline user still scheduled at %v", next)
		}
	})
}

// A status with an end is due at that instant, not before; recomputing
// then reverts it to available.
func TestStatusUntilIsDue(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID,
			nu("Ann Lee", "ann@acme.test", "101", ""),
			nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann := us[0]
		login(t, s, ann, account.PlatformMobile, c.Now())
		login(t, s, us[1], account.PlatformMobile, c.Now())
		until := c.Now().Add(time.Hour)
		row, err := s.ChangePresence(ctx, o.ID, ann.ID, func(st *presence.State) error {
			st.Status, st.StatusUntil = presence.DND, until
			st.Message, st.MessageExpiresAt = "Focus time", until.Add(-30*time.Minute)
			return nil
		})
		if err != nil || row.Shown != presence.ShownBusy {
			t.Fatalf("dnd: %+v, %v", row, err)
		}
		v := row.State.Version
		next, err := s.NextPresenceChange(ctx)
		if err != nil || !next.Equal(until.Add(-30*time.Minute)) {
			t.Fatalf("next change %v, %v; want the message expiry %v", next, err, until.Add(-30*time.Minute))
		}
		due := func(at time.Time) [][2]string {
			t.Helper()
			d, err := s.DuePresence(ctx, at, 100)
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		if d := due(next.Add(-time.Millisecond)); len(d) != 0 {
			t.Fatalf("due before its instant: %v", d)
		}
		c.Advance(30 * time.Minute)
		if d := due(c.Now()); len(d) != 1 || d[0] != [2]string{o.ID, ann.ID} {
			t.Fatalf("due at the message expiry: %v", d)
		}
		row, err = s.ChangePresence(ctx, o.ID, ann.ID, nil)
		if err != nil || row.State.Message != "" || row.State.Status != presence.DND || row.State.Version != v+1 {
			t.Fatalf("after the message expired: %+v, %v", row, err)
		}
		if next, _ := s.NextPresenceChange(ctx); !next.Equal(until) {
			t.Fatalf("next change %v, want the status end %v", next, until)
		}
		if d := due(c.Now()); len(d) != 0 {
			t.Fatalf("still due after the recompute: %v", d)
		}
		c.Advance(30 * time.Minute)
		if d := due(c.Now()); len(d) != 1 {
			t.Fatalf("due at the status end: %v", d)
		}
		row, err = s.ChangePresence(ctx, o.ID, ann.ID, nil)
		if err != nil || row.State.Status != presence.Available || !row.State.StatusUntil.IsZero() || row.Shown != presence.ShownAvailable || row.State.Version != v+2 {
			t.Fatalf("after the status ended: %+v, %v", row, err)
		}
		if next, _ := s.NextPresenceChange(ctx); !next.IsZero() {
			t.Fatalf("next change %v, want none", next)
		}
	})
}
