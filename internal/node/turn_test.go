package node

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/turn/v4"

	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/turncred"
	"vo/internal/turnserver"
)

// TestNodeTURN: with TURN.Addr the node runs the embedded server, mints
// for its URLs with the store's made-once secret the server shares, and
// Close frees its port; without, it mints for the configured external
// server only.
func TestNodeTURN(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	n, err := New(ctx, Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheap, TURN: turnserver.Config{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if n.TURN == nil || len(n.ICE.Secret) != 32 || len(n.ICE.URLs) != 2 {
		t.Fatalf("turn %v, ice %+v", n.TURN, n.ICE)
	}
	if s, err := n.Store.ServerSecret(ctx, TURNSecretName); err != nil || !bytes.Equal(s, n.ICE.Secret) {
		t.Fatalf("the secret is not the store's %q: %v", TURNSecretName, err)
	}
	other, err := New(ctx, Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheap, TURN: turnserver.Config{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(n.ICE.Secret, other.ICE.Secret) {
		t.Fatal("two databases made the same secret")
	}
	other.Close()
	addr := n.TURN.UDPAddr().String()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("after Close the TURN port is still taken: %v", err)
	}
	c.Close()

	ext := turncred.Config{URLs: []string{"turn:turn.example.com"}, Secret: []byte("s")}
	n2, err := New(ctx, Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheap, ICE: ext})
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close()
	if n2.TURN != nil {
		t.Fatal("a TURN server without TURN.Addr")
	}
	if s, _ := n2.ICE.Mint(clk.Now(), "s_1"); len(s) != 1 || s[0].URLs[0] != "turn:turn.example.com" {
		t.Fatalf("minted %+v", s)
	}
}

// TestNodesShareTURNSecret: two nodes on one database share the made-once
// secret, so a credential one node mints opens a relay on the other's
// TURN server (the app may ask one node and relay through another); a
// configured secret wins over the stored one.
func TestNodesShareTURNSecret(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	st, err := store.Open(ctx, store.Options{DataDir: t.TempDir(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := func(cfg Config) *Node {
		cfg.Store, cfg.Clock, cfg.HashParams = st, clk, cheap
		cfg.TURN = turnserver.Config{Addr: "127.0.0.1:0"}
		n, err := New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		return n
	}
	a, b := start(Config{}), start(Config{})
	if !bytes.Equal(a.ICE.Secret, b.ICE.Secret) {
		t.Fatal("two nodes on one database have different TURN secrets")
	}
	minted, _ := a.ICE.Mint(clk.Now(), "ses_1")
	if err := allocate(b.TURN.UDPAddr().String(), minted[0]); err != nil {
		t.Fatalf("node B's TURN refuses node A's credential: %v", err)
	}
	c := start(Config{ICE: turncred.Config{Secret: []byte("configured")}})
	if bytes.Equal(c.ICE.Secret, a.ICE.Secret) {
		t.Fatal("a configured secret lost to the stored one")
	}
	if err := allocate(c.TURN.UDPAddr().String(), minted[0]); err == nil {
		t.Fatal("a TURN server with another secret accepts the credential")
	}
}

// allocate opens a relay on the TURN server at addr with the credential.
func allocate(addr string, s turncred.ICEServer) error {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	cl, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: addr, Username: s.Username, Password: s.Credential, Conn: conn, RTO: 100 * time.Millisecond})
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		return err
	}
	relay, err := cl.Allocate()
	if err != nil {
		return err
	}
	return relay.Close()
}
