package httpapi

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/metrics"
)

// TestMetricsMove scrapes the metrics before and after requests and checks
// the numbers moved, under the route pattern rather than the raw path.
func TestMetricsMove(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	fx := sqliteFixture(t, func(_ testing.TB, cfg *Config) { cfg.Metrics = m })
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	checkError(t, fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("ann@acme.test", "wrong password")), 401, apperr.Unauthenticated)
	if r := fx.call(t, "GET", "/api/v1/me", fx.ann.token(), nil); r.Status != 200 {
		t.Fatalf("me: %s", r)
	}
	c := dialEvents(t, t.Context(), fx.testEnv, fx.ann.token(), "")
	defer c.CloseNow()
	// The handshake's answer comes before the stream is counted; its
	// first frame after.
	if f := readEventFrame(t, t.Context(), c); f.Type != "hello" {
		t.Fatalf("first frame %s", f.raw)
	}
	fx.call(t, "GET", "/no/such/thing/12345", "", nil)
	body := scrape()
	for _, want := range []string{
		`vo_http_requests_total{route="POST /api/v1/auth/login",status="401"} 1`,
		`vo_http_requests_total{route="GET /api/v1/me",status="200"} 1`,
		`vo_http_request_duration_seconds_count{route="GET /api/v1/me"} 1`,
		"vo_logins_refused_total 1",
		"vo_event_streams 1",
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
	if strings.Contains(body, "12345") {
		t.Error("a raw path became a label")
	}
}

// metricValue reads one sample, named with its labels, from a scrape;
// absent is 0, which is what a counter not yet touched is worth.
func metricValue(t *testing.T, body, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("sample %q: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// TestMetricsCountEventsAndTransactions: an event a watcher receives moves
// the delivered count, and the write behind it the transaction histogram
// of its engine.
func TestMetricsCountEventsAndTransactions(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	fx := sqliteFixture(t, func(_ testing.TB, cfg *Config) {
		cfg.Metrics = m
		cfg.Hub.SetRecorder(m) // as vo serve wires them
		cfg.Store.RecordTx(m)
	})
	scrape := func() string {
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		return rec.Body.String()
	}
	const (
		delivered = "vo_events_delivered_total"
		commits   = `vo_store_tx_duration_seconds_count{engine="sqlite",outcome="commit"}`
	)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	c := dialEvents(t, ctx, fx.testEnv, fx.ann.token(), "")
	for _, want := range []string{"hello", "snapshot"} {
		if f := readEventFrame(t, ctx, c); f.Type != want {
			t.Fatalf("got %s, want %s", f.raw, want)
		}
	}
	before := scrape()
	if r := fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(), `{"status":"busy"}`); r.Status != 200 {
		t.Fatalf("presence: %s", r)
	}
	for f := readEventFrame(t, ctx, c); f.Type != "presence"; f = readEventFrame(t, ctx, c) {
	}
	after := scrape()
	if b, a := metricValue(t, before, delivered), metricValue(t, after, delivered); a <= b {
		t.Errorf("%s went from %v to %v over an event ann received", delivered, b, a)
	}
	if b, a := metricValue(t, before, commits), metricValue(t, after, commits); a <= b {
		t.Errorf("%s went from %v to %v over a write", commits, b, a)
	}
	if !strings.Contains(after, "vo_slow_watchers_cut_total 0\n") {
		t.Error("a watcher that keeps up was counted as cut off")
	}
}
