package httpapi

// The test server and its helpers, shared by the API, isolation, bad-input
// and fuzz tests: a real Server built the way cmd/vo/serve.go builds it, on
// a fresh store, behind httptest; table-driven scenarios in the style of
// PocketBase's ApiScenario; and a two-org fixture.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/node"
	"vo/internal/profile"
	"vo/internal/store"
	"vo/internal/storetest"
)

// testPassword is every seeded user's password.
const testPassword = "correct horse battery"

var (
	// cheapHash keeps argon2id fast in tests; the algorithm is unchanged.
	cheapHash = account.HashParams{Memory: 64, Time: 1, Threads: 1}
	// testEpoch is where every fake clock starts.
	testEpoch = time.Date(2030, time.January, 7, 9, 0, 0, 0, time.UTC)
)

// testEnv is one running server on its own store and fake clock.
type testEnv struct {
	st  *store.Store
	clk *clock.Fake
	api *Server
	srv *httptest.Server
}

// newTestEnv builds the server as `vo serve` does: hub fed by the store's
// commits, presence and chat services, auth on the fake clock. opts adjust the
// Config (e.g. withPhotos).
func newTestEnv(t testing.TB, st *store.Store, clk *clock.Fake, opts ...func(testing.TB, *Config)) *testEnv {
	t.Helper()
	nd, err := node.New(context.Background(), node.Config{Store: st, Clock: clk, HashParams: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	cfg := ForNode(nd)
	for _, o := range opts {
		o(t, &cfg)
	}
	api := New(cfg)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &testEnv{st: st, clk: clk, api: api, srv: srv}
}

// withPhotos enables the photo endpoints, storing files in a temp folder.
func withPhotos(t testing.TB, cfg *Config) {
	files, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	cfg.Photos = profile.New(cfg.Store, files, 1)
}

// httpAnswer is an answer read whole.
type httpAnswer struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r httpAnswer) String() string { return fmt.Sprintf("%d %s", r.Status, r.Body) }

// unknownLength hides a body's length from net/http, so that the request
// goes out chunked, without a Content-Length.
type unknownLength struct{ io.Reader }

// do sends a request; hdr values are set as given.
func (e *testEnv) do(t testing.TB, method, path string, body io.Reader, hdr map[string]string) httpAnswer {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read answer: %v", method, path, err)
	}
	a := httpAnswer{Status: res.StatusCode, Header: res.Header, Body: b}
	checkAnswer(t, req, a)
	return a
}

// call sends a JSON request authenticated by a Bearer token ("" for none).
func (e *testEnv) call(t testing.TB, method, path, token string, body any) httpAnswer {
	t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	var r io.Reader
	if body != nil {
		b, ok := body.(string)
		if !ok {
			j, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			b = string(j)
		}
		r = strings.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	return e.do(t, method, path, r, hdr)
}

// mustJSON decodes an answer that must have the given status.
func mustJSON[T any](t testing.TB, r httpAnswer, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("decode %T: %v: %s", v, err, r.Body)
	}
	return v
}

// checkError asserts the SPEC §3 error body, {"error": {"code", "message"}}
// and nothing else, with the given code and a non-empty message.
func checkError(t testing.TB, r httpAnswer, status int, code apperr.Code) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &top); err != nil || len(top) != 1 || top["error"] == nil {
		t.Fatalf("body is not {\"error\": {...}}: %s", r.Body)
	}
	var inner map[string]string
	if err := json.Unmarshal(top["error"], &inner); err != nil || len(inner) != 2 {
		t.Fatalf("error is not {code, message}: %s", r.Body)
	}
	if inner["code"] != string(code) {
		t.Errorf("code %q, want %q: %s", inner["code"], code, r.Body)
	}
	if strings.TrimSpace(inner["message"]) == "" {
		t.Errorf("empty message: %s", r.Body)
	}
}

// apiScenario is one request and what must come back.
type apiScenario struct {
	Name    string
	Method  string
	URL     string
	Body    string
	Chunked bool // send Body without a Content-Length
	// Headers are sent as given; Content-Type defaults to application/json
	// when there is a Body ("" in Headers sends none).
	Headers        map[string]string
	ExpectedStatus int
	// ExpectedError, when set, requires the SPEC error body with this code.
	ExpectedError      apperr.Code
	ExpectedContent    []string
	NotExpectedContent []string
	// After runs extra checks on the answer.
	After func(t *testing.T, r httpAnswer)
}

func (sc apiScenario) run(t *testing.T, e *testEnv) httpAnswer {
	t.Helper()
	hdr := map[string]string{}
	if sc.Body != "" {
		hdr["Content-Type"] = "application/json"
	}
	for k, v := range sc.Headers {
		hdr[k] = v
	}
	if hdr["Content-Type"] == "" {
		delete(hdr, "Content-Type")
	}
	var body io.Reader
	if sc.Body != "" {
		body = strings.NewReader(sc.Body)
		if sc.Chunked {
			body = unknownLength{body}
		}
	}
	r := e.do(t, sc.Method, sc.URL, body, hdr)
	if sc.ExpectedError != "" {
		checkError(t, r, sc.ExpectedStatus, sc.ExpectedError)
	} else if r.Status != sc.ExpectedStatus {
		t.Fatalf("status %d, want %d: %s", r.Status, sc.ExpectedStatus, clipBody(r.Body))
	}
	for _, s := range sc.ExpectedContent {
		if !bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("answer lacks %q: %s", s, clipBody(r.Body))
		}
	}
	for _, s := range sc.NotExpectedContent {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("answer has %q: %s", s, clipBody(r.Body))
		}
	}
	if sc.After != nil {
		sc.After(t, r)
	}
	return r
}

func clipBody(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}

func bearerHeader(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

// The tests decode answers into the document's own shapes (package
// apitypes, generated from openapi.json), not copies of their own nor the
// server's wire types: every answer is also validated against the document
// before a test decodes it (checkAnswer), and a nullable field is a pointer
// there, so a test cannot pass on a shape the server does not send (a null
// message read as "").

// login logs in over HTTP and fails the test unless it works.
func (e *testEnv) login(t testing.TB, email, device, platform string) apitypes.LoginAnswer {
	t.Helper()
	r := e.call(t, "POST", "/api/v1/auth/login", "", map[string]string{"email": email, "password": testPassword, "device_name": device, "platform": platform})
	return mustJSON[apitypes.LoginAnswer](t, r, http.StatusOK)
}

// directoryNames lists the names the directory answers for a query string
// (e.g. "q=ann&limit=5"), as seen with token.
func (e *testEnv) directoryNames(t testing.TB, token, query string) []string {
	t.Helper()
	p := mustJSON[apitypes.ContactList](t, e.call(t, "GET", "/api/v1/directory?"+query, token, nil), http.StatusOK)
	names := make([]string, len(p.Items))
	for i, c := range p.Items {
		names[i] = c.Name
	}
	return names
}

// person is a seeded user with one logged-in web session.
type person struct {
	account.User
	login apitypes.LoginAnswer
}

func (p *person) token() string { return p.login.Token }

// fixture is two orgs whose people look alike, so that a leak would show:
// acme has Ann Lee (admin, ext 101), Bob Stone, carla Diaz (no number);
// globex has Annika Berg (admin, also ext 101) and Bob Tanaka.
type fixture struct {
	*testEnv
	orgA, orgB                    account.Org
	ann, bob, carla, annika, bobT *person
}

func seedUsers(t testing.TB, st *store.Store, orgID string, in ...account.NewUser) []account.User {
	t.Helper()
	for i := range in {
		if in[i].Password == "" {
			in[i].Password = testPassword
		}
	}
	users, err := admin.CreateUsers(context.Background(), st, orgID, cheapHash, in)
	if err != nil {
		t.Fatalf("seed users: %v", err)
	}
	return users
}

func newFixture(t testing.TB, e *testEnv) *fixture {
	t.Helper()
	ctx := context.Background()
	fx := &fixture{testEnv: e}
	var err error
	if fx.orgA, err = e.st.CreateOrg(ctx, "acme", "Acme Inc"); err != nil {
		t.Fatal(err)
	}
	if fx.orgB, err = e.st.CreateOrg(ctx, "globex", "Globex Corp"); err != nil {
		t.Fatal(err)
	}
	a := seedUsers(t, e.st, fx.orgA.ID,
		account.NewUser{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", PhoneNumber: "+14155550101", Role: account.RoleAdmin},
		account.NewUser{Name: "Bob Stone", Email: "bob@acme.test", Extension: "102", PhoneNumber: "+14155550102"},
		account.NewUser{Name: "carla Diaz", Email: "carla@acme.test", Extension: "2001"},
	)
	b := seedUsers(t, e.st, fx.orgB.ID,
		account.NewUser{Name: "Annika Berg", Email: "annika@globex.test", Extension: "101", PhoneNumber: "+442071838750", Role: account.RoleAdmin},
		account.NewUser{Name: "Bob Tanaka", Email: "bob.tanaka@globex.test", Extension: "555", PhoneNumber: "+819012345678"},
	)
	ps := make([]*person, 0, 5)
	for _, u := range append(a, b...) {
		ps = append(ps, &person{User: u, login: e.login(t, u.Email, "Laptop", "web")})
	}
	fx.ann, fx.bob, fx.carla, fx.annika, fx.bobT = ps[0], ps[1], ps[2], ps[3], ps[4]
	return fx
}

// stored renders what the server holds that a refused request could have
// changed: Ann's Me (with its presence version) and sessions, both orgs'
// directories, and both orgs' event heads (every write that others could
// see appends an event). Nothing moves the fake clock, so equal renderings
// mean nothing was written.
func (fx *fixture) stored(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, g := range []struct {
		p    *person
		path string
	}{
		{fx.ann, "/api/v1/me"}, {fx.ann, "/api/v1/sessions"},
		{fx.ann, "/api/v1/directory?limit=200"}, {fx.annika, "/api/v1/directory?limit=200"},
	} {
		r := fx.call(t, "GET", g.path, g.p.token(), nil)
		if r.Status != http.StatusOK {
			t.Fatalf("GET %s as %s: %s", g.path, g.p.Email, r)
		}
		b.Write(r.Body)
	}
	for _, o := range []account.Org{fx.orgA, fx.orgB} {
		head, err := fx.st.EventHead(context.Background(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "head %s=%d\n", o.Slug, head)
	}
	return b.String()
}

// testPNG is a small decodable photo.
func testPNG(t testing.TB) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 48, 48))
	for y := range 48 {
		for x := range 48 {
			m.Set(x, y, color.RGBA{uint8(x * 5), uint8(y * 5), 128, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.SortFunc(c, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return c
}

// eachEngine runs f on a fresh two-org fixture per engine (storetest.Each:
// SQLite always, PostgreSQL when VO_TEST_POSTGRES_URL is set), the engines
// in parallel. They share one fake clock, so f must not move it.
func eachEngine(t *testing.T, f func(t *testing.T, fx *fixture), opts ...func(testing.TB, *Config)) {
	t.Helper()
	clk := clock.NewFake(testEpoch)
	storetest.Each(t, clk, func(t *testing.T, st *store.Store) {
		t.Parallel()
		f(t, newFixture(t, newTestEnv(t, st, clk, opts...)))
	})
}

// sqliteFixture is a fixture on SQLite with a clock of its own, for tests
// that move time.
func sqliteFixture(t *testing.T, opts ...func(testing.TB, *Config)) *fixture {
	t.Helper()
	clk := clock.NewFake(testEpoch)
	return newFixture(t, newTestEnv(t, storetest.Open(t, "sqlite", clk), clk, opts...))
}
