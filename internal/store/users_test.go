package store_test

import (
	"context"
	"encoding/json"
	"strings"
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

func TestCreateOrg(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := s.CreateOrg(ctx, "acme", "Acme Inc")
		if err != nil {
			t.Fatal(err)
		}
		if o.ID == "" || o.Slug != "acme" || o.Name != "Acme Inc" || o.AutoAway != 10*time.Minute {
			t.Fatalf("created %+v", o)
		}
		for _, get := range []func() (account.Org, error){
			func() (account.Org, error) { return s.OrgBySlug(ctx, "acme") },
			func() (account.Org, error) { return s.OrgByID(ctx, o.ID) },
		} {
			got, err := get()
			if err != nil || got != o {
				t.Fatalf("read back %+v, %v; want %+v", got, err, o)
			}
		}
		_, err = s.CreateOrg(ctx, "acme", "Another Acme")
		wantCode(t, err, apperr.Conflict)
		if got, _ := s.OrgBySlug(ctx, "acme"); got.Name != "Acme Inc" {
			t.Fatalf("the refused org replaced the first: %+v", got)
		}
		_, err = s.OrgBySlug(ctx, "nope")
		wantCode(t, err, apperr.NotFound)
		_, err = s.OrgByID(ctx, "o_nope")
		wantCode(t, err, apperr.NotFound)
	})
}

// A batch is one transaction: when its third row clashes, none of it is
// stored, no event is logged, and the error names row index 2.
func TestCreateUsersAllOrNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		other := newOrg(t, s, "other")
		mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", "+14155550101"))
		mustCreate(t, s, other.ID, nu("Olga Other", "olga@other.test", "500", "+14155550500"))
		for _, tc := range []struct {
			name  string
			third account.HashedUser
		}{
			{"taken email", nu("Cy Dee", "ANN@acme.test", "203", "")},
			{"taken email in another org", nu("Cy Dee", "olga@other.test", "203", "")},
			{"taken extension", nu("Cy Dee", "cy@acme.test", "101", "")},
			{"taken number", nu("Cy Dee", "cy@acme.test", "203", "+14155550101")},
			{"taken number in another org", nu("Cy Dee", "cy@acme.test", "203", "+14155550500")},
			{"email of row 1", nu("Cy Dee", "bo@acme.test", "203", "")},
			{"extension of row 2", nu("Cy Dee", "cy@acme.test", "202", "")},
			{"number of row 1", nu("Cy Dee", "cy@acme.test", "203", "+14155550201")},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, users := head(t, s, o.ID), activeCount(t, s, o.ID)
				batch := []account.HashedUser{
					nu("Bo Ek", "bo@acme.test", "201", "+14155550201"),
					nu("Di Fo", "di@acme.test", "202", ""),
					tc.third,
					nu("Gu Ha", "gu@acme.test", "204", ""),
				}
				got, err := s.CreateUsers(ctx, o.ID, batch)
				if got != nil {
					t.Errorf("returned users %v with an error", got)
				}
				wantCode(t, err, apperr.Conflict)
				if re := rowErr(t, err); re.Index != 2 {
					t.Fatalf("RowError.Index = %d, want 2 (%v)", re.Index, err)
				}
				if n := activeCount(t, s, o.ID); n != users {
					t.Fatalf("%d active users after a refused batch, want %d", n, users)
				}
				for _, e := range []string{"bo@acme.test", "di@acme.test", "gu@acme.test"} {
					_, err := s.UserByEmail(ctx, e)
					wantCode(t, err, apperr.NotFound)
				}
				if h := head(t, s, o.ID); h != before {
					t.Fatalf("event head moved from %d to %d on a refused batch", before, h)
				}
			})
		}
		// The same batch with a free third row goes in whole.
		got, err := s.CreateUsers(ctx, o.ID, []account.HashedUser{
			nu("Bo Ek", "bo@acme.test", "201", "+14155550201"),
			nu("Di Fo", "di@acme.test", "202", ""),
			nu("Cy Dee", "cy@acme.test", "203", ""),
		})
		if err != nil || len(got) != 3 {
			t.Fatalf("good batch: %v, %v", got, err)
		}
		if n := activeCount(t, s, o.ID); n != 4 {
			t.Fatalf("%d active users, want 4", n)
		}
	})
}

func TestUniqueness(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, b := newOrg(t, s, "alpha"), newOrg(t, s, "beta")
		mustCreate(t, s, a.ID, nu("Ann Lee", "Ann.Lee@Alpha.test", "101", "+14155550101"))
		for _, tc := range []struct {
			name  string
			org   string
			u     account.HashedUser
			taken string // what the message names; "" means accepted
		}{
			{"email differing in case, same org", a.ID, nu("X", "ann.lee@alpha.TEST", "102", ""), "email"},
			{"email differing in case, other org", b.ID, nu("X", "ANN.LEE@ALPHA.TEST", "102", ""), "email"},
			{"extension in the same org", a.ID, nu("X", "x@alpha.test", "101", ""), "extension"},
			{"number in another org", b.ID, nu("X", "x@beta.test", "201", "+14155550101"), "number"},
			{"same extension in another org", b.ID, nu("Bea", "bea@beta.test", "101", ""), ""},
			{"no number twice", a.ID, nu("Cy", "cy@alpha.test", "103", ""), ""},
			{"no number thrice", a.ID, nu("Di", "di@alpha.test", "104", ""), ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.CreateUsers(ctx, tc.org, []account.HashedUser{tc.u})
				if tc.taken == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				wantCode(t, err, apperr.Conflict)
				if re := rowErr(t, err); re.Index != 0 || !strings.Contains(apperr.MessageOf(err), tc.taken) {
					t.Fatalf("error %q (index %d) should name the %s at index 0", err, re.Index, tc.taken)
				}
			})
		}
		u, err := s.UserByEmail(ctx, "ANN.lee@alpha.test")
		if err != nil || u.Email != "Ann.Lee@Alpha.test" || u.OrgID != a.ID {
			t.Fatalf("lookup by email in another case: %+v, %v", u, err)
		}
	})
}

// Deactivating ends every session with a session.ended event, tells the
// org the contact is gone, hides the user everywhere, and frees the email,
// extension and number for someone new.
func TestDeactivateUser(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		us := mustCreate(t, s, o.ID,
			nu("Ann Lee", "ann@acme.test", "101", "+14155550101"),
			nu("Ben Ortiz", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		now := c.Now()
		s1, tok1 := login(t, s, ann, account.PlatformWeb, now)
		s2, tok2 := login(t, s, ann, account.PlatformMobile, now)
		bs, btok := login(t, s, ben, account.PlatformWeb, now)
		// ann's presence has a pending instant (a status with an end).
		if _, err := s.ChangePresence(ctx, o.ID, ann.ID, func(st *presence.State) error {
			st.Status, st.StatusUntil = presence.DND, now.Add(time.Hour)
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		_, err := s.DeactivateUser(ctx, other.ID, ann.ID)
		wantCode(t, err, apperr.NotFound)

		before := mark(t, s, o.ID)
		ended, err := s.DeactivateUser(ctx, o.ID, ann.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSet(ended, []string{s1.ID, s2.ID}) {
			t.Fatalf("ended %v, want %v", ended, []string{s1.ID, s2.ID})
		}
		for _, tok := range []string{tok1, tok2} {
			_, err := s.SessionByTokenHash(ctx, tok)
			wantCode(t, err, apperr.Unauthenticated)
		}
		if got, err := s.Sessions(ctx, ann.ID); err != nil || len(got) != 0 {
			t.Fatalf("sessions left: %v, %v", got, err)
		}
		if a, err := s.SessionByTokenHash(ctx, btok); err != nil || a.Session.ID != bs.ID {
			t.Fatalf("a colleague's session was touched: %+v, %v", a, err)
		}

		var endedIDs []string
		removed := false
		for _, e := range loggedAfter(t, s, o.ID, before) {
			switch e.Type {
			case events.TypeSessionEnded:
				endedIDs = append(endedIDs, e.SessionID)
			case events.TypeContact:
				var d struct {
					UserID  string `json:"user_id"`
					Removed bool   `json:"removed"`
				}
				if err := json.Unmarshal(e.Data, &d); err != nil {
					t.Fatal(err)
				}
				removed = removed || d.UserID == ann.ID && d.Removed
			}
		}
		if !sameSet(endedIDs, ended) || !removed {
			t.Fatalf("events: session.ended for %v (want %v), contact removed %v", endedIDs, ended, removed)
		}

		_, err = s.UserByID(ctx, o.ID, ann.ID)
		wantCode(t, err, apperr.NotFound)
		_, err = s.UserByEmail(ctx, "ann@acme.test")
		wantCode(t, err, apperr.NotFound)
		_, err = s.Presence(ctx, o.ID, ann.ID)
		wantCode(t, err, apperr.NotFound)
		for _, q := range []string{"", "ann", "101", "+1415"} {
			list, _, err := s.Directory(ctx, o.ID, q, 50, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range list {
				if u.ID == ann.ID {
					t.Fatalf("directory %q still lists the deactivated user", q)
				}
			}
		}
		_, err = s.DeactivateUser(ctx, o.ID, ann.ID)
		wantCode(t, err, apperr.NotFound)

		// Her email (in any case), extension and number are free again.
		again := mustCreate(t, s, o.ID, nu("Ann Lee-Park", "Ann@Acme.test", "101", "+14155550101"))
		if u, err := s.UserByEmail(ctx, "ann@acme.test"); err != nil || u.ID != again[0].ID {
			t.Fatalf("the new holder of the email: %+v, %v", u, err)
		}
	})
}

// A deactivated user's pending presence instant must not stay due: the
// scheduler (presence.Service.RunDue) would find it due forever, spin, and
// with 500 such users never return.
func TestDeactivatedUserIsNeverDue(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))[0]
		now := c.Now()
		login(t, s, ann, account.PlatformWeb, now)
		if _, err := s.DeactivateUser(ctx, o.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		later := now.Add(365 * 24 * time.Hour)
		due, err := s.DuePresence(ctx, later, 500)
		if err != nil {
			t.Fatal(err)
		}
		next, err := s.NextPresenceChange(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(due) != 0 || !next.IsZero() {
			t.Errorf("deactivated user still scheduled: due %v, next change %v", due, next)
		}
		// What that does to the scheduler: past the instant, RunDue keeps
		// answering an instant already come, so Run waits 0 and spins.
		c.Advance(time.Hour)
		next, err = presence.NewService(s, c).RunDue(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !next.IsZero() && !next.After(c.Now()) {
			t.Errorf("RunDue says the next change is at %v, already past (now %v): the scheduler would spin", next, c.Now())
		}
	})
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
		if m[x] < 0 {
			return false
		}
	}
	return true
}
