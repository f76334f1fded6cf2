package httpapi

// Tenant isolation (SPEC §1): nothing of one org is ever visible to
// another org's users: 404 not_found (never 403) for every endpoint that
// takes an id, and never an entry in a list, a search, or the event stream.

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
)

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		// Annika (globex) has a photo, so that a 404 cannot be "no photo".
		r := fx.do(t, "PUT", "/api/v1/me/photo", bytes.NewReader(testPNG(t)),
			map[string]string{"Authorization": "Bearer " + fx.annika.token(), "Content-Type": "image/png"})
		me := mustJSON[apitypes.Me](t, r, 200)
		if me.PhotoURL == nil {
			t.Fatalf("Annika's photo_url is null after an upload: %s", r.Body)
		}
		photoURL := *me.PhotoURL
		own := fx.do(t, "GET", photoURL, nil, bearerHeader(fx.bobT.token()))
		if own.Status != 200 || own.Header.Get("Content-Type") != "image/jpeg" || own.Header.Get("ETag") == "" {
			t.Fatalf("her colleague cannot see her photo: %d %v", own.Status, own.Header)
		}
		etag := own.Header.Get("ETag")

		// The other org's strings, none of which may reach an acme user.
		secrets := []string{fx.annika.ID, fx.bobT.ID, "Annika", "Tanaka", "globex", "442071838750", "819012345678", fx.orgB.ID,
			fx.annika.login.Session.ID, fx.bobT.login.Session.ID}
		notFound := func(name, method, path string, viewer *person, hdr ...string) apiScenario {
			h := bearerHeader(viewer.token())
			for i := 0; i < len(hdr); i += 2 {
				h[hdr[i]] = hdr[i+1]
			}
			return apiScenario{Name: name, Method: method, URL: path, Headers: h,
				ExpectedStatus: http.StatusNotFound, ExpectedError: apperr.NotFound, NotExpectedContent: secrets}
		}
		scenarios := []apiScenario{
			notFound("profile", "GET", "/api/v1/users/"+fx.annika.ID, fx.bob),
			notFound("profile, as an admin", "GET", "/api/v1/users/"+fx.bobT.ID, fx.ann),
			notFound("photo", "GET", "/api/v1/users/"+fx.annika.ID+"/photo", fx.bob),
			notFound("photo by its own URL", "GET", photoURL, fx.bob),
			notFound("photo at each size", "GET", "/api/v1/users/"+fx.annika.ID+"/photo?size=64", fx.ann),
			notFound("photo with its ETag: 404, not 304", "GET", "/api/v1/users/"+fx.annika.ID+"/photo?size=256", fx.ann, "If-None-Match", etag),
			notFound("photo of a member without one", "GET", "/api/v1/users/"+fx.bobT.ID+"/photo", fx.ann),
			notFound("a session", "DELETE", "/api/v1/sessions/"+fx.annika.login.Session.ID, fx.ann),
			notFound("a session, as a member", "DELETE", "/api/v1/sessions/"+fx.bobT.login.Session.ID, fx.bob),
			notFound("deactivating", "DELETE", "/api/v1/admin/users/"+fx.annika.ID, fx.ann),
			notFound("deactivating a member", "DELETE", "/api/v1/admin/users/"+fx.bobT.ID, fx.ann),
			// And the other way round.
			notFound("globex → acme profile", "GET", "/api/v1/users/"+fx.ann.ID, fx.annika),
			notFound("globex → acme session", "DELETE", "/api/v1/sessions/"+fx.bob.login.Session.ID, fx.bobT),
			notFound("globex → acme deactivation", "DELETE", "/api/v1/admin/users/"+fx.carla.ID, fx.annika),
		}
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) {
				if strings.HasPrefix(sc.Name, "globex") {
					sc.NotExpectedContent = []string{fx.ann.ID, fx.bob.ID, fx.carla.ID, "acme", "Acme"}
				}
				sc.run(t, fx.testEnv)
			})
		}
		t.Run("nothing was ended or deactivated", func(t *testing.T) {
			for _, p := range []*person{fx.ann, fx.bob, fx.carla, fx.annika, fx.bobT} {
				if r := fx.call(t, "GET", "/api/v1/me", p.token(), nil); r.Status != 200 {
					t.Errorf("%s: %s", p.Email, r)
				}
			}
		})
		t.Run("a member's 403 on deactivation tells nothing about the id", func(t *testing.T) {
			other := fx.call(t, "DELETE", "/api/v1/admin/users/"+fx.annika.ID, fx.bob.token(), nil)
			none := fx.call(t, "DELETE", "/api/v1/admin/users/u_nosuchuser", fx.bob.token(), nil)
			checkError(t, other, 403, apperr.Forbidden)
			if !bytes.Equal(other.Body, none.Body) || other.Status != none.Status {
				t.Errorf("another org's id: %s; no such id: %s", other, none)
			}
		})

		t.Run("an admin cannot create users in another org", func(t *testing.T) {
			c := mustJSON[apitypes.Contact](t, fx.call(t, "POST", "/api/v1/admin/users", fx.ann.token(),
				`{"name":"Hugo Hopper","email":"hugo@acme.test","extension":"104","password":"`+testPassword+`","org_id":"`+fx.orgB.ID+`","org":"globex"}`), 201)
			if got := fx.directoryNames(t, fx.annika.token(), "q=hugo"); len(got) != 0 {
				t.Errorf("globex sees %q", got)
			}
			checkError(t, fx.call(t, "GET", "/api/v1/users/"+c.ID, fx.annika.token(), nil), 404, apperr.NotFound)
			if hugo := fx.login(t, "hugo@acme.test", "Laptop", "web"); hugo.User.Org.ID != fx.orgA.ID {
				t.Errorf("Hugo is in org %v", hugo.User.Org)
			}
			if r := fx.call(t, "DELETE", "/api/v1/admin/users/"+c.ID, fx.ann.token(), nil); r.Status != 204 {
				t.Fatalf("remove Hugo: %s", r)
			}
		})

		for _, q := range []string{"", "annika", "Annika Berg", "berg", "bob", "tanaka", "annika@globex.test", "bob.tanaka@", "globex",
			"101", "555", "+44", "+442071838750", "442071838750", "+819012345678", "81901", "+81 90 1234 5678"} {
			t.Run("directory q="+q, func(t *testing.T) {
				for _, limit := range []string{"200", "1"} {
					cursor := ""
					for range 10 {
						u := "/api/v1/directory?limit=" + limit + "&q=" + url.QueryEscape(q)
						if cursor != "" {
							u += "&cursor=" + url.QueryEscape(cursor)
						}
						r := fx.call(t, "GET", u, fx.ann.token(), nil)
						p := mustJSON[apitypes.ContactList](t, r, 200)
						for _, s := range secrets {
							if bytes.Contains(r.Body, []byte(s)) {
								t.Fatalf("q=%q shows %q of the other org: %s", q, s, r.Body)
							}
						}
						for _, c := range p.Items {
							if !slices.Contains([]string{fx.ann.ID, fx.bob.ID, fx.carla.ID}, c.ID) {
								t.Fatalf("q=%q lists %s", q, c.ID)
							}
						}
						if p.NextCursor == nil {
							break
						}
						cursor = *p.NextCursor
					}
				}
			})
		}
		t.Run("directory answers what acme has", func(t *testing.T) {
			for q, want := range map[string][]string{"": {"Ann Lee", "Bob Stone", "carla Diaz"}, "101": {"Ann Lee"}, "bob": {"Bob Stone"}, "ann": {"Ann Lee"}} {
				if got := fx.directoryNames(t, fx.bob.token(), "q="+url.QueryEscape(q)); !slices.Equal(got, want) {
					t.Errorf("q=%q: %q, want %q", q, got, want)
				}
			}
			if got := fx.directoryNames(t, fx.bobT.token(), ""); !slices.Equal(got, []string{"Annika Berg", "Bob Tanaka"}) {
				t.Errorf("globex sees %q", got)
			}
		})

		t.Run("event stream", func(t *testing.T) { testStreamIsolation(t, fx, secrets) })
	}, withPhotos)
}

// streamFrame is any event-stream frame, in the document's shape, kept raw
// too.
type streamFrame struct {
	apitypes.ServerFrame
	raw []byte
}

func dialEvents(t *testing.T, ctx context.Context, e *testEnv, token, query string) *websocket.Conn {
	t.Helper()
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/api/v1/events" + query
	c, res, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	if err != nil {
		t.Fatalf("dial events: %v (%v)", err, res)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func readEventFrame(t *testing.T, ctx context.Context, c *websocket.Conn) streamFrame {
	t.Helper()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read event: %v", err)
	}
	var f streamFrame
	if typ != websocket.MessageText || json.Unmarshal(b, &f) != nil {
		t.Fatalf("frame %q is not a JSON text frame", b)
	}
	f.raw = b
	return f
}

// testStreamIsolation: an acme watcher's snapshot holds acme only, and
// what globex does afterwards (presence, a new colleague, a deactivation,
// a logout) never reaches it, live or on catch-up from a cursor.
func testStreamIsolation(t *testing.T, fx *fixture, secrets []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	acme := []string{fx.ann.ID, fx.bob.ID, fx.carla.ID}

	c := dialEvents(t, ctx, fx.testEnv, fx.bob.token(), "")
	hello := readEventFrame(t, ctx, c)
	snap := readEventFrame(t, ctx, c)
	if hello.Type != "hello" || snap.Type != "snapshot" || snap.Me == nil {
		t.Fatalf("first frames %s, %s", hello.raw, snap.raw)
	}
	var ids []string
	for _, p := range snap.Presence {
		ids = append(ids, p.UserID)
	}
	slices.Sort(ids)
	if want := slices.Sorted(slices.Values(acme)); !slices.Equal(ids, want) {
		t.Errorf("snapshot users %q, want acme's %q", ids, want)
	}
	for _, s := range secrets {
		if bytes.Contains(snap.raw, []byte(s)) {
			t.Errorf("the snapshot holds %q: %s", s, snap.raw)
		}
	}

	// Globex is busy...
	for _, step := range []struct{ method, path, token, body string }{
		{"PUT", "/api/v1/me/presence", fx.annika.token(), `{"status":"busy","message":"globex secret plans"}`},
		{"POST", "/api/v1/admin/users", fx.annika.token(), `{"name":"Gina Globex","email":"gina@globex.test","extension":"890","phone_number":"+442071838751","password":"` + testPassword + `"}`},
		{"DELETE", "/api/v1/admin/users/" + fx.bobT.ID, fx.annika.token(), ""},
		{"POST", "/api/v1/auth/logout", fx.annika.token(), ""},
	} {
		var body any
		if step.body != "" {
			body = step.body
		}
		if r := fx.call(t, step.method, step.path, step.token, body); r.Status >= 300 {
			t.Fatalf("%s %s: %s", step.method, step.path, r)
		}
	}
	// ...then acme does one thing, which must be the next that Bob sees.
	mustJSON[apitypes.Presence](t, fx.call(t, "PUT", "/api/v1/me/presence", fx.ann.token(), `{"message":"acme marker"}`), 200)
	secrets = append(secrets, "Gina", "890", "secret plans")
	for {
		f := readEventFrame(t, ctx, c)
		for _, s := range secrets {
			if bytes.Contains(f.raw, []byte(s)) {
				t.Fatalf("Bob's stream carries %q: %s", s, f.raw)
			}
		}
		if f.Type == "presence" && f.UserID == fx.ann.ID && string(f.Message) == `"acme marker"` {
			break
		}
		if f.Type == "presence" && !slices.Contains(acme, f.UserID) {
			t.Fatalf("presence of a stranger: %s", f.raw)
		}
	}

	// Catching up from the start of the log (both streams at 0) shows
	// acme's events only.
	c2 := dialEvents(t, ctx, fx.testEnv, fx.carla.token(), "?cursor=0.0.0")
	if f := readEventFrame(t, ctx, c2); f.Type != "hello" {
		t.Fatalf("first frame %s", f.raw)
	}
	n := 0
	for {
		f := readEventFrame(t, ctx, c2)
		for _, s := range secrets {
			if bytes.Contains(f.raw, []byte(s)) {
				t.Fatalf("catch-up carries %q: %s", s, f.raw)
			}
		}
		if f.Type == "caught_up" {
			break
		}
		n++
	}
	if n == 0 {
		t.Error("catch-up from 0 sent no acme events at all")
	}

	// A globex watcher, symmetrically, sees globex only.
	c3 := dialEvents(t, ctx, fx.testEnv, fx.login(t, "annika@globex.test", "Laptop", "web").Token, "")
	readEventFrame(t, ctx, c3)
	snap3 := readEventFrame(t, ctx, c3)
	for _, s := range append(acme, "acme marker", fx.orgA.ID) {
		if bytes.Contains(snap3.raw, []byte(s)) {
			t.Errorf("globex's snapshot holds %q: %s", s, snap3.raw)
		}
	}
}
