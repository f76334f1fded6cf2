package httpapi

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
)

func TestParseTrustedProxies(t *testing.T) {
	t.Parallel()
	got, err := ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ::1,fd00::/8,\t::ffff:172.16.0.1 10.1.2.3/16")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.168.1.7/32", "::1/128", "fd00::/8", "172.16.0.1/32", "10.1.0.0/16"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("prefix %d: %v, want %s", i, got[i], want[i])
		}
	}
	if got, err := ParseTrustedProxies(""); err != nil || got != nil {
		t.Errorf("empty: %v, %v", got, err)
	}
	for _, bad := range []string{"proxy.local", "10.0.0.0/33", "10.0.0", "fe80::1%eth0", "1.2.3.4/8/8", "-"} {
		if _, err := ParseTrustedProxies("10.0.0.1," + bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func FuzzParseTrustedProxies(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "::1, 127.0.0.1", "::ffff:1.2.3.4/120", "a,,b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseTrustedProxies(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p.Masked() != p {
				t.Fatalf("%q gave %v", s, p)
			}
		}
	})
}

func TestClientAddr(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 2001:db8::1")
	if err != nil {
		t.Fatal(err)
	}
	with := New(Config{TrustedProxies: trusted})
	without := New(Config{})
	for _, tc := range []struct {
		name, peer, proto string
		xff               []string
		want, wantAlone   string // with the proxies trusted, and with none
		tls, tlsAlone     bool
	}{
		{name: "direct", peer: "198.51.100.7:5000", want: "198.51.100.7", wantAlone: "198.51.100.7"},
		{name: "untrusted peer's header is ignored", peer: "198.51.100.7:5000", xff: []string{"203.0.113.9"}, proto: "https",
			want: "198.51.100.7", wantAlone: "198.51.100.7"},
		{name: "one proxy", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9"}, proto: "https",
			want: "203.0.113.9", wantAlone: "10.0.0.2", tls: true},
		{name: "what the client wrote is not believed", peer: "10.0.0.2:5000", xff: []string{"1.1.1.1, 203.0.113.9"},
			want: "203.0.113.9", wantAlone: "10.0.0.2"},
		{name: "two proxies, two headers", peer: "10.0.0.2:5000", xff: []string{"1.1.1.1, 203.0.113.9", "10.9.9.9"},
			want: "203.0.113.9", wantAlone: "10.0.0.2"},
		{name: "IPv6 proxy", peer: "[2001:db8::1]:443", xff: []string{"2001:db8::77"}, proto: "HTTPS",
			want: "2001:db8::77", wantAlone: "2001:db8::1", tls: true},
		{name: "v4-mapped", peer: "[::ffff:10.0.0.2]:5000", xff: []string{"::ffff:203.0.113.9"},
			want: "203.0.113.9", wantAlone: "10.0.0.2"},
		{name: "garbage header leaves the proxy", peer: "10.0.0.2:5000", xff: []string{"203.0.113.9, not-an-ip"}, proto: "http",
			want: "10.0.0.2", wantAlone: "10.0.0.2"},
		{name: "only proxies", peer: "10.0.0.2:5000", xff: []string{"10.0.0.3"},
			want: "10.0.0.2", wantAlone: "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/api/v1/auth/login", nil)
			r.RemoteAddr = tc.peer
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if got := with.clientAddr(r); got != tc.want {
				t.Errorf("trusted: %q, want %q", got, tc.want)
			}
			if got := without.clientAddr(r); got != tc.wantAlone {
				t.Errorf("none trusted: %q, want %q", got, tc.wantAlone)
			}
			if got := with.overTLS(r); got != tc.tls {
				t.Errorf("trusted: over TLS %v, want %v", got, tc.tls)
			}
			if got := without.overTLS(r); got != tc.tlsAlone {
				t.Errorf("none trusted: over TLS %v", got)
			}
		})
	}
}

// TestLoginLimitBehindProxy: behind a trusted proxy each client has its
// own address limit; without one, X-Forwarded-For changes nothing, so a
// client cannot escape the limit by writing it.
func TestLoginLimitBehindProxy(t *testing.T) {
	t.Parallel()
	fail20 := func(t *testing.T, fx *fixture, xff func(i int) string) {
		t.Helper()
		for i := range 20 {
			r := fx.do(t, "POST", "/api/v1/auth/login", strings.NewReader(loginBody("guess"+strconv.Itoa(i)+"@acme.test", "wrong password")),
				map[string]string{"Content-Type": "application/json", "X-Forwarded-For": xff(i)})
			checkError(t, r, 401, apperr.Unauthenticated)
		}
	}
	login := func(t *testing.T, fx *fixture, xff string) httpAnswer {
		return fx.do(t, "POST", "/api/v1/auth/login", strings.NewReader(loginBody("carla@acme.test", testPassword)),
			map[string]string{"Content-Type": "application/json", "X-Forwarded-For": xff, "X-Forwarded-Proto": "https"})
	}
	t.Run("trusted proxy", func(t *testing.T) {
		t.Parallel()
		fx := sqliteFixture(t, func(_ testing.TB, c *Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
		fail20(t, fx, func(int) string { return "203.0.113.1" })
		checkError(t, login(t, fx, "203.0.113.1"), 429, apperr.RateLimited)
		r := login(t, fx, "203.0.113.2")
		mustJSON[apitypes.LoginAnswer](t, r, 200)
		if c := sessionCookie(r); c == nil || !c.Secure {
			t.Errorf("the session cookie behind an https proxy is not Secure: %v", c)
		}
		fx.clk.Advance(15 * time.Minute)
		mustJSON[apitypes.LoginAnswer](t, login(t, fx, "203.0.113.1"), 200)
	})
	t.Run("no trusted proxy", func(t *testing.T) {
		t.Parallel()
		fx := sqliteFixture(t)
		fail20(t, fx, func(i int) string { return "203.0.113." + strconv.Itoa(i+1) })
		checkError(t, login(t, fx, "198.51.100.1"), 429, apperr.RateLimited)
		fx.clk.Advance(15 * time.Minute)
		r := login(t, fx, "198.51.100.1")
		mustJSON[apitypes.LoginAnswer](t, r, 200)
		if c := sessionCookie(r); c == nil || c.Secure {
			t.Errorf("a forwarded https from an untrusted peer made the cookie Secure: %v", c)
		}
	})
}

func sessionCookie(r httpAnswer) *http.Cookie {
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// A cookie-authenticated stream from another origin is refused; the scheme
// is part of the origin, so http://host is not the app of https://host.
func TestSameOrigin(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies("10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{TrustedProxies: trusted})
	for _, tc := range []struct {
		name, peer, proto, origin string
		tls, want                 bool
	}{
		{name: "no Origin", peer: "198.51.100.7:5000", want: true},
		{name: "same scheme and host", peer: "198.51.100.7:5000", origin: "http://vo.example", want: true},
		{name: "host in other case", peer: "198.51.100.7:5000", origin: "HTTP://VO.EXAMPLE", want: true},
		{name: "https page, plain server", peer: "198.51.100.7:5000", origin: "https://vo.example"},
		{name: "plain page, TLS server", peer: "198.51.100.7:5000", origin: "http://vo.example", tls: true},
		{name: "TLS both", peer: "198.51.100.7:5000", origin: "https://vo.example", tls: true, want: true},
		{name: "behind a TLS proxy", peer: "10.0.0.2:5000", proto: "https", origin: "https://vo.example", want: true},
		{name: "plain page behind a TLS proxy", peer: "10.0.0.2:5000", proto: "https", origin: "http://vo.example"},
		{name: "untrusted peer claims TLS", peer: "198.51.100.7:5000", proto: "https", origin: "https://vo.example"},
		{name: "other host", peer: "198.51.100.7:5000", origin: "http://evil.example"},
		{name: "host as a suffix", peer: "198.51.100.7:5000", origin: "http://evil.vo.example"},
		{name: "not a URL", peer: "198.51.100.7:5000", origin: "null"},
	} {
		r := httptest.NewRequest("GET", "http://vo.example/api/v1/events", nil)
		r.RemoteAddr = tc.peer
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := s.sameOrigin(r); got != tc.want {
			t.Errorf("%s: sameOrigin = %v, want %v", tc.name, got, tc.want)
		}
	}
}
