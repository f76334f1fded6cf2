package httpapi

import (
	"bytes"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v4"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/turncred"
	"vo/internal/turnserver"
)

// TestICEWithoutTURN: a node without TURN answers an empty list, and the
// endpoint wants a login.
func TestICEWithoutTURN(t *testing.T) {
	fx := sqliteFixture(t)
	got := mustJSON[apitypes.ICEConfig](t, fx.call(t, "GET", "/api/v1/calls/ice", fx.ann.token(), nil), http.StatusOK)
	if got.IceServers == nil || len(got.IceServers) != 0 || got.ExpiresAt != nil {
		t.Fatalf("without TURN: %+v", got)
	}
	checkError(t, fx.call(t, "GET", "/api/v1/calls/ice", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
}

// TestICEWithTURN: the answer carries a credential of the caller's session
// that expires after the TTL, and it opens a relay on the embedded TURN
// server, through which data reaches a peer.
func TestICEWithTURN(t *testing.T) {
	secret := []byte("node turn secret")
	var ts *turnserver.Server
	fx := sqliteFixture(t, func(t testing.TB, cfg *Config) {
		var err error
		ts, err = turnserver.New(turnserver.Config{Addr: "127.0.0.1:0", Secret: secret, Clock: cfg.Clock})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ts.Close() })
		cfg.ICE = turncred.Config{URLs: ts.URLs(""), Secret: secret, TTL: time.Hour}
	})
	got := mustJSON[apitypes.ICEConfig](t, fx.call(t, "GET", "/api/v1/calls/ice", fx.ann.token(), nil), http.StatusOK)
	if len(got.IceServers) != 1 || len(got.IceServers[0].Urls) != 2 {
		t.Fatalf("servers: %+v", got)
	}
	s := got.IceServers[0]
	if want := fx.clk.Now().Add(time.Hour); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Fatalf("expires_at %v, want %v", got.ExpiresAt, want)
	}
	if want := turncred.Username(fx.clk.Now().Add(time.Hour), fx.ann.login.Session.ID); s.Username != want {
		t.Fatalf("username %q, want %q", s.Username, want)
	}
	if s.Credential != turncred.Password(secret, s.Username) {
		t.Fatal("credential is not HMAC-SHA1 of the username under the secret")
	}
	if bob := mustJSON[apitypes.ICEConfig](t, fx.call(t, "GET", "/api/v1/calls/ice", fx.bob.token(), nil), http.StatusOK); bob.IceServers[0].Username == s.Username {
		t.Fatal("two sessions share a username")
	}
	if !strings.HasPrefix(s.Urls[0], "turn:"+ts.UDPAddr().String()) {
		t.Fatalf("url %q, server at %v", s.Urls[0], ts.UDPAddr())
	}

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cl, err := turn.NewClient(&turn.ClientConfig{TURNServerAddr: ts.UDPAddr().String(), Username: s.Username, Password: s.Credential, Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := cl.Allocate()
	if err != nil {
		t.Fatalf("allocate with the answered credential: %v", err)
	}
	defer relay.Close()
	peer, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if _, err := relay.WriteTo([]byte("rtp"), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := peer.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte("rtp")) {
		t.Fatalf("peer got %q, %v", buf[:n], err)
	}
}
