package bench

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// The XMPP domain, the MUC service and the room of the ejabberd run.
const (
	xmppHost = "bench.localhost"
	mucHost  = "muc.bench.localhost"
	roomName = "bench"
)

// ejabberdConfig is a config of its own: c2s and the HTTP API (to
// register the accounts and create the room) on loopback only, no TLS,
// no shaper, plain stored passwords, mod_muc with an unlocked room.
const ejabberdConfig = `hosts:
  - %[3]s
loglevel: warning
certfiles: []
listen:
  - port: %[1]d
    ip: "127.0.0.1"
    module: ejabberd_c2s
    max_stanza_size: 262144
  - port: %[2]d
    ip: "127.0.0.1"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
auth_method: internal
auth_password_format: plain
acl:
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: all
  c2s:
    allow: all
api_permissions:
  "bench":
    from:
      - mod_http_api
    who:
      acl: loopback
    what: "*"
modules:
  mod_disco: {}
  mod_muc:
    host: %[4]s
    access:
      - allow
    access_admin:
      - allow: all
    access_create: all
    access_persistent: all
    max_users: 1000
    history_size: 0
    default_room_options:
      mam: false
      persistent: false
  mod_muc_admin: {}
`

// ejabberd is a running ejabberd of its own.
type ejabberd struct {
	cmd      *exec.Cmd
	ctl      []string // ejabberdctl and its node options
	c2s, api string
	log      string
}

func (r ChatRun) startEjabberd(ctx context.Context, dir string) (*ejabberd, error) {
	for _, sub := range []string{"", "spool", "logs"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, err
		}
	}
	c2s, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api, err := freeAddr()
	if err != nil {
		return nil, err
	}
	port := func(a string) int {
		_, p, _ := net.SplitHostPort(a)
		n, _ := strconv.Atoi(p)
		return n
	}
	if err := os.WriteFile(filepath.Join(dir, "ejabberd.yml"), fmt.Appendf(nil, ejabberdConfig, port(c2s), port(api), xmppHost, mucHost), 0o644); err != nil {
		return nil, err
	}
	if b, err := os.ReadFile("/etc/ejabberd/inetrc"); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "inetrc"), b, 0o644)
	}
	// ejabberdctl run as root runs ejabberd as its own user.
	if u, err := user.Lookup("ejabberd"); err == nil && os.Getuid() == 0 {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Lchown(p, uid, gid) })
		_ = os.Chown(filepath.Dir(dir), uid, gid)
	}
	node := fmt.Sprintf("vobench%d@localhost", port(c2s))
	args := []string{"--node", node, "--config-dir", dir, "--config", filepath.Join(dir, "ejabberd.yml"),
		"--spool", filepath.Join(dir, "spool"), "--logs", filepath.Join(dir, "logs"), "foreground"}
	name := r.Ejabberd
	if r.ServerCPU >= 0 {
		name, args = "taskset", append([]string{"-c", strconv.Itoa(r.ServerCPU), r.Ejabberd}, args...)
	}
	logPath := filepath.Join(dir, "console.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop takes the Erlang VM under su as well
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	e := &ejabberd{cmd: cmd, ctl: []string{r.Ejabberd, "--node", node, "--config-dir", dir}, c2s: c2s, api: "http://" + api + "/api/", log: logPath}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if e.call(ctx, "status", `{}`) == nil {
			return e, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			e.stop()
			b, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("ejabberd did not come up: %s", bytes.TrimSpace(b[max(0, len(b)-2000):]))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// call runs an API command.
func (e *ejabberd) call(ctx context.Context, command, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.api+command, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("ejabberd %s: %s: %s", command, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// stop stops the node (su runs the Erlang VM in a session of its own,
// out of reach of the process group) and ends the process group.
func (e *ejabberd) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	_ = exec.CommandContext(ctx, e.ctl[0], append(e.ctl[1:], "stop")...).Run()
	cancel()
	_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = e.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// measureEjabberd runs the fixed load into a MUC room of Members
// occupants with Devices resources each.
func (r ChatRun) measureEjabberd(ctx context.Context, dir string) (ChatFigures, error) {
	fig := ChatFigures{Name: "ejabberd", Conns: r.Members * r.Devices}
	e, err := r.startEjabberd(ctx, dir)
	if err != nil {
		return fig, err
	}
	defer e.stop()
	fmt.Fprintf(r.Log, "ejabberd: up; registering %d users\n", r.Members)
	for u := range r.Members {
		if err := e.call(ctx, "register", fmt.Sprintf(`{"user":"u%d","host":%q,"password":"bench-password"}`, u, xmppHost)); err != nil {
			return fig, err
		}
	}
	if err := e.call(ctx, "create_room", fmt.Sprintf(`{"name":%q,"service":%q,"host":%q}`, roomName, mucHost, xmppHost)); err != nil {
		return fig, err
	}
	n := int(int64(r.Rate) * int64(r.Duration) / int64(time.Second))
	t := newTracker(n, fig.Conns)
	room := jid.MustParse(roomName + "@" + mucHost)
	sessions := make([]*xmpp.Session, r.Members) // device 0 of each member sends
	var joined sync.WaitGroup
	var served sync.WaitGroup
	var dropped atomic.Int64
	var all []*xmpp.Session
	defer func() {
		for _, s := range all {
			_ = s.Close()
			_ = s.Conn().Close()
		}
		served.Wait()
	}()
	for d := range r.Devices {
		for u := range r.Members {
			me := jid.MustParse(fmt.Sprintf("u%d@%s/d%d", u, xmppHost, d))
			conn, err := net.Dial("tcp", e.c2s)
			if err != nil {
				return fig, err
			}
			// Loopback needs no TLS: the session counts as secure for SASL.
			s, err := xmpp.NewSession(ctx, me.Domain(), me, conn, xmpp.Secure, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
				return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmpp.SASL("", "bench-password", sasl.Plain), xmpp.BindResource()}}
			}))
			if err != nil {
				conn.Close()
				return fig, fmt.Errorf("log in %s: %w", me, err)
			}
			all = append(all, s)
			if d == 0 {
				sessions[u] = s
			}
			nick := fmt.Sprintf("u%d-d%d", u, d)
			joined.Add(1)
			var once sync.Once
			served.Go(func() {
				err := s.Serve(xmpp.HandlerFunc(func(tr xmlstream.TokenReadEncoder, start *xml.StartElement) error {
					switch start.Name.Local {
					case "message":
						body := messageBody(tr)
						if seq, ok := strings.CutPrefix(body, "m"); ok {
							if i, err := strconv.Atoi(seq); err == nil {
								t.arrived(i, t.now())
							}
						}
					case "presence":
						for _, a := range start.Attr {
							if a.Name.Local == "from" && strings.HasSuffix(a.Value, "/"+nick) {
								once.Do(joined.Done)
							}
						}
					}
					return nil
				}))
				once.Do(joined.Done)
				if err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
					if dropped.Add(1) == 1 {
						fmt.Fprintf(r.Log, "ejabberd: %s: %v\n", nick, err)
					}
				}
			})
			join := stanza.Presence{To: jid.MustParse(room.String() + "/" + nick)}
			x := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: "http://jabber.org/protocol/muc", Local: "x"}})
			if err := s.Send(ctx, join.Wrap(x)); err != nil {
				return fig, fmt.Errorf("join %s: %w", nick, err)
			}
		}
	}
	if !waitTimeout(&joined, 30*time.Second) {
		return fig, errors.New("not every resource joined the room within 30 s")
	}
	if dropped.Load() > 0 {
		return fig, errors.New("a connection closed before it joined the room")
	}
	fmt.Fprintf(r.Log, "ejabberd: %d resources in the room; sending %d messages at %d/s\n", fig.Conns, n, r.Rate)
	fig.Failed = t.pace(r.Rate, func(i int) error {
		msg := stanza.Message{To: room, Type: stanza.GroupChatMessage}
		body := xmlstream.Wrap(xmlstream.Token(xml.CharData("m"+strconv.Itoa(i))), xml.StartElement{Name: xml.Name{Local: "body"}})
		return sessions[i%r.Members].Send(ctx, msg.Wrap(body))
	}, func(err error) { fmt.Fprintf(r.Log, "ejabberd: a send failed: %v\n", err) })
	t.wait(30 * time.Second)
	time.Sleep(200 * time.Millisecond)
	t.figures(&fig)
	if st := t.stray.Load(); st > 0 {
		return fig, fmt.Errorf("ejabberd: %d messages doubled or unknown", st)
	}
	fmt.Fprintf(r.Log, "ejabberd: sent at %.0f/s; p50 %v, p99 %v, max %v until all %d resources; %d failed, %d lost\n", fig.SendRate(),
		fig.Quantile(0.5).Round(time.Microsecond), fig.Quantile(0.99).Round(time.Microsecond), fig.Quantile(1).Round(time.Microsecond), fig.Conns, fig.Failed, fig.Lost)
	return fig, nil
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// messageBody reads a message stanza's inner tokens (to their end) and
// returns the text of its body.
func messageBody(tr xml.TokenReader) string {
	var body strings.Builder
	in := false
	for {
		tok, err := tr.Token()
		if err != nil {
			return body.String()
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "body"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				body.Write(tok)
			}
		}
	}
}
