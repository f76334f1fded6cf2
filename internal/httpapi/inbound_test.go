package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/apidoc"
	"vo/internal/stream"
)

// received is one message a test type's handler was given.
type received struct {
	from stream.Sender
	msg  string
}

// withInbound registers the test's client message types: "echo" (up to
// 64 KiB, 2 a second with a burst of 2) and "small" (up to 100 bytes),
// whose handlers report to got.
func withInbound(got chan<- received) func(testing.TB, *Config) {
	h := func(stream.Sender) stream.Handler {
		return func(_ context.Context, from stream.Sender, msg json.RawMessage) error {
			got <- received{from, string(msg)}
			return nil
		}
	}
	return func(_ testing.TB, cfg *Config) {
		cfg.Inbound = append(cfg.Inbound,
			stream.Type{Name: "echo", MaxSize: 64 << 10, Rate: stream.Rate{N: 2, Per: time.Second, Burst: 2}, NewHandler: h},
			stream.Type{Name: "small", MaxSize: 100, Rate: stream.Rate{N: 100, Per: time.Second, Burst: 100}, NewHandler: h})
	}
}

// wsClient is a raw client of the event stream, its frames read into a
// channel until the stream closes.
type wsClient struct {
	c      *websocket.Conn
	frames chan map[string]any
	closed chan error // the error that ended reading
}

func dialStream(t *testing.T, e *testEnv, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/api/v1/events",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	doc, err := apidoc.New(openAPIDoc)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsClient{c: c, frames: make(chan map[string]any, 1000), closed: make(chan error, 1)}
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				w.closed <- err
				close(w.frames)
				return
			}
			var f map[string]any
			if json.Unmarshal(b, &f) != nil {
				t.Errorf("frame not JSON: %q", b)
			}
			if err := doc.CheckFrame(b); err != nil { // the error frame is as documented
				t.Errorf("%.200s: %v", b, err)
			}
			w.frames <- f
		}
	}()
	t.Cleanup(func() { c.CloseNow() })
	w.next(t, "hello")
	w.next(t, "snapshot")
	return w
}

func (w *wsClient) send(t *testing.T, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// next returns the next frame, failing the test unless it is of type typ.
func (w *wsClient) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	select {
	case f, ok := <-w.frames:
		if !ok {
			t.Fatalf("want a %s frame, the stream closed: %v", typ, <-w.closed)
		}
		if f["type"] != typ {
			t.Fatalf("want a %s frame, got %v", typ, f)
		}
		return f
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s frame within 5 s", typ)
	}
	return nil
}

// wantError reads the next frame, an error frame with code and ref (nil:
// none).
func (w *wsClient) wantError(t *testing.T, code string, ref any) {
	t.Helper()
	f := w.next(t, "error")
	if f["code"] != code || f["ref"] != ref {
		t.Fatalf("want error %s ref %v, got %v", code, ref, f)
	}
}

func wantReceived(t *testing.T, got <-chan received, msg string) received {
	t.Helper()
	select {
	case r := <-got:
		if r.msg != msg {
			t.Fatalf("handler got %.80q, want %.80q", r.msg, msg)
		}
		return r
	case <-time.After(5 * time.Second):
		t.Fatalf("handler never got %.80q", msg)
	}
	return received{}
}

// TestInboundReachesHandler: a registered type reaches its handler, with
// the identity of the stream's session, and a 20 KiB message of a type
// that allows 64 KiB gets through the stream's read limit.
func TestInboundReachesHandler(t *testing.T) {
	t.Parallel()
	got := make(chan received, 100)
	fx := sqliteFixture(t, withInbound(got))
	w := dialStream(t, fx.testEnv, fx.ann.token())
	w.send(t, `{"type":"echo","id":"a1"}`)
	r := wantReceived(t, got, `{"type":"echo","id":"a1"}`)
	if want := (stream.Sender{OrgID: fx.orgA.ID, UserID: fx.ann.ID, SessionID: fx.ann.login.Session.ID}); r.from != want {
		t.Fatalf("sender %+v, want %+v", r.from, want)
	}
	big := `{"type":"echo","sdp":"` + strings.Repeat("v", 20<<10) + `"}`
	w.send(t, big)
	wantReceived(t, got, big)
	// The stream is open and delivers events.
	fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(), `{"status":"dnd"}`)
	w.next(t, "presence")
}

// TestInboundUnknownAndBad: a message of no registered type, or not a JSON
// object with a type, is answered with an error frame (ref: the message's
// id), and the stream stays open, delivering events and routing messages.
func TestInboundUnknownAndBad(t *testing.T) {
	t.Parallel()
	got := make(chan received, 100)
	fx := sqliteFixture(t, withInbound(got))
	w := dialStream(t, fx.testEnv, fx.ann.token())
	w.send(t, `{"type":"nope","id":"x7"}`)
	w.wantError(t, "unknown_type", "x7")
	w.send(t, `{"type":"nope","id":12}`)
	w.wantError(t, "unknown_type", 12.0)
	w.send(t, `{"type":"nope","id":{"a":1}}`) // only strings and numbers are echoed
	w.wantError(t, "unknown_type", nil)
	w.send(t, `not json`)
	w.wantError(t, "bad_message", nil)
	w.send(t, `{"id":"x8"}`)
	w.wantError(t, "bad_message", nil)
	fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(), `{"status":"dnd"}`)
	w.next(t, "presence")
	w.send(t, `{"type":"small"}`)
	wantReceived(t, got, `{"type":"small"}`)
}

// TestInboundTooLarge: a message larger than its type allows is dropped
// with too_large; a message beyond every type's size (the read limit)
// closes the stream as the protocol says (1009).
func TestInboundTooLarge(t *testing.T) {
	t.Parallel()
	got := make(chan received, 100)
	fx := sqliteFixture(t, withInbound(got))
	w := dialStream(t, fx.testEnv, fx.ann.token())
	w.send(t, `{"type":"small","id":"s1","x":"`+strings.Repeat("x", 100)+`"}`)
	w.wantError(t, "too_large", "s1")
	w.send(t, `{"type":"small"}`)
	wantReceived(t, got, `{"type":"small"}`)
	w.send(t, `{"type":"echo","x":"`+strings.Repeat("x", 64<<10)+`"}`)
	select {
	case err := <-w.closed:
		if websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
			t.Fatalf("closed with %v, want 1009", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a message past the read limit did not close the stream")
	}
	select {
	case r := <-got:
		t.Fatalf("dropped messages reached the handler: %.80q", r.msg)
	default:
	}
}

// TestInboundRateLimit: past its burst a type's messages are dropped with
// rate_limited until the (fake) clock has refilled the bucket.
func TestInboundRateLimit(t *testing.T) {
	t.Parallel()
	got := make(chan received, 100)
	fx := sqliteFixture(t, withInbound(got))
	w := dialStream(t, fx.testEnv, fx.ann.token())
	for _, id := range []string{"1", "2"} {
		w.send(t, `{"type":"echo","id":"`+id+`"}`)
		wantReceived(t, got, `{"type":"echo","id":"`+id+`"}`)
	}
	w.send(t, `{"type":"echo","id":"3"}`)
	w.wantError(t, "rate_limited", "3")
	// Another type has a bucket of its own.
	w.send(t, `{"type":"small"}`)
	wantReceived(t, got, `{"type":"small"}`)
	fx.clk.Advance(500 * time.Millisecond) // one token back (2 a second)
	w.send(t, `{"type":"echo","id":"4"}`)
	wantReceived(t, got, `{"type":"echo","id":"4"}`)
	w.send(t, `{"type":"echo","id":"5"}`)
	w.wantError(t, "rate_limited", "5")
}

// TestInboundFloodCloses: a client that keeps sending at ten times its
// type's burst is closed with 4001 and a reason that says why; so is one
// that floods with messages of no type.
func TestInboundFloodCloses(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{`{"type":"echo"}`, `{"type":"nope"}`} {
		got := make(chan received, 100)
		fx := sqliteFixture(t, withInbound(got))
		w := dialStream(t, fx.testEnv, fx.ann.token())
		// echo: 2 pass, 18 are dropped, the 21st closes; no type: 10
		// answered, 90 dropped, the 101st closes. Writes may fail once
		// the server has closed.
		for range 120 {
			if w.c.Write(context.Background(), websocket.MessageText, []byte(msg)) != nil {
				break
			}
		}
		for range w.frames { // error frames, until the close
		}
		err := <-w.closed
		if websocket.CloseStatus(err) != 4001 || !strings.Contains(err.Error(), "too many messages") {
			t.Fatalf("%s: closed with %v, want 4001 and its reason", msg, err)
		}
	}
}
