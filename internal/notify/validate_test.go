package notify

import (
	"crypto/ecdh"
	"encoding/base64"
	"strings"
	"testing"

	"vo/internal/apperr"
)

// Fuzz the parser of what browsers (or anyone) send as a subscription:
//
//	go test -run='^$' -fuzz=FuzzCheckSubscription -fuzztime=20s ./internal/notify

func validKeys(t testing.TB) (string, string) {
	k, err := ecdh.P256().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(make([]byte, 16))
}

func TestCheckSubscription(t *testing.T) {
	t.Parallel()
	p, a := validKeys(t)
	for _, c := range []struct {
		endpoint, p256dh, auth string
		ok                     bool
	}{
		{"https://fcm.googleapis.com/fcm/send/abc:def", p, a, true},
		{"https://updates.push.services.mozilla.com/wpush/v2/gAAA", p + "=", a + "==", true},
		{"https://web.push.apple.com:443/QGx", p, a, true},
		{"http://fcm.googleapis.com/x", p, a, false},
		{"https://", p, a, false},
		{"https://:443/x", p, a, false},
		{"https://x.test/#frag", p, a, false},
		{"ftp://x.test/", p, a, false},
		{"", p, a, false},
		{"https://x.test/" + strings.Repeat("a", MaxEndpoint), p, a, false},
		{"https://x.test/", p[:86], a, false},
		{"https://x.test/", "C" + p[1:], a, false}, // 0x08…: not an uncompressed point
		{"https://x.test/", p, a[:20], false},
		{"https://x.test/", p, a + "AAAA", false},
		{"https://x.test/", strings.ReplaceAll(p, "-", "+"), a, strings.Count(p, "-") == 0},
	} {
		gp, ga, err := CheckSubscription(c.endpoint, c.p256dh, c.auth)
		if (err == nil) != c.ok {
			t.Errorf("CheckSubscription(%.40q, %.12q, %q) = %v, want ok %v", c.endpoint, c.p256dh, c.auth, err, c.ok)
		}
		if err != nil && !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%q: %v is not Invalid", c.endpoint, err)
		}
		if err == nil && (gp != p || ga != a) {
			t.Errorf("keys returned %q %q, want them unpadded", gp, ga)
		}
	}
}

// FuzzCheckSubscription: never panics; refuses with Invalid, or returns
// keys that decode to a P-256 point and 16 bytes.
func FuzzCheckSubscription(f *testing.F) {
	p, a := validKeys(f)
	f.Add("https://fcm.googleapis.com/fcm/send/x", p, a)
	f.Add("https://[::1]:0/%zz", p+"==", "=")
	f.Add("https://x\x00.test/", "", "")
	f.Fuzz(func(t *testing.T, endpoint, p256dh, auth string) {
		gp, ga, err := CheckSubscription(endpoint, p256dh, auth)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("not Invalid: %v", err)
			}
			return
		}
		pk, err := base64.RawURLEncoding.DecodeString(gp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ecdh.P256().NewPublicKey(pk); err != nil {
			t.Fatalf("accepted p256dh %q: %v", gp, err)
		}
		if b, err := base64.RawURLEncoding.DecodeString(ga); err != nil || len(b) != 16 {
			t.Fatalf("accepted auth %q", ga)
		}
		if !strings.HasPrefix(endpoint, "https://") && !strings.HasPrefix(strings.ToLower(endpoint), "https://") {
			t.Fatalf("accepted endpoint %q", endpoint)
		}
	})
}
