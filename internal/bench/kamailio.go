package bench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// kamailioConfig makes Debian's kamailio a registrar with digest
// authentication and no database: usrloc keeps the bindings in memory
// (db_mode 0) and every user's password is computed from the username
// (KamailioPassword), checked with pv_auth_check; a challenge offers MD5
// with qop auth (and nonce counts checked, so no replay), as vo's MD5
// challenge does. The To user must be the
// authenticated one (check 1), as in vo. %[1]s is the listen address.
const kamailioConfig = `#!KAMAILIO
debug=0
log_stderror=yes
memdbg=5
memlog=5
auto_aliases=no
listen=udp:%[1]s
disable_tcp=yes
server_header="Server: kamailio"
user_agent_header="User-Agent: kamailio"

loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "sanity.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"

modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 60)
modparam("auth", "qop", "auth")
modparam("auth", "nonce_count", 1)
modparam("auth", "secret", "%[2]s")

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (!sanity_check()) {
		exit;
	}
	if (is_method("OPTIONS")) {
		sl_send_reply("200", "OK");
		exit;
	}
	if (!is_method("REGISTER")) {
		sl_send_reply("405", "Method Not Allowed");
		exit;
	}
	$var(password) = "pw" + $fU;
	if (!pv_auth_check("$fd", "$var(password)", "0", "1")) {
		auth_challenge("$fd", "1");
		exit;
	}
	consume_credentials();
	if (!save("location")) {
		sl_reply_error();
	}
	exit;
}
`

// KamailioPassword is the password kamailio's config computes for user.
func KamailioPassword(user string) string { return "pw" + user }

// kamailio is a running kamailio of its own.
type kamailio struct {
	cmd    *exec.Cmd
	addr   string
	log    string
	exited chan struct{} // closed once the main process is waited for
}

// startKamailio runs exe in the foreground with a throwaway config in
// dir, pinned to cpu when cpu >= 0, with two worker processes (as many
// as this machine has cores), and waits until it answers OPTIONS.
func startKamailio(ctx context.Context, exe string, cpu int, dir string) (*kamailio, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addr, err := freeUDPAddr()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "kamailio.cfg")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, kamailioConfig, addr, randHex(16)), 0o644); err != nil {
		return nil, err
	}
	// -DD: no daemon, the children forked; -E: log to stderr; -w: its
	// working folder; -P: the pid file (not /run/kamailio).
	args := []string{"-DD", "-E", "-f", cfg, "-n", "2", "-m", "64", "-M", "8", "-w", dir, "-P", filepath.Join(dir, "kamailio.pid")}
	name := exe
	if cpu >= 0 {
		name, args = "taskset", append([]string{"-c", strconv.Itoa(cpu), exe}, args...)
	}
	logPath := filepath.Join(dir, "kamailio.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // stop takes the children as well
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	k := &kamailio{cmd: cmd, addr: addr, log: logPath, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(k.exited)
	}()
	up := make(chan error, 1)
	go func() { up <- waitSIP(ctx, addr, 30*time.Second) }()
	select {
	case err := <-up:
		if err == nil {
			return k, nil
		}
	case <-k.exited:
	}
	k.stop()
	b, _ := os.ReadFile(logPath)
	return nil, fmt.Errorf("kamailio did not come up: %s", bytes.TrimSpace(b[max(0, len(b)-2000):]))
}

// stop ends kamailio's process group (the main process and its
// children): SIGTERM, SIGKILL after 10 s.
func (k *kamailio) stop() {
	_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-k.cmd.Process.Pid, syscall.SIGKILL)
		<-k.exited
	}
}
