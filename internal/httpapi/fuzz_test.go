package httpapi

// Fuzz tests of the JSON decoding every endpoint uses, and of the
// presence body through the real handler.
//
//	go test -run='^$' -fuzz=FuzzDecodeJSON -fuzztime=20s ./internal/httpapi
//	go test -run='^$' -fuzz=FuzzPresenceBody -fuzztime=20s ./internal/httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
	"unicode/utf8"

	"vo/internal/account"
	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/storetest"
)

var jsonSeeds = []string{
	`{"email":"ann@acme.test","password":"correct horse battery","device_name":"Laptop","platform":"web"}`,
	`{"status":"dnd","status_until":"2031-01-01T00:00:00Z","message":"Focus","message_expires_at":null}`,
	`{"status":null,"message":null}`,
	`{"email":5}`, `{"tags":{}}`, `[]`, `null`, `"x"`, `5`, ``, ` `, `{} {}`, `{}]`, `{"a":1}x`,
	`{"message":"\ud800\u0000é"}`, `{"status_until":"2031-02-30T25:00:00+99:00"}`, `{"n":1e999}`, `{"a":{"b":[1,{"c":[[[]]]}]}}`,
	"{\"message\":\"\xff\xfe\"}",
}

// requireInvalid fails unless err is nil or an apperr Invalid.
func requireInvalid(t *testing.T, what string, in []byte, err error) {
	t.Helper()
	if err != nil && !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("%s(%q): %v, want nil or an Invalid error", what, in, err)
	}
	if err != nil && apperr.MessageOf(err) == "" {
		t.Fatalf("%s(%q): Invalid without a message", what, in)
	}
}

// FuzzDecodeJSON: decodeJSON and fields never panic, and either decode or
// return Invalid; what they accept is valid JSON.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v struct {
			Email    string         `json:"email"`
			Password string         `json:"password"`
			N        int            `json:"n"`
			On       bool           `json:"on"`
			Tags     []string       `json:"tags"`
			Meta     map[string]any `json:"meta"`
		}
		err := decodeJSON(b, &v)
		requireInvalid(t, "decodeJSON", b, err)
		if err == nil && !json.Valid(b) {
			t.Fatalf("decodeJSON accepted invalid JSON %q", b)
		}

		m, err := fields(b)
		requireInvalid(t, "fields", b, err)
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if json.Unmarshal(b, &obj) != nil || obj == nil {
			t.Fatalf("fields accepted %q, which is not a JSON object", b)
		}
		for name, x := range m {
			if !x.present {
				t.Fatalf("member %q not marked present", name)
			}
			s, err := x.str(name)
			requireInvalid(t, "str", x.raw, err)
			if err == nil && !utf8.ValidString(s) {
				t.Fatalf("str(%q) = %q: not UTF-8", x.raw, s)
			}
			if x.null() && (err != nil || s != "") {
				t.Fatalf("null member %q: %q, %v", name, s, err)
			}
			tm, err := x.time(name)
			requireInvalid(t, "time", x.raw, err)
			if err == nil && !x.null() && tm.Location() != time.UTC {
				t.Fatalf("time(%q) = %v, not UTC", x.raw, tm)
			}
		}
	})
}

// FuzzPresenceBody sends random bodies to PUT /me/presence through the real
// server: the answer is never a 500, always either the new Presence or the
// SPEC error body.
func FuzzPresenceBody(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	for _, s := range []string{
		`{"status":"busy","message":"In a call"}`, `{"status":"invisible"}`, `{"status":"away","status_until":"9999-12-31T23:59:59Z"}`,
		`{"message":"` + string(bytes.Repeat([]byte("é"), 140)) + `"}`, `{"message_expires_at":"2030-01-07T09:00:00.001Z","message":"soon"}`,
		`{"status_until":"0000-01-01T00:00:00Z"}`, `{"status":"dnd","status_until":"2030-01-07T10:00:00+01:00"}`,
	} {
		f.Add([]byte(s))
	}
	clk := clock.NewFake(testEpoch)
	e := newTestEnv(f, storetest.Open(f, "sqlite", clk), clk)
	org, err := e.st.CreateOrg(context.Background(), "acme", "Acme Inc")
	if err != nil {
		f.Fatal(err)
	}
	seedUsers(f, e.st, org.ID, account.NewUser{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101"})
	token := e.login(f, "ann@acme.test", "Laptop", "web").Token
	valid := map[string]bool{"available": true, "busy": true, "dnd": true, "away": true, "invisible": true}
	shown := map[string]bool{"available": true, "busy": true, "away": true, "offline": true}

	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("PUT", "/api/v1/me/presence", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.api.ServeHTTP(rec, req)
		r := httpAnswer{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		switch r.Status {
		case http.StatusOK:
			var p apitypes.Presence
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatalf("body %q: 200 with %s", body, r.Body)
			}
			if !valid[p.Status] || !shown[p.Shown] || p.Version < 1 || (p.Message != nil && utf8.RuneCountInString(*p.Message) > 140) {
				t.Fatalf("body %q: presence %+v", body, p)
			}
			for _, at := range []*time.Time{p.StatusUntil, p.MessageExpiresAt} {
				if at != nil && !at.After(testEpoch) {
					t.Fatalf("body %q: a time not in the future was kept: %v", body, at)
				}
			}
		case http.StatusBadRequest:
			checkError(t, r, 400, apperr.Invalid)
		default:
			t.Fatalf("body %q: %s", body, r)
		}
	})
}
