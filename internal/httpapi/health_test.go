package httpapi

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

// tcpProxy forwards one address to another until stopped, so a test can
// cut a node off from its database and restore it.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	addr := p.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
}

func (p *tcpProxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func healthStatus(t *testing.T, e *testEnv) httpAnswer {
	t.Helper()
	return e.do(t, "GET", "/healthz", nil, nil)
}

func wantUnavailable(t *testing.T, a httpAnswer) {
	t.Helper()
	if a.Status != 503 || !strings.Contains(string(a.Body), `"code":"unavailable"`) || strings.Contains(string(a.Body), "ping") {
		t.Fatalf("healthz = %s, want 503 unavailable without detail", a)
	}
}

// TestHealthzPostgresStopped cuts the store off from PostgreSQL through a
// proxy: 200, then 503 with the error body, then 200 after a restart.
func TestHealthzPostgresStopped(t *testing.T) {
	dsn := storetest.DSN(t, "postgres")
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{target: u.Host}
	p.start(t)
	t.Cleanup(p.stop)
	u.Host = p.addr
	clk := clock.NewFake(testEpoch)
	st, err := store.Open(context.Background(), store.Options{DSN: u.String(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newTestEnv(t, st, clk, func(_ testing.TB, c *Config) { c.HealthTimeout = 300 * time.Millisecond })
	if a := healthStatus(t, e); a.Status != 200 {
		t.Fatalf("healthz = %s, want 200", a)
	}
	p.stop()
	wantUnavailable(t, healthStatus(t, e))
	p.start(t)
	if a := healthStatus(t, e); a.Status != 200 {
		t.Fatalf("healthz after restart = %s, want 200", a)
	}
}

// TestHealthzSQLiteClosed: a closed store cannot serve.
func TestHealthzSQLiteClosed(t *testing.T) {
	clk := clock.NewFake(testEpoch)
	st := storetest.Open(t, "sqlite", clk)
	e := newTestEnv(t, st, clk)
	if a := healthStatus(t, e); a.Status != 200 {
		t.Fatalf("healthz = %s, want 200", a)
	}
	st.Close()
	wantUnavailable(t, healthStatus(t, e))
}
