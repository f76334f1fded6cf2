package main

import (
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"vo/internal/turncred"
	"vo/internal/turnserver"
)

// turnFlags are serve's TURN flags (SPEC §10): the embedded server, or an
// external coturn with --use-auth-secret, or both (a public URL for the
// embedded server).
type turnFlags struct {
	addr, relayIP, ports, urls, secret string
}

func (f *turnFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.addr, "turn-addr", env("VO_TURN_ADDR", ""), "embedded TURN server, UDP and TCP, for apps behind NAT (say 0.0.0.0:3478); empty: off (VO_TURN_ADDR)")
	fs.StringVar(&f.relayIP, "turn-relay-ip", env("VO_TURN_RELAY_IP", ""), "address the embedded TURN server relays on and tells clients; empty: the --turn-addr host (VO_TURN_RELAY_IP)")
	fs.StringVar(&f.ports, "turn-ports", env("VO_TURN_PORTS", ""), "relay ports of the embedded TURN server, MIN-MAX (say 49152-65535); empty: any free port (VO_TURN_PORTS)")
	fs.StringVar(&f.urls, "turn-url", env("VO_TURN_URL", ""), "TURN URLs the app is told of, comma-separated (turn:host:3478, turns:host:5349?transport=tcp): an external coturn run with --use-auth-secret, or the embedded server's public name; empty: the embedded server's own (VO_TURN_URL)")
	fs.StringVar(&f.secret, "turn-secret", env("VO_TURN_SECRET", ""), "secret shared with the TURN server (coturn's static-auth-secret); prefer the environment variable, flags show in ps; empty with --turn-addr: one made once and kept in the database, shared by every node (VO_TURN_SECRET)")
}

// config checks the flags and returns the node's TURN configuration.
func (f *turnFlags) config(httpAddr string) (turnserver.Config, turncred.Config, error) {
	var ts turnserver.Config
	var ice turncred.Config
	for u := range strings.SplitSeq(f.urls, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		if err := turncred.CheckURL(u); err != nil {
			return ts, ice, usageError{"--turn-url: " + err.Error()}
		}
		ice.URLs = append(ice.URLs, u)
	}
	ice.Secret = []byte(f.secret)
	if f.addr == "" {
		if len(ice.URLs) > 0 && len(ice.Secret) == 0 {
			return ts, ice, usageError{"--turn-url needs --turn-secret, the TURN server's static-auth-secret"}
		}
		if f.relayIP != "" || f.ports != "" {
			return ts, ice, usageError{"--turn-relay-ip and --turn-ports need --turn-addr"}
		}
		return ts, ice, nil
	}
	if _, _, err := net.SplitHostPort(f.addr); err != nil {
		return ts, ice, usageError{fmt.Sprintf("--turn-addr %q: want HOST:PORT", f.addr)}
	}
	if f.addr == httpAddr {
		return ts, ice, usageError{"--turn-addr must not be the HTTP --addr"}
	}
	ts.Addr = f.addr
	if f.relayIP != "" {
		if ts.RelayIP = net.ParseIP(f.relayIP); ts.RelayIP == nil || ts.RelayIP.IsUnspecified() {
			return ts, ice, usageError{fmt.Sprintf("--turn-relay-ip %q: want one IP address", f.relayIP)}
		}
	} else if h, _, _ := net.SplitHostPort(f.addr); net.ParseIP(h) == nil || net.ParseIP(h).IsUnspecified() {
		return ts, ice, usageError{"--turn-addr listens on every address or a name: give --turn-relay-ip, the address clients reach relays at"}
	}
	if f.ports != "" {
		lo, hi, ok := strings.Cut(f.ports, "-")
		pmin, err1 := strconv.ParseUint(lo, 10, 16)
		pmax, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || pmin == 0 || pmin > pmax {
			return ts, ice, usageError{"--turn-ports must be MIN-MAX, two ports with MIN ≤ MAX (say 49152-65535)"}
		}
		ts.PortMin, ts.PortMax = uint16(pmin), uint16(pmax)
	}
	return ts, ice, nil
}
