package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}
	return rec.Body.String()
}

func TestRecordingMovesTheNumbers(t *testing.T) {
	m := New()
	m.Request("GET /api/v1/me", 200, 5*time.Millisecond)
	m.Request("unmatched", 404, time.Millisecond)
	m.StreamOpened()
	m.StreamOpened()
	m.StreamClosed()
	m.Delivered(3)
	m.SlowCutOff()
	m.Tx("sqlite", "commit", 2*time.Millisecond)
	m.LoginRefused()
	m.LoginLimited()
	m.LoginLimited()
	m.PushSent()
	m.PushFailed("gone")
	m.PushFailed("gone")
	body := scrape(t, m)
	for _, want := range []string{
		`vo_http_requests_total{route="GET /api/v1/me",status="200"} 1`,
		`vo_http_requests_total{route="unmatched",status="404"} 1`,
		`vo_http_request_duration_seconds_count{route="GET /api/v1/me"} 1`,
		"vo_event_streams 1",
		"vo_events_delivered_total 3",
		"vo_slow_watchers_cut_total 1",
		`vo_store_tx_duration_seconds_count{engine="sqlite",outcome="commit"} 1`,
		"vo_logins_refused_total 1",
		"vo_logins_rate_limited_total 2",
		"vo_pushes_sent_total 1",
		`vo_pushes_failed_total{reason="gone"} 2`,
	} {
		if !strings.Contains(body, want+"\n") {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

// Two Metrics in one process must not share a registry.
func TestSeparateRegistries(t *testing.T) {
	a, b := New(), New()
	a.LoginRefused()
	if body := scrape(t, b); !strings.Contains(body, "vo_logins_refused_total 0\n") {
		t.Errorf("second Metrics saw the first's count:\n%s", body)
	}
}

// Callers with metrics off hold a nil *Metrics and call it anyway.
func TestNilIsSafe(t *testing.T) {
	var m *Metrics
	m.Request("x", 200, time.Second)
	m.StreamOpened()
	m.StreamClosed()
	m.Delivered(1)
	m.SlowCutOff()
	m.Tx("postgres", "rollback", time.Second)
	m.LoginRefused()
	m.LoginLimited()
	m.PushSent()
	m.PushFailed("refused")
}
