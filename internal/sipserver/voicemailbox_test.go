package sipserver_test

import (
	"strings"
	"testing"

	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// TestMailboxRefusesRevokedPhone: a phone signed out from the app cannot
// dial *97 to hear its user's voicemails, though its password still
// holds: 403, saying why, as its REGISTERs are.
func TestMailboxRefusesRevokedPhone(t *testing.T) {
	t.Parallel()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0"})
	n.Seed("acme", "Ann A")
	web := n.Login("ann@acme.test", "web")
	var login sipLogin
	if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &login); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	a := newUAC(t, n.SIP.Addr(), login.Username, login.Domain, "00000000-0000-0000-0000-0000000000a1")
	if res := a.register(login, login.Password, "120"); res.StatusCode != 200 {
		t.Fatalf("register: %d", res.StatusCode)
	}
	sess := sipSessions(t, n, web.Token)
	if len(sess) != 1 {
		t.Fatalf("sessions: %+v", sess)
	}
	if st := n.Do(web.Token, "DELETE", "/api/v1/sessions/"+sess[0].ID, nil, nil); st != 204 {
		t.Fatalf("end session: %d", st)
	}
	to := "<sip:" + telephony.MailboxDial + "@" + login.Domain + ">"
	res := a.request("INVITE", a.callID, "mbx", to, "")
	if res.StatusCode != 407 {
		t.Fatalf("invite: %d", res.StatusCode)
	}
	a.ack(res)
	nonce := challenges(t, res, "Proxy-Authenticate")[0]["nonce"]
	res = a.request("INVITE", a.callID, "mbx", to,
		authzAs(login.Username, login.Domain, "Proxy-Authorization", "SHA-256", nonce, "INVITE", "sip:"+login.Domain, login.Password, "00000001"))
	if res.StatusCode != 403 || !strings.Contains(reasonOf(res), "signed out from the app") {
		t.Fatalf("the revoked phone's *97: %d %q", res.StatusCode, reasonOf(res))
	}
	a.ack(res)
}
