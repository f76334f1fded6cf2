package turncred

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

func TestICEServers(t *testing.T) {
	now := time.Date(2030, 1, 7, 9, 0, 0, 500, time.UTC)
	secret := []byte("s3cret")
	got, exp := ICEServers(now, time.Hour, secret, "ses_1", []string{"turn:a:3478", "turn:a:3478?transport=tcp"})
	if len(got) != 1 || len(got[0].URLs) != 2 {
		t.Fatalf("servers %+v", got)
	}
	if want := time.Date(2030, 1, 7, 10, 0, 0, 0, time.UTC); !exp.Equal(want) {
		t.Fatalf("expiry %v, want %v", exp, want)
	}
	if want := "1894010400:ses_1"; got[0].Username != want {
		t.Fatalf("username %q, want %q", got[0].Username, want)
	}
	// coturn's check, written out: base64(HMAC-SHA1(secret, username)).
	m := hmac.New(sha1.New, secret)
	m.Write([]byte(got[0].Username))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); got[0].Credential != want {
		t.Fatalf("credential %q, want %q", got[0].Credential, want)
	}
	if e, id, err := Check(now, got[0].Username); err != nil || id != "ses_1" || !e.Equal(exp) {
		t.Fatalf("check: %v %q %v", e, id, err)
	}
	if _, _, err := Check(exp, got[0].Username); !errors.Is(err, ErrExpired) {
		t.Fatalf("at expiry: %v", err)
	}
	if s, _ := ICEServers(now, 0, secret, "x", []string{"turn:a"}); s[0].Username != Username(now.Add(DefaultTTL).Truncate(time.Second), "x") {
		t.Fatalf("zero ttl: %q", s[0].Username)
	}
	for _, c := range []struct {
		secret []byte
		urls   []string
	}{{nil, []string{"turn:a"}}, {secret, nil}} {
		if s, e := ICEServers(now, time.Hour, c.secret, "x", c.urls); s == nil || len(s) != 0 || !e.IsZero() {
			t.Fatalf("without secret or urls: %v %v", s, e)
		}
	}
}

func TestCheckMalformed(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, u := range []string{"", "ses", ":ses", "abc:ses", "-5:ses", "0:x", "99999999999999999999999:x", "2000:" + string(make([]byte, MaxIDLen+1))} {
		if _, _, err := Check(now, u); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", u, err)
		}
	}
	if _, id, err := Check(now, "2000:a:b"); err != nil || id != "a:b" {
		t.Errorf("id with a colon: %q %v", id, err)
	}
}

func TestCheckURL(t *testing.T) {
	for _, u := range []string{"turn:turn.example.com", "turn:1.2.3.4:3478", "turn:[::1]:3478?transport=tcp", "turns:turn.example.com:5349?transport=tcp"} {
		if err := CheckURL(u); err != nil {
			t.Errorf("%q: %v", u, err)
		}
	}
	for _, u := range []string{"", "stun:x", "turn:", "turn://x", "http://x", "turn:x?transport=sctp", "turn:user@x", "turn:?transport=udp"} {
		if err := CheckURL(u); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}
