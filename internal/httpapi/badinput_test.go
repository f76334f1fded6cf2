package httpapi

// Bad input (SPEC §3, §7): every malformed, mistyped, out-of-range or
// oversized request gets the SPEC error body with the right code, and
// leaves stored data exactly as it was.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
)

func TestBadInput(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		const pw = testPassword
		// user builds an admin create body from a valid one with one field
		// replaced by raw JSON.
		user := func(field, raw string) string {
			f := map[string]string{"name": `"Dora Diaz"`, "email": `"dora@acme.test"`, "extension": `"103"`,
				"phone_number": `"+14155550103"`, "role": `"member"`, "password": `"` + pw + `"`}
			f[field] = raw
			var b strings.Builder
			b.WriteString("{")
			for i, k := range []string{"name", "email", "extension", "phone_number", "role", "password"} {
				if i > 0 {
					b.WriteString(",")
				}
				fmt.Fprintf(&b, "%q:%s", k, f[k])
			}
			b.WriteString("}")
			return b.String()
		}
		q := func(s string) string { return fmt.Sprintf("%q", s) }
		huge := func(prefix string) string { return prefix + strings.Repeat("a", MaxJSONBody) + `"}` }

		type row struct {
			name   string
			body   string
			status int
			code   apperr.Code
			// what the message must name
			content string
			ctype   string // "" means application/json, "none" sends none
			chunked bool
		}
		invalid := func(name, body, content string) row { return row{name, body, 400, apperr.Invalid, content, "", false} }
		endpoints := []struct {
			method, url, token string
			rows               []row
		}{
			{"POST", "/api/v1/auth/login", "", []row{
				invalid("malformed JSON", `{"email":`, ""),
				invalid("not an object", `["ann@acme.test"]`, ""),
				invalid("a string", `"ann@acme.test"`, ""),
				invalid("empty body", ``, ""),
				invalid("only spaces", "  \n ", ""),
				invalid("two objects", `{"platform":"web"} {"platform":"web"}`, ""),
				invalid("trailing garbage", `{"email":"ann@acme.test","password":"`+pw+`","platform":"web"}x`, ""),
				invalid("email is a number", `{"email":5,"password":"`+pw+`","platform":"web"}`, "email"),
				invalid("password is an object", `{"email":"ann@acme.test","password":{},"platform":"web"}`, "password"),
				invalid("platform tv", `{"email":"ann@acme.test","password":"`+pw+`","platform":"tv"}`, "platform"),
				invalid("platform missing", `{"email":"ann@acme.test","password":"`+pw+`"}`, "platform"),
				invalid("platform in capitals", `{"email":"ann@acme.test","password":"`+pw+`","platform":"WEB"}`, "platform"),
				invalid("device name of 101 characters", `{"email":"ann@acme.test","password":"`+pw+`","platform":"web","device_name":"`+strings.Repeat("d", 101)+`"}`, "device_name"),
				invalid("password of invalid UTF-8", "{\"email\":\"ann@acme.test\",\"password\":\"\xff\xfe\",\"platform\":\"web\"}", "UTF-8"),
				invalid("device name with a lone surrogate", `{"email":"ann@acme.test","password":"`+pw+`","platform":"web","device_name":"\udfff"}`, "surrogate"),
				invalid("device name with a control character", `{"email":"ann@acme.test","password":"`+pw+`","platform":"web","device_name":"a\u0007b"}`, "device_name"),
				{"wrong Content-Type", `{"email":"ann@acme.test","password":"` + pw + `","platform":"web"}`, 415, apperr.UnsupportedMediaType, "", "text/plain", false},
				{"a form", `email=ann%40acme.test&password=x`, 415, apperr.UnsupportedMediaType, "", "application/x-www-form-urlencoded", false},
				{"no Content-Type", `{"email":"ann@acme.test","password":"` + pw + `","platform":"web"}`, 415, apperr.UnsupportedMediaType, "", "none", false},
				{"over 1 MiB", huge(`{"email":"`), 413, apperr.TooLarge, "", "", false},
				{"over 1 MiB, chunked", huge(`{"email":"`), 413, apperr.TooLarge, "", "", true},
			}},
			{"PUT", "/api/v1/me/presence", fx.ann.token(), []row{
				invalid("malformed JSON", `{"status":"busy"`, ""),
				invalid("null body", `null`, ""),
				invalid("an array", `[{"status":"busy"}]`, ""),
				invalid("status happy", `{"status":"happy"}`, "status"),
				invalid("status empty", `{"status":""}`, "status"),
				invalid("status in capitals", `{"status":"BUSY"}`, "status"),
				invalid("status a number", `{"status":5}`, "status"),
				invalid("status a list", `{"status":["busy"]}`, "status"),
				invalid("message of 141 code points", `{"message":"`+strings.Repeat("é", 141)+`"}`, "message"),
				invalid("message of 141 ASCII characters", `{"message":"`+strings.Repeat("m", 141)+`"}`, "message"),
				invalid("message with a control character", `{"message":"line\nbreak"}`, "message"),
				invalid("message with NUL", `{"message":"a\u0000b"}`, "message"),
				invalid("message a number", `{"message":140}`, "message"),
				invalid("status_until in the past", `{"status":"dnd","status_until":"2001-01-01T00:00:00Z"}`, ""),
				invalid("status_until now", `{"status":"dnd","status_until":`+q(testEpoch.Format(time.RFC3339))+`}`, ""),
				invalid("status_until not a time", `{"status":"dnd","status_until":"tomorrow"}`, "status_until"),
				invalid("status_until a number", `{"status":"dnd","status_until":1893456000}`, "status_until"),
				invalid("status_until without a zone", `{"status":"dnd","status_until":"2031-01-01T00:00:00"}`, "status_until"),
				invalid("message_expires_at in the past", `{"message":"hi","message_expires_at":"2020-01-01T00:00:00Z"}`, ""),
				invalid("status_until in the year one, not null", `{"status":"dnd","status_until":"0001-01-01T00:00:00Z"}`, "future"),
				invalid("message_expires_at in the year one", `{"message":"hi","message_expires_at":"0001-01-01T00:00:00Z"}`, "future"),
				invalid("status_until in the year 10000 UTC", `{"status":"dnd","status_until":"9999-12-31T23:59:59-01:00"}`, "10000"),
				invalid("message_expires_at in the year 10000 UTC", `{"message":"hi","message_expires_at":"9999-12-31T23:30:00-00:45"}`, "10000"),
				invalid("message with a right-to-left override", `{"message":"txt.\u202Eexe"}`, "bidirectional"),
				invalid("message with a raw right-to-left isolate", "{\"message\":\"a \u2067b\"}", "bidirectional"),
				invalid("message of a zero-width space", `{"message":"\u200b"}`, "visible"),
				invalid("message of invalid UTF-8", "{\"message\":\"caf\xe9\"}", "UTF-8"),
				invalid("message with an overlong encoding", "{\"message\":\"\xc0\xaf\"}", "UTF-8"),
				invalid("message with a lone high surrogate", `{"message":"a\ud83d b"}`, "surrogate"),
				invalid("message with a lone low surrogate", `{"message":"\uDE00"}`, "surrogate"),
				invalid("message with the halves reversed", `{"message":"\ude00\ud83d"}`, "surrogate"),
				invalid("a lone surrogate in a field name", `{"st\ud800atus":"busy"}`, "surrogate"),
				invalid("message of zero-width characters and spaces", `{"message":" \u200d\u2060 \ufeff "}`, "visible"),
				invalid("a good status with a bad message", `{"status":"busy","message":"`+strings.Repeat("x", 200)+`"}`, "message"),
				{"wrong Content-Type", `{"status":"busy"}`, 415, apperr.UnsupportedMediaType, "", "text/json", false},
				{"unparsable Content-Type", `{"status":"busy"}`, 415, apperr.UnsupportedMediaType, "", "application/json; =", false},
				{"no Content-Type", `{"status":"busy"}`, 415, apperr.UnsupportedMediaType, "", "none", false},
				invalid("exactly 1 MiB: read whole, refused for its content", `{"message":"`+strings.Repeat("m", MaxJSONBody-14)+`"}`, "message"),
				{"over 1 MiB", huge(`{"message":"`), 413, apperr.TooLarge, "", "", false},
				{"over 1 MiB, chunked", huge(`{"message":"`), 413, apperr.TooLarge, "", "", true},
			}},
			{"POST", "/api/v1/admin/users", fx.ann.token(), []row{
				invalid("malformed JSON", `{"name":"Dora"`, ""),
				invalid("email is a number", user("email", `5`), "email"),
				invalid("extension is a number", user("extension", `103`), "extension"),
				invalid("role root", user("role", `"root"`), "role"),
				invalid("role Admin", user("role", `"Admin"`), "role"),
				invalid("name of 101 characters", user("name", q(strings.Repeat("n", 101))), "name"),
				invalid("name of 101 code points", user("name", q(strings.Repeat("ñ", 101))), "name"),
				invalid("name empty", user("name", `"   "`), "name"),
				invalid("name with a control character", user("name", `"Dora\u0000Diaz"`), "name"),
				invalid("email without @", user("email", `"dora.acme.test"`), "email"),
				invalid("email without a domain", user("email", `"dora@"`), "email"),
				invalid("email without a local part", user("email", `"@acme.test"`), "email"),
				invalid("email without a dot in the domain", user("email", `"dora@localhost"`), "email"),
				invalid("email with a display name", user("email", `"Dora <dora@acme.test>"`), "email"),
				invalid("email with a space", user("email", `"dora diaz@acme.test"`), "email"),
				invalid("email of 255 characters", user("email", q(strings.Repeat("d", 245)+"@acme.test")), "email"),
				invalid("extension 1", user("extension", `"1"`), "extension"),
				invalid("extension 123456789", user("extension", `"123456789"`), "extension"),
				invalid("extension 12a", user("extension", `"12a"`), "extension"),
				invalid("extension empty", user("extension", `""`), "extension"),
				invalid("extension in Arabic digits", user("extension", `"١٠٣"`), "extension"),
				invalid("number +123", user("phone_number", `"+123"`), "phone_number"),
				invalid("number without +", user("phone_number", `"14155550101"`), "phone_number"),
				invalid("number starting with 0", user("phone_number", `"+0123456789"`), "phone_number"),
				invalid("number of 16 digits", user("phone_number", `"+1234567890123456"`), "phone_number"),
				invalid("number with a letter", user("phone_number", `"+1415555010a"`), "phone_number"),
				invalid("number a number", user("phone_number", `14155550101`), "phone_number"),
				invalid("password of 9 characters", user("password", `"123456789"`), "password"),
				invalid("password of 9 code points", user("password", q(strings.Repeat("é", 9))), "password"),
				invalid("password of 300 bytes", user("password", q(strings.Repeat("p", 300))), "password"),
				invalid("password missing", `{"name":"Dora Diaz","email":"dora@acme.test","extension":"103"}`, "password"),
				{"wrong Content-Type", user("role", `"member"`), 415, apperr.UnsupportedMediaType, "", "multipart/form-data; boundary=x", false},
				{"no Content-Type", user("role", `"member"`), 415, apperr.UnsupportedMediaType, "", "none", false},
				{"over 1 MiB", huge(`{"name":"`), 413, apperr.TooLarge, "", "", false},
				{"over 1 MiB, chunked", huge(`{"name":"`), 413, apperr.TooLarge, "", "", true},
			}},
		}

		before := fx.stored(t)
		for _, ep := range endpoints {
			for _, rw := range ep.rows {
				t.Run(ep.method+" "+ep.url+" "+rw.name, func(t *testing.T) {
					hdr := map[string]string{}
					if ep.token != "" {
						hdr["Authorization"] = "Bearer " + ep.token
					}
					switch rw.ctype {
					case "":
					case "none":
						hdr["Content-Type"] = "" // apiScenario sends none
					default:
						hdr["Content-Type"] = rw.ctype
					}
					sc := apiScenario{Method: ep.method, URL: ep.url, Body: rw.body, Chunked: rw.chunked, Headers: hdr,
						ExpectedStatus: rw.status, ExpectedError: rw.code}
					if rw.content != "" {
						sc.ExpectedContent = []string{rw.content}
					}
					if rw.body == "" {
						sc.Headers["Content-Type"] = "application/json"
					}
					sc.run(t, fx.testEnv)
					if after := fx.stored(t); after != before {
						t.Fatalf("the refused request changed stored data:\nbefore %s\nafter  %s", before, after)
					}
				})
			}
		}

		// The same check notices a real change: the last accepted message.
		t.Run("the check sees an accepted change", func(t *testing.T) {
			r := fx.call(t, "PUT", "/api/v1/me/presence", fx.ann.token(), `{"message":"`+strings.Repeat("é", 140)+`"}`)
			if p := mustJSON[apitypes.Presence](t, r, 200); p.Message == nil || len([]rune(*p.Message)) != 140 {
				t.Fatalf("message of 140 code points stored as %s", r.Body)
			}
			if fx.stored(t) == before {
				t.Fatal("stored() did not notice an accepted change")
			}
		})
	})
}

// TestBodyRefusedBeforeReadWhole shows that an oversized JSON body is
// refused without the server waiting for (or reading) all of it: the
// client sends only part of what it announces and still gets 413.
func TestBodyRefusedBeforeReadWhole(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	for _, tc := range []struct {
		name string
		head string
		sent int // body bytes actually sent
	}{
		{"Content-Length of 100 MiB, nothing sent", "Content-Length: 104857600\r\n", 0},
		// The chunk announces 100 MiB; a bit more than the limit (and the
		// 256 KiB net/http may drain) is sent, then the client waits.
		{"one chunk of 100 MiB, 1.5 MiB sent", "Transfer-Encoding: chunked\r\n", 3 << 19},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", fx.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(20 * time.Second)) // a hang fails instead of stalling
			req := "PUT /api/v1/me/presence HTTP/1.1\r\nHost: vo\r\nAuthorization: Bearer " + fx.bob.token() + "\r\nContent-Type: application/json\r\n" + tc.head + "\r\n"
			if tc.sent > 0 {
				req += "6400000\r\n"
			}
			go func() {
				w := bufio.NewWriter(conn)
				w.WriteString(req)
				if tc.sent > 0 {
					w.WriteString(`{"message":"` + strings.Repeat("a", tc.sent-12))
				}
				w.Flush()
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer before the whole body: %v", err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, httpAnswer{Status: res.StatusCode, Header: res.Header, Body: b}, 413, apperr.TooLarge)
		})
	}
	if me := mustJSON[apitypes.Me](t, fx.call(t, "GET", "/api/v1/me", fx.bob.token(), nil), 200); me.Presence.Message != nil {
		t.Errorf("message %q after refused bodies", *me.Presence.Message)
	}
}

func TestLoneSurrogate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		json string
		lone bool
	}{
		{`{"m":"plain"}`, false},
		{`{"m":"\ud83d\ude00 a pair"}`, false},
		{`{"m":"\uD83D\uDE00"}`, false},
		{`{"m":"\u00e9\u200b\uffff"}`, false},
		{`{"m":"\\ud800 is an escaped backslash, then text"}`, false},
		{`{"m":"\"\ud800"}`, true},
		{`{"m":"\ud800"}`, true},
		{`{"m":"\udc00"}`, true},
		{`{"m":"\ud800\u0041"}`, true},
		{`{"m":"\ud800\ud800"}`, true},
		{`{"m":"\ud800x\udc00"}`, true},
		{`{"m":"\ud83d`, true}, // cut short
		{`{"m":"\u12`, false},  // malformed: for the decoder to refuse
		{`{"m":"\`, false},
		{`"\ud800" is outside`, true},
	} {
		if got := loneSurrogate([]byte(tc.json)); got != tc.lone {
			t.Errorf("loneSurrogate(%s) = %v, want %v", tc.json, got, tc.lone)
		}
	}
}
