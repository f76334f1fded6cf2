package sipserver_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"vo/internal/clock"
	"vo/internal/sipserver"
)

// fakeBackend is an in-memory Backend: one user, sessions by id.
type fakeBackend struct {
	mu       sync.Mutex
	pass     string
	sessions map[string]string // id → device
	n        int
}

func (f *fakeBackend) Credential(_ context.Context, realm, username string) (sipserver.Credential, bool, error) {
	if realm != "acme" || username != "101" {
		return sipserver.Credential{}, false, nil
	}
	return sipserver.Credential{UserID: "u1", OrgID: "o1",
		HA1MD5: sipserver.HA1("MD5", "101", "acme", f.pass), HA1SHA256: sipserver.HA1("SHA-256", "101", "acme", f.pass)}, true, nil
}

func (f *fakeBackend) Register(_ context.Context, b sipserver.Binding) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sessions[b.SessionID]; ok {
		return b.SessionID, nil
	}
	f.n++
	id := "s" + strconv.Itoa(f.n)
	f.sessions[id] = b.Device
	return id, nil
}

func (f *fakeBackend) Unregister(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sessions, id)
	return nil
}

func (f *fakeBackend) SessionAlive(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, ok := f.sessions[id]
	return ok, nil
}

func (f *fakeBackend) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

func start(t *testing.T, b sipserver.Backend) *sipserver.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sipserver.New(ctx, sipserver.Config{Addr: "127.0.0.1:0", Backend: b})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	return s
}

// phone sends hand-written SIP over one transport.
type phone struct {
	t       *testing.T
	network string
	conn    net.Conn
	r       *bufio.Reader
	cseq    int
	callID  string
	ext     string // the extension registered, "101" unless set
	domain  string // its domain, "acme" unless set
}

func dial(t *testing.T, network, addr string) *phone {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &phone{t: t, network: network, conn: c, r: bufio.NewReader(c), callID: fmt.Sprintf("call-%s-%d@test", network, time.Now().UnixNano()),
		ext: "101", domain: "acme"}
}

func (p *phone) send(method, extra string) *sip.Response {
	p.t.Helper()
	p.cseq++
	tr := strings.ToUpper(p.network)
	local := p.conn.LocalAddr().String()
	ruri, to := "sip:"+p.domain, "<sip:"+p.ext+"@"+p.domain+">"
	if method == "INVITE" {
		ruri, to = "sip:102@"+p.domain, "<sip:102@"+p.domain+">"
	}
	msg := fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=z9hG4bK-%d-%d\r\nMax-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=abc\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: <sip:%s@%s;transport=%s>\r\nUser-Agent: baresip v3.0 (x86_64/linux)\r\n%sContent-Length: 0\r\n\r\n",
		method, ruri, tr, local, p.cseq, time.Now().UnixNano(), p.ext, p.domain, to, p.callID, p.cseq, method, p.ext, local, p.network, extra)
	return p.raw(msg)
}

func (p *phone) raw(msg string) *sip.Response {
	p.t.Helper()
	if _, err := io.WriteString(p.conn, msg); err != nil {
		p.t.Fatal(err)
	}
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var data []byte
	if p.network == "udp" {
		buf := make([]byte, 65535)
		for {
			n, err := p.conn.Read(buf)
			if err != nil {
				p.t.Fatalf("read: %v", err)
			}
			if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 100") {
				data = buf[:n]
				break
			}
		}
	} else {
		for {
			var head strings.Builder
			clen := 0
			for {
				line, err := p.r.ReadString('\n')
				if err != nil {
					p.t.Fatalf("read: %v", err)
				}
				head.WriteString(line)
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "content-length") {
					clen, _ = strconv.Atoi(strings.TrimSpace(v))
				}
				if line == "\r\n" {
					break
				}
			}
			body := make([]byte, clen)
			io.ReadFull(p.r, body)
			if !strings.HasPrefix(head.String(), "SIP/2.0 100") {
				data = append([]byte(head.String()), body...)
				break
			}
		}
	}
	m, err := sip.ParseMessage(data)
	if err != nil {
		p.t.Fatalf("parse %q: %v", data, err)
	}
	res, ok := m.(*sip.Response)
	if !ok {
		p.t.Fatalf("not a response: %q", data)
	}
	return res
}

// challenge returns the digest parameters of the first challenge offered.
func challenges(t *testing.T, res *sip.Response, hdr string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for _, h := range res.GetHeaders(hdr) {
		v := strings.TrimPrefix(h.Value(), "Digest ")
		m := map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, _ := strings.Cut(strings.TrimSpace(kv), "=")
			m[k] = strings.Trim(val, `"`)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("no %s in %d %s", hdr, res.StatusCode, res.Reason)
	}
	return out
}

func authz(hdr, alg, nonce, method, uri, pass, nc string) string {
	return authzAs("101", "acme", hdr, alg, nonce, method, uri, pass, nc)
}

func authzAs(user, realm, hdr, alg, nonce, method, uri, pass, nc string) string {
	d := sipserver.Digest{Username: user, Realm: realm, Nonce: nonce, URI: uri, Algorithm: alg, QOP: "auth", NC: nc, CNonce: "cn0"}
	d.Response = sipserver.ExpectedResponse(d, sipserver.HA1(alg, user, realm, pass), method)
	return fmt.Sprintf(`%s: Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=%s, cnonce="cn0"`+"\r\n",
		hdr, user, realm, nonce, uri, d.Response, alg, nc)
}

func TestRegister(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			b := &fakeBackend{pass: "secret", sessions: map[string]string{}}
			s := start(t, b)
			p := dial(t, network, s.Addr())

			res := p.send("REGISTER", "")
			if res.StatusCode != 401 {
				t.Fatalf("no credentials: %d", res.StatusCode)
			}
			ch := challenges(t, res, "WWW-Authenticate")
			if len(ch) != 2 || ch[0]["algorithm"] != "SHA-256" || ch[1]["algorithm"] != "MD5" || ch[0]["qop"] != "auth" || ch[0]["realm"] != "acme" {
				t.Fatalf("challenge: %+v", ch)
			}
			nonce := ch[0]["nonce"]

			res = p.send("REGISTER", authz("Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", "wrong", "00000001"))
			if res.StatusCode != 403 || b.count() != 0 {
				t.Fatalf("wrong password: %d, %d sessions", res.StatusCode, b.count())
			}

			res = p.send("REGISTER", "Expires: 30\r\n"+authz("Authorization", "MD5", nonce, "REGISTER", "sip:acme", "secret", "00000002"))
			if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
				t.Fatalf("brief: %d", res.StatusCode)
			}

			res = p.send("REGISTER", "Expires: 120\r\n"+authz("Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", "secret", "00000003"))
			if res.StatusCode != 200 {
				t.Fatalf("register: %d %s", res.StatusCode, res.Reason)
			}
			if c := res.GetHeader("Contact"); c == nil || !strings.Contains(c.Value(), "expires=120") {
				t.Fatalf("contact: %v", c)
			}
			bs := s.Bindings("u1")
			if len(bs) != 1 || b.count() != 1 || b.sessions[bs[0].SessionID] != "Desk phone (baresip)" {
				t.Fatalf("bindings %+v sessions %v", bs, b.sessions)
			}
			first := bs[0].SessionID

			// The same nonce and count again: a replay, challenged afresh.
			res = p.send("REGISTER", "Expires: 120\r\n"+authz("Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", "secret", "00000003"))
			if res.StatusCode != 401 {
				t.Fatalf("replay: %d", res.StatusCode)
			}

			// A refresh keeps the session.
			res = p.send("REGISTER", "Expires: 120\r\n"+authz("Authorization", "MD5", nonce, "REGISTER", "sip:acme", "secret", "00000004"))
			if bs := s.Bindings("u1"); res.StatusCode != 200 || len(bs) != 1 || bs[0].SessionID != first || b.count() != 1 {
				t.Fatalf("refresh: %d %+v", res.StatusCode, bs)
			}

			// OPTIONS and an INVITE.
			if res := p.send("OPTIONS", ""); res.StatusCode != 200 {
				t.Fatalf("options: %d", res.StatusCode)
			}
			res = p.send("INVITE", "")
			if res.StatusCode != 407 {
				t.Fatalf("invite: %d", res.StatusCode)
			}
			pc := challenges(t, res, "Proxy-Authenticate")
			p.ack(res)
			res = p.send("INVITE", authz("Proxy-Authorization", "SHA-256", pc[0]["nonce"], "INVITE", "sip:102@acme", "secret", "00000001"))
			if res.StatusCode != 480 || res.GetHeader("Reason") == nil {
				t.Fatalf("authenticated invite: %d", res.StatusCode)
			}

			// Expires 0 ends the session.
			res = p.send("REGISTER", "Expires: 0\r\n"+authz("Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", "secret", "00000005"))
			if res.StatusCode != 200 || len(s.Bindings("u1")) != 0 || b.count() != 0 {
				t.Fatalf("unregister: %d, %d sessions", res.StatusCode, b.count())
			}
		})
	}
}

// ack acknowledges a final non-2xx answer to an INVITE (RFC 3261 §17.1.1.3),
// so that the server stops retransmitting it.
func (p *phone) ack(res *sip.Response) {
	p.t.Helper()
	msg := fmt.Sprintf("ACK sip:102@acme SIP/2.0\r\n%s\r\nMax-Forwards: 70\r\n%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		res.Via().String(), res.From().String(), res.To().String(), p.callID, p.cseq)
	if _, err := io.WriteString(p.conn, msg); err != nil {
		p.t.Fatal(err)
	}
}

// TestMalformed: garbage, broken headers and odd digests never take the
// server down; a well-formed request still gets its answer.
func TestMalformed(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{pass: "secret", sessions: map[string]string{}}
	s := start(t, b)
	for _, network := range []string{"udp", "tcp"} {
		c, err := net.Dial(network, s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		for _, junk := range []string{"\x00\x01\x02garbage\r\n\r\n", "REGISTER sip:acme SIP/2.0\r\nVia: nonsense\r\nCSeq: x\r\n\r\n",
			"REGISTER sip:acme SIP/2.0\r\nContent-Length: 99999999\r\n\r\n"} {
			io.WriteString(c, junk)
		}
		c.Close()
	}
	p := dial(t, "udp", s.Addr())
	for _, a := range []string{"Authorization: Digest\r\n", "Authorization: Basic Zm9vOmJhcg==\r\n",
		`Authorization: Digest username="101", realm="acme", nonce="x", uri="sip:acme", response="00", qop=auth-int` + "\r\n",
		`Authorization: Digest username="101", realm="acme", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:acme", response="00"` + "\r\n"} {
		if res := p.send("REGISTER", a); res.StatusCode != 401 {
			t.Fatalf("%q: %d", a, res.StatusCode)
		}
	}
	if res := p.send("REGISTER", "Expires: -3\r\n"); res.StatusCode != 401 {
		t.Fatalf("unauthenticated bad expires: %d", res.StatusCode)
	}
	if res := p.send("OPTIONS", ""); res.StatusCode != 200 {
		t.Fatalf("options after junk: %d", res.StatusCode)
	}
}

// TestFailLimit: past the burst of failed authentications, a source gets
// 503 even with the right password, until its bucket refills.
func TestFailLimit(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{pass: "secret", sessions: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sipserver.New(ctx, sipserver.Config{Addr: "127.0.0.1:0", Backend: b, FailRate: 1, FailBurst: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	p := dial(t, "udp", s.Addr())
	nonce := challenges(t, p.send("REGISTER", ""), "WWW-Authenticate")[0]["nonce"]
	for i, want := range []int{403, 403, 403, 503} {
		pass := "wrong"
		if i == 3 {
			pass = "secret"
		}
		res := p.send("REGISTER", authz("Authorization", "MD5", nonce, "REGISTER", "sip:acme", pass, fmt.Sprintf("%08x", i+1)))
		if res.StatusCode != want {
			t.Fatalf("attempt %d: %d, want %d", i, res.StatusCode, want)
		}
	}
	if b.count() != 0 {
		t.Fatal("registered while limited")
	}
}

// TestMD5OnlyAgent: an old libre phone, which gives up on any challenge
// naming SHA-256, is offered MD5 alone.
func TestMD5OnlyAgent(t *testing.T) {
	t.Parallel()
	s := start(t, &fakeBackend{pass: "secret", sessions: map[string]string{}})
	p := dial(t, "udp", s.Addr())
	msg := "REGISTER sip:acme SIP/2.0\r\nVia: SIP/2.0/UDP " + p.conn.LocalAddr().String() + ";branch=z9hG4bK-old\r\nMax-Forwards: 70\r\nFrom: <sip:101@acme>;tag=a\r\nTo: <sip:101@acme>\r\nCall-ID: old@test\r\nCSeq: 1 REGISTER\r\nContact: <sip:101@127.0.0.1:5099>\r\nUser-Agent: baresip v1.0.0 (x86_64/linux)\r\nContent-Length: 0\r\n\r\n"
	ch := challenges(t, p.raw(msg), "WWW-Authenticate")
	if len(ch) != 1 || ch[0]["algorithm"] != "MD5" {
		t.Fatalf("challenge: %+v", ch)
	}
}

// TestExpiry: a binding past its expiry is gone and its session ended.
func TestExpiry(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{pass: "secret", sessions: map[string]string{}}
	clk := clock.NewFake(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sipserver.New(ctx, sipserver.Config{Addr: "127.0.0.1:0", Backend: b, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	p := dial(t, "udp", s.Addr())
	nonce := challenges(t, p.send("REGISTER", ""), "WWW-Authenticate")[0]["nonce"]
	if res := p.send("REGISTER", "Expires: 60\r\n"+authz("Authorization", "MD5", nonce, "REGISTER", "sip:acme", "secret", "00000001")); res.StatusCode != 200 || b.count() != 1 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	clk.Advance(59 * time.Second)
	if s.Sweep(); b.count() != 1 {
		t.Fatal("ended before expiry")
	}
	clk.Advance(2 * time.Second)
	if s.Sweep(); b.count() != 0 || len(s.Bindings("u1")) != 0 {
		t.Fatal("expired binding kept")
	}
}

// TestStaleNonce: a nonce past its lifetime is challenged with stale=true.
func TestStaleNonce(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{pass: "secret", sessions: map[string]string{}}
	clk := clock.NewFake(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := sipserver.New(ctx, sipserver.Config{Addr: "127.0.0.1:0", Backend: b, Clock: clk, NonceTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Wait() })
	p := dial(t, "tcp", s.Addr())
	nonce := challenges(t, p.send("REGISTER", ""), "WWW-Authenticate")[0]["nonce"]
	clk.Advance(2 * time.Minute)
	res := p.send("REGISTER", authz("Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", "secret", "00000001"))
	if ch := challenges(t, res, "WWW-Authenticate"); res.StatusCode != 401 || ch[0]["stale"] != "true" || ch[0]["nonce"] == nonce {
		t.Fatalf("stale: %d %+v", res.StatusCode, ch)
	}
	if b.count() != 0 {
		t.Fatal("registered with a stale nonce")
	}
}
