package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
)

// noWait is how long a write that must not wait for the held transaction
// may take: ample for a write, and it fails if it queues behind a
// transaction held for the whole test.
const noWait = 3 * time.Second

// TestStreamsDoNotSerialise: on PostgreSQL, while a transaction that logged
// a private event to Ann and Ben is open, a private event to Cy and Di and
// a presence change of Ed (an org-wide event, and his me.presence) commit
// without waiting; a write for Ann does wait, as her stream's next
// position is held. While an org-wide event is held, private events go on
// and another org-wide event waits: the org's stream is one order, its
// positions committed in that order.
func TestStreamsDoNotSerialise(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, "postgres", nil)
	ctx := context.Background()
	o := newOrg(t, s, "acme")
	us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Ben", "ben@acme.test", "102", ""),
		nu("Cy", "cy@acme.test", "103", ""), nu("Di", "di@acme.test", "104", ""), nu("Ed", "ed@acme.test", "105", ""))
	ann, ben, cy, di, ed := us[0], us[1], us[2], us[3], us[4]
	dm := func(tag string, to ...account.User) events.Event {
		var ids []string
		for _, u := range to {
			ids = append(ids, u.ID)
		}
		return events.ToUsers(o.ID, "t.dm", json.RawMessage(`{"n":"`+tag+`"}`), ids...)
	}
	within := func(what string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, noWait)
		defer cancel()
		start := time.Now()
		if err := f(ctx); err != nil {
			t.Fatalf("%s while another transaction is open: %v after %v; it must not wait", what, err, time.Since(start))
		}
	}
	waits := func(what string, f func(ctx context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		if err := f(ctx); err == nil {
			t.Fatalf("%s committed while the held transaction holds its stream", what)
		} else if !errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			t.Fatalf("%s: %v, want it to wait", what, err)
		}
	}
	annHead0, _ := s.UserEventHead(ctx, ann.ID)

	held, err := s.HoldAppendForTest(ctx, dm("ann+ben", ann, ben))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Rollback()
	within("a private event to Cy and Di", func(ctx context.Context) error { return s.AppendForTest(ctx, dm("cy+di", cy, di)) })
	within("a presence change of Ed", func(ctx context.Context) error {
		_, err := s.ChangePresence(ctx, o.ID, ed.ID, func(st *presence.State) error { st.Message = "lunch"; return nil })
		return err
	})
	waits("a private event to Ann", func(ctx context.Context) error { return s.AppendForTest(ctx, dm("ann", ann)) })
	if err := held.Commit(); err != nil {
		t.Fatal(err)
	}
	if evs, ok, err := s.UserEventsAfter(ctx, o.ID, ann.ID, annHead0, 10); err != nil || !ok || len(evs) != 1 || evs[0].Pos[0] != annHead0+1 {
		t.Fatalf("Ann's stream after the held commit: %+v ok=%v %v; want the one event at %d (the refused one left no trace)", evs, ok, err, annHead0+1)
	}

	orgHeld, err := s.HoldAppendForTest(ctx, events.ToOrg(o.ID, "t.org", json.RawMessage(`{}`)))
	if err != nil {
		t.Fatal(err)
	}
	defer orgHeld.Rollback()
	within("a private event to Ann and Ben", func(ctx context.Context) error { return s.AppendForTest(ctx, dm("ann+ben 2", ann, ben)) })
	waits("another org-wide event", func(ctx context.Context) error {
		return s.AppendForTest(ctx, events.ToOrg(o.ID, "t.org", json.RawMessage(`{}`)))
	})
	if err := orgHeld.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestCatchUpAcrossStreams: with org-wide and private events interleaved,
// a catch-up from any cursor a session was given returns exactly what that
// session may see after it, each once, in the order logged; resuming
// mid-way from the cursor of the last event read carries on without a gap
// or a repeat. Each event's cursor is the position after it.
func TestCatchUpAcrossStreams(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Ben", "ben@acme.test", "102", ""))
		ann, ben := us[0], us[1]
		web, _ := login(t, s, ann, account.PlatformWeb, t0)
		phone, _ := login(t, s, ann, account.PlatformMobile, t0)
		start := events.Position{Org: head(t, s, o.ID)}
		start.User, _ = s.UserEventHead(ctx, ann.ID)
		ev := func(e events.Event) {
			t.Helper()
			if err := s.AppendForTest(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		data := func(n string) json.RawMessage { return json.RawMessage(`{"n":"` + n + `"}`) }
		// One transaction logging an org event between two private ones
		// keeps that order too.
		both := func(a, b, c string) {
			held, err := s.HoldAppendForTest(ctx, events.ToUsers(o.ID, "t", data(a), ann.ID), events.ToOrg(o.ID, "t", data(b)), events.ToUsers(o.ID, "t", data(c), ann.ID, ben.ID))
			if err != nil {
				t.Fatal(err)
			}
			if err := held.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		ev(events.ToOrg(o.ID, "t", data("o1")))
		ev(events.ToUsers(o.ID, "t", data("ann1"), ann.ID))
		ev(events.ToUsers(o.ID, "t", data("ben1"), ben.ID))
		ev(events.ToSession(o.ID, ann.ID, web.ID, "t", data("web1")))
		ev(events.ToSession(o.ID, ann.ID, phone.ID, "t", data("phone1")))
		both("ann2", "o2", "ann+ben")
		ev(events.ToOrg(o.ID, "t", data("o3")))
		ev(events.ToUsers(o.ID, "t", data("ann+ben 2"), ben.ID, ann.ID))
		want := []string{"o1", "ann1", "web1", "ann2", "o2", "ann+ben", "o3", "ann+ben 2"}

		read := func(from events.Position) ([]string, []events.Position, events.Position) {
			t.Helper()
			evs, last, ok, err := s.EventsFor(ctx, o.ID, ann.ID, web.ID, from, 100)
			if err != nil || !ok {
				t.Fatalf("catch-up from %+v: ok=%v %v", from, ok, err)
			}
			var ns []string
			var after []events.Position
			p := from
			for _, e := range evs {
				if len(e.Pos) == 1 {
					p.User = e.Pos[0]
				} else {
					p.Org = e.Seq
				}
				var d struct{ N string }
				json.Unmarshal(e.Data, &d)
				ns, after = append(ns, d.N), append(after, p)
			}
			return ns, after, last
		}
		got, after, last := read(start)
		if !equal(got, want) {
			t.Fatalf("catch-up from the start: %v, want %v", got, want)
		}
		if last != after[len(after)-1] {
			t.Fatalf("caught up at %+v, but the last event's position is %+v", last, after[len(after)-1])
		}
		for i := range after { // a reconnect after each event read
			rest, _, last2 := read(after[i])
			if !equal(rest, want[i+1:]) || last2 != last {
				t.Errorf("resuming after %q at %+v: %v (last %+v), want %v (last %+v)", want[i], after[i], rest, last2, want[i+1:], last)
			}
		}
		if rest, _, _ := read(last); len(rest) != 0 {
			t.Errorf("resuming at the head sent %v", rest)
		}
		// A cursor ahead of either stream is not one of ours: a snapshot.
		for _, bad := range []events.Position{{Org: last.Org + 1, User: last.User}, {Org: last.Org, User: last.User + 1}} {
			if _, _, ok, err := s.EventsFor(ctx, o.ID, ann.ID, web.ID, bad, 100); ok || err != nil {
				t.Errorf("cursor %+v ahead of the log: ok=%v %v, want a snapshot", bad, ok, err)
			}
		}
		// The phone sees its own, not the web's, and Ben his.
		if evs, _, ok, _ := s.EventsFor(ctx, o.ID, ann.ID, phone.ID, start, 100); !ok || len(evs) != len(want) {
			t.Errorf("the phone's catch-up: %d events ok=%v, want %d", len(evs), ok, len(want))
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
