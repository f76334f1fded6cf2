// Package node builds one Virtual Office node from its configuration and
// owns its background work (presence scheduler, housekeeping, the NATS
// bus): New wires it, Run runs the background work until its context ends,
// Close stops it all in order.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"vo/internal/account"
	"vo/internal/auth"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/demo"
	"vo/internal/events"
	"vo/internal/httpapi"
	"vo/internal/metrics"
	"vo/internal/presence"
	"vo/internal/store"
)

// Config is what a node is built from.
type Config struct {
	// Store, when set, is used (and closed by Close); otherwise DSN and
	// DataDir open one (see store.Options).
	Store   *store.Store
	DSN     string
	DataDir string
	// NATSURL, when set, joins the nodes sharing one database.
	NATSURL string
	// Demo creates the demo org once.
	Demo bool
	// Photos serves the photo endpoints; nil answers 404 there.
	Photos         httpapi.PhotoService
	TrustedProxies []netip.Prefix
	// MaxConnsPerAddr caps connections per client address; zero, no cap.
	MaxConnsPerAddr int
	Clock           clock.Clock  // nil: the wall clock
	Logger          *slog.Logger // nil: slog.Default()
	Metrics         *metrics.Metrics
	HashParams      account.HashParams // zero: account.DefaultHashParams
	Web             fs.FS
	// PingEvery and PongWait tune dead-connection detection (httpapi).
	PingEvery, PongWait time.Duration
	// HousekeepEvery is how often expired sessions end and the event log
	// is pruned; zero means a minute.
	HousekeepEvery time.Duration
}

// Node is one wired server.
type Node struct {
	cfg      Config
	Store    *store.Store
	Hub      *events.Hub
	Presence *presence.Service
	Chat     *chat.Service
	API      *httpapi.Server
	bus      *events.NATSBus
	lg       *slog.Logger

	// housekept is signalled after each housekeeping round (tests).
	housekept chan struct{}

	mu     sync.Mutex
	stop   context.CancelFunc
	done   chan struct{}
	closed bool
	ownsSt bool
}

// New opens and wires everything: store, hub, bus, presence, auth, the
// HTTP API. Registrations on the wired services (e.g. stream routes) go
// here, after the services and before the API is built.
func New(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HashParams == (account.HashParams{}) {
		cfg.HashParams = account.DefaultHashParams
	}
	if cfg.HousekeepEvery == 0 {
		cfg.HousekeepEvery = time.Minute
	}
	n := &Node{cfg: cfg, lg: cfg.Logger, housekept: make(chan struct{}, 1)}
	st := cfg.Store
	if st == nil {
		var err error
		st, err = store.Open(ctx, store.Options{DSN: cfg.DSN, DataDir: cfg.DataDir, Clock: cfg.Clock})
		if err != nil {
			return nil, err
		}
		n.ownsSt = true
	}
	n.Store = st
	fail := func(err error) (*Node, error) {
		if n.bus != nil {
			n.bus.Close()
		}
		if n.ownsSt {
			st.Close()
		}
		return nil, err
	}
	if cfg.Demo {
		created, err := demo.Seed(ctx, st, cfg.HashParams)
		if err != nil {
			return fail(fmt.Errorf("demo: %w", err))
		}
		if created {
			n.lg.Info("demo org created", slog.String("slug", demo.Slug))
		}
	}
	n.Hub = events.NewHub(st)
	if cfg.Metrics != nil {
		n.Hub.SetRecorder(cfg.Metrics)
	}
	publish := n.Hub.Publish
	if cfg.NATSURL != "" {
		bus, err := events.ConnectNATS(cfg.NATSURL, n.Hub)
		if err != nil {
			return fail(err)
		}
		n.bus = bus
		publish = func(evs []events.Event) {
			n.Hub.Publish(evs)
			bus.Publish(evs)
		}
	}
	st.OnCommit(publish)
	n.Presence = presence.NewService(st, cfg.Clock)
	n.Chat = chat.NewService(st, cfg.Clock, func(orgID, typ string, data json.RawMessage, userIDs []string) {
		publish([]events.Event{events.ToUsersLive(orgID, typ, data, userIDs...)})
	})
	// Registrations on the services (routes of the stream, presence's
	// activity) belong here.
	var limit *httpapi.ConnLimiter
	if cfg.MaxConnsPerAddr > 0 {
		limit = httpapi.NewConnLimiter(cfg.MaxConnsPerAddr, cfg.TrustedProxies)
	}
	n.API = httpapi.New(httpapi.Config{Store: st, Auth: auth.New(st, cfg.Clock, cfg.HashParams), Presence: n.Presence, Chat: n.Chat, Hub: n.Hub,
		Photos: cfg.Photos, Clock: cfg.Clock, HashParams: cfg.HashParams, Web: cfg.Web, TrustedProxies: cfg.TrustedProxies,
		ConnLimit: limit, Metrics: cfg.Metrics, PingEvery: cfg.PingEvery, PongWait: cfg.PongWait, Logger: cfg.Logger})
	return n, nil
}

// Handler is the public HTTP handler.
func (n *Node) Handler() *httpapi.Server { return n.API }

// Run runs the background work (presence scheduler, housekeeping) until
// ctx ends or Close is called. It may be called once.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errors.New("node: closed")
	}
	if n.done != nil {
		n.mu.Unlock()
		return errors.New("node: already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	n.stop = cancel
	done := make(chan struct{})
	n.done = done
	n.mu.Unlock()
	defer close(done)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.Presence.Run(ctx) }()
	go func() { defer wg.Done(); n.housekeeping(ctx) }()
	wg.Wait()
	cancel()
	return nil
}

// Close stops the background work, waits for it, then closes the bus and
// the store (when the node opened it). It may be called more than once.
func (n *Node) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	stop, done := n.stop, n.done
	n.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	if n.bus != nil {
		n.bus.Close()
	}
	if n.ownsSt {
		return n.Store.Close()
	}
	return nil
}

// housekeeping ends expired sessions and prunes the event log, now and
// every HousekeepEvery on the node's clock.
func (n *Node) housekeeping(ctx context.Context) {
	tick := make(chan struct{}, 1)
	for {
		cutoff := n.cfg.Clock.Now().Add(-account.SessionTTL).UnixMilli()
		if c, err := n.Store.EndExpiredSessions(ctx, cutoff); err != nil && ctx.Err() == nil {
			n.lg.Warn("housekeeping: sessions", slog.Any("err", err))
		} else if c > 0 {
			n.lg.Info("housekeeping: expired sessions ended", slog.Int("count", c))
		}
		if _, err := n.Store.PruneEvents(ctx); err != nil && ctx.Err() == nil {
			n.lg.Warn("housekeeping: events", slog.Any("err", err))
		}
		select {
		case n.housekept <- struct{}{}:
		default:
		}
		t := n.cfg.Clock.AfterFunc(n.cfg.HousekeepEvery, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
	}
}
