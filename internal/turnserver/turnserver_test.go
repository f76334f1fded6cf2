package turnserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"

	"vo/internal/clock"
	"vo/internal/turncred"
)

var secret = []byte("test-secret-of-the-node")

func newServer(t *testing.T, clk clock.Clock, mod ...func(*Config)) *Server {
	t.Helper()
	cfg := Config{Addr: "127.0.0.1:0", Secret: secret, Clock: clk}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// dial makes a pion TURN client over UDP or TCP to addr.
func dial(t *testing.T, network, addr, user, pass string) *turn.Client {
	t.Helper()
	var conn net.PacketConn
	if network == "tcp" {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn = turn.NewSTUNConn(c)
	} else {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conn = c
	}
	cl, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, STUNServerAddr: addr, Username: user, Password: pass, Conn: conn, RTO: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close(); conn.Close() })
	return cl
}

// roundTrip allocates a relay and sends a datagram through it to a peer
// socket and the peer's answer back; it returns the relay's address.
func roundTrip(t *testing.T, cl *turn.Client) net.Addr {
	t.Helper()
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate: %v", err)
	}
	defer relay.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	out := []byte("hello through the relay")
	if _, err := relay.WriteTo(out, peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := peer.ReadFrom(buf)
	if err != nil {
		t.Fatalf("peer read: %v", err)
	}
	if !bytes.Equal(buf[:n], out) {
		t.Fatalf("peer got %q", buf[:n])
	}
	if from.String() != relay.LocalAddr().String() {
		t.Fatalf("peer got it from %v, the relay is %v", from, relay.LocalAddr())
	}
	back := []byte("and back")
	if _, err := peer.WriteTo(back, from); err != nil {
		t.Fatal(err)
	}
	relay.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from2, err := relay.ReadFrom(buf)
	if err != nil {
		t.Fatalf("relay read: %v", err)
	}
	if !bytes.Equal(buf[:n], back) || from2.String() != peer.LocalAddr().String() {
		t.Fatalf("client got %q from %v", buf[:n], from2)
	}
	return relay.LocalAddr()
}

func mint(now time.Time, ttl time.Duration, id string) (string, string) {
	s, _ := turncred.ICEServers(now, ttl, secret, id, []string{"turn:x"})
	return s[0].Username, s[0].Credential
}

// TestRelayRoundTrip: minted credentials allocate a relay, over UDP and
// over TCP, inside the configured port range, and data goes to a peer and
// back through it.
func TestRelayRoundTrip(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := newServer(t, clk, func(c *Config) { c.PortMin, c.PortMax = 40000, 40999 })
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			u, p := mint(clk.Now(), time.Hour, "ses_"+network)
			addr := s.UDPAddr().String()
			if network == "tcp" {
				addr = s.TCPAddr().String()
			}
			relay := roundTrip(t, dial(t, network, addr, u, p)).(*net.UDPAddr)
			if !relay.IP.Equal(net.IPv4(127, 0, 0, 1)) || relay.Port < 40000 || relay.Port > 40999 {
				t.Fatalf("relay %v outside 127.0.0.1:40000-40999", relay)
			}
		})
	}
}

// TestRefused: expired, forged and malformed credentials get no relay;
// the expiry is judged on the server's clock.
func TestRefused(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := newServer(t, clk)
	addr := s.UDPAddr().String()
	u, p := mint(clk.Now(), time.Minute, "ses_1")
	forged := turncred.Password([]byte("another secret"), u)
	cases := []struct{ name, user, pass string }{
		{"forged", u, forged},
		{"wrong id", strings.Replace(u, "ses_1", "ses_2", 1), p},
		{"no expiry", "ses_1", turncred.Password(secret, "ses_1")},
		{"later expiry", turncred.Username(clk.Now().Add(time.Hour), "ses_1"), p},
	}
	for _, c := range cases {
		if _, err := dial(t, "udp", addr, c.user, c.pass).Allocate(); err == nil {
			t.Errorf("%s: allocated", c.name)
		}
	}
	clk.Advance(time.Minute)
	if _, err := dial(t, "udp", addr, u, p).Allocate(); err == nil {
		t.Error("expired: allocated")
	}
	if n := s.AllocationCount(); n != 0 {
		t.Fatalf("%d allocations", n)
	}
	u2, p2 := mint(clk.Now(), time.Minute, "ses_1")
	roundTrip(t, dial(t, "udp", addr, u2, p2))
}

// TestAllocationRateLimit: one source gets AllocBurst relays at once, then
// none until its bucket refills.
func TestAllocationRateLimit(t *testing.T) {
	clk := clock.NewFake(time.Now())
	s := newServer(t, clk, func(c *Config) { c.AllocRate, c.AllocBurst = 1, 3 })
	u, p := mint(clk.Now(), time.Hour, "ses_1")
	for i := range 3 {
		if _, err := dial(t, "udp", s.UDPAddr().String(), u, p).Allocate(); err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
	}
	if _, err := dial(t, "udp", s.UDPAddr().String(), u, p).Allocate(); err == nil {
		t.Fatal("allocation past the burst")
	}
	clk.Advance(time.Second)
	roundTrip(t, dial(t, "udp", s.UDPAddr().String(), u, p))
}

// TestPeers: a public server never relays to its own loopback.
func TestPeers(t *testing.T) {
	s := &Server{cfg: Config{RelayIP: net.ParseIP("203.0.113.5")}}
	for ip, want := range map[string]bool{"127.0.0.1": false, "::1": false, "0.0.0.0": false, "224.0.0.1": false, "255.255.255.255": false, "198.51.100.7": true, "10.0.0.2": true} {
		if got := s.permit(nil, net.ParseIP(ip)); got != want {
			t.Errorf("%s: %v, want %v", ip, got, want)
		}
	}
	if _, err := New(Config{Addr: "0.0.0.0:0", Secret: secret}); err == nil {
		t.Error("a wildcard listen address without a relay address")
	}
	if _, err := New(Config{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("no secret")
	}
	if _, err := New(Config{Addr: "127.0.0.1:0", Secret: secret, PortMin: 5}); err == nil {
		t.Error("half a port range")
	}
}

// TestCoturn: the credentials minted for the embedded server work against
// Debian's coturn started with the same secret, and its refusals match.
func TestCoturn(t *testing.T) {
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		if os.Getenv("VO_REQUIRE_COTURN") != "" {
			t.Fatal("VO_REQUIRE_COTURN is set and turnserver (Debian's coturn) is not installed")
		}
		t.Skip("turnserver (Debian's coturn) not installed; apt-get install coturn")
	}
	port := freeUDPPort(t)
	dir := t.TempDir()
	var log bytes.Buffer
	cmd := exec.Command(bin, "-n", "--listening-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port), "--relay-ip=127.0.0.1",
		"--min-port=41000", "--max-port=41999", "--use-auth-secret", "--static-auth-secret="+string(secret), "--realm=vo",
		"--no-tls", "--no-dtls", "--no-cli", "--allow-loopback-peers", "--db="+filepath.Join(dir, "turndb"),
		"--pidfile="+filepath.Join(dir, "pid"), "--log-file=stdout", "--simple-log")
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	u, p := mint(time.Now(), time.Hour, "ses_1")
	var relay net.PacketConn
	for deadline := time.Now().Add(10 * time.Second); ; {
		relay, err = dial(t, "udp", addr, u, p).Allocate()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("coturn: allocate: %v\n%s", err, log.String())
	}
	relay.Close()
	roundTrip(t, dial(t, "udp", addr, u, p))
	if _, err := dial(t, "udp", addr, u, turncred.Password([]byte("forged"), u)).Allocate(); err == nil {
		t.Error("coturn allocated with a forged credential")
	}
	eu, ep := mint(time.Now().Add(-2*time.Hour), time.Hour, "ses_1")
	if _, err := dial(t, "udp", addr, eu, ep).Allocate(); err == nil {
		t.Error("coturn allocated with an expired credential")
	}
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
