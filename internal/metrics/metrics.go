// Package metrics holds the server's Prometheus metrics (issue 10, point 3).
// Each Metrics owns its own registry rather than the global default, so
// several servers in one test process do not collide. Every recording
// method is safe on a nil *Metrics, so callers with metrics switched off
// need no ifs.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics records what the server does; build it with New.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	streams   prometheus.Gauge
	delivered prometheus.Counter
	slowCut   prometheus.Counter
	tx        *prometheus.HistogramVec
	refused   prometheus.Counter
	limited   prometheus.Counter
	pushSent  prometheus.Counter
	pushFail  *prometheus.CounterVec
}

// New returns Metrics registered on a fresh registry of their own.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vo_http_requests_total",
			Help: "HTTP requests by route pattern and status.",
		}, []string{"route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vo_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "vo_event_streams",
			Help: "Live event streams.",
		}),
		delivered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vo_events_delivered_total",
			Help: "Event frames queued to watchers.",
		}),
		slowCut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vo_slow_watchers_cut_total",
			Help: "Watchers cut off for falling behind.",
		}),
		tx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vo_store_tx_duration_seconds",
			Help:    "Store write transaction time, from begin to commit or rollback, by engine and outcome.",
			Buckets: prometheus.DefBuckets,
		}, []string{"engine", "outcome"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vo_logins_refused_total",
			Help: "Logins refused for bad credentials.",
		}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vo_logins_rate_limited_total",
			Help: "Logins refused by the rate limit.",
		}),
		pushSent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vo_pushes_sent_total",
			Help: "Web Pushes a push service took.",
		}),
		pushFail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vo_pushes_failed_total",
			Help: "Web Pushes not delivered, by reason (gone, given_up, expired, refused).",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.streams, m.delivered,
		m.slowCut, m.tx, m.refused, m.limited, m.pushSent, m.pushFail)
	return m
}

// Request records one HTTP request; pattern is the mux's route pattern,
// never the raw path, so the label set stays bounded.
func (m *Metrics) Request(pattern string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(pattern).Observe(d.Seconds())
}

// StreamOpened counts one more live event stream.
func (m *Metrics) StreamOpened() {
	if m != nil {
		m.streams.Inc()
	}
}

// StreamClosed counts one fewer live event stream.
func (m *Metrics) StreamClosed() {
	if m != nil {
		m.streams.Dec()
	}
}

// Delivered counts n event frames queued to watchers.
func (m *Metrics) Delivered(n int) {
	if m != nil {
		m.delivered.Add(float64(n))
	}
}

// SlowCutOff counts one watcher cut off for falling behind.
func (m *Metrics) SlowCutOff() {
	if m != nil {
		m.slowCut.Inc()
	}
}

// Tx records how long one store write transaction took on engine
// ("sqlite", "postgres") and how it ended ("commit", "rollback").
func (m *Metrics) Tx(engine, outcome string, d time.Duration) {
	if m != nil {
		m.tx.WithLabelValues(engine, outcome).Observe(d.Seconds())
	}
}

// LoginRefused counts one login refused for bad credentials.
func (m *Metrics) LoginRefused() {
	if m != nil {
		m.refused.Inc()
	}
}

// LoginLimited counts one login refused by the rate limit.
func (m *Metrics) LoginLimited() {
	if m != nil {
		m.limited.Inc()
	}
}

// PushSent counts one push a push service took.
func (m *Metrics) PushSent() {
	if m != nil {
		m.pushSent.Inc()
	}
}

// PushFailed counts one push not delivered: "gone" (404/410, the
// subscription deleted), "given_up" (retries spent), "expired" (its TTL
// over before it could go), "refused" (another 4xx).
func (m *Metrics) PushFailed(reason string) {
	if m != nil {
		m.pushFail.WithLabelValues(reason).Inc()
	}
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
