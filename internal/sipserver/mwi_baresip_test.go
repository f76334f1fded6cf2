package sipserver_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// TestBaresipMWISignOut: Debian's baresip with mwi.so subscribes to its
// message-summary once registered and prints the waiting voicemail; signed
// out from the app, its binding, session and subscription are gone.
func TestBaresipMWISignOut(t *testing.T) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("VO_REQUIRE_BARESIP") != "" {
			t.Fatal("VO_REQUIRE_BARESIP is set but baresip is not installed (apt-get install baresip-core)")
		}
		t.Skip("baresip not installed (apt-get install baresip-core); set VO_REQUIRE_BARESIP=1 to require it")
	}
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0"})
	org := n.Seed("acme", "Ann A")
	ann := org.Users[0]
	web := n.Login("ann@acme.test", "web")
	var login sipLogin
	if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &login); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	vm := telephony.Voicemail{ID: account.NewID("vm"), OrgID: org.ID, OwnerID: ann.ID, CreatedAt: time.Now(), DurationMS: 1000, BlobKey: "k", MediaType: "audio/wav"}
	if err := n.Store.InsertVoicemail(context.Background(), vm); err != nil {
		t.Fatal(err)
	}
	out := runBaresip(t, bin, login.Username, login.Domain, login.Password, n.SIP.Addr(), "mwi.so")
	votest.Eventually(t, 15*time.Second, "baresip subscribed to its message-summary", func() (bool, string) {
		return n.SIP.MWISubscriptions(ann.ID) == 1 && len(n.SIP.Bindings(ann.ID)) == 1 &&
			strings.Contains(out.String(), "Messages-Waiting: yes"), "baresip: " + out.String()
	})
	if !strings.Contains(out.String(), "Voice-Message: 1/0") {
		t.Fatalf("baresip was not told the counts: %s", out.String())
	}
	sess := sipSessions(t, n, web.Token)
	if len(sess) != 1 {
		t.Fatalf("sessions: %+v", sess)
	}
	if st := n.Do(web.Token, "DELETE", "/api/v1/sessions/"+sess[0].ID, nil, nil); st != 204 {
		t.Fatalf("end session: %d", st)
	}
	n.SIP.VoicemailChanged(org.ID, ann.ID)
	if len(n.SIP.Bindings(ann.ID)) != 0 || n.SIP.MWISubscriptions(ann.ID) != 0 || len(sipSessions(t, n, web.Token)) != 0 {
		t.Fatalf("signed-out baresip kept: bindings %d subscriptions %d", len(n.SIP.Bindings(ann.ID)), n.SIP.MWISubscriptions(ann.ID))
	}
}
