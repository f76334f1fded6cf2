package bench

import (
	"context"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"vo/internal/events"
)

// TestSlowWatcherIsCutOffAlone: a watcher that stops reading fills its
// socket, then its queue; it is cut off, told why once it reads again, and
// nobody else waits for it or loses anything.
func TestSlowWatcherIsCutOffAlone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := newVo(t, 4, time.Millisecond) // pings meet frames half written
	url := "ws" + strings.TrimPrefix(v.srv.URL, "http") + "/api/v1/events"
	tg := VoTarget(v.srv.URL, v.seeded)

	// The slow one: a small receive buffer, and it does not read.
	small := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var err error
		c.Control(func(fd uintptr) { err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return err
	}}
	slow, br, err := dial(ctx, small, url, tg.Header(3))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	f, err := connect(ctx, 3, tg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()

	// More events than a queue holds, large enough to fill any socket,
	// handed to the hub as the store would.
	head, err := v.st.EventHead(ctx, v.seeded.OrgID)
	if err != nil {
		t.Fatal(err)
	}
	n := 3 * events.QueueLen
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("u_%d", i)
	}
	message := strings.Repeat("x", 4000)
	p := newPhase(3, "", ids)
	if _, err := f.await(ctx, p, 10*time.Second, func() error {
		for i := range n {
			data := fmt.Sprintf(`{"user_id":%q,"shown":"busy","activity":null,"message":%q,"version":2}`, ids[i], message)
			v.hub.Publish([]events.Event{{OrgID: v.seeded.OrgID, Seq: head + int64(i) + 1, Type: events.TypePresence, Data: []byte(data)}})
		}
		return nil
	}); err != nil {
		t.Fatalf("the other watchers: %v", err)
	}
	if err := f.fault(); err != nil {
		t.Fatal(err)
	}

	// Reading again, the slow one gets what it had queued, in order, and
	// then the reason it was cut off.
	got, last := 0, int64(-1)
	for {
		op, m, size, err := readFrame(br)
		if err != nil {
			t.Fatalf("after %d events: %v", got, err)
		}
		if op == opClose {
			if !strings.Contains(string(m), "too slow") {
				t.Fatalf("closed with %q", m)
			}
			break
		}
		if op == opText && strings.HasPrefix(string(m), `{"type":"presence"`) {
			cur := intField(m, `"cursor":"`)
			if cur <= last {
				t.Fatalf("cursor %d after %d", cur, last)
			}
			last = cur
			got++
		}
		br.Discard(size)
	}
	if got >= n {
		t.Fatalf("the slow watcher got all %d events: it was never cut off", got)
	}
	t.Logf("the slow watcher got %d of %d events, then the close", got, n)
}
