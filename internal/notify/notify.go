// Package notify decides what is pushed to whom and runs the sending (SPEC
// §9): Notify queues one push per subscribed session of a user that has no
// live event stream at that moment; the node's worker (Run) claims queued
// pushes from the store, hands each to a Sender (package webpush speaks
// Web Push over HTTP), and deletes, retries with backoff or gives up by
// what the push service answered. The queue is in the store, so a push
// survives a restart and several nodes on one database share it without
// sending one push twice.
//
// Which pushes to make (mutes, mentions, do not disturb) is the caller's
// rule; notify only knows sessions, streams and push services.
package notify

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"vo/internal/apperr"
	"vo/internal/clock"
)

// Type is what a push is about; the app picks its look by it.
type Type string

// The types of SPEC §9.
const (
	Message    Type = "message"
	Call       Type = "call"
	MissedCall Type = "missed_call"
	Voicemail  Type = "voicemail"
)

// Push is one notification, as the service worker gets it: URL opens the
// right screen, Tag makes a newer push replace an older one of the same
// tag on the device.
type Push struct {
	Type  Type   `json:"type"`
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url"`
	Tag   string `json:"tag"`
	// TTL is how long the push is worth delivering (a ringing call:
	// while it rings); zero, DefaultTTL. Not part of the payload.
	TTL time.Duration `json:"-"`
}

// DefaultTTL is how long a push waits for an offline device by default.
const DefaultTTL = 24 * time.Hour

// MaxPayload is the largest push payload: a push service must take 4096
// bytes of ciphertext (RFC 8030 §7.2), and the encryption adds 103 (86 of
// header, 1 delimiter, 16 tag).
const MaxPayload = 3993

// Store is what notify needs of the database.
type Store interface {
	// PushKey returns the stored VAPID key, storing candidate if none is.
	PushKey(ctx context.Context, candidate Key) (Key, error)
	// EnqueuePush queues payload, worth sending until expires, for each
	// subscribed session of the users but those in skip and those marked
	// live by any node, in one write (none when nobody is subscribed).
	EnqueuePush(ctx context.Context, orgID string, userIDs []string, payload []byte, expires time.Time, skip []string) (int, error)
	// ClaimPushes claims up to limit due pushes for lease.
	ClaimPushes(ctx context.Context, limit int, lease time.Duration) ([]Queued, error)
	PushDone(ctx context.Context, id int64) error
	PushRetry(ctx context.Context, id int64, next time.Time) error
	// PushGone deletes the session's subscription if it still has endpoint.
	PushGone(ctx context.Context, sessionID, endpoint string) error
	// MarkLive and ClearLive keep this node's live-stream marks.
	MarkLive(ctx context.Context, nodeID string, add, remove []string, until time.Time, renew bool) error
	ClearLive(ctx context.Context, nodeID string) error
}

// Streams tells which sessions have a live event stream on this node;
// *events.Hub is one.
type Streams interface {
	Sessions(orgID, userID string) []string
	AllSessions() map[string]bool
}

// Outcome is what became of one send.
type Outcome int

// The outcomes of a send.
const (
	// Delivered: the push service took the push (201, 202).
	Delivered Outcome = iota
	// Gone: the subscription is no more (404, 410); it is deleted.
	Gone
	// Retry: try again later (429, 5xx, no answer).
	Retry
	// Failed: the push service refused this push for good (another 4xx).
	Failed
)

// Result is a send's outcome; RetryAfter is the push service's Retry-After
// when it gave one, Status its HTTP status (0 without an answer).
type Result struct {
	Outcome    Outcome
	Status     int
	RetryAfter time.Duration
	Err        error
}

// Sender delivers one push to a push service, encrypted to sub's keys and
// signed with key, to be kept by the push service for ttl at most. It
// never logs the payload or the keys.
type Sender interface {
	Send(ctx context.Context, key Key, sub Subscription, payload []byte, ttl time.Duration) Result
}

// Recorder counts what the worker does; *metrics.Metrics is one.
type Recorder interface {
	PushSent()
	PushFailed(reason string)
}

// Config is what a Service is built from.
type Config struct {
	Store   Store
	Streams Streams
	Sender  Sender
	Clock   clock.Clock  // nil: the wall clock
	Logger  *slog.Logger // nil: slog.Default()
	Metrics Recorder     // nil: none
	// NodeID names this node's live-stream marks.
	NodeID string
	// ShareLive writes this node's live streams to the store, so that
	// other nodes on the database skip them too; a node alone (no NATS)
	// knows every stream from its hub.
	ShareLive bool
	// LiveFor is how long a live mark holds unless renewed; zero, 90 s.
	// Marks are renewed every third of it.
	LiveFor time.Duration
	// MaxAttempts is how many sends a push gets; zero, 5.
	MaxAttempts int
	// Backoff is the wait after the first failed send, doubled after each
	// further one up to MaxBackoff; zero, 15 s and 15 min.
	Backoff, MaxBackoff time.Duration
	// PollEvery is how often the worker looks for due pushes (retries,
	// pushes queued on other nodes); zero, 5 s.
	PollEvery time.Duration
	// Batch is how many pushes one claim takes, sent in parallel; zero, 16.
	Batch int
}

// Service queues and sends pushes.
type Service struct {
	cfg  Config
	wake chan struct{}
	live chan struct{}

	keyMu sync.Mutex
	key   Key

	liveMu  sync.Mutex
	written map[string]bool // the live marks this node wrote
}

// lease is how long a claimed push is kept from other workers: longer
// than a batch of sends takes (each bounded by the sender's timeout).
const lease = 2 * time.Minute

// New returns a service; Run starts its worker.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.LiveFor == 0 {
		cfg.LiveFor = 90 * time.Second
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff == 0 {
		cfg.Backoff = 15 * time.Second
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 15 * time.Minute
	}
	if cfg.PollEvery == 0 {
		cfg.PollEvery = 5 * time.Second
	}
	if cfg.Batch == 0 {
		cfg.Batch = 16
	}
	return &Service{cfg: cfg, wake: make(chan struct{}, 1), live: make(chan struct{}, 1), written: map[string]bool{}}
}

// Key returns the VAPID key, made on first use and kept in the store.
func (s *Service) Key(ctx context.Context) (Key, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key.Public != "" {
		return s.key, nil
	}
	k, err := s.cfg.Store.PushKey(ctx, newKey())
	if err != nil {
		return Key{}, err
	}
	s.key = k
	return k, nil
}

// newKey makes a P-256 key pair.
func newKey() Key {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	b := base64.RawURLEncoding
	return Key{Private: b.EncodeToString(k.Bytes()), Public: b.EncodeToString(k.PublicKey().Bytes())}
}

// Notify queues p for every subscribed session of the user that has no
// live event stream now, and returns how many pushes were queued. Invalid
// when p has no known type or its payload is too large.
func (s *Service) Notify(ctx context.Context, orgID, userID string, p Push) (int, error) {
	return s.NotifyAll(ctx, orgID, []string{userID}, p)
}

// NotifyAll is Notify for several users of the org at once, as one write:
// a message to a group of 50 queues its pushes in one transaction, not 49.
func (s *Service) NotifyAll(ctx context.Context, orgID string, userIDs []string, p Push) (int, error) {
	switch p.Type {
	case Message, Call, MissedCall, Voicemail:
	default:
		return 0, apperr.New(apperr.Invalid, "unknown push type %q", p.Type)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return 0, err
	}
	if len(payload) > MaxPayload {
		return 0, apperr.New(apperr.Invalid, "the push is larger than %d bytes", MaxPayload)
	}
	ttl := p.TTL
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	var skip []string
	if s.cfg.Streams != nil {
		for _, u := range userIDs {
			skip = append(skip, s.cfg.Streams.Sessions(orgID, u)...)
		}
	}
	n, err := s.cfg.Store.EnqueuePush(ctx, orgID, userIDs, payload, s.cfg.Clock.Now().Add(ttl), skip)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return n, nil
}

// StreamsChanged tells the service that a stream opened or closed on this
// node; it may be called holding locks (it never blocks).
func (s *Service) StreamsChanged() {
	select {
	case s.live <- struct{}{}:
	default:
	}
}
