// Package node builds one Virtual Office node from its configuration: the
// store, the hub and the NATS bus, the domain services, and the background
// work (presence scheduler, housekeeping). New wires it, Run runs the
// background work until its context ends, Close stops it all in order.
// The transports (httpapi, and next SIP and media) are built over a node,
// so that vo serve, the tests and the bench all wire one the same way.
package node

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"
	"vo/internal/appcall"
	"vo/internal/webrtcmedia"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/auth"
	"vo/internal/blobs"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/demo"
	"vo/internal/directory"
	"vo/internal/events"
	"vo/internal/events/natsbus"
	"vo/internal/metrics"
	"vo/internal/notify"
	"vo/internal/notify/webpush"
	"vo/internal/presence"
	"vo/internal/profile"
	"vo/internal/sipserver"
	"vo/internal/store"
	"vo/internal/telephony"
	"vo/internal/turncred"
	"vo/internal/turnserver"
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
	// Photos stores profile photos; nil, there are none (404).
	Photos *profile.Photos
	// Blobs keeps chat attachments and voicemail audio; nil, there are
	// none (404).
	Blobs blobs.Store
	// SIPAddr is where phones register and call (SPEC §10, UDP and TCP);
	// when set, the node runs the SIP registrar there (port 0: a free
	// port). Empty runs none and names telephony.DefaultSIPAddr.
	SIPAddr string
	// CallMediaAddr is the UDP address the media of the app's calls
	// arrives on (SPEC §10, WebRTC through the server; port 0: a free
	// port); empty, the app cannot call. CallMediaIPs, when set, are
	// announced in its place (a server behind a 1:1 NAT).
	CallMediaAddr string
	CallMediaIPs  []string
	// RingTimeout is how long phones and apps ring before a call is unanswered;
	// zero is SPEC §10's 20 s (tests shorten it).
	RingTimeout time.Duration
	Clock       clock.Clock  // nil: the wall clock
	Logger      *slog.Logger // nil: slog.Default()
	Metrics     *metrics.Metrics
	HashParams  account.HashParams // zero: account.DefaultHashParams
	// HousekeepEvery is how often expired sessions end and the event log
	// is pruned; zero means a minute.
	HousekeepEvery time.Duration
	// PushSubject is the VAPID contact push services may use to reach the
	// operator (a mailto: or https: URL); empty, "mailto:admin@localhost".
	PushSubject string
	// PushSender, when set, sends the pushes instead of Web Push over the
	// network with the default client (tests give one with their push
	// service's TLS client).
	PushSender notify.Sender
	// SendRate and SendBurst replace chat's per-user send limit (messages
	// a second, and at once); zero keeps chat.SendRate and chat.SendBurst.
	SendRate, SendBurst int
	// TURN, when its Addr is set, runs the embedded TURN server (SPEC
	// §10); its Secret, Clock and Logger default to the node's.
	TURN turnserver.Config
	// ICE is where the app is told to relay its media and the secret
	// its TURN credentials are minted with: an external coturn
	// (use-auth-secret) or, with TURN set, the embedded server. Without
	// URLs the embedded server's own are used; without a secret, the
	// store's made-once secret "turn", so that every node of a cluster
	// mints credentials every other node's TURN server accepts.
	ICE turncred.Config
}

// Node is one wired server, without its transports.
type Node struct {
	cfg       Config
	Store     *store.Store
	Hub       *events.Hub
	Presence  *presence.Service
	Auth      *auth.Service
	Directory *directory.Service
	Admin     *admin.Service
	Chat      *chat.Service
	Photos    *profile.Photos // nil: none
	// Blobs is Config.Blobs: attachments and voicemail audio; nil: none.
	Blobs blobs.Store
	// SIPAddr is where phones register and call: Config.SIPAddr or
	// telephony.DefaultSIPAddr.
	SIPAddr string
	// Attachments keeps chat attachments in Config.Blobs; nil without.
	Attachments *chat.Attachments
	// Notify queues and sends Web Pushes (SPEC §9); its Notify is what
	// the domains call.
	Notify *notify.Service
	// Calls places calls and keeps their rows and voicemails, for every
	// transport.
	Calls *telephony.Service
	// SIP is the SIP registrar; nil when Config.SIPAddr is empty.
	SIP *sipserver.Server
	// AppCalls carries the app's WebRTC calls through CallMedia; both nil
	// when Config.CallMediaAddr is empty.
	AppCalls  *appcall.Switch
	CallMedia *webrtcmedia.Endpoint
	// TURN is the embedded TURN server; nil when off.
	TURN *turnserver.Server
	// ICE mints the TURN credentials the app gets (GET /api/v1/calls/ice).
	ICE turncred.Config
	// Clock, HashParams, Metrics and Logger are the configuration's, with
	// its defaults filled in.
	Clock      clock.Clock
	HashParams account.HashParams
	Metrics    *metrics.Metrics
	Logger     *slog.Logger
	bus        *natsbus.Bus
	lg         *slog.Logger

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
	n := &Node{cfg: cfg, lg: cfg.Logger, housekept: make(chan struct{}, 1), Photos: cfg.Photos, Blobs: cfg.Blobs,
		SIPAddr: cmp.Or(cfg.SIPAddr, telephony.DefaultSIPAddr),
		Clock:   cfg.Clock, HashParams: cfg.HashParams, Metrics: cfg.Metrics, Logger: cfg.Logger}
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
		if n.SIP != nil {
			n.SIP.Close()
		}
		if n.TURN != nil {
			n.TURN.Close()
		}
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
		bus, err := natsbus.Connect(cfg.NATSURL, n.Hub)
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
	n.Auth = auth.New(st, cfg.Clock, cfg.HashParams)
	n.Directory = directory.New(st)
	n.Admin = admin.NewService(st, cfg.HashParams)
	sender := cfg.PushSender
	if sender == nil {
		sender = &webpush.Sender{Subject: cfg.PushSubject, Clock: cfg.Clock}
	}
	// With NATS, other nodes share the database and must learn which
	// sessions have a live stream here (docs/architecture.md, Web Push).
	shareLive := cfg.NATSURL != ""
	n.Notify = notify.New(notify.Config{Store: st, Streams: n.Hub, Sender: sender, Clock: cfg.Clock, Logger: cfg.Logger,
		Metrics: cfg.Metrics, NodeID: account.NewID("n"), ShareLive: shareLive})
	if shareLive {
		n.Hub.OnChange(n.Notify.StreamsChanged)
	}
	n.Chat = chat.NewService(st, cfg.Clock, func(orgID, typ string, data json.RawMessage, userIDs []string) {
		publish([]events.Event{events.ToUsersLive(orgID, typ, data, userIDs...)})
	})
	n.Chat.SetPusher(n.Notify)
	if cfg.Demo {
		if err := demo.SeedCalls(ctx, st, cfg.Blobs, cfg.Clock.Now()); err != nil {
			return fail(fmt.Errorf("demo calls: %w", err))
		}
	}
	if cfg.Blobs != nil {
		n.Attachments = chat.NewAttachments(st, cfg.Blobs, cfg.Clock, 0)
	}
	if cfg.SendRate > 0 || cfg.SendBurst > 0 {
		n.Chat.SetSendLimit(cmp.Or(cfg.SendRate, chat.SendRate), cmp.Or(cfg.SendBurst, chat.SendBurst))
	}
	if err := n.startTURN(ctx); err != nil {
		return fail(err)
	}
	n.Calls = telephony.NewService(st, cfg.Blobs, cfg.Clock)
	n.Calls.SetPusher(n.Notify)
	if err := n.startSIP(ctx); err != nil {
		return fail(err)
	}
	if err := n.startAppCalls(); err != nil {
		return fail(err)
	}
	// Registrations on the services (routes of the stream, say) belong
	// here, before a transport is built over the node.
	return n, nil
}

// SIPNonceSecretName is the store's made-once secret SIP nonces are signed
// with, so that every node accepts a nonce another node gave.
const SIPNonceSecretName = "sip_nonce"

// startSIP starts the SIP registrar when Config.SIPAddr is set.
func (n *Node) startSIP(ctx context.Context) error {
	if n.cfg.SIPAddr == "" {
		return nil
	}
	key, err := n.Store.ServerSecret(ctx, SIPNonceSecretName)
	if err != nil {
		return fmt.Errorf("sip nonce secret: %w", err)
	}
	// Its lifetime is the node's, not New's context: Close stops it.
	calls := n.Calls
	s, err := sipserver.New(context.WithoutCancel(ctx), sipserver.Config{Addr: n.cfg.SIPAddr, Backend: store.SIPBackend{S: n.Store},
		Key: key, Clock: n.cfg.Clock, Logger: n.lg, Calls: calls, RingTimeout: n.cfg.RingTimeout,
		Apps:          n.ringApps,
		AppsReachable: func(orgID, userID string) bool { return n.AppCalls != nil && n.appsReachable(orgID, userID) }})
	if err != nil {
		return err
	}
	calls.OnVoicemail(s.VoicemailChanged)
	n.SIP = s
	if host, port, err := net.SplitHostPort(n.cfg.SIPAddr); err == nil && port == "0" {
		_, got, _ := net.SplitHostPort(s.Addr())
		n.SIPAddr = net.JoinHostPort(host, got)
	}
	n.lg.Info("sip: listening", slog.String("addr", s.Addr()))
	return nil
}

// startAppCalls opens the media endpoint of the app's calls when
// Config.CallMediaAddr is set.
func (n *Node) startAppCalls() error {
	if n.cfg.CallMediaAddr == "" {
		return nil
	}
	ep, err := webrtcmedia.New(webrtcmedia.Config{Addr: n.cfg.CallMediaAddr, PublicIPs: n.cfg.CallMediaIPs, Logger: n.lg})
	if err != nil {
		return fmt.Errorf("call media: %w", err)
	}
	n.CallMedia = ep
	cfg := appcall.Config{Calls: n.Calls, Media: ep, RingTimeout: n.cfg.RingTimeout, Clock: n.cfg.Clock, Logger: n.lg, Apps: n.appsReachable}
	if sip := n.SIP; sip != nil {
		cfg.HasPhones = func(userID string) bool { return len(sip.Bindings(userID)) > 0 }
		cfg.Phones = func(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (appcall.PhoneLeg, error) {
			pc, err := sip.RingPhones(ctx, p, codec)
			if err != nil {
				return nil, err
			}
			return pc, nil
		}
	}
	n.AppCalls = appcall.New(cfg)
	n.lg.Info("calls: app media listening", slog.String("addr", ep.Addr().String()))
	return nil
}

// appsReachable tells whether a user has an app session that can ring: a
// live event stream on this node, or a push subscription (a closed app,
// rung by a push while the call rings).
func (n *Node) appsReachable(orgID, userID string) bool {
	if len(n.Hub.Sessions(orgID, userID)) > 0 {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := n.Store.HasPushSubscription(ctx, orgID, userID)
	if err != nil {
		n.lg.Warn("calls: push subscriptions", slog.Any("err", err))
	}
	return ok
}

// ringApps rings a callee's app sessions for a call from a SIP phone.
func (n *Node) ringApps(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (sipserver.AppLeg, error) {
	if n.AppCalls == nil {
		return nil, errors.New("node: no app calls")
	}
	in, err := n.AppCalls.Ring(ctx, p, codec)
	if errors.Is(err, appcall.ErrDeclined) {
		return nil, sipserver.ErrDeclined
	}
	if err != nil {
		return nil, err
	}
	return in, nil
}

// TURNSecretName is the store's made-once secret the embedded TURN server
// and its credentials share when no secret is configured.
const TURNSecretName = "turn"

// startTURN fills n.ICE and starts the embedded TURN server when asked.
func (n *Node) startTURN(ctx context.Context) error {
	n.ICE = n.cfg.ICE
	if n.cfg.TURN.Addr == "" {
		return nil
	}
	if len(n.ICE.Secret) == 0 {
		secret, err := n.Store.ServerSecret(ctx, TURNSecretName)
		if err != nil {
			return fmt.Errorf("turn secret: %w", err)
		}
		n.ICE.Secret = secret
	}
	tc := n.cfg.TURN
	if len(tc.Secret) == 0 {
		tc.Secret = n.ICE.Secret
	}
	if tc.Clock == nil {
		tc.Clock = n.cfg.Clock
	}
	if tc.Logger == nil {
		tc.Logger = n.lg
	}
	ts, err := turnserver.New(tc)
	if err != nil {
		return err
	}
	n.TURN = ts
	if len(n.ICE.URLs) == 0 {
		n.ICE.URLs = ts.URLs("")
	}
	n.lg.Info("turn: listening", slog.String("addr", ts.UDPAddr().String()), slog.Any("urls", n.ICE.URLs))
	return nil
}

// Run runs the background work (presence scheduler, push worker,
// housekeeping) until
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
	wg.Add(3)
	go func() { defer wg.Done(); n.Presence.Run(ctx) }()
	go func() { defer wg.Done(); n.Notify.Run(ctx) }()
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
	if n.AppCalls != nil {
		n.AppCalls.Close()
		n.CallMedia.Close()
	}
	if n.SIP != nil {
		n.SIP.Close()
		n.SIP.Wait()
	}
	if n.TURN != nil {
		n.TURN.Close()
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
		if n.Attachments != nil {
			if _, err := n.Attachments.Sweep(ctx); err != nil && ctx.Err() == nil {
				n.lg.Warn("housekeeping: attachments", slog.Any("err", err))
			}
		}
		// The next round's timer is set before the round is reported, so
		// that a clock moved on by whoever waited for the report fires it.
		t := n.cfg.Clock.AfterFunc(n.cfg.HousekeepEvery, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case n.housekept <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-tick:
		}
	}
}
