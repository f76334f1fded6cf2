package httpapi

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/auth"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/node"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

// The telephony endpoints of SPEC §10 (SIP login, call history,
// voicemail, forwarding) over HTTP, on both engines. Every answer is
// checked against openapi.json by the test server (checkAnswer).

// withVoicemailBlobs gives the server a blob store for voicemail audio and
// greetings, and a call service over it, as ForNode does with the node's.
func withVoicemailBlobs(t testing.TB, cfg *Config) {
	files, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	cfg.Blobs = files
	cfg.Calls = telephony.NewService(cfg.Store, files, cfg.Clock)
}

// testWAV is a short mono 8 kHz 16-bit PCM WAV file of a rising ramp.
func testWAV(samples int) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*samples))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(8000))
	le(uint32(16000))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * samples))
	for i := range samples {
		le(int16(i * 37))
	}
	return b.Bytes()
}

// seedVoicemail stores audio through the server's blob store and a
// voicemail for owner in the store, as the voicemail recorder will.
func (fx *fixture) seedVoicemail(t testing.TB, owner *person, from telephony.Peer, at time.Time, mediaType string, audio []byte) telephony.Voicemail {
	t.Helper()
	ctx := context.Background()
	id := account.NewID("vm")
	key := "voicemail/" + id
	if err := fx.api.cfg.Blobs.Put(ctx, key, bytes.NewReader(audio), int64(len(audio)), mediaType); err != nil {
		t.Fatal(err)
	}
	v := telephony.Voicemail{ID: id, OrgID: owner.OrgID, OwnerID: owner.ID, From: from, CreatedAt: at.Truncate(time.Millisecond),
		DurationMS: int64(len(audio)) / 16, BlobKey: key, MediaType: mediaType}
	if err := fx.st.InsertVoicemail(ctx, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func (fx *fixture) sip(t testing.TB, p *person) apitypes.SIPCredential {
	t.Helper()
	return mustJSON[apitypes.SIPCredential](t, fx.call(t, "GET", "/api/v1/me/sip", p.token(), nil), http.StatusOK)
}

// ha1 is the digest of username:realm:password as a registrar checks it.
func ha1(c apitypes.SIPCredential) (md5hex, sha256hex string) {
	a := c.Username + ":" + c.Domain + ":" + c.Password
	m, s := md5.Sum([]byte(a)), sha256.Sum256([]byte(a))
	return hex.EncodeToString(m[:]), hex.EncodeToString(s[:])
}

// TestSIPLogin: GET /me/sip is the caller's extension, the org's slug as
// domain, the registrar, and a password that stays the same across GETs
// and matches the HA1 the registrar finds by SIPLogin; orgs with the same
// extension get different logins; a user without an extension gets 409.
func TestSIPLogin(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		c := fx.sip(t, fx.ann)
		if c.Username != "101" || c.Domain != "acme" || c.Registrar != telephony.DefaultSIPAddr || len(c.Password) < 16 {
			t.Fatalf("ann's SIP login: %+v", c)
		}
		if again := fx.sip(t, fx.ann); again != c {
			t.Fatalf("a second GET changed the login: %+v, then %+v", c, again)
		}
		got, err := fx.st.SIPLogin(ctx, "acme", "101")
		if err != nil || got.UserID != fx.ann.ID || got.OrgID != fx.orgA.ID {
			t.Fatalf("SIPLogin(acme, 101): %+v %v", got, err)
		}
		if m, s := ha1(c); got.HA1MD5 != m || got.HA1SHA256 != s {
			t.Fatal("the stored HA1 does not match the password shown")
		}
		if bytes.Contains([]byte(got.HA1MD5+got.HA1SHA256), []byte(c.Password)) {
			t.Fatal("the password is stored in clear")
		}
		// Annika has extension 101 too, in globex.
		a := fx.sip(t, fx.annika)
		if a.Username != "101" || a.Domain != "globex" || a.Password == c.Password {
			t.Fatalf("annika's SIP login: %+v (ann's password %v)", a, a.Password == c.Password)
		}
		if got, err := fx.st.SIPLogin(ctx, "globex", "101"); err != nil || got.UserID != fx.annika.ID {
			t.Fatalf("SIPLogin(globex, 101): %+v %v", got, err)
		}
		if _, err := fx.st.SIPLogin(ctx, "acme", "555"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("globex's extension found in acme: %v", err)
		}
		checkError(t, fx.call(t, "GET", "/api/v1/me/sip", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
		checkError(t, fx.call(t, "POST", "/api/v1/me/sip/password", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)

		// Every user made through the API has an extension (the document
		// requires one, so the login answer would break it: the session
		// is opened through the auth service); one that has none has no
		// SIP login.
		hash, err := account.HashPassword(testPassword, cheapHash)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.st.CreateUsers(ctx, fx.orgA.ID, []account.HashedUser{{NewUser: account.NewUser{Name: "Dan Noext", Email: "dan@acme.test", Role: account.RoleMember}, PasswordHash: hash}}); err != nil {
			t.Fatal(err)
		}
		dan, err := fx.api.cfg.Auth.Login(ctx, auth.Login{Email: "dan@acme.test", Password: testPassword, DeviceName: "Laptop", Platform: "web"})
		if err != nil {
			t.Fatal(err)
		}
		checkError(t, fx.call(t, "GET", "/api/v1/me/sip", dan.Token, nil), http.StatusConflict, apperr.Conflict)
		checkError(t, fx.call(t, "POST", "/api/v1/me/sip/password", dan.Token, nil), http.StatusConflict, apperr.Conflict)
		if _, err := fx.st.SIPLogin(ctx, "acme", ""); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("a SIP login without an extension: %v", err)
		}
	})
}

// TestSIPPasswordRotation: POST /me/sip/password answers a new password;
// the old HA1 no longer matches; Bob's sessions of platform sip end (their
// stream told session.ended, their token dead) and his others stay.
func TestSIPPasswordRotation(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		old := fx.sip(t, fx.bob)
		phone := fx.login(t, "bob@acme.test", "Desk phone", "sip")
		mobile := fx.login(t, "bob@acme.test", "Phone", "mobile")
		annPhone := fx.login(t, "ann@acme.test", "Desk phone", "sip")
		c := dialEvents(t, ctx, fx.testEnv, phone.Token, "")
		readEventFrame(t, ctx, c) // hello
		readEventFrame(t, ctx, c) // snapshot

		rotated := mustJSON[apitypes.SIPCredential](t, fx.call(t, "POST", "/api/v1/me/sip/password", fx.bob.token(), nil), http.StatusOK)
		if rotated.Password == old.Password || rotated.Username != old.Username || rotated.Domain != old.Domain || rotated.Registrar != old.Registrar {
			t.Fatalf("rotated %+v from %+v", rotated, old)
		}
		for {
			if f := readEventFrame(t, ctx, c); f.Type == "session.ended" {
				if f.SessionID != phone.Session.ID {
					t.Fatalf("session.ended for %s, want %s", f.SessionID, phone.Session.ID)
				}
				break
			}
		}
		checkError(t, fx.call(t, "GET", "/api/v1/me", phone.Token, nil), http.StatusUnauthorized, apperr.Unauthenticated)
		for _, tok := range []string{fx.bob.token(), mobile.Token, annPhone.Token} {
			if r := fx.call(t, "GET", "/api/v1/me", tok, nil); r.Status != http.StatusOK {
				t.Fatalf("a session that is not Bob's phone ended: %s", r)
			}
		}
		sessions := mustJSON[apitypes.SessionList](t, fx.call(t, "GET", "/api/v1/sessions", fx.bob.token(), nil), http.StatusOK)
		for _, s := range sessions.Items {
			if s.Platform == "sip" {
				t.Fatalf("Bob still lists a sip session: %+v", s)
			}
		}
		if len(sessions.Items) != 2 {
			t.Fatalf("Bob's sessions: %+v", sessions.Items)
		}

		got, err := fx.st.SIPLogin(ctx, "acme", "102")
		if err != nil {
			t.Fatal(err)
		}
		if m, s := ha1(old); got.HA1MD5 == m || got.HA1SHA256 == s {
			t.Fatal("the old password still matches")
		}
		if m, s := ha1(rotated); got.HA1MD5 != m || got.HA1SHA256 != s {
			t.Fatal("the new password does not match")
		}
		if now := fx.sip(t, fx.bob); now != rotated {
			t.Fatalf("GET after rotating: %+v, want %+v", now, rotated)
		}
		if a := fx.sip(t, fx.ann); a.Password == rotated.Password {
			t.Fatal("Ann's password is Bob's")
		}
	})
}

// TestSIPRegistrar: /me/sip names --sip-addr, or, when it listens on
// every address, the host the request came in on with the SIP port.
func TestSIPRegistrar(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ sip, host, want string }{
		{"", "vo.example.com", telephony.DefaultSIPAddr},
		{"10.0.0.5:5060", "vo.example.com:443", "10.0.0.5:5060"},
		{"sip.example.com:5070", "vo.example.com", "sip.example.com:5070"},
		{"0.0.0.0:5060", "vo.example.com", "vo.example.com:5060"},
		{"0.0.0.0:5060", "vo.example.com:8443", "vo.example.com:5060"},
		{"[::]:5061", "[2001:db8::1]:8080", "[2001:db8::1]:5061"},
		{":5060", "192.0.2.7:8080", "192.0.2.7:5060"},
		{"0.0.0.0:5060", "", "0.0.0.0:5060"},
	} {
		if got := registrar(tc.sip, tc.host); got != tc.want {
			t.Errorf("registrar(%q, %q) = %q, want %q", tc.sip, tc.host, got, tc.want)
		}
	}
	clk := clock.NewFake(testEpoch)
	fx := newFixture(t, newTestEnv(t, storetest.Open(t, "sqlite", clk), clk, func(_ testing.TB, c *Config) { c.SIPAddr = "0.0.0.0:5070" }))
	u, err := url.Parse(fx.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := fx.sip(t, fx.ann).Registrar; got != u.Hostname()+":5070" {
		t.Fatalf("registrar %q, want %s:5070", got, u.Hostname())
	}
}

// TestForNodeTelephony: the HTTP API gets the node's blob store (voicemail
// audio) and SIP address.
func TestForNodeTelephony(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(testEpoch)
	files, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer files.Close()
	n, err := node.New(context.Background(), node.Config{Store: storetest.Open(t, "sqlite", clk), Clock: clk, HashParams: cheapHash, Blobs: files, SIPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	// The node runs its registrar there, on a free port, and names it.
	if c := ForNode(n); c.Blobs != blobs.Store(files) || c.SIPAddr != n.SIPAddr || strings.HasSuffix(c.SIPAddr, ":0") {
		t.Fatalf("ForNode: blobs %v, sip %q", c.Blobs, c.SIPAddr)
	}
	n2, err := node.New(context.Background(), node.Config{Store: storetest.Open(t, "sqlite", clk), Clock: clk, HashParams: cheapHash})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if c := ForNode(n2); c.Blobs != nil || c.SIPAddr != telephony.DefaultSIPAddr {
		t.Fatalf("ForNode without: blobs %v, sip %q", c.Blobs, c.SIPAddr)
	}
}

func callIDs(l apitypes.CallList) []string {
	out := make([]string, len(l.Items))
	for i, c := range l.Items {
		out[i] = c.ID
	}
	return out
}

// TestCallHistory: GET /calls is the caller's own calls, newest first,
// paged; a call still up has null answered_at, ended_at and result.
func TestCallHistory(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		list := func(p *person, query string) apitypes.CallList {
			t.Helper()
			return mustJSON[apitypes.CallList](t, fx.call(t, "GET", "/api/v1/calls"+query, p.token(), nil), http.StatusOK)
		}
		if l := list(fx.ann, ""); len(l.Items) != 0 || l.NextCursor != nil {
			t.Fatalf("no calls yet: %+v", l)
		}
		insert := func(p *person, c telephony.Call) telephony.Call {
			t.Helper()
			c.ID, c.OrgID, c.OwnerID = account.NewID("call"), p.OrgID, p.ID
			if err := fx.st.InsertCall(ctx, c); err != nil {
				t.Fatal(err)
			}
			return c
		}
		at := func(min int) time.Time { return testEpoch.Add(time.Duration(min) * time.Minute) }
		bobPeer := telephony.Peer{UserID: fx.bob.ID, Number: "102", Name: "Bob Stone"}
		answered := insert(fx.ann, telephony.Call{Direction: telephony.Out, Peer: bobPeer, StartedAt: at(1), AnsweredAt: at(1).Add(3 * time.Second), EndedAt: at(5), Result: telephony.Answered})
		missed := insert(fx.ann, telephony.Call{Direction: telephony.In, Peer: telephony.Peer{Number: "+14155559999"}, StartedAt: at(10), EndedAt: at(10).Add(20 * time.Second), Result: telephony.Missed})
		vm := insert(fx.ann, telephony.Call{Direction: telephony.In, Peer: bobPeer, StartedAt: at(7), EndedAt: at(8), Result: telephony.VoicemailLeft})
		up := insert(fx.ann, telephony.Call{Direction: telephony.In, Peer: bobPeer, StartedAt: at(20), AnsweredAt: at(20).Add(time.Second)})
		insert(fx.bob, telephony.Call{Direction: telephony.In, Peer: telephony.Peer{UserID: fx.ann.ID, Number: "101", Name: "Ann Lee"}, StartedAt: at(30), Result: telephony.Answered, EndedAt: at(31)})
		insert(fx.annika, telephony.Call{Direction: telephony.Out, Peer: telephony.Peer{Number: "555"}, StartedAt: at(40), EndedAt: at(41), Result: telephony.Declined})

		l := list(fx.ann, "")
		if got, want := callIDs(l), []string{up.ID, missed.ID, vm.ID, answered.ID}; fmt.Sprint(got) != fmt.Sprint(want) || l.NextCursor != nil {
			t.Fatalf("Ann's calls %v, want newest first %v (next %v)", got, want, l.NextCursor)
		}
		if c := l.Items[0]; c.Result != nil || c.EndedAt != nil || c.AnsweredAt == nil || c.Direction != "in" || c.Peer.UserID == nil || *c.Peer.UserID != fx.bob.ID {
			t.Fatalf("the call still up: %+v", c)
		}
		if c := l.Items[1]; c.Result == nil || *c.Result != "missed" || c.AnsweredAt != nil || c.Peer.UserID != nil || c.Peer.Number != "+14155559999" || c.Peer.Name != nil {
			t.Fatalf("the missed call from outside: %+v", c)
		}
		if c := l.Items[3]; c.Result == nil || *c.Result != "answered" || !c.StartedAt.Equal(at(1)) || c.EndedAt == nil || !c.EndedAt.Equal(at(5)) ||
			c.Peer.Name == nil || *c.Peer.Name != "Bob Stone" || c.Direction != "out" {
			t.Fatalf("the answered call: %+v", c)
		}
		// Paged: two, then two, then the end.
		p1 := list(fx.ann, "?limit=2")
		if got := callIDs(p1); fmt.Sprint(got) != fmt.Sprint([]string{up.ID, missed.ID}) || p1.NextCursor == nil {
			t.Fatalf("first page %v, next %v", got, p1.NextCursor)
		}
		p2 := list(fx.ann, "?limit=2&cursor="+url.QueryEscape(*p1.NextCursor))
		if got := callIDs(p2); fmt.Sprint(got) != fmt.Sprint([]string{vm.ID, answered.ID}) {
			t.Fatalf("second page %v", got)
		}
		if p2.NextCursor != nil {
			if p3 := list(fx.ann, "?limit=2&cursor="+url.QueryEscape(*p2.NextCursor)); len(p3.Items) != 0 || p3.NextCursor != nil {
				t.Fatalf("past the end: %+v", p3)
			}
		}
		// Each sees only their own.
		if l := list(fx.bob, ""); len(l.Items) != 1 || l.Items[0].Peer.Number != "101" {
			t.Fatalf("Bob's calls: %+v", l)
		}
		if l := list(fx.annika, ""); len(l.Items) != 1 || *l.Items[0].Result != "declined" {
			t.Fatalf("Annika's calls: %+v", l)
		}
		if l := list(fx.carla, ""); len(l.Items) != 0 {
			t.Fatalf("carla's calls: %+v", l)
		}
		for _, q := range []string{"?limit=0", "?limit=many", "?limit=100000", "?cursor=not-a-cursor"} {
			checkError(t, fx.call(t, "GET", "/api/v1/calls"+q, fx.ann.token(), nil), http.StatusBadRequest, apperr.Invalid)
		}
		checkError(t, fx.call(t, "GET", "/api/v1/calls", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
	})
}

func vmIDs(l apitypes.VoicemailList) []string {
	out := make([]string, len(l.Items))
	for i, v := range l.Items {
		out[i] = v.ID
	}
	return out
}

// TestVoicemails: the owner lists (newest first, paged), plays (audio/wav
// or audio/ogg as stored, nosniff), marks heard and unheard, and deletes
// (204, then 404 on every verb, the audio gone); anyone else's voicemail,
// in the org or not, is 404 on every verb and untouched; bad bodies are
// 400 and change nothing.
func TestVoicemails(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		wav, ogg := testWAV(4000), append([]byte("OggS"), make([]byte, 60)...)
		at := func(min int) time.Time { return testEpoch.Add(time.Duration(min) * time.Minute) }
		fromBob := fx.seedVoicemail(t, fx.ann, telephony.Peer{UserID: fx.bob.ID, Number: "102", Name: "Bob Stone"}, at(1), "audio/wav", wav)
		fromOutside := fx.seedVoicemail(t, fx.ann, telephony.Peer{Number: "+14155559999"}, at(3), "audio/ogg", ogg)
		older := fx.seedVoicemail(t, fx.ann, telephony.Peer{Number: "+14155558888"}, at(0), "audio/wav", wav[:1044])
		bobs := fx.seedVoicemail(t, fx.bob, telephony.Peer{UserID: fx.ann.ID, Number: "101", Name: "Ann Lee"}, at(2), "audio/wav", wav)
		annikas := fx.seedVoicemail(t, fx.annika, telephony.Peer{Number: "555"}, at(2), "audio/wav", wav)

		list := func(p *person, query string) apitypes.VoicemailList {
			t.Helper()
			return mustJSON[apitypes.VoicemailList](t, fx.call(t, "GET", "/api/v1/voicemails"+query, p.token(), nil), http.StatusOK)
		}
		if l := list(fx.carla, ""); len(l.Items) != 0 || l.NextCursor != nil {
			t.Fatalf("carla has voicemail: %+v", l)
		}
		l := list(fx.ann, "")
		if got, want := vmIDs(l), []string{fromOutside.ID, fromBob.ID, older.ID}; fmt.Sprint(got) != fmt.Sprint(want) || l.NextCursor != nil {
			t.Fatalf("Ann's voicemails %v, want newest first %v", got, want)
		}
		if v := l.Items[1]; v.Heard || v.DurationMs != fromBob.DurationMS || !v.CreatedAt.Equal(at(1)) || v.From.UserID == nil || *v.From.UserID != fx.bob.ID ||
			v.From.Number != "102" || v.From.Name == nil || *v.From.Name != "Bob Stone" {
			t.Fatalf("Bob's voicemail to Ann: %+v", v)
		}
		if v := l.Items[0]; v.From.UserID != nil || v.From.Name != nil || v.From.Number != "+14155559999" {
			t.Fatalf("the voicemail from outside: %+v", v)
		}
		p1 := list(fx.ann, "?limit=2")
		if got := vmIDs(p1); fmt.Sprint(got) != fmt.Sprint([]string{fromOutside.ID, fromBob.ID}) || p1.NextCursor == nil {
			t.Fatalf("first page %v, next %v", got, p1.NextCursor)
		}
		if p2 := list(fx.ann, "?limit=2&cursor="+url.QueryEscape(*p1.NextCursor)); fmt.Sprint(vmIDs(p2)) != fmt.Sprint([]string{older.ID}) || p2.NextCursor != nil {
			t.Fatalf("second page %+v", p2)
		}
		checkError(t, fx.call(t, "GET", "/api/v1/voicemails?limit=0", fx.ann.token(), nil), http.StatusBadRequest, apperr.Invalid)
		checkError(t, fx.call(t, "GET", "/api/v1/voicemails", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)

		// The audio, as stored.
		for _, tc := range []struct {
			v    telephony.Voicemail
			ct   string
			body []byte
		}{{fromBob, "audio/wav", wav}, {fromOutside, "audio/ogg", ogg}} {
			r := fx.call(t, "GET", "/api/v1/voicemails/"+tc.v.ID+"/audio", fx.ann.token(), nil)
			if r.Status != http.StatusOK || r.Header.Get("Content-Type") != tc.ct || r.Header.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(r.Body, tc.body) {
				t.Fatalf("audio of %s: %d %q %q, %d bytes", tc.v.ID, r.Status, r.Header.Get("Content-Type"), r.Header.Get("X-Content-Type-Options"), len(r.Body))
			}
		}

		// Heard, and back.
		patch := func(id, body string) httpAnswer {
			return fx.call(t, "PATCH", "/api/v1/voicemails/"+id, fx.ann.token(), body)
		}
		if v := mustJSON[apitypes.Voicemail](t, patch(fromBob.ID, `{"heard":true}`), http.StatusOK); v.ID != fromBob.ID || !v.Heard {
			t.Fatalf("marked heard: %+v", v)
		}
		if v := list(fx.ann, "").Items[1]; !v.Heard {
			t.Fatalf("heard not kept: %+v", v)
		}
		if v := mustJSON[apitypes.Voicemail](t, patch(fromBob.ID, `{"heard":false}`), http.StatusOK); v.Heard {
			t.Fatalf("marked unheard: %+v", v)
		}
		if v := mustJSON[apitypes.Voicemail](t, patch(older.ID, `{"heard":true}`), http.StatusOK); !v.Heard {
			t.Fatalf("older marked heard: %+v", v)
		}

		// Bad bodies: 400, nothing changed.
		before := fx.call(t, "GET", "/api/v1/voicemails", fx.ann.token(), nil)
		for _, body := range []string{`{}`, `{"heard":null}`, `{"heard":"yes"}`, `{"heard":1}`, `[true]`, `true`, `not json`, `{"heard":true`} {
			checkError(t, patch(fromBob.ID, body), http.StatusBadRequest, apperr.Invalid)
		}
		r := fx.do(t, "PATCH", "/api/v1/voicemails/"+fromBob.ID, bytes.NewReader([]byte(`{"heard":true}`)), map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": "text/plain"})
		checkError(t, r, http.StatusUnsupportedMediaType, apperr.UnsupportedMediaType)
		if after := fx.call(t, "GET", "/api/v1/voicemails", fx.ann.token(), nil); !bytes.Equal(before.Body, after.Body) {
			t.Fatalf("a refused patch changed the list:\n%s\n%s", before.Body, after.Body)
		}

		// Anyone else's: 404 on every verb, and untouched.
		for _, tc := range []struct {
			who *person
			v   telephony.Voicemail
		}{{fx.ann, bobs}, {fx.ann, annikas}, {fx.bob, fromBob}, {fx.annika, fromBob}, {fx.bobT, annikas}} {
			base := "/api/v1/voicemails/" + tc.v.ID
			checkError(t, fx.call(t, "PATCH", base, tc.who.token(), `{"heard":true}`), http.StatusNotFound, apperr.NotFound)
			checkError(t, fx.call(t, "GET", base+"/audio", tc.who.token(), nil), http.StatusNotFound, apperr.NotFound)
			checkError(t, fx.call(t, "DELETE", base, tc.who.token(), nil), http.StatusNotFound, apperr.NotFound)
		}
		for _, p := range []*person{fx.ann, fx.bob} {
			checkError(t, fx.call(t, "PATCH", "/api/v1/voicemails/vm_nope", p.token(), `{"heard":true}`), http.StatusNotFound, apperr.NotFound)
			checkError(t, fx.call(t, "GET", "/api/v1/voicemails/vm_nope/audio", p.token(), nil), http.StatusNotFound, apperr.NotFound)
			checkError(t, fx.call(t, "DELETE", "/api/v1/voicemails/vm_nope", p.token(), nil), http.StatusNotFound, apperr.NotFound)
		}
		for _, tc := range []struct {
			p *person
			v telephony.Voicemail
		}{{fx.bob, bobs}, {fx.annika, annikas}} {
			l := list(tc.p, "")
			if len(l.Items) != 1 || l.Items[0].ID != tc.v.ID || l.Items[0].Heard {
				t.Fatalf("%s's voicemail after the others tried: %+v", tc.p.Name, l)
			}
			if r := fx.call(t, "GET", "/api/v1/voicemails/"+tc.v.ID+"/audio", tc.p.token(), nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, wav) {
				t.Fatalf("%s's audio after the others tried: %d, %d bytes", tc.p.Name, r.Status, len(r.Body))
			}
		}
		checkError(t, fx.call(t, "DELETE", "/api/v1/voicemails/"+fromBob.ID, "", nil), http.StatusUnauthorized, apperr.Unauthenticated)

		// Delete: 204, then gone everywhere.
		fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/voicemails/"+fromBob.ID, nil, http.StatusNoContent)
		base := "/api/v1/voicemails/" + fromBob.ID
		checkError(t, fx.call(t, "DELETE", base, fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)
		checkError(t, fx.call(t, "PATCH", base, fx.ann.token(), `{"heard":true}`), http.StatusNotFound, apperr.NotFound)
		checkError(t, fx.call(t, "GET", base+"/audio", fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)
		if got := vmIDs(list(fx.ann, "")); fmt.Sprint(got) != fmt.Sprint([]string{fromOutside.ID, older.ID}) {
			t.Fatalf("after delete: %v", got)
		}
		if rc, _, err := fx.api.cfg.Blobs.Open(ctx, fromBob.BlobKey); err == nil {
			rc.Close()
			t.Fatal("the deleted voicemail's audio is still stored")
		}
	}, withVoicemailBlobs)
}

// TestVoicemailAudioWithoutBlobs: a server without a blob store answers
// 404 for the audio, not 500.
func TestVoicemailAudioWithoutBlobs(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	v := telephony.Voicemail{ID: account.NewID("vm"), OrgID: fx.ann.OrgID, OwnerID: fx.ann.ID, From: telephony.Peer{Number: "102"},
		CreatedAt: testEpoch, DurationMS: 1000, BlobKey: "voicemail/x", MediaType: "audio/wav"}
	if err := fx.st.InsertVoicemail(context.Background(), v); err != nil {
		t.Fatal(err)
	}
	checkError(t, fx.call(t, "GET", "/api/v1/voicemails/"+v.ID+"/audio", fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)
}

// TestForwarding: GET is off until set; PUT stores always or unanswered to
// another extension of the org, off clears the target; a bad mode or
// target, an extension nobody (or another org) has, or one's own is 400
// and changes nothing. What Do not disturb does to a forwarded call is the
// domain's (telephony.Route, its table test).
func TestForwarding(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		get := func(p *person) apitypes.Forwarding {
			t.Helper()
			return mustJSON[apitypes.Forwarding](t, fx.call(t, "GET", "/api/v1/me/forwarding", p.token(), nil), http.StatusOK)
		}
		put := func(p *person, body string) httpAnswer {
			return fx.call(t, "PUT", "/api/v1/me/forwarding", p.token(), body)
		}
		if f := get(fx.ann); f.Mode != "off" || f.Target != nil {
			t.Fatalf("default forwarding: %+v", f)
		}
		if f := mustJSON[apitypes.Forwarding](t, put(fx.ann, `{"mode":"always","target":"102"}`), http.StatusOK); f.Mode != "always" || f.Target == nil || *f.Target != "102" {
			t.Fatalf("put always: %+v", f)
		}
		if f := get(fx.ann); f.Mode != "always" || f.Target == nil || *f.Target != "102" {
			t.Fatalf("get after always: %+v", f)
		}
		if f := mustJSON[apitypes.Forwarding](t, put(fx.ann, `{"mode":"unanswered","target":" 2001 "}`), http.StatusOK); f.Mode != "unanswered" || f.Target == nil || *f.Target != "2001" {
			t.Fatalf("put unanswered: %+v", f)
		}
		if f := get(fx.bob); f.Mode != "off" {
			t.Fatalf("Bob's forwarding moved with Ann's: %+v", f)
		}

		before := get(fx.ann)
		for _, body := range []string{
			`{"mode":"sometimes","target":"102"}`,
			`{"target":"102"}`,
			`{"mode":"always"}`,
			`{"mode":"always","target":""}`,
			`{"mode":"always","target":"1"}`,
			`{"mode":"always","target":"12345678901"}`,
			`{"mode":"always","target":"abc"}`,
			`{"mode":"always","target":102}`,
			`{"mode":"always","target":"999"}`, // nobody's extension
			`{"mode":"always","target":"555"}`, // Bob Tanaka's, in globex
			`{"mode":"always","target":"101"}`, // her own
			`{"mode":null}`,
			`[]`,
			`not json`,
			``,
		} {
			r := put(fx.ann, body)
			if body == "" {
				r = fx.do(t, "PUT", "/api/v1/me/forwarding", nil, map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": "application/json"})
			}
			if r.Status != http.StatusBadRequest {
				t.Fatalf("PUT %s: %s, want 400", body, r)
			}
			checkError(t, r, http.StatusBadRequest, apperr.Invalid)
		}
		r := fx.do(t, "PUT", "/api/v1/me/forwarding", bytes.NewReader([]byte(`{"mode":"off"}`)), map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": "text/plain"})
		checkError(t, r, http.StatusUnsupportedMediaType, apperr.UnsupportedMediaType)
		checkError(t, fx.call(t, "PUT", "/api/v1/me/forwarding", "", `{"mode":"off"}`), http.StatusUnauthorized, apperr.Unauthenticated)
		checkError(t, fx.call(t, "GET", "/api/v1/me/forwarding", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
		if after := get(fx.ann); fmt.Sprint(after.Mode, *after.Target) != fmt.Sprint(before.Mode, *before.Target) {
			t.Fatalf("a refused PUT changed forwarding: %+v, was %+v", after, before)
		}

		// Globex's 101 may forward to globex's 555, not to acme's 102.
		if f := mustJSON[apitypes.Forwarding](t, put(fx.annika, `{"mode":"always","target":"555"}`), http.StatusOK); *f.Target != "555" {
			t.Fatalf("annika forwards: %+v", f)
		}
		checkError(t, put(fx.annika, `{"mode":"always","target":"102"}`), http.StatusBadRequest, apperr.Invalid)

		// Off clears the target.
		if f := mustJSON[apitypes.Forwarding](t, put(fx.ann, `{"mode":"off","target":"102"}`), http.StatusOK); f.Mode != "off" || f.Target != nil {
			t.Fatalf("put off: %+v", f)
		}
		if f := get(fx.ann); f.Mode != "off" || f.Target != nil {
			t.Fatalf("get after off: %+v", f)
		}
	})
}
