package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"

	"vo/internal/events"
	"vo/internal/store"
	"vo/internal/wire"
)

// errNoPong ends a stream whose peer answered no ping in time.
var errNoPong = errors.New("no pong")

// maxCatchUp is the most events a reconnecting client is sent from the
// log; beyond that a snapshot is smaller.
const maxCatchUp = 2000

// wsTracker knows the live event connections, to count them and to close
// them all.
type wsTracker struct {
	mu      sync.Mutex
	count   int
	cancels map[*context.CancelFunc]struct{}
}

func newWSTracker() *wsTracker { return &wsTracker{cancels: map[*context.CancelFunc]struct{}{}} }

func (t *wsTracker) add(cancel *context.CancelFunc) {
	t.mu.Lock()
	t.count++
	t.cancels[cancel] = struct{}{}
	t.mu.Unlock()
}

func (t *wsTracker) remove(cancel *context.CancelFunc) {
	t.mu.Lock()
	t.count--
	delete(t.cancels, cancel)
	t.mu.Unlock()
}

// CloseStreams ends every event stream of this node; clients reconnect and
// resume from their cursor.
func (s *Server) CloseStreams() {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	for c := range s.ws.cancels {
		(*c)()
	}
}

// Connections returns the number of open event streams on this node.
func (s *Server) Connections() int {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	return s.ws.count
}

// events serves GET /api/v1/events (SPEC §5).
func (s *Server) events(w http.ResponseWriter, r *http.Request, a store.Auth) error {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: nil, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil // Accept has answered the client
	}
	c.SetReadLimit(4096)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	s.ws.add(&cancel)
	defer s.ws.remove(&cancel)
	reason, err := s.stream(ctx, c, r, a)
	if errors.Is(err, errNoPong) {
		// A dead peer would never answer the close handshake either.
		c.CloseNow()
		return nil
	}
	if err != nil && ctx.Err() == nil {
		logRequestErr(r, "events: stream ended", err)
	}
	c.Close(websocket.StatusNormalClosure, reason)
	return nil
}

func (s *Server) stream(ctx context.Context, c *websocket.Conn, r *http.Request, a store.Auth) (string, error) {
	orgID, userID, sessionID := a.User.OrgID, a.User.ID, a.Session.ID
	sub, err := s.cfg.Hub.Subscribe(ctx, orgID, userID, sessionID)
	if err != nil {
		return "internal error", err
	}
	defer sub.Close()

	// The session may have ended between authentication and subscribing,
	// and its session.ended event gone by before we listened.
	if alive, err := s.cfg.Store.SessionExists(ctx, sessionID); err != nil || !alive {
		return "session ended", err
	}
	start, err := s.catchUp(ctx, c, r, a)
	if err != nil {
		return "internal error", err
	}

	readErr := make(chan error, 1)
	go func() { readErr <- s.readLoop(ctx, c, a) }()
	ping := time.NewTicker(s.cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case err := <-readErr:
			return "", err
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, s.cfg.PongWait)
			err := c.Ping(pctx)
			cancel()
			if err != nil {
				return "no pong", errNoPong
			}
		case d, ok := <-sub.C:
			if !ok {
				if sub.Overflowed() {
					return "too slow: reconnect for a snapshot", nil
				}
				return "", nil
			}
			if d.Event.Seq <= start {
				continue
			}
			if err := s.write(ctx, c, d.Frame); err != nil {
				return "", err
			}
			if d.Event.Type == events.TypeSessionEnded {
				return "session ended", nil
			}
		}
	}
}

// catchUp sends hello and then either the events after the client's cursor
// or a snapshot. It returns the seq after which live events continue.
func (s *Server) catchUp(ctx context.Context, c *websocket.Conn, r *http.Request, a store.Auth) (int64, error) {
	orgID := a.User.OrgID
	if cur, ok := events.ParseCursor(r.URL.Query().Get("cursor")); ok && r.URL.Query().Get("cursor") != "" {
		head, err := s.cfg.Store.EventHead(ctx, orgID)
		if err != nil {
			return 0, err
		}
		if head-cur <= maxCatchUp {
			evs, ok, err := s.cfg.Store.EventsAfter(ctx, orgID, cur, maxCatchUp)
			if err != nil {
				return 0, err
			}
			if ok {
				if err := s.writeJSON(ctx, c, map[string]string{"type": "hello", "cursor": events.Cursor(cur)}); err != nil {
					return 0, err
				}
				last := cur
				for i := range evs {
					last = evs[i].Seq
					if !evs[i].For(a.User.ID, a.Session.ID) {
						continue
					}
					if err := s.write(ctx, c, evs[i].Frame()); err != nil {
						return 0, err
					}
				}
				if err := s.writeJSON(ctx, c, map[string]string{"type": "caught_up", "cursor": events.Cursor(last)}); err != nil {
					return 0, err
				}
				return last, nil
			}
		}
	}
	rows, head, err := s.cfg.Store.OrgPresence(ctx, orgID)
	if err != nil {
		return 0, err
	}
	if err := s.writeJSON(ctx, c, map[string]string{"type": "hello", "cursor": events.Cursor(head)}); err != nil {
		return 0, err
	}
	snap := struct {
		Type     string              `json:"type"`
		Cursor   string              `json:"cursor"`
		Presence []wire.PresenceItem `json:"presence"`
		Me       wire.Presence       `json:"me"`
	}{Type: "snapshot", Cursor: events.Cursor(head), Presence: make([]wire.PresenceItem, 0, len(rows))}
	for _, p := range rows {
		snap.Presence = append(snap.Presence, wire.PresenceItem{UserID: p.UserID, ContactPresence: wire.PublicPresence(p.State, p.Shown)})
		if p.UserID == a.User.ID {
			snap.Me = wire.OwnPresence(p.State, p.Shown)
		}
	}
	return head, s.writeJSON(ctx, c, snap)
}

// readLoop reads client messages: activity feeds auto-away; anything else
// is ignored. Reading also lets the library answer pings and see pongs.
func (s *Server) readLoop(ctx context.Context, c *websocket.Conn, a store.Auth) error {
	var last time.Time
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		var m struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(b, &m) != nil || m.Type != "activity" {
			continue
		}
		if last, err = s.cfg.Presence.Active(ctx, a.User.OrgID, a.User.ID, last); err != nil && !errors.Is(err, context.Canceled) {
			slog.Warn("events: activity", slog.Any("err", err))
		}
	}
}

const writeTimeout = 10 * time.Second

func (s *Server) write(ctx context.Context, c *websocket.Conn, frame []byte) error {
	wctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(wctx, websocket.MessageText, frame)
}

func (s *Server) writeJSON(ctx context.Context, c *websocket.Conn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.write(ctx, c, b)
}
