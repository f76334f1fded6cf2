package sipserver

import (
	"context"
	"testing"
	"time"
)

type memBackend map[string]Credential

func (m memBackend) Credential(_ context.Context, _, u string) (Credential, bool, error) {
	c, ok := m[u]
	return c, ok, nil
}
func (memBackend) Register(context.Context, Binding) (string, error)  { return "s1", nil }
func (memBackend) Unregister(context.Context, string) error           { return nil }
func (memBackend) SessionAlive(context.Context, string) (bool, error) { return true, nil }

func TestAuthenticator(t *testing.T) {
	realm := "example.test"
	b := memBackend{"2001": {UserID: "u1", HA1MD5: HA1("MD5", "2001", realm, "pw"), HA1SHA256: HA1("SHA-256", "2001", realm, "pw")}}
	a := NewAuthenticator(b, []byte("key"), 5*time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sign := func(user, pw, alg, nc string) Digest {
		d := Digest{Username: user, Realm: realm, Nonce: a.Nonce(now), URI: "sip:" + realm, Algorithm: alg, QOP: "auth", NC: nc, CNonce: "c"}
		d.Response = ExpectedResponse(d, HA1(alg, user, realm, pw), "REGISTER")
		return d
	}
	ctx := context.Background()
	for i, alg := range []string{"MD5", "SHA-256"} {
		now = now.Add(time.Duration(i) * time.Second)
		d := sign("2001", "pw", alg, "00000001")
		if o, c, _ := a.Check(ctx, d, realm, "REGISTER", now); o != OK || c.UserID != "u1" {
			t.Fatalf("%s good password: %v", alg, o)
		}
		if o, _, _ := a.Check(ctx, d, realm, "REGISTER", now); o != Challenge {
			t.Fatalf("%s replay: %v", alg, o)
		}
		if o, _, _ := a.Check(ctx, sign("2001", "bad", alg, "00000002"), realm, "REGISTER", now); o != Forbidden {
			t.Fatalf("%s wrong password: %v", alg, o)
		}
		if o, _, _ := a.Check(ctx, sign("9999", "pw", alg, "00000003"), realm, "REGISTER", now); o != Forbidden {
			t.Fatalf("%s unknown user: %v", alg, o)
		}
	}
	if o, _, _ := a.Check(ctx, sign("2001", "pw", "MD5", "00000009"), realm, "REGISTER", now.Add(6*time.Minute)); o != Stale {
		t.Fatalf("expired nonce: %v", o)
	}
}

// Used nonces are remembered for twice the nonce lifetime, then forgotten
// oldest first, without holding on to every one ever seen.
func TestAuthenticatorForgetsOldNonces(t *testing.T) {
	realm := "example.test"
	b := memBackend{"2001": {UserID: "u1", HA1MD5: HA1("MD5", "2001", realm, "pw")}}
	a := NewAuthenticator(b, []byte("key"), time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	check := func(nc string) Outcome {
		d := Digest{Username: "2001", Realm: realm, Nonce: a.Nonce(now), URI: "sip:" + realm, Algorithm: "MD5", QOP: "auth", NC: nc, CNonce: "c"}
		d.Response = ExpectedResponse(d, HA1("MD5", "2001", realm, "pw"), "REGISTER")
		o, _, _ := a.Check(ctx, d, realm, "REGISTER", now)
		return o
	}
	for i := range 100 {
		if o := check("00000001"); o != OK {
			t.Fatalf("request %d: %v", i, o)
		}
		now = now.Add(time.Second)
	}
	if len(a.seen) != 100 || len(a.order) != 100 {
		t.Fatalf("remembered %d/%d, want 100", len(a.seen), len(a.order))
	}
	now = now.Add(2*time.Minute - 50*time.Second) // the first 50 are older than 2 minutes
	if o := check("00000001"); o != OK {
		t.Fatalf("after a while: %v", o)
	}
	if len(a.seen) != 51 || len(a.order) != 51 {
		t.Fatalf("remembered %d/%d after expiry, want 50 left and the new one", len(a.seen), len(a.order))
	}
}
