package sipserver_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"vo/internal/storetest"
	"vo/internal/votest"
)

type syncBuffer = votest.SyncBuffer

// freeUDPPort is a port free on the loopback for UDP and TCP, with the
// next one free for TCP: baresip listens at sip_listen on UDP and TCP, and
// on the next port for TLS, so a port some TCP connection holds would make
// it fail to start.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		c, uerr := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port)))
		tls, terr := net.Listen("tcp", net.JoinHostPort("127.0.0.1", fmt.Sprint(port+1)))
		l.Close()
		if uerr == nil {
			c.Close()
		}
		if terr == nil {
			tls.Close()
		}
		if uerr == nil && terr == nil {
			return port
		}
	}
	t.Fatal("no port free for UDP and TCP, with the next free for TCP")
	return 0
}

// runBaresip starts Debian's baresip with a throwaway config registering
// ext@domain with pass at registrar, loading modules besides account and
// g711, and stops it when the test ends.
func runBaresip(t *testing.T, bin, ext, domain, pass, registrar string, modules ...string) *syncBuffer {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`module_path /usr/lib/baresip/modules
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player none
audio_source none
audio_alert none
module account.so
module g711.so
`, freeUDPPort(t))
	for _, m := range modules {
		config += "module " + m + "\n"
	}
	accounts := fmt.Sprintf("<sip:%s@%s>;auth_pass=%s;outbound=\"sip:%s;transport=udp\";regint=60\n", ext, domain, pass, registrar)
	for name, body := range map[string]string{"config": config, "accounts": accounts, "contacts": ""} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := &syncBuffer{}
	cmd := exec.Command(bin, "-s", "-f", dir)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return out
}

// TestBaresip: a real softphone registers with the login GET
// /api/v1/me/sip gives, and with a wrong password it does not.
func TestBaresip(t *testing.T) {
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("VO_REQUIRE_BARESIP") != "" {
			t.Fatal("VO_REQUIRE_BARESIP is set but baresip is not installed (apt-get install baresip-core)")
		}
		t.Skip("baresip not installed (apt-get install baresip-core); set VO_REQUIRE_BARESIP=1 to require it")
	}
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{SIPAddr: "127.0.0.1:0"})
	org := n.Seed("acme", "Ann A", "Bob B")
	web := n.Login("ann@acme.test", "web")
	bobWeb := n.Login("bob@acme.test", "web")
	var ann, bob sipLogin
	if st := n.Do(web.Token, "GET", "/api/v1/me/sip", nil, &ann); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}
	if st := n.Do(bobWeb.Token, "GET", "/api/v1/me/sip", nil, &bob); st != 200 {
		t.Fatalf("me/sip: %d", st)
	}

	// Bob's phone has a wrong password; Ann's the right one.
	bobOut := runBaresip(t, bin, bob.Username, bob.Domain, "wrong"+bob.Password, n.SIP.Addr())
	annOut := runBaresip(t, bin, ann.Username, ann.Domain, ann.Password, n.SIP.Addr())
	votest.Eventually(t, 10*time.Second, "baresip registered", func() (bool, string) {
		s := sipSessions(t, n, web.Token)
		return len(s) == 1 && len(n.SIP.Bindings(org.Users[0].ID)) == 1, "sessions " + fmt.Sprint(s) + "\nbaresip: " + annOut.String()
	})
	votest.Eventually(t, 10*time.Second, "bob's phone refused", func() (bool, string) {
		return bytes.Contains([]byte(bobOut.String()), []byte("403")), "baresip: " + bobOut.String()
	})
	if s := sipSessions(t, n, bobWeb.Token); len(s) != 0 || len(n.SIP.Bindings(org.Users[1].ID)) != 0 {
		t.Fatalf("wrong password registered: %+v", s)
	}
}
