package appcall_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/zaf/g711"

	"vo/internal/appcall"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

// app plays the app's side of a call: a pion peer connection on the
// loopback that sends a PCMU tone and keeps what it receives, decoded.
type app struct {
	t     *testing.T
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex
	pcm []byte
}

func newApp(t *testing.T) *app {
	t.Helper()
	var m webrtc.MediaEngine
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	a := &app{t: t, pc: pc}
	a.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(a.track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.pcm = append(a.pcm, g711.DecodeUlaw(p.Payload)...)
			a.mu.Unlock()
		}
	})
	return a
}

// offer makes the app's offer with every candidate in it.
func (a *app) offer() string {
	a.t.Helper()
	o, err := a.pc.CreateOffer(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(a.pc)
	if err := a.pc.SetLocalDescription(o); err != nil {
		a.t.Fatal(err)
	}
	<-done
	return a.pc.LocalDescription().SDP
}

func (a *app) answered(sdp string) {
	a.t.Helper()
	if err := a.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		a.t.Fatal(err)
	}
}

// play sends a hz tone, 20 ms a packet, until ctx ends.
func (a *app) play(ctx context.Context, hz float64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pcm := make([]byte, 320)
		for k := range 160 {
			n := float64(i*160 + k)
			binary.LittleEndian.PutUint16(pcm[2*k:], uint16(int16(8000*math.Sin(2*math.Pi*hz*n/8000))))
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 160)}, Payload: g711.EncodeUlaw(pcm)}
		if a.track.WriteRTP(p) != nil {
			return
		}
	}
}

func (a *app) heard() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return telephony.WAV(append([]byte(nil), a.pcm...), 8000)
}

// share is how much of a 16-bit 8 kHz WAV's energy is at hz (Goertzel
// over 20 ms blocks).
func share(wav []byte, hz float64) float64 {
	pcm := wav[44:]
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var at, total float64
	for off := 0; off+320 <= len(pcm); off += 320 {
		var s1, s2, e float64
		for i := range 160 {
			x := float64(int16(binary.LittleEndian.Uint16(pcm[off+2*i:])))
			e += x * x
			s1, s2 = x+k*s1-s2, s1
		}
		at += (s1*s1 + s2*s2 - k*s1*s2) * 2 / 160
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}

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
		caller, callee := newApp(t), newApp(t)
		var out placed
		if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.offer()}, &out); st != 201 {
			t.Fatalf("place: %d", st)
		}
		caller.answered(out.SDP)
		var ringing []row
		votest.Eventually(t, 5*time.Second, "bob's call rings", func() (bool, string) {
			ringing = calls(n, bobPhone.Token)
			return len(ringing) == 1 && ringing[0].Result == nil, fmt.Sprint(ringing)
		})
		var ans struct{ SDP string }
		if st := n.Do(bobPhone.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": callee.offer()}, &ans); st != 200 {
			t.Fatalf("answer: %d", st)
		}
		callee.answered(ans.SDP)
		if st := n.Do(bobDesk.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": newApp(t).offer()}, nil); st != 409 {
			t.Fatalf("a second answer: %d, want 409", st)
		}
		if st := n.Do(ann.Token, "POST", "/api/v1/calls/"+ringing[0].ID+"/answer", map[string]any{"sdp": newApp(t).offer()}, nil); st != 404 {
			t.Fatalf("the caller answering the callee's row: %d, want 404", st)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go caller.play(ctx, 800)
		go callee.play(ctx, 1200)
		votest.Eventually(t, 10*time.Second, "each hears the other", func() (bool, string) {
			a, b := caller.heard(), callee.heard()
			return len(a) > 44+16000 && len(b) > 44+16000, fmt.Sprintf("ann heard %d bytes, bob %d", len(a), len(b))
		})
		for who, c := range map[string]struct {
			a      *app
			hz, no float64
		}{"ann": {caller, 1200, 800}, "bob": {callee, 800, 1200}} {
			wav := c.a.heard()
			if s, o := share(wav, c.hz), share(wav, c.no); s < 0.5 || o > 0.05 {
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
	caller := newApp(t)
	var out placed
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.answered(out.SDP)
	greeting := len(telephony.G711Frames(telephony.Greeting, false)) * 320
	votest.Eventually(t, 20*time.Second, "the greeting played", func() (bool, string) {
		return len(caller.heard()) >= 44+greeting*9/10, fmt.Sprintf("heard %d of %d bytes", len(caller.heard())-44, greeting)
	})
	ctx, cancel := context.WithCancel(context.Background())
	go caller.play(ctx, 800)
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
	if s := share(wav, 800); s < 0.5 || vms.Items[0].DurationMS < 1000 {
		t.Fatalf("bob's voicemail: %d ms, %.2f of it at 800 Hz", vms.Items[0].DurationMS, s)
	}
	if b := calls(n, bob.Token); len(b) != 1 || b[0].Result == nil || *b[0].Result != "voicemail" {
		t.Fatalf("bob's calls: %+v", b)
	}

	// Cat has no live session: voicemail; Ann gives up in the greeting.
	caller = newApp(t)
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": caller.offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.answered(out.SDP)
	votest.Eventually(t, 10*time.Second, "the greeting starts", func() (bool, string) { return len(caller.heard()) > 44+3200, "" })
	n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil)
	votest.Eventually(t, 10*time.Second, "cat missed a call", func() (bool, string) {
		c := calls(n, cat.Token)
		return len(c) == 1 && c[0].Result != nil && *c[0].Result == "missed", fmt.Sprint(c)
	})

	// Bob is back; he declines: voicemail.
	n.SetPresence(bob, map[string]any{"status": "available"})
	caller = newApp(t)
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[1].Extension, "sdp": caller.offer()}, &out); st != 201 {
		t.Fatalf("place: %d", st)
	}
	caller.answered(out.SDP)
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
		return len(caller.heard()) > 44+greeting/2, ""
	})
	n.Do(ann.Token, "POST", "/api/v1/calls/"+out.Call.ID+"/hangup", nil, nil)
}

// Bad offers and dial strings get clear errors and store no call.
func TestAppCallRefused(t *testing.T) {
	n, org := start(t, "sqlite")
	ann := n.Login("ann@acme.test", "web")
	good := newApp(t).offer()
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
		if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": newApp(t).offer()}, nil); st != 201 {
			t.Fatalf("call %d: %d", i+1, st)
		}
	}
	if st := n.Do(ann.Token, "POST", "/api/v1/calls", map[string]any{"to": org.Users[2].Extension, "sdp": good}, nil); st != 429 {
		t.Fatalf("a fourth call at once: %d, want 429", st)
	}
}
