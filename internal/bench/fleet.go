package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// fleet is the watchers of one run: one WebSocket each, read by its own
// goroutine, which checks every frame (cursor order, no duplicate) and
// marks when the awaited events of the current phase have all arrived.
type fleet struct {
	proto Proto
	conns []net.Conn
	base  time.Time // arrival times are nanoseconds since base
	phase atomic.Pointer[phase]

	connected atomic.Int64
	ready     chan struct{} // closed once every watcher is ready
	closing   atomic.Bool

	// Faults seen by any watcher; a run with any of them fails.
	dropped  atomic.Int64 // connections the server closed
	disorder atomic.Int64 // cursors not strictly increasing
	stray    atomic.Int64 // presence events nobody awaited
	firstErr atomic.Pointer[error]
}

// phase is what every watcher awaits: either one change of one user
// (target) or one change of each of a set of users.
type phase struct {
	n      int
	target string         // single change: the user whose event counts
	users  map[string]int // burst: user id → bit
	want   int            // events per watcher
	words  int            // bitmap words per watcher
	seen   []uint64       // burst: per watcher, which users arrived
	got    []int32        // per watcher: events counted
	at     []int64        // per watcher: when the last awaited event arrived
	vers   []int64        // single change: the version each watcher saw
	count  atomic.Int64   // awaited events arrived, over all watchers
	dups   atomic.Int64
	done   atomic.Int64
	all    chan struct{}
}

func newPhase(n int, target string, users []string) *phase {
	p := &phase{n: n, target: target, got: make([]int32, n), at: make([]int64, n), all: make(chan struct{})}
	if target != "" {
		p.want = 1
		p.vers = make([]int64, n)
		return p
	}
	p.want = len(users)
	p.users = make(map[string]int, len(users))
	for i, u := range users {
		p.users[u] = i
	}
	p.words = (len(users) + 63) / 64
	p.seen = make([]uint64, n*p.words)
	return p
}

// arrived counts an awaited event for watcher i at time t.
func (p *phase) arrived(i int, user string, version, t int64) {
	if p.target != "" {
		if user != p.target {
			return
		}
		if p.got[i] > 0 {
			p.dups.Add(1)
			return
		}
		p.got[i]++
		p.vers[i] = version
	} else {
		b, ok := p.users[user]
		if !ok {
			return
		}
		w := &p.seen[i*p.words+b/64]
		if *w&(1<<(b%64)) != 0 {
			p.dups.Add(1)
			return
		}
		*w |= 1 << (b % 64)
		p.got[i]++
	}
	p.count.Add(1)
	if int(p.got[i]) == p.want {
		p.at[i] = t
		if p.done.Add(1) == int64(p.n) {
			close(p.all)
		}
	}
}

// dialers is how many watchers connect at a time.
const dialers = 32

// connect opens n watchers on t, starts their readers and waits until
// each is ready: it has its hello and snapshot, or its subscription.
func connect(ctx context.Context, n int, t Target, timeout time.Duration) (*fleet, error) {
	f := &fleet{proto: t.Proto, conns: make([]net.Conn, n), base: time.Now(), ready: make(chan struct{})}
	d := &net.Dialer{Timeout: 10 * time.Second}
	next := atomic.Int64{}
	var wg sync.WaitGroup
	errc := make(chan error, dialers)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for range dialers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, br, err := dial(dctx, d, t.URL, t.Header(i))
				for _, m := range t.Greet {
					if err == nil {
						err = writeFrame(c, opText, m)
					}
				}
				if err != nil {
					errc <- fmt.Errorf("watcher %d: %w", i, err)
					cancel()
					return
				}
				f.conns[i] = c
				go f.read(i, c, br)
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		f.close()
		return nil, err
	}
	select {
	case <-f.ready:
		return f, nil
	case <-dctx.Done():
		f.close()
		return nil, fmt.Errorf("only %d of %d watchers got their snapshot in %v", f.connected.Load(), n, timeout)
	}
}

// close ends every watcher at once, without close handshakes.
func (f *fleet) close() {
	f.closing.Store(true)
	for _, c := range f.conns {
		if c != nil {
			c.Close()
		}
	}
}

// fault reports whether any watcher saw something wrong.
func (f *fleet) fault() error {
	if p := f.firstErr.Load(); p != nil {
		return *p
	}
	if n := f.dropped.Load(); n > 0 {
		return fmt.Errorf("%d watchers were disconnected", n)
	}
	if n := f.disorder.Load(); n > 0 {
		return fmt.Errorf("%d events arrived out of cursor order or twice", n)
	}
	if n := f.stray.Load(); n > 0 {
		return fmt.Errorf("%d presence events arrived that no change caused", n)
	}
	return nil
}

func (f *fleet) fail(err error) {
	f.firstErr.CompareAndSwap(nil, &err)
}

// readBuf is each watcher's read buffer: a burst's frames arrive many to a
// read. Of a longer message (a snapshot) only the start is looked at.
const readBuf = 16 << 10

// read is watcher i's loop: every frame is checked and counted.
func (f *fleet) read(i int, c net.Conn, br *bufio.Reader) {
	last := int64(-1)
	ready := false
	for {
		op, m, n, err := readFrame(br)
		if err == nil {
			switch op {
			case opPing:
				err = writeFrame(c, opPong, m)
			case opClose:
				writeFrame(c, opClose, m)
				err = fmt.Errorf("closed by the server: %q", m)
			}
		}
		if err == nil && op == opText {
			if f.proto == Centrifugo {
				err = f.checkCentrifugo(i, c, m, &ready)
			} else {
				last = f.check(i, m, last, &ready)
			}
		}
		if err == nil {
			_, err = br.Discard(n)
		}
		if err != nil {
			if !f.closing.Load() {
				f.dropped.Add(1)
				f.fail(fmt.Errorf("watcher %d: %w", i, err))
			}
			c.Close()
			return
		}
	}
}

// check looks at a text frame of watcher i, whose last cursor was last, and
// returns the new last cursor.
func (f *fleet) check(i int, m []byte, last int64, ready *bool) int64 {
	switch {
	case bytes.HasPrefix(m, []byte(`{"type":"hello"`)):
	case bytes.HasPrefix(m, []byte(`{"type":"snapshot"`)):
		last = intField(m, `"cursor":"`)
		f.isReady(ready)
	default:
		cur := intField(m, `"cursor":"`)
		if cur <= last {
			f.disorder.Add(1)
		}
		last = cur
		if !bytes.HasPrefix(m, []byte(`{"type":"presence"`)) {
			break
		}
		if p := f.phase.Load(); p != nil {
			p.arrived(i, string(strField(m, `"user_id":"`)), intField(m, `"version":`), int64(time.Since(f.base)))
		} else {
			f.stray.Add(1)
		}
	}
	return last
}

// isReady counts a watcher ready, once.
func (f *fleet) isReady(ready *bool) {
	if !*ready {
		*ready = true
		if f.connected.Add(1) == int64(len(f.conns)) {
			close(f.ready)
		}
	}
}

// checkCentrifugo looks at a frame from Centrifugo: replies and pushes,
// one JSON object a line. It answers pings ({}), and counts the watcher
// ready once its subscription (command 2) is answered. Publications carry
// no cursor of ours, so their order is not checked.
func (f *fleet) checkCentrifugo(i int, c net.Conn, m []byte, ready *bool) error {
	for line := range bytes.Lines(m) {
		line = bytes.TrimSpace(line)
		switch {
		case string(line) == "{}":
			if err := writeFrame(c, opText, line); err != nil {
				return err
			}
		case bytes.HasPrefix(line, []byte(`{"id":2,`)):
			f.isReady(ready)
		case bytes.HasPrefix(line, []byte(`{"push":`)) && bytes.Contains(line, []byte(`"pub":`)):
			if p := f.phase.Load(); p != nil {
				p.arrived(i, string(strField(line, `"user_id":"`)), intField(line, `"version":`), int64(time.Since(f.base)))
			} else {
				f.stray.Add(1)
			}
		}
	}
	return nil
}

// The watchers speak just enough WebSocket (RFC 6455), by hand: they read
// whole unmasked frames from the server, and answer pings and the close. A
// library's reader, a call and a few allocations per message, would make
// the load generator, not the server, what the run measures.
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xa
)

// dial opens a WebSocket with d and returns the connection and its reader.
func dial(ctx context.Context, d *net.Dialer, rawURL string, header http.Header) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	c, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, nil, err
	}
	key := make([]byte, 16)
	rand.Read(key)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+u.Host+u.RequestURI(), nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	maps.Copy(req.Header, header)
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Sec-WebSocket-Key", base64.StdEncoding.EncodeToString(key))
	req.Header.Set("Sec-WebSocket-Version", "13")
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	br := bufio.NewReaderSize(c, readBuf)
	err = req.Write(c)
	var resp *http.Response
	if err == nil {
		resp, err = http.ReadResponse(br, req)
	}
	if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		err = fmt.Errorf("handshake: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	c.SetDeadline(time.Time{})
	return c, br, nil
}

// readFrame reads a frame's header and returns its opcode, its payload (or,
// when longer than the reader's buffer, the payload's start) and the
// payload's length. The payload stays valid, and in the reader, until the
// caller discards n bytes.
func readFrame(br *bufio.Reader) (op byte, payload []byte, n int, err error) {
	h, err := br.Peek(2)
	if err != nil {
		return 0, nil, 0, err
	}
	if h[1]&0x80 != 0 || h[0]&0x80 == 0 {
		return 0, nil, 0, errors.New("a masked or fragmented frame from the server")
	}
	op, n, hl := h[0]&0x0f, int(h[1]&0x7f), 2
	switch n {
	case 126:
		if h, err = br.Peek(4); err != nil {
			return 0, nil, 0, err
		}
		n, hl = int(binary.BigEndian.Uint16(h[2:])), 4
	case 127:
		if h, err = br.Peek(10); err != nil {
			return 0, nil, 0, err
		}
		n, hl = int(binary.BigEndian.Uint64(h[2:])), 10
	}
	if _, err := br.Discard(hl); err != nil {
		return 0, nil, 0, err
	}
	payload, err = br.Peek(min(n, br.Size()))
	return op, payload, n, err
}

// writeFrame writes a client frame, final and masked, of at most 125 bytes.
func writeFrame(c net.Conn, op byte, payload []byte) error {
	payload = payload[:min(len(payload), 125)]
	b := make([]byte, 6, 6+len(payload))
	b[0], b[1] = 0x80|op, 0x80|byte(len(payload))
	rand.Read(b[2:6])
	for i, x := range payload {
		b = append(b, x^b[2+i%4])
	}
	_, err := c.Write(b)
	return err
}

// await runs one phase: it publishes p, calls start, and waits until every
// watcher has what p awaits. It returns when the last watcher had it,
// measured from just before start.
func (f *fleet) await(ctx context.Context, p *phase, timeout time.Duration, start func() error) (time.Duration, error) {
	last, _, err := f.awaitSpan(ctx, p, timeout, start)
	return last, err
}

// awaitSpan is await that also returns when the first watcher had it.
func (f *fleet) awaitSpan(ctx context.Context, p *phase, timeout time.Duration, start func() error) (last, first time.Duration, err error) {
	f.phase.Store(p)
	defer f.phase.Store(nil)
	t0 := int64(time.Since(f.base))
	if err := start(); err != nil {
		return 0, 0, err
	}
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case <-p.all:
	case <-tctx.Done():
		missing := int64(p.n*p.want) - p.count.Load()
		return 0, 0, fmt.Errorf("%d of %d deliveries missing after %v (%w)", missing, p.n*p.want, timeout, errLost)
	}
	if d := p.dups.Load(); d > 0 {
		return 0, 0, fmt.Errorf("%d deliveries arrived twice", d)
	}
	lastAt, firstAt := int64(0), p.at[0]
	for _, t := range p.at {
		lastAt, firstAt = max(lastAt, t), min(firstAt, t)
	}
	return time.Duration(lastAt - t0), time.Duration(firstAt - t0), nil
}

var errLost = errors.New("lost")

// strField returns the JSON string value after key, unescaped only as far
// as the ids and cursors the server sends need.
func strField(m []byte, key string) []byte {
	i := bytes.Index(m, []byte(key))
	if i < 0 {
		return nil
	}
	m = m[i+len(key):]
	j := bytes.IndexByte(m, '"')
	if j < 0 {
		return nil
	}
	return m[:j]
}

// intField returns the integer after key (quoted or not), or -1.
func intField(m []byte, key string) int64 {
	i := bytes.Index(m, []byte(key))
	if i < 0 {
		return -1
	}
	m = m[i+len(key):]
	j := 0
	for j < len(m) && m[j] >= '0' && m[j] <= '9' {
		j++
	}
	v, err := strconv.ParseInt(string(m[:j]), 10, 64)
	if err != nil {
		return -1
	}
	return v
}
