// An external test package: it serves the node through httpapi, which
// imports node.
package node_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/httpapi"
	"vo/internal/node"
	"vo/internal/notify"
	"vo/internal/notify/pushtest"
	"vo/internal/notify/webpush"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
	"vo/internal/votest"
)

var cheapHash = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// eventually waits (in real time, for goroutines, never for a timeout of
// the code under test) until ok holds.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type pushNode struct {
	*node.Node
	srv *httptest.Server
}

func startPushNode(t *testing.T, cfg node.Config) *pushNode {
	t.Helper()
	n, err := node.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); n.Run(context.Background()) }()
	srv := httptest.NewServer(httpapi.New(httpapi.ForNode(n)))
	t.Cleanup(func() {
		srv.Close()
		n.Close()
		<-done
	})
	return &pushNode{Node: n, srv: srv}
}

func (p *pushNode) call(t *testing.T, method, path, token, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, p.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// login logs Ann in and subscribes the new session with a new device.
func (p *pushNode) login(t *testing.T, ps *pushtest.Server) (string, *pushtest.Device) {
	t.Helper()
	st, b := p.call(t, "POST", "/api/v1/auth/login", "", `{"email":"ann@acme.test","password":"correct horse battery","device_name":"t","platform":"web"}`)
	if st != 200 {
		t.Fatalf("login: %d %s", st, b)
	}
	var a struct{ Token string }
	json.Unmarshal(b, &a)
	st, b = p.call(t, "GET", "/api/v1/push/key", a.Token, "")
	var k struct {
		PublicKey string `json:"public_key"`
	}
	if json.Unmarshal(b, &k); st != 200 || k.PublicKey == "" {
		t.Fatalf("push key: %d %s", st, b)
	}
	ps.ExpectKey(k.PublicKey)
	d := ps.NewDevice()
	sub, _ := json.Marshal(map[string]any{"endpoint": d.Endpoint, "keys": map[string]string{"p256dh": d.P256DH, "auth": d.Auth}})
	if st, b = p.call(t, "PUT", "/api/v1/push/subscription", a.Token, string(sub)); st != 204 {
		t.Fatalf("subscribe: %d %s", st, b)
	}
	return a.Token, d
}

var call = notify.Push{Type: notify.Call, Title: "Bob", Body: "Incoming call", URL: "/calls/c_1", Tag: "call-c_1"}

// TestNodeSendsPushes: the node's worker runs in Run: a push is sent as
// soon as it is queued, a 503 is retried when the node's clock reaches the
// backoff, and Close stops the worker.
func TestNodeSendsPushes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	ps := pushtest.New(t, clk.Now)
	n := startPushNode(t, node.Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheapHash, PushSender: &webpush.Sender{Client: ps.Client(), Clock: clk}})
	o, err := admin.CreateOrg(ctx, n.Store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.CreateUsers(ctx, n.Store, o.ID, cheapHash, []account.NewUser{{Name: "Ann A", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	_, d := n.login(t, ps)
	if q, err := n.Notify.Notify(ctx, o.ID, us[0].ID, call); err != nil || q != 1 {
		t.Fatalf("notify: %d %v", q, err)
	}
	eventually(t, "the push delivered", func() bool { return len(ps.Received(d)) == 1 })

	ps.Script(d, pushtest.Answer{Status: 503})
	n.Notify.Notify(ctx, o.ID, us[0].ID, call)
	eventually(t, "the first try", func() bool { return len(ps.Tries(d)) == 2 })
	// The retry is due after the first backoff (15 s); the worker's poll
	// timer finds it. The clock moves in steps, as the first send's
	// settling may not have read it yet.
	start := clk.Now()
	eventually(t, "the retry delivered", func() bool {
		clk.Advance(time.Second)
		return len(ps.Received(d)) == 2
	})
	if tries := ps.Tries(d); tries[2].Sub(tries[1]) < 15*time.Second || tries[2].Sub(start) > time.Minute {
		t.Fatalf("retried at %v after the failure", tries[2].Sub(tries[1]))
	}
}

// TestNodesShareLiveStreams: with two nodes on one PostgreSQL joined by
// NATS, a session whose event stream is open on node B gets no push from
// a Notify made on node A; once the stream closes it does.
func TestNodesShareLiveStreams(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(ns.Shutdown)
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("NATS did not start")
	}
	clk := clock.Real{}
	ps := pushtest.New(t, clk.Now)
	sender := &webpush.Sender{Client: ps.Client()}
	a := startPushNode(t, node.Config{DSN: dsn, NATSURL: ns.ClientURL(), HashParams: cheapHash, PushSender: sender})
	b := startPushNode(t, node.Config{DSN: dsn, NATSURL: ns.ClientURL(), HashParams: cheapHash, PushSender: sender})
	o, err := admin.CreateOrg(ctx, a.Store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.CreateUsers(ctx, a.Store, o.ID, cheapHash, []account.NewUser{{Name: "Ann A", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	_, d := b.login(t, ps)
	sessions, err := b.Store.Sessions(ctx, us[0].ID)
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions: %v %v", sessions, err)
	}
	sessID := sessions[0].ID
	// The stream, as the event endpoint opens it on node B.
	sub, err := subscribe(ctx, b.Hub, b.Store, o.ID, us[0].ID, sessID)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "node B's mark", func() bool {
		q, _ := a.Notify.Notify(ctx, o.ID, us[0].ID, call)
		return q == 0
	})
	// Pushes queued before the mark arrived are sent; then none more.
	eventually(t, "the queue drained", func() bool {
		q, _ := a.Store.QueuedPushes(ctx)
		return q == 0
	})
	before := len(ps.Tries(d))
	for range 3 {
		if q, _ := a.Notify.Notify(ctx, o.ID, us[0].ID, call); q != 0 {
			t.Fatalf("queued %d for a session live on node B", q)
		}
	}
	sub.Close()
	eventually(t, "the push once the stream closed", func() bool {
		a.Notify.Notify(ctx, o.ID, us[0].ID, call)
		return len(ps.Received(d)) > before
	})
}

// subscribe opens a subscription as a stream does: join the hub, read the
// heads with the store's StreamStart, start there.
func subscribe(ctx context.Context, h *events.Hub, st *store.Store, orgID, userID, sessionID string) (*events.Sub, error) {
	s, err := h.Join(ctx, orgID, userID, sessionID)
	if err != nil {
		return nil, err
	}
	_, _, userHead, err := st.StreamStart(ctx, orgID, userID, sessionID)
	if err != nil {
		s.Close()
		return nil, err
	}
	s.Start(userHead)
	return s, nil
}

// TestCallPushes: a call that rang and nobody took, and a voicemail left,
// reach the callee's closed app as pushes (SPEC §9), decrypted by the test's
// push service; a call answered pushes nothing.
func TestCallPushes(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	ps := pushtest.New(t, clk.Now)
	blobDir, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n := startPushNode(t, node.Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheapHash, Blobs: blobDir, CallMediaAddr: "127.0.0.1:0",
		PushSender: &webpush.Sender{Client: ps.Client(), Clock: clk}})
	o, err := admin.CreateOrg(ctx, n.Store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.CreateUsers(ctx, n.Store, o.ID, cheapHash, []account.NewUser{
		{Name: "Ann A", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"},
		{Name: "Bob B", Email: "bob@acme.test", Extension: "101", Password: "correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	_, d := n.login(t, ps) // Ann's closed app
	ring := telephony.Reach{Phones: func(string) bool { return true }}
	place := func() *telephony.Placed {
		p, err := n.Calls.Place(ctx, o.ID, us[1].ID, "100", ring)
		if err != nil || p.Decision.Action != telephony.Ring {
			t.Fatalf("place: %+v %v", p, err)
		}
		return p
	}
	answered := place()
	if err := n.Calls.Answered(ctx, answered); err != nil {
		t.Fatal(err)
	}
	if err := n.Calls.Ended(ctx, answered, telephony.Answered); err != nil {
		t.Fatal(err)
	}
	if err := n.Calls.Ended(ctx, place(), telephony.Missed); err != nil {
		t.Fatal(err)
	}
	if err := n.Calls.LeaveVoicemail(ctx, place(), telephony.WAV(make([]byte, 16000), 8000), time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, "two pushes", func() bool { return len(ps.Received(d)) >= 2 })

	// Bob's app calls Ann, whose only session is her closed app: it is
	// rung by a push (not sent to voicemail), and when Bob gives up the
	// missed-call push takes its place (same tag).
	app := votest.NewApp(t)
	st, err := n.AppCalls.Place(ctx, o.ID, us[1].ID, "100", app.Offer())
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the ringing push", func() bool { return len(ps.Received(d)) >= 3 })
	calls, _, _ := n.Store.Calls(ctx, o.ID, us[0].ID, 10, "")
	ringing := 0
	for _, c := range calls {
		if c.EndedAt.IsZero() {
			ringing++
		}
	}
	if ringing != 1 {
		t.Fatalf("ann's closed app did not ring: %+v", calls)
	}
	if err := n.AppCalls.Hangup(o.ID, us[1].ID, st.Call.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "four pushes", func() bool { return len(ps.Received(d)) >= 4 })
	var got []notify.Push
	for _, b := range ps.Received(d) {
		var p notify.Push
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			t.Fatalf("push %s: %v", b, err)
		}
		got = append(got, p)
	}
	if len(got) != 4 || got[0].Type != notify.MissedCall || got[0].Body != "Bob B" || got[1].Type != notify.Voicemail ||
		got[1].Title != "Voicemail from Bob B" || got[1].URL != "/calls/voicemail" ||
		got[2].Type != notify.Call || got[2].Title != "Bob B" || got[3].Type != notify.MissedCall || got[3].Tag != got[2].Tag {
		t.Fatalf("pushes: %+v", got)
	}
}
