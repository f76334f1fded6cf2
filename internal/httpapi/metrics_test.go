package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"

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
