package store_test

import (
	"bytes"
	"context"
	"testing"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
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
