package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"vo/internal/events"
	"vo/internal/httpapi"
	"vo/internal/node"
	"vo/internal/store"
)

// vo is Virtual Office served in this process.
type vo struct {
	srv    *httptest.Server
	api    *httpapi.Server
	hub    *events.Hub
	st     *store.Store
	seeded Seeded
}

// newVo serves Virtual Office in this process, wired as `vo serve` wires
// it, with an org of n seeded watchers; pingEvery zero is the default.
func newVo(t *testing.T, n int, pingEvery time.Duration) *vo {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	seeded, err := Seed(ctx, st, n)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.New(ctx, node.Config{Store: st, HashParams: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	go nd.Run(ctx)
	t.Cleanup(func() { nd.Close() })
	hc := httpapi.ForNode(nd)
	hc.PingEvery = pingEvery
	hub, api := nd.Hub, httpapi.New(hc)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &vo{srv: srv, api: api, hub: hub, st: st, seeded: seeded}
}

// TestMeasure runs the whole measurement small, against vo, the bare
// broadcaster and the floor: every watcher must get every change, once, in
// order.
func TestMeasure(t *testing.T) {
	t.Parallel()
	const watchers = 200
	o := Options{Watchers: watchers, Changes: 4, Burst: 20, Settle: time.Millisecond}
	v := newVo(t, watchers, 0)
	vf, err := Measure(context.Background(), VoTarget(v.srv.URL, v.seeded), o)
	if err != nil {
		t.Fatal(err)
	}
	bare := httptest.NewServer(NewBare())
	t.Cleanup(bare.Close)
	b, err := Measure(context.Background(), BareTarget(bare.URL, v.seeded.UserIDs), o)
	if err != nil {
		t.Fatal(err)
	}
	floor := httptest.NewServer(NewFloor())
	t.Cleanup(floor.Close)
	fl, err := Measure(context.Background(), FloorTarget(floor.URL, v.seeded.UserIDs), o)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Figures{vf, b, fl} {
		if len(f.Latencies) != o.Changes || f.Median() <= 0 || f.Rate() <= 0 {
			t.Errorf("%s: incomplete figures %+v", f.Name, f)
		}
	}
}

// TestMeasureWithPings runs the measurement while the server pings every
// watcher all the time: the library's pings, written from their own
// goroutines, must never land inside the event frames the server batches
// (a watcher would see a broken frame and fail the run).
func TestMeasureWithPings(t *testing.T) {
	t.Parallel()
	const watchers = 50
	v := newVo(t, watchers, time.Millisecond)
	if _, err := Measure(context.Background(), VoTarget(v.srv.URL, v.seeded), Options{Watchers: watchers, Changes: 5, Burst: 40, Settle: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
}

// TestMeasureSeesLoss makes sure a lost delivery fails a run rather than
// slipping through: the bare broadcaster's change is never published.
func TestMeasureSeesLoss(t *testing.T) {
	t.Parallel()
	bare := httptest.NewServer(NewBare())
	t.Cleanup(bare.Close)
	f, err := connect(context.Background(), 3, BareTarget(bare.URL, nil), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	_, err = f.await(context.Background(), newPhase(3, "u_nobody", nil), 200*time.Millisecond, func() error { return nil })
	if err == nil {
		t.Fatal("a change nobody received was not reported")
	}
}

// TestReport: the table marks each target met or missed, and leaves out
// the servers that were not measured.
func TestReport(t *testing.T) {
	t.Parallel()
	vo := Figures{Watchers: 10_000, Burst: 100, BurstTime: time.Second, RSSBeforeKiB: 1000, RSSAfterKiB: 101_000,
		Latencies: []time.Duration{100 * time.Millisecond, 140 * time.Millisecond, 120 * time.Millisecond}}
	var b strings.Builder
	if err := Report(&b, Results{Vo: vo}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"1000000", "120.0 ms", "10.0", "≥ 450000 ok", "≤ 130.0 ms ok", "≤ 16 ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "centrifugo") || !(Results{Vo: vo}).Met() {
		t.Errorf("unexpected table or verdict:\n%s", out)
	}
	floor := vo
	floor.Name, floor.Latencies = "floor", []time.Duration{60 * time.Millisecond}
	b.Reset()
	if err := Report(&b, Results{Vo: vo, Floor: floor}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "vo/floor") || !strings.Contains(out, "2.00×") || strings.Contains(out, "vo/bare") {
		t.Errorf("the floor's column or ratio is wrong:\n%s", out)
	}
	vo.Latencies = []time.Duration{time.Second}
	if (Results{Vo: vo}).Met() {
		t.Error("a median of a second met the target")
	}
}

// TestYardsticksRefuseBadInput: both yardsticks answer a publish that is
// not a JSON object with 400, one over 64 KiB with 413, and publish
// nothing; a stream without an upgrade gets 426, unknown paths 404.
func TestYardsticksRefuseBadInput(t *testing.T) {
	t.Parallel()
	for _, h := range []interface {
		http.Handler
		seqNow() int64
	}{NewBare(), NewFloor()} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		for body, want := range map[string]int{"": 400, "x": 400, "[1]": 400, `{"a":"` + strings.Repeat("b", 1<<16) + `"}`: 413} {
			resp, err := http.Post(srv.URL+"/publish", "application/json", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("%T: publish %.10q: %s, want %d", h, body, resp.Status, want)
			}
		}
		if resp, err := http.Get(srv.URL + "/ws"); err != nil || resp.StatusCode != http.StatusUpgradeRequired {
			t.Errorf("%T: GET /ws without an upgrade: %v %v", h, resp.Status, err)
		}
		if resp, err := http.Get(srv.URL + "/nope"); err != nil || resp.StatusCode != http.StatusNotFound {
			t.Errorf("%T: GET /nope: %v %v", h, resp.Status, err)
		}
		if n := h.seqNow(); n != 0 {
			t.Errorf("%T: %d events published from bad input", h, n)
		}
	}
}

func (b *Bare) seqNow() int64  { b.mu.Lock(); defer b.mu.Unlock(); return b.seq }
func (f *Floor) seqNow() int64 { f.mu.Lock(); defer f.mu.Unlock(); return f.seq }
