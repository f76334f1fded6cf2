package sipserver

import (
	"testing"
	"time"
)

// RFC 2617 §3.5 example, adapted to an MD5 qop=auth SIP request.
func TestDigestRFC2617Example(t *testing.T) {
	d, err := ParseDigest(`Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"`)
	if err != nil {
		t.Fatal(err)
	}
	ha1 := HA1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
	if got := ExpectedResponse(d, ha1, "GET"); got != d.Response {
		t.Fatalf("response %s, want %s", got, d.Response)
	}
}

func TestParseDigestRefuses(t *testing.T) {
	for _, s := range []string{"", "Basic abc", `Digest username="a"`, `Digest username="a, nonce=x`,
		`Digest username="a", username="b", nonce=n, uri=u, response=r`, `Digest username=a, nonce=n, uri=u, response=r, qop=auth`} {
		if _, err := ParseDigest(s); err == nil {
			t.Errorf("ParseDigest(%q) accepted", s)
		}
	}
}

func TestNonces(t *testing.T) {
	n := nonces{key: []byte("k"), ttl: 5 * time.Minute}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	x := n.make(now)
	if v, s := n.check(x, now.Add(time.Minute)); !v || s {
		t.Fatalf("fresh nonce: valid=%v stale=%v", v, s)
	}
	if v, s := n.check(x, now.Add(6*time.Minute)); !v || !s {
		t.Fatalf("old nonce: valid=%v stale=%v", v, s)
	}
	if v, _ := (nonces{key: []byte("other"), ttl: time.Minute}).check(x, now); v {
		t.Fatal("foreign nonce accepted")
	}
}

func FuzzParseDigest(f *testing.F) {
	f.Add(`Digest username="2001", realm="example.test", nonce="abc", uri="sip:example.test", response="0123", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="x"`)
	f.Add(`Digest username="a\"b", nonce=n, uri=u, response=r`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDigest(s)
		if err == nil && (d.Username == "" || d.Nonce == "") {
			t.Fatal("accepted without required fields")
		}
	})
}
