package events

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Log is what the hub reads when it must fill a gap: the org's shared
// stream, and a user's own.
type Log interface {
	EventHead(ctx context.Context, orgID string) (int64, error)
	EventsAfter(ctx context.Context, orgID string, after int64, limit int) ([]Event, bool, error)
	UserEventsAfter(ctx context.Context, orgID, userID string, after int64, limit int) ([]Event, bool, error)
}

// QueueLen bounds each subscriber's queue. A subscriber that falls this far
// behind is cut off (and catches up by snapshot when it returns): a slow
// reader never slows anyone else.
const QueueLen = 1024

// minQueue is a queue's first size; it doubles as needed up to QueueLen,
// so an idle subscriber holds no queue at all.
const minQueue = 8

// gapWait is how long an out-of-order event waits for the events before it
// before the hub reads them from the log.
const gapWait = 150 * time.Millisecond

// Hub delivers each org's events to its subscribers on this node, exactly
// once and in each stream's order, whatever order they were published in:
// the org's shared stream in Seq order, and each user's own stream (kept
// only for users subscribed on this node) in that user's Pos order.
type Hub struct {
	log  Log
	mu   sync.Mutex
	orgs map[string]*orgHub
	// deliveries counts the deliveries attempted (a subscriber offered an
	// event), which is what a fan-out costs.
	deliveries atomic.Int64
	rec        Recorder
	onChange   func()
}

// OnChange makes the hub call f after a subscription is added or ends;
// call it before the hub is used. f may be called holding the hub's locks:
// it must not block nor call the hub.
func (h *Hub) OnChange(f func()) { h.onChange = f }

func (h *Hub) changed() {
	if h.onChange != nil {
		h.onChange()
	}
}

// Sessions returns the sessions of the user that have a live subscription
// on this node.
func (h *Hub) Sessions(orgID, userID string) []string {
	h.mu.Lock()
	o := h.orgs[orgID]
	if o == nil {
		h.mu.Unlock()
		return nil
	}
	o.mu.Lock()
	h.mu.Unlock()
	defer o.mu.Unlock()
	u := o.users[userID]
	if u == nil {
		return nil
	}
	out := make([]string, 0, len(u.subs))
	for _, s := range u.subs {
		out = append(out, s.SessionID)
	}
	return out
}

// AllSessions returns every session with a live subscription on this node.
func (h *Hub) AllSessions() map[string]bool {
	h.mu.Lock()
	orgs := make([]*orgHub, 0, len(h.orgs))
	for _, o := range h.orgs {
		orgs = append(orgs, o)
	}
	h.mu.Unlock()
	out := map[string]bool{}
	for _, o := range orgs {
		o.mu.Lock()
		for _, s := range o.subs {
			out[s.SessionID] = true
		}
		o.mu.Unlock()
	}
	return out
}

// Recorder counts what the hub does for the metrics; *metrics.Metrics is
// one. The hub's calls are cheap and made holding its locks.
type Recorder interface {
	// Delivered counts n frames queued to subscribers.
	Delivered(n int)
	// SlowCutOff counts one subscriber cut off for falling behind.
	SlowCutOff()
}

// SetRecorder makes the hub report to r; call it before the hub is used.
func (h *Hub) SetRecorder(r Recorder) { h.rec = r }

// Deliveries returns how many deliveries the hub has attempted so far:
// one per subscriber offered an event.
func (h *Hub) Deliveries() int64 { return h.deliveries.Load() }

// NewHub returns an empty hub reading gaps from log.
func NewHub(log Log) *Hub { return &Hub{log: log, orgs: map[string]*orgHub{}} }

type orgHub struct {
	id        string
	mu        sync.Mutex
	delivered int64
	pending   map[int64]Event
	subs      []*Sub // each knows its index, so leaving is O(1)
	// users indexes subs by user, so that an event for a few users
	// touches their subscribers only, not the whole org's; each holds
	// that user's own stream.
	users    map[string]*userHub
	gapTimer *time.Timer
}

// userHub is one user's subscribers on this node and their user's own
// stream: what was delivered, and what waits for a gap to close.
//
// A userHub made by Join does not know yet where the stream is
// (delivered < 0): it keeps what comes, delivering nothing, until each
// subscriber that joined meanwhile has said where it starts (Sub.Start)
// or left, and then continues after the lowest of those positions.
type userHub struct {
	id        string
	subs      []*Sub
	delivered int64 // < 0: not known yet
	pending   map[int64]*frame
	gapTimer  *time.Timer
	waiting   int   // subscribers that joined while delivered < 0 and have not started
	floor     int64 // the lowest position they started at, while delivered < 0; -1 none yet
}

// Sub is one live connection's subscription. The hub queues its
// deliveries in seq order; its owner takes them with Take, and learns that
// there are more through the function given to Notify. That function is
// called only once Take has found nothing, so whoever takes deliveries
// keeps them to itself until then: one goroutine at a time handles a
// subscription, though not always the same one.
type Sub struct {
	UserID, SessionID string
	org               *orgHub
	hub               *Hub
	idx               int  // in org.subs, under org.mu; -1 once removed
	uidx              int  // in org.users[UserID].subs, under org.mu
	waits             bool // counted in its userHub's waiting, under org.mu

	mu         sync.Mutex
	q          []*Delivery // ring buffer, grown on demand, given back after a burst
	head, n    int
	notify     func()
	armed      bool // the owner waits for notify
	closed     bool
	overflowed bool
}

// Delivery is one event for a subscriber, with its frame rendered once for
// everyone but the cursor, which goes between Head and Tail. User reports
// that Pos is a position in the subscriber's user's stream, not the org's;
// Live that it has none.
type Delivery struct {
	Event      *Event
	Head, Tail []byte
	User       bool
	Pos        int64
	// Live is an event not logged: it has no position, and goes out with
	// the subscriber's cursor as it stands.
	Live bool
}

// Join adds a subscriber to the org. Events the hub has not yet delivered
// will reach it; the caller sends what came before (snapshot or catch-up)
// itself, skipping what it sent, then calls Notify. The head of the
// user's own stream the caller reads once joined, with what else it reads
// then, and tells it to Start, which it must call before that stream's events flow
// to it, or to any subscriber of the same user on this node that joined
// while the hub did not know where that stream was.
func (h *Hub) Join(ctx context.Context, orgID, userID, sessionID string) (*Sub, error) {
	h.mu.Lock()
	o := h.orgs[orgID]
	if o == nil {
		o = &orgHub{id: orgID, pending: map[int64]Event{}, users: map[string]*userHub{}, delivered: -1}
		h.orgs[orgID] = o
	}
	o.mu.Lock() // taken under h.mu so that forget cannot drop o in between
	h.mu.Unlock()
	defer o.mu.Unlock()
	if o.delivered < 0 {
		head, err := h.log.EventHead(ctx, orgID)
		if err != nil {
			return nil, err
		}
		o.delivered = head
	}
	u := o.users[userID]
	if u == nil {
		u = &userHub{id: userID, delivered: -1, pending: map[int64]*frame{}, floor: -1}
		o.users[userID] = u
	}
	s := &Sub{UserID: userID, SessionID: sessionID, org: o, hub: h, idx: len(o.subs), uidx: len(u.subs)}
	o.subs = append(o.subs, s)
	u.subs = append(u.subs, s)
	if u.delivered < 0 {
		s.waits = true
		u.waiting++
	}
	h.changed()
	return s, nil
}

// Start tells the hub where the subscriber's user's own stream was when
// read after Join (or before: an earlier position only makes the hub
// deliver what the subscriber skips). Once every subscriber of that user
// that joined while the hub did not know has started or left, the hub
// delivers that stream after the lowest position given, each subscriber
// skipping what it read already; events the hub missed before then are
// read from the log as a gap. A position read after Join is never below
// one the hub continues after: the hub knew it, and so was told it,
// before the read. Later calls do nothing.
func (s *Sub) Start(userHead int64) {
	o := s.org
	o.mu.Lock()
	defer o.mu.Unlock()
	if !s.waits || s.idx < 0 {
		return
	}
	s.waits = false
	u := o.users[s.UserID]
	if u.floor < 0 || userHead < u.floor {
		u.floor = userHead
	}
	u.waiting--
	s.hub.settle(o, u)
}

// settle starts delivering a user's stream once nobody it waits for is
// left. Called with o.mu held.
func (h *Hub) settle(o *orgHub, u *userHub) {
	if u.delivered >= 0 || u.waiting > 0 || u.floor < 0 {
		return
	}
	u.delivered = u.floor
	for p := range u.pending {
		if p <= u.delivered {
			delete(u.pending, p)
		}
	}
	h.drainUser(o, u)
}

// Notify makes the hub call f when deliveries wait after Take found none,
// and when the subscription is cut off; at once if deliveries wait already.
// The hub calls f holding its locks: f must not block nor call the hub, and
// typically starts a goroutine that calls Take until it returns nothing.
func (s *Sub) Notify(f func()) {
	s.mu.Lock()
	s.notify = f
	call := s.n > 0 || s.closed
	s.armed = !call
	s.mu.Unlock()
	if call {
		f()
	}
}

// Take appends waiting deliveries to buf, oldest first, until buf is full
// (buf must have room for one at least), and returns it. ended reports that
// the subscription is over and nothing is left (Overflowed tells why).
// When Take returns nothing and ended is false, the next delivery calls the
// Notify function.
func (s *Sub) Take(buf []*Delivery) (out []*Delivery, ended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.n > 0 && len(buf) < cap(buf) {
		i := s.head & (len(s.q) - 1)
		buf = append(buf, s.q[i])
		s.q[i] = nil
		s.head++
		s.n--
	}
	if s.n == 0 {
		s.head = 0
		if len(s.q) > minQueue {
			s.q = nil // a burst is over: give its memory back
		}
		if len(buf) == 0 {
			if s.closed {
				return buf, true
			}
			s.armed = true
		}
	}
	return buf, false
}

// push queues d, reporting whether it did, and full when the queue is
// full. Called with the org's lock held.
func (s *Sub) push(d *Delivery) (queued, full bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false, false
	}
	if s.n == QueueLen {
		s.mu.Unlock()
		return false, true
	}
	if s.n == len(s.q) {
		s.grow()
	}
	s.q[(s.head+s.n)&(len(s.q)-1)] = d
	s.n++
	f := s.wake()
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return true, false
}

// grow doubles the ring, keeping the order. Called with s.mu held.
func (s *Sub) grow() {
	q := make([]*Delivery, max(minQueue, 2*len(s.q)))
	for i := range s.n {
		q[i] = s.q[(s.head+i)&(len(s.q)-1)]
	}
	s.q, s.head = q, 0
}

// wake returns the Notify function when the owner waits for it, and
// disarms it. Called with s.mu held.
func (s *Sub) wake() func() {
	if !s.armed || s.notify == nil {
		return nil
	}
	s.armed = false
	return s.notify
}

// Close ends the subscription.
func (s *Sub) Close() { s.end(false) }

// Overflowed reports whether the subscription was cut off for falling behind.
func (s *Sub) Overflowed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.overflowed
}

func (s *Sub) end(overflow bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed, s.overflowed = true, overflow
	var f func()
	if overflow { // the owner must learn it; one that closes knows already
		f = s.wake()
	}
	s.mu.Unlock()
	if f != nil {
		f()
	}
	if !overflow { // on overflow the org lock is already held by the caller
		s.org.mu.Lock()
		s.org.remove(s)
		s.org.mu.Unlock()
	} else {
		s.org.remove(s)
	}
	s.hub.forget(s.org)
	s.hub.changed()
}

// remove takes s out of the org's subscribers. Called with o.mu held.
func (o *orgHub) remove(s *Sub) {
	if s.idx < 0 {
		return
	}
	last := len(o.subs) - 1
	o.subs[s.idx] = o.subs[last]
	o.subs[s.idx].idx = s.idx
	o.subs[last] = nil
	o.subs = o.subs[:last]
	s.idx = -1
	u := o.users[s.UserID]
	us := u.subs
	last = len(us) - 1
	us[s.uidx] = us[last]
	us[s.uidx].uidx = s.uidx
	us[last] = nil
	u.subs = us[:last]
	if last == 0 {
		delete(o.users, s.UserID)
		if u.gapTimer != nil {
			u.gapTimer.Stop()
		}
	} else if s.waits {
		s.waits = false
		u.waiting--
		s.hub.settle(o, u)
	}
}

// forget drops an org's state once nobody on this node watches it.
func (h *Hub) forget(o *orgHub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !o.mu.TryLock() {
		return // busy: the next end will retry
	}
	if len(o.subs) == 0 && h.orgs[o.id] == o {
		delete(h.orgs, o.id)
		if o.gapTimer != nil {
			o.gapTimer.Stop()
		}
		o.delivered = -1
	}
	o.mu.Unlock()
}

// Publish hands events to the hub. Events of orgs nobody here watches are
// dropped, and so are a private event's positions in the streams of users
// nobody here watches; the rest are delivered in each stream's order,
// duplicates ignored.
func (h *Hub) Publish(evs []Event) {
	for i := range evs {
		e := &evs[i]
		h.mu.Lock()
		o := h.orgs[e.OrgID]
		h.mu.Unlock()
		if o == nil {
			continue
		}
		o.mu.Lock()
		if e.Live {
			ev := *e
			d := &Delivery{Event: &ev, Live: true}
			d.Head, d.Tail = e.FrameParts()
			for _, id := range e.Audience {
				if u := o.users[id]; u != nil {
					o.offer(h, u.subs, d)
				}
			}
		} else if len(e.Pos) == 0 {
			if o.delivered >= 0 && e.Seq > o.delivered {
				o.pending[e.Seq] = *e
				h.drain(o)
			}
		} else {
			var f *frame // rendered once for all the recipients' streams
			for j, id := range e.Audience {
				if u := o.users[id]; u != nil && j < len(e.Pos) && e.Pos[j] > u.delivered {
					if f == nil {
						f = newFrame(*e)
					}
					u.pending[e.Pos[j]] = f
					h.drainUser(o, u)
				}
			}
		}
		o.mu.Unlock()
	}
}

// drain delivers every pending event that is next in line; on a gap it arms
// a timer that reads the missing events from the log. Called with o.mu held.
func (h *Hub) drain(o *orgHub) {
	for {
		e, ok := o.pending[o.delivered+1]
		if !ok {
			break
		}
		delete(o.pending, e.Seq)
		o.delivered = e.Seq
		d := &Delivery{Event: &e, Pos: e.Seq}
		d.Head, d.Tail = e.FrameParts()
		if e.OrgWide() {
			o.offer(h, o.subs, d)
			continue
		}
		for _, id := range e.Audience { // logged before the streams were split
			if u := o.users[id]; u != nil {
				o.offer(h, u.subs, d)
			}
		}
	}
	if len(o.pending) > 0 && o.gapTimer == nil {
		o.gapTimer = time.AfterFunc(gapWait, func() { h.fillGap(o) })
	}
}

// drainUser is drain for a user's own stream; nothing while the hub does
// not know where it is. Called with o.mu held.
func (h *Hub) drainUser(o *orgHub, u *userHub) {
	if u.delivered < 0 {
		return // kept in pending until settle
	}
	for {
		f, ok := u.pending[u.delivered+1]
		if !ok {
			break
		}
		delete(u.pending, u.delivered+1)
		u.delivered++
		o.offer(h, u.subs, &Delivery{Event: f.ev, Head: f.head, Tail: f.tail, User: true, Pos: u.delivered})
	}
	if len(u.pending) > 0 && u.gapTimer == nil {
		u.gapTimer = time.AfterFunc(gapWait, func() { h.fillUserGap(o, u) })
	}
}

// frame is an event of users' own streams with its frame rendered, but
// for the cursor: one for all the streams it is in (a message to a group
// of 50 is rendered once, not 50 times). Read-only once made.
type frame struct {
	ev         *Event
	head, tail []byte
}

func newFrame(e Event) *frame {
	f := &frame{ev: &e}
	f.head, f.tail = e.FrameParts()
	return f
}

// offer pushes d to those of subs it is for, cutting off any whose queue is
// full. Called with o.mu held.
func (o *orgHub) offer(h *Hub, subs []*Sub, d *Delivery) {
	// Backwards, because a subscriber cut off here leaves its slot to the
	// last one, which has had the event already.
	n, queued := 0, 0
	for i := len(subs) - 1; i >= 0; i-- {
		s := subs[i]
		if !d.Event.For(s.UserID, s.SessionID) {
			continue
		}
		n++
		switch ok, full := s.push(d); {
		case ok:
			queued++
		case full:
			s.end(true)
			if h.rec != nil {
				h.rec.SlowCutOff()
			}
		}
	}
	h.deliveries.Add(int64(n))
	if queued > 0 && h.rec != nil {
		h.rec.Delivered(queued)
	}
}

func (h *Hub) fillGap(o *orgHub) {
	o.mu.Lock()
	o.gapTimer = nil
	from := o.delivered
	missing := len(o.pending) > 0 && from >= 0
	o.mu.Unlock()
	if !missing {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, ok, err := h.log.EventsAfter(ctx, o.id, from, 10_000)
	if err != nil || !ok {
		slog.Warn("events: gap fill failed", slog.String("org", o.id), slog.Int64("after", from), slog.Any("err", err))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range evs {
		if e.Seq > o.delivered {
			o.pending[e.Seq] = e
		}
	}
	h.drain(o)
}

// fillUserGap is fillGap for a user's own stream.
func (h *Hub) fillUserGap(o *orgHub, u *userHub) {
	o.mu.Lock()
	u.gapTimer = nil
	from := u.delivered
	missing := len(u.pending) > 0 && o.users[u.id] == u && from >= 0
	o.mu.Unlock()
	if !missing {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, ok, err := h.log.UserEventsAfter(ctx, o.id, u.id, from, 10_000)
	if err != nil || !ok {
		slog.Warn("events: gap fill failed", slog.String("org", o.id), slog.Int64("after", from), slog.Any("err", err))
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.users[u.id] != u {
		return // nobody here watches the user any more
	}
	for _, e := range evs {
		if len(e.Pos) == 1 && e.Pos[0] > u.delivered {
			u.pending[e.Pos[0]] = newFrame(e)
		}
	}
	h.drainUser(o, u)
}
