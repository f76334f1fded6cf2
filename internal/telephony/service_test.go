package telephony_test

import (
	"context"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// Place finds the callee in the caller's org, routes by their presence
// and forwarding, and records the call for both.
func TestPlace(t *testing.T) {
	storetest.Each(t, clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := admin.CreateOrg(ctx, s, "acme", "Acme")
		if err != nil {
			t.Fatal(err)
		}
		other, err := admin.CreateOrg(ctx, s, "other", "Other")
		if err != nil {
			t.Fatal(err)
		}
		us, err := admin.CreateUsers(ctx, s, o.ID, cheap, []account.NewUser{
			{Name: "Ann", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"},
			{Name: "Bob", Email: "bob@acme.test", Extension: "101", PhoneNumber: "+14155550101", Password: "correct horse battery"},
			{Name: "Cat", Email: "cat@acme.test", Extension: "102", Password: "correct horse battery"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.CreateUsers(ctx, s, other.ID, cheap, []account.NewUser{{Name: "Zed", Email: "zed@other.test", Extension: "200", PhoneNumber: "+14155550200", Password: "correct horse battery"}}); err != nil {
			t.Fatal(err)
		}
		ann, bob, cat := us[0], us[1], us[2]
		svc := telephony.NewService(s, nil, nil)
		phones := telephony.Reach{Phones: func(id string) bool { return id == cat.ID }}

		for dial, want := range map[string]apperr.Code{"999": apperr.NotFound, "200": apperr.NotFound, "hello": apperr.NotFound,
			"+14155550200": apperr.Forbidden, "+15555550000": apperr.Forbidden} {
			if _, err := svc.Place(ctx, o.ID, ann.ID, dial, phones); !apperr.Is(err, want) {
				t.Errorf("dial %s: %v, want %s", dial, err, want)
			}
		}
		// Bob has no phone: voicemail; by number too.
		for _, dial := range []string{"101", "+14155550101"} {
			p, err := svc.Place(ctx, o.ID, ann.ID, dial, phones)
			if err != nil || p.Callee.ID != bob.ID || p.Decision.Action != telephony.ToVoicemail || p.Decision.Reason != telephony.ReasonNoDevice {
				t.Fatalf("dial %s: %+v, %v", dial, p, err)
			}
		}
		// Cat's phone rings, unless she is in Do not disturb.
		p, err := svc.Place(ctx, o.ID, ann.ID, "102", phones)
		if err != nil || p.Decision.Action != telephony.Ring || !p.Decision.RingPhones {
			t.Fatalf("cat: %+v, %v", p, err)
		}
		if _, err := s.ChangePresence(ctx, o.ID, cat.ID, func(st *presence.State) error { st.Status = presence.DND; return nil }); err != nil {
			t.Fatal(err)
		}
		if p, err = svc.Place(ctx, o.ID, ann.ID, "102", phones); err != nil || p.Decision.Reason != telephony.ReasonDND {
			t.Fatalf("cat in dnd: %+v, %v", p, err)
		}
		// Bob forwards everything to Cat: her state decides (DND).
		if _, err := s.SetForwarding(ctx, o.ID, bob.ID, telephony.Forwarding{Mode: telephony.ForwardAlways, Target: "102"}); err != nil {
			t.Fatal(err)
		}
		if p, err = svc.Place(ctx, o.ID, ann.ID, "101", phones); err != nil || p.Callee.ID != cat.ID || p.Decision.Reason != telephony.ReasonDND {
			t.Fatalf("forwarded: %+v, %v", p, err)
		}
		if err := svc.LeaveVoicemail(ctx, p, nil, 0); err != nil {
			t.Fatal(err)
		}
		calls, _, err := s.Calls(ctx, o.ID, cat.ID, 10, "")
		if err != nil || len(calls) == 0 || calls[0].Result != telephony.Missed || calls[0].Peer.UserID != ann.ID || calls[0].Direction != telephony.In {
			t.Fatalf("cat's calls: %+v, %v", calls, err)
		}
	})
}

// TestUnanswered: Bob forwards when unanswered to Cat. His phone rings;
// nobody answers, so his row ends missed and Cat's phone rings, with a row
// of her own; her forwarding back to Bob is not followed (no loop).
func TestUnanswered(t *testing.T) {
	storetest.Each(t, clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC)), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := admin.CreateOrg(ctx, s, "acme", "Acme")
		if err != nil {
			t.Fatal(err)
		}
		us, err := admin.CreateUsers(ctx, s, o.ID, cheap, []account.NewUser{
			{Name: "Ann", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"},
			{Name: "Bob", Email: "bob@acme.test", Extension: "101", Password: "correct horse battery"},
			{Name: "Cat", Email: "cat@acme.test", Extension: "102", Password: "correct horse battery"}})
		if err != nil {
			t.Fatal(err)
		}
		ann, bob, cat := us[0], us[1], us[2]
		for _, f := range []struct {
			id, target string
		}{{bob.ID, "102"}, {cat.ID, "101"}} {
			if _, err := s.SetForwarding(ctx, o.ID, f.id, telephony.Forwarding{Mode: telephony.ForwardUnanswered, Target: f.target}); err != nil {
				t.Fatal(err)
			}
		}
		svc := telephony.NewService(s, nil, nil)
		phones := telephony.Reach{Phones: func(string) bool { return true }}
		p, err := svc.Place(ctx, o.ID, ann.ID, "101", phones)
		if err != nil || p.Callee.ID != bob.ID || p.Decision.Action != telephony.Ring || p.Decision.OnTimeout != telephony.Forward || p.Decision.ForwardTo != "102" {
			t.Fatalf("bob: %+v, %v", p, err)
		}
		next, err := svc.Unanswered(ctx, p, phones)
		if err != nil || next.Callee.ID != cat.ID || next.Decision.Action != telephony.Ring || next.Decision.OnTimeout != telephony.ToVoicemail {
			t.Fatalf("forwarded to cat: %+v, %v", next, err)
		}
		if next.Out.ID != p.Out.ID || next.In.ID == p.In.ID {
			t.Fatalf("rows: ann's %s → %s, callee's %s → %s", p.Out.ID, next.Out.ID, p.In.ID, next.In.ID)
		}
		bobs, _, _ := s.Calls(ctx, o.ID, bob.ID, 10, "")
		if len(bobs) != 1 || bobs[0].Result != telephony.Missed {
			t.Fatalf("bob's calls: %+v", bobs)
		}
		if err := svc.Answered(ctx, next); err != nil {
			t.Fatal(err)
		}
		if err := svc.Ended(ctx, next, telephony.Answered); err != nil {
			t.Fatal(err)
		}
		for id, n := range map[string]int{ann.ID: 1, cat.ID: 1} {
			cs, _, _ := s.Calls(ctx, o.ID, id, 10, "")
			if len(cs) != n || cs[0].Result != telephony.Answered {
				t.Fatalf("%s's calls: %+v", id, cs)
			}
		}
	})
}
