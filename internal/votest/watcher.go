package votest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"vo/internal/apidoc/apitypes"
	"vo/internal/wire"
)

// Watcher is a client of the event stream that keeps the view an app
// would: the highest version of every colleague's presence, its own
// presence, and the last cursor, and resumes from that cursor on reconnect.
type Watcher struct {
	t     testing.TB
	base  string
	token string

	mu        sync.Mutex
	view      map[string]wire.ContactPresence
	photos    map[string]string // user id → photo_url from contact events
	me        wire.Presence
	cursor    string
	conn      *websocket.Conn
	cancel    context.CancelFunc
	live      bool // the stream has sent hello and its snapshot or catch-up
	snapshots int
	ended     bool // a session.ended event arrived
	closed    chan struct{}
	types     []string
}

// Watch connects a watcher with the session's token to the node at base
// (an http:// URL).
func Watch(t testing.TB, base string, s Session) *Watcher {
	t.Helper()
	w := &Watcher{t: t, base: base, token: s.Token, view: map[string]wire.ContactPresence{}, photos: map[string]string{}}
	if err := w.Connect(); err != nil {
		t.Fatalf("watch: %v", err)
	}
	t.Cleanup(w.Drop)
	return w
}

// Connect opens the stream, resuming from the last cursor seen if any.
func (w *Watcher) Connect() error {
	return w.ConnectTo(w.base)
}

// ConnectTo opens the stream on another node (same database).
func (w *Watcher) ConnectTo(base string) error {
	w.mu.Lock()
	w.base = base
	url := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/events"
	if w.cursor != "" {
		url += "?cursor=" + w.cursor
	}
	w.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	c, res, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + w.token}}})
	if err != nil {
		cancel()
		return err
	}
	if err := Check(res.Request, res.StatusCode, res.Header, nil); err != nil {
		w.t.Error(err)
	}
	c.SetReadLimit(1 << 24)
	closed := make(chan struct{})
	w.mu.Lock()
	w.conn, w.cancel, w.live, w.closed = c, cancel, false, closed
	w.mu.Unlock()
	go w.read(ctx, c, closed)
	return nil
}

// ForgetCursor makes the next Connect ask for a snapshot.
func (w *Watcher) ForgetCursor() {
	w.mu.Lock()
	w.cursor = ""
	w.mu.Unlock()
}

// SetCursor makes the next Connect resume from c (an old cursor, say).
func (w *Watcher) SetCursor(c string) {
	w.mu.Lock()
	w.cursor = c
	w.mu.Unlock()
}

// Cursor is the last cursor seen.
func (w *Watcher) Cursor() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cursor
}

// Drop closes the connection from the client's side, abruptly.
func (w *Watcher) Drop() {
	w.mu.Lock()
	c, cancel, closed := w.conn, w.cancel, w.closed
	w.conn = nil
	w.mu.Unlock()
	if c == nil {
		return
	}
	cancel()
	c.CloseNow()
	<-closed
}

// Closed is closed when the current connection ends (by either side).
func (w *Watcher) Closed() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.closed
}

func (w *Watcher) read(ctx context.Context, c *websocket.Conn, closed chan struct{}) {
	defer close(closed)
	defer func() {
		w.mu.Lock()
		if w.conn == c {
			w.live = false
		}
		w.mu.Unlock()
	}()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := CheckFrame(b); err != nil {
			w.t.Error(err)
		}
		w.apply(b)
	}
}

// publicOf is what others see, read from the document's fields of a
// snapshot item or a presence frame.
func publicOf(shown string, activity, message *string, version int64) wire.ContactPresence {
	return wire.ContactPresence{Shown: shown, Activity: activity, Message: message, Version: version}
}

// textOrNull decodes a frame's message that is text or null (the union
// of every frame holds it raw: a chat frame's message is an object).
func textOrNull(raw json.RawMessage) *string {
	var s *string
	_ = json.Unmarshal(raw, &s)
	return s
}

func (w *Watcher) apply(b []byte) {
	// Frames are read in the document's shapes (apitypes) and kept in the
	// server's (wire), which the tests compare with the store's Truth; the
	// conversions compile only while the two agree.
	var f apitypes.ServerFrame
	if err := json.Unmarshal(b, &f); err != nil {
		w.t.Errorf("watcher: bad frame %s: %v", b, err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.types = append(w.types, f.Type)
	if f.Cursor != "" {
		w.cursor = f.Cursor
	}
	switch f.Type {
	case "hello":
	case "snapshot":
		seen := map[string]bool{}
		for _, it := range f.Presence {
			seen[it.UserID] = true
			if cur, ok := w.view[it.UserID]; !ok || it.Version >= cur.Version {
				w.view[it.UserID] = publicOf(it.Shown, it.Activity, it.Message, it.Version)
			}
		}
		for id := range w.view {
			if !seen[id] {
				delete(w.view, id)
			}
		}
		if f.Me != nil && f.Me.Version >= w.me.Version {
			w.me = wire.Presence(*f.Me)
		}
		w.snapshots++
		w.live = true
	case "caught_up":
		w.live = true
	case "presence":
		if cur, ok := w.view[f.UserID]; !ok || f.Version > cur.Version {
			w.view[f.UserID] = publicOf(f.Shown, f.Activity, textOrNull(f.Message), f.Version)
		}
	case "me.presence":
		var p apitypes.MePresenceFrame
		_ = json.Unmarshal(b, &p)
		if p.Version > w.me.Version {
			w.me = wire.Presence{Status: p.Status, StatusUntil: p.StatusUntil, Message: p.Message,
				MessageExpiresAt: p.MessageExpiresAt, Shown: p.Shown, Activity: p.Activity, Version: p.Version}
		}
	case "contact":
		if f.Removed {
			delete(w.view, f.UserID)
		} else if f.User != nil {
			w.photos[f.User.ID] = ""
			if f.User.PhotoURL != nil {
				w.photos[f.User.ID] = *f.User.PhotoURL
			}
			if cur, ok := w.view[f.User.ID]; !ok || f.User.Presence.Version >= cur.Version {
				w.view[f.User.ID] = wire.ContactPresence(f.User.Presence)
			}
		}
	case "session.ended":
		w.ended = true
	}
}

// Ended reports whether session.ended arrived.
func (w *Watcher) Ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ended
}

// Snapshots counts the snapshots received.
func (w *Watcher) Snapshots() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.snapshots
}

// Types lists the frame types received, in order.
func (w *Watcher) Types() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.types...)
}

// Me is the watcher's view of its own presence.
func (w *Watcher) Me() wire.Presence {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.me
}

// Of is the watcher's view of one user.
func (w *Watcher) Of(userID string) wire.ContactPresence {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.view[userID]
}

// Matches reports whether the watcher's view equals truth exactly, and if
// not, the first difference.
func (w *Watcher) Matches(truth map[string]wire.ContactPresence) (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.live {
		return false, "stream not live"
	}
	if reflect.DeepEqual(w.view, truth) {
		return true, ""
	}
	ids := make([]string, 0, len(truth))
	for id := range truth {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if got, ok := w.view[id]; !ok || !reflect.DeepEqual(got, truth[id]) {
			return false, fmt.Sprintf("user %s: view %+v, server %+v", id, got, truth[id])
		}
	}
	return false, fmt.Sprintf("view has %d users, server %d", len(w.view), len(truth))
}

// Send writes a client message on the current connection.
func (w *Watcher) Send(msg string) error {
	w.mu.Lock()
	c := w.conn
	w.mu.Unlock()
	if c == nil {
		return fmt.Errorf("not connected")
	}
	return c.Write(context.Background(), websocket.MessageText, []byte(msg))
}

// DialSilent opens an event stream by hand and returns its raw connection,
// which answers no ping unless its caller writes a pong: a dead peer, as
// the server sees it. Reading it shows what the server sends, and EOF once
// the server has hung up.
func DialSilent(t testing.TB, base, token string) net.Conn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	req := "GET /api/v1/events HTTP/1.1\r\nHost: " + u.Host + "\r\nAuthorization: Bearer " + token +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("dial: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("dial: %v %v", res, err)
	}
	return conn
}

// PhotoURL is the photo_url of the last contact event about a user ("" for
// none).
func (w *Watcher) PhotoURL(userID string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.photos[userID]
}
