package appcall_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"vo/internal/appcall"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

type placed struct {
	Call struct{ ID string }
	SDP  string
}

type row struct {
	ID         string
	Direction  string
	AnsweredAt *string `json:"answered_at"`
	Result     *string
}

func calls(n *votest.Node, token string) []row {
	var list struct{ Items []row }
	n.Do(token, "GET", "/api/v1/calls", nil, &list)
	return list.Items
}

func start(t *testing.T, engine string) (*votest.Node, votest.Org) {
	n := votest.Start(t, storetest.DSN(t, engine), votest.Options{CallMediaAddr: "127.0.0.1:0", BlobDir: t.TempDir(), RingTimeout: 3 * time.Second})
	return n, n.Seed("acme", "Ann A", "Bob B", "Cat C")
}

// TestAppCall: Ann's app calls Bob's extension; both of Bob's connected
// sessions ring, one answers, and each app receives the other's tone
// through the server. Bob's other session cannot answer any more; Ann
// hangs up and both histories say answered.
func TestAppCall(t *testing.T) {
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { testAppCall(t, engine) })
	}
}

func testAppCall(t *testing.T, engine string) {
	{
		n, org := start(t, engine)
		ann := n.Login("ann@acme.test", "web")
		bobPhone, bobDesk := n.Login("bob@acme.test", "mobile"), n.Login("bob@acme.test", "web")
		for _, s := range []votest.Session{bobPhone, bobDesk} {
			if err := votest.Watch(t, n.HTTP.URL, s).Connect(); err != nil {
				t.Fatal(err)
			}
		}
		caller, callee := votest.NewApp(t), votest.NewApp(t)
		var out placed
		if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.Offer()}, &out); st != 201 {
			t.Fatalf("place: %d", st)
		}
		caller.Answered(out.SDP)
		var ringing []row
		votest.Eventually(t, 5*time.Second, "bob's call rings", func() (bool, string) {
			ringing = calls(n, bobPhone.Token)
			return len(ringing) == 1 && ringing[0].Result == nil, fmt.Sprint(ringing)
		})
		var ans struct{ SDP string }
		if st := n.Do(bobPhone.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": callee.Offer()}, &ans); st != 200 {
			t.Fatalf("answer: %d", st)
		}
		callee.Answered(ans.SDP)
		if st := n.Do(bobDesk.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": votest.NewApp(t).Offer()}, nil); st != 409 {
			t.Fatalf("a second answer: %d, want 409", st)
		}
		if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": votest.NewApp(t).Offer()}, nil); st != 404 {
			t.Fatalf("the caller answering the callee's row: %d, want 404", st)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go caller.Play(ctx, 800)
		go callee.Play(ctx, 1200)
		votest.Eventually(t, 10*time.Second, "each hears the other", func() (bool, string) {
			a, b := caller.Heard(), callee.Heard()
			return len(a) > 44+16000 && len(b) > 44+16000, fmt.Sprintf("ann heard %d bytes, bob %d", len(a), len(b))
		})
		for who, c := range map[string]struct {
			a      *votest.App
			hz, no float64
		}{"ann": {caller, 1200, 800}, "bob": {callee, 800, 1200}} {
			wav := c.a.Heard()
			if s, o := votest.ToneShare(wav, c.hz), votest.ToneShare(wav, c.no); s < 0.5 || o > 0.05 {
				t.Fatalf("%s: %.2f of the energy at %.0f Hz, %.2f at %.0f Hz", who, s, c.hz, o, c.no)
			}
		}
		if got := calls(n, ann.Token); len(got) != 1 || got[0].AnsweredAt == nil {
			t.Fatalf("ann's call is not up: %+v", got)
		}
		if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil); st != 204 {
			t.Fatalf("hang up: %d", st)
		}
		votest.Eventually(t, 5*time.Second, "both histories say answered", func() (bool, string) {
			a, b := calls(n, ann.Token), calls(n, bobDesk.Token)
			ok := len(a) == 1 && len(b) == 1 && a[0].Result != nil && *a[0].Result == "answered" && b[0].Result != nil && *b[0].Result == "answered"
			return ok, fmt.Sprintf("ann %+v bob %+v", a, b)
		})
		if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil); st != 404 {
			t.Fatalf("hang up an ended call: %d, want 404", st)
		}
	}
}

// TestAppCallVoicemail: Bob in Do not disturb: nothing of his rings, Ann's
// app hears the greeting and what she says is Bob's voicemail. Cat has no
// app open: her call goes to voicemail too, and Ann hanging up during the
// greeting leaves a missed call. A declined call goes to voicemail.
func TestAppCallVoicemail(t *testing.T) {
	n, org := start(t, "sqlite")
	ann := n.Login("ann@acme.test", "web")
	bob := n.Login("bob@acme.test", "web")
	cat := n.Login("cat@acme.test", "web")
	if err := votest.Watch(t, n.HTTP.URL, bob).Connect(); err != nil {
		t.Fatal(err)
	}
	n.SetPresence(bob, map[string]any{"status": "dnd"})
	caller := votest.NewApp(t)
	var out placed
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.Offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.Answered(out.SDP)
	greeting := len(telephony.G711Frames(telephony.Greeting, false)) * 320
	votest.Eventually(t, 20*time.Second, "the greeting played", func() (bool, string) {
		return len(caller.Heard()) >= 44+greeting*9/10, fmt.Sprintf("heard %d of %d bytes", len(caller.Heard())-44, greeting)
	})
	ctx, cancel := context.WithCancel(context.Background())
	go caller.Play(ctx, 800)
	time.Sleep(2 * time.Second)
	cancel()
	if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil); st != 204 {
		t.Fatalf("hang up: %d", st)
	}
	var vms struct {
		Items []struct {
			ID         string
			DurationMS int64 `json:"duration_ms"`
		}
	}
	votest.Eventually(t, 10*time.Second, "bob's voicemail", func() (bool, string) {
		n.Do(bob.Token, "GET", "/api/v1/voicemails", nil, &vms)
		return len(vms.Items) == 1, fmt.Sprint(vms.Items)
	})
	req, _ := http.NewRequest("GET", n.HTTP.URL+"/api/v1/voicemails/"+vms.Items[0].ID+"/audio", nil)
	req.Header.Set("Authorization", "Bearer "+bob.Token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	wav, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if s := votest.ToneShare(wav, 800); s < 0.5 || vms.Items[0].DurationMS < 1000 {
		t.Fatalf("bob's voicemail: %d ms, %.2f of it at 800 Hz", vms.Items[0].DurationMS, s)
	}
	if b := calls(n, bob.Token); len(b) != 1 || b[0].Result == nil || *b[0].Result != "voicemail" {
		t.Fatalf("bob's calls: %+v", b)
	}

	// Cat has no live session: voicemail; Ann gives up in the greeting.
	caller = votest.NewApp(t)
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": caller.Offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.Answered(out.SDP)
	votest.Eventually(t, 10*time.Second, "the greeting starts", func() (bool, string) { return len(caller.Heard()) > 44+3200, "" })
	n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil)
	votest.Eventually(t, 10*time.Second, "cat missed a call", func() (bool, string) {
		c := calls(n, cat.Token)
		return len(c) == 1 && c[0].Result != nil && *c[0].Result == "missed", fmt.Sprint(c)
	})

	// Bob is back; he declines: voicemail.
	n.SetPresence(bob, map[string]any{"status": "available"})
	caller = votest.NewApp(t)
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.Offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.Answered(out.SDP)
	var ringing []row
	votest.Eventually(t, 5*time.Second, "bob's call rings", func() (bool, string) {
		ringing = calls(n, bob.Token)
		return len(ringing) == 2 && ringing[0].Result == nil, fmt.Sprint(ringing)
	})
	if st := n.Do(cat.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/decline", nil, nil); st != 404 {
		t.Fatalf("cat declines bob's call: %d, want 404", st)
	}
	if st := n.Do(bob.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/decline", nil, nil); st != 204 {
		t.Fatalf("decline: %d", st)
	}
	votest.Eventually(t, 20*time.Second, "the greeting after declining", func() (bool, string) {
		return len(caller.Heard()) > 44+greeting/2, ""
	})
	n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil)
}

// Bad offers and dial strings get clear errors and store no call.
func TestAppCallRefused(t *testing.T) {
	n, org := start(t, "sqlite")
	ann := n.Login("ann@acme.test", "web")
	good := votest.NewApp(t).Offer()
	for _, c := range []struct {
		body map[string]any
		want int
	}{
		{map[string]any{"to": org.Users[1].Extension}, 400},
		{map[string]any{"to": org.Users[1].Extension, "sdp": "v=0\r\n"}, 400},
		{map[string]any{"to": org.Users[1].Extension, "sdp": 7}, 400},
		{map[string]any{"to": "999", "sdp": good}, 404},
		{map[string]any{"to": "+15555550000", "sdp": good}, 403},
	} {
		if st := n.Do(ann.Token, "POST", "/api/v1/calls", c.body, nil); st != c.want {
			t.Errorf("%v: %d, want %d", c.body, st, c.want)
		}
	}
	if got := calls(n, ann.Token); len(got) != 0 {
		t.Fatalf("refused calls were stored: %+v", got)
	}
	if st := n.Do("", "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": good}, nil); st != 401 {
		t.Fatalf("unauthenticated: %d", st)
	}
	// Each call holds a peer connection on the server: three at once.
	for i := range appcall.MaxCallsPerUser {
		if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": votest.NewApp(t).Offer()}, nil); st != 201 {
			t.Fatalf("call %d: %d", i+1, st)
		}
	}
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": good}, nil); st != 429 {
		t.Fatalf("a fourth call at once: %d, want 429", st)
	}
}
