package bench

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Bare is the yardstick: a minimal goroutine-per-connection WebSocket
// broadcaster, the code anyone would write first. Each connection has a
// goroutine writing from a buffered channel and one reading (CloseRead);
// POST /publish numbers the body's fields as the next event and hands it
// to every connection's channel, dropping a connection whose channel is
// full. It speaks just enough of the event stream for the same watchers:
// hello, an empty snapshot, then presence frames.
type Bare struct {
	mu    sync.Mutex
	seq   int64
	conns map[*bareConn]struct{}
}

type bareConn struct {
	c  *websocket.Conn
	ch chan []byte
}

// bareQueue holds a burst's worth of frames per connection.
const bareQueue = 128

// NewBare returns an empty broadcaster.
func NewBare() *Bare { return &Bare{conns: map[*bareConn]struct{}{}} }

// ServeHTTP serves GET /ws (the stream), POST /publish and GET /healthz.
func (b *Bare) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route(w, r, b.stream, b.publish)
}

func (b *Bare) stream(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	bc := &bareConn{c: c, ch: make(chan []byte, bareQueue)}
	b.mu.Lock()
	cur := strconv.FormatInt(b.seq, 10)
	b.conns[bc] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.conns, bc)
		b.mu.Unlock()
	}()
	ctx := c.CloseRead(r.Context())
	for _, m := range []string{`{"type":"hello","cursor":"` + cur + `"}`, `{"type":"snapshot","cursor":"` + cur + `","presence":[]}`} {
		if c.Write(ctx, websocket.MessageText, []byte(m)) != nil {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-bc.ch:
			if !ok {
				c.Close(websocket.StatusPolicyViolation, "too slow")
				return
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := c.Write(wctx, websocket.MessageText, m)
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// publish renders body as the next presence event and queues it for every
// connection, in seq order.
func (b *Bare) publish(body []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	frame := presenceFrame(b.seq, body)
	for bc := range b.conns {
		select {
		case bc.ch <- frame:
		default:
			close(bc.ch)
			delete(b.conns, bc)
		}
	}
}

// route serves a yardstick's requests: GET /ws to stream, POST /publish
// to publish, once its body is a JSON object of the event's fields (400
// otherwise, 413 over 64 KiB), and GET /healthz.
func route(w http.ResponseWriter, r *http.Request, stream func(http.ResponseWriter, *http.Request), publish func(body []byte)) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/ws":
		stream(w, r)
	case r.Method == http.MethodPost && r.URL.Path == "/publish":
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<16))
		if errors.As(err, new(*http.MaxBytesError)) {
			http.Error(w, "the body is over 64 KiB", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil || len(body) < 2 || body[0] != '{' {
			http.Error(w, "a JSON object is needed", http.StatusBadRequest)
			return
		}
		publish(body)
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/healthz":
		w.WriteHeader(http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// presenceFrame renders the fields of body (a JSON object) as presence
// event seq.
func presenceFrame(seq int64, body []byte) []byte {
	frame := make([]byte, 0, len(body)+48)
	frame = append(frame, `{"type":"presence","cursor":"`...)
	frame = strconv.AppendInt(frame, seq, 10)
	frame = append(frame, `",`...)
	return append(frame, body[1:]...)
}

// ServeYardstick serves a yardstick (NewBare, NewFloor) on addr until ctx
// ends.
func ServeYardstick(ctx context.Context, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
