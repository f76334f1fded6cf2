package bench

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Floor is the machine's floor for a fan-out: the least any WebSocket
// server can do to deliver one event to every watcher from one core. It
// does the WebSocket handshake by hand, sends hello and an empty snapshot
// as the bare broadcaster does, and keeps each socket's descriptor. POST
// /publish renders the event's frame once and writes it to every socket in
// one tight loop of raw write(2) calls, from the request's own goroutine:
// no queue, no goroutine per connection, no runtime between the writes.
// What it takes is what the kernel takes (the loopback TCP send, the
// receiving socket's processing, which loopback runs on the sender's core,
// and waking the watcher), so no server on this machine can deliver to
// every watcher sooner, but for the entry and exit of each system call
// (which io_uring could batch: well under a tenth of a write's cost). It
// never pings and does not read what watchers send beyond noticing that
// they left.
type Floor struct {
	mu    sync.Mutex
	seq   int64
	conns []*floorConn
}

type floorConn struct {
	c  net.Conn
	fd uintptr // c's socket; written only under Floor.mu, while c is open
}

// NewFloor returns an empty floor server.
func NewFloor() *Floor { return &Floor{} }

// ServeHTTP serves GET /ws (the stream), POST /publish and GET /healthz.
func (f *Floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route(w, r, f.stream, f.publish)
}

// wsGUID is RFC 6455's key suffix.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func (f *Floor) stream(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "a WebSocket upgrade is needed", http.StatusUpgradeRequired)
		return
	}
	c, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	f.mu.Lock()
	cur := strconv.FormatInt(f.seq, 10)
	out := []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
	out = textFrame(out, []byte(`{"type":"hello","cursor":"`+cur+`"}`))
	out = textFrame(out, []byte(`{"type":"snapshot","cursor":"`+cur+`","presence":[]}`))
	fc := &floorConn{c: c}
	sc, err := c.(syscall.Conn).SyscallConn()
	if err == nil {
		err = sc.Control(func(fd uintptr) { fc.fd = fd })
	}
	if err == nil {
		_, err = c.Write(out) // before any event: f.mu is held
	}
	if err != nil {
		f.mu.Unlock()
		c.Close()
		return
	}
	f.conns = append(f.conns, fc)
	f.mu.Unlock()
	go func() { // until the watcher leaves; then the socket is closed
		defer c.Close()
		drain(rw.Reader)
		f.mu.Lock()
		for i, x := range f.conns {
			if x == fc {
				f.conns[i] = f.conns[len(f.conns)-1]
				f.conns = f.conns[:len(f.conns)-1]
				break
			}
		}
		f.mu.Unlock()
	}()
}

// drain reads and drops what a watcher sends until it leaves.
func drain(r *bufio.Reader) {
	buf := make([]byte, 128)
	for {
		if _, err := r.Read(buf); err != nil {
			return
		}
	}
}

// publish writes the next event to every watcher: one raw write each;
// only a socket that cannot take it at once waits for it.
func (f *Floor) publish(body []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	frame := textFrame(nil, presenceFrame(f.seq, body))
	for _, fc := range f.conns {
		n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fc.fd, uintptr(unsafe.Pointer(&frame[0])), uintptr(len(frame)))
		switch {
		case errno == 0 && int(n) == len(frame):
		case errno == 0:
			fc.c.Write(frame[n:])
		case errno == syscall.EAGAIN || errno == syscall.EINTR:
			fc.c.Write(frame)
		default: // the watcher left; its reader removes it
		}
	}
}

// textFrame appends an unmasked WebSocket text frame (RFC 6455 §5.2).
func textFrame(b, payload []byte) []byte {
	switch n := len(payload); {
	case n <= 125:
		b = append(b, 0x81, byte(n))
	case n <= 0xffff:
		b = append(b, 0x81, 126, byte(n>>8), byte(n))
	default:
		panic("bench: frame too long")
	}
	return append(b, payload...)
}
