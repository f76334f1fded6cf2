// Package votest runs a whole Virtual Office node in-process for tests: the
// real store (SQLite or PostgreSQL), hub, presence scheduler, auth and HTTP
// API behind httptest, plus a Watcher that keeps a client's view of
// presence from the event stream the way an app does.
package votest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apidoc"
	"vo/internal/apidoc/apitypes"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/httpapi"
	"vo/internal/node"
	"vo/internal/presence"
	"vo/internal/profile"
	"vo/internal/sipserver"
	"vo/internal/store"
	"vo/internal/wire"
)

// Params keeps argon2id cheap in tests; the algorithm is the same.
var Params = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// Password is every test user's password.
const Password = "correct horse battery"

// Node is one running server.
type Node struct {
	T        testing.TB
	DSN      string
	Store    *store.Store
	Hub      *events.Hub
	Presence *presence.Service
	API      *httpapi.Server
	HTTP     *httptest.Server
	Clock    clock.Clock
	Blobs    blobs.Store       // nil without Options.BlobDir
	SIP      *sipserver.Server // nil without Options.SIPAddr
	node     *node.Node
	stop     func()
	done     chan struct{}
}

// Options tune a node.
type Options struct {
	Clock               clock.Clock
	PingEvery, PongWait time.Duration
	// PhotoDir, when set, stores photos there (the data folder's photos).
	PhotoDir string
	// SIPAddr, when set, runs the node's SIP registrar there (say
	// 127.0.0.1:0); Node.SIP is then that server.
	SIPAddr string
	// BlobDir, when set, keeps attachments and voicemail audio there.
	BlobDir string
	// CallMediaAddr, when set, carries the app's calls' media there (say
	// 127.0.0.1:0); Node.AppCalls is then the switch.
	CallMediaAddr string
	// RingTimeout shortens how long phones ring before a call is
	// unanswered (zero: 20 s).
	RingTimeout time.Duration
}

// Start runs a node on the database at dsn (see storetest.DSN).
func Start(t testing.TB, dsn string, o Options) *Node {
	t.Helper()
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	st, err := store.Open(context.Background(), store.Options{DSN: dsn, Clock: o.Clock})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	n := &Node{T: t, DSN: dsn, Store: st, Clock: o.Clock, done: make(chan struct{})}
	var photos *profile.Photos
	if o.PhotoDir != "" {
		files, err := blobs.NewDir(o.PhotoDir)
		if err != nil {
			t.Fatalf("photo store: %v", err)
		}
		t.Cleanup(func() { files.Close() })
		photos = profile.New(st, files, 2)
	}
	var files blobs.Store
	if o.BlobDir != "" {
		d, err := blobs.NewDir(o.BlobDir)
		if err != nil {
			t.Fatalf("blob store: %v", err)
		}
		t.Cleanup(func() { d.Close() })
		files = d
	}
	nd, err := node.New(context.Background(), node.Config{Store: st, Photos: photos, Blobs: files, Clock: o.Clock, HashParams: Params, SIPAddr: o.SIPAddr, RingTimeout: o.RingTimeout, CallMediaAddr: o.CallMediaAddr})
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	hc := httpapi.ForNode(nd)
	hc.PingEvery, hc.PongWait = o.PingEvery, o.PongWait
	n.node, n.Hub, n.Presence, n.API, n.SIP, n.Blobs = nd, nd.Hub, nd.Presence, httpapi.New(hc), nd.SIP, files
	go func() { defer close(n.done); nd.Run(context.Background()) }()
	n.stop = func() { nd.Close() }
	n.HTTP = httptest.NewUnstartedServer(n.API)
	n.HTTP.Start()
	t.Cleanup(n.Stop)
	return n
}

// Stop shuts the node down: connections close, the store closes. It may be
// called more than once.
func (n *Node) Stop() {
	if n.stop == nil {
		return
	}
	n.stop()
	<-n.done
	n.HTTP.CloseClientConnections()
	n.HTTP.Close()
	n.Store.Close()
	n.stop = nil
}

// Org is a seeded org.
type Org struct {
	account.Org
	Users []account.User
}

// Seed creates an org with the given people ("Name" each; emails and
// extensions are derived).
func (n *Node) Seed(slug string, names ...string) Org {
	n.T.Helper()
	ctx := context.Background()
	o, err := admin.CreateOrg(ctx, n.Store, slug, strings.ToUpper(slug[:1])+slug[1:]+" Inc")
	if err != nil {
		n.T.Fatalf("seed org: %v", err)
	}
	in := make([]account.NewUser, len(names))
	for i, name := range names {
		in[i] = account.NewUser{Name: name, Email: strings.ToLower(strings.Fields(name)[0]) + "@" + slug + ".test",
			Extension: fmt.Sprint(100 + i), Password: Password}
	}
	users, err := admin.CreateUsers(ctx, n.Store, o.ID, Params, in)
	if err != nil {
		n.T.Fatalf("seed users: %v", err)
	}
	return Org{Org: o, Users: users}
}

// Session is a logged-in device.
type Session struct {
	Token, CSRF, ID, UserID string
}

// Login logs a user in through the API.
func (n *Node) Login(email, platform string) Session {
	n.T.Helper()
	var out apitypes.LoginAnswer
	status := n.Do("", "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": Password, "device_name": "test " + platform, "platform": platform}, &out)
	if status != 200 {
		n.T.Fatalf("login %s: status %d", email, status)
	}
	return Session{Token: out.Token, CSRF: out.CSRFToken, ID: out.Session.ID, UserID: out.User.ID}
}

// Do sends a JSON request with a bearer token ("" for none) and decodes
// the answer into out (when not nil). It returns the status.
func (n *Node) Do(token, method, path string, body, out any) int {
	n.T.Helper()
	return Do(n.T, n.HTTP.URL, token, method, path, body, out)
}

// Do is Node.Do against any base URL.
func Do(t testing.TB, base, token, method, path string, body, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	if err := Check(req, res.StatusCode, res.Header, b); err != nil {
		t.Error(err)
	}
	if out != nil && len(b) > 0 && res.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
	return res.StatusCode
}

var checker = sync.OnceValues(func() (*apidoc.Checker, error) { return apidoc.New(httpapi.OpenAPI()) })

// Check validates an answer to req against the API document.
func Check(req *http.Request, status int, header http.Header, body []byte) error {
	c, err := checker()
	if err != nil {
		return err
	}
	return c.Check(req, status, header, body)
}

// CheckFrame validates an event stream frame against the API document.
func CheckFrame(frame []byte) error {
	c, err := checker()
	if err != nil {
		return err
	}
	return c.CheckFrame(frame)
}

// SetPresence changes a user's presence through the API.
func (n *Node) SetPresence(s Session, body map[string]any) wire.Presence {
	n.T.Helper()
	var p apitypes.Presence // the document's shape, the server's type
	if st := n.Do(s.Token, "PUT", "/api/v1/me/presence", body, &p); st != 200 {
		n.T.Fatalf("set presence %v: status %d", body, st)
	}
	return wire.Presence(p)
}

// Truth is the server's current view: what others see of each user.
func Truth(t testing.TB, st *store.Store, orgID string) map[string]wire.ContactPresence {
	t.Helper()
	rows, _, err := st.OrgPresence(context.Background(), orgID)
	if err != nil {
		t.Fatalf("org presence: %v", err)
	}
	out := map[string]wire.ContactPresence{}
	for _, r := range rows {
		out[r.UserID] = wire.PublicPresence(r.State, r.Shown)
	}
	return out
}

// Eventually polls cond every 10 ms until it holds or within passes.
func Eventually(t testing.TB, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %s", what, within, detail)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
