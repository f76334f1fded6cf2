package httpapi

import (
	"net/http"
	"time"

	"vo/internal/apperr"
)

// unmatched labels requests no route took, so a scanner's raw paths never
// become label values.
const unmatched = "unmatched"

// statusWriter remembers the status for the request metrics. It unwraps to
// the real ResponseWriter, so http.NewResponseController (the stream's
// Hijack, Flush) still reaches the connection.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// measured serves r through next and records its route pattern, status and
// time; the mux sets r.Pattern while routing.
func (s *Server) measured(w http.ResponseWriter, r *http.Request, next func(http.ResponseWriter, *http.Request)) {
	if s.cfg.Metrics == nil {
		next(w, r)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	next(sw, r)
	pattern := r.Pattern
	if pattern == "" {
		pattern = unmatched
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	s.cfg.Metrics.Request(pattern, status, time.Since(start))
}

// countRefusedLogin tells a refused login from a rate-limited one by the
// error auth decided on.
func (s *Server) countRefusedLogin(err error) {
	switch apperr.CodeOf(err) {
	case apperr.Unauthenticated:
		s.cfg.Metrics.LoginRefused()
	case apperr.RateLimited:
		s.cfg.Metrics.LoginLimited()
	}
}
