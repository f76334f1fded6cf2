package httpapi

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"net/http"
)

// reqInfo is what one request's log lines share: its id, and the logger
// they go to. It rides in the request's context, so that writeError, deep in
// a handler, logs under the same id.
type reqInfo struct {
	id  string
	log *slog.Logger
}

type reqInfoKey struct{}

// unmatchedRoute stands for the route of a request that no pattern matched:
// its path is the client's to choose, and a log must not hold what a client
// typed into a URL (a token pasted into it, say).
const unmatchedRoute = "unmatched"

// logRequest gives the request an id, answered as X-Request-Id before the
// handler runs and carried in the context; it wraps *w to see the status.
// The func it returns logs the request line: at debug level, or at error
// level for a 5xx. Only the method, route pattern, status, duration and id
// are logged — never headers, query or body, which hold tokens, passwords
// and message text. It is deferred first thing in ServeHTTP.
func (s *Server) logRequest(w *http.ResponseWriter, r **http.Request) func() {
	start := s.cfg.Clock.Now()
	info := &reqInfo{id: s.requestID(*r), log: s.cfg.Logger}
	if info.log == nil {
		info.log = slog.Default()
	}
	(*w).Header().Set("X-Request-Id", info.id)
	rec := &statusRecorder{ResponseWriter: *w}
	*w = rec
	*r = (*r).WithContext(context.WithValue((*r).Context(), reqInfoKey{}, info))
	req := *r
	return func() {
		// The mux sets Pattern on the request it was given, which
		// limitBody may have copied; asking it again gives the same answer.
		_, route := s.mux.Handler(req)
		if route == "" {
			route = unmatchedRoute
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK // nothing written: net/http answers 200
		}
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		}
		info.log.LogAttrs(req.Context(), level, "request",
			slog.String("method", req.Method),
			slog.String("route", route),
			slog.Int("status", status),
			slog.Float64("duration_ms", float64(s.cfg.Clock.Now().Sub(start).Microseconds())/1000),
			slog.String("request_id", info.id))
	}
}

// requestID is the id of r: one a trusted proxy sent, so that its logs and
// ours name a request alike, or else 16 random bytes in hex. A client's own
// is never taken: it could make its requests look like another's.
func (s *Server) requestID(r *http.Request) string {
	if peer, ok := peerAddr(r); ok && s.trusted(peer) {
		if id := r.Header.Get("X-Request-Id"); safeRequestID(id) {
			return id
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// safeRequestID reports whether a proxy's id may go into logs and headers
// as it is: short, and of letters, digits and - _ . only, so that it cannot
// forge log lines or smuggle text into them.
func safeRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// requestLog is the logger and id of r's request, for writeError; a request
// that did not pass through ServeHTTP logs to the default logger.
func requestLog(r *http.Request) *slog.Logger {
	if info, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		return info.log.With(slog.String("request_id", info.id))
	}
	return slog.Default()
}

// statusRecorder notes the status a handler answered with. It passes
// Flush and Hijack on (the event stream's WebSocket upgrade hijacks), and
// Unwrap lets http.ResponseController reach the connection's deadlines.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over; a hijacked request is logged with the
// 101 Switching Protocols that the hijacker writes on the raw connection.
func (w *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }
