package store_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

func TestServerSecretOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, err := s.ServerSecret(ctx, "sip_password")
		if err != nil || len(a) != 32 {
			t.Fatalf("secret: %x %v", a, err)
		}
		b, _ := s.ServerSecret(ctx, "sip_password")
		c, _ := s.ServerSecret(ctx, "turn")
		if !bytes.Equal(a, b) || bytes.Equal(a, c) {
			t.Fatalf("secrets not made once per name: %x %x %x", a, b, c)
		}
	})
}

// TestSIPCredential: made once, found by login, rotated with the user's
// sip sessions ended and no other session touched.
func TestSIPCredential(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""))
		ann := us[0]
		secret := []byte("test secret")
		mk := func(gen int64) telephony.SIPCredential {
			return telephony.NewSIPCredential(secret, ann.ID, o.ID, o.Slug, ann.Extension, gen)
		}
		c1, err := s.SIPCredential(ctx, o.ID, ann.ID, mk)
		if err != nil || c1.Generation != 1 || c1.Username != "101" {
			t.Fatalf("first: %+v %v", c1, err)
		}
		if again, _ := s.SIPCredential(ctx, o.ID, ann.ID, mk); again != c1 {
			t.Fatalf("second get differs: %+v", again)
		}
		if got, err := s.SIPLogin(ctx, o.Slug, "101"); err != nil || got != c1 {
			t.Fatalf("login: %+v %v", got, err)
		}
		if _, err := s.SIPLogin(ctx, "other", "101"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("other realm: %v", err)
		}
		if _, err := s.SIPCredential(ctx, "org-x", ann.ID, mk); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("cross org: %v", err)
		}
		sip, _ := login(t, s, ann, account.PlatformSIP, t0)
		web, _ := login(t, s, ann, account.PlatformWeb, t0)
		bobSIP, _ := login(t, s, us[1], account.PlatformSIP, t0)
		c2, err := s.RotateSIPCredential(ctx, o.ID, ann.ID, mk)
		if err != nil || c2.Generation != 2 || c2.HA1MD5 == c1.HA1MD5 || c2.HA1SHA256 == c1.HA1SHA256 {
			t.Fatalf("rotate: %+v %v", c2, err)
		}
		for id, want := range map[string]bool{sip.ID: false, web.ID: true, bobSIP.ID: true} {
			if ok, err := s.SessionExists(ctx, id); err != nil || ok != want {
				t.Errorf("session %s exists = %v, want %v (%v)", id, ok, want, err)
			}
		}
		if got, _ := s.SIPLogin(ctx, o.Slug, "101"); got != c2 {
			t.Fatalf("login after rotate: %+v", got)
		}
	})
}

func TestCallsAndVoicemails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""))
		ann, bob := us[0], us[1]
		for i := range 5 {
			c := telephony.Call{ID: account.NewID("c"), OrgID: o.ID, OwnerID: ann.ID, Direction: telephony.In,
				Peer: telephony.Peer{UserID: bob.ID, Number: "102", Name: "Bob"}, StartedAt: t0.Add(time.Duration(i) * time.Minute)}
			if err := s.InsertCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			if i == 4 {
				c.AnsweredAt = c.StartedAt.Add(time.Second)
				if err := s.AnswerCall(ctx, c); err != nil {
					t.Fatal(err)
				}
				done := c
				done.EndedAt, done.Result = c.StartedAt.Add(time.Minute), telephony.Answered
				if err := s.FinishCall(ctx, done); err != nil {
					t.Fatal(err)
				}
				missed := c
				missed.AnsweredAt, missed.EndedAt, missed.Result = time.Time{}, c.StartedAt, telephony.Missed
				if err := s.FinishCall(ctx, missed); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("finish twice: %v", err)
				}
				if err := s.AnswerCall(ctx, c); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("answer an ended call: %v", err)
				}
				missed.OwnerID = bob.ID
				if err := s.FinishCall(ctx, missed); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("finish other's: %v", err)
				}
			}
		}
		p1, next, err := s.Calls(ctx, o.ID, ann.ID, 3, "")
		if err != nil || len(p1) != 3 || next == "" || !p1[0].StartedAt.Equal(t0.Add(4*time.Minute)) || p1[0].Result != telephony.Answered || p1[0].AnsweredAt.IsZero() {
			t.Fatalf("page 1: %+v %q %v", p1, next, err)
		}
		p2, next2, err := s.Calls(ctx, o.ID, ann.ID, 3, next)
		if err != nil || len(p2) != 2 || next2 != "" || !p2[1].StartedAt.Equal(t0) || !p2[1].EndedAt.IsZero() {
			t.Fatalf("page 2: %+v %q %v", p2, next2, err)
		}
		if bs, _, _ := s.Calls(ctx, o.ID, bob.ID, 10, ""); len(bs) != 0 {
			t.Fatalf("bob sees ann's calls: %+v", bs)
		}

		vm := telephony.Voicemail{ID: account.NewID("v"), OrgID: o.ID, OwnerID: ann.ID, From: telephony.Peer{Number: "+14155550101"},
			CreatedAt: t0, DurationMS: 4200, BlobKey: "vm/1", MediaType: "audio/wav"}
		if err := s.InsertVoicemail(ctx, vm); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetHeard(ctx, o.ID, bob.ID, vm.ID, true); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("bob marks ann's: %v", err)
		}
		if _, err := s.DeleteVoicemail(ctx, o.ID, bob.ID, vm.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("bob deletes ann's: %v", err)
		}
		got, err := s.SetHeard(ctx, o.ID, ann.ID, vm.ID, true)
		if err != nil || !got.Heard || got.DurationMS != 4200 || got.From.Number != "+14155550101" {
			t.Fatalf("heard: %+v %v", got, err)
		}
		list, _, err := s.Voicemails(ctx, o.ID, ann.ID, 10, "")
		if err != nil || len(list) != 1 || list[0] != got {
			t.Fatalf("list: %+v %v", list, err)
		}
		if key, err := s.DeleteVoicemail(ctx, o.ID, ann.ID, vm.ID); err != nil || key != "vm/1" {
			t.Fatalf("delete: %q %v", key, err)
		}
		if _, err := s.Voicemail(ctx, o.ID, ann.ID, vm.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("after delete: %v", err)
		}

		if f, _ := s.Forwarding(ctx, o.ID, ann.ID); f.Mode != telephony.ForwardOff {
			t.Fatalf("default forwarding %+v", f)
		}
		if _, err := s.SetForwarding(ctx, o.ID, ann.ID, telephony.Forwarding{Mode: "sometimes"}); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("bad mode: %v", err)
		}
		for _, target := range []string{"999", "101"} { // nobody's, and her own
			if _, err := s.SetForwarding(ctx, o.ID, ann.ID, telephony.Forwarding{Mode: telephony.ForwardAlways, Target: target}); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("forward to %s: %v", target, err)
			}
		}
		if f, _ := s.Forwarding(ctx, o.ID, ann.ID); f.Mode != telephony.ForwardOff {
			t.Fatalf("a refused forwarding was stored: %+v", f)
		}
		want := telephony.Forwarding{Mode: telephony.ForwardUnanswered, Target: "102"}
		if _, err := s.SetForwarding(ctx, o.ID, ann.ID, want); err != nil {
			t.Fatal(err)
		}
		if f, _ := s.Forwarding(ctx, o.ID, ann.ID); f != want {
			t.Fatalf("forwarding %+v", f)
		}
		if f, _ := s.Forwarding(ctx, o.ID, bob.ID); f.Mode != telephony.ForwardOff {
			t.Fatalf("bob's forwarding %+v", f)
		}
	})
}

// A call's changes reach its owner, and only its owner, as call events; a
// voicemail left reaches its owner as a voicemail event.
func TestCallEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""))
		ann, bob := us[0], us[1]
		c := telephony.Call{ID: account.NewID("c"), OrgID: o.ID, OwnerID: ann.ID, Direction: telephony.Out,
			Peer: telephony.Peer{UserID: bob.ID, Number: "102", Name: "Bob"}, StartedAt: t0}
		if err := s.InsertCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.AnsweredAt = t0.Add(3 * time.Second)
		if err := s.AnswerCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.EndedAt, c.Result = t0.Add(time.Minute), telephony.Answered
		if err := s.FinishCall(ctx, c); err != nil {
			t.Fatal(err)
		}
		vm := telephony.Voicemail{ID: account.NewID("vm"), OrgID: o.ID, OwnerID: ann.ID, From: telephony.Peer{UserID: bob.ID, Number: "102"},
			CreatedAt: t0, DurationMS: 1500, BlobKey: "voicemail/x", MediaType: "audio/wav"}
		if err := s.InsertVoicemail(ctx, vm); err != nil {
			t.Fatal(err)
		}
		kinds := func(userID string) []string {
			evs, _, _, err := s.EventsFor(ctx, o.ID, userID, "", events.Position{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range evs {
				switch e.Type {
				case telephony.TypeCall:
					var d struct {
						Call  struct{ ID string } `json:"call"`
						State string              `json:"state"`
					}
					if err := json.Unmarshal(e.Data, &d); err != nil || d.Call.ID != c.ID {
						t.Fatalf("call event %s: %v", e.Data, err)
					}
					out = append(out, "call:"+d.State)
				case telephony.TypeVoicemail:
					out = append(out, "voicemail")
				}
			}
			return out
		}
		if got, want := fmt.Sprint(kinds(ann.ID)), "[call:ringing call:answered call:ended voicemail]"; got != want {
			t.Fatalf("ann's events: %s, want %s", got, want)
		}
		if got := kinds(bob.ID); len(got) != 0 {
			t.Fatalf("bob saw ann's call: %v", got)
		}
	})
}

// UserByDial finds the active user an extension or a number names, in the
// caller's org only.
func TestUserByDial(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		ann := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", "+14155550101"))[0]
		mustCreate(t, s, other.ID, nu("Zed", "zed@other.test", "201", "+14155550201"))
		for _, d := range []string{"101", "+14155550101"} {
			u, err := s.UserByDial(ctx, o.ID, telephony.ParseDestination(d))
			if err != nil || u.ID != ann.ID {
				t.Fatalf("dial %s: %v, %v", d, u.ID, err)
			}
		}
		for _, d := range []string{"102", "201", "+14155550201", "*97", "abc"} {
			if _, err := s.UserByDial(ctx, o.ID, telephony.ParseDestination(d)); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("dial %s: %v, want NotFound", d, err)
			}
		}
	})
}

// While a call of theirs is up a user's activity is on_call (others see
// busy), and when the last one ends it is cleared, their chosen status
// unchanged (SPEC §2). Two calls up at once (call waiting): the end of the
// first keeps on_call.
func TestCallActivity(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""))
		ann, bob := us[0], us[1]
		login(t, s, ann, account.PlatformMobile, t0)
		if _, err := s.ChangePresence(ctx, o.ID, ann.ID, func(st *presence.State) error {
			st.Status, st.Message = presence.Away, "back at 3"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		activity := func() presence.Row {
			t.Helper()
			r, err := s.Presence(ctx, o.ID, ann.ID)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		call := func() telephony.Call {
			c := telephony.Call{ID: account.NewID("c"), OrgID: o.ID, OwnerID: ann.ID, Direction: telephony.In,
				Peer: telephony.Peer{UserID: bob.ID, Number: "102"}, StartedAt: t0}
			if err := s.InsertCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		first, second := call(), call()
		if r := activity(); r.State.Activity != presence.None {
			t.Fatalf("ringing already counts: %+v", r)
		}
		for _, c := range []*telephony.Call{&first, &second} {
			c.AnsweredAt = t0.Add(time.Second)
			if err := s.AnswerCall(ctx, *c); err != nil {
				t.Fatal(err)
			}
		}
		if r := activity(); r.State.Activity != presence.OnCall || r.Shown != presence.ShownBusy {
			t.Fatalf("on a call: %+v, want on_call shown busy", r)
		}
		first.EndedAt, first.Result = t0.Add(time.Minute), telephony.Answered
		if err := s.FinishCall(ctx, first); err != nil {
			t.Fatal(err)
		}
		if r := activity(); r.State.Activity != presence.OnCall {
			t.Fatalf("one call still up: %+v", r)
		}
		second.EndedAt, second.Result = t0.Add(2*time.Minute), telephony.Answered
		if err := s.FinishCall(ctx, second); err != nil {
			t.Fatal(err)
		}
		r := activity()
		if r.State.Activity != presence.None || r.State.Status != presence.Away || r.State.Message != "back at 3" || r.Shown != presence.ShownAway {
			t.Fatalf("after the calls: %+v, want away with its message, no activity", r)
		}
		// A call that never was answered leaves the activity alone.
		missed := call()
		missed.EndedAt, missed.Result = t0.Add(3*time.Minute), telephony.Missed
		if err := s.FinishCall(ctx, missed); err != nil {
			t.Fatal(err)
		}
		if r := activity(); r.State.Activity != presence.None {
			t.Fatalf("a missed call: %+v", r)
		}
	})
}
