package sipserver_test

import (
	"testing"

	"vo/internal/storetest"
	"vo/internal/votest"
)

type sipLogin struct {
	Username, Password, Domain, Registrar string
}

type sessionItem struct {
	ID, Platform string
	DeviceName   string `json:"device_name"`
}

func sipSessions(t *testing.T, n *votest.Node, token string) []sessionItem {
	t.Helper()
	var out struct{ Items []sessionItem }
	if st := n.Do(token, "GET", "/api/v1/sessions", nil, &out); st != 200 {
		t.Fatalf("sessions: %d", st)
	}
	var sip []sessionItem
	for _, s := range out.Items {
		if s.Platform == "sip" {
			sip = append(sip, s)
		}
	}
	return sip
}

// TestNodeRegistrar: a node with a SIP address runs the registrar over the
// store; the login GET /api/v1/me/sip gives registers over UDP and TCP as a
// sip session listed by the API, a remote logout drops the binding, and
// Expires 0 logs the phone out.
func TestNodeRegistrar(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{SIPAddr: "127.0.0.1:0"})
		org := n.Seed("acme", "Ann A")
		ann := org.Users[0]
		web := n.Login("ann@acme.test", "web")
		var login sipLogin
		if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &login); st != 200 || login.Username != ann.Extension || login.Domain != "acme" {
			t.Fatalf("me/sip: %d %+v", st, login)
		}
		for _, network := range []string{"udp", "tcp"} {
			p := dial(t, network, n.SIP.Addr())
			p.ext, p.domain = login.Username, login.Domain
			res := p.send("REGISTER", "")
			if res.StatusCode != 401 {
				t.Fatalf("%s: unauthenticated %d", network, res.StatusCode)
			}
			nonce := challenges(t, res, "WWW-Authenticate")[0]["nonce"]
			az := func(pass, nc string) string {
				return "Expires: 120\r\n" + authzAs(login.Username, login.Domain, "Authorization", "SHA-256", nonce, "REGISTER", "sip:acme", pass, nc)
			}
			if res := p.send("REGISTER", az("not the password", "00000001")); res.StatusCode != 403 || len(sipSessions(t, n, web.Token)) != 0 {
				t.Fatalf("%s: wrong password %d", network, res.StatusCode)
			}
			if res := p.send("REGISTER", az(login.Password, "00000002")); res.StatusCode != 200 {
				t.Fatalf("%s: register %d", network, res.StatusCode)
			}
			sip := sipSessions(t, n, web.Token)
			if len(sip) != 1 || sip[0].DeviceName != "Desk phone (baresip)" || len(n.SIP.Bindings(ann.ID)) != 1 {
				t.Fatalf("%s: sip sessions %+v", network, sip)
			}
			if res := p.send("REGISTER", az(login.Password, "00000002")); res.StatusCode != 401 {
				t.Fatalf("%s: replayed nonce and count: %d", network, res.StatusCode)
			}
			if network == "udp" {
				// A remote logout: the binding is gone.
				if st := n.Do(web.Token, "DELETE", "/api/v1/sessions/"+sip[0].ID, nil, nil); st != 204 {
					t.Fatalf("end session: %d", st)
				}
				if bs := n.SIP.Bindings(ann.ID); len(bs) != 0 {
					t.Fatalf("bindings after remote logout: %+v", bs)
				}
				continue
			}
			res = p.send("REGISTER", "Expires: 0\r\n"+authzAs(login.Username, login.Domain, "Authorization", "MD5", nonce, "REGISTER", "sip:acme", login.Password, "00000003"))
			if res.StatusCode != 200 || len(sipSessions(t, n, web.Token)) != 0 || len(n.SIP.Bindings(ann.ID)) != 0 {
				t.Fatalf("%s: unregister %d", network, res.StatusCode)
			}
		}
	})
}
