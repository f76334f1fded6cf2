package notify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/metrics"
	"vo/internal/notify"
	"vo/internal/notify/pushtest"
	"vo/internal/notify/webpush"
	"vo/internal/store"
	"vo/internal/storetest"
)

var t0 = time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)

// rig is one node's notify service on a real store and hub, sending to a
// push service started by the test.
type rig struct {
	t     *testing.T
	st    *store.Store
	hub   *events.Hub
	svc   *notify.Service
	ps    *pushtest.Server
	c     *clock.Fake
	org   account.Org
	user  account.User
	other account.User
}

func newRig(t *testing.T, st *store.Store, c *clock.Fake, ps *pushtest.Server, cfg notify.Config) *rig {
	t.Helper()
	r := &rig{t: t, st: st, c: c, ps: ps, hub: events.NewHub(st)}
	cfg.Store, cfg.Streams, cfg.Clock = st, r.hub, c
	cfg.Sender = &webpush.Sender{Client: ps.Client(), Clock: c}
	if cfg.NodeID == "" {
		cfg.NodeID = account.NewID("n")
	}
	r.svc = notify.New(cfg)
	k, err := r.svc.Key(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ps.ExpectKey(k.Public)
	return r
}

// setup makes an org with two users on st.
func (r *rig) setup() {
	ctx := context.Background()
	o, err := r.st.CreateOrg(ctx, "acme", "Acme")
	if err != nil {
		r.t.Fatal(err)
	}
	us, err := r.st.CreateUsers(ctx, o.ID, []account.HashedUser{
		{NewUser: account.NewUser{Name: "Ann", Email: "ann@x.test", Extension: "101", Role: account.RoleMember}, PasswordHash: "x"},
		{NewUser: account.NewUser{Name: "Ben", Email: "ben@x.test", Extension: "102", Role: account.RoleMember}, PasswordHash: "x"},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	r.org, r.user, r.other = o, us[0], us[1]
}

// device logs u in and subscribes the new session with a new browser.
func (r *rig) device(u account.User) (account.Session, *pushtest.Device) {
	r.t.Helper()
	ctx := context.Background()
	now := r.c.Now()
	sess := account.Session{ID: account.NewID("s"), UserID: u.ID, OrgID: u.OrgID, DeviceName: "d", Platform: account.PlatformWeb, CreatedAt: now, LastSeenAt: now}
	if err := r.st.CreateSession(ctx, sess, "tok-"+sess.ID, "csrf-"+sess.ID); err != nil {
		r.t.Fatal(err)
	}
	d := r.ps.NewDevice()
	if err := r.st.SetPushSubscription(ctx, notify.Subscription{SessionID: sess.ID, UserID: u.ID, OrgID: u.OrgID, Endpoint: d.Endpoint, P256DH: d.P256DH, Auth: d.Auth}); err != nil {
		r.t.Fatal(err)
	}
	return sess, d
}

func (r *rig) notify(u account.User, p notify.Push) int {
	r.t.Helper()
	n, err := r.svc.Notify(context.Background(), u.OrgID, u.ID, p)
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) round() int {
	r.t.Helper()
	n, err := r.svc.Round(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) queued() int {
	r.t.Helper()
	n, err := r.st.QueuedPushes(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

func (r *rig) subscribed(sessionID string) bool {
	_, err := r.st.PushSubscriptionOf(context.Background(), sessionID)
	return err == nil
}

var msg = notify.Push{Type: notify.Message, Title: "Ann", Body: "Lunch? ☕", URL: "/chat/c_1", Tag: "c_1"}

func payload(p notify.Push) string {
	b, _ := json.Marshal(p)
	return string(b)
}

func each(t *testing.T, cfg notify.Config, f func(t *testing.T, r *rig)) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			c := clock.NewFake(t0)
			r := newRig(t, storetest.Open(t, engine, c), c, pushtest.New(t, c.Now), cfg)
			r.setup()
			f(t, r)
		})
	}
}

// TestDelivered: a push reaches every subscribed session of the user, as
// the payload of SPEC §9, decrypted by the browser's key; nobody else's.
func TestDelivered(t *testing.T) {
	each(t, notify.Config{}, func(t *testing.T, r *rig) {
		_, d1 := r.device(r.user)
		_, d2 := r.device(r.user)
		_, dOther := r.device(r.other)
		if n := r.notify(r.user, msg); n != 2 {
			t.Fatalf("queued %d, want 2", n)
		}
		if n := r.round(); n != 2 {
			t.Fatalf("round sent %d, want 2", n)
		}
		want := `{"type":"message","title":"Ann","body":"Lunch? ☕","url":"/chat/c_1","tag":"c_1"}`
		for _, d := range []*pushtest.Device{d1, d2} {
			if got := r.ps.Received(d); len(got) != 1 || got[0] != want {
				t.Fatalf("device got %q, want [%s]", got, want)
			}
		}
		if ttl := r.ps.TTLs(d1); len(ttl) != 1 || ttl[0] != 86400 {
			t.Fatalf("TTL %v, want the default day", ttl)
		}
		if got := r.ps.Received(dOther); len(got) != 0 {
			t.Fatalf("another user got %q", got)
		}
		if r.queued() != 0 || r.round() != 0 {
			t.Fatal("a delivered push stayed queued")
		}
		if _, err := r.svc.Notify(context.Background(), r.org.ID, r.user.ID, notify.Push{Type: "spam"}); err == nil {
			t.Fatal("an unknown type was queued")
		}
	})
}

// TestLiveStreamNotPushed: a session with a live event stream, on this
// node or (by its marks) on another, gets no push; once its stream ends
// it does again.
func TestLiveStreamNotPushed(t *testing.T) {
	each(t, notify.Config{}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		s1, d1 := r.device(r.user)
		s2, d2 := r.device(r.user)
		sub, err := subscribe(ctx, r.hub, r.st, r.org.ID, r.user.ID, s1.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := r.notify(r.user, msg); n != 1 {
			t.Fatalf("queued %d, want 1 (the session without a stream)", n)
		}
		r.round()
		if len(r.ps.Received(d1)) != 0 || len(r.ps.Received(d2)) != 1 {
			t.Fatalf("live device got %d, other %d", len(r.ps.Received(d1)), len(r.ps.Received(d2)))
		}
		sub.Close()

		// A second node on the same database with s2's stream.
		hub2 := events.NewHub(r.st)
		svc2 := notify.New(notify.Config{Store: r.st, Streams: hub2, Sender: &webpush.Sender{Client: r.ps.Client(), Clock: r.c}, Clock: r.c, NodeID: "n2", ShareLive: true, LiveFor: time.Minute})
		sub2, err := subscribe(ctx, hub2, r.st, r.org.ID, r.user.ID, s2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if err := svc2.SyncLive(ctx, false); err != nil {
			t.Fatal(err)
		}
		if n := r.notify(r.user, msg); n != 1 {
			t.Fatalf("queued %d, want 1 (s1, whose stream closed)", n)
		}
		r.round()
		if len(r.ps.Received(d1)) != 1 || len(r.ps.Received(d2)) != 1 {
			t.Fatalf("after: d1 %d, d2 %d", len(r.ps.Received(d1)), len(r.ps.Received(d2)))
		}
		// The other node dies: its marks lapse.
		r.c.Advance(time.Minute)
		if n := r.notify(r.user, msg); n != 2 {
			t.Fatalf("queued %d after the marks lapsed, want 2", n)
		}
		// It renews them while alive, and takes them back as the stream ends.
		if err := svc2.SyncLive(ctx, true); err != nil {
			t.Fatal(err)
		}
		if n := r.notify(r.user, msg); n != 1 {
			t.Fatalf("queued %d with the mark renewed, want 1", n)
		}
		sub2.Close()
		if err := svc2.SyncLive(ctx, false); err != nil {
			t.Fatal(err)
		}
		if n := r.notify(r.user, msg); n != 2 {
			t.Fatalf("queued %d after the stream ended, want 2", n)
		}
	})
}

// TestLogoutStopsPushes: a push queued before logout is never sent, and
// none is queued after.
func TestLogoutStopsPushes(t *testing.T) {
	each(t, notify.Config{}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		s1, d1 := r.device(r.user)
		r.notify(r.user, msg)
		if err := r.st.EndSession(ctx, r.org.ID, r.user.ID, s1.ID); err != nil {
			t.Fatal(err)
		}
		if r.subscribed(s1.ID) || r.queued() != 0 {
			t.Fatal("the subscription outlived its session")
		}
		if n := r.notify(r.user, msg); n != 0 {
			t.Fatalf("queued %d for a logged-out device", n)
		}
		r.round()
		if got := r.ps.Tries(d1); len(got) != 0 {
			t.Fatalf("a logged-out device was pushed %d times", len(got))
		}
	})
}

// TestGoneDeletesSubscription: 404 and 410 delete the subscription and
// whatever else was queued for it.
func TestGoneDeletesSubscription(t *testing.T) {
	each(t, notify.Config{Batch: 1}, func(t *testing.T, r *rig) {
		for _, status := range []int{410, 404} {
			s1, d1 := r.device(r.user)
			r.ps.Script(d1, pushtest.Answer{Status: status})
			r.notify(r.user, msg)
			r.notify(r.user, msg)
			r.round()
			if r.subscribed(s1.ID) || r.queued() != 0 {
				t.Fatalf("%d: subscribed %v, queued %d", status, r.subscribed(s1.ID), r.queued())
			}
			if got := r.ps.Tries(d1); len(got) != 1 {
				t.Fatalf("%d: tried %d times, want 1", status, len(got))
			}
			if n := r.notify(r.user, msg); n != 0 {
				t.Fatalf("%d: queued %d after gone", status, n)
			}
		}
	})
}

// TestRetryBackoff: 429 and 5xx are retried after the backoff (doubling
// from Backoff) or Retry-After when longer, on the service's clock, and
// given up after MaxAttempts; the subscription stays.
func TestRetryBackoff(t *testing.T) {
	each(t, notify.Config{Backoff: 10 * time.Second, MaxAttempts: 5}, func(t *testing.T, r *rig) {
		s1, d1 := r.device(r.user)
		r.ps.Script(d1, pushtest.Answer{Status: 429, RetryAfter: "60"}, pushtest.Answer{Status: 500}, pushtest.Answer{Status: 503},
			pushtest.Answer{Status: 502}, pushtest.Answer{Status: 500})
		r.notify(r.user, msg)
		start := r.c.Now()
		r.round()
		// Each wait, and the instant before it ends, when nothing is sent.
		for i, wait := range []time.Duration{60 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second} {
			r.c.Advance(wait - time.Second)
			if r.round() != 0 {
				t.Fatalf("retry %d before its time", i+1)
			}
			r.c.Advance(time.Second)
			if r.round() != 1 {
				t.Fatalf("retry %d not made at its time", i+1)
			}
		}
		tries := r.ps.Tries(d1)
		want := []time.Duration{0, 60 * time.Second, 80 * time.Second, 120 * time.Second, 200 * time.Second}
		if len(tries) != len(want) {
			t.Fatalf("tries %v", tries)
		}
		for i, at := range tries {
			if at.Sub(start) != want[i] {
				t.Fatalf("try %d at +%v, want +%v", i, at.Sub(start), want[i])
			}
		}
		if r.queued() != 0 {
			t.Fatal("a push was kept after its last attempt")
		}
		r.c.Advance(time.Hour)
		if r.round() != 0 || len(r.ps.Received(d1)) != 0 {
			t.Fatal("sent after giving up")
		}
		if !r.subscribed(s1.ID) {
			t.Fatal("giving up deleted the subscription")
		}
		// A later push gets through.
		r.notify(r.user, msg)
		r.round()
		if got := r.ps.Received(d1); len(got) != 1 || got[0] != payload(msg) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestExpiry: a push carries what is left of its TTL to the push
// service, and is dropped rather than sent or retried past it (a call
// that has stopped ringing); the metrics count what became of each.
func TestExpiry(t *testing.T) {
	m := metrics.New()
	each(t, notify.Config{Backoff: 15 * time.Second, Metrics: m}, func(t *testing.T, r *rig) {
		_, d := r.device(r.user)
		ring := notify.Push{Type: notify.Call, Title: "Bob", Body: "Incoming call", URL: "/calls/c_1", Tag: "call-c_1", TTL: 30 * time.Second}
		r.ps.Script(d, pushtest.Answer{Status: 503}, pushtest.Answer{Status: 503})
		r.notify(r.user, ring)
		r.round()
		r.c.Advance(15 * time.Second)
		r.round()
		if ttl := r.ps.TTLs(d); len(ttl) != 2 || ttl[0] != 30 || ttl[1] != 15 {
			t.Fatalf("TTLs %v, want [30 15]", ttl)
		}
		// The next retry would come at +45 s, past the TTL: dropped now.
		if r.queued() != 0 {
			t.Fatal("a push kept past its TTL")
		}
		// Queued while the push service was away until past its TTL.
		r.notify(r.user, ring)
		r.c.Advance(30 * time.Second)
		r.round()
		if len(r.ps.Tries(d)) != 2 || r.queued() != 0 {
			t.Fatalf("an expired push was sent (%d tries) or kept", len(r.ps.Tries(d)))
		}
		r.notify(r.user, msg)
		r.round()
		r.ps.Script(d, pushtest.Answer{Status: 410})
		r.notify(r.user, msg)
		r.round()
	})
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	engines := 1
	if os.Getenv("VO_TEST_POSTGRES_URL") != "" {
		engines = 2
	}
	for _, want := range []string{
		fmt.Sprintf("vo_pushes_sent_total %d", engines),
		fmt.Sprintf(`vo_pushes_failed_total{reason="expired"} %d`, 2*engines),
		fmt.Sprintf(`vo_pushes_failed_total{reason="gone"} %d`, engines),
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, rec.Body)
		}
	}
}

// TestTwoNodesSendOnce: two nodes, each its own store on one database,
// working the queue at the same time send every push exactly once.
func TestTwoNodesSendOnce(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		c := clock.NewFake(t0)
		ps := pushtest.New(t, c.Now)
		var nodes []*rig
		for range 2 {
			st, err := store.Open(ctx, store.Options{DSN: dsn, DataDir: t.TempDir(), Clock: c})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			nodes = append(nodes, newRig(t, st, c, ps, notify.Config{Batch: 4}))
		}
		if nodes[0].svc == nil || nodes[1].svc == nil {
			t.Fatal("no service")
		}
		k0, _ := nodes[0].svc.Key(ctx)
		k1, _ := nodes[1].svc.Key(ctx)
		if k0 != k1 {
			t.Fatal("the nodes have different VAPID keys")
		}
		a := nodes[0]
		a.setup()
		var devs []*pushtest.Device
		for range 5 {
			_, d := a.device(a.user)
			devs = append(devs, d)
		}
		const pushes = 20
		for i := range pushes {
			a.notify(a.user, notify.Push{Type: notify.Message, Title: "t", Body: fmt.Sprint(i), URL: "/", Tag: "x"})
		}
		var wg sync.WaitGroup
		sent := make([]int, 2)
		for i, n := range nodes {
			wg.Go(func() {
				for range 10 {
					k, err := n.svc.Round(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					sent[i] += k
				}
			})
		}
		wg.Wait()
		if sent[0]+sent[1] != pushes*len(devs) {
			t.Fatalf("sent %v, want %d in all", sent, pushes*len(devs))
		}
		for _, d := range devs {
			got := r0(ps.Received(d))
			if len(got) != pushes {
				t.Fatalf("device got %d pushes, want %d", len(got), pushes)
			}
			for i := range pushes {
				if got[fmt.Sprint(i)] != 1 {
					t.Fatalf("push %d reached a device %d times", i, got[fmt.Sprint(i)])
				}
			}
		}
		t.Logf("node shares: %v", sent)
	})
}

// r0 counts the pushes received by body.
func r0(got []string) map[string]int {
	m := map[string]int{}
	for _, g := range got {
		var p notify.Push
		json.Unmarshal([]byte(g), &p)
		m[p.Body]++
	}
	return m
}

// TestRunKeepsLiveMarks: a node sharing its streams (ShareLive) writes
// them as the hub reports changes, and clears them when it stops, so other
// nodes push to those sessions again at once.
func TestRunKeepsLiveMarks(t *testing.T) {
	each(t, notify.Config{}, func(t *testing.T, r *rig) {
		ctx := context.Background()
		s1, _ := r.device(r.user)
		hub2 := events.NewHub(r.st)
		svc2 := notify.New(notify.Config{Store: r.st, Streams: hub2, Sender: &webpush.Sender{Client: r.ps.Client(), Clock: r.c}, Clock: r.c, NodeID: "n2", ShareLive: true})
		hub2.OnChange(svc2.StreamsChanged)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); svc2.Run(runCtx) }()
		sub, err := subscribe(ctx, hub2, r.st, r.org.ID, r.user.ID, s1.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer sub.Close()
		waitFor(t, "the mark of node 2", func() bool { return r.notify(r.user, msg) == 0 })
		stop()
		<-done
		if n := r.notify(r.user, msg); n != 1 {
			t.Fatalf("queued %d after node 2 stopped, want 1", n)
		}
	})
}

// waitFor waits in real time for goroutines, never for a timeout of the
// code under test.
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
