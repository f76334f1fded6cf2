package store_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/store"
	"vo/internal/storetest"
)

// TestEventRunsReadBack: consecutive events of one transaction for the same
// three people or more are stored once, as a run with one row per
// recipient (events.go, storeRuns). Read back from every position of each
// recipient's stream, with the gap fill's read and a catch-up's, each gives
// exactly the events after that position, in order, with their data and
// type, and the org's event in its place; nobody gets another's. A prune
// keeps each stream's newest event, also when it is the last of a run.
func TestEventRunsReadBack(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Ben", "ben@acme.test", "102", ""),
			nu("Cy", "cy@acme.test", "103", ""), nu("Di", "di@acme.test", "104", ""))
		ann, ben, cy, di := us[0], us[1], us[2], us[3]
		group, all := []account.User{ann, ben, cy}, us
		n := 0
		to := func(typ string, who ...account.User) events.Event {
			n++
			var ids []string
			for _, u := range who {
				ids = append(ids, u.ID)
			}
			return events.ToUsers(o.ID, typ, json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)), ids...)
		}
		evs := []events.Event{
			to("t.a", group...), to("t.a", group...), to("t.b", group...), // a run of three
			to("t.a", ann),                           // alone: ends the run
			to("t.a", group...), to("t.c", group...), // a run of two, of two types
			events.ToOrg(o.ID, "t.org", json.RawMessage(`{"n":"org"}`)),
			to("t.a", group...),                      // after another org position: a run of its own
			to("t.a", all...),                        // other recipients
			to("t.a", group...), to("t.b", group...), // the stream's newest is a run's last
		}
		orgHead := head(t, s, o.ID)
		heads := map[string]int64{}
		for _, u := range us {
			h, err := s.UserEventHead(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			heads[u.ID] = h
		}
		held, err := s.HoldAppendForTest(ctx, evs...)
		if err != nil {
			t.Fatal(err)
		}
		if err := held.Commit(); err != nil {
			t.Fatal(err)
		}
		// What each stream must hold, and what a catch-up from the start of
		// this transaction must give (the org's event after the events
		// logged before it).
		type item struct{ typ, data string }
		own := map[string][]item{}
		merged := map[string][]item{}
		for _, e := range evs {
			it := item{e.Type, string(e.Data)}
			for _, u := range us {
				if e.OrgWide() {
					merged[u.ID] = append(merged[u.ID], it)
				} else if e.For(u.ID, "") {
					own[u.ID] = append(own[u.ID], it)
					merged[u.ID] = append(merged[u.ID], it)
				}
			}
		}
		for _, u := range us {
			want := own[u.ID]
			for k := 0; k <= len(want); k++ {
				from := heads[u.ID] + int64(k)
				got, ok, err := s.UserEventsAfter(ctx, o.ID, u.ID, from, 100)
				if err != nil || !ok {
					t.Fatalf("%s after %d: ok=%v %v", u.Name, from, ok, err)
				}
				if len(got) != len(want)-k {
					t.Fatalf("%s after %d: %d events, want %d", u.Name, from, len(got), len(want)-k)
				}
				for i, e := range got {
					if e.Pos[0] != from+1+int64(i) || e.Type != want[k+i].typ || string(e.Data) != want[k+i].data || !slices.Equal(e.Audience, []string{u.ID}) {
						t.Fatalf("%s after %d: event %d is %s %s at %d, want %s %s at %d", u.Name, from, i, e.Type, e.Data, e.Pos[0], want[k+i].typ, want[k+i].data, from+1+int64(i))
					}
				}
				// A limit inside a run ends the read there.
				if k < len(want) {
					if got, _, _ := s.UserEventsAfter(ctx, o.ID, u.ID, from, 1); len(got) != 1 || string(got[0].Data) != want[k].data {
						t.Fatalf("%s after %d, limit 1: %v", u.Name, from, got)
					}
				}
			}
			start := events.Position{Org: orgHead, User: heads[u.ID]}
			wantAll := merged[u.ID]
			got, last, ok, err := s.EventsFor(ctx, o.ID, u.ID, "", start, 100)
			if err != nil || !ok || len(got) != len(wantAll) {
				t.Fatalf("%s's catch-up: %d events, ok=%v %v; want %d", u.Name, len(got), ok, err, len(wantAll))
			}
			for i, e := range got {
				if e.Type != wantAll[i].typ || string(e.Data) != wantAll[i].data {
					t.Fatalf("%s's catch-up: event %d is %s %s, want %s %s", u.Name, i, e.Type, e.Data, wantAll[i].typ, wantAll[i].data)
				}
			}
			if last.User != heads[u.ID]+int64(len(want)) || last.Org != orgHead+1 {
				t.Fatalf("%s's catch-up read up to %+v", u.Name, last)
			}
			if _, _, ok, err := s.EventsFor(ctx, o.ID, u.ID, "", start, len(wantAll)-1); ok || err != nil {
				t.Fatalf("%s's catch-up over its limit: ok=%v %v; want a snapshot", u.Name, ok, err)
			}
		}
		if len(own[di.ID]) != 1 {
			t.Fatalf("Di has %d events of her own, want 1", len(own[di.ID]))
		}

		// Past the retention, each stream keeps its newest: for the group,
		// the last event of the last run, with its own data.
		c.Advance(store.EventRetention + time.Minute)
		if _, err := s.PruneEvents(ctx); err != nil {
			t.Fatal(err)
		}
		for _, u := range group {
			want := own[u.ID]
			h := heads[u.ID] + int64(len(want))
			got, ok, err := s.UserEventsAfter(ctx, o.ID, u.ID, h-1, 100)
			if err != nil || !ok || len(got) != 1 || got[0].Pos[0] != h || string(got[0].Data) != want[len(want)-1].data || got[0].Type != want[len(want)-1].typ {
				t.Fatalf("%s's newest after pruning: %v ok=%v %v", u.Name, got, ok, err)
			}
			if _, ok, err := s.UserEventsAfter(ctx, o.ID, u.ID, h-2, 100); ok || err != nil {
				t.Fatalf("%s after %d, pruned: ok=%v %v; want a snapshot", u.Name, h-2, ok, err)
			}
			if got, _, ok, err := s.EventsFor(ctx, o.ID, u.ID, "", events.Position{Org: orgHead + 1, User: h - 1}, 100); err != nil || !ok || len(got) != 1 {
				t.Fatalf("%s's catch-up of the newest after pruning: %v ok=%v %v", u.Name, got, ok, err)
			}
		}
		// New runs after the prune follow on.
		more := []events.Event{to("t.a", group...), to("t.a", group...)}
		held, err = s.HoldAppendForTest(ctx, more...)
		if err != nil {
			t.Fatal(err)
		}
		if err := held.Commit(); err != nil {
			t.Fatal(err)
		}
		h := heads[ann.ID] + int64(len(own[ann.ID]))
		got, ok, err := s.UserEventsAfter(ctx, o.ID, ann.ID, h-1, 100)
		if err != nil || !ok || len(got) != 3 || string(got[1].Data) != string(more[0].Data) || string(got[2].Data) != string(more[1].Data) {
			t.Fatalf("Ann's stream after pruning and two more: %v ok=%v %v", got, ok, err)
		}
	})
}
