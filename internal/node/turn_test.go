package node

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"vo/internal/clock"
	"vo/internal/turncred"
	"vo/internal/turnserver"
)

// TestNodeTURN: with TURN.Addr the node runs the embedded server, mints
// for its URLs with a random secret the server shares, and Close frees its
// port; without, it mints for the configured external server only.
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
	other, err := New(ctx, Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheap, TURN: turnserver.Config{Addr: "127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(n.ICE.Secret, other.ICE.Secret) {
		t.Fatal("two starts made the same secret")
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
