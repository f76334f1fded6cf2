package events

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Log is what the hub reads when it must fill a gap: the org's log.
type Log interface {
	EventHead(ctx context.Context, orgID string) (int64, error)
	EventsAfter(ctx context.Context, orgID string, after int64, limit int) ([]Event, bool, error)
}

// QueueLen bounds each subscriber's queue. A subscriber that falls this far
// behind is cut off (and catches up by snapshot when it returns): a slow
// reader never slows anyone else.
const QueueLen = 1024

// gapWait is how long an out-of-order event waits for the events before it
// before the hub reads them from the log.
const gapWait = 150 * time.Millisecond

// Hub delivers each org's events to its subscribers on this node, exactly
// once and in seq order, whatever order they were published in.
type Hub struct {
	log  Log
	mu   sync.Mutex
	orgs map[string]*orgHub
}

// NewHub returns an empty hub reading gaps from log.
func NewHub(log Log) *Hub { return &Hub{log: log, orgs: map[string]*orgHub{}} }

type orgHub struct {
	id        string
	mu        sync.Mutex
	delivered int64
	pending   map[int64]Event
	subs      map[*Sub]struct{}
	gapTimer  *time.Timer
}

// Sub is one live connection's subscription.
type Sub struct {
	UserID, SessionID string
	org               *orgHub
	hub               *Hub
	// C carries the frames to send, in seq order. It is closed when the
	// subscription ends; Overflowed then tells whether it was cut off.
	C          chan *Delivery
	mu         sync.Mutex
	closed     bool
	overflowed bool
}

// Delivery is one event for a subscriber, with its frame rendered once for
// everyone.
type Delivery struct {
	Event *Event
	Frame []byte
}

// Subscribe adds a subscriber to the org. Events with seq greater than the
// returned head will reach it; the caller sends what came before (snapshot
// or catch-up) itself.
func (h *Hub) Subscribe(ctx context.Context, orgID, userID, sessionID string) (*Sub, error) {
	h.mu.Lock()
	o := h.orgs[orgID]
	if o == nil {
		o = &orgHub{id: orgID, pending: map[int64]Event{}, subs: map[*Sub]struct{}{}, delivered: -1}
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
	s := &Sub{UserID: userID, SessionID: sessionID, org: o, hub: h, C: make(chan *Delivery, QueueLen)}
	o.subs[s] = struct{}{}
	return s, nil
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
	close(s.C)
	s.mu.Unlock()
	if !overflow { // on overflow the org lock is already held by the caller
		s.org.mu.Lock()
		delete(s.org.subs, s)
		s.org.mu.Unlock()
	} else {
		delete(s.org.subs, s)
	}
	s.hub.forget(s.org)
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
// dropped; the rest are delivered in seq order, duplicates ignored.
func (h *Hub) Publish(evs []Event) {
	for i := range evs {
		h.mu.Lock()
		o := h.orgs[evs[i].OrgID]
		h.mu.Unlock()
		if o == nil {
			continue
		}
		o.mu.Lock()
		if o.delivered >= 0 && evs[i].Seq > o.delivered {
			o.pending[evs[i].Seq] = evs[i]
			h.drain(o)
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
		d := &Delivery{Event: &e, Frame: e.Frame()}
		for s := range o.subs {
			if !e.For(s.UserID, s.SessionID) {
				continue
			}
			select {
			case s.C <- d:
			default:
				s.end(true)
			}
		}
	}
	if len(o.pending) > 0 && o.gapTimer == nil {
		o.gapTimer = time.AfterFunc(gapWait, func() { h.fillGap(o) })
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
