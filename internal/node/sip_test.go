package node

import (
	"context"
	"net"
	"strings"
	"testing"
)

// TestNodeSIP: with SIPAddr the node runs the registrar and names its real
// port; Close frees UDP and TCP; without SIPAddr no registrar runs.
func TestNodeSIP(t *testing.T) {
	ctx := context.Background()
	n, err := New(ctx, Config{DataDir: t.TempDir(), HashParams: cheap, SIPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if n.SIP == nil || n.SIPAddr != n.SIP.Addr() || strings.HasSuffix(n.SIPAddr, ":0") {
		t.Fatalf("sip %v at %q", n.SIP, n.SIPAddr)
	}
	addr := n.SIP.Addr()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("after Close the SIP UDP port is still taken: %v", err)
	}
	u.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("after Close the SIP TCP port is still taken: %v", err)
	}
	l.Close()

	off, err := New(ctx, Config{DataDir: t.TempDir(), HashParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	if off.SIP != nil || off.SIPAddr != "127.0.0.1:5060" {
		t.Fatalf("without SIPAddr: %v %q", off.SIP, off.SIPAddr)
	}
}
