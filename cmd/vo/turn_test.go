package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"

	"vo/internal/apidoc/apitypes"
	"vo/internal/turncred"
)

func iceOf(t *testing.T, base, token string) apitypes.ICEConfig {
	t.Helper()
	res, b := get(t, base+"/api/v1/calls/ice", token)
	var out apitypes.ICEConfig
	if res.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("calls/ice: %d %s", res.StatusCode, b)
	}
	return out
}

// TestServeTURN: with --turn-addr the node runs the embedded TURN server,
// and the credentials GET /api/v1/calls/ice answers open a relay on it
// that carries data to a peer.
func TestServeTURN(t *testing.T) {
	t.Parallel()
	taddr := freeAddr(t)
	s := serveInProcess(t, "--demo", "--data", t.TempDir(), "--turn-addr", taddr, "--turn-ports", "42000-42999")
	ice := iceOf(t, s.url, loginAs(t, s.url, "ann@demo.test", "demo-password"))
	if len(ice.IceServers) != 1 || ice.ExpiresAt == nil {
		t.Fatalf("ice: %+v", ice)
	}
	srv := ice.IceServers[0]
	if want := []string{"turn:" + taddr + "?transport=udp", "turn:" + taddr + "?transport=tcp"}; fmt.Sprint(srv.Urls) != fmt.Sprint(want) {
		t.Fatalf("urls %v, want %v", srv.Urls, want)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: taddr, Username: srv.Username, Password: srv.Credential, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate: %v\nstderr: %s", err, s.stderr)
	}
	defer relay.Close()
	if p := relay.LocalAddr().(*net.UDPAddr).Port; p < 42000 || p > 42999 {
		t.Fatalf("relay port %d outside --turn-ports", p)
	}
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	relay.WriteTo([]byte("hi"), peer.LocalAddr())
	buf := make([]byte, 16)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := peer.ReadFrom(buf); err != nil || !bytes.Equal(buf[:n], []byte("hi")) {
		t.Fatalf("peer: %q %v", buf[:n], err)
	}
	if strings.Contains(s.stderr.String(), srv.Credential) {
		t.Fatal("the credential is in the log")
	}
}

// TestServeExternalTURN: --turn-url and --turn-secret tell the app of an
// external coturn, with credentials it checks with the same secret.
func TestServeExternalTURN(t *testing.T) {
	t.Parallel()
	s := serveInProcess(t, "--demo", "--data", t.TempDir(), "--turn-url", "turn:turn.example.com:3478, turns:turn.example.com:5349?transport=tcp", "--turn-secret", "coturn-secret")
	ice := iceOf(t, s.url, loginAs(t, s.url, "ann@demo.test", "demo-password"))
	if len(ice.IceServers) != 1 || len(ice.IceServers[0].Urls) != 2 || ice.IceServers[0].Urls[1] != "turns:turn.example.com:5349?transport=tcp" {
		t.Fatalf("ice: %+v", ice)
	}
	if got := ice.IceServers[0]; got.Credential != turncred.Password([]byte("coturn-secret"), got.Username) {
		t.Fatal("the credential is not minted with --turn-secret")
	}
	if strings.Contains(s.stderr.String(), "coturn-secret") {
		t.Fatal("the secret is in the log")
	}
}

func TestServeBadTURNFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--turn-url", "turn:turn.example.com"},
		{"--turn-url", "http://turn.example.com", "--turn-secret", "s"},
		{"--turn-addr", "nonsense"},
		{"--turn-addr", "0.0.0.0:3478"},
		{"--turn-addr", "127.0.0.1:0", "--turn-ports", "5000"},
		{"--turn-addr", "127.0.0.1:0", "--turn-ports", "6000-5000"},
		{"--turn-addr", "127.0.0.1:0", "--turn-relay-ip", "not-an-ip"},
		{"--turn-ports", "5000-6000"},
	} {
		t.Run(fmt.Sprint(args), func(t *testing.T) {
			var stdout, stderr syncBuffer
			err := run(context.Background(), append([]string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()}, args...), strings.NewReader(""), &stdout, &stderr)
			if _, ok := err.(usageError); !ok {
				t.Fatalf("want a usage error, got %v", err)
			}
		})
	}
}
