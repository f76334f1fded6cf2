// Package httpapi is the HTTP transport of SPEC §3–§4. It decodes
// requests, asks the domain services, and renders answers through package
// wire; every error goes through the one table in errors.go. The event
// stream of §5 is package stream, mounted here after authentication.
package httpapi

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"vo/internal/appcall"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/auth"
	"vo/internal/blobs"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/directory"
	"vo/internal/events"
	"vo/internal/metrics"
	"vo/internal/page"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/stream"
	"vo/internal/telephony"
	"vo/internal/turncred"
	"vo/internal/wire"
)

// Config holds what the server is built from.
type Config struct {
	Store *store.Store
	Auth  *auth.Service
	// Directory and Admin answer the directory and admin endpoints; nil
	// means one built on Store.
	Directory *directory.Service
	Admin     *admin.Service
	Presence  *presence.Service
	Chat      *chat.Service // nil: the chat endpoints answer 404
	// Attachments stores chat attachments; nil, the attachment endpoints
	// answer 404.
	Attachments *chat.Attachments
	Hub         *events.Hub
	Photos      PhotoService // nil: photo endpoints answer 404
	// Blobs holds voicemail audio; nil, voicemail audio answers 404.
	Blobs blobs.Store
	// SIPAddr is the SIP listen address; GET /me/sip shows it as the
	// registrar, with the request's host when it listens on every
	// address. Empty means telephony.DefaultSIPAddr.
	SIPAddr    string
	Push       PushService // nil: push endpoints answer 404
	Clock      clock.Clock
	HashParams account.HashParams
	// Web is the built app, served at "/"; nil serves nothing there.
	Web fs.FS
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (see clientAddr); none by default.
	TrustedProxies []netip.Prefix
	// MinBodyRate is how slowly a request body may arrive; zero means
	// DefaultMinRate.
	MinBodyRate MinRate
	// ConnLimit caps connections per client address; nil, no cap. Its
	// Listener must wrap the server's listener.
	ConnLimit *ConnLimiter
	// PingEvery and PongWait tune dead-connection detection; zero means the
	// defaults (25 s and 30 s, so a dead peer goes within 60 s).
	PingEvery, PongWait time.Duration
	// Logger takes the request log and the internal errors; nil means
	// slog.Default().
	Logger *slog.Logger
	// Health is what /healthz asks; nil means Store. HealthTimeout bounds
	// the question; zero means 2 s.
	Health        Pinger
	HealthTimeout time.Duration
	// Metrics records requests; nil, none.
	Metrics *metrics.Metrics
	// Inbound are the client message types of the event stream beside
	// activity, which the domains register.
	Inbound []stream.Type
	// ICE mints the TURN credentials of GET /api/v1/calls/ice; without
	// URLs or a secret it answers an empty list.
	ICE turncred.Config
	// AppCalls places and answers the app's WebRTC calls; nil, those
	// endpoints answer 404.
	AppCalls *appcall.Switch
	// Calls keeps the users' own voicemail greetings; nil means one built
	// on Store and Blobs.
	Calls *telephony.Service
	// Voicemail is told when a voicemail is heard or deleted (the SIP
	// server, so desk phones' message-waiting lamps follow); nil, nobody.
	Voicemail VoicemailWatcher
}

// VoicemailWatcher learns that a user's voicemail counts changed.
type VoicemailWatcher interface {
	VoicemailChanged(orgID, userID string)
}

// Pinger tells whether the node's store is reachable.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server is the HTTP handler of Virtual Office.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	streams Streams
}

// Streams is what the API needs of the live event streams.
type Streams interface {
	// Serve serves GET /api/v1/events for an authenticated request.
	Serve(w http.ResponseWriter, r *http.Request, a account.Auth) error
	// CloseStreams ends every stream of this node.
	CloseStreams()
}

// inbound routes the messages clients send on the event stream: activity
// (presence) and the types of cfg.Inbound.
func inbound(cfg Config) *stream.Router {
	r := stream.NewRouter(cfg.Clock)
	if cfg.Presence != nil {
		r.Register(stream.Type{Name: "activity", MaxSize: 4096, Rate: stream.Rate{N: 1, Per: time.Second, Burst: 10},
			NewHandler: func(stream.Sender) stream.Handler {
				active := cfg.Presence.StreamActivity()
				return func(ctx context.Context, from stream.Sender, _ json.RawMessage) error {
					return active(ctx, from.OrgID, from.UserID)
				}
			}})
	}
	if cfg.Chat != nil {
		r.Register(typingType(cfg.Chat))
	}
	for _, t := range cfg.Inbound {
		r.Register(t)
	}
	return r
}

// New builds the handler.
func New(cfg Config) *Server {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.MinBodyRate == (MinRate{}) {
		cfg.MinBodyRate = DefaultMinRate
	}
	if cfg.Health == nil && cfg.Store != nil {
		cfg.Health = cfg.Store
	}
	if cfg.Directory == nil {
		cfg.Directory = directory.New(cfg.Store)
	}
	if cfg.Admin == nil {
		cfg.Admin = admin.NewService(cfg.Store, cfg.HashParams)
	}
	if cfg.Calls == nil {
		cfg.Calls = telephony.NewService(cfg.Store, cfg.Blobs, cfg.Clock)
	}
	if cfg.HealthTimeout == 0 {
		cfg.HealthTimeout = 2 * time.Second
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(),
		streams: stream.New(stream.Config{Store: cfg.Store, Hub: cfg.Hub, Router: inbound(cfg), PingEvery: cfg.PingEvery, PongWait: cfg.PongWait, Metrics: cfg.Metrics, Clock: cfg.Clock})}
	s.routes()
	return s
}

type handler func(w http.ResponseWriter, r *http.Request) error
type authedHandler func(w http.ResponseWriter, r *http.Request, a account.Auth) error

// endpoint is one route of the API: public, or authed (login required).
type endpoint struct {
	pattern string // as http.ServeMux reads it: "METHOD /path"
	public  handler
	authed  authedHandler
}

// endpoints is every route of the API. The OpenAPI document describes each
// of them and nothing else (openapi_test.go).
func (s *Server) endpoints() []endpoint {
	return []endpoint{
		{pattern: "POST /api/v1/auth/login", public: s.login},
		{pattern: "POST /api/v1/auth/logout", authed: s.logout},
		{pattern: "GET /api/v1/me", authed: s.me},
		{pattern: "PUT /api/v1/me/presence", authed: s.putPresence},
		{pattern: "PUT /api/v1/me/password", authed: s.putPassword},
		{pattern: "PUT /api/v1/me/photo", authed: s.putPhoto},
		{pattern: "DELETE /api/v1/me/photo", authed: s.deletePhoto},
		{pattern: "GET /api/v1/sessions", authed: s.sessions},
		{pattern: "DELETE /api/v1/sessions/{id}", authed: s.endSession},
		{pattern: "GET /api/v1/directory", authed: s.directory},
		{pattern: "GET /api/v1/users/{id}", authed: s.user},
		{pattern: "GET /api/v1/users/{id}/photo", authed: s.userPhoto},
		{pattern: "GET /api/v1/push/key", authed: s.pushKey},
		{pattern: "GET /api/v1/calls/ice", authed: s.ice},
		{pattern: "PUT /api/v1/push/subscription", authed: s.putPushSubscription},
		{pattern: "DELETE /api/v1/push/subscription", authed: s.deletePushSubscription},
		{pattern: "GET /api/v1/events", authed: s.streams.Serve},
		{pattern: "POST /api/v1/conversations", authed: s.createConversation},
		{pattern: "GET /api/v1/conversations", authed: s.listConversations},
		{pattern: "GET /api/v1/conversations/{id}", authed: s.getConversation},
		{pattern: "PATCH /api/v1/conversations/{id}", authed: s.patchConversation},
		{pattern: "POST /api/v1/conversations/{id}/members", authed: s.addMembers},
		{pattern: "DELETE /api/v1/conversations/{id}/members/{user_id}", authed: s.removeMember},
		{pattern: "POST /api/v1/conversations/{id}/messages", authed: s.sendMessage},
		{pattern: "GET /api/v1/conversations/{id}/messages", authed: s.listMessages},
		{pattern: "POST /api/v1/conversations/{id}/read", authed: s.markRead},
		{pattern: "PATCH /api/v1/messages/{id}", authed: s.editMessage},
		{pattern: "DELETE /api/v1/messages/{id}", authed: s.deleteMessage},
		{pattern: "PUT /api/v1/messages/{id}/reactions/{emoji}", authed: s.react(true)},
		{pattern: "DELETE /api/v1/messages/{id}/reactions/{emoji}", authed: s.react(false)},
		{pattern: "GET /api/v1/search/messages", authed: s.searchMessages},
		{pattern: "POST /api/v1/attachments", authed: s.uploadAttachment},
		{pattern: "GET /api/v1/attachments/{id}", authed: s.attachment},
		{pattern: "GET /api/v1/me/sip", authed: s.sipCredential(false)},
		{pattern: "POST /api/v1/me/sip/password", authed: s.sipCredential(true)},
		{pattern: "GET /api/v1/me/forwarding", authed: s.getForwarding},
		{pattern: "PUT /api/v1/me/forwarding", authed: s.putForwarding},
		{pattern: "GET /api/v1/calls", authed: s.listCalls},
		{pattern: "POST /api/v1/calls", authed: s.placeCall},
		{pattern: "POST /api/v1/calls/{id}/answer", authed: s.answerCall},
		{pattern: "POST /api/v1/calls/{id}/decline", authed: s.declineCall},
		{pattern: "POST /api/v1/calls/{id}/hangup", authed: s.hangupCall},
		{pattern: "GET /api/v1/voicemails", authed: s.listVoicemails},
		{pattern: "PATCH /api/v1/voicemails/{id}", authed: s.patchVoicemail},
		{pattern: "DELETE /api/v1/voicemails/{id}", authed: s.deleteVoicemail},
		{pattern: "GET /api/v1/voicemails/{id}/audio", authed: s.voicemailAudio},
		{pattern: "PUT /api/v1/me/voicemail/greeting", authed: s.putGreeting},
		{pattern: "GET /api/v1/me/voicemail/greeting", authed: s.getGreeting},
		{pattern: "DELETE /api/v1/me/voicemail/greeting", authed: s.deleteGreeting},
		{pattern: "POST /api/v1/admin/users", authed: s.adminCreateUser},
		{pattern: "DELETE /api/v1/admin/users/{id}", authed: s.adminDeactivate},
		{pattern: "GET /api/v1/openapi.json", public: openAPI},
		{pattern: "GET /healthz", public: s.healthz},
	}
}

func (s *Server) routes() {
	for _, e := range s.endpoints() {
		if e.authed != nil {
			s.authed(e.pattern, e.authed)
		} else {
			s.handle(e.pattern, e.public)
		}
	}
	s.handle("/api/", func(w http.ResponseWriter, r *http.Request) error {
		return apperr.New(apperr.NotFound, "no such endpoint: %s %s", r.Method, r.URL.Path)
	})
	if s.cfg.Web != nil {
		s.mux.Handle("/", webHandler(s.cfg.Web))
	}
}

// ServeHTTP adds the security headers every answer carries.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.logRequest(&w, &r)()
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	release, err := s.admit(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	defer release()
	r, stop := s.limitBody(w, r)
	defer stop()
	s.measured(w, r, s.mux.ServeHTTP)
}

func (s *Server) handle(pattern string, h handler) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, err)
		}
	})
}

// authed wraps h with authentication: a Bearer token, or the session cookie
// with the CSRF header on unsafe methods.
func (s *Server) authed(pattern string, h authedHandler) {
	s.handle(pattern, func(w http.ResponseWriter, r *http.Request) error {
		a, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r, a)
	})
}

const cookieName = "vo_session"

func (s *Server) authenticate(r *http.Request) (account.Auth, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		// RFC 9110 §11.1: the scheme is case-insensitive, and one or more
		// spaces part it from the token.
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return account.Auth{}, apperr.New(apperr.Unauthenticated, "Authorization must be a Bearer token")
		}
		return s.cfg.Auth.Authenticate(r.Context(), strings.TrimSpace(token))
	}
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return account.Auth{}, apperr.New(apperr.Unauthenticated, "not logged in")
	}
	a, err := s.cfg.Auth.Authenticate(r.Context(), c.Value)
	if err != nil {
		return a, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		if isWebSocket(r) && !s.sameOrigin(r) {
			return account.Auth{}, apperr.New(apperr.Forbidden, "cross-origin event stream refused")
		}
		return a, nil
	}
	if !auth.CheckCSRF(a, r.Header.Get("X-CSRF-Token")) {
		return account.Auth{}, apperr.New(apperr.Forbidden, "missing or wrong X-CSRF-Token header")
	}
	return a, nil
}

func isWebSocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// sameOrigin reports whether a browser request comes from our own pages.
// sameOrigin reports whether a browser's request comes from the app's own
// origin: scheme and host both, so a page served over plain http cannot open
// the stream of an https deployment with its cookie. A request without an
// Origin header does not come from a browser page, so it is let through.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	scheme, host, ok := strings.Cut(o, "://")
	want := "http"
	if s.overTLS(r) {
		want = "https"
	}
	return ok && strings.EqualFold(scheme, want) && strings.EqualFold(host, r.Host)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Email      string `json:"email"`
		Password   string `json:"password"`
		DeviceName string `json:"device_name"`
		Platform   string `json:"platform"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	res, err := s.cfg.Auth.Login(r.Context(), auth.Login{Email: in.Email, Password: in.Password, DeviceName: in.DeviceName, Platform: in.Platform, RemoteAddr: s.clientAddr(r)})
	if err != nil {
		s.countRefusedLogin(err)
		return err
	}
	me, err := s.meOf(r.Context(), res.User)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: res.Token, Path: "/", HttpOnly: true, Secure: s.overTLS(r),
		SameSite: http.SameSiteLaxMode, MaxAge: int(account.SessionTTL / time.Second)})
	writeJSON(w, http.StatusOK, map[string]any{"token": res.Token, "csrf_token": res.CSRF, "session": wire.SessionOf(res.Session), "user": me})
	return nil
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.cfg.Auth.Logout(r.Context(), a); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", HttpOnly: true, Secure: s.overTLS(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) meOf(ctx context.Context, u account.User) (wire.Me, error) {
	me, err := s.cfg.Directory.Me(ctx, u)
	if err != nil {
		return wire.Me{}, err
	}
	return wire.MeOf(me.User, me.Org, wire.OwnPresence(me.Presence.State, me.Presence.Shown)), nil
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	me, err := s.meOf(r.Context(), a.User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (s *Server) putPresence(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	f, err := fields(b)
	if err != nil {
		return err
	}
	var u presence.Update
	if v := f["status"]; v.null() {
		u.Status = presence.Clear[presence.Status]()
	} else if v.present {
		st, err := v.str("status")
		if err != nil {
			return err
		}
		if st == "" {
			return apperr.New(apperr.Invalid, "status must be available, busy, dnd, away or invisible")
		}
		u.Status = presence.Some(presence.Status(st))
	}
	if v := f["message"]; v.null() {
		u.Message = presence.Clear[string]()
	} else if v.present {
		m, err := v.str("message")
		if err != nil {
			return err
		}
		u.Message = presence.Some(m)
	}
	for name, dst := range map[string]*presence.Opt[time.Time]{"status_until": &u.StatusUntil, "message_expires_at": &u.MessageExpiresAt} {
		if v := f[name]; v.null() {
			*dst = presence.Clear[time.Time]()
		} else if v.present {
			t, err := v.time(name)
			if err != nil {
				return err
			}
			*dst = presence.Some(t)
		}
	}
	row, err := s.cfg.Presence.Set(r.Context(), a.User.OrgID, a.User.ID, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.OwnPresence(row.State, row.Shown))
	return nil
}

// putPassword changes the caller's password: 204, and with
// log_out_other_devices every other session ends as remote logout does.
func (s *Server) putPassword(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Current      *string `json:"current_password"`
		New          *string `json:"new_password"`
		LogOutOthers bool    `json:"log_out_other_devices"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if in.Current == nil || in.New == nil {
		return apperr.New(apperr.Invalid, "current_password and new_password are needed")
	}
	if _, err := s.cfg.Auth.ChangePassword(r.Context(), a, auth.PasswordChange{Current: *in.Current, New: *in.New,
		LogOutOthers: in.LogOutOthers, RemoteAddr: s.clientAddr(r)}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) sessions(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	list, err := s.cfg.Auth.Sessions(r.Context(), a)
	if err != nil {
		return err
	}
	items := make([]wire.Session, 0, len(list))
	for _, x := range list {
		ws := wire.SessionOf(x)
		cur := x.ID == a.Session.ID
		ws.Current = &cur
		items = append(items, ws)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
	return nil
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.cfg.Auth.EndSession(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// pageLimit reads ?limit= (default page.DefaultLimit); the
// directory checks its range.
func pageLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return page.DefaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apperr.New(apperr.Invalid, "limit must be a number from 1 to %d", page.MaxLimit)
	}
	return n, nil
}

// contactOf renders a directory entry as SPEC §4's Contact.
func contactOf(e directory.Entry) wire.Contact {
	return wire.ContactOf(e.User, wire.PublicPresence(e.Presence.State, e.Presence.Shown))
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	entries, next, err := s.cfg.Directory.Search(r.Context(), a, r.URL.Query().Get("q"), limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	items := make([]wire.Contact, len(entries))
	for i, e := range entries {
		items[i] = contactOf(e)
	}
	body := map[string]any{"items": items}
	if next != "" {
		body["next_cursor"] = next
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

func (s *Server) user(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	e, err := s.cfg.Directory.User(r.Context(), a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, contactOf(e))
	return nil
}

func (s *Server) adminCreateUser(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Name        string `json:"name"`
		Email       string `json:"email"`
		Extension   string `json:"extension"`
		PhoneNumber string `json:"phone_number"`
		Role        string `json:"role"`
		Password    string `json:"password"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	u, err := s.cfg.Admin.AddUser(r.Context(), a, account.NewUser{
		Name: in.Name, Email: in.Email, Extension: in.Extension, PhoneNumber: in.PhoneNumber, Role: account.Role(in.Role), Password: in.Password})
	if err != nil {
		return err
	}
	es, err := s.cfg.Directory.Entries(r.Context(), a.User.OrgID, []account.User{u})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, contactOf(es[0]))
	return nil
}

func (s *Server) adminDeactivate(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.cfg.Admin.Deactivate(r.Context(), a, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// CloseStreams ends every event stream of this node; clients reconnect and
// resume from their cursor.
func (s *Server) CloseStreams() { s.streams.CloseStreams() }

// healthz answers 200 while the store is reachable and 503 otherwise, so a
// load balancer stops sending work to a node that cannot serve (SPEC §12).
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HealthTimeout)
	defer cancel()
	if err := s.cfg.Health.Ping(ctx); err != nil {
		slog.Warn("http: health check failed", slog.Any("err", err))
		return apperr.New(apperr.Unavailable, "the node cannot serve now")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
