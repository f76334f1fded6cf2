package bench

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"vo/internal/storetest"
	"vo/internal/votest"
)

// TestMeasureSIP runs `vo bench sip`'s load, short, against a node's
// registrar: every user gets its login from GET /me/sip, registers once,
// then over and over through the digest challenge, and nothing fails.
// With VO_REQUIRE_KAMAILIO set the same load runs against Debian's
// kamailio too.
func TestMeasureSIP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0"})
	const users = 40
	seeded, err := Seed(ctx, n.Store, users)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := SIPLogins(ctx, n.HTTP.URL, seeded.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	tg.Name, tg.Addr = "vo", n.SIP.Addr()
	if len(tg.Users) != users || tg.Realm != "bench" {
		t.Fatalf("logins: %d users in realm %q", len(tg.Users), tg.Realm)
	}
	o := SIPOptions{Concurrency: 8, Duration: 500 * time.Millisecond}
	targets := []SIPTarget{tg}
	if os.Getenv("VO_REQUIRE_KAMAILIO") != "" {
		exe, err := exec.LookPath("kamailio")
		if err != nil {
			t.Fatalf("VO_REQUIRE_KAMAILIO is set: %v (make bench-peers)", err)
		}
		k, err := startKamailio(ctx, exe, -1, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(k.stop)
		kt := SIPTarget{Name: "kamailio", Addr: k.addr, Realm: tg.Realm}
		for _, u := range tg.Users {
			kt.Users = append(kt.Users, SIPUser{Name: u.Name, Password: KamailioPassword(u.Name)})
		}
		targets = append(targets, kt)
	}
	var res SIPResults
	for _, tg := range targets {
		l, err := NewSIPLoad(tg, o)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		first, err := l.RegisterAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if first.Registered != users || first.Failed != 0 {
			t.Fatalf("%s: first registrations %d of %d, failed %v", tg.Name, first.Registered, users, first.Codes)
		}
		f, err := l.Measure(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Failed != 0 || f.Registered < users || f.Rate() <= 0 || f.Quantile(0.99) <= 0 {
			t.Fatalf("%s: %d registered, %d failed %v", tg.Name, f.Registered, f.Failed, f.Codes)
		}
		if tg.Name == "vo" {
			res.Vo = append(res.Vo, f)
		} else {
			res.Kamailio = append(res.Kamailio, f)
		}
		t.Logf("%s: %.0f reg/s, p50 %v, p99 %v", tg.Name, f.Rate(), f.Quantile(0.5), f.Quantile(0.99))
	}
	// Every user is bound once, whatever the number of refreshes.
	for _, id := range seeded.UserIDs {
		if bs := n.SIP.Bindings(id); len(bs) != 1 {
			t.Fatalf("user %s: %d bindings", id, len(bs))
		}
	}
	// A wrong password is refused, and counted as a failure.
	bad := tg
	bad.Users = []SIPUser{{Name: tg.Users[0].Name, Password: "not the password"}}
	l, err := NewSIPLoad(bad, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.RegisterAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.Registered != 0 || f.Failed != 1 || f.Codes[403] != 1 {
		t.Fatalf("wrong password: %+v", f)
	}
}

func TestSIPMediansAndMet(t *testing.T) {
	fig := func(reg int, failed int, lat ...time.Duration) SIPFigures {
		return SIPFigures{Registered: reg, Failed: failed, Elapsed: time.Second, Latencies: lat}
	}
	r := SIPResults{Vo: []SIPFigures{fig(100, 0, 1, 2, 3), fig(300, 0, 4), fig(200, 0, 2)},
		Kamailio: []SIPFigures{fig(250, 0, 1), fig(150, 0, 1), fig(180, 0, 1)}}
	if m := Medians(r.Vo); m.Rate != 200 || m.P50 != 2 || m.Failed != 0 {
		t.Fatalf("medians %+v", m)
	}
	if !r.Met() {
		t.Fatal("200 against 180: missed")
	}
	r.Kamailio[2].Registered = 220
	if r.Met() {
		t.Fatal("200 against 220: met")
	}
	r.Kamailio = nil
	r.Vo[0].Failed, r.Vo[1].Failed = 1, 2
	if r.Met() {
		t.Fatal("failures: met")
	}
}

func TestParseChallenge(t *testing.T) {
	a, id, cseq, ok := parseSIPAnswer([]byte("SIP/2.0 401 Unauthorized\r\nCall-ID: abc@x\r\nCSeq:  7   REGISTER\r\n" +
		"WWW-Authenticate: Digest realm=\"bench\", nonce=\"n1\", algorithm=SHA-256, qop=\"auth\"\r\n" +
		"WWW-Authenticate: Digest realm=\"bench\", nonce=\"n2\", algorithm=MD5, qop=\"auth,auth-int\", opaque=\"o\"\r\n\r\n"))
	if !ok || a.code != 401 || id != "abc@x" || cseq != "7 REGISTER" || len(a.challenges) != 2 {
		t.Fatalf("%v %+v %q %q", ok, a, id, cseq)
	}
	c, ok := pickChallenge(a.challenges)
	if !ok || c["nonce"] != "n2" || c["opaque"] != "o" {
		t.Fatalf("picked %v", c)
	}
	if _, ok := pickChallenge(a.challenges[:1]); ok {
		t.Fatal("picked SHA-256")
	}
}
