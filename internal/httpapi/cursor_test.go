package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"vo/internal/storetest"
	"vo/internal/votest"
)

// TestCursorAcrossStreams: a session's live events, org-wide (presence)
// and its user's own (me.presence) interleaved, each carry a cursor; a
// reconnect from any of them gets exactly the frames that followed it, the
// very same bytes, each once and in order, then caught_up at the last one;
// a cursor from before the streams were split gets a snapshot, not an
// error.
func TestCursorAcrossStreams(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{})
		n.Seed("acme", "Ann Lee", "Ben Ortiz")
		ann := n.Login("ann@acme.test", "web")
		ben := n.Login("ben@acme.test", "web")
		ctx, cancel := context.WithTimeout(context.Background(), 10*second)
		defer cancel()
		dial := func(cursor string) *websocket.Conn {
			t.Helper()
			u := "ws" + strings.TrimPrefix(n.HTTP.URL, "http") + "/api/v1/events"
			if cursor != "" {
				u += "?cursor=" + cursor
			}
			c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + ann.Token}}})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			c.SetReadLimit(1 << 20)
			t.Cleanup(func() { c.CloseNow() })
			return c
		}
		type frame struct {
			Type, Cursor string
			raw          string
		}
		read := func(c *websocket.Conn) frame {
			t.Helper()
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatalf("frame %s: %v", b, err)
			}
			f.raw = string(b)
			return f
		}
		live := dial("")
		if f := read(live); f.Type != "hello" {
			t.Fatalf("first frame %s", f.raw)
		}
		if f := read(live); f.Type != "snapshot" {
			t.Fatalf("second frame %s", f.raw)
		}
		n.SetPresence(ann, map[string]any{"message": "one"})
		n.SetPresence(ben, map[string]any{"message": "two"})
		n.SetPresence(ann, map[string]any{"message": "three"})
		n.SetPresence(ben, map[string]any{"message": "four"})
		n.SetPresence(ann, map[string]any{"status": "busy"})
		var got []frame
		var types []string
		for len(got) < 8 {
			f := read(live)
			got, types = append(got, f), append(types, f.Type)
		}
		if want := "presence me.presence presence presence me.presence presence presence me.presence"; strings.Join(types, " ") != want {
			t.Fatalf("live frames %v, want %s", types, want)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Cursor == got[i-1].Cursor {
				t.Fatalf("frames %d and %d share the cursor %q", i-1, i, got[i].Cursor)
			}
		}
		for i, from := range got {
			c := dial(from.Cursor)
			if f := read(c); f.Type != "hello" || f.Cursor != from.Cursor {
				t.Fatalf("resuming after frame %d: first frame %s", i, f.raw)
			}
			for _, want := range got[i+1:] {
				if f := read(c); f.raw != want.raw {
					t.Fatalf("resuming after frame %d: %s, want %s", i, f.raw, want.raw)
				}
			}
			if f := read(c); f.Type != "caught_up" || f.Cursor != got[len(got)-1].Cursor {
				t.Fatalf("resuming after frame %d: %s, want caught_up at %s", i, f.raw, got[len(got)-1].Cursor)
			}
			c.CloseNow()
		}
		// A cursor of the old form (one number) or none we gave: a snapshot.
		for _, old := range []string{"3", "0", "9.9.9"} {
			c := dial(old)
			if f := read(c); f.Type != "hello" {
				t.Fatalf("old cursor %s: first frame %s", old, f.raw)
			}
			if f := read(c); f.Type != "snapshot" {
				t.Fatalf("old cursor %s: %s, want a snapshot", old, f.raw)
			}
			c.CloseNow()
		}
	})
}

// TestSnapshotAgreesWithCursor: a snapshot's "me" is the user's presence as
// of the cursor it comes with, whether the org's snapshot is read for it
// or was read already (cached): after Ann's changes, her new streams'
// snapshots carry her latest presence and the cursor of her live stream's
// last frame, and resuming from that cursor sends nothing but caught_up.
func TestSnapshotAgreesWithCursor(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{})
		n.Seed("acme", "Ann Lee", "Ben Ortiz")
		ann := n.Login("ann@acme.test", "web")
		ben := n.Login("ben@acme.test", "web")
		ctx, cancel := context.WithTimeout(context.Background(), 10*second)
		defer cancel()
		dial := func(s votest.Session, cursor string) *websocket.Conn {
			t.Helper()
			u := "ws" + strings.TrimPrefix(n.HTTP.URL, "http") + "/api/v1/events"
			if cursor != "" {
				u += "?cursor=" + cursor
			}
			c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + s.Token}}})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			c.SetReadLimit(1 << 20)
			t.Cleanup(func() { c.CloseNow() })
			return c
		}
		type frame struct {
			Type, Cursor string
			Me           struct{ Message *string }
			raw          string
		}
		read := func(c *websocket.Conn) frame {
			t.Helper()
			_, b, err := c.Read(ctx)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			var f frame
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatalf("frame %s: %v", b, err)
			}
			f.raw = string(b)
			return f
		}
		snapshot := func(s votest.Session) frame {
			t.Helper()
			c := dial(s, "")
			if f := read(c); f.Type != "hello" {
				t.Fatalf("first frame %s", f.raw)
			}
			f := read(c)
			if f.Type != "snapshot" {
				t.Fatalf("second frame %s", f.raw)
			}
			c.CloseNow()
			return f
		}
		live := dial(ann, "")
		read(live)
		read(live)
		snapshot(ben) // the org's snapshot is cached before Ann's changes
		var last frame
		for i, msg := range []string{"one", "two", "three"} {
			n.SetPresence(ann, map[string]any{"message": msg})
			if i == 1 {
				n.SetPresence(ben, map[string]any{"message": "ben"})
			}
		}
		for want := 0; want < 3; {
			if last = read(live); last.Type == "me.presence" {
				want++
			}
		}
		for i := range 2 { // read for the first, from the cache for the second
			f := snapshot(ann)
			if f.Me.Message == nil || *f.Me.Message != "three" {
				t.Fatalf("snapshot %d: me %s, want the message three", i, f.raw)
			}
			if f.Cursor != last.Cursor {
				t.Fatalf("snapshot %d: cursor %s, want %s, the last frame's", i, f.Cursor, last.Cursor)
			}
		}
		c := dial(ann, last.Cursor)
		if f := read(c); f.Type != "hello" || f.Cursor != last.Cursor {
			t.Fatalf("resuming at the snapshot's cursor: %s", f.raw)
		}
		if f := read(c); f.Type != "caught_up" || f.Cursor != last.Cursor {
			t.Fatalf("resuming at the snapshot's cursor: %s, want caught_up with nothing before", f.raw)
		}
	})
}
