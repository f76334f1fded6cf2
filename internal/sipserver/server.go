package sipserver

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/telephony"
)

// Registration limits (RFC 3261 §10.3).
const (
	MinExpires     = 60
	MaxExpires     = 3600
	defaultExpires = 3600
)

// Config configures a Server.
type Config struct {
	// Addr is the UDP and TCP address to listen on; port 0 picks a free
	// port, the same one for both.
	Addr    string
	Backend Backend
	// Key signs the nonces; random when empty (nonces then do not
	// survive a restart, which only costs phones one more challenge).
	Key      []byte
	NonceTTL time.Duration // default 5 minutes
	Clock    clock.Clock
	Logger   *slog.Logger
	// SweepEvery is how often expired bindings are dropped and their
	// sessions ended (real time); default 30 s.
	SweepEvery time.Duration
	// Calls, when set, places the calls phones make (calls.go); without
	// it an authenticated INVITE is refused 480.
	Calls *telephony.Service
	// Apps, when set, rings the callee's app sessions beside their phones
	// for calls from phones (the app call switch); AppsReachable tells
	// whether a user has an app session that can ring.
	Apps          Apps
	AppsReachable func(orgID, userID string) bool
	// RingTimeout is how long phones ring before a call is unanswered
	// (default telephony.RingTimeout, 20 s; tests shorten it).
	RingTimeout time.Duration
	// FailRate and FailBurst bound failed authentications per source IP
	// and per username (a second, and at once); defaults 1 and 10.
	FailRate, FailBurst int
}

// Server is the SIP registrar: REGISTER with digest, OPTIONS, and INVITE
// answered (for now) with 480 once authenticated.
type Server struct {
	cfg  Config
	auth *Authenticator
	ua   *sipgo.UserAgent
	srv  *sipgo.Server
	udp  net.PacketConn
	tcp  net.Listener
	lg   *slog.Logger

	ipLim, userLim *chat.Limiter
	// regMu serializes changes of bindings with their sessions, so two
	// REGISTERs of one contact at once cannot log in two sessions.
	regMu    sync.Mutex
	mu       sync.Mutex
	blocked  map[string]time.Time
	bindings map[string]map[string]Binding // user id → contact → binding
	mwi      mwiState                      // message-summary subscriptions (mwi.go)

	dg      *diago.Diago
	callers sync.Map // *sip.Request of an authenticated new INVITE → Credential

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup
}

// New listens on cfg.Addr (UDP and TCP) and serves until ctx ends or
// Close is called.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("sipserver: no backend")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.NonceTTL == 0 {
		cfg.NonceTTL = 5 * time.Minute
	}
	if cfg.SweepEvery == 0 {
		cfg.SweepEvery = 30 * time.Second
	}
	if cfg.FailRate == 0 {
		cfg.FailRate = 1
	}
	if cfg.FailBurst == 0 {
		cfg.FailBurst = 10
	}
	if len(cfg.Key) == 0 {
		cfg.Key = make([]byte, 32)
		rand.Read(cfg.Key)
	}
	s := &Server{cfg: cfg, lg: cfg.Logger, auth: NewAuthenticator(cfg.Backend, cfg.Key, cfg.NonceTTL),
		ipLim: chat.NewLimiter(cfg.Clock, cfg.FailRate, cfg.FailBurst), userLim: chat.NewLimiter(cfg.Clock, cfg.FailRate, cfg.FailBurst),
		blocked: map[string]time.Time{}, bindings: map[string]map[string]Binding{}, done: make(chan struct{})}
	udp, tcp, err := listen(cfg.Addr)
	if err != nil {
		return nil, err
	}
	s.udp, s.tcp = udp, tcp
	lg := slog.New(redact{cfg.Logger.Handler()}).With(slog.String("component", "sip"))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("vo"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(lg)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(lg)))
	if err != nil {
		udp.Close()
		tcp.Close()
		return nil, err
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(lg))
	if err != nil {
		ua.Close()
		udp.Close()
		tcp.Close()
		return nil, err
	}
	s.ua, s.srv = ua, srv
	srv.OnRegister(s.safe(s.onRegister))
	s.startMWI()
	srv.OnOptions(s.safe(func(req *sip.Request, tx sip.ServerTransaction) {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	}))
	if cfg.Calls != nil {
		// The call server takes INVITE and the in-dialog requests; REGISTER,
		// SUBSCRIBE and OPTIONS stay ours.
		s.startCalls(lg)
		srv.OnOptions(s.safe(func(req *sip.Request, tx sip.ServerTransaction) {
			s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		}))
	} else {
		srv.OnInvite(s.safe(s.onInvite))
		// An ACK is never answered; one that outlives its transaction (over
		// TCP the transaction ends with the final answer) is dropped here.
		srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	}
	s.wg.Add(4)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(cfg.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.Sweep()
			case <-s.done:
				return
			}
		}
	}()
	go func() { defer s.wg.Done(); srv.ServeUDP(udp) }()
	go func() { defer s.wg.Done(); srv.ServeTCP(tcp) }()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.done:
		}
	}()
	return s, nil
}

// listen opens UDP and TCP on addr; with port 0, on one free port both
// have (retrying when TCP finds the UDP port taken).
func listen(addr string) (net.PacketConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sip: address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("sip: listen udp %s: %w", addr, err)
		}
		tcpAddr := addr
		if port == "0" {
			tcpAddr = net.JoinHostPort(host, strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port))
		}
		tcp, err := net.Listen("tcp", tcpAddr)
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || try == 20 {
			return nil, nil, fmt.Errorf("sip: listen tcp %s: %w", tcpAddr, err)
		}
	}
}

// Addr is the address the server listens on (UDP and TCP alike).
func (s *Server) Addr() string { return s.udp.LocalAddr().String() }

// Close stops listening and waits for the server's goroutines.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.udp.Close()
		s.tcp.Close()
		s.ua.Close()
	})
	return nil
}

// Wait waits until the server has stopped (after Close or its context).
func (s *Server) Wait() { s.wg.Wait() }

// safe keeps a panic in one request from taking the server down.
func (s *Server) safe(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				s.lg.Error("sip: handler panic", slog.String("method", string(req.Method)), slog.Any("panic", r))
				s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
			}
		}()
		h(req, tx)
	}
}

func (s *Server) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.lg.Debug("sip: respond", slog.Any("err", err))
	}
}

func sourceIP(req *sip.Request) string {
	host, _, err := net.SplitHostPort(req.Source())
	if err != nil {
		return req.Source()
	}
	return host
}

// isBlocked reports whether failed authentications from ip or for user
// are over their limit.
func (s *Server) isBlocked(ip, user string) bool {
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range []string{"ip:" + ip, "user:" + user} {
		if t, ok := s.blocked[k]; ok {
			if now.Before(t) {
				return true
			}
			delete(s.blocked, k)
		}
	}
	return false
}

// failed counts a failed authentication.
func (s *Server) failed(ip, user string) {
	now := s.cfg.Clock.Now()
	wi, wu := s.ipLim.Take(ip), s.userLim.Take(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.blocked) > 10000 {
		for k, t := range s.blocked {
			if !now.Before(t) {
				delete(s.blocked, k)
			}
		}
	}
	if wi > 0 {
		s.blocked["ip:"+ip] = now.Add(wi)
	}
	if wu > 0 {
		s.blocked["user:"+user] = now.Add(wu)
	}
}

// authenticate checks the request's credentials in header hdr; when they
// do not pass it answers the request itself and returns ok=false.
func (s *Server) authenticate(req *sip.Request, tx sip.ServerTransaction, realm, hdr, challengeHdr string, challengeCode int) (Credential, string, bool) {
	ip := sourceIP(req)
	var d Digest
	var perr error = errBadDigest
	if h := req.GetHeader(hdr); h != nil {
		d, perr = ParseDigest(h.Value())
	}
	if perr == nil && s.isBlocked(ip, d.Username) {
		res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
		res.AppendHeader(sip.NewHeader("Retry-After", "60"))
		s.respond(tx, res)
		return Credential{}, "", false
	}
	outcome := Challenge
	var cred Credential
	if perr == nil {
		var err error
		outcome, cred, err = s.auth.Check(context.Background(), d, realm, string(req.Method), s.cfg.Clock.Now())
		if err != nil {
			s.lg.Error("sip: credential lookup", slog.Any("err", err))
			s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
			return Credential{}, "", false
		}
	}
	switch outcome {
	case OK:
		return cred, d.Username, true
	case Forbidden:
		s.failed(ip, d.Username)
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return Credential{}, "", false
	}
	reason := "Unauthorized"
	if challengeCode == sip.StatusProxyAuthRequired {
		reason = "Proxy Authentication Required"
	}
	res := sip.NewResponseFromRequest(req, challengeCode, reason, nil)
	nonce := s.auth.Nonce(s.cfg.Clock.Now())
	stale := ""
	if outcome == Stale {
		stale = ", stale=true"
	}
	for _, alg := range s.algorithms(req) {
		res.AppendHeader(sip.NewHeader(challengeHdr, fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"%s`, quote(realm), nonce, alg, stale)))
	}
	s.respond(tx, res)
	return Credential{}, "", false
}

// md5OnlyAgents are User-Agent prefixes of phones that give up on a
// challenge naming any algorithm but MD5, even beside an MD5 one: libre
// before its SHA-256 support (Debian's baresip 1.0 answers "Function not
// implemented" and never registers). Those get an MD5 challenge alone.
var md5OnlyAgents = []string{"baresip v0.", "baresip v1."}

// algorithms are the digest algorithms a challenge offers, in order:
// SHA-256 first then MD5 (RFC 8760), MD5 alone for md5OnlyAgents.
func (s *Server) algorithms(req *sip.Request) []string {
	if h := req.GetHeader("User-Agent"); h != nil {
		for _, p := range md5OnlyAgents {
			if strings.HasPrefix(h.Value(), p) {
				return []string{"MD5"}
			}
		}
	}
	return []string{"SHA-256", "MD5"}
}

// quote makes s safe inside a quoted-string.
func quote(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

func (s *Server) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	from := req.From()
	if from == nil {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	if _, _, ok := s.authenticate(req, tx, strings.ToLower(from.Address.Host), "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired); !ok {
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
	res.AppendHeader(sip.NewHeader("Reason", `SIP;cause=480;text="calls are not wired yet"`))
	s.respond(tx, res)
}

func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	to := req.To()
	if to == nil || to.Address.User == "" || to.Address.Host == "" {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	realm := strings.ToLower(to.Address.Host)
	cred, username, ok := s.authenticate(req, tx, realm, "Authorization", "WWW-Authenticate", sip.StatusUnauthorized)
	if !ok {
		return
	}
	if to.Address.User != username {
		// Authenticated as one extension, registering another.
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	aor := "sip:" + to.Address.User + "@" + realm
	expires := defaultExpires
	if h := req.GetHeader("Expires"); h != nil {
		n, err := strconv.Atoi(strings.TrimSpace(h.Value()))
		if err != nil || n < 0 {
			s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
			return
		}
		expires = n
	}
	ctx := context.Background()
	contact := req.Contact()
	if contact != nil {
		if v, ok := contact.Params.Get("expires"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 0 {
				s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
				return
			}
			expires = n
		}
		switch {
		case contact.Address.Wildcard:
			if expires != 0 {
				s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
				return
			}
			s.removeAll(ctx, cred.UserID)
		case expires == 0:
			s.remove(ctx, cred.UserID, contactKey(contact))
		case expires < MinExpires:
			res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
			res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(MinExpires)))
			s.respond(tx, res)
			return
		default:
			if s.refuseRevoked(ctx, req, tx, cred.UserID, contact) {
				return
			}
			expires = min(expires, MaxExpires)
			b := Binding{Key: DeviceKey(contact), UserID: cred.UserID, OrgID: cred.OrgID, AOR: aor, Contact: contactKey(contact), Source: req.Transport() + ":" + req.Source(),
				Expires: s.cfg.Clock.Now().Add(time.Duration(expires) * time.Second), Device: deviceName(req)}
			if err := s.add(ctx, b); err != nil {
				s.lg.Error("sip: register", slog.Any("err", err))
				s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
				return
			}
		}
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	now := s.cfg.Clock.Now()
	for _, b := range s.Bindings(cred.UserID) {
		left := int(b.Expires.Sub(now).Round(time.Second) / time.Second)
		res.AppendHeader(sip.NewHeader("Contact", "<"+b.Contact+">;expires="+strconv.Itoa(max(left, 0))))
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")))
	s.respond(tx, res)
}

// contactKey is the contact URI without header parameters.
func contactKey(c *sip.ContactHeader) string { return c.Address.String() }

// deviceName names the session of a phone by its User-Agent.
func deviceName(req *sip.Request) string {
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == '(' || r == ')' {
				return -1
			}
			return r
		}, h.Value())
		ua = strings.TrimSpace(ua)
		if f := strings.Fields(ua); len(f) > 0 {
			ua = f[0]
			if i := strings.IndexByte(ua, '/'); i > 0 {
				ua = ua[:i]
			}
		}
		if r := []rune(ua); len(r) > 40 {
			ua = string(r[:40])
		}
	}
	if ua == "" {
		return "Desk phone"
	}
	return "Desk phone (" + ua + ")"
}

// add records or refreshes a binding and its session.
func (s *Server) add(ctx context.Context, b Binding) error {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	old, ok := s.bindings[b.UserID][b.Contact]
	s.mu.Unlock()
	if ok {
		if alive, err := s.cfg.Backend.SessionAlive(ctx, old.SessionID); err != nil {
			return err
		} else if alive {
			b.SessionID = old.SessionID
		}
	}
	id, err := s.cfg.Backend.Register(ctx, b)
	if err != nil {
		return err
	}
	b.SessionID = id
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bindings[b.UserID] == nil {
		s.bindings[b.UserID] = map[string]Binding{}
	}
	s.bindings[b.UserID][b.Contact] = b
	return nil
}

func (s *Server) remove(ctx context.Context, userID, contact string) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	b, ok := s.bindings[userID][contact]
	delete(s.bindings[userID], contact)
	if len(s.bindings[userID]) == 0 {
		delete(s.bindings, userID)
	}
	s.mu.Unlock()
	if ok {
		if err := s.cfg.Backend.Unregister(ctx, b.SessionID); err != nil {
			s.lg.Error("sip: unregister", slog.Any("err", err))
		}
	}
}

func (s *Server) removeAll(ctx context.Context, userID string) {
	s.regMu.Lock()
	defer s.regMu.Unlock()
	s.mu.Lock()
	bs := s.bindings[userID]
	delete(s.bindings, userID)
	s.mu.Unlock()
	for _, b := range bs {
		if err := s.cfg.Backend.Unregister(ctx, b.SessionID); err != nil {
			s.lg.Error("sip: unregister", slog.Any("err", err))
		}
	}
}

// Sweep drops every expired or logged-out binding, ending the sessions of
// the expired ones.
func (s *Server) Sweep() {
	s.mu.Lock()
	users := make([]string, 0, len(s.bindings))
	for u := range s.bindings {
		users = append(users, u)
	}
	s.mu.Unlock()
	for _, u := range users {
		s.Bindings(u)
	}
}

// Bindings returns the user's live bindings: not expired and whose session
// still exists (a remote logout drops the binding). Expired bindings end
// their session.
func (s *Server) Bindings(userID string) []Binding {
	ctx := context.Background()
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	var list []Binding
	for _, b := range s.bindings[userID] {
		list = append(list, b)
	}
	s.mu.Unlock()
	var live []Binding
	for _, b := range list {
		alive := false
		if now.Before(b.Expires) {
			var err error
			if alive, err = s.cfg.Backend.SessionAlive(ctx, b.SessionID); err != nil {
				s.lg.Error("sip: session alive", slog.Any("err", err))
				alive = true // keep what we cannot check
			}
		}
		if alive {
			live = append(live, b)
			continue
		}
		s.mu.Lock()
		if cur, ok := s.bindings[userID][b.Contact]; ok && cur.SessionID == b.SessionID {
			delete(s.bindings[userID], b.Contact)
			if len(s.bindings[userID]) == 0 {
				delete(s.bindings, userID)
			}
		}
		s.mu.Unlock()
		if now.Before(b.Expires) {
			continue // session already gone
		}
		if err := s.cfg.Backend.Unregister(ctx, b.SessionID); err != nil {
			s.lg.Error("sip: unregister expired", slog.Any("err", err))
		}
	}
	return live
}
