package store_test

import (
	"context"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/clock"
	"vo/internal/presence"
	"vo/internal/sipserver"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

// TestSIPBackend: credentials by login, a registered phone is a sip
// session that brings its user online, a refresh keeps it, unregistering
// ends it as a logout does.
func TestSIPBackend(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(t0)
	storetest.Each(t, clk, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""))[0]
		secret := []byte("test secret")
		c, err := s.SIPCredential(ctx, o.ID, ann.ID, func(gen int64) telephony.SIPCredential {
			return telephony.NewSIPCredential(secret, ann.ID, o.ID, o.Slug, ann.Extension, gen)
		})
		if err != nil {
			t.Fatal(err)
		}
		b := store.SIPBackend{S: s}
		got, ok, err := b.Credential(ctx, "acme", "101")
		if err != nil || !ok || got != (sipserver.Credential{UserID: ann.ID, OrgID: o.ID, HA1MD5: c.HA1MD5, HA1SHA256: c.HA1SHA256}) {
			t.Fatalf("credential: %+v %v %v", got, ok, err)
		}
		if _, ok, err := b.Credential(ctx, "acme", "999"); ok || err != nil {
			t.Fatalf("unknown login: %v %v", ok, err)
		}

		if p, _ := s.Presence(ctx, o.ID, ann.ID); p.Shown != presence.ShownOffline {
			t.Fatalf("before: %s", p.Shown)
		}
		before := head(t, s, o.ID)
		bd := sipserver.Binding{UserID: ann.ID, OrgID: o.ID, AOR: "sip:101@acme", Contact: "sip:101@127.0.0.1:5062",
			Expires: t0.Add(time.Hour), Device: "Desk phone (baresip)"}
		id, err := b.Register(ctx, bd)
		if err != nil {
			t.Fatal(err)
		}
		sessions, _ := s.Sessions(ctx, ann.ID)
		if len(sessions) != 1 || sessions[0].ID != id || sessions[0].Platform != account.PlatformSIP || sessions[0].DeviceName != "Desk phone (baresip)" {
			t.Fatalf("sessions: %+v", sessions)
		}
		if p, _ := s.Presence(ctx, o.ID, ann.ID); p.Shown != presence.ShownAvailable {
			t.Fatalf("registered: %s", p.Shown)
		}
		if head(t, s, o.ID) == before {
			t.Fatal("no presence event for the phone's login")
		}
		if ok, _ := b.SessionAlive(ctx, id); !ok {
			t.Fatal("not alive")
		}

		clk.Advance(time.Minute)
		bd.SessionID = id
		if again, err := b.Register(ctx, bd); err != nil || again != id {
			t.Fatalf("refresh: %s %v", again, err)
		}
		if sessions, _ := s.Sessions(ctx, ann.ID); len(sessions) != 1 || !sessions[0].LastSeenAt.After(sessions[0].CreatedAt) {
			t.Fatalf("after refresh: %+v", sessions)
		}

		if err := b.Unregister(ctx, id); err != nil {
			t.Fatal(err)
		}
		if ok, _ := b.SessionAlive(ctx, id); ok {
			t.Fatal("alive after unregister")
		}
		if p, _ := s.Presence(ctx, o.ID, ann.ID); p.Shown != presence.ShownOffline {
			t.Fatalf("after unregister: %s", p.Shown)
		}
		if err := b.Unregister(ctx, id); err != nil {
			t.Fatalf("second unregister: %v", err)
		}
		// A refresh of a session ended meanwhile logs the phone in anew.
		if id2, err := b.Register(ctx, bd); err != nil || id2 == id {
			t.Fatalf("register after logout: %s %v", id2, err)
		}
	})
}
