package httpapi

import (
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/notify"
	"vo/internal/notify/pushtest"
	"vo/internal/notify/webpush"
)

func subscriptionBody(endpoint, p256dh, auth string) map[string]any {
	return map[string]any{"endpoint": endpoint, "expirationTime": nil, "keys": map[string]string{"p256dh": p256dh, "auth": auth}}
}

// TestPushRoundTrip: the app gets the key, subscribes its session, is
// pushed to (the test's push service checks the VAPID token against the
// key GET /push/key gave, and decrypts with the browser's key), and after
// logout is never pushed to again.
func TestPushRoundTrip(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		key := mustJSON[apitypes.PushKey](t, fx.call(t, "GET", "/api/v1/push/key", fx.ann.token(), nil), http.StatusOK)
		pub, err := base64.RawURLEncoding.DecodeString(key.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ecdh.P256().NewPublicKey(pub); err != nil {
			t.Fatalf("the key is not a P-256 point: %v", err)
		}
		if again := mustJSON[apitypes.PushKey](t, fx.call(t, "GET", "/api/v1/push/key", fx.bob.token(), nil), http.StatusOK); again != key {
			t.Fatalf("the key changed: %v, then %v", key, again)
		}
		ps := pushtest.New(t, fx.clk.Now)
		ps.ExpectKey(key.PublicKey)
		phone := fx.login(t, "ann@acme.test", "Ann's phone", "mobile")
		dLaptop, dPhone := ps.NewDevice(), ps.NewDevice()
		for _, x := range []struct {
			token string
			d     *pushtest.Device
		}{{fx.ann.token(), dLaptop}, {phone.Token, dPhone}} {
			if r := fx.call(t, "PUT", "/api/v1/push/subscription", x.token, subscriptionBody(x.d.Endpoint, x.d.P256DH, x.d.Auth)); r.Status != http.StatusNoContent {
				t.Fatalf("subscribe: %s", r)
			}
		}
		// The node's service as notify.New builds it, sending for real.
		svc := notify.New(notify.Config{Store: fx.st, Streams: fx.api.cfg.Hub, Sender: &webpush.Sender{Client: ps.Client(), Clock: fx.clk}, Clock: fx.clk})
		p := notify.Push{Type: notify.Call, Title: "Bob Stone", Body: "Incoming call", URL: "/calls/c_1", Tag: "call-c_1"}
		if n, err := svc.Notify(ctx, fx.orgA.ID, fx.ann.ID, p); err != nil || n != 2 {
			t.Fatalf("notify: %d %v", n, err)
		}
		if _, err := svc.Round(ctx); err != nil {
			t.Fatal(err)
		}
		want := `{"type":"call","title":"Bob Stone","body":"Incoming call","url":"/calls/c_1","tag":"call-c_1"}`
		for _, d := range []*pushtest.Device{dLaptop, dPhone} {
			if got := ps.Received(d); len(got) != 1 || got[0] != want {
				t.Fatalf("device got %q", got)
			}
		}
		// Logout, and a remote logout: neither device is pushed to again.
		if r := fx.call(t, "POST", "/api/v1/auth/logout", phone.Token, nil); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %s", r)
		}
		if r := fx.call(t, "DELETE", "/api/v1/push/subscription", fx.ann.token(), nil); r.Status != http.StatusNoContent {
			t.Fatalf("unsubscribe: %s", r)
		}
		if n, _ := svc.Notify(ctx, fx.orgA.ID, fx.ann.ID, p); n != 0 {
			t.Fatalf("queued %d after logout and unsubscribe", n)
		}
		if r := fx.call(t, "PUT", "/api/v1/push/subscription", fx.ann.token(), subscriptionBody(dLaptop.Endpoint, dLaptop.P256DH, dLaptop.Auth)); r.Status != http.StatusNoContent {
			t.Fatalf("subscribe again: %s", r)
		}
		if n, _ := svc.Notify(ctx, fx.orgA.ID, fx.ann.ID, p); n != 1 {
			t.Fatalf("queued %d, want 1", n)
		}
		other := fx.login(t, "ann@acme.test", "Tablet", "web")
		if r := fx.call(t, "DELETE", "/api/v1/sessions/"+fx.ann.login.Session.ID, other.Token, nil); r.Status != http.StatusNoContent {
			t.Fatalf("remote logout: %s", r)
		}
		if _, err := svc.Round(ctx); err != nil {
			t.Fatal(err)
		}
		if len(ps.Tries(dLaptop)) != 1 || len(ps.Tries(dPhone)) != 1 {
			t.Fatalf("pushed after logout: laptop %d, phone %d", len(ps.Tries(dLaptop)), len(ps.Tries(dPhone)))
		}
	})
}

// TestPushSubscriptionBadInput: 400 naming the field, nothing stored.
func TestPushSubscriptionBadInput(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		k, _ := ecdh.P256().GenerateKey(nil)
		b64 := base64.RawURLEncoding
		p256dh, auth := b64.EncodeToString(k.PublicKey().Bytes()), b64.EncodeToString(make([]byte, 16))
		ok := "https://push.example.com/wpush/v2/abc"
		offCurve := append([]byte{4}, make([]byte, 64)...)
		for _, c := range []struct {
			name, body, names string
		}{
			{"no endpoint", `{"keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "endpoint"},
			{"http endpoint", `{"endpoint":"http://push.example.com/x","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "https"},
			{"relative endpoint", `{"endpoint":"/push/x","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "https"},
			{"endpoint with user", `{"endpoint":"https://u:p@push.example.com/x","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "https"},
			{"long endpoint", `{"endpoint":"https://push.example.com/` + strings.Repeat("a", 2048) + `","keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "endpoint"},
			{"endpoint number", `{"endpoint":5,"keys":{"p256dh":"` + p256dh + `","auth":"` + auth + `"}}`, "endpoint"},
			{"no keys", `{"endpoint":"` + ok + `"}`, "keys"},
			{"keys null", `{"endpoint":"` + ok + `","keys":null}`, "keys"},
			{"short p256dh", `{"endpoint":"` + ok + `","keys":{"p256dh":"` + b64.EncodeToString(k.PublicKey().Bytes()[:33]) + `","auth":"` + auth + `"}}`, "p256dh"},
			{"p256dh off the curve", `{"endpoint":"` + ok + `","keys":{"p256dh":"` + b64.EncodeToString(offCurve) + `","auth":"` + auth + `"}}`, "p256dh"},
			{"p256dh not base64url", `{"endpoint":"` + ok + `","keys":{"p256dh":"` + strings.Repeat("!", 87) + `","auth":"` + auth + `"}}`, "p256dh"},
			{"auth 15 bytes", `{"endpoint":"` + ok + `","keys":{"p256dh":"` + p256dh + `","auth":"` + b64.EncodeToString(make([]byte, 15)) + `"}}`, "auth"},
			{"auth missing", `{"endpoint":"` + ok + `","keys":{"p256dh":"` + p256dh + `"}}`, "auth"},
			{"not an object", `[]`, "object"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := fx.call(t, "PUT", "/api/v1/push/subscription", fx.ann.token(), c.body)
				checkError(t, r, http.StatusBadRequest, apperr.Invalid)
				if !strings.Contains(string(r.Body), c.names) {
					t.Errorf("message does not name %q: %s", c.names, r.Body)
				}
				if _, err := fx.st.PushSubscriptionOf(context.Background(), fx.ann.login.Session.ID); !apperr.Is(err, apperr.NotFound) {
					t.Fatalf("stored after a refusal: %v", err)
				}
			})
		}
		// Padded base64 (some browsers) is taken.
		r := fx.call(t, "PUT", "/api/v1/push/subscription", fx.ann.token(), subscriptionBody(ok, p256dh+"=", auth+"=="))
		if r.Status != http.StatusNoContent {
			t.Fatalf("padded keys: %s", r)
		}
		for _, path := range []string{"GET /api/v1/push/key", "PUT /api/v1/push/subscription", "DELETE /api/v1/push/subscription"} {
			m, u, _ := strings.Cut(path, " ")
			checkError(t, fx.call(t, m, u, "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
		}
	})
}
