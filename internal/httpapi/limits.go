package httpapi

// What one client can hold open without logging in: a request body must
// keep arriving at a minimum rate, and one address may hold only so many
// connections. The header read has its own timeout (ReadHeaderTimeout in
// cmd/vo/serve.go).

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"vo/internal/apperr"
	"vo/internal/clock"
)

// MinRate cuts a request body that arrives more slowly than BytesPerSec
// on average once Grace has passed, as Apache's mod_reqtimeout does
// (body=10,MinRate=1024): the deadline is Grace after the request began
// and moves a second later for every BytesPerSec bytes received. A phone
// sending a 10 MiB photo at 20 KiB/s never comes near it; a client sending
// a byte a second is cut after about Grace. One flat deadline could not
// tell the two apart.
type MinRate struct {
	Grace       time.Duration
	BytesPerSec int64
}

// DefaultMinRate is at least 1 KiB/s on average after the first 10 s.
var DefaultMinRate = MinRate{Grace: 10 * time.Second, BytesPerSec: 1024}

// errTooSlow is what a cut body's reader gets.
var errTooSlow = apperr.New(apperr.Invalid, "the request body arrived too slowly")

// rateBody is a request body under a MinRate. Its timer runs on the
// fakeable clock; when the deadline has come, cut makes a Read blocked on
// the network return at once (a read deadline in the past).
type rateBody struct {
	body  io.ReadCloser
	clk   clock.Clock
	rate  MinRate
	start time.Time
	cut   func()

	mu    sync.Mutex
	n     int64 // bytes received
	timer clock.Timer
	done  bool // read to the end, or the handler returned: cut no more
	late  bool // cut
}

func (m MinRate) wrap(body io.ReadCloser, clk clock.Clock, cut func()) *rateBody {
	b := &rateBody{body: body, clk: clk, rate: m, start: clk.Now(), cut: cut}
	b.mu.Lock()
	b.arm()
	b.mu.Unlock()
	return b
}

func (b *rateBody) deadline() time.Time {
	earned := time.Duration(float64(b.n) / float64(b.rate.BytesPerSec) * float64(time.Second))
	return b.start.Add(b.rate.Grace + earned)
}

// arm sets the timer for the deadline as it stands; the bytes that arrive
// meanwhile move it, which check finds when the timer fires.
func (b *rateBody) arm() {
	b.timer = b.clk.AfterFunc(b.deadline().Sub(b.clk.Now()), b.check)
}

func (b *rateBody) check() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	if b.clk.Now().Before(b.deadline()) {
		b.arm()
		return
	}
	b.late, b.done = true, true
	b.cut()
}

func (b *rateBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if !b.late && !b.done && !b.clk.Now().Before(b.deadline()) {
		b.late, b.done = true, true
		b.timer.Stop()
	}
	late := b.late
	b.mu.Unlock()
	if late {
		return 0, errTooSlow
	}
	n, err := b.body.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(n)
	if b.late {
		return n, errTooSlow
	}
	if err == io.EOF {
		b.stopLocked()
	}
	return n, err
}

func (b *rateBody) Close() error { return b.body.Close() }

// stop ends the watch: after the handler, a cut would hit the connection's
// next request.
func (b *rateBody) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopLocked()
}

func (b *rateBody) stopLocked() {
	b.done = true
	b.timer.Stop()
}

// limitBody returns r with its body, if it has one, under the server's
// MinRate, and what ends the watch. The request net/http holds keeps its
// own body: after the handler it looks at that body's type to decide
// whether to drain it.
func (s *Server) limitBody(w http.ResponseWriter, r *http.Request) (*http.Request, func()) {
	if r.Body == nil || r.Body == http.NoBody {
		return r, func() {}
	}
	rc := http.NewResponseController(w)
	b := s.cfg.MinBodyRate.wrap(r.Body, s.cfg.Clock, func() { _ = rc.SetReadDeadline(time.Unix(1, 0)) })
	r = r.WithContext(r.Context())
	r.Body = b
	return r, b.stop
}

// ConnLimiter caps the connections one client address holds open at once.
// Direct clients are counted per connection by Listener; a trusted proxy's
// connections are not (all its clients share them), and the address it
// reports is counted per request in flight instead (see Server.admit).
// IPv6 clients count per /64, the block one subscriber gets.
type ConnLimiter struct {
	max     int
	trusted []netip.Prefix
	mu      sync.Mutex
	open    map[netip.Prefix]int
}

// NewConnLimiter allows max connections per client address; trusted are
// the reverse proxies, as Config.TrustedProxies.
func NewConnLimiter(max int, trusted []netip.Prefix) *ConnLimiter {
	return &ConnLimiter{max: max, trusted: trusted, open: map[netip.Prefix]int{}}
}

func (l *ConnLimiter) isTrusted(a netip.Addr) bool {
	for _, p := range l.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func clientKey(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// acquire takes one of a's places, or reports that none is left.
func (l *ConnLimiter) acquire(a netip.Addr) (release func(), ok bool) {
	k := clientKey(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[k] >= l.max {
		return nil, false
	}
	l.open[k]++
	return sync.OnceFunc(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.open[k]--; l.open[k] == 0 {
			delete(l.open, k)
		}
	}), true
}

// refusal is the answer of a connection over the limit, written before
// its request is read.
const refusal = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json; charset=utf-8\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: 84\r\n\r\n" +
	`{"error":{"code":"rate_limited","message":"too many connections from your address"}}`

// Listener counts the connections ln accepts per client address; one over
// the limit is answered 429 and closed at once.
func (l *ConnLimiter) Listener(ln net.Listener) net.Listener {
	return &limitedListener{Listener: ln, l: l}
}

type limitedListener struct {
	net.Listener
	l *ConnLimiter
}

func (ll *limitedListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ap, err := netip.ParseAddrPort(c.RemoteAddr().String())
		if err != nil || ll.l.isTrusted(ap.Addr().Unmap()) {
			return c, nil
		}
		release, ok := ll.l.acquire(ap.Addr())
		if !ok {
			// A fresh socket's send buffer is empty: this write does not
			// block the accept loop.
			_, _ = io.WriteString(c, refusal)
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, release: release}, nil
	}
}

// limitedConn gives its place back when closed, hijacked streams included.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	c.release()
	return c.Conn.Close()
}

// errNoSyscallConn says that the connection wrapped has no socket of its own.
var errNoSyscallConn = errors.New("httpapi: the connection has no raw socket")

// SyscallConn is the wrapped connection's, so that wrapping hides nothing
// from what writes to the socket directly: the event stream's writer makes
// its non-blocking writes through it, and without it every fan-out write
// of every stream went through a goroutine of its own and a blocking,
// deadlined write.
func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errNoSyscallConn
}

// ReadFrom is the wrapped connection's, so that net/http still sends a
// file's bytes with sendfile (it looks for an io.ReaderFrom on the
// connection) rather than copying them through a buffer.
func (c *limitedConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(c.Conn, r)
}

// CloseWrite is the wrapped connection's, which net/http calls to end
// its side cleanly before closing a connection it answered an error on.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Limit wraps the server's listener with Config.ConnLimit, if any.
func (s *Server) Limit(ln net.Listener) net.Listener {
	if s.cfg.ConnLimit == nil {
		return ln
	}
	return s.cfg.ConnLimit.Listener(ln)
}

// admit counts a request that came through a trusted proxy against the
// client address the proxy reports, for as long as it is served.
func (s *Server) admit(r *http.Request) (release func(), err error) {
	l := s.cfg.ConnLimit
	if l == nil {
		return func() {}, nil
	}
	peer, ok := peerAddr(r)
	if !ok || !s.trusted(peer) {
		return func() {}, nil // counted by the Listener
	}
	a, err := netip.ParseAddr(s.clientAddr(r))
	if err != nil || s.trusted(a) {
		return func() {}, nil
	}
	release, ok = l.acquire(a)
	if !ok {
		e := apperr.New(apperr.RateLimited, "too many connections from your address")
		e.RetryAfter = 5
		return nil, e
	}
	return release, nil
}
