package webpush

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"vo/internal/notify"
)

// TestEncryptRFC8291 reproduces RFC 8291's worked example (Appendix A)
// byte for byte from its salt and sender key.
func TestEncryptRFC8291(t *testing.T) {
	dec := func(s string) []byte {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	as, err := ecdh.P256().NewPrivateKey(dec("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"))
	if err != nil {
		t.Fatal(err)
	}
	plain := []byte("When I grow up, I want to be a watermelon")
	keep := bytes.Clone(plain)
	got, err := encrypt(plain, dec("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"),
		dec("BTBZMqHH6r4Tts7J_aSIgg"), dec("DGv6ra1nlYgDCS1FRnbzlw"), as)
	if err != nil {
		t.Fatal(err)
	}
	want := "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT" +
		"pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
	if b64.EncodeToString(got) != want {
		t.Fatalf("body\n%s\nwant\n%s", b64.EncodeToString(got), want)
	}
	if !bytes.Equal(plain, keep) {
		t.Fatal("the payload was written to")
	}
}

func TestEncryptRefusesBadKeys(t *testing.T) {
	if _, err := Encrypt([]byte("x"), make([]byte, 65), make([]byte, 16)); err == nil {
		t.Error("a point not on the curve was taken")
	}
	k, _ := ecdh.P256().GenerateKey(nil)
	if _, err := Encrypt([]byte("x"), k.PublicKey().Bytes(), make([]byte, 15)); err == nil {
		t.Error("a 15-byte auth was taken")
	}
	if _, err := Encrypt(make([]byte, 4080), k.PublicKey().Bytes(), make([]byte, 16)); err == nil {
		t.Error("a payload beyond one record was taken")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"120", 2 * time.Minute}, {"-3", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	} {
		if got := retryAfter(c.in, now); got != c.want {
			t.Errorf("retryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestDefaultClientStaysOutside: an endpoint on the server's own network
// (here loopback) is refused for good, not retried, and never reached.
func TestDefaultClientStaysOutside(t *testing.T) {
	reached := false
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusCreated)
	}))
	defer srv.Close()
	k, _ := ecdh.P256().GenerateKey(nil)
	vk, _ := ecdh.P256().GenerateKey(nil)
	key := notify.Key{Private: b64.EncodeToString(vk.Bytes()), Public: b64.EncodeToString(vk.PublicKey().Bytes())}
	sub := notify.Subscription{Endpoint: srv.URL + "/push/x", P256DH: b64.EncodeToString(k.PublicKey().Bytes()), Auth: b64.EncodeToString(make([]byte, 16))}
	r := (&Sender{}).Send(context.Background(), key, sub, []byte(`{}`), time.Minute)
	if r.Outcome != notify.Failed || !errors.Is(r.Err, errNotPublic) || reached {
		t.Fatalf("loopback endpoint: %+v, reached %v", r, reached)
	}
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"142.250.74.106", true}, {"2a00:1450:4001:82b::200a", true},
		{"127.0.0.1", false}, {"10.1.2.3", false}, {"192.168.1.1", false}, {"172.16.0.1", false},
		{"169.254.169.254", false}, {"100.64.0.1", false}, {"::1", false}, {"fd00::1", false},
		{"fe80::1", false}, {"0.0.0.0", false}, {"::ffff:127.0.0.1", false}, {"224.0.0.1", false},
	} {
		if got := public(netip.MustParseAddr(c.addr)); got != c.ok {
			t.Errorf("public(%s) = %v, want %v", c.addr, got, c.ok)
		}
	}
}
