package httpapi

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/clock"
)

// TestMinRate feeds bodies through a pipe, so that every write is read
// before the test moves the fake clock: a steady slow 10 MiB upload gets
// through, a trickle and a stall are cut near their deadline, never before.
func TestMinRate(t *testing.T) {
	t.Parallel()
	const kib = 1024
	for _, tc := range []struct {
		name     string
		chunk    int // bytes written each fake second
		seconds  int // for how long
		total    int // the body's length
		cutAfter int // fake seconds after which it must be cut (0: never)
	}{
		{"a 10 MiB photo at 20 KiB/s (about 8.5 minutes)", 20 * kib, 512, 10 << 20, 0},
		{"exactly 1 KiB/s, after a quiet grace", 1 * kib, 60, 60 * kib, 0},
		{"a byte a second", 1, 3600, 3600, 11},
		{"100 KiB at once, then nothing", 100 * kib, 1, 200 * kib, 111},
		{"headers, then nothing", 0, 0, 1, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(testEpoch)
			pr, pw := io.Pipe()
			cut := make(chan struct{})
			b := DefaultMinRate.wrap(pr, clk, func() {
				close(cut)
				pr.CloseWithError(os.ErrDeadlineExceeded) // as a read deadline does
			})
			defer b.stop()
			got := make(chan error, 1)
			var read int
			go func() {
				n, err := io.Copy(io.Discard, b)
				read = int(n)
				got <- err
			}()
			elapsed := 0
			sent := 0
			for ; elapsed < tc.seconds; elapsed++ {
				if _, err := pw.Write(make([]byte, tc.chunk)); err != nil {
					break
				}
				sent += tc.chunk
				// The pipe hands the bytes over before the reader counts
				// them; the fake second starts once they are counted.
				for counted := int64(0); counted < int64(sent); time.Sleep(time.Millisecond) {
					b.mu.Lock()
					counted = b.n
					b.mu.Unlock()
				}
				clk.Advance(time.Second)
			}
			if tc.cutAfter == 0 {
				if rest := tc.total - sent; rest > 0 {
					pw.Write(make([]byte, rest))
				}
				pw.Close()
				if err := <-got; err != nil || read != tc.total {
					t.Fatalf("read %d of %d: %v", read, tc.total, err)
				}
				select {
				case <-cut:
					t.Fatal("a body read to its end was cut")
				default:
				}
				return
			}
		wait:
			for {
				select {
				case <-cut:
					break wait
				default:
				}
				if elapsed > tc.cutAfter+2 {
					t.Fatalf("not cut after %d fake seconds", elapsed)
				}
				clk.Advance(time.Second)
				elapsed++
			}
			if elapsed < tc.cutAfter-1 || elapsed > tc.cutAfter+1 {
				t.Errorf("cut after %d fake seconds, want about %d", elapsed, tc.cutAfter)
			}
			if err := <-got; !errors.Is(err, errTooSlow) || !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("reader got %v, want errTooSlow", err)
			}
		})
	}
}

// TestSlowBodyIsCut: over HTTP, a login whose body trickles is answered and
// its connection closed once the fake clock passes the grace, without any
// login; a body that arrives on time is served on the same kind of server.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	conn, err := net.Dial("tcp", fx.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails instead of stalling
	body := loginBody("ann@acme.test", testPassword)
	fmt.Fprintf(conn, "POST /api/v1/auth/login HTTP/1.1\r\nHost: vo\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:5])
	answered := make(chan *http.Response, 1)
	go func() {
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			close(answered)
			return
		}
		answered <- res
	}()
	// The server's watch starts when the request reaches it, which a busy
	// machine may delay; move the fake clock a second every 20 ms until the
	// cut (TestMinRate pins down when it comes).
	for i := 0; ; i++ {
		if i == 750 {
			t.Fatal("a body sending nothing for 750 fake seconds was not cut")
		}
		select {
		case res, ok := <-answered:
			if ok {
				b, _ := io.ReadAll(res.Body)
				checkError(t, httpAnswer{Status: res.StatusCode, Header: res.Header, Body: b}, 400, apperr.Invalid)
			}
			if _, err := conn.Write([]byte(body[5:])); err == nil {
				if _, err := conn.Read(make([]byte, 1)); err == nil {
					t.Fatal("the connection stays open after the cut")
				}
			}
			if r := fx.call(t, "POST", "/api/v1/auth/login", "", body); r.Status != 200 {
				t.Fatalf("a login sent at once: %s", r)
			}
			return
		case <-time.After(20 * time.Millisecond):
			fx.clk.Advance(time.Second)
		}
	}
}

// TestConnLimiter: more than N connections from one address are refused
// with 429 while another address still connects, a closed connection
// frees its place, and behind a trusted proxy the address it reports is
// what counts.
// TestLimitedConnKeepsItsSocket: a connection the limiter admits still
// gives its raw socket, which the event stream writes to without blocking;
// hidden, every stream's every event went through a blocking write in a
// goroutine of its own (a fan-out cost 2.6 times the server CPU). A write
// made through it reaches the client; so do net/http's sendfile (ReadFrom)
// and half-close (CloseWrite); and closing gives the place back.
func TestLimitedConnKeepsItsSocket(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limit := NewConnLimiter(1, nil)
	lln := limit.Listener(ln)
	t.Cleanup(func() { lln.Close() })
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := lln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.(*limitedConn); !ok {
		t.Fatalf("accepted %T; want it counted (*limitedConn)", c)
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T hides its socket: not a syscall.Conn", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil || raw == nil {
		t.Fatalf("SyscallConn: %v, %v", raw, err)
	}
	msg := []byte("through the socket")
	var werr error
	if err := raw.Write(func(fd uintptr) bool {
		_, werr = syscall.Write(int(fd), msg)
		return true
	}); err != nil || werr != nil {
		t.Fatalf("raw write: %v, %v", err, werr)
	}
	client.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(client, got); err != nil || string(got) != string(msg) {
		t.Fatalf("client read %q, %v; want %q", got, err, msg)
	}
	// net/http sends files through the connection's ReadFrom (sendfile),
	// and half-closes through its CloseWrite: the wrapper keeps both.
	if _, ok := c.(io.ReaderFrom); !ok {
		t.Errorf("%T hides its ReadFrom", c)
	}
	f, err := os.CreateTemp(t.TempDir(), "file")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("a file's bytes")
	f.Seek(0, io.SeekStart)
	if n, err := c.(io.ReaderFrom).ReadFrom(f); n != 14 || err != nil {
		t.Fatalf("ReadFrom: %d, %v; want 14, nil", n, err)
	}
	f.Close()
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok {
		t.Fatalf("%T hides its CloseWrite", c)
	}
	if err := cw.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if rest, err := io.ReadAll(client); err != nil || string(rest) != "a file's bytes" {
		t.Fatalf("client read %q, %v after CloseWrite; want the file, then EOF", rest, err)
	}
	c.Close()
	limit.mu.Lock()
	n := limit.open[clientKey(netip.MustParseAddr("127.0.0.1"))]
	limit.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections still counted after Close; want 0", n)
	}
}

// A wrapped connection without a socket says so, rather than handing a nil one.
func TestLimitedConnWithoutSocket(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	c := &limitedConn{Conn: a, release: func() {}}
	defer c.Close()
	if raw, err := c.SyscallConn(); raw != nil || !errors.Is(err, errNoSyscallConn) {
		t.Fatalf("SyscallConn of a pipe: %v, %v; want nil, errNoSyscallConn", raw, err)
	}
}

func TestConnLimiter(t *testing.T) {
	t.Parallel()
	const max = 3
	fx := sqliteFixture(t)
	proxy := netip.MustParsePrefix("127.0.0.9/32")
	limit := NewConnLimiter(max, []netip.Prefix{proxy})
	api := New(Config{Store: fx.st, Auth: fx.api.cfg.Auth, Presence: fx.api.cfg.Presence, Hub: fx.api.cfg.Hub, Clock: fx.clk,
		HashParams: cheapHash, TrustedProxies: []netip.Prefix{proxy}, ConnLimit: limit})
	// The handler of a held request waits for its body, which never comes.
	srv := httptest.NewUnstartedServer(api)
	srv.Listener = limit.Listener(srv.Listener)
	srv.Start()
	t.Cleanup(srv.Close)

	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.SetDeadline(time.Now().Add(20 * time.Second))
		return c
	}
	// status sends GET /healthz (with XFF when given) and reads the answer.
	status := func(c net.Conn, xff string) int {
		t.Helper()
		h := ""
		if xff != "" {
			h = "X-Forwarded-For: " + xff + "\r\n"
		}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: vo\r\n%s\r\n", h)
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	// hold starts a request whose body never comes, keeping its handler busy.
	hold := func(c net.Conn, xff string) {
		fmt.Fprintf(c, "PUT /api/v1/me/presence HTTP/1.1\r\nHost: vo\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nX-Forwarded-For: %s\r\nContent-Length: 100\r\n\r\n{", fx.bob.token(), xff)
	}

	var mine []net.Conn
	for range max {
		c := dial("127.0.0.2")
		if st := status(c, ""); st != 200 {
			t.Fatalf("connection within the limit: %d", st)
		}
		mine = append(mine, c)
	}
	if st := status(dial("127.0.0.2"), ""); st != 429 {
		t.Fatalf("connection %d from one address: %d, want 429", max+1, st)
	}
	if st := status(dial("127.0.0.3"), ""); st != 200 {
		t.Fatalf("another address: %d", st)
	}
	mine[0].Close()
	waitFor(t, "the closed connection's place", func() bool {
		c := dial("127.0.0.2")
		defer c.Close()
		return status(c, "") == 200
	})

	// The proxy's own connections are never counted; its clients' requests
	// in flight are, by the address it reports.
	var held sync.WaitGroup
	for range max {
		c := dial("127.0.0.9")
		held.Add(1)
		go func() { defer held.Done(); hold(c, "203.0.113.7") }()
	}
	held.Wait()
	// A probe sent before the server has read a held request's headers
	// would take that request's place and leave it refused: wait until
	// all of them are being served.
	waitFor(t, "the held requests served", func() bool {
		limit.mu.Lock()
		defer limit.mu.Unlock()
		return limit.open[clientKey(netip.MustParseAddr("203.0.113.7"))] == max
	})
	waitFor(t, "203.0.113.7 refused", func() bool { return status(dial("127.0.0.9"), "203.0.113.7") == 429 })
	if st := status(dial("127.0.0.9"), "203.0.113.8"); st != 200 {
		t.Fatalf("another client of the proxy: %d", st)
	}
	if st := status(dial("127.0.0.9"), "2001:db8::1"); st != 200 {
		t.Fatalf("an IPv6 client of the proxy: %d", st)
	}
}

// waitFor polls cond (the server works in its own goroutines) for at most
// ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 500 {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"192.0.2.7":             "192.0.2.7/32",
		"::ffff:192.0.2.7":      "192.0.2.7/32",
		"2001:db8:1:2:3:4:5:6":  "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::99": "2001:db8:1:2::/64",
	} {
		if got := clientKey(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("clientKey(%s) = %s, want %s", in, got, want)
		}
	}
	if !strings.Contains(refusal, fmt.Sprintf("Content-Length: %d\r\n", len(refusal)-strings.Index(refusal, "\r\n\r\n")-4)) {
		t.Error("the refusal's Content-Length is not its body's")
	}
}
