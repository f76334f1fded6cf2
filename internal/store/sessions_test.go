package store_test

import (
	"context"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/store"
	"vo/internal/storetest"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID,
			nu("Ann Lee", "ann@acme.test", "101", ""),
			nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		now := c.Now()
		web, webTok := login(t, s, ann, account.PlatformWeb, now)
		phone, _ := login(t, s, ann, account.PlatformMobile, now.Add(time.Second))
		bens, _ := login(t, s, ben, account.PlatformDesktop, now)

		a, err := s.SessionByTokenHash(ctx, webTok)
		if err != nil {
			t.Fatal(err)
		}
		if a.Session != web || a.User.ID != ann.ID || a.User.Email != "ann@acme.test" || a.CSRFHash != "csrf-"+web.ID {
			t.Fatalf("resolved %+v, want session %+v of %s", a, web, ann.ID)
		}
		_, err = s.SessionByTokenHash(ctx, "tok-nobody")
		wantCode(t, err, apperr.Unauthenticated)

		list, err := s.Sessions(ctx, ann.ID)
		if err != nil || len(list) != 2 || list[0] != phone || list[1] != web {
			t.Fatalf("sessions newest first: %+v, %v", list, err)
		}

		c.Advance(time.Minute)
		if err := s.TouchSession(ctx, web.ID); err != nil {
			t.Fatal(err)
		}
		if a, _ := s.SessionByTokenHash(ctx, webTok); !a.Session.LastSeenAt.Equal(c.Now()) {
			t.Fatalf("last seen %v after a touch at %v", a.Session.LastSeenAt, c.Now())
		}

		// Remote logout only reaches one's own sessions.
		err = s.EndSession(ctx, o.ID, ann.ID, bens.ID)
		wantCode(t, err, apperr.NotFound)
		err = s.EndSession(ctx, o.ID, ann.ID, "s_nope")
		wantCode(t, err, apperr.NotFound)
		if ok, _ := s.SessionExists(ctx, bens.ID); !ok {
			t.Fatal("ann ended ben's session")
		}

		before := mark(t, s, o.ID)
		if err := s.EndSession(ctx, o.ID, ann.ID, web.ID); err != nil {
			t.Fatal(err)
		}
		_, err = s.SessionByTokenHash(ctx, webTok)
		wantCode(t, err, apperr.Unauthenticated)
		if ok, _ := s.SessionExists(ctx, web.ID); ok {
			t.Fatal("ended session still exists")
		}
		evs := loggedAfter(t, s, o.ID, before)
		if len(evs) == 0 || evs[0].Type != events.TypeSessionEnded || evs[0].SessionID != web.ID {
			t.Fatalf("events after logout: %+v, want a session.ended for %s first", evs, web.ID)
		}
		err = s.EndSession(ctx, o.ID, ann.ID, web.ID)
		wantCode(t, err, apperr.NotFound)
	})
}

// Sessions unused for longer than the cutoff end; a touched one stays.
func TestEndExpiredSessions(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID,
			nu("Ann Lee", "ann@acme.test", "101", ""),
			nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		start := c.Now()
		old, _ := login(t, s, ann, account.PlatformWeb, start)
		kept, _ := login(t, s, ann, account.PlatformMobile, start)
		bold, _ := login(t, s, ben, account.PlatformWeb, start)

		c.Advance(20 * 24 * time.Hour)
		if err := s.TouchSession(ctx, kept.ID); err != nil {
			t.Fatal(err)
		}
		c.Advance(10*24*time.Hour + time.Millisecond)
		before := mark(t, s, o.ID)
		cutoff := c.Now().Add(-account.SessionTTL).UnixMilli()
		n, err := s.EndExpiredSessions(ctx, cutoff)
		if err != nil || n != 2 {
			t.Fatalf("ended %d, %v; want 2", n, err)
		}
		for id, want := range map[string]bool{old.ID: false, kept.ID: true, bold.ID: false} {
			if ok, _ := s.SessionExists(ctx, id); ok != want {
				t.Errorf("session %s exists = %v, want %v", id, ok, want)
			}
		}
		var ended []string
		for _, e := range loggedAfter(t, s, o.ID, before) {
			if e.Type == events.TypeSessionEnded {
				ended = append(ended, e.SessionID)
			}
		}
		if !sameSet(ended, []string{old.ID, bold.ID}) {
			t.Fatalf("session.ended for %v, want %v", ended, []string{old.ID, bold.ID})
		}
		// ben has no session left: offline; ann keeps her phone.
		if p, _ := s.Presence(ctx, o.ID, ben.ID); p.Shown != "offline" {
			t.Errorf("ben shown %q with no session, want offline", p.Shown)
		}
		if p, _ := s.Presence(ctx, o.ID, ann.ID); p.Shown == "offline" {
			t.Errorf("ann shown offline with a live session")
		}
		if n, err := s.EndExpiredSessions(ctx, cutoff); err != nil || n != 0 {
			t.Fatalf("second sweep ended %d, %v", n, err)
		}
	})
}

// SetPassword replaces the hash and, when asked, ends every other session
// of the user the way EndSession does, and nobody else's.
func TestSetPassword(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""), nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		web, _ := login(t, s, ann, account.PlatformWeb, c.Now())
		phone, _ := login(t, s, ann, account.PlatformMobile, c.Now())
		desk, _ := login(t, s, ann, account.PlatformDesktop, c.Now())
		bens, _ := login(t, s, ben, account.PlatformWeb, c.Now())

		ended, err := s.SetPassword(ctx, o.ID, ann.ID, "hash-1", "")
		if err != nil || len(ended) != 0 {
			t.Fatalf("keeping sessions: ended %v, %v", ended, err)
		}
		if u, _ := s.UserByID(ctx, o.ID, ann.ID); u.PasswordHash != "hash-1" {
			t.Fatalf("hash %q", u.PasswordHash)
		}
		before := mark(t, s, o.ID)
		ended, err = s.SetPassword(ctx, o.ID, ann.ID, "hash-2", web.ID)
		if err != nil || len(ended) != 2 {
			t.Fatalf("ending the others: ended %v, %v", ended, err)
		}
		for id, want := range map[string]bool{web.ID: true, phone.ID: false, desk.ID: false, bens.ID: true} {
			if ok, _ := s.SessionExists(ctx, id); ok != want {
				t.Errorf("session %s exists %v, want %v", id, ok, want)
			}
		}
		got := map[string]bool{}
		for _, ev := range loggedAfter(t, s, o.ID, before) {
			if ev.Type == events.TypeSessionEnded {
				got[ev.SessionID] = true
			}
		}
		if len(got) != 2 || !got[phone.ID] || !got[desk.ID] {
			t.Fatalf("session.ended for %v, want %s and %s", got, phone.ID, desk.ID)
		}
		if u, _ := s.UserByID(ctx, o.ID, ann.ID); u.PasswordHash != "hash-2" {
			t.Fatalf("hash %q", u.PasswordHash)
		}
		_, err = s.SetPassword(ctx, o.ID, "u_nobody", "hash-3", "")
		wantCode(t, err, apperr.NotFound)
		_, err = s.SetPassword(ctx, "o_other", ben.ID, "hash-3", "")
		wantCode(t, err, apperr.NotFound)
	})
}
