package presence

import (
	"context"
	"log/slog"
	"time"

	"vo/internal/apperr"
	"vo/internal/clock"
)

// Store is what the service needs of the database. ChangePresence applies
// change, expiry and Derive in one transaction and announces any change.
type Store interface {
	ChangePresence(ctx context.Context, orgID, userID string, change func(*State) error) (Row, error)
	DuePresence(ctx context.Context, now time.Time, limit int) ([][2]string, error)
	NextPresenceChange(ctx context.Context) (time.Time, error)
}

// Service changes presence and runs the changes nobody asks for: expiries
// and auto-away, at their instant, from what is stored (so they survive a
// restart and run on whichever node is up).
type Service struct {
	store Store
	clock clock.Clock
	wake  chan struct{}
}

// NewService returns a presence service.
func NewService(s Store, c clock.Clock) *Service {
	return &Service{store: s, clock: c, wake: make(chan struct{}, 1)}
}

// Opt is an optional field of an update. Null is its own flag, not the
// zero value, because a zero value can be something a client sent: the
// time 0001-01-01T00:00:00Z is in the past, not a request to clear.
type Opt[T any] struct {
	Set   bool // false: absent, unchanged
	Null  bool // with Set: null, cleared
	Value T    // with Set and not Null: the new value
}

// Some is a field set to v.
func Some[T any](v T) Opt[T] { return Opt[T]{Set: true, Value: v} }

// Clear is a field set to null.
func Clear[T any]() Opt[T] { return Opt[T]{Set: true, Null: true} }

func (o Opt[T]) value() bool { return o.Set && !o.Null }

// Update is a change a user asks for.
type Update struct {
	Status           Opt[Status]
	StatusUntil      Opt[time.Time]
	Message          Opt[string]
	MessageExpiresAt Opt[time.Time]
}

// MaxTime is the latest time a client may set: RFC 3339 and the JSON
// answers have four-digit years, so a time whose UTC year is 10000 (which
// 9999-12-31T23:59:59-01:00 is) could be stored but never shown.
var MaxTime = time.Date(9999, time.December, 31, 23, 59, 59, 999_999_999, time.UTC)

// Validate checks an update against the rules of SPEC §2 and returns it
// cleaned. Invalid when a status is unknown, a message too long, holding
// control characters or nothing visible, or a time not in the future or
// after MaxTime.
func (u Update) Validate(now time.Time) (Update, error) {
	if u.Status.value() {
		if _, err := ParseStatus(string(u.Status.Value)); err != nil {
			return u, err
		}
	}
	if u.Message.value() {
		m, err := NormalizeMessage(u.Message.Value)
		if err != nil {
			return u, err
		}
		u.Message.Value = m
	}
	for _, t := range []Opt[time.Time]{u.StatusUntil, u.MessageExpiresAt} {
		if !t.value() {
			continue
		}
		if !t.Value.After(now) {
			return u, apperr.New(apperr.Invalid, "times must be in the future")
		}
		if t.Value.After(MaxTime) {
			return u, apperr.New(apperr.Invalid, "times must be before the year 10000 (UTC)")
		}
	}
	return u, nil
}

// Set applies a user's update and returns their presence.
func (s *Service) Set(ctx context.Context, orgID, userID string, u Update) (Row, error) {
	u, err := u.Validate(s.clock.Now())
	if err != nil {
		return Row{}, err
	}
	row, err := s.store.ChangePresence(ctx, orgID, userID, func(st *State) error {
		// A null status is the default one, available, with no end
		// (unless the same update gives one).
		if u.Status.Null {
			st.Status, st.StatusUntil = Available, time.Time{}
		} else if u.Status.Set {
			st.Status = u.Status.Value
		}
		if u.StatusUntil.Set {
			st.StatusUntil = u.StatusUntil.Value // the zero time when Null
		}
		if u.Message.Set {
			st.Message = u.Message.Value
			if st.Message == "" {
				st.MessageExpiresAt = time.Time{}
			}
		}
		if u.MessageExpiresAt.Set {
			st.MessageExpiresAt = u.MessageExpiresAt.Value
		}
		return nil
	})
	if err == nil {
		s.Wake()
	}
	return row, err
}

// activityEvery is how stale the stored last activity may grow before a
// client's activity message is written down.
const activityEvery = 30 * time.Second

// Active records that the user is using the app (feeds auto-away).
func (s *Service) Active(ctx context.Context, orgID, userID string, last time.Time) (time.Time, error) {
	now := s.clock.Now()
	if now.Sub(last) < activityEvery {
		return last, nil
	}
	_, err := s.store.ChangePresence(ctx, orgID, userID, func(st *State) error {
		st.LastActive = now
		return nil
	})
	if err == nil {
		s.Wake()
	}
	return now, err
}

// StreamActivity returns what one event stream's activity messages call:
// each records activity (Active), written down at most every
// activityEvery for that stream. Its calls must not overlap (a stream
// reads one message at a time).
func (s *Service) StreamActivity() func(ctx context.Context, orgID, userID string) error {
	var last time.Time
	return func(ctx context.Context, orgID, userID string) error {
		var err error
		last, err = s.Active(ctx, orgID, userID, last)
		return err
	}
}

// Wake makes Run look again at what is due (a new, earlier instant).
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunDue recomputes every user whose presence may have changed by itself by
// now, and returns the next instant something is due (zero: none).
func (s *Service) RunDue(ctx context.Context) (time.Time, error) {
	for {
		due, err := s.store.DuePresence(ctx, s.clock.Now(), 500)
		if err != nil {
			return time.Time{}, err
		}
		for _, d := range due {
			if _, err := s.store.ChangePresence(ctx, d[0], d[1], nil); err != nil && !apperr.Is(err, apperr.NotFound) {
				return time.Time{}, err
			}
		}
		if len(due) < 500 {
			return s.store.NextPresenceChange(ctx)
		}
	}
}

// maxIdle bounds the scheduler's sleep, so that instants set through other
// nodes are seen within a second.
const maxIdle = time.Second

// Run runs due changes at their instant until ctx ends.
func (s *Service) Run(ctx context.Context) {
	for {
		next, err := s.RunDue(ctx)
		if err != nil && ctx.Err() == nil {
			slog.Error("presence: scheduler", slog.Any("err", err))
		}
		wait := maxIdle
		if !next.IsZero() {
			if d := next.Sub(s.clock.Now()); d < wait {
				wait = max(d, 0)
			}
		}
		fired := make(chan struct{})
		t := s.clock.AfterFunc(wait, func() { close(fired) })
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-fired:
		case <-s.wake:
			t.Stop()
		}
	}
}
