// Package turnserver is the embedded TURN server (RFC 8656) of SPEC §10,
// built on github.com/pion/turn: apps and phones behind NAT relay their
// media through it. It checks the short-lived credentials of package
// turncred (coturn's use-auth-secret scheme), so that an external coturn
// with the same secret can take its place.
package turnserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/pion/logging"
	"github.com/pion/turn/v4"

	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/turncred"
)

// Config is what a server is built from.
type Config struct {
	// Addr is where it listens, UDP and TCP: "host:port"; port 0 takes a
	// free one (the same for both).
	Addr string
	// Realm is the realm of its 401 answers; empty, "vo".
	Realm string
	// Secret is the shared secret credentials are minted with.
	Secret []byte
	// RelayIP is the address relays are bound on and told to clients;
	// nil, Addr's host, which must then be a concrete address. Behind a
	// 1:1 NAT give the public address reachable on the same ports here.
	RelayIP net.IP
	// PortMin and PortMax bound the relay ports (inclusive); both zero,
	// any free port.
	PortMin, PortMax uint16
	// Clock judges expiry and rate limits; nil, the wall clock.
	Clock clock.Clock
	// Logger takes refused requests (never a credential; a flood's
	// rate-limited requests at debug level only); nil,
	// slog.Default().
	Logger *slog.Logger
	// AllocRate and AllocBurst limit the allocations one source IP may
	// make (a second, and at once); zero, 2 and 20. AuthRate and AuthBurst
	// limit its authenticated requests of any kind; zero, 20 and 200.
	AllocRate, AllocBurst int
	AuthRate, AuthBurst   int
}

// Server is a running TURN server.
type Server struct {
	srv     *turn.Server
	udp     net.PacketConn
	tcp     net.Listener
	cfg     Config
	allocs  *chat.Limiter
	authLim *chat.Limiter
}

// listenBoth listens on addr for UDP, and for TCP on the port UDP got, so
// that one URL port serves both. With port 0, the port the system picks
// for UDP may be taken for TCP: then it tries another, a few times.
func listenBoth(host, addr string) (net.PacketConn, net.Listener, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, err
	}
	tries := 1
	if port == "0" {
		tries = 20
	}
	for i := 0; ; i++ {
		udp, err := net.ListenPacket("udp", addr)
		if err != nil {
			return nil, nil, err
		}
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, fmt.Sprint(udp.LocalAddr().(*net.UDPAddr).Port)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if i+1 == tries {
			return nil, nil, err
		}
	}
}

// New listens on cfg.Addr and serves until Close.
func New(cfg Config) (*Server, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("turnserver: a secret is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Realm == "" {
		cfg.Realm = "vo"
	}
	cfg.AllocRate, cfg.AllocBurst = orDefault(cfg.AllocRate, 2), orDefault(cfg.AllocBurst, 20)
	cfg.AuthRate, cfg.AuthBurst = orDefault(cfg.AuthRate, 20), orDefault(cfg.AuthBurst, 200)
	if (cfg.PortMin == 0) != (cfg.PortMax == 0) || cfg.PortMin > cfg.PortMax {
		return nil, fmt.Errorf("turnserver: relay port range %d-%d: give both bounds, min ≤ max", cfg.PortMin, cfg.PortMax)
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("turnserver: address %q: %w", cfg.Addr, err)
	}
	relayIP := cfg.RelayIP
	if relayIP == nil {
		relayIP = net.ParseIP(host)
		if relayIP == nil || relayIP.IsUnspecified() {
			return nil, fmt.Errorf("turnserver: listening on %q, the relay address must be given", cfg.Addr)
		}
	}
	if relayIP.IsUnspecified() {
		return nil, errors.New("turnserver: the relay address must be a concrete address")
	}
	cfg.RelayIP = relayIP
	s := &Server{cfg: cfg, allocs: chat.NewLimiter(cfg.Clock, cfg.AllocRate, cfg.AllocBurst),
		authLim: chat.NewLimiter(cfg.Clock, cfg.AuthRate, cfg.AuthBurst)}
	if s.udp, s.tcp, err = listenBoth(host, cfg.Addr); err != nil {
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	quiet := logging.NewDefaultLoggerFactory()
	quiet.DefaultLogLevel = logging.LogLevelDisabled // pion's logs name usernames; ours do not
	s.srv, err = turn.NewServer(turn.ServerConfig{
		Realm:         cfg.Realm,
		AuthHandler:   s.authenticate,
		QuotaHandler:  s.quota,
		LoggerFactory: quiet,
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: s.udp,
			RelayAddressGenerator: s.relays(), PermissionHandler: s.permit}},
		ListenerConfigs: []turn.ListenerConfig{{Listener: s.tcp,
			RelayAddressGenerator: s.relays(), PermissionHandler: s.permit}},
	})
	if err != nil {
		s.udp.Close()
		s.tcp.Close()
		return nil, fmt.Errorf("turnserver: %w", err)
	}
	return s, nil
}

func orDefault(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func (s *Server) relays() turn.RelayAddressGenerator {
	if s.cfg.PortMin == 0 {
		return &turn.RelayAddressGeneratorStatic{RelayAddress: s.cfg.RelayIP, Address: s.cfg.RelayIP.String()}
	}
	return &turn.RelayAddressGeneratorPortRange{RelayAddress: s.cfg.RelayIP, Address: s.cfg.RelayIP.String(),
		MinPort: s.cfg.PortMin, MaxPort: s.cfg.PortMax}
}

// UDPAddr and TCPAddr are where the server listens.
func (s *Server) UDPAddr() *net.UDPAddr { return s.udp.LocalAddr().(*net.UDPAddr) }
func (s *Server) TCPAddr() *net.TCPAddr { return s.tcp.Addr().(*net.TCPAddr) }

// URLs are the TURN URLs of the server, UDP and TCP, for clients that
// reach it at host (a name or address; empty, the listen address, or the
// relay address when it listens on every address).
func (s *Server) URLs(host string) []string {
	port := s.UDPAddr().Port
	if host == "" {
		host = s.UDPAddr().IP.String()
		if s.UDPAddr().IP.IsUnspecified() {
			host = s.cfg.RelayIP.String()
		}
	}
	hp := net.JoinHostPort(host, fmt.Sprint(port))
	return []string{"turn:" + hp + "?transport=udp", "turn:" + hp + "?transport=tcp"}
}

// AllocationCount is how many relays are open.
func (s *Server) AllocationCount() int { return s.srv.AllocationCount() }

// Close ends every allocation and stops listening.
func (s *Server) Close() error { return s.srv.Close() }

func sourceIP(a net.Addr) string {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	return a.String()
}

// authenticate answers pion's question for the key of username: the
// long-term key (RFC 8489 §9.2.2) of its turncred password, unless it is
// malformed or expired, or its source asks too often.
func (s *Server) authenticate(username, realm string, src net.Addr) ([]byte, bool) {
	ip := sourceIP(src)
	if s.authLim.Take(ip) > 0 {
		s.cfg.Logger.Debug("turn: request rate limited", slog.String("source", ip))
		return nil, false
	}
	if _, _, err := turncred.Check(s.cfg.Clock.Now(), username); err != nil {
		s.cfg.Logger.Info("turn: credential refused", slog.String("source", ip), slog.String("reason", err.Error()))
		return nil, false
	}
	return turn.GenerateAuthKey(username, realm, turncred.Password(s.cfg.Secret, username)), true
}

// quota is asked before each allocation, once its request is
// authenticated: it limits allocations per source IP (486 past it).
func (s *Server) quota(_, _ string, src net.Addr) bool {
	ip := sourceIP(src)
	if s.allocs.Take(ip) > 0 {
		s.cfg.Logger.Debug("turn: allocation rate limited", slog.String("source", ip))
		return false
	}
	return true
}

// permit refuses peers a relay must never reach: unspecified, multicast
// and broadcast addresses, and the loopback unless the server relays on
// the loopback itself (a development or test server), so that a relay
// cannot reach the node's own local-only services.
func (s *Server) permit(_ net.Addr, peer net.IP) bool {
	switch {
	case peer.IsUnspecified(), peer.IsMulticast(), peer.Equal(net.IPv4bcast):
		return false
	case peer.IsLoopback():
		return s.cfg.RelayIP.IsLoopback()
	}
	return true
}
