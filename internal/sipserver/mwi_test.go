package sipserver_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"vo/internal/account"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// subscribe sends a message-summary SUBSCRIBE in dialog callID, answering
// the challenge with pass; toTag is set for a refresh.
func (u *uac) subscribe(login sipLogin, pass, callID, toTag, expires string) *sip.Response {
	u.t.Helper()
	to := "<sip:" + u.ext + "@" + u.domain + ">"
	if toTag != "" {
		to += ";tag=" + toTag
	}
	extra := "Event: message-summary\r\nAccept: application/simple-message-summary\r\nExpires: " + expires + "\r\n"
	res := u.request("SUBSCRIBE", callID, "sub", to, extra)
	if res.StatusCode != 401 {
		return res
	}
	nonce := challenges(u.t, res, "WWW-Authenticate")[0]["nonce"]
	return u.request("SUBSCRIBE", callID, "sub", to, extra+
		authzAs(login.Username, login.Domain, "Authorization", "MD5", nonce, "SUBSCRIBE", "sip:"+u.ext+"@"+u.domain, pass, "00000001"))
}

func header(m *sip.Request, name string) string {
	if h := m.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// wantSummary reads the next NOTIFY and checks its state and counts.
func wantSummary(t *testing.T, u *uac, state, waiting, counts string) *sip.Request {
	t.Helper()
	nt := u.notify(5 * time.Second)
	body := string(nt.Body())
	if header(nt, "Event") != "message-summary" || header(nt, "Content-Type") != "application/simple-message-summary" ||
		!strings.HasPrefix(header(nt, "Subscription-State"), state) ||
		!strings.Contains(body, "Messages-Waiting: "+waiting+"\r\n") || !strings.Contains(body, "Voice-Message: "+counts+"\r\n") ||
		!strings.Contains(body, "Message-Account: sip:"+u.ext+"@"+u.domain+"\r\n") {
		t.Fatalf("NOTIFY: state %q body %q, want %s %s %s", header(nt, "Subscription-State"), body, state, waiting, counts)
	}
	return nt
}

// TestNodeMWI: a registered phone subscribes to its own message-summary
// and is told the user's voicemail counts at once, when a voicemail is left,
// marked heard or deleted through the API, and a final NOTIFY when it
// unsubscribes or is signed out from the app. Nobody learns anything
// unauthenticated, nor about another user's mailbox.
func TestNodeMWI(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{SIPAddr: "127.0.0.1:0"})
		org := n.Seed("acme", "Ann A", "Bob B")
		ann, bob := org.Users[0], org.Users[1]
		web := n.Login("ann@acme.test", "web")
		var login sipLogin
		if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &login); st != 200 {
			t.Fatalf("me/sip: %d", st)
		}
		u := newUAC(t, n.SIP.Addr(), login.Username, login.Domain, "")
		if res := u.register(login, login.Password, "300"); res.StatusCode != 200 {
			t.Fatalf("register: %d", res.StatusCode)
		}

		// Unauthenticated: a challenge and nothing else, whatever the event.
		for _, ev := range []string{"message-summary", "presence"} {
			res := u.request("SUBSCRIBE", "nosub-"+ev, "x", "", "Event: "+ev+"\r\n")
			if res.StatusCode != 401 || res.GetHeader("Allow-Events") != nil {
				t.Fatalf("unauthenticated %s: %d", ev, res.StatusCode)
			}
		}
		// Another user's mailbox.
		res := u.request("SUBSCRIBE", "bob-mwi", "sub", "<sip:"+bob.Extension+"@acme>", "Event: message-summary\r\n")
		nonce := challenges(t, res, "WWW-Authenticate")[0]["nonce"]
		res = u.request("SUBSCRIBE", "bob-mwi", "sub", "<sip:"+bob.Extension+"@acme>", "Event: message-summary\r\n"+
			authzAs(login.Username, login.Domain, "Authorization", "MD5", nonce, "SUBSCRIBE", "sip:"+bob.Extension+"@acme", login.Password, "00000001"))
		if res.StatusCode != 403 {
			t.Fatalf("bob's mailbox: %d", res.StatusCode)
		}

		res = u.subscribe(login, login.Password, "mwi-1", "", "120")
		toTag, _ := res.To().Params.Get("tag")
		if res.StatusCode != 200 || toTag == "" || res.GetHeader("Expires") == nil || res.GetHeader("Expires").Value() != "120" || res.Contact() == nil {
			t.Fatalf("subscribe: %d %v", res.StatusCode, res)
		}
		nt := wantSummary(t, u, "active;expires=120", "no", "0/0")
		if ft, _ := nt.From().Params.Get("tag"); ft != toTag || nt.CallID().Value() != "mwi-1" {
			t.Fatalf("NOTIFY out of dialog: %v", nt)
		}
		if n.SIP.MWISubscriptions(ann.ID) != 1 {
			t.Fatal("subscription not kept")
		}

		ctx := context.Background()
		vm := telephony.Voicemail{ID: account.NewID("vm"), OrgID: org.ID, OwnerID: ann.ID, CreatedAt: time.Now(), DurationMS: 3000, BlobKey: "k", MediaType: "audio/wav"}
		if err := n.Store.InsertVoicemail(ctx, vm); err != nil {
			t.Fatal(err)
		}
		n.SIP.VoicemailChanged(org.ID, ann.ID)
		wantSummary(t, u, "active;expires=", "yes", "1/0")
		n.SIP.VoicemailChanged(org.ID, bob.ID) // not Ann's: nothing sent to her phone
		if st := n.Do(web.Token, "PATCH", "/api/v1/voicemails/"+vm.ID, map[string]any{"heard": true}, nil); st != 200 {
			t.Fatalf("heard: %d", st)
		}
		wantSummary(t, u, "active;expires=", "no", "0/1")
		if st := n.Do(web.Token, "DELETE", "/api/v1/voicemails/"+vm.ID, nil, nil); st != 204 {
			t.Fatalf("delete: %d", st)
		}
		wantSummary(t, u, "active;expires=", "no", "0/0")

		// A refresh in the dialog, then Expires 0 ends it with a last NOTIFY.
		if res := u.subscribe(login, login.Password, "mwi-1", toTag, "300"); res.StatusCode != 200 || res.GetHeader("Expires").Value() != "300" {
			t.Fatalf("refresh: %d", res.StatusCode)
		}
		wantSummary(t, u, "active;expires=300", "no", "0/0")
		if res := u.subscribe(login, login.Password, "mwi-1", toTag, "0"); res.StatusCode != 200 {
			t.Fatalf("unsubscribe: %d", res.StatusCode)
		}
		wantSummary(t, u, "terminated", "no", "0/0")
		if n.SIP.MWISubscriptions(ann.ID) != 0 {
			t.Fatal("unsubscribed subscription kept")
		}
		if res := u.subscribe(login, login.Password, "mwi-1", toTag, "300"); res.StatusCode != 481 {
			t.Fatalf("refresh of an ended dialog: %d", res.StatusCode)
		}

		// Signed out from the app: the subscription ends too.
		if res := u.subscribe(login, login.Password, "mwi-2", "", "300"); res.StatusCode != 200 {
			t.Fatalf("subscribe again: %d", res.StatusCode)
		}
		wantSummary(t, u, "active", "no", "0/0")
		sess := sipSessions(t, n, web.Token)
		if len(sess) != 1 {
			t.Fatalf("sessions: %+v", sess)
		}
		if st := n.Do(web.Token, "DELETE", "/api/v1/sessions/"+sess[0].ID, nil, nil); st != 204 {
			t.Fatalf("end session: %d", st)
		}
		n.SIP.VoicemailChanged(org.ID, ann.ID)
		wantSummary(t, u, "terminated", "no", "0/0")
		if n.SIP.MWISubscriptions(ann.ID) != 0 {
			t.Fatal("subscription of a signed-out phone kept")
		}
		if res := u.subscribe(login, login.Password, "mwi-3", "", "300"); res.StatusCode != 403 {
			t.Fatalf("signed-out phone subscribes: %d", res.StatusCode)
		}
	})
}
