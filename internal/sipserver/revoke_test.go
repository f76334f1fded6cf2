package sipserver_test

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"vo/internal/storetest"
	"vo/internal/votest"
)

func (f *fakeBackend) Revoked(context.Context, string, string) (bool, error) { return false, nil }
func (f *fakeBackend) VoicemailCounts(context.Context, string, string) (int, int, error) {
	return 0, 0, nil
}

// uac is a hand-written SIP phone over UDP that gives its own Contact and
// also takes the requests the server sends it (NOTIFYs), answering 200.
type uac struct {
	*phone
	contact  string            // the Contact header value sent
	notifies chan *sip.Request // NOTIFYs received, in order
	inbox    []sip.Message
}

func newUAC(t *testing.T, addr, ext, domain, instance string) *uac {
	t.Helper()
	p := dial(t, "udp", addr)
	p.ext, p.domain = ext, domain
	c := "<sip:" + ext + "@" + p.conn.LocalAddr().String() + ";transport=udp>"
	if instance != "" {
		c += `;+sip.instance="<urn:uuid:` + instance + `>"`
	}
	return &uac{phone: p, contact: c}
}

// request sends method with extra headers and returns the final response;
// NOTIFYs arriving meanwhile are answered and kept.
func (u *uac) request(method, callID, fromTag, toHdr, extra string) *sip.Response {
	u.t.Helper()
	u.cseq++
	local := u.conn.LocalAddr().String()
	if toHdr == "" {
		toHdr = "<sip:" + u.ext + "@" + u.domain + ">"
	}
	ruri := "sip:" + u.domain
	if method == "SUBSCRIBE" {
		ruri = "sip:" + u.ext + "@" + u.domain
	}
	msg := fmt.Sprintf("%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-%d-%d\r\nMax-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContact: %s\r\nUser-Agent: testphone\r\n%sContent-Length: 0\r\n\r\n",
		method, ruri, local, u.cseq, time.Now().UnixNano(), u.ext, u.domain, fromTag, toHdr, callID, u.cseq, method, u.contact, extra)
	if _, err := io.WriteString(u.conn, msg); err != nil {
		u.t.Fatal(err)
	}
	for {
		m := u.next(5 * time.Second)
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

// next reads one message that is not a 100 Trying; requests are answered
// 200 and also kept for notify.
func (u *uac) next(wait time.Duration) sip.Message {
	u.t.Helper()
	buf := make([]byte, 65535)
	for {
		u.conn.SetReadDeadline(time.Now().Add(wait))
		n, err := u.conn.Read(buf)
		if err != nil {
			u.t.Fatalf("read: %v", err)
		}
		m, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			u.t.Fatalf("parse %q: %v", buf[:n], err)
		}
		if req, ok := m.(*sip.Request); ok {
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			io.WriteString(u.conn, res.String())
			u.inbox = append(u.inbox, req)
			return req
		}
		if res := m.(*sip.Response); res.StatusCode == 100 {
			continue
		}
		return m
	}
}

// notify returns the next NOTIFY, kept or read within wait.
func (u *uac) notify(wait time.Duration) *sip.Request {
	u.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		for i, m := range u.inbox {
			if req, ok := m.(*sip.Request); ok && req.Method == sip.NOTIFY {
				u.inbox = append(u.inbox[:i:i], u.inbox[i+1:]...)
				return req
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			u.t.Fatal("no NOTIFY")
		}
		if _, ok := u.next(left).(*sip.Request); !ok {
			continue
		}
	}
}

// register authenticates a REGISTER of u with pass, challenged afresh.
func (u *uac) register(login sipLogin, pass, expires string) *sip.Response {
	u.t.Helper()
	res := u.request("REGISTER", u.callID, "reg", "", "Expires: "+expires+"\r\n")
	if res.StatusCode != 401 {
		return res
	}
	nonce := challenges(u.t, res, "WWW-Authenticate")[0]["nonce"]
	return u.request("REGISTER", u.callID, "reg", "", "Expires: "+expires+"\r\n"+
		authzAs(login.Username, login.Domain, "Authorization", "SHA-256", nonce, "REGISTER", "sip:"+login.Domain, pass, "00000001"))
}

func reasonOf(res *sip.Response) string {
	if h := res.GetHeader("Reason"); h != nil {
		return h.Value()
	}
	return ""
}

// TestRemoteLogoutRevokes: ending a phone's sip session from the app
// revokes that phone: its binding goes, its next REGISTER with the same
// password is refused 403 saying why (from a new port too, when it names
// its +sip.instance), the user's other phone keeps registering, a phone
// that unregistered itself is not revoked, and a new SIP password lets the
// revoked phone in again.
func TestRemoteLogoutRevokes(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{SIPAddr: "127.0.0.1:0"})
		org := n.Seed("acme", "Ann A")
		ann := org.Users[0]
		web := n.Login("ann@acme.test", "web")
		var login sipLogin
		if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &login); st != 200 {
			t.Fatalf("me/sip: %d", st)
		}
		a := newUAC(t, n.SIP.Addr(), login.Username, login.Domain, "00000000-0000-0000-0000-00000000000a")
		b := newUAC(t, n.SIP.Addr(), login.Username, login.Domain, "")
		if res := a.register(login, login.Password, "120"); res.StatusCode != 200 {
			t.Fatalf("A register: %d", res.StatusCode)
		}
		sessA := sipSessions(t, n, web.Token)
		if len(sessA) != 1 {
			t.Fatalf("sessions: %+v", sessA)
		}
		if res := b.register(login, login.Password, "120"); res.StatusCode != 200 || len(sipSessions(t, n, web.Token)) != 2 {
			t.Fatalf("B register: %d", res.StatusCode)
		}

		if st := n.Do(web.Token, "DELETE", "/api/v1/sessions/"+sessA[0].ID, nil, nil); st != 204 {
			t.Fatalf("end session: %d", st)
		}
		if bs := n.SIP.Bindings(ann.ID); len(bs) != 1 {
			t.Fatalf("bindings after remote logout: %+v", bs)
		}
		res := a.register(login, login.Password, "120")
		if res.StatusCode != 403 || !strings.Contains(reasonOf(res), "signed out from the app") || !strings.Contains(reasonOf(res), "rotate the SIP password") {
			t.Fatalf("revoked A: %d %q", res.StatusCode, reasonOf(res))
		}
		// The same phone from another port: its instance id gives it away.
		a2 := newUAC(t, n.SIP.Addr(), login.Username, login.Domain, "00000000-0000-0000-0000-00000000000a")
		if res := a2.register(login, login.Password, "120"); res.StatusCode != 403 {
			t.Fatalf("revoked A from a new port: %d", res.StatusCode)
		}
		if s := sipSessions(t, n, web.Token); len(s) != 1 || len(n.SIP.Bindings(ann.ID)) != 1 {
			t.Fatalf("revoked phone came back: %+v", s)
		}
		// B is not revoked: it refreshes, unregisters itself and comes back.
		for _, exp := range []string{"120", "0", "120"} {
			if res := b.register(login, login.Password, exp); res.StatusCode != 200 {
				t.Fatalf("B expires %s: %d", exp, res.StatusCode)
			}
		}
		if s := sipSessions(t, n, web.Token); len(s) != 1 {
			t.Fatalf("B sessions: %+v", s)
		}

		// A new password lifts the revocation.
		var rotated sipLogin
		if st := n.Do(web.Token, "POST", "/api/v1/me/sip/password", nil, &rotated); st != 200 || rotated.Password == login.Password {
			t.Fatalf("rotate: %d", st)
		}
		if res := a.register(login, login.Password, "120"); res.StatusCode != 403 {
			t.Fatalf("old password after rotation: %d", res.StatusCode)
		}
		if res := a.register(rotated, rotated.Password, "120"); res.StatusCode != 200 {
			t.Fatalf("A after rotation: %d %q", res.StatusCode, reasonOf(res))
		}
		if s := sipSessions(t, n, web.Token); len(s) != 1 || len(n.SIP.Bindings(ann.ID)) != 1 {
			t.Fatalf("after rotation: %+v", s)
		}
	})
}
