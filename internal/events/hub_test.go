package events

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// memLog is an in-memory org log for hub tests, with users' own streams.
type memLog struct {
	mu    sync.Mutex
	evs   []Event
	users map[string][]Event
}

// addPrivate logs an event for the given users, a position in each one's
// stream, and returns it.
func (l *memLog) addPrivate(typ string, userIDs ...string) Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.users == nil {
		l.users = map[string][]Event{}
	}
	e := ToUsers("o1", typ, json.RawMessage(`{}`), userIDs...)
	for _, u := range e.Audience {
		e.Pos = append(e.Pos, int64(len(l.users[u])+1))
		own := e
		own.Audience, own.Pos = []string{u}, []int64{e.Pos[len(e.Pos)-1]}
		l.users[u] = append(l.users[u], own)
	}
	return e
}

func (l *memLog) UserEventHead(ctx context.Context, userID string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.users[userID])), nil
}

func (l *memLog) UserEventsAfter(ctx context.Context, orgID, userID string, after int64, limit int) ([]Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.users[userID][after:]...), true, nil
}

func (l *memLog) add(n int) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for i := 0; i < n; i++ {
		e := Event{OrgID: "o1", Seq: int64(len(l.evs) + 1), Type: TypePresence, Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, len(l.evs)+1))}
		l.evs = append(l.evs, e)
		out = append(out, e)
	}
	return out
}

func (l *memLog) EventHead(ctx context.Context, orgID string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int64(len(l.evs)), nil
}

func (l *memLog) EventsAfter(ctx context.Context, orgID string, after int64, limit int) ([]Event, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs[after:]...), true, nil
}

// chanOf reads a subscription the way a connection does (Notify, then
// Take until empty) and hands the deliveries to a channel, closed when the
// subscription ends.
func chanOf(s *Sub) <-chan *Delivery {
	out := make(chan *Delivery, 4*QueueLen)
	wake := make(chan struct{}, 1)
	s.Notify(func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	go func() {
		defer close(out)
		buf := make([]*Delivery, 0, 64)
		for range wake {
			for {
				got, ended := s.Take(buf[:0])
				for _, d := range got {
					out <- d
				}
				if ended {
					return
				}
				if len(got) == 0 {
					break
				}
			}
		}
	}()
	return out
}

func recv(t *testing.T, c <-chan *Delivery, n int) []int64 {
	t.Helper()
	var seqs []int64
	timeout := time.After(2 * time.Second)
	for len(seqs) < n {
		select {
		case d, ok := <-c:
			if !ok {
				t.Fatalf("subscription ended after %v", seqs)
			}
			seqs = append(seqs, d.Event.Seq)
		case <-timeout:
			t.Fatalf("got %v, want %d events", seqs, n)
		}
	}
	return seqs
}

func TestHubOrdersAndDeduplicates(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	sub, err := h.Subscribe(context.Background(), "o1", "u1", "s1")
	if err != nil {
		t.Fatal(err)
	}
	s := chanOf(sub)
	evs := log.add(4)
	h.Publish([]Event{evs[2], evs[1]})
	h.Publish([]Event{evs[0], evs[0], evs[3], evs[1]})
	if got := recv(t, s, 4); fmt.Sprint(got) != "[1 2 3 4]" {
		t.Fatalf("delivered %v, want 1 2 3 4 once each", got)
	}
	select {
	case d := <-s:
		t.Fatalf("duplicate delivered: %d", d.Event.Seq)
	case <-time.After(50 * time.Millisecond):
	}
}

// TestHubFillsGapsFromLog: an event lost on the bus is read from the log.
func TestHubFillsGapsFromLog(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	sub, _ := h.Subscribe(context.Background(), "o1", "u1", "s1")
	s := chanOf(sub)
	evs := log.add(3)
	h.Publish([]Event{evs[0], evs[2]}) // 2 never arrives
	if got := recv(t, s, 3); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("delivered %v", got)
	}
}

func TestHubAudience(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	s1, _ := h.Subscribe(context.Background(), "o1", "u1", "s1")
	s2, _ := h.Subscribe(context.Background(), "o1", "u2", "s2")
	mine, other := chanOf(s1), chanOf(s2)
	evs := log.add(3)
	evs[0].Audience = []string{"u1"}                         // me.presence of u1
	evs[1].Audience, evs[1].SessionID = []string{"u2"}, "s2" // session.ended of s2
	h.Publish(evs)
	if got := recv(t, mine, 2); fmt.Sprint(got) != "[1 3]" {
		t.Fatalf("u1 got %v", got)
	}
	if got := recv(t, other, 2); fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("u2 got %v", got)
	}
}

// TestSlowSubscriberIsCutOff: a subscriber that stops reading is cut off
// when its queue is full, and no one else is delayed or loses anything.
func TestSlowSubscriberIsCutOff(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	rec := &countRecorder{}
	h.SetRecorder(rec)
	slow, _ := h.Subscribe(context.Background(), "o1", "slow", "s1")
	fast, _ := h.Subscribe(context.Background(), "o1", "fast", "s2")
	n := QueueLen + 10
	var received atomic.Int64
	got := make(chan []int64)
	go func() {
		var seqs []int64
		for d := range chanOf(fast) {
			seqs = append(seqs, d.Event.Seq)
			received.Add(1)
			if len(seqs) == n {
				break
			}
		}
		got <- seqs
	}()
	start := time.Now()
	for i, e := range log.add(n) {
		h.Publish([]Event{e})
		// A fast reader keeps up between bursts; the slow one never reads.
		for i%64 == 63 && received.Load() < int64(i+1) {
			time.Sleep(time.Millisecond)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("publishing was slowed by the slow subscriber: %v", d)
	}
	seqs := <-got
	if len(seqs) != n || seqs[0] != 1 || seqs[n-1] != int64(n) {
		t.Fatalf("fast subscriber got %d events", len(seqs))
	}
	if _, ended := slow.Take(make([]*Delivery, 0, 2*QueueLen)); ended {
		t.Fatal("the queued deliveries were lost")
	}
	if _, ended := slow.Take(make([]*Delivery, 0, 1)); !ended {
		t.Fatal("the slow subscription did not end")
	}
	if !slow.Overflowed() {
		t.Fatal("the slow subscriber was not marked overflowed")
	}
	if fast.Overflowed() {
		t.Fatal("the fast subscriber was cut off")
	}
	// The fast one got every frame, the slow one a full queue; the frames
	// offered to it once cut off were never queued and are not counted.
	if got, want := rec.delivered.Load(), int64(n+QueueLen); got != want {
		t.Errorf("recorded %d deliveries, want %d", got, want)
	}
	if got := rec.cut.Load(); got != 1 {
		t.Errorf("recorded %d slow cut-offs, want 1", got)
	}
}

// countRecorder is a Recorder for tests.
type countRecorder struct{ delivered, cut atomic.Int64 }

func (r *countRecorder) Delivered(n int) { r.delivered.Add(int64(n)) }
func (r *countRecorder) SlowCutOff()     { r.cut.Add(1) }

// TestAudienceCostsPerRecipient: in an org of 10,000 watchers, 1,000
// events for two of them are offered to those two only, and nobody else
// is touched; an org-wide event still reaches everyone.
func TestAudienceCostsPerRecipient(t *testing.T) {
	t.Parallel()
	const watchers, n = 10_000, 1000
	log := &memLog{}
	h := NewHub(log)
	ctx := context.Background()
	var ann, ben *Sub
	for i := range watchers {
		s, err := h.Subscribe(ctx, "o1", fmt.Sprintf("u%d", i), fmt.Sprintf("s%d", i))
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 17:
			ann = s
		case 9_001:
			ben = s
		}
	}
	evs := log.add(n)
	for i := range evs {
		evs[i].Audience = []string{"u17", "u9001"}
	}
	before := h.Deliveries()
	h.Publish(evs)
	if got := h.Deliveries() - before; got != 2*n {
		t.Fatalf("%d deliveries attempted for %d events to 2 people, want %d", got, n, 2*n)
	}
	for _, s := range []*Sub{ann, ben} {
		got, _ := s.Take(make([]*Delivery, 0, 2*n))
		if len(got) != n || got[0].Event.Seq != 1 || got[n-1].Event.Seq != n {
			t.Fatalf("%s took %d events", s.UserID, len(got))
		}
	}
	before = h.Deliveries()
	h.Publish(log.add(1))
	if got := h.Deliveries() - before; got != watchers {
		t.Fatalf("an org-wide event was offered %d times, want %d", got, watchers)
	}
}

func TestFrame(t *testing.T) {
	t.Parallel()
	e := Event{Seq: 42, Type: TypePresence, Data: json.RawMessage(`{"user_id":"u1","shown":"busy"}`)}
	p := Position{Org: 42, User: 7}
	var m map[string]any
	if err := json.Unmarshal(e.Frame(p), &m); err != nil {
		t.Fatalf("frame %s: %v", e.Frame(p), err)
	}
	if m["type"] != "presence" || m["cursor"] != p.Cursor() || m["user_id"] != "u1" || m["shown"] != "busy" {
		t.Fatalf("frame %s", e.Frame(p))
	}
	empty := Event{Seq: 1, Type: "x", Data: json.RawMessage(`{}`)}
	if got := string(empty.Frame(Position{Org: 1})); got != `{"type":"x","cursor":"1.1.0"}` {
		t.Fatalf("empty frame %s", got)
	}
}

// TestCursor: a cursor reads back as the position it was made from, and
// anything else, a cursor from before the streams were split (a plain
// number) included, is not one.
func TestCursor(t *testing.T) {
	t.Parallel()
	for _, p := range []Position{{}, {Org: 5}, {User: 3}, {Org: 12345, User: 678}} {
		if got, ok := ParseCursor(p.Cursor()); !ok || got != p {
			t.Errorf("%+v → %q → %+v, %v", p, p.Cursor(), got, ok)
		}
	}
	for _, bad := range []string{"", "12", "0", "1.1", "3.1.1", "2.-1.3", "a.b.c", "1.1.0.0", "1.1.x"} {
		if p, ok := ParseCursor(bad); ok {
			t.Errorf("%q read as %+v", bad, p)
		}
	}
}

// TestUserStreams: a private event reaches each recipient's subscribers
// with its position in that recipient's own stream, in that stream's
// order whatever order it was published in, a gap filled from the log; a
// user nobody here watches costs nothing, and the org's stream is not held
// up by a user's gap.
func TestUserStreams(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	ctx := context.Background()
	log.addPrivate("old", "a") // before anyone subscribed: not delivered
	a, _ := h.Subscribe(ctx, "o1", "a", "sa")
	b, _ := h.Subscribe(ctx, "o1", "b", "sb")
	ab1 := log.addPrivate("ab1", "a", "b")
	log.addPrivate("a2", "a") // never published: the gap fill reads it
	ab3 := log.addPrivate("ab3", "a", "b")
	cd := log.addPrivate("cd", "c", "d")
	before := h.Deliveries()
	h.Publish([]Event{cd, ab3}) // ab3 waits for a's 2 and 3, and b's 1
	h.Publish(log.add(1))       // the org's stream goes on meanwhile
	h.Publish([]Event{ab1})     // b's stream is whole now; a's waits for a2, never published
	// take gathers what s is given until it is want: the gap is filled from
	// the log after gapWait, on a busy machine a little later (10 s at most).
	take := func(s *Sub, want string) string {
		var out []string
		deadline := time.Now().Add(gapWait + 10*time.Second)
		for {
			got, _ := s.Take(make([]*Delivery, 0, 16))
			for _, d := range got {
				kind := "org"
				if d.User {
					kind = "user"
				}
				out = append(out, fmt.Sprintf("%s:%s%d", d.Event.Type, kind, d.Pos))
			}
			if fmt.Sprint(out) == want || time.Now().After(deadline) {
				return fmt.Sprint(out)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, c := range []struct {
		s    *Sub
		want string
	}{{a, "[presence:org1 ab1:user2 a2:user3 ab3:user4]"}, {b, "[presence:org1 ab1:user1 ab3:user2]"}} {
		if got := take(c.s, c.want); got != c.want {
			t.Errorf("%s took %s, want %s", c.s.SessionID, got, c.want)
		}
	}
	if got := h.Deliveries() - before; got != 2+3+2 {
		t.Errorf("%d deliveries attempted, want 7 (c and d are watched nowhere here)", got)
	}
	a.Close()
	b.Close()
}

// TestUserIndexFollowsLeaving: a user's sessions join and leave the index
// as they subscribe and close, and an event for the user reaches the ones
// still there.
func TestUserIndexFollowsLeaving(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	ctx := context.Background()
	web, _ := h.Subscribe(ctx, "o1", "u1", "web")
	phone, _ := h.Subscribe(ctx, "o1", "u1", "phone")
	other, _ := h.Subscribe(ctx, "o1", "u2", "s2")
	web.Close()
	evs := log.add(1)
	evs[0].Audience = []string{"u1"}
	before := h.Deliveries()
	h.Publish(evs)
	if got := h.Deliveries() - before; got != 1 {
		t.Fatalf("%d deliveries attempted, want 1 (the phone)", got)
	}
	if got, _ := phone.Take(make([]*Delivery, 0, 4)); len(got) != 1 {
		t.Fatalf("the phone took %d events", len(got))
	}
	if got, _ := other.Take(make([]*Delivery, 0, 4)); len(got) != 0 {
		t.Fatalf("another user took %d of u1's events", len(got))
	}
	phone.Close()
	other.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.orgs) != 0 {
		t.Fatal("the org's state outlived its last subscriber")
	}
}

// TestJoinThenStart: a user's own stream reaches subscribers that joined
// without its head only once each of them has started or left: what was
// published meanwhile is kept, and then delivered after the lowest
// position they started at, in order; what came before that is not; an
// event the hub never saw (published before anyone joined) is read from
// the log as a gap. A subscriber that joins once the hub knows, or
// subscribes, waits for nobody.
func TestJoinThenStart(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	ctx := context.Background()
	take := func(s *Sub) string {
		got, _ := s.Take(make([]*Delivery, 0, 16))
		var out []string
		for _, d := range got {
			out = append(out, fmt.Sprintf("%s:%d", d.Event.Type, d.Pos))
		}
		return fmt.Sprint(out)
	}
	e1 := log.addPrivate("e1", "a")
	web, _ := h.Join(ctx, "o1", "a", "web")
	phone, _ := h.Join(ctx, "o1", "a", "phone")
	gone, _ := h.Join(ctx, "o1", "a", "gone")
	e2 := log.addPrivate("e2", "a")
	log.addPrivate("e3", "a") // committed, never published: a gap
	e4 := log.addPrivate("e4", "a")
	h.Publish([]Event{e1, e2, e4})
	web.Start(2) // read after e2 committed
	if got := take(web); got != "[]" {
		t.Fatalf("web took %s before the phone started; want nothing yet", got)
	}
	phone.Start(1) // read before e2
	if got := take(phone); got != "[]" {
		t.Fatalf("the phone took %s while another joiner waits; want nothing yet", got)
	}
	gone.Close() // leaves without starting: nobody is waited for now
	// The gap (e3) is filled from the log after gapWait; on a busy machine
	// a little later: take what comes until it is all there, or 10 s.
	takeAll := func(s *Sub, want string) string {
		var all []string
		deadline := time.Now().Add(gapWait + 10*time.Second)
		for {
			got, _ := s.Take(make([]*Delivery, 0, 16))
			for _, d := range got {
				all = append(all, fmt.Sprintf("%s:%d", d.Event.Type, d.Pos))
			}
			if fmt.Sprint(all) == want || time.Now().After(deadline) {
				return fmt.Sprint(all)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want := "[e2:2 e3:3 e4:4]" // after the lowest start, e1 not; e3 from the log
	if got := takeAll(web, want); got != want {
		t.Errorf("web took %s, want %s", got, want)
	}
	if got := takeAll(phone, want); got != want {
		t.Errorf("the phone took %s, want %s", got, want)
	}
	late, _ := h.Join(ctx, "o1", "a", "late") // the hub knows where the stream is
	eager, _ := h.Subscribe(ctx, "o1", "a", "eager")
	late.Start(4)
	h.Publish([]Event{log.addPrivate("e5", "a")})
	for _, s := range []*Sub{web, phone, late, eager} {
		if got := take(s); got != "[e5:5]" {
			t.Errorf("%s took %s, want [e5:5]", s.SessionID, got)
		}
	}
	for _, s := range []*Sub{web, phone, late, eager} {
		s.Close()
	}
	// Alone, a joiner that leaves without starting leaves nothing behind.
	lone, _ := h.Join(ctx, "o1", "b", "lone")
	lone.Close()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.orgs) != 0 {
		t.Fatal("the org's state outlived its last subscriber")
	}
}

// TestHubLiveEvents: an unlogged event reaches its audience's subscribers
// at once, without a position and without disturbing the order of the
// logged streams around it; nobody else gets it.
func TestHubLiveEvents(t *testing.T) {
	t.Parallel()
	log := &memLog{}
	h := NewHub(log)
	s1, _ := h.Subscribe(context.Background(), "o1", "u1", "s1")
	s2, _ := h.Subscribe(context.Background(), "o1", "u2", "s2")
	mine, other := chanOf(s1), chanOf(s2)
	before := log.addPrivate("message", "u1")
	h.Publish([]Event{before, ToUsersLive("o1", "typing", json.RawMessage(`{"user_id":"u3"}`), "u1")})
	after := log.addPrivate("message", "u1")
	h.Publish([]Event{after})
	var got []string
	timeout := time.After(2 * time.Second)
	for len(got) < 3 {
		select {
		case d := <-mine:
			got = append(got, fmt.Sprintf("%s live=%v pos=%d", d.Event.Type, d.Live, d.Pos))
		case <-timeout:
			t.Fatalf("u1 got %v", got)
		}
	}
	if fmt.Sprint(got) != "[message live=false pos=1 typing live=true pos=0 message live=false pos=2]" {
		t.Fatalf("u1 got %v", got)
	}
	select {
	case d := <-other:
		t.Fatalf("u2 got %s", d.Event.Type)
	case <-time.After(50 * time.Millisecond):
	}
}
