// Package stream is the WebSocket transport of SPEC §5: the live event
// stream of /api/v1/events, from the handshake to the frames on the wire.
// It writes its own text frames (one writer per core, raw non-blocking
// writes), sends the snapshot or catch-up a stream starts with, and keeps
// the snapshot cache that a reconnect storm reads from.
package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/coder/websocket"

	"vo/internal/account"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/metrics"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/wire"
)

// errNoPong ends a stream whose peer answered no ping in time.
var errNoPong = errors.New("no pong")

// maxCatchUp is the most events a reconnecting client is sent from the
// log; beyond that a snapshot is smaller.
const maxCatchUp = 2000

// Caps on one node's streams. A person has a few devices, each with a
// few tabs open, so a session needs a handful of streams and a user a few
// sessions' worth; a client that opens more (a reconnect loop that never
// closes the old socket, a script) would otherwise hold a goroutine, a
// subscription and a socket per stream without bound. Past a cap the
// oldest stream of that session or user goes and the new one proceeds: the
// newest is the one in front of the person.
const (
	maxStreamsPerSession = 8
	maxStreamsPerUser    = 32
)

// closeTooMany is the close status of a stream ended by a cap: the first
// of the 4000-4999 range RFC 6455 leaves to applications, so that a client
// can tell it from an ordinary close (1000) and from the protocol's policy
// violation (1008), and not reconnect on its own, which would only close
// another of its own streams.
const closeTooMany websocket.StatusCode = 4000

// reasonFlood is the close reason of a stream closed for flooding
// (closeFlood).
const reasonFlood = "too many messages: slow down before reconnecting"

// The close reasons of streams ended by a cap.
const (
	reasonSessionCap = "too many streams for this session: the oldest closes"
	reasonUserCap    = "too many streams for this user: the oldest closes"
)

// wsTracker knows the live event streams, to count them and to close them
// all, the HTTP servers whose shutdown closes them, and the snapshots they
// start with. It keeps each session's and each user's streams oldest
// first, to hold them to their caps; a list never grows past its cap, so
// adding and removing a stream costs a few steps.
type wsTracker struct {
	mu       sync.Mutex
	streams  map[*stream]struct{}
	sessions map[string][]*stream // session id → its streams, oldest first
	users    map[string][]*stream // user id → its streams, oldest first
	servers  map[*http.Server]struct{}
	next     int // which writer the next stream gets
	snaps    snapCache
	writers  []*writer
}

func newWSTracker() *wsTracker {
	t := &wsTracker{streams: map[*stream]struct{}{}, sessions: map[string][]*stream{}, users: map[string][]*stream{},
		servers: map[*http.Server]struct{}{}}
	for range runtime.GOMAXPROCS(0) {
		t.writers = append(t.writers, &writer{})
	}
	return t
}

// addStream counts st, ending the oldest stream of its session or user
// should st take either past its cap, and makes sure that the shutdown of
// the HTTP server serving r ends it: a live stream outlives its handler,
// and Shutdown does not see hijacked connections.
func (s *Server) addStream(st *stream, r *http.Request) {
	t := s.ws
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.sessions[st.sessionID]; len(l) >= maxStreamsPerSession {
		t.evict(l[0], reasonSessionCap)
	}
	if l := t.users[st.userID]; len(l) >= maxStreamsPerUser {
		t.evict(l[0], reasonUserCap)
	}
	t.streams[st] = struct{}{}
	t.sessions[st.sessionID] = append(t.sessions[st.sessionID], st)
	t.users[st.userID] = append(t.users[st.userID], st)
	s.cfg.Metrics.StreamOpened()
	st.w = t.writers[t.next%len(t.writers)]
	t.next++
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		if _, seen := t.servers[hs]; !seen {
			t.servers[hs] = struct{}{}
			hs.RegisterOnShutdown(s.CloseStreams)
		}
	}
}

// evict stops counting st at once, so the caps hold while it closes, and
// ends it in its own goroutine: the close handshake may wait on the
// client. Called with t.mu held.
func (t *wsTracker) evict(st *stream, reason string) {
	t.untrack(st)
	go st.endWith(closeTooMany, reason, nil)
}

func (t *wsTracker) remove(st *stream) {
	t.mu.Lock()
	t.untrack(st)
	t.mu.Unlock()
}

// untrack forgets st, if it is still counted. Called with t.mu held.
func (t *wsTracker) untrack(st *stream) {
	if _, ok := t.streams[st]; !ok {
		return // evicted before it ended
	}
	delete(t.streams, st)
	drop(t.sessions, st.sessionID, st)
	drop(t.users, st.userID, st)
}

// drop takes st from the list m[key], and the list from m once empty.
func drop(m map[string][]*stream, key string, st *stream) {
	l := m[key]
	if i := slices.Index(l, st); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(m, key)
	} else {
		m[key] = l
	}
}

// CloseStreams ends every event stream of this node; clients reconnect and
// resume from their cursor.
func (s *Server) CloseStreams() {
	s.ws.mu.Lock()
	defer s.ws.mu.Unlock()
	for st := range s.ws.streams {
		go st.end("", nil)
	}
}

// A stream is one live event connection. While idle it costs one
// goroutine, the one reading the client; pings run on a timer. Its events
// are written by its node's writer, with every other stream's (see writer);
// a stream whose client reads too slowly for that gets a goroutine of its
// own until it has caught up. The WebSocket library does the handshake,
// reads, and writes the control frames (pongs, pings, close); the stream's
// text frames are written by frameWriter.
//
// One goroutine at a time writes a stream's events: the one that took
// them from the subscription, until Take finds none (events.Sub).
type stream struct {
	srv       *Server
	c         *websocket.Conn
	out       *frameWriter
	sub       *events.Sub // set once by open, under mu
	w         *writer
	orgID     string
	userID    string
	sessionID string
	// pos is where the stream is: live events continue after it, and it
	// moves with each one sent (under the subscription's one-at-a-time
	// rule, see events.Sub).
	pos events.Position

	mu    sync.Mutex
	ended bool
	ping  *time.Timer
}

// Config holds what the streams are built from.
type Config struct {
	Store *store.Store
	Hub   *events.Hub
	// Router routes the messages clients send; nil, none is known.
	Router *Router
	// PingEvery and PongWait tune dead-connection detection; zero means the
	// defaults (25 s and 30 s, so a dead peer goes within 60 s).
	PingEvery, PongWait time.Duration
	// Metrics counts live streams; nil, none.
	Metrics *metrics.Metrics
	// Clock decides when an unused snapshot is dropped; nil, the wall clock.
	Clock clock.Clock
}

// Server serves the event streams of one node.
type Server struct {
	cfg Config
	ws  *wsTracker
}

// New builds the streams' server.
func New(cfg Config) *Server {
	if cfg.PingEvery == 0 {
		cfg.PingEvery = 25 * time.Second
	}
	if cfg.PongWait == 0 {
		cfg.PongWait = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Router == nil {
		cfg.Router = NewRouter(cfg.Clock)
	}
	return &Server{cfg: cfg, ws: newWSTracker()}
}

// Serve serves GET /api/v1/events (SPEC §5) for an authenticated request.
// It sends hello and the snapshot or catch-up, hands the stream to its
// reader, its flushes and its ping timer, and returns.
func (s *Server) Serve(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	hj := &hijacker{ResponseWriter: w}
	c, err := websocket.Accept(hj, r, &websocket.AcceptOptions{OriginPatterns: nil, CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil // Accept has answered the client
	}
	c.SetReadLimit(s.cfg.Router.readLimit())
	st := &stream{srv: s, c: c, out: hj.out, orgID: a.User.OrgID, userID: a.User.ID, sessionID: a.Session.ID}
	s.addStream(st, r)
	if reason, err := st.open(r, a); reason != "" || err != nil {
		if err != nil && !errors.Is(err, errStreamEnded) && r.Context().Err() == nil {
			slog.Warn("events: stream ended", slog.String("path", r.URL.Path), slog.Any("err", err))
		}
		st.end(reason, nil)
		return nil
	}
	go st.read()
	st.mu.Lock()
	if !st.ended {
		st.ping = time.AfterFunc(s.cfg.PingEvery, st.pingPeer)
	}
	st.mu.Unlock()
	st.sub.Notify(st.kick)
	return nil
}

// open subscribes and sends what comes before the live events. A reason
// not empty ends the stream.
func (st *stream) open(r *http.Request, a account.Auth) (reason string, err error) {
	ctx := r.Context()
	// Joined, not subscribed: the head of the user's own stream is read
	// below, with the session and the org's head, and the subscription
	// started there.
	sub, err := st.srv.cfg.Hub.Join(ctx, a.User.OrgID, a.User.ID, a.Session.ID)
	if err != nil {
		return "internal error", err
	}
	st.mu.Lock()
	st.sub = sub
	ended := st.ended
	st.mu.Unlock()
	if ended { // closed meanwhile (CloseStreams)
		sub.Close()
		return "", errStreamEnded
	}
	// The session may have ended between authentication and subscribing,
	// and its session.ended event gone by before we listened. The heads
	// are read in the same statement, after subscribing: what comes after
	// them reaches the subscription.
	alive, orgHead, userHead, err := st.srv.cfg.Store.StreamStart(ctx, a.User.OrgID, a.User.ID, a.Session.ID)
	if err != nil || !alive {
		return "session ended", err
	}
	sub.Start(userHead)
	if st.pos, err = st.catchUp(ctx, r, a, events.Position{Org: orgHead, User: userHead}); err != nil {
		return "internal error", err
	}
	return "", nil
}

// end closes the stream once, telling the client reason. err is logged
// unless it only says that the client went away.
func (st *stream) end(reason string, err error) {
	st.endWith(websocket.StatusNormalClosure, reason, err)
}

// endWith is end with the close status code.
func (st *stream) endWith(code websocket.StatusCode, reason string, err error) {
	st.mu.Lock()
	if st.ended {
		st.mu.Unlock()
		return
	}
	st.ended = true
	if st.ping != nil {
		st.ping.Stop()
	}
	sub := st.sub
	st.mu.Unlock()
	st.out.shut()
	if sub != nil {
		sub.Close()
	}
	if errors.Is(err, errNoPong) {
		st.c.CloseNow() // a dead peer would never answer the close handshake either
	} else {
		if err != nil && !peerGone(err) {
			slog.Warn("events: stream ended", slog.String("path", "/api/v1/events"), slog.Any("err", err))
		}
		st.c.Close(code, reason)
	}
	st.srv.ws.remove(st)
	st.srv.cfg.Metrics.StreamClosed()
}

// peerGone reports whether err only says that the client went away.
func peerGone(err error) bool {
	return websocket.CloseStatus(err) != -1 || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// kick is the subscription's Notify function: events wait.
func (st *stream) kick() { st.w.add(st) }

// flushBatch is how many events one write carries at most.
const flushBatch = 64

var batches = sync.Pool{New: func() any { b := make([]*events.Delivery, 0, flushBatch); return &b }}

// A writer writes the events of many streams from one goroutine, which
// runs while any of them has events waiting; a node has one per core. It
// never waits for a client: it writes what the socket takes at once, and a
// stream whose socket is full goes on in a goroutine of its own
// (flushRest) until it has caught up. So a fan-out costs a write per
// stream and no goroutine, and under load the events that came while the
// writer went round leave together, in one write per stream.
type writer struct {
	mu      sync.Mutex
	ready   []*stream // streams with events waiting
	running bool
}

// add queues st, whose subscription has events, and starts the writer's
// goroutine unless it runs.
func (w *writer) add(st *stream) {
	w.mu.Lock()
	w.ready = append(w.ready, st)
	start := !w.running
	w.running = true
	w.mu.Unlock()
	if start {
		go w.run()
	}
}

func (w *writer) run() {
	var list []*stream
	bp := batches.Get().(*[]*events.Delivery)
	defer batches.Put(bp)
	var buf []byte
	for {
		w.mu.Lock()
		if len(w.ready) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		list, w.ready = w.ready, list[:0]
		w.mu.Unlock()
		for _, st := range list {
			buf = st.flushNow(bp, buf[:0])
		}
		clear(list)
		clear((*bp)[:cap(*bp)])
		if cap(buf) > maxKeptBuf {
			buf = nil
		}
	}
}

// flushNow writes st's waiting events without blocking, and leaves the
// rest to a goroutine of its own (flushRest) when the socket is full. buf
// is scratch space, returned for reuse.
func (st *stream) flushNow(bp *[]*events.Delivery, buf []byte) []byte {
	for {
		ds, ended := st.sub.Take((*bp)[:0])
		if ended {
			go st.subEnded()
			return buf
		}
		if len(ds) == 0 {
			return buf
		}
		var last bool
		buf, last = st.frames(buf[:0], ds)
		switch err := st.out.tryWrite(buf); {
		case errors.Is(err, errBusy):
			go st.flushRest(bytes.Clone(buf), last)
			return buf
		case errors.Is(err, errWouldBlock): // the rest waits in st.out
			go st.flushRest(nil, last)
			return buf
		case err != nil:
			go st.end("", err)
			return buf
		case last:
			go st.end("session ended", nil)
			return buf
		}
	}
}

// frames appends the text frames of ds to buf, each with the stream's
// cursor once it is sent written between its head and tail. last reports
// that the session ended: nothing follows that event.
func (st *stream) frames(buf []byte, ds []*events.Delivery) (_ []byte, last bool) {
	var cur [64]byte
	for _, d := range ds {
		if d.Live {
			// Unlogged, so absent from catch-up: sent as it comes.
		} else if d.User {
			if d.Pos <= st.pos.User {
				continue // in the snapshot or catch-up already
			}
			st.pos.User = d.Pos
		} else {
			if d.Pos <= st.pos.Org {
				continue
			}
			st.pos.Org = d.Pos
		}
		c := st.pos.AppendCursor(cur[:0])
		buf = appendTextHeader(buf, len(d.Head)+len(c)+len(d.Tail))
		buf = append(append(append(buf, d.Head...), c...), d.Tail...)
		if d.Event.Type == events.TypeSessionEnded {
			return buf, true
		}
	}
	return buf, false
}

// flushRest writes what the socket did not take at once (kept by st.out,
// and rest), and then whatever else comes, blocking, until the stream has
// caught up: Take finds nothing, and the writer has the stream again.
func (st *stream) flushRest(rest []byte, last bool) {
	bp := batches.Get().(*[]*events.Delivery)
	defer func() {
		clear((*bp)[:cap(*bp)])
		batches.Put(bp)
	}()
	buf := rest
	for {
		if err := st.out.writeFrames(buf); err != nil || last {
			reason := ""
			if last {
				reason = "session ended"
			}
			st.end(reason, err)
			return
		}
		ds, ended := st.sub.Take((*bp)[:0])
		if ended {
			st.subEnded()
			return
		}
		if len(ds) == 0 {
			return
		}
		buf, last = st.frames(buf[:0], ds)
	}
}

// subEnded ends a stream whose subscription ended.
func (st *stream) subEnded() {
	reason := ""
	if st.sub.Overflowed() {
		reason = "too slow: reconnect for a snapshot"
	}
	st.end(reason, nil)
}

// pingPeer pings the client; a client that answers no ping in PongWait is
// cut off. It runs on the stream's timer, which it then sets again.
func (st *stream) pingPeer() {
	ctx, cancel := context.WithTimeout(context.Background(), st.srv.cfg.PongWait)
	err := st.c.Ping(ctx)
	cancel()
	if err != nil {
		st.end("no pong", errNoPong)
		return
	}
	st.mu.Lock()
	if !st.ended {
		st.ping.Reset(st.srv.cfg.PingEvery)
	}
	st.mu.Unlock()
}

// catchUp sends hello and then either the events after the client's cursor
// or a snapshot, in one write. It returns the position after which live
// events continue. A cursor this server does not read (one from before the
// streams were split, say) gets a snapshot, as does one too far behind.
// heads are both streams' heads, read in one statement once subscribed.
func (st *stream) catchUp(ctx context.Context, r *http.Request, a account.Auth, heads events.Position) (events.Position, error) {
	s, orgID := st.srv, a.User.OrgID
	st.out.hold()
	if cur, ok := events.ParseCursor(r.URL.Query().Get("cursor")); ok {
		// Only what this session may see is read: the org's stream, and
		// its user's own, of which its own session's events. More than
		// maxCatchUp of them, or any already pruned, and it is a snapshot.
		evs, last, ok, err := s.cfg.Store.EventsFor(ctx, orgID, a.User.ID, a.Session.ID, cur, maxCatchUp)
		if err != nil {
			st.out.release()
			return events.Position{}, err
		}
		if ok {
			st.out.textJSON(map[string]string{"type": "hello", "cursor": cur.Cursor()})
			p := cur
			for i := range evs {
				if len(evs[i].Pos) == 1 {
					p.User = evs[i].Pos[0]
				} else {
					p.Org = evs[i].Seq
				}
				st.out.text(evs[i].Frame(p))
			}
			st.out.textJSON(map[string]string{"type": "caught_up", "cursor": last.Cursor()})
			return last, st.out.release()
		}
	}
	sn, err := s.ws.snaps.get(ctx, s.cfg.Store, orgID, heads.Org, s.cfg.Clock.Now())
	if err != nil {
		st.out.release()
		return events.Position{}, err
	}
	// "me" must reflect every private event up to the user's head in the
	// cursor, so that the user's stream resumes there skipping none. Every
	// change of a user's presence logs an org event with its me.presence,
	// in one transaction: a snapshot read at the very org head that was
	// read with the user's head holds the user's presence as of that user
	// head, and its row serves. A snapshot read later (the org's stream
	// moved meanwhile) may be ahead of it, so then the user's presence and
	// head are read together.
	p := events.Position{Org: sn.head, User: heads.User}
	var own presence.Row
	if sn.head == heads.Org {
		if i, ok := sn.index[a.User.ID]; ok {
			own = sn.rows[i]
		}
	} else if own, p.User, err = s.cfg.Store.OwnPresence(ctx, orgID, a.User.ID); err != nil {
		st.out.release()
		return events.Position{}, err
	}
	st.out.textJSON(map[string]string{"type": "hello", "cursor": p.Cursor()})
	var me wire.Presence
	if own.UserID != "" {
		me = wire.OwnPresence(own.State, own.Shown)
	}
	meJSON, err := json.Marshal(me)
	if err != nil {
		st.out.release()
		return events.Position{}, err
	}
	// {"type":"snapshot","cursor":...,"presence":[...],"me":{...}}, with
	// everyone's presence written from the cache, not copied.
	pre := make([]byte, 0, 64)
	pre = append(pre, `{"type":"snapshot","cursor":"`...)
	pre = p.AppendCursor(pre)
	pre = append(pre, `","presence":`...)
	suf := append(append([]byte(`,"me":`), meJSON...), '}')
	st.out.textParts(pre, sn.items, suf)
	return p, st.out.release()
}

// snapCache keeps each org's latest snapshot with the log head it was read
// at. A snapshot is the same for everyone but its "me", and reading and
// rendering a large org's presence for every connection is most of what a
// reconnect storm costs; one read serves every connection until the head
// moves. Every visible presence change appends to the log (catch-up relies
// on it too), so an unchanged head means an unchanged snapshot.
type snapCache struct {
	mu   sync.Mutex
	orgs map[string]*orgSnap
}

type orgSnap struct {
	asked int64         // the head it was read for
	ready chan struct{} // closed once read; the fields below are set then
	err   error
	head  int64 // the head it was read at (asked or later)
	rows  []presence.Row
	index map[string]int // user id → rows index
	items []byte         // the JSON array of everyone's presence
	used  time.Time      // under snapCache.mu
}

// snapIdle is how long an unused snapshot is kept.
const snapIdle = time.Minute

// get returns the org's snapshot at head, its current head (or later),
// reading it unless another connection has, or is reading it now.
func (c *snapCache) get(ctx context.Context, st *store.Store, orgID string, head int64, now time.Time) (*orgSnap, error) {
	c.mu.Lock()
	for id, sn := range c.orgs {
		if now.Sub(sn.used) > snapIdle && id != orgID {
			delete(c.orgs, id)
		}
	}
	sn := c.orgs[orgID]
	load := sn == nil || sn.asked != head
	if load {
		sn = &orgSnap{asked: head, ready: make(chan struct{})}
		if c.orgs == nil {
			c.orgs = map[string]*orgSnap{}
		}
		c.orgs[orgID] = sn
	}
	sn.used = now
	c.mu.Unlock()
	if load {
		// Read for everyone waiting, not only for this request.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		sn.err = sn.load(lctx, st, orgID)
		cancel()
		close(sn.ready)
		if sn.err != nil {
			c.mu.Lock()
			if c.orgs[orgID] == sn {
				delete(c.orgs, orgID)
			}
			c.mu.Unlock()
		}
	}
	select {
	case <-sn.ready:
		return sn, sn.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (sn *orgSnap) load(ctx context.Context, st *store.Store, orgID string) error {
	rows, head, err := st.OrgPresence(ctx, orgID)
	if err != nil {
		return err
	}
	items := make([]wire.PresenceItem, len(rows))
	sn.index = make(map[string]int, len(rows))
	for i, p := range rows {
		items[i] = wire.PresenceItem{UserID: p.UserID, ContactPresence: wire.PublicPresence(p.State, p.Shown)}
		sn.index[p.UserID] = i
	}
	if sn.items, err = json.Marshal(items); err != nil {
		return err
	}
	sn.rows, sn.head = rows, head
	return nil
}

// read reads client messages until the stream ends, each routed by the
// Router; a message it drops is answered with an error frame, and a
// client that floods the stream is closed. Binary messages are ignored.
// Reading also lets the library answer pings and see pongs.
func (st *stream) read() {
	in := st.srv.cfg.Router.open(Sender{OrgID: st.orgID, UserID: st.userID, SessionID: st.sessionID})
	for {
		// No context: one would cost a registration per message; ending
		// the stream closes the connection, which ends the read.
		typ, b, err := st.c.Read(context.Background())
		if err != nil {
			st.end("", err)
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		reply, err := in.handle(context.Background(), b)
		if errors.Is(err, errFlood) {
			st.endWith(closeFlood, reasonFlood, nil)
			return
		}
		if reply != nil {
			st.out.single(reply)
		}
	}
}

// writeTimeout bounds how long a write to a client may block.
const writeTimeout = 10 * time.Second

// Buffer sizes of an event connection. The library keeps a reader and a
// writer for the connection's life; net/http's are 4 KiB each, most of
// what an idle connection would cost. Clients send a few short messages.
// The library writes only control frames, and connWriteBuf holds the
// largest (2 bytes of header, 125 of payload) whole, so that each reaches
// frameWriter in one Write, never split around an event's frame.
const (
	connReadBuf  = 128
	connWriteBuf = 128
)

// hijacker is the ResponseWriter the WebSocket library accepts a stream
// through.
type hijacker struct {
	http.ResponseWriter
	out *frameWriter
}

// Hijack takes the connection from net/http, and gives the library small
// buffers over it, its writer writing to a frameWriter.
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	br := bufio.NewReaderSize(conn, connReadBuf)
	if n := brw.Reader.Buffered(); n > 0 {
		// Bytes the client sent early: the new reader must hold them
		// buffered, as the library takes them from there.
		b, _ := brw.Reader.Peek(n)
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(bytes.Clone(b)), conn), max(connReadBuf, n))
		if _, err := br.Peek(n); err != nil {
			conn.Close()
			return nil, nil, err
		}
	}
	h.out = &frameWriter{conn: conn}
	if sc, ok := conn.(syscall.Conn); ok {
		h.out.raw, _ = sc.SyscallConn()
	}
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(h.out, connWriteBuf)), nil
}

// frameWriter is what a connection's bytes are written to, one write at a
// time and in the order they come: the library's control frames (Write),
// the catch-up (gathered between hold and release, and written in one
// write), and live events (tryWrite from the writer, which never waits, or
// writeFrames from a stream's own goroutine, which may). What the library
// writes while a catch-up is held joins it.
type frameWriter struct {
	conn net.Conn
	raw  syscall.RawConn // conn's socket, for writes that must not wait; nil if none
	mu   sync.Mutex      // one write at a time, in the order they came
	held *[]byte         // the batch being gathered, or nil
	tail [][]byte        // written after held (see textParts)
	rest []byte          // what a tryWrite left, to go before anything else
	done bool            // no more text frames: the stream is ending
}

var heldBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxKeptBuf bounds the batch buffers kept for reuse.
const maxKeptBuf = 64 << 10

// errStreamEnded refuses text frames once the close frame may be out.
var errStreamEnded = errors.New("events: stream ended")

// Write takes the library's bytes: a control frame, whole.
func (w *frameWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeWhole(p)
}

// writeWhole writes the whole frame p, or queues it after the frame being
// written. Called with w.mu held.
func (w *frameWriter) writeWhole(p []byte) (int, error) {
	switch {
	case w.tail != nil: // after the frame being held
		w.tail = append(w.tail, bytes.Clone(p))
		return len(p), nil
	case w.held != nil:
		*w.held = append(*w.held, p...)
		return len(p), nil
	case w.rest != nil: // after the rest of a frame begun
		w.rest = append(w.rest, p...)
		return len(p), nil
	}
	if err := w.write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeFrames writes what tryWrite left, then b, frames made whole,
// waiting if it must.
func (w *frameWriter) writeFrames(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	rest := w.rest
	w.rest = nil
	if w.done { // a frame begun is finished, and the close may be in rest
		if rest != nil {
			w.write(rest)
		}
		return errStreamEnded
	}
	switch {
	case rest != nil && len(b) > 0:
		return w.write(rest, b)
	case rest != nil:
		return w.write(rest)
	case len(b) > 0:
		return w.write(b)
	}
	return nil
}

// hold starts a batch.
func (w *frameWriter) hold() {
	w.mu.Lock()
	w.held = heldBufs.Get().(*[]byte)
	w.mu.Unlock()
}

// text adds a text frame to the batch.
func (w *frameWriter) text(payload []byte) error {
	return w.textParts(payload)
}

// bigPart is the size from which textParts does not copy a part.
const bigPart = 16 << 10

// textParts adds a text frame made of parts to the batch. Parts from the
// first long one on are not copied: release writes them from where they
// are, so they must stay unchanged until then, and the frame must be the
// batch's last.
func (w *frameWriter) textParts(parts ...[]byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return errStreamEnded
	}
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b := appendTextHeader(*w.held, n)
	for i, p := range parts {
		if len(p) >= bigPart {
			w.tail = parts[i:]
			break
		}
		b = append(b, p...)
	}
	*w.held = b
	return nil
}

// appendText appends a text frame; server frames are not masked.
func appendText(b, payload []byte) []byte {
	return append(appendTextHeader(b, len(payload)), payload...)
}

// appendTextHeader appends the header of a text frame of n bytes.
func appendTextHeader(b []byte, n int) []byte {
	switch {
	case n <= 125:
		b = append(b, 0x81, byte(n))
	case n <= 0xffff:
		b = append(b, 0x81, 126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x81, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return b
}

var (
	// errBusy says that a write did not start: another was under way.
	errBusy = errors.New("events: another write is under way")
	// errWouldBlock says that the socket took only part of a write; the
	// frameWriter keeps the rest, to go first.
	errWouldBlock = errors.New("events: the write would block")
)

// tryWrite writes b, frames made whole, without waiting: what the socket
// does not take at once stays in w, before anything written later, and
// tryWrite returns errWouldBlock. If another write is under way it writes
// nothing and returns errBusy.
func (w *frameWriter) tryWrite(b []byte) error {
	if !w.mu.TryLock() {
		return errBusy
	}
	defer w.mu.Unlock()
	if w.done {
		return errStreamEnded
	}
	if w.raw == nil || w.rest != nil {
		w.rest = append(w.rest, b...)
		return errWouldBlock
	}
	n := 0
	var werr error
	err := w.raw.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := writeNow(fd, b[n:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				if err != syscall.EAGAIN {
					werr = err
				}
				break
			}
			n += m
		}
		return true // one attempt: never wait
	})
	switch {
	case err != nil:
		return err
	case werr != nil:
		return werr
	case n < len(b):
		// Part of a frame may be out: nothing may come between it and
		// its rest, which is why w keeps the rest.
		w.rest = bytes.Clone(b[n:])
		return errWouldBlock
	}
	return nil
}

// writeNow is write(2) on a non-blocking socket, made as a raw system
// call: it never waits, so the runtime need not hand the core to another
// thread meanwhile. On one core the usual wrapper (entersyscall, and the
// sysmon thread taking the P back from a write that took over 20 µs) made
// each of a fan-out's writes about a fifth slower.
func writeNow(fd uintptr, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	n, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// textJSON adds a text frame of fields to the batch.
func (w *frameWriter) textJSON(fields map[string]string) {
	b, _ := json.Marshal(fields) // a map of strings always encodes
	w.text(b)
}

// release writes the batch, in one write, and ends it.
func (w *frameWriter) release() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.held
	w.held = nil
	var err error
	if w.tail != nil {
		err = w.write(append([][]byte{*b}, w.tail...)...)
		w.tail = nil
	} else if len(*b) > 0 {
		err = w.write(*b)
	}
	if cap(*b) <= maxKeptBuf {
		*b = (*b)[:0]
		heldBufs.Put(b)
	}
	return err
}

// write writes bs, in one write, waiting at most writeTimeout. The
// deadline is there only while a write may wait, so writes that must not
// wait (tryWrite) never meet an old one. Called with w.mu held.
func (w *frameWriter) write(bs ...[]byte) error {
	if err := w.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	var err error
	if len(bs) == 1 {
		_, err = w.conn.Write(bs[0])
	} else {
		nb := net.Buffers(bs)
		_, err = nb.WriteTo(w.conn)
	}
	if derr := w.conn.SetWriteDeadline(time.Time{}); err == nil {
		err = derr
	}
	return err
}

// single writes one text frame outside the events' writes: after the
// frame being written, if one is, as Write does a control frame. Nothing
// once the stream has ended.
func (w *frameWriter) single(payload []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.writeWhole(appendText(nil, payload))
	}
}

// shut refuses further text frames.
func (w *frameWriter) shut() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}
