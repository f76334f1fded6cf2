package httpapi

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/auth"
)

// TestChangePassword: PUT /api/v1/me/password checks the current password
// (a wrong one is 401 and counts for the login limiter), refuses a weak new
// one with 400 changing nothing, and answers 204; with
// log_out_other_devices every other session ends as remote logout does,
// its stream told session.ended.
func TestChangePassword(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		const newPW = "a brand new passphrase"
		phone := fx.login(t, "bob@acme.test", "Phone", "mobile")
		desk := fx.login(t, "bob@acme.test", "Desk", "desktop")
		body := func(current, next string, others bool) string {
			return `{"current_password":"` + current + `","new_password":"` + next + `","log_out_other_devices":` + map[bool]string{true: "true", false: "false"}[others] + `}`
		}
		loginAs := func(email, pw string) int {
			return fx.call(t, "POST", "/api/v1/auth/login", "", loginBody(email, pw)).Status
		}

		before := fx.stored(t)
		for _, sc := range []apiScenario{
			{Name: "no credentials", Method: "PUT", URL: "/api/v1/me/password", Body: body(testPassword, newPW, false), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated},
			{Name: "wrong current password", Method: "PUT", URL: "/api/v1/me/password", Headers: bearerHeader(fx.bob.token()), Body: body("not my password", newPW, true), ExpectedStatus: 401, ExpectedError: apperr.Unauthenticated, ExpectedContent: []string{"current_password"}},
			{Name: "new password of 9 characters", Method: "PUT", URL: "/api/v1/me/password", Headers: bearerHeader(fx.bob.token()), Body: body(testPassword, "123456789", true), ExpectedStatus: 400, ExpectedError: apperr.Invalid, ExpectedContent: []string{"new_password"}},
			{Name: "new password missing", Method: "PUT", URL: "/api/v1/me/password", Headers: bearerHeader(fx.bob.token()), Body: `{"current_password":"` + testPassword + `"}`, ExpectedStatus: 400, ExpectedError: apperr.Invalid},
			{Name: "new password a number", Method: "PUT", URL: "/api/v1/me/password", Headers: bearerHeader(fx.bob.token()), Body: `{"current_password":"` + testPassword + `","new_password":1234567890}`, ExpectedStatus: 400, ExpectedError: apperr.Invalid, ExpectedContent: []string{"new_password"}},
			{Name: "no Content-Type", Method: "PUT", URL: "/api/v1/me/password", Headers: map[string]string{"Authorization": "Bearer " + fx.bob.token(), "Content-Type": ""}, Body: body(testPassword, newPW, false), ExpectedStatus: 415, ExpectedError: apperr.UnsupportedMediaType},
		} {
			sc.run(t, fx.testEnv)
		}
		if fx.stored(t) != before || loginAs("bob@acme.test", testPassword) != 200 {
			t.Fatal("a refused change changed something")
		}

		c := dialEvents(t, ctx, fx.testEnv, phone.Token, "")
		readEventFrame(t, ctx, c) // hello
		readEventFrame(t, ctx, c) // snapshot
		r := fx.call(t, "PUT", "/api/v1/me/password", fx.bob.token(), body(testPassword, newPW, true))
		if r.Status != http.StatusNoContent {
			t.Fatalf("change: %s", r)
		}
		for {
			if f := readEventFrame(t, ctx, c); f.Type == "session.ended" {
				break
			}
		}
		for _, tok := range []string{phone.Token, desk.Token} {
			checkError(t, fx.call(t, "GET", "/api/v1/me", tok, nil), 401, apperr.Unauthenticated)
		}
		if r := fx.call(t, "GET", "/api/v1/me", fx.bob.token(), nil); r.Status != 200 {
			t.Fatalf("the session that changed it: %s", r)
		}
		if loginAs("bob@acme.test", testPassword) != 401 || loginAs("bob@acme.test", newPW) != 200 {
			t.Fatal("the old password still works, or the new one does not")
		}
		// Without the flag the other sessions stay.
		other := fx.login(t, "carla@acme.test", "Phone", "mobile")
		if r := fx.call(t, "PUT", "/api/v1/me/password", fx.carla.token(), body(testPassword, newPW, false)); r.Status != 204 {
			t.Fatalf("change keeping sessions: %s", r)
		}
		if r := fx.call(t, "GET", "/api/v1/me", other.Token, nil); r.Status != 200 {
			t.Fatalf("carla's other session: %s", r)
		}
	})
}

// A wrong current password counts as a failed login: after the account's
// limit the change is 429, and so is logging in.
func TestChangePasswordIsRateLimited(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	wrong := `{"current_password":"guess guess guess","new_password":"whatever it is now"}`
	for i := range auth.MaxAccountFails {
		if r := fx.call(t, "PUT", "/api/v1/me/password", fx.bob.token(), wrong); r.Status != 401 {
			t.Fatalf("guess %d: %s", i+1, r)
		}
	}
	r := fx.call(t, "PUT", "/api/v1/me/password", fx.bob.token(), strings.Replace(wrong, "guess guess guess", testPassword, 1))
	checkError(t, r, 429, apperr.RateLimited)
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	checkError(t, fx.call(t, "POST", "/api/v1/auth/login", "", loginBody("bob@acme.test", testPassword)), 429, apperr.RateLimited)
	fx.clk.Advance(auth.Window)
	if r := fx.call(t, "PUT", "/api/v1/me/password", fx.bob.token(), strings.Replace(wrong, "guess guess guess", testPassword, 1)); r.Status != 204 {
		t.Fatalf("after the window: %s", r)
	}
}
