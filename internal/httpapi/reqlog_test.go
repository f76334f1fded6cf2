package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/apidoc/apitypes"
)

// syncBuffer is a log destination that the server's goroutines and the test
// share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logLine is one JSON line of the request log.
type logLine struct {
	Level      string  `json:"level"`
	Msg        string  `json:"msg"`
	Method     string  `json:"method"`
	Route      string  `json:"route"`
	Status     int     `json:"status"`
	DurationMS float64 `json:"duration_ms"`
	RequestID  string  `json:"request_id"`
}

func requestLines(t *testing.T, log string) map[string]logLine {
	t.Helper()
	out := map[string]logLine{}
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if ll.Msg == "request" {
			if _, dup := out[ll.RequestID]; dup {
				t.Errorf("two request lines with id %q", ll.RequestID)
			}
			out[ll.RequestID] = ll
		}
	}
	return out
}

// TestRequestLogHoldsNoSecrets runs a session's worth of requests against a
// server logging at debug level, and reads its whole log: each request has
// its line under the id it answered as X-Request-Id, and no token, CSRF
// token, password or message text used is anywhere in it.
func TestRequestLogHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	withLog := func(_ testing.TB, cfg *Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		const (
			message = "secret-status-text-123"
			newPW   = "a brand new passphrase 456"
			wrongPW = "wrong-password-789"
			bogus   = "bogus-token-0123456789abcdefghijklmnopqrstu"
		)
		secrets := []string{testPassword, newPW, wrongPW, message, bogus}
		for _, p := range []*person{fx.ann, fx.bob, fx.carla, fx.annika, fx.bobT} {
			secrets = append(secrets, p.login.Token, p.login.CSRFToken)
		}
		type sent struct {
			route  string
			status int
			id     string
		}
		var want []sent
		check := func(route string, status int, a httpAnswer) httpAnswer {
			t.Helper()
			if a.Status != status {
				t.Fatalf("%s answered %s, want %d", route, a, status)
			}
			want = append(want, sent{route, status, a.Header.Get("X-Request-Id")})
			return a
		}

		check("POST /api/v1/auth/login", 401, fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("bob@acme.test", wrongPW)))
		web := mustJSON[apitypes.LoginAnswer](t, check("POST /api/v1/auth/login", 200, fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("bob@acme.test", testPassword))), 200)
		secrets = append(secrets, web.Token, web.CSRFToken)
		check("GET /api/v1/me", 200, fx.call(t, "GET", "/api/v1/me", web.Token, nil))
		cookie := map[string]string{"Cookie": "vo_session=" + web.Token}
		check("GET /api/v1/me", 200, fx.do(t, "GET", "/api/v1/me", nil, cookie))
		check("PUT /api/v1/me/presence", 200, fx.do(t, "PUT", "/api/v1/me/presence", strings.NewReader(`{"status":"busy","message":"`+message+`"}`),
			map[string]string{"Cookie": "vo_session=" + web.Token, "X-CSRF-Token": web.CSRFToken, "Content-Type": "application/json"}))

		c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(fx.srv.URL, "http")+"/api/v1/events",
			&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + web.Token}}})
		if err != nil {
			t.Fatalf("dial events: %v", err)
		}
		defer c.CloseNow()
		want = append(want, sent{"GET /api/v1/events", http.StatusSwitchingProtocols, res.Header.Get("X-Request-Id")})
		readEventFrame(t, ctx, c) // hello

		check("PUT /api/v1/me/password", 204, fx.call(t, "PUT", "/api/v1/me/password", web.Token,
			`{"current_password":"`+testPassword+`","new_password":"`+newPW+`","log_out_other_devices":false}`))
		check("POST /api/v1/auth/logout", 204, fx.call(t, "POST", "/api/v1/auth/logout", web.Token, nil))
		check("GET /api/v1/me", 401, fx.call(t, "GET", "/api/v1/me", bogus, nil))
		check("/api/", 404, fx.call(t, "GET", "/api/v1/nothing?token="+bogus, "", nil))

		// The stream's line is written when its handler returns, which
		// may be after the client read its first frame.
		for !strings.Contains(buf.String(), want[5].id) && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		log := buf.String()
		lines := requestLines(t, log)
		for _, w := range want {
			if len(w.id) != 32 {
				t.Errorf("%s: X-Request-Id %q, want 32 hex digits", w.route, w.id)
			}
			l, ok := lines[w.id]
			if !ok {
				t.Errorf("%s (%d): no request line with id %q", w.route, w.status, w.id)
				continue
			}
			if l.Route != w.route || l.Status != w.status || l.Level != "DEBUG" || l.Method == "" || l.DurationMS < 0 {
				t.Errorf("request line %+v, want route %q status %d at DEBUG", l, w.route, w.status)
			}
		}
		for _, s := range secrets {
			if strings.Contains(log, s) {
				t.Errorf("the log holds %q:\n%s", s, log)
			}
		}
	}, withLog)
}

// TestRequestID: a proxy's X-Request-Id is kept only when the proxy is
// trusted and the id is short and plain; anything else gets a fresh id.
func TestRequestID(t *testing.T) {
	t.Parallel()
	trusted, err := ParseTrustedProxies("10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cfg: Config{TrustedProxies: trusted}}
	for _, tt := range []struct {
		name, peer, id string
		kept           bool
	}{
		{"trusted proxy", "10.0.0.1:4000", "edge-42.abc_DEF", true},
		{"untrusted peer", "192.0.2.7:4000", "edge-42", false},
		{"trusted, no id", "10.0.0.1:4000", "", false},
		{"trusted, a space", "10.0.0.1:4000", "edge 42", false},
		{"trusted, a newline", "10.0.0.1:4000", "edge\nlevel=ERROR", false},
		{"trusted, 65 characters", "10.0.0.1:4000", strings.Repeat("a", 65), false},
	} {
		r, _ := http.NewRequest("GET", "/healthz", nil)
		r.RemoteAddr = tt.peer
		if tt.id != "" {
			r.Header.Set("X-Request-Id", tt.id)
		}
		got := s.requestID(r)
		if tt.kept && got != tt.id {
			t.Errorf("%s: id %q, want the proxy's %q", tt.name, got, tt.id)
		}
		if !tt.kept && (got == tt.id || len(got) != 32) {
			t.Errorf("%s: id %q, want 32 fresh hex digits", tt.name, got)
		}
	}
}

// TestRequestLogOfAFailure: a 5xx is logged at error level, and the
// internal error's line carries the same request id, so an operator finds
// the cause from the id a user quotes.
func TestRequestLogOfAFailure(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := New(Config{Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	s.handle("GET /test/fail", func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("the disk is on fire")
	})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/test/fail?q=1", nil))
	id := w.Header().Get("X-Request-Id")
	if w.Code != 500 || len(id) != 32 {
		t.Fatalf("answered %d with X-Request-Id %q, want 500 and an id", w.Code, id)
	}
	var internal, request int
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var ll logLine
		if err := json.Unmarshal([]byte(l), &ll); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if ll.RequestID != id || ll.Level != "ERROR" {
			t.Errorf("log line %q, want request_id %q at ERROR", l, id)
		}
		switch ll.Msg {
		case "http: internal error":
			internal++
		case "request":
			request++
			if ll.Route != "GET /test/fail" || ll.Status != 500 || ll.Method != "GET" {
				t.Errorf("request line %+v", ll)
			}
		}
	}
	if internal != 1 || request != 1 {
		t.Errorf("log has %d internal-error and %d request lines, want one each:\n%s", internal, request, buf.String())
	}
}
