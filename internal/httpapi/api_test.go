package httpapi

// Accounts, sessions, the directory and the admin endpoints (SPEC §1, §3,
// §4, §7), through the real server.

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/auth"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

func loginBody(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password, "device_name": "Laptop", "platform": "web"})
	return string(b)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		var wrongPassword httpAnswer
		scenarios := []apiScenario{
			{
				Name: "right password", Method: "POST", URL: "/api/v1/auth/login",
				Body:           `{"email":"ann@acme.test","password":"` + testPassword + `","device_name":"Ann's phone","platform":"mobile"}`,
				ExpectedStatus: http.StatusOK,
				ExpectedContent: []string{`"token":"`, `"csrf_token":"`, `"device_name":"Ann's phone"`, `"platform":"mobile"`,
					`"email":"ann@acme.test"`, `"role":"admin"`, `"org":{"id":"` + fx.orgA.ID + `","name":"Acme Inc"}`,
					`"extension":"101"`, `"phone_number":"+14155550101"`, `"photo_url":null`},
				NotExpectedContent: []string{"argon2", "password", testPassword},
				After: func(t *testing.T, r httpAnswer) {
					a := mustJSON[apitypes.LoginAnswer](t, r, http.StatusOK)
					if len(a.Token) != 43 || len(a.CSRFToken) != 43 || a.Token == a.CSRFToken {
						t.Errorf("token %q and csrf %q: want two different 43-character tokens", a.Token, a.CSRFToken)
					}
					if a.User.ID != fx.ann.ID || a.Session.ID == "" || !a.Session.CreatedAt.Equal(testEpoch) || !a.Session.LastSeenAt.Equal(testEpoch) {
						t.Errorf("session %+v of user %s", a.Session, a.User.ID)
					}
					if a.User.Presence.Status != "available" || a.User.Presence.Shown != "available" || a.User.Presence.Version < 1 {
						t.Errorf("presence after login: %+v", a.User.Presence)
					}
					var c *http.Cookie
					for _, x := range (&http.Response{Header: r.Header}).Cookies() {
						if x.Name == "vo_session" {
							c = x
						}
					}
					if c == nil || c.Value != a.Token || !c.HttpOnly || c.Path != "/" || c.SameSite != http.SameSiteLaxMode || c.MaxAge != int(account.SessionTTL/time.Second) {
						t.Errorf("vo_session cookie %+v; want the token, HttpOnly, Path=/, SameSite=Lax, 30 days", c)
					}
				},
			},
			{
				Name: "email in another case, with spaces", Method: "POST", URL: "/api/v1/auth/login",
				Body:           loginBody("  ANN@Acme.TEST ", testPassword),
				ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"id":"` + fx.ann.ID + `"`},
			},
			{
				Name: "no device name", Method: "POST", URL: "/api/v1/auth/login",
				Body:           `{"email":"bob@acme.test","password":"` + testPassword + `","platform":"desktop"}`,
				ExpectedStatus: http.StatusOK, ExpectedContent: []string{`"device_name":"Unknown device"`, `"platform":"desktop"`},
			},
			{
				Name: "wrong password", Method: "POST", URL: "/api/v1/auth/login",
				Body:           loginBody("ann@acme.test", testPassword+"!"),
				ExpectedStatus: http.StatusUnauthorized, ExpectedError: apperr.Unauthenticated,
				NotExpectedContent: []string{"token"},
				After: func(t *testing.T, r httpAnswer) {
					wrongPassword = r
					if r.Header.Get("Set-Cookie") != "" {
						t.Errorf("a refused login set a cookie: %s", r.Header.Get("Set-Cookie"))
					}
				},
			},
			{
				Name: "unknown email: the same answer as a wrong password", Method: "POST", URL: "/api/v1/auth/login",
				Body:           loginBody("nobody@acme.test", testPassword),
				ExpectedStatus: http.StatusUnauthorized, ExpectedError: apperr.Unauthenticated,
				After: func(t *testing.T, r httpAnswer) {
					if !bytes.Equal(r.Body, wrongPassword.Body) {
						t.Errorf("unknown email answered %s, wrong password %s", r.Body, wrongPassword.Body)
					}
				},
			},
			{
				Name: "another org's email with this org's password is just wrong", Method: "POST", URL: "/api/v1/auth/login",
				Body:           loginBody("annika@globex.test", "not the password"),
				ExpectedStatus: http.StatusUnauthorized, ExpectedError: apperr.Unauthenticated,
			},
			{
				Name: "empty password", Method: "POST", URL: "/api/v1/auth/login",
				Body:           loginBody("ann@acme.test", ""),
				ExpectedStatus: http.StatusUnauthorized, ExpectedError: apperr.Unauthenticated,
			},
		}
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) { sc.run(t, fx.testEnv) })
		}
	})
}

func TestMe(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		scenarios := []apiScenario{
			{Name: "no credentials", Method: "GET", URL: "/api/v1/me", ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "unknown token", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(strings.Repeat("A", 43)), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "malformed token", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader("x"), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "the CSRF token is no bearer token", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(fx.ann.login.CSRFToken), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "not a Bearer scheme", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Authorization": "Basic " + fx.ann.token()}, ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "no token after Bearer", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Authorization": "Bearer"}, ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "Bearer glued to the token", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Authorization": "Bearer" + fx.ann.token()}, ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			// RFC 9110 §11.1: the scheme is case-insensitive.
			{Name: "bearer in lower case", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Authorization": "bearer " + fx.ann.token()}, ExpectedStatus: 200, ExpectedContent: []string{fx.ann.ID}},
			{Name: "BEARER in capitals, two spaces", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Authorization": "BEARER  " + fx.ann.token()}, ExpectedStatus: 200, ExpectedContent: []string{fx.ann.ID}},
			{
				Name: "Bearer token", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"id":"` + fx.ann.ID + `"`, `"name":"Ann Lee"`, `"email":"ann@acme.test"`, `"role":"admin"`,
					`"org":{"id":"` + fx.orgA.ID + `","name":"Acme Inc"}`, `"extension":"101"`, `"phone_number":"+14155550101"`,
					`"photo_url":null`, `"presence":{"status":"available","status_until":null,"message":null,"message_expires_at":null,"shown":"available","activity":null,"version":`},
				NotExpectedContent: []string{"argon2", "password"},
			},
			{
				Name: "a member without a number", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(fx.carla.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"name":"carla Diaz"`, `"role":"member"`, `"phone_number":null`},
			},
		}
		for _, sc := range scenarios {
			t.Run(sc.Name, func(t *testing.T) { sc.run(t, fx.testEnv) })
		}
	})
}

// TestPresenceNullClears: SPEC §4, null clears; a null status is back to
// available (and its end goes with it), a null message is no message.
func TestPresenceNullClears(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		until := testEpoch.Add(time.Hour).Format(time.RFC3339)
		p := mustJSON[apitypes.Presence](t, fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(),
			`{"status":"dnd","status_until":"`+until+`","message":"Focus","message_expires_at":"`+until+`"}`), 200)
		if p.Status != "dnd" || p.StatusUntil == nil || p.Message == nil || *p.Message != "Focus" {
			t.Fatalf("set: %+v", p)
		}
		p = mustJSON[apitypes.Presence](t, fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(), `{"status":null}`), 200)
		if p.Status != "available" || p.StatusUntil != nil || p.Shown != "available" || p.Message == nil || *p.Message != "Focus" {
			t.Fatalf(`after {"status":null}: %+v`, p)
		}
		p = mustJSON[apitypes.Presence](t, fx.call(t, "PUT", "/api/v1/me/presence", fx.bob.token(), `{"message":null}`), 200)
		if p.Message != nil || p.MessageExpiresAt != nil {
			t.Fatalf(`after {"message":null}: %+v`, p)
		}
	})
}

func TestSessionsAndRemoteLogout(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		phone := fx.login(t, "ann@acme.test", "Ann's phone", "mobile")
		desk := fx.login(t, "ann@acme.test", "Desk phone", "sip")

		r := fx.call(t, "GET", "/api/v1/sessions", phone.Token, nil)
		list := mustJSON[apitypes.SessionList](t, r, 200)
		got := map[string]apitypes.ListedSession{}
		for _, s := range list.Items {
			got[s.ID] = s
		}
		want := map[string]string{fx.ann.login.Session.ID: "Laptop/web", phone.Session.ID: "Ann's phone/mobile", desk.Session.ID: "Desk phone/sip"}
		if len(got) != len(want) || len(list.Items) != len(want) {
			t.Fatalf("sessions %s; want Ann's three", r.Body)
		}
		for id, dev := range want {
			s, ok := got[id]
			if !ok || s.DeviceName+"/"+s.Platform != dev || s.Current != (id == phone.Session.ID) ||
				!s.CreatedAt.Equal(testEpoch) || !s.LastSeenAt.Equal(testEpoch) {
				t.Errorf("session %s: %+v; want %s, current only for the caller's", id, s, dev)
			}
		}
		for _, secret := range []string{phone.Token, phone.CSRFToken, desk.Token, "token", "hash"} {
			if bytes.Contains(r.Body, []byte(secret)) {
				t.Errorf("the session list shows %q", secret)
			}
		}

		scenarios := []apiScenario{
			{
				Name: "another user's session is not found", Method: "DELETE", URL: "/api/v1/sessions/" + fx.bob.login.Session.ID,
				Headers: bearerHeader(phone.Token), ExpectedStatus: 404, ExpectedError: apperr.NotFound,
				After: func(t *testing.T, _ httpAnswer) {
					if r := fx.call(t, "GET", "/api/v1/me", fx.bob.token(), nil); r.Status != 200 {
						t.Errorf("Bob's session suffered: %s", r)
					}
				},
			},
			{
				Name: "no such session", Method: "DELETE", URL: "/api/v1/sessions/s_nosuchsession",
				Headers: bearerHeader(phone.Token), ExpectedStatus: 404, ExpectedError: apperr.NotFound,
			},
			{
				Name: "remote logout of the desk phone", Method: "DELETE", URL: "/api/v1/sessions/" + desk.Session.ID,
				Headers: bearerHeader(phone.Token), ExpectedStatus: 204,
				After: func(t *testing.T, r httpAnswer) {
					if len(r.Body) != 0 {
						t.Errorf("204 with a body: %q", r.Body)
					}
				},
			},
			{
				Name: "the ended session's token is dead at once", Method: "GET", URL: "/api/v1/me",
				Headers: bearerHeader(desk.Token), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated,
			},
			{
				Name: "the ended session is gone from the list", Method: "GET", URL: "/api/v1/sessions",
				Headers: bearerHeader(phone.Token), ExpectedStatus: 200,
				ExpectedContent:    []string{phone.Session.ID, fx.ann.login.Session.ID},
				NotExpectedContent: []string{desk.Session.ID},
			},
			{
				Name: "ending it again: not found", Method: "DELETE", URL: "/api/v1/sessions/" + desk.Session.ID,
				Headers: bearerHeader(phone.Token), ExpectedStatus: 404, ExpectedError: apperr.NotFound,
			},
			{
				Name: "the other sessions live on", Method: "GET", URL: "/api/v1/me",
				Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 200, ExpectedContent: []string{fx.ann.ID},
			},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		s := fx.login(t, "bob@acme.test", "Phone", "mobile")
		scenarios := []apiScenario{
			{
				Name: "logout", Method: "POST", URL: "/api/v1/auth/logout", Headers: bearerHeader(s.Token), ExpectedStatus: 204,
				After: func(t *testing.T, r httpAnswer) {
					sc := r.Header.Get("Set-Cookie")
					if !strings.HasPrefix(sc, "vo_session=;") || !strings.Contains(sc, "Max-Age=0") {
						t.Errorf("logout did not clear the cookie: %q", sc)
					}
				},
			},
			{Name: "the token is dead on its next use", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(s.Token), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "on every endpoint", Method: "GET", URL: "/api/v1/directory", Headers: bearerHeader(s.Token), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "logging out again", Method: "POST", URL: "/api/v1/auth/logout", Headers: bearerHeader(s.Token), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{
				Name: "Bob's other session lives on", Method: "GET", URL: "/api/v1/sessions", Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 200,
				ExpectedContent: []string{fx.bob.login.Session.ID}, NotExpectedContent: []string{s.Session.ID},
			},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestCookieNeedsCSRFOnUnsafeMethods(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		web := fx.login(t, "bob@acme.test", "Browser", "web")
		other := fx.login(t, "bob@acme.test", "Other browser", "web")
		cookie := "vo_session=" + web.Token
		with := func(kv ...string) map[string]string {
			h := map[string]string{"Cookie": cookie}
			for i := 0; i < len(kv); i += 2 {
				h[kv[i]] = kv[i+1]
			}
			return h
		}
		unchanged := func(t *testing.T, _ httpAnswer) {
			me := mustJSON[apitypes.Me](t, fx.call(t, "GET", "/api/v1/me", fx.bob.token(), nil), 200)
			if me.Presence.Status != "available" {
				t.Errorf("a refused request changed the status to %q", me.Presence.Status)
			}
			if r := fx.call(t, "GET", "/api/v1/me", web.Token, nil); r.Status != 200 {
				t.Errorf("a refused request ended the session: %s", r)
			}
		}
		scenarios := []apiScenario{
			{Name: "GET by cookie", Method: "GET", URL: "/api/v1/me", Headers: with(), ExpectedStatus: 200, ExpectedContent: []string{`"email":"bob@acme.test"`}},
			{Name: "GET list by cookie", Method: "GET", URL: "/api/v1/sessions", Headers: with(), ExpectedStatus: 200, ExpectedContent: []string{web.Session.ID}},
			{Name: "cookie of an unknown token", Method: "GET", URL: "/api/v1/me", Headers: map[string]string{"Cookie": "vo_session=" + strings.Repeat("x", 43)}, ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "PUT without CSRF", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"busy"}`, Headers: with(),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden, After: unchanged},
			{Name: "PUT with another session's CSRF", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"busy"}`, Headers: with("X-CSRF-Token", other.CSRFToken),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden, After: unchanged},
			{Name: "PUT with the session token as CSRF", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"busy"}`, Headers: with("X-CSRF-Token", web.Token),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden, After: unchanged},
			{Name: "POST logout without CSRF", Method: "POST", URL: "/api/v1/auth/logout", Headers: with(),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden, After: unchanged},
			{Name: "DELETE a session without CSRF", Method: "DELETE", URL: "/api/v1/sessions/" + other.Session.ID, Headers: with(),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden,
				After: func(t *testing.T, _ httpAnswer) {
					if r := fx.call(t, "GET", "/api/v1/me", other.Token, nil); r.Status != 200 {
						t.Errorf("the session was ended anyway: %s", r)
					}
				}},
			{Name: "PUT with the right CSRF", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"busy"}`, Headers: with("X-CSRF-Token", web.CSRFToken),
				ExpectedStatus: 200, ExpectedContent: []string{`"status":"busy"`, `"shown":"busy"`}},
			{Name: "Bearer needs no CSRF", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"away"}`, Headers: bearerHeader(other.Token),
				ExpectedStatus: 200, ExpectedContent: []string{`"status":"away"`}},
			{Name: "DELETE a session with the right CSRF", Method: "DELETE", URL: "/api/v1/sessions/" + other.Session.ID, Headers: with("X-CSRF-Token", web.CSRFToken),
				ExpectedStatus: 204},
			{Name: "POST logout with the right CSRF", Method: "POST", URL: "/api/v1/auth/logout", Headers: with("X-CSRF-Token", web.CSRFToken),
				ExpectedStatus: 204},
			{Name: "the cookie is dead after logout", Method: "GET", URL: "/api/v1/me", Headers: with(), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		seedUsers(t, fx.st, fx.orgA.ID,
			account.NewUser{Name: "Dan-Erik Berg", Email: "de@acme.test", Extension: "2002"},
			account.NewUser{Name: "ed Young", Email: "ed@acme.test", Extension: "2003"},
			account.NewUser{Name: "Frank Ann", Email: "frank@acme.test", Extension: "2004", PhoneNumber: "+14155550199"},
		)
		all := []string{"Ann Lee", "Bob Stone", "carla Diaz", "Dan-Erik Berg", "ed Young", "Frank Ann"}
		tok := fx.bob.token()

		t.Run("everyone, sorted by name case-insensitively", func(t *testing.T) {
			r := fx.call(t, "GET", "/api/v1/directory", tok, nil)
			if got := fx.directoryNames(t, tok, ""); !slices.Equal(got, all) || !slices.Equal(all, sortedCopy(all)) {
				t.Errorf("directory %q, want %q", got, all)
			}
			if bytes.Contains(r.Body, []byte("next_cursor")) {
				t.Errorf("a single page has a next_cursor: %s", r.Body)
			}
			var p apitypes.ContactList
			json.Unmarshal(r.Body, &p)
			for _, c := range p.Items {
				if c.Name == "Ann Lee" && (c.Email != "ann@acme.test" || c.Extension != "101" || c.PhoneNumber == nil || *c.PhoneNumber != "+14155550101" || c.ID != fx.ann.ID || c.Presence.Shown != "available") {
					t.Errorf("Ann's contact: %+v", c)
				}
			}
		})

		for _, tc := range []struct {
			q    string
			want []string
		}{
			{"ann", []string{"Ann Lee", "Frank Ann"}},         // a name, or any word of it
			{"ANN L", []string{"Ann Lee"}},                    // the whole name, any case
			{"erik", []string{"Dan-Erik Berg"}},               // a word after a hyphen
			{"BERG", []string{"Dan-Erik Berg"}},               // the last word
			{"  carla diaz ", []string{"carla Diaz"}},         // trimmed
			{"BOB@ACME", []string{"Bob Stone"}},               // email
			{"frank@acme.test", []string{"Frank Ann"}},        // whole email
			{"10", []string{"Ann Lee", "Bob Stone"}},          // extension prefix
			{"2001", []string{"carla Diaz"}},                  // whole extension
			{"+1415555010", []string{"Ann Lee", "Bob Stone"}}, // number
			{"1415 555 0199", []string{"Frank Ann"}},          // number without +, spaced
			{"+1 (415) 555-0101", []string{"Ann Lee"}},        // number as people write it
			{"acme", []string{}},                              // not a prefix of anything
			{"lee ann", []string{}},                           // words are not reordered
			{"zzz", []string{}},
		} {
			t.Run("q="+tc.q, func(t *testing.T) {
				r := fx.call(t, "GET", "/api/v1/directory?q="+url.QueryEscape(tc.q), tok, nil)
				if got := fx.directoryNames(t, tok, "q="+url.QueryEscape(tc.q)); !slices.Equal(got, tc.want) {
					t.Errorf("q=%q: %q, want %q", tc.q, got, tc.want)
				}
				if len(tc.want) == 0 && !bytes.Contains(r.Body, []byte(`"items":[]`)) {
					t.Errorf("an empty answer must be items: []: %s", r.Body)
				}
			})
		}

		walk := func(t *testing.T, query string, limit int) ([]string, int) {
			var names []string
			pages, cursor := 0, ""
			for {
				u := "/api/v1/directory?limit=" + strconv.Itoa(limit) + "&" + query
				if cursor != "" {
					u += "&cursor=" + url.QueryEscape(cursor)
				}
				r := fx.call(t, "GET", u, tok, nil)
				p := mustJSON[apitypes.ContactList](t, r, 200)
				pages++
				if len(p.Items) > limit {
					t.Fatalf("page of %d with limit %d", len(p.Items), limit)
				}
				for _, c := range p.Items {
					names = append(names, c.Name)
				}
				if p.NextCursor == nil {
					if bytes.Contains(r.Body, []byte("next_cursor")) {
						t.Errorf("the last page names a next_cursor: %s", r.Body)
					}
					return names, pages
				}
				if *p.NextCursor == "" || len(p.Items) != limit || pages > 10 {
					t.Fatalf("page %d: %s", pages, r.Body)
				}
				cursor = *p.NextCursor
			}
		}
		t.Run("pages", func(t *testing.T) {
			for _, tc := range []struct {
				query     string
				limit     int
				want      []string
				wantPages int
			}{
				{"", 2, all, 3},
				{"", 4, all, 2},
				{"", 5, all, 2},
				{"", 6, all, 1},
				{"", 200, all, 1},
				{"q=ann", 1, []string{"Ann Lee", "Frank Ann"}, 2},
			} {
				got, pages := walk(t, tc.query, tc.limit)
				if !slices.Equal(got, tc.want) || pages != tc.wantPages {
					t.Errorf("%q limit %d: %q in %d pages, want %q in %d", tc.query, tc.limit, got, pages, tc.want, tc.wantPages)
				}
			}
		})

		for _, bad := range []string{"limit=0", "limit=201", "limit=-1", "limit=ten", "limit=1e2", "cursor=not-a-cursor!", "q=" + strings.Repeat("a", 201)} {
			t.Run(bad, func(t *testing.T) {
				checkError(t, fx.call(t, "GET", "/api/v1/directory?"+bad, tok, nil), 400, apperr.Invalid)
			})
		}
	})
}

func TestUserByID(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		r := fx.call(t, "PUT", "/api/v1/me/presence", fx.ann.token(), `{"status":"dnd","message":"Focus time"}`)
		own := mustJSON[apitypes.Presence](t, r, 200)
		if own.Status != "dnd" || own.Shown != "busy" || (own.Message == nil || *own.Message != "Focus time") {
			t.Fatalf("own presence %+v", own)
		}
		scenarios := []apiScenario{
			{
				Name: "a colleague, as a Contact", Method: "GET", URL: "/api/v1/users/" + fx.ann.ID, Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"id":"` + fx.ann.ID + `"`, `"name":"Ann Lee"`, `"email":"ann@acme.test"`, `"extension":"101"`,
					`"phone_number":"+14155550101"`, `"photo_url":null`, `"shown":"busy"`, `"message":"Focus time"`},
				NotExpectedContent: []string{`"dnd"`, `"status"`, `"role"`, "password", "argon2", `"org"`},
				After: func(t *testing.T, r httpAnswer) {
					var c map[string]json.RawMessage
					json.Unmarshal(r.Body, &c)
					if keys := slices.Sorted(maps.Keys(c)); !slices.Equal(keys, []string{"email", "extension", "id", "name", "phone_number", "photo_url", "presence"}) {
						t.Errorf("Contact keys %q", keys)
					}
					var p map[string]json.RawMessage
					json.Unmarshal(c["presence"], &p)
					if keys := slices.Sorted(maps.Keys(p)); !slices.Equal(keys, []string{"activity", "message", "shown", "version"}) {
						t.Errorf("Contact presence keys %q", keys)
					}
				},
			},
			{
				Name: "a colleague without a number", Method: "GET", URL: "/api/v1/users/" + fx.carla.ID, Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"name":"carla Diaz"`, `"phone_number":null`},
			},
			{
				Name: "oneself", Method: "GET", URL: "/api/v1/users/" + fx.ann.ID, Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"shown":"busy"`}, NotExpectedContent: []string{`"dnd"`},
			},
			{Name: "no such user", Method: "GET", URL: "/api/v1/users/u_nosuchuser", Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 404, ExpectedError: apperr.NotFound},
			{
				Name: "invisible shows offline to others", Method: "PUT", URL: "/api/v1/me/presence", Body: `{"status":"invisible","message":null}`,
				Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 200, ExpectedContent: []string{`"status":"invisible"`, `"shown":"offline"`, `"message":null`},
			},
			{
				Name: "and others see only offline", Method: "GET", URL: "/api/v1/users/" + fx.ann.ID, Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"shown":"offline"`}, NotExpectedContent: []string{"invisible", "Focus time"},
			},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestDeactivatedUser(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		phone := fx.login(t, "bob@acme.test", "Bob's phone", "mobile")
		unknown := fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("nobody@acme.test", testPassword))
		scenarios := []apiScenario{
			{Name: "deactivate Bob", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.bob.ID, Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 204},
			{Name: "his web session ended", Method: "GET", URL: "/api/v1/me", Headers: bearerHeader(fx.bob.token()), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "his phone session ended", Method: "GET", URL: "/api/v1/sessions", Headers: bearerHeader(phone.Token), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{
				Name: "he cannot log in, and is told nothing more", Method: "POST", URL: "/api/v1/auth/login", Body: loginBody("bob@acme.test", testPassword),
				ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated,
				After: func(t *testing.T, r httpAnswer) {
					if !bytes.Equal(r.Body, unknown.Body) {
						t.Errorf("deactivated: %s; unknown: %s", r.Body, unknown.Body)
					}
				},
			},
			{Name: "he is gone from the directory", Method: "GET", URL: "/api/v1/directory", Headers: bearerHeader(fx.carla.token()), ExpectedStatus: 200,
				ExpectedContent: []string{"Ann Lee", "carla Diaz"}, NotExpectedContent: []string{fx.bob.ID, "Bob Stone"}},
			{Name: "from every search", Method: "GET", URL: "/api/v1/directory?q=bob", Headers: bearerHeader(fx.carla.token()), ExpectedStatus: 200,
				ExpectedContent: []string{`"items":[]`}},
			{Name: "his profile is not found", Method: "GET", URL: "/api/v1/users/" + fx.bob.ID, Headers: bearerHeader(fx.carla.token()), ExpectedStatus: 404, ExpectedError: apperr.NotFound},
			{Name: "deactivating again: not found", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.bob.ID, Headers: bearerHeader(fx.ann.token()), ExpectedStatus: 404, ExpectedError: apperr.NotFound},
			{Name: "his extension and email are free again", Method: "POST", URL: "/api/v1/admin/users", Headers: bearerHeader(fx.ann.token()),
				Body:           `{"name":"Bob Stone","email":"bob@acme.test","extension":"102","phone_number":"+14155550102","password":"a new password"}`,
				ExpectedStatus: 201, NotExpectedContent: []string{fx.bob.ID}},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestAdminCreateUser(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		type row struct {
			name    string
			who     *person
			body    string
			status  int
			code    apperr.Code
			content []string
		}
		rows := []row{
			{"a member may not", fx.bob, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","password":"a long password"}`, 403, apperr.Forbidden, nil},
			{"email taken, in another case", fx.ann, `{"name":"Bobby","email":"BOB@Acme.Test","extension":"150","password":"a long password"}`, 409, apperr.Conflict, []string{"email"}},
			{"email taken in another org", fx.ann, `{"name":"Annika","email":"annika@globex.test","extension":"150","password":"a long password"}`, 409, apperr.Conflict, []string{"email"}},
			{"extension taken in the org", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"102","password":"a long password"}`, 409, apperr.Conflict, []string{"extension"}},
			{"number taken in the org", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","phone_number":"+14155550101","password":"a long password"}`, 409, apperr.Conflict, []string{"phone number"}},
			{"number taken in another org", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","phone_number":"+442071838750","password":"a long password"}`, 409, apperr.Conflict, []string{"phone number"}},
			{"invalid email", fx.ann, `{"name":"Dora Diaz","email":"dora","extension":"103","password":"a long password"}`, 400, apperr.Invalid, []string{"email"}},
			{"invalid extension", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"1","password":"a long password"}`, 400, apperr.Invalid, []string{"extension"}},
			{"invalid number", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","phone_number":"555-0101","password":"a long password"}`, 400, apperr.Invalid, []string{"phone_number"}},
			{"short password", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","password":"123456789"}`, 400, apperr.Invalid, []string{"password"}},
			{"no name", fx.ann, `{"email":"dora@acme.test","extension":"103","password":"a long password"}`, 400, apperr.Invalid, []string{"name"}},
			{"unknown role", fx.ann, `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","role":"root","password":"a long password"}`, 400, apperr.Invalid, []string{"role"}},
		}
		for _, rw := range rows {
			t.Run(rw.name, func(t *testing.T) {
				before := fx.stored(t)
				apiScenario{Method: "POST", URL: "/api/v1/admin/users", Headers: bearerHeader(rw.who.token()), Body: rw.body,
					ExpectedStatus: rw.status, ExpectedError: rw.code, ExpectedContent: rw.content}.run(t, fx.testEnv)
				if fx.stored(t) != before {
					t.Errorf("a refused create changed stored data")
				}
			})
		}

		t.Run("created", func(t *testing.T) {
			r := fx.call(t, "POST", "/api/v1/admin/users", fx.ann.token(),
				`{"name":" Dora Diaz ","email":"Dora@Acme.Test","extension":"103","phone_number":"+14155550103","password":"`+testPassword+`"}`)
			c := mustJSON[apitypes.Contact](t, r, 201)
			if c.ID == "" || c.Name != "Dora Diaz" || c.Email != "dora@acme.test" || c.Extension != "103" || c.PhoneNumber == nil || *c.PhoneNumber != "+14155550103" ||
				c.PhotoURL != nil || c.Presence.Shown != "offline" || c.Presence.Version < 1 {
				t.Errorf("created %s", r.Body)
			}
			for _, s := range []string{"password", "argon2", `"role"`, `"status"`} {
				if bytes.Contains(r.Body, []byte(s)) {
					t.Errorf("the Contact shows %q: %s", s, r.Body)
				}
			}
			dora := fx.login(t, "dora@acme.test", "Phone", "mobile")
			if dora.User.ID != c.ID || dora.User.Role != "member" || dora.User.Org.ID != fx.orgA.ID {
				t.Errorf("Dora logs in as %+v", dora.User)
			}
			if got := fx.directoryNames(t, fx.bob.token(), "q=dora"); !slices.Equal(got, []string{"Dora Diaz"}) {
				t.Errorf("Dora in the directory: %q", got)
			}
			if got := fx.directoryNames(t, fx.annika.token(), "q=dora"); len(got) != 0 {
				t.Errorf("the other org sees Dora: %q", got)
			}
		})
		t.Run("an admin, with an extension another org uses", func(t *testing.T) {
			c := mustJSON[apitypes.Contact](t, fx.call(t, "POST", "/api/v1/admin/users", fx.ann.token(),
				`{"name":"Eve Admin","email":"eve@acme.test","extension":"555","role":"admin","password":"`+testPassword+`"}`), 201)
			if eve := fx.login(t, "eve@acme.test", "Laptop", "web"); eve.User.ID != c.ID || eve.User.Role != "admin" || eve.User.PhoneNumber != nil {
				t.Errorf("Eve: %+v", eve.User)
			}
		})
	})
}

func TestAdminDeactivate(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		alive := func(p *person) func(t *testing.T, _ httpAnswer) {
			return func(t *testing.T, _ httpAnswer) {
				if r := fx.call(t, "GET", "/api/v1/me", p.token(), nil); r.Status != 200 {
					t.Errorf("%s was deactivated anyway: %s", p.Email, r)
				}
			}
		}
		scenarios := []apiScenario{
			{Name: "a member may not", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.carla.ID, Headers: bearerHeader(fx.bob.token()),
				ExpectedStatus: 403, ExpectedError: apperr.Forbidden, After: alive(fx.carla)},
			{Name: "another org's user is not found", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.annika.ID, Headers: bearerHeader(fx.ann.token()),
				ExpectedStatus: 404, ExpectedError: apperr.NotFound, After: alive(fx.annika)},
			{Name: "no such user", Method: "DELETE", URL: "/api/v1/admin/users/u_nosuchuser", Headers: bearerHeader(fx.ann.token()),
				ExpectedStatus: 404, ExpectedError: apperr.NotFound},
			{Name: "deactivated", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.carla.ID, Headers: bearerHeader(fx.ann.token()),
				ExpectedStatus: 204,
				After: func(t *testing.T, r httpAnswer) {
					if len(r.Body) != 0 {
						t.Errorf("204 with a body %q", r.Body)
					}
					checkError(t, fx.call(t, "GET", "/api/v1/me", fx.carla.token(), nil), 401, apperr.Unauthenticated)
				}},
		}
		for _, sc := range scenarios {
			sc.run(t, fx.testEnv)
		}
	})
}

func TestPasswordsAreArgon2id(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	mustJSON[apitypes.Contact](t, fx.call(t, "POST", "/api/v1/admin/users", fx.ann.token(),
		`{"name":"Dora Diaz","email":"dora@acme.test","extension":"103","password":"a long password"}`), 201)
	for _, email := range []string{"ann@acme.test", "dora@acme.test"} {
		u, err := fx.st.UserByEmail(context.Background(), email)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Count(u.PasswordHash, "$") != 5 {
			t.Errorf("%s: stored hash %q is not argon2id in PHC form", email, u.PasswordHash)
		}
		if strings.Contains(u.PasswordHash, "password") || strings.Contains(u.PasswordHash, testPassword) {
			t.Errorf("%s: the hash holds the password", email)
		}
	}
}

// TestTokensStoredOnlyAsHashes greps the SQLite file for every token the
// server handed out: none may be there, while their SHA-256 hashes are.
func TestTokensStoredOnlyAsHashes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(testEpoch)
	path := storetest.DSN(t, "sqlite")
	st, err := store.Open(ctx, store.Options{DSN: path, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	e := newTestEnv(t, st, clk)
	fx := newFixture(t, e)
	extra := fx.login(t, "ann@acme.test", "Phone", "mobile")
	clk.Advance(2 * time.Minute) // so that the next uses are written down
	logins := []apitypes.LoginAnswer{extra}
	for _, p := range []*person{fx.ann, fx.bob, fx.carla, fx.annika, fx.bobT} {
		logins = append(logins, p.login)
	}
	for _, l := range logins {
		mustJSON[apitypes.Me](t, fx.call(t, "GET", "/api/v1/me", l.Token, nil), 200)
	}
	e.srv.Close()
	if err := st.Close(); err != nil { // checkpoints the WAL into the file
		t.Fatal(err)
	}
	var db []byte
	for _, suffix := range []string{"", "-wal", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		db = append(db, b...)
	}
	if len(db) == 0 {
		t.Fatal("empty database file")
	}
	for _, l := range logins {
		for what, secret := range map[string]string{"token": l.Token, "csrf token": l.CSRFToken} {
			if bytes.Contains(db, []byte(secret)) {
				t.Errorf("the %s of session %s is in the database file", what, l.Session.ID)
			}
			if !bytes.Contains(db, []byte(auth.HashToken(secret))) {
				t.Errorf("the hash of the %s of session %s is not in the file: wrong file?", what, l.Session.ID)
			}
		}
	}
	if bytes.Contains(db, []byte(testPassword)) {
		t.Error("a password is in the database file")
	}
}

// TestLoginRateLimit: 5 failures on one account block it (even with the
// right password) until the window passes; 20 failures from one address
// across accounts block that address. Time is a fake clock.
func TestLoginRateLimit(t *testing.T) {
	t.Parallel()
	limited := func(t *testing.T, r httpAnswer, retryAfter string) {
		t.Helper()
		checkError(t, r, 429, apperr.RateLimited)
		if got := r.Header.Get("Retry-After"); got != retryAfter {
			t.Errorf("Retry-After %q, want %q", got, retryAfter)
		}
	}
	t.Run("per account", func(t *testing.T) {
		t.Parallel()
		fx := sqliteFixture(t)
		login := func(email, pw string) httpAnswer {
			return fx.call(t, "POST", "/api/v1/auth/login", "", loginBody(email, pw))
		}
		for i, email := range []string{"ann@acme.test", "ANN@acme.test", "Ann@Acme.Test", "ann@acme.test", " ann@ACME.test"} {
			checkError(t, login(email, "wrong password "+strconv.Itoa(i)), 401, apperr.Unauthenticated)
		}
		limited(t, login("ann@acme.test", "wrong again"), "900")
		limited(t, login("ann@acme.test", testPassword), "900")
		if r := login("bob@acme.test", testPassword); r.Status != 200 {
			t.Errorf("another account of the same address is blocked: %s", r)
		}
		fx.clk.Advance(10 * time.Minute)
		limited(t, login("ann@acme.test", testPassword), "300")
		fx.clk.Advance(5*time.Minute - time.Second)
		limited(t, login("ann@acme.test", testPassword), "1")
		fx.clk.Advance(time.Second)
		mustJSON[apitypes.LoginAnswer](t, login("ann@acme.test", testPassword), 200)
		// A success forgets the account's failures.
		for i := range 4 {
			checkError(t, login("ann@acme.test", "wrong "+strconv.Itoa(i)), 401, apperr.Unauthenticated)
		}
		mustJSON[apitypes.LoginAnswer](t, login("ann@acme.test", testPassword), 200)
		checkError(t, login("ann@acme.test", "wrong once more"), 401, apperr.Unauthenticated)
	})
	t.Run("per address", func(t *testing.T) {
		t.Parallel()
		fx := sqliteFixture(t)
		login := func(email, pw string) httpAnswer {
			return fx.call(t, "POST", "/api/v1/auth/login", "", loginBody(email, pw))
		}
		for i := range 20 {
			email := "guess" + strconv.Itoa(i) + "@acme.test"
			if i%4 == 0 {
				email = []string{"ann@acme.test", "bob@acme.test", "carla@acme.test", "annika@globex.test", "bob.tanaka@globex.test"}[i/4]
			}
			checkError(t, login(email, "wrong password"), 401, apperr.Unauthenticated)
		}
		limited(t, login("carla@acme.test", testPassword), "900")
		limited(t, login("nobody@acme.test", testPassword), "900")
		fx.clk.Advance(15 * time.Minute)
		mustJSON[apitypes.LoginAnswer](t, login("carla@acme.test", testPassword), 200)
	})
}

// TestErrorTable has one request per row of the SPEC §3 error table.
func TestErrorTable(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	over := `{"message":"` + strings.Repeat("a", MaxJSONBody) + `"}`
	scenarios := []apiScenario{
		{Name: "invalid 400", Method: "PUT", URL: "/api/v1/me/presence", Headers: bearerHeader(fx.bob.token()), Body: `{"status":"happy"}`,
			ExpectedStatus: 400, ExpectedError: apperr.Invalid, ExpectedContent: []string{"status"}},
		{Name: "unauthenticated 401", Method: "GET", URL: "/api/v1/me", ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
		{Name: "forbidden 403", Method: "DELETE", URL: "/api/v1/admin/users/" + fx.carla.ID, Headers: bearerHeader(fx.bob.token()),
			ExpectedStatus: 403, ExpectedError: apperr.Forbidden},
		{Name: "not_found 404", Method: "GET", URL: "/api/v1/users/u_nosuchuser", Headers: bearerHeader(fx.bob.token()),
			ExpectedStatus: 404, ExpectedError: apperr.NotFound},
		{Name: "not_found 404, no such endpoint", Method: "GET", URL: "/api/v1/nothing-here", Headers: bearerHeader(fx.bob.token()),
			ExpectedStatus: 404, ExpectedError: apperr.NotFound},
		{Name: "conflict 409", Method: "POST", URL: "/api/v1/admin/users", Headers: bearerHeader(fx.ann.token()),
			Body:           `{"name":"Bob Two","email":"bob@acme.test","extension":"150","password":"a long password"}`,
			ExpectedStatus: 409, ExpectedError: apperr.Conflict},
		{Name: "too_large 413", Method: "PUT", URL: "/api/v1/me/presence", Headers: bearerHeader(fx.bob.token()), Body: over,
			ExpectedStatus: 413, ExpectedError: apperr.TooLarge},
		{Name: "unsupported_media_type 415", Method: "PUT", URL: "/api/v1/me/presence",
			Headers: map[string]string{"Authorization": "Bearer " + fx.bob.token(), "Content-Type": "text/plain"}, Body: `{"status":"busy"}`,
			ExpectedStatus: 415, ExpectedError: apperr.UnsupportedMediaType},
	}
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) { sc.run(t, fx.testEnv) })
	}
	t.Run("rate_limited 429", func(t *testing.T) {
		for range auth.MaxAccountFails {
			fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("carla@acme.test", "wrong password"))
		}
		r := fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("carla@acme.test", testPassword))
		checkError(t, r, 429, apperr.RateLimited)
		if r.Header.Get("Retry-After") != "900" {
			t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
		}
	})
	t.Run("internal 500", func(t *testing.T) {
		fx := sqliteFixture(t)
		if err := fx.st.Close(); err != nil {
			t.Fatal(err)
		}
		for _, r := range []httpAnswer{
			fx.call(t, "GET", "/api/v1/me", fx.bob.token(), nil),
			fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("bob@acme.test", testPassword)),
		} {
			if r.Status != 500 || strings.TrimSpace(string(r.Body)) != `{"error":{"code":"internal","message":"internal error"}}` {
				t.Errorf("got %s; want exactly the internal error body", r)
			}
		}
	})
}
