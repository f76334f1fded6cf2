package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apidoc/apitypes"
	"vo/internal/clock"
	"vo/internal/storetest"
	"vo/internal/votest"
)

// second is SPEC §2's convergence bound.
const second = time.Second

func converged(t *testing.T, n *votest.Node, orgID string, ws ...*votest.Watcher) {
	t.Helper()
	for i, w := range ws {
		votest.Eventually(t, second, fmt.Sprintf("watcher %d converges", i), func() (bool, string) {
			return w.Matches(votest.Truth(t, n.Store, orgID))
		})
	}
}

func TestStreamStartsWithHelloAndSnapshot(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{})
		org := n.Seed("acme", "Ann Lee", "Ben Ortiz", "Cy Young")
		n.Seed("other", "Olga Other")
		a := n.Login("ann@acme.test", "web")
		w := votest.Watch(t, n.HTTP.URL, a)
		converged(t, n, org.ID, w)
		if got := w.Types()[:2]; !slices.Equal(got, []string{"hello", "snapshot"}) {
			t.Fatalf("first frames %v, want hello, snapshot", got)
		}
		if len(votest.Truth(t, n.Store, org.ID)) != 3 {
			t.Fatal("the snapshot must hold the org's three people and no one else")
		}
		if me := w.Me(); me.Status != "available" || me.Shown != "available" {
			t.Fatalf("me in snapshot: %+v", me)
		}
	})
}

// TestSessionsDrivePresence: the first login brings a user online for every
// watcher within a second; logout, remote logout and deactivation each send
// session.ended to the ended session, close its stream, kill its token, and
// the last one brings the user offline for everyone.
func TestSessionsDrivePresence(t *testing.T) {
	t.Parallel()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	ann, ben := org.Users[0], org.Users[1]
	if _, err := admin.CreateUsers(context.Background(), n.Store, org.ID, votest.Params,
		[]account.NewUser{{Name: "Adam Admin", Email: "adam@acme.test", Extension: "190", Password: votest.Password, Role: account.RoleAdmin}}); err != nil {
		t.Fatal(err)
	}
	b := n.Login("ben@acme.test", "web")
	wb := votest.Watch(t, n.HTTP.URL, b)
	converged(t, n, org.ID, wb)
	if got := wb.Of(ann.ID).Shown; got != "offline" {
		t.Fatalf("Ann before login: %s", got)
	}

	a1 := n.Login("ann@acme.test", "web")
	votest.Eventually(t, second, "Ann online", func() (bool, string) { return wb.Of(ann.ID).Shown == "available", wb.Of(ann.ID).Shown })
	a2 := n.Login("ann@acme.test", "desktop")
	a3 := n.Login("ann@acme.test", "mobile")
	w1, w2, w3 := votest.Watch(t, n.HTTP.URL, a1), votest.Watch(t, n.HTTP.URL, a2), votest.Watch(t, n.HTTP.URL, a3)
	converged(t, n, org.ID, w1, w2, w3)

	endedAndClosed := func(w *votest.Watcher, token string) {
		t.Helper()
		select {
		case <-w.Closed():
		case <-time.After(second):
			t.Fatal("the ended session's stream is still open")
		}
		if !w.Ended() {
			t.Fatalf("no session.ended before close: %v", w.Types())
		}
		if st := n.Do(token, "GET", "/api/v1/me", nil, nil); st != 401 {
			t.Fatalf("ended token still works: %d", st)
		}
	}
	// Logout of one device: Ann stays online on the others.
	if st := n.Do(a1.Token, "POST", "/api/v1/auth/logout", nil, nil); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	endedAndClosed(w1, a1.Token)
	// Remote logout of the desktop from the phone.
	if st := n.Do(a3.Token, "DELETE", "/api/v1/sessions/"+a2.ID, nil, nil); st != 204 {
		t.Fatalf("remote logout: %d", st)
	}
	endedAndClosed(w2, a2.Token)
	converged(t, n, org.ID, wb, w3)
	if got := wb.Of(ann.ID).Shown; got != "available" {
		t.Fatalf("Ann with a session left: %s", got)
	}
	// Deactivation ends the last one: offline for everyone, and gone.
	ad := n.Login("adam@acme.test", "web")
	if st := n.Do(ad.Token, "DELETE", "/api/v1/admin/users/"+ann.ID, nil, nil); st != 204 {
		t.Fatalf("deactivate: %d", st)
	}
	endedAndClosed(w3, a3.Token)
	converged(t, n, org.ID, wb)
	if _, ok := votest.Truth(t, n.Store, org.ID)[ann.ID]; ok {
		t.Fatal("a deactivated user is still in the org's presence")
	}
	_ = ben
}

func TestLastLogoutShowsOfflineWithinASecond(t *testing.T) {
	t.Parallel()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	a := n.Login("ann@acme.test", "web")
	wb := votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "web"))
	votest.Eventually(t, second, "Ann online", func() (bool, string) { return wb.Of(org.Users[0].ID).Shown == "available", "" })
	start := time.Now()
	n.Do(a.Token, "POST", "/api/v1/auth/logout", nil, nil)
	votest.Eventually(t, second, "Ann offline", func() (bool, string) { return wb.Of(org.Users[0].ID).Shown == "offline", "" })
	t.Logf("offline seen after %v", time.Since(start))
}

// TestClosedAppStaysLoggedIn: closing the stream does not end the session.
func TestClosedAppStaysLoggedIn(t *testing.T) {
	t.Parallel()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	a := n.Login("ann@acme.test", "mobile")
	wa := votest.Watch(t, n.HTTP.URL, a)
	wa.Drop()
	wb := votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "web"))
	converged(t, n, org.ID, wb)
	if got := wb.Of(org.Users[0].ID).Shown; got != "available" {
		t.Fatalf("Ann with her app closed shows %s, want available (mobile, logged in)", got)
	}
	if st := n.Do(a.Token, "GET", "/api/v1/me", nil, nil); st != 200 {
		t.Fatalf("token after closing the app: %d", st)
	}
}

// TestConvergenceUnderFaults changes presence through faults and ends each
// step by comparing every watcher's view with the server's state.
func TestConvergenceUnderFaults(t *testing.T) {
	t.Parallel()
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		clk := clock.NewFake(time.Now())
		n := votest.Start(t, dsn, votest.Options{Clock: clk})
		org := n.Seed("acme", "Ann Lee", "Ben Ortiz", "Cy Young", "Di Diaz")
		ann := []votest.Session{n.Login("ann@acme.test", "web"), n.Login("ann@acme.test", "mobile"), n.Login("ann@acme.test", "desktop")}
		cy := n.Login("cy@acme.test", "web")
		ws := []*votest.Watcher{
			votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "web")),
			votest.Watch(t, n.HTTP.URL, n.Login("di@acme.test", "mobile")),
			votest.Watch(t, n.HTTP.URL, ann[1]),
		}
		converged(t, n, org.ID, ws...)

		// A connection dropped by the client mid-stream, changes meanwhile,
		// reconnect with its cursor.
		ws[0].Drop()
		n.SetPresence(ann[0], map[string]any{"status": "dnd", "message": "Heads down"})
		n.SetPresence(cy, map[string]any{"status": "away"})
		if err := ws[0].Connect(); err != nil {
			t.Fatal(err)
		}
		converged(t, n, org.ID, ws...)
		if ws[0].Snapshots() != 1 {
			t.Fatalf("a reconnect with a fresh cursor should catch up from the log, got %d snapshots", ws[0].Snapshots())
		}

		// Connections dropped by the server.
		n.API.CloseStreams()
		for _, w := range ws {
			<-w.Closed()
		}
		n.SetPresence(ann[2], map[string]any{"message": "Back at 3"})
		for _, w := range ws {
			if err := w.Connect(); err != nil {
				t.Fatal(err)
			}
		}
		converged(t, n, org.ID, ws...)

		// A watcher with no cursor and one with an old one.
		old := ws[1].Cursor()
		n.SetPresence(cy, map[string]any{"status": "busy"})
		ws[0].Drop()
		ws[0].ForgetCursor()
		ws[1].Drop()
		ws[1].SetCursor("1")
		n.SetPresence(ann[0], map[string]any{"status": "available", "message": nil})
		for _, w := range ws[:2] {
			if err := w.Connect(); err != nil {
				t.Fatal(err)
			}
		}
		converged(t, n, org.ID, ws...)
		_ = old

		// A burst of concurrent changes from several devices of one user.
		var wg sync.WaitGroup
		for i := 0; i < 30; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				st := []string{"available", "busy", "dnd", "away", "invisible"}[i%5]
				votest.Do(t, n.HTTP.URL, ann[i%3].Token, "PUT", "/api/v1/me/presence", map[string]any{"status": st, "message": fmt.Sprintf("change %d", i)}, nil)
			}(i)
		}
		wg.Wait()
		converged(t, n, org.ID, ws...)
		if got, want := ws[2].Me(), n.SetPresence(ann[0], map[string]any{}); got.Version != want.Version || got.Status != want.Status {
			t.Fatalf("Ann's own device: %+v, server %+v", got, want)
		}

		// Expiries that fire while a watcher is disconnected.
		until := clk.Now().Add(time.Hour).Format(time.RFC3339Nano)
		n.SetPresence(cy, map[string]any{"status": "dnd", "status_until": until, "message": "In a workshop", "message_expires_at": until})
		converged(t, n, org.ID, ws...)
		ws[0].Drop()
		clk.Advance(time.Hour)
		votest.Eventually(t, second, "expiry ran", func() (bool, string) {
			p, err := n.Store.Presence(context.Background(), org.ID, org.Users[2].ID)
			// Cy's web session has been idle for the hour: available, shown away.
			return err == nil && p.State.Status == "available" && p.State.Message == "" && p.Shown == "away", fmt.Sprintf("%+v", p)
		})
		if err := ws[0].Connect(); err != nil {
			t.Fatal(err)
		}
		converged(t, n, org.ID, ws...)

		// The server restarted between changes.
		for _, w := range ws {
			w.Drop()
		}
		n.Stop()
		n2 := votest.Start(t, dsn, votest.Options{Clock: clk})
		n2.SetPresence(ann[1], map[string]any{"status": "busy", "message": "after restart"})
		for _, w := range ws {
			if err := w.ConnectTo(n2.HTTP.URL); err != nil {
				t.Fatal(err)
			}
		}
		converged(t, n2, org.ID, ws...)
	})
}

// TestExpiryFiresOnTimeAndSurvivesRestart: the server reverts status_until
// and clears an expired message at the instant, even when the instant comes
// while it was down.
func TestExpiryFiresOnTimeAndSurvivesRestart(t *testing.T) {
	t.Parallel()
	dsn := filepath.Join(t.TempDir(), "vo.db")
	n := votest.Start(t, dsn, votest.Options{})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	a := n.Login("ann@acme.test", "web")
	wb := votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "web"))
	at := time.Now().Add(1500 * time.Millisecond).UTC()
	n.SetPresence(a, map[string]any{"status": "dnd", "status_until": at.Format(time.RFC3339Nano), "message": "brb", "message_expires_at": at.Format(time.RFC3339Nano)})
	votest.Eventually(t, second, "dnd seen", func() (bool, string) { return wb.Of(org.Users[0].ID).Shown == "busy", "" })
	for time.Now().Before(at) {
		time.Sleep(5 * time.Millisecond)
	}
	votest.Eventually(t, second, "expiry within a second of its instant", func() (bool, string) {
		p := wb.Of(org.Users[0].ID)
		return p.Shown == "available" && p.Message == nil, fmt.Sprintf("%+v", p)
	})

	// Set an expiry, stop the server, let the instant pass, start again.
	clk := clock.NewFake(time.Now())
	n.Stop()
	n2 := votest.Start(t, dsn, votest.Options{Clock: clk})
	n2.SetPresence(a, map[string]any{"status": "busy", "status_until": clk.Now().Add(time.Hour).Format(time.RFC3339Nano)})
	n2.Stop()
	clk.Advance(2 * time.Hour)
	n3 := votest.Start(t, dsn, votest.Options{Clock: clk})
	votest.Eventually(t, second, "expiry after restart", func() (bool, string) {
		p, err := n3.Store.Presence(context.Background(), org.ID, org.Users[0].ID)
		// Ann's web session has been idle for two hours: available, shown away.
		return err == nil && p.State.Status == "available" && p.State.StatusUntil.IsZero() && p.Shown == "away", fmt.Sprintf("%+v", p)
	})
}

// TestDeadConnectionIsClosed: a client that answers no ping is cut off.
func TestDeadConnectionIsClosed(t *testing.T) {
	t.Parallel()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{PingEvery: 50 * time.Millisecond, PongWait: 100 * time.Millisecond})
	n.Seed("acme", "Ann Lee")
	s := n.Login("ann@acme.test", "web")
	conn := votest.DialSilent(t, n.HTTP.URL, s.Token)
	defer conn.Close()
	// The server's hello, snapshot and pings arrive and go unanswered; the
	// read ends when the server hangs up, or fails the test at the deadline.
	conn.SetReadDeadline(time.Now().Add(2 * second))
	_, err := io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the silent connection was not closed within 2 s")
	}
}

// TestActivityFeedsAutoAway: idle past the org's auto-away time shows away;
// an activity message brings the user back.
func TestActivityFeedsAutoAway(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Now())
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{Clock: clk})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	a := n.Login("ann@acme.test", "web")
	wa := votest.Watch(t, n.HTTP.URL, a)
	wb := votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "mobile"))
	converged(t, n, org.ID, wa, wb)
	clk.Advance(11 * time.Minute)
	votest.Eventually(t, second, "Ann auto-away", func() (bool, string) { return wb.Of(org.Users[0].ID).Shown == "away", "" })
	if got := wb.Of(org.Users[1].ID).Shown; got != "available" {
		t.Fatalf("Ben has a mobile session and must stay available, got %s", got)
	}
	if err := wa.Send(`{"type":"activity"}`); err != nil {
		t.Fatal(err)
	}
	votest.Eventually(t, second, "Ann back", func() (bool, string) { return wb.Of(org.Users[0].ID).Shown == "available", "" })
	converged(t, n, org.ID, wa, wb)
}

// TestStreamCaps: one session holds at most 8 streams and one user at most
// 32 (the caps in internal/stream); one more closes the oldest, with status
// 4000 and a reason that says why, and every other stream stays open and
// keeps receiving events.
func TestStreamCaps(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		email    string // a user of its own, whose streams no other case counts
		sessions []int  // streams opened per session, in this order
		reason   string
	}{
		{"per session", "ann@acme.test", []int{9}, "too many streams for this session: the oldest closes"},
		{"per user", "cy@acme.test", []int{8, 8, 8, 8, 1}, "too many streams for this user: the oldest closes"},
	}
	storetest.ForEach(t, func(t *testing.T, dsn string) {
		n := votest.Start(t, dsn, votest.Options{})
		org := n.Seed("acme", "Ann Lee", "Ben Ortiz", "Cy Young")
		ben := n.Login("ben@acme.test", "web")
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var conns []*websocket.Conn
				for _, count := range tc.sessions {
					s := n.Login(tc.email, "web")
					for range count {
						conns = append(conns, dialLive(t, n.HTTP.URL, s.Token))
					}
				}
				oldest, rest := conns[0], conns[1:]
				ctx, cancel := context.WithTimeout(context.Background(), second)
				defer cancel()
				var err error
				for err == nil {
					_, _, err = oldest.Read(ctx)
				}
				var ce websocket.CloseError
				if websocket.CloseStatus(err) != 4000 || !errors.As(err, &ce) || ce.Reason != tc.reason {
					t.Fatalf("the oldest stream ended with %v, want status 4000 and %q", err, tc.reason)
				}

				// Ben's new message reaches every stream left.
				n.SetPresence(ben, map[string]any{"message": tc.name})
				for i, c := range rest {
					if p := readPresence(t, c, org.Users[1].ID); p.Message == nil || *p.Message != tc.name {
						t.Fatalf("stream %d: Ben's message %v, want %q", i+1, p.Message, tc.name)
					}
				}
			})
		}
	})
}

// dialLive opens an event stream with token and reads until its snapshot:
// the server counts a stream before it sends hello, so the streams opened
// one after the other are counted in that order.
func dialLive(t *testing.T, base, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/api/v1/events",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { c.CloseNow() })
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("before the snapshot: %v", err)
		}
		var f struct{ Type string }
		if json.Unmarshal(b, &f) == nil && f.Type == "snapshot" {
			return c
		}
	}
}

// readPresence reads c until a presence event of userID arrives.
func readPresence(t *testing.T, c *websocket.Conn, userID string) apitypes.PresenceFrame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), second)
	defer cancel()
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s's presence: %v", userID, err)
		}
		var p apitypes.PresenceFrame
		if json.Unmarshal(b, &p) == nil && p.Type == "presence" && p.UserID == userID {
			return p
		}
	}
}
