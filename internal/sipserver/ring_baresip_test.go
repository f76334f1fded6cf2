package sipserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vo/internal/presence"
	"vo/internal/storetest"
	"vo/internal/votest"
)

func needBaresip(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("VO_REQUIRE_BARESIP") != "" {
			t.Fatal("VO_REQUIRE_BARESIP is set but baresip is not installed (apt-get install baresip-core)")
		}
		t.Skip("baresip not installed (apt-get install baresip-core); set VO_REQUIRE_BARESIP=1 to require it")
	}
	return bin
}

type callRow struct {
	Direction  string
	AnsweredAt *string `json:"answered_at"`
	EndedAt    *string `json:"ended_at"`
	Result     *string
}

func callsOf(n *votest.Node, token string) []callRow {
	var list struct{ Items []callRow }
	n.Do(token, "GET", "/api/v1/calls", nil, &list)
	return list.Items
}

// received reads the audio a phone received in its one call (sndfile's
// -dec dump).
func received(t *testing.T, dir string) []byte {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*-dec.wav"))
	if len(m) != 1 {
		t.Fatalf("received audio dumps in %s: %v", dir, m)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBaresipCallAnswered: baresip A calls baresip B's extension; B
// answers by itself, the server bridges the two, and each side receives
// the other's tone. While the call is up both are on_call (others see
// busy) with their chosen status kept; after it both histories say
// answered and the activity is gone.
func TestBaresipCallAnswered(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	annID, bobID := org.Users[0].ID, org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	if st := n.Do(bob.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "busy", "message": "writing"}, nil); st != 200 {
		t.Fatalf("bob busy: %d", st)
	}
	var annSIP, bobSIP sipLogin
	n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP)
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	annDump, bobDump := t.TempDir(), t.TempDir()
	const annHz, bobHz = 800, 1200
	bobOut := runPhone(t, bin, bobSIP, phoneOpts{Hz: bobHz, AutoAnswer: true, DumpDir: bobDump})
	votest.Eventually(t, 10*time.Second, "bob's phone registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 1, "baresip: " + bobOut.String()
	})
	annOut := runPhone(t, bin, annSIP, phoneOpts{Hz: annHz, Dial: org.Users[1].Extension, QuitAfter: 8 * time.Second, DumpDir: annDump})

	votest.Eventually(t, 15*time.Second, "the call is up for both", func() (bool, string) {
		a, b := callsOf(n, ann.Token), callsOf(n, bob.Token)
		up := len(a) == 1 && len(b) == 1 && a[0].AnsweredAt != nil && b[0].AnsweredAt != nil
		return up, fmt.Sprintf("ann %+v bob %+v\nann's phone: %s\nbob's phone: %s", a, b, annOut.String(), bobOut.String())
	})
	for _, id := range []string{annID, bobID} {
		r, err := n.Store.Presence(context.Background(), org.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State.Activity != presence.OnCall || r.Shown != presence.ShownBusy {
			t.Fatalf("%s during the call: %+v, want on_call shown busy", id, r)
		}
	}
	votest.Eventually(t, 20*time.Second, "the call ended as answered", func() (bool, string) {
		a, b := callsOf(n, ann.Token), callsOf(n, bob.Token)
		done := len(a) == 1 && len(b) == 1 && a[0].Result != nil && b[0].Result != nil && *a[0].Result == "answered" && *b[0].Result == "answered"
		return done, fmt.Sprintf("ann %+v bob %+v", a, b)
	})
	if a := callsOf(n, ann.Token)[0]; a.Direction != "out" || callsOf(n, bob.Token)[0].Direction != "in" {
		t.Fatalf("directions: %+v", a)
	}
	for id, want := range map[string]presence.Status{annID: presence.Available, bobID: presence.Busy} {
		r, _ := n.Store.Presence(context.Background(), org.ID, id)
		if r.State.Activity != presence.None || r.State.Status != want {
			t.Fatalf("%s after the call: %+v, want %s and no activity", id, r, want)
		}
	}
	if r, _ := n.Store.Presence(context.Background(), org.ID, bobID); r.State.Message != "writing" {
		t.Fatalf("bob's message after the call: %q", r.State.Message)
	}
	// Each heard the other: bob's phone got ann's tone, ann's got bob's.
	votest.Eventually(t, 10*time.Second, "bob's phone hung up and wrote its dump", func() (bool, string) {
		return strings.Contains(bobOut.String(), "terminated") || strings.Contains(bobOut.String(), "closed"), "baresip: " + bobOut.String()
	})
	for _, c := range []struct {
		who, dir string
		hz, not  float64
	}{{"bob", bobDump, annHz, bobHz}, {"ann", annDump, bobHz, annHz}} {
		wav := received(t, c.dir)
		share, other := toneShare(t, wav, c.hz), toneShare(t, wav, c.not)
		t.Logf("%s received %d bytes: %.2f of the energy at %.0f Hz, %.2f at %.0f Hz", c.who, len(wav), share, c.hz, other, c.not)
		if share < 0.5 || other > 0.05 {
			t.Fatalf("%s did not hear the other's %.0f Hz tone: %.2f at it, %.2f at %.0f Hz", c.who, c.hz, share, other, c.not)
		}
	}
}

// TestBaresipRingAllFirstAnswerWins: Bob has two phones; both ring at once,
// the one that answers takes the call and the other stops ringing.
func TestBaresipRingAllFirstAnswerWins(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	bobID := org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	var annSIP, bobSIP sipLogin
	n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP)
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	desk := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200})
	soft := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200, AutoAnswer: true})
	votest.Eventually(t, 10*time.Second, "bob's two phones registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 2, "desk: " + desk.String() + "\nsoft: " + soft.String()
	})
	annOut := runPhone(t, bin, annSIP, phoneOpts{Hz: 800, Dial: org.Users[1].Extension, QuitAfter: 6 * time.Second})
	votest.Eventually(t, 15*time.Second, "the call answered on the softphone", func() (bool, string) {
		a := callsOf(n, ann.Token)
		return len(a) == 1 && a[0].AnsweredAt != nil, fmt.Sprintf("ann %+v\nann's phone: %s\nsoft: %s", a, annOut.String(), soft.String())
	})
	votest.Eventually(t, 10*time.Second, "the desk phone rang, then stopped", func() (bool, string) {
		s := desk.String()
		return strings.Contains(s, "Incoming call") && (strings.Contains(s, "terminated") || strings.Contains(s, "closed")), "desk: " + s
	})
	votest.Eventually(t, 15*time.Second, "the call ended as answered", func() (bool, string) {
		b := callsOf(n, bob.Token)
		return len(b) == 1 && b[0].Result != nil && *b[0].Result == "answered", fmt.Sprintf("bob %+v", b)
	})
}

// TestBaresipRingUnanswered: a phone that rings and is not answered in
// time sends the call to voicemail; a caller who gives up while it rings
// leaves a missed call.
func TestBaresipRingUnanswered(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir(), RingTimeout: 4 * time.Second})
	org := n.Seed("acme", "Ann A", "Bob B")
	bobID := org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	var annSIP, bobSIP sipLogin
	n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP)
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	desk := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200})
	votest.Eventually(t, 10*time.Second, "bob's phone registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 1, "desk: " + desk.String()
	})
	// Rings 4 s, then the greeting and ann's tone until she hangs up.
	annOut := runPhone(t, bin, annSIP, phoneOpts{Hz: 800, Dial: org.Users[1].Extension, QuitAfter: 12 * time.Second})
	votest.Eventually(t, 30*time.Second, "a voicemail after no answer", func() (bool, string) {
		b := callsOf(n, bob.Token)
		return len(b) == 1 && b[0].Result != nil && *b[0].Result == "voicemail" && b[0].AnsweredAt == nil,
			fmt.Sprintf("bob %+v\nann's phone: %s\ndesk: %s", b, annOut.String(), desk.String())
	})
	if !strings.Contains(desk.String(), "Incoming call") {
		t.Fatalf("bob's phone never rang: %s", desk.String())
	}
	var vms struct{ Items []struct{ ID string } }
	if n.Do(bob.Token, "GET", "/api/v1/voicemails", nil, &vms); len(vms.Items) != 1 {
		t.Fatalf("voicemails: %+v", vms.Items)
	}
	// Ann calls again and hangs up after 2 s, while it still rings.
	annOut = runPhone(t, bin, annSIP, phoneOpts{Hz: 800, Dial: org.Users[1].Extension, QuitAfter: 2 * time.Second})
	votest.Eventually(t, 15*time.Second, "a missed call", func() (bool, string) {
		b := callsOf(n, bob.Token)
		return len(b) == 2 && b[0].Result != nil && *b[0].Result == "missed", fmt.Sprintf("bob %+v\nann's phone: %s", b, annOut.String())
	})
	if n.Do(bob.Token, "GET", "/api/v1/voicemails", nil, &vms); len(vms.Items) != 1 {
		t.Fatalf("a voicemail from a caller who gave up: %+v", vms.Items)
	}
}

// TestBaresipSignedOutPhoneNotRung: a phone signed out from the app is not
// rung; with no other device the call goes to voicemail.
func TestBaresipSignedOutPhoneNotRung(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	bobID := org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	var annSIP, bobSIP sipLogin
	n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP)
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	desk := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200, AutoAnswer: true, Ctrl: true})
	votest.Eventually(t, 10*time.Second, "bob's phone registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 1, "desk: " + desk.String()
	})
	sess := sipSessions(t, n, bob.Token)
	if len(sess) != 1 {
		t.Fatalf("bob's phone sessions: %+v", sess)
	}
	if st := n.Do(bob.Token, "DELETE", "/api/v1/sessions/"+sess[0].ID, nil, nil); st != 204 {
		t.Fatalf("sign the phone out: %d", st)
	}
	// Bob's web session is still there, but the app does not ring yet, so
	// with the phone gone the call goes to voicemail.
	annOut := runPhone(t, bin, annSIP, phoneOpts{Hz: 800, Dial: org.Users[1].Extension, QuitAfter: 10 * time.Second})
	votest.Eventually(t, 30*time.Second, "a voicemail, not a ring", func() (bool, string) {
		b := callsOf(n, bob.Token)
		return len(b) == 1 && b[0].Result != nil && *b[0].Result == "voicemail", fmt.Sprintf("bob %+v\nann's phone: %s", b, annOut.String())
	})
	if strings.Contains(desk.String(), "Incoming call") {
		t.Fatalf("the signed-out phone rang: %s", desk.String())
	}
	// Nor can it call out: its password alone is not enough any more.
	desk.Command(t, "dial", org.Users[0].Extension)
	votest.Eventually(t, 10*time.Second, "its call refused 403", func() (bool, string) {
		return strings.Contains(desk.String(), "connecting to") && strings.Contains(desk.String(), "403 Forbidden"), desk.String()
	})
	if a := callsOf(n, ann.Token); len(a) != 1 {
		t.Fatalf("the signed-out phone placed a call: ann's calls %+v", a)
	}
}

// TestBaresipForwardUnanswered: Bob forwards unanswered calls to Cat. His
// phone rings out its time, then Cat's rings and she answers: Ann and Cat
// were on an answered call, Bob missed one.
func TestBaresipForwardUnanswered(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", BlobDir: t.TempDir(), RingTimeout: 2 * time.Second})
	org := n.Seed("acme", "Ann A", "Bob B", "Cat C")
	bobID, catID := org.Users[1].ID, org.Users[2].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	cat := n.Login("cat@acme.test", "web")
	if st := n.Do(bob.Token, "PUT", "/api/v1/me/forwarding", map[string]any{"mode": "unanswered", "target": org.Users[2].Extension}, nil); st != 200 {
		t.Fatalf("bob's forwarding: %d", st)
	}
	var annSIP, bobSIP, catSIP sipLogin
	n.Do(ann.Token, "GET", "/api/v1/me/sip", nil, &annSIP)
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	n.Do(cat.Token, "GET", "/api/v1/me/sip", nil, &catSIP)
	bobPhone := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200})
	catPhone := runPhone(t, bin, catSIP, phoneOpts{Hz: 1000, AutoAnswer: true})
	votest.Eventually(t, 10*time.Second, "bob's and cat's phones registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 1 && len(n.SIP.Bindings(catID)) == 1, "bob: " + bobPhone.String() + "\ncat: " + catPhone.String()
	})
	annOut := runPhone(t, bin, annSIP, phoneOpts{Hz: 800, Dial: org.Users[1].Extension, QuitAfter: 7 * time.Second})
	votest.Eventually(t, 25*time.Second, "ann's call answered by cat", func() (bool, string) {
		a, c := callsOf(n, ann.Token), callsOf(n, cat.Token)
		ok := len(a) == 1 && len(c) == 1 && a[0].Result != nil && *a[0].Result == "answered" && c[0].Result != nil && *c[0].Result == "answered"
		return ok, fmt.Sprintf("ann %+v cat %+v\nann's phone: %s", a, c, annOut.String())
	})
	if b := callsOf(n, bob.Token); len(b) != 1 || b[0].Result == nil || *b[0].Result != "missed" {
		t.Fatalf("bob's calls: %+v", b)
	}
	if !strings.Contains(bobPhone.String(), "Incoming call") {
		t.Fatalf("bob's phone never rang: %s", bobPhone.String())
	}
}

// TestBaresipAppCalls: a desk phone and the app call each other through
// the server, G.711 both ways without transcoding. Bob's baresip calls
// Ann, whose app rings beside nothing else and answers; then Ann's app
// calls Bob, whose phone answers by itself. Each time each side receives
// the other's tone.
func TestBaresipAppCalls(t *testing.T) {
	bin := needBaresip(t)
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0", CallMediaAddr: "127.0.0.1:0", BlobDir: t.TempDir()})
	org := n.Seed("acme", "Ann A", "Bob B")
	bobID := org.Users[1].ID
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	if err := votest.Watch(t, n.HTTP.URL, ann).Connect(); err != nil {
		t.Fatal(err)
	}
	var bobSIP sipLogin
	n.Do(bob.Token, "GET", "/api/v1/me/sip", nil, &bobSIP)
	bobDump := t.TempDir()
	bobOut := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200, AutoAnswer: true, DumpDir: bobDump})
	votest.Eventually(t, 10*time.Second, "bob's phone registered", func() (bool, string) {
		return len(n.SIP.Bindings(bobID)) == 1, "baresip: " + bobOut.String()
	})

	// The app calls the desk phone.
	app := votest.NewApp(t)
	var placed struct {
		Call struct{ ID string }
		SDP  string
	}
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": app.Offer()}, &placed); st != 201 {
		t.Fatalf("place: %d", st)
	}
	app.Answered(placed.SDP)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go app.Play(ctx, 800)
	votest.Eventually(t, 15*time.Second, "the app hears the phone", func() (bool, string) {
		return len(app.Heard()) > 44+3*16000, fmt.Sprintf("heard %d bytes; calls %+v\nphone: %s", len(app.Heard()), callsOf(n, ann.Token), bobOut.String())
	})
	if b := callsOf(n, bob.Token); len(b) != 1 || b[0].AnsweredAt == nil {
		t.Fatalf("bob's call is not up: %+v", b)
	}
	if s := votest.ToneShare(app.Heard(), 1200); s < 0.5 {
		t.Fatalf("the app heard %.2f of the phone's 1200 Hz tone", s)
	}
	if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+placed.Call.ID+"/hangup", nil, nil); st != 204 {
		t.Fatalf("hang up: %d", st)
	}
	cancel()
	votest.Eventually(t, 10*time.Second, "the phone's call ended as answered", func() (bool, string) {
		b := callsOf(n, bob.Token)
		return len(b) == 1 && b[0].Result != nil && *b[0].Result == "answered" && strings.Contains(bobOut.String(), "terminated"), fmt.Sprintf("%+v\n%s", b, bobOut.String())
	})
	wav := received(t, bobDump)
	if s := toneShare(t, wav, 800); s < 0.5 {
		t.Fatalf("the phone heard %.2f of the app's 800 Hz tone", s)
	}

	// The desk phone calls the app.
	// Ann has no phone: only her app rings.
	callerDump := t.TempDir()
	bobCalls := runPhone(t, bin, bobSIP, phoneOpts{Hz: 1200, Dial: org.Users[0].Extension, QuitAfter: 8 * time.Second, DumpDir: callerDump})
	var ids []string
	votest.Eventually(t, 10*time.Second, "ann's app rings", func() (bool, string) {
		var list struct {
			Items []struct {
				ID     string
				Result *string
			}
		}
		n.Do(ann.Token, "GET", "/api/v1/calls", nil, &list)
		ids = nil
		for _, c := range list.Items {
			if c.Result == nil {
				ids = append(ids, c.ID)
			}
		}
		return len(ids) == 1, "phone: " + bobCalls.String()
	})
	app = votest.NewApp(t)
	var ans struct{ SDP string }
	if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+ids[0]+"/answer", map[string]any{"sdp": app.Offer()}, &ans); st != 200 {
		t.Fatalf("answer: %d", st)
	}
	app.Answered(ans.SDP)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go app.Play(ctx, 600)
	votest.Eventually(t, 10*time.Second, "the app hears the calling phone", func() (bool, string) {
		return len(app.Heard()) > 44+3*16000, fmt.Sprintf("heard %d bytes", len(app.Heard()))
	})
	if s := votest.ToneShare(app.Heard(), 1200); s < 0.5 {
		t.Fatalf("the app heard %.2f of the calling phone's 1200 Hz tone", s)
	}
	votest.Eventually(t, 15*time.Second, "the phone hung up: answered", func() (bool, string) {
		a := callsOf(n, ann.Token)
		return len(a) == 2 && a[0].Result != nil && *a[0].Result == "answered", fmt.Sprintf("%+v", a)
	})
	votest.Eventually(t, 10*time.Second, "the calling phone wrote its dump", func() (bool, string) {
		return strings.Contains(bobCalls.String(), "terminated") || strings.Contains(bobCalls.String(), "closed"), bobCalls.String()
	})
	if s := toneShare(t, received(t, callerDump), 600); s < 0.5 {
		t.Fatalf("the calling phone heard %.2f of the app's 600 Hz tone", s)
	}
}
