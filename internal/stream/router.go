package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/coder/websocket"

	"vo/internal/clock"
)

// Sender is who a client message came from: the stream's authenticated
// session.
type Sender struct {
	OrgID, UserID, SessionID string
}

// Handler handles one client message of its type, raw as the client sent
// it (the whole frame, "type" included). It runs on the stream's reader,
// one message at a time per stream.
type Handler func(ctx context.Context, from Sender, msg json.RawMessage) error

// Rate is a token bucket: Burst messages at once, then N per Per.
type Rate struct {
	N     int
	Per   time.Duration
	Burst int
}

// Type is a client message type a domain registers.
type Type struct {
	Name    string
	MaxSize int // bytes of the whole frame
	Rate    Rate
	// NewHandler makes the handler of one stream, called once as the
	// stream opens; state the handler keeps (a throttle) is that stream's.
	NewHandler func(from Sender) Handler
}

// MaxMessageSize caps Type.MaxSize, and so the WebSocket read limit.
const MaxMessageSize = 64 << 10

// minReadLimit is the read limit with no type registered, or only small
// ones: room for an error frame's worth of a stray message.
const minReadLimit = 4096

// floodFactor: a client that sends this many times its rate, or its
// burst, is closed rather than answered.
const floodFactor = 10

// closeFlood is the close status of a stream whose client floods it.
const closeFlood websocket.StatusCode = 4001

// strayRate limits messages of no registered type, or not JSON, each
// answered with an error frame.
var strayRate = Rate{N: 5, Per: time.Second, Burst: 10}

// The codes of the error frame.
const (
	codeBadMessage  = "bad_message"  // not a JSON object with a string "type"
	codeUnknownType = "unknown_type" // no type of that name is registered
	codeTooLarge    = "too_large"    // larger than its type allows
	codeRateLimited = "rate_limited" // over its type's rate; dropped
	codeFailed      = "failed"       // its handler failed
)

// Router knows the client message types. Register them all before the
// first stream opens; it is read without locks afterwards.
type Router struct {
	clock clock.Clock
	types map[string]Type
}

// NewRouter returns a router timing rates on clk (nil: the wall clock).
func NewRouter(clk clock.Clock) *Router {
	if clk == nil {
		clk = clock.Real{}
	}
	return &Router{clock: clk, types: map[string]Type{}}
}

// Register adds t. It panics on a mistake of wiring: no name, a name
// taken, a size beyond MaxMessageSize, a rate that lets nothing through.
func (r *Router) Register(t Type) {
	switch {
	case t.Name == "" || t.NewHandler == nil:
		panic("stream: a message type needs a name and a handler")
	case r.types[t.Name].Name != "":
		panic(fmt.Sprintf("stream: message type %q registered twice", t.Name))
	case t.MaxSize <= 0 || t.MaxSize > MaxMessageSize:
		panic(fmt.Sprintf("stream: message type %q: size %d not in 1..%d", t.Name, t.MaxSize, MaxMessageSize))
	case t.Rate.N <= 0 || t.Rate.Per <= 0 || t.Rate.Burst <= 0:
		panic(fmt.Sprintf("stream: message type %q: rate must be positive", t.Name))
	}
	r.types[t.Name] = t
}

// readLimit is the largest registered size, at least minReadLimit.
func (r *Router) readLimit() int64 {
	n := minReadLimit
	for _, t := range r.types {
		n = max(n, t.MaxSize)
	}
	return int64(n)
}

// bucket is a token bucket on a clock.
type bucket struct {
	rate   Rate
	tokens float64
	at     time.Time
}

func newBucket(r Rate, now time.Time) bucket {
	return bucket{rate: r, tokens: float64(r.Burst), at: now}
}

// take takes a token, if there is one.
func (b *bucket) take(now time.Time) bool {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(b.rate.Burst), b.tokens+float64(b.rate.N)*float64(d)/float64(b.rate.Per))
		b.at = now
	}
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// limiter holds a stream's messages of one type to the type's rate, and
// notices a flood: floodFactor times the rate and burst.
type limiter struct {
	rate, flood bucket
}

func newLimiter(r Rate, now time.Time) *limiter {
	return &limiter{rate: newBucket(r, now),
		flood: newBucket(Rate{N: r.N * floodFactor, Per: r.Per, Burst: r.Burst * floodFactor}, now)}
}

// verdict of a limiter on one message.
type verdict int

const (
	pass verdict = iota
	limited
	flooded
)

func (l *limiter) check(now time.Time) verdict {
	if !l.flood.take(now) {
		return flooded
	}
	if !l.rate.take(now) {
		return limited
	}
	return pass
}

// inbound is a stream's side of the router: its handlers and limiters.
type inbound struct {
	r        *Router
	from     Sender
	handlers map[string]Handler
	limits   map[string]*limiter
	stray    *limiter
}

func (r *Router) open(from Sender) *inbound {
	now := r.clock.Now()
	in := &inbound{r: r, from: from, handlers: make(map[string]Handler, len(r.types)),
		limits: make(map[string]*limiter, len(r.types)), stray: newLimiter(strayRate, now)}
	for name, t := range r.types {
		in.handlers[name] = t.NewHandler(from)
		in.limits[name] = newLimiter(t.Rate, now)
	}
	return in
}

// errFlood ends a stream whose client floods it.
var errFlood = errors.New("client flood")

// errorFrame is the frame a client is told of a message dropped with.
type errorFrame struct {
	Type string          `json:"type"` // "error"
	Code string          `json:"code"`
	Ref  json.RawMessage `json:"ref,omitempty"` // the message's "id", if it had one
}

// handle routes one text message. It returns the error frame to send
// (nil: none), or errFlood.
func (in *inbound) handle(ctx context.Context, b []byte) ([]byte, error) {
	now := in.r.clock.Now()
	typ, ref, err := parseFrame(b)
	lim, h := in.stray, Handler(nil)
	if err == nil {
		if l, ok := in.limits[typ]; ok {
			lim, h = l, in.handlers[typ]
		}
	}
	switch lim.check(now) {
	case flooded:
		return nil, errFlood
	case limited:
		if h == nil { // a stray over its rate goes unanswered
			return nil, nil
		}
		return errFrame(codeRateLimited, ref), nil
	}
	switch {
	case err != nil:
		return errFrame(codeBadMessage, nil), nil
	case h == nil:
		return errFrame(codeUnknownType, ref), nil
	case len(b) > in.r.types[typ].MaxSize:
		return errFrame(codeTooLarge, ref), nil
	}
	if err := h(ctx, in.from, b); err != nil {
		slog.Warn("events: client message", slog.String("type", typ), slog.Any("err", err))
		return errFrame(codeFailed, ref), nil
	}
	return nil, nil
}

func errFrame(code string, ref json.RawMessage) []byte {
	b, _ := json.Marshal(errorFrame{Type: "error", Code: code, Ref: ref}) // ref is valid JSON
	return b
}

// errBadFrame says that a client message is not a JSON object with a
// string "type".
var errBadFrame = errors.New("not a JSON object with a string type")

// maxRef is the longest "id" echoed back as ref.
const maxRef = 64

// parseFrame reads a client message's type and its "id", kept only if it
// is a string or a number of at most maxRef bytes.
func parseFrame(b []byte) (typ string, ref json.RawMessage, err error) {
	var m struct {
		Type *string         `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(b, &m); err != nil || m.Type == nil {
		return "", nil, errBadFrame
	}
	if id := bytes.TrimSpace(m.ID); len(id) > 0 && len(id) <= maxRef && (id[0] == '"' || id[0] == '-' || id[0] >= '0' && id[0] <= '9') {
		ref = id
	}
	return *m.Type, ref, nil
}
