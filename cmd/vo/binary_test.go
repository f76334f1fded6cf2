package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apidoc/apitypes"
	"vo/internal/store"
)

// cheap keeps argon2id fast where the test seeds users itself.
var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// seed creates org acme with ann@acme.test (admin, ext 101) in the data
// folder, as `vo admin` would, and leaves the database closed.
func seed(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o, err := admin.CreateOrg(ctx, st, "acme", "Acme Inc")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateUsers(ctx, st, o.ID, cheap, []account.NewUser{
		{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", Role: account.RoleAdmin, Password: "long-enough-pw"},
	}); err != nil {
		t.Fatal(err)
	}
}

// cleanEnv is the environment without VO_ settings (but a free SIP port), which would override
// the defaults the tests rely on.
func cleanEnv() []string {
	// Each server binds a free SIP port: the subtests run at once, and
	// two on the default 5060 would meet.
	env := []string{"VO_SIP_ADDR=127.0.0.1:0"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "VO_") {
			env = append(env, kv)
		}
	}
	return env
}

// TestBinary builds vo and runs it as a user would: exit codes, what
// reaches stderr, and a graceful stop on SIGTERM.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "vo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("bad input exits non-zero with one line on stderr", func(t *testing.T) {
		t.Parallel()
		seeded := t.TempDir()
		seed(t, seeded)
		csv := filepath.Join(t.TempDir(), "users.csv")
		os.WriteFile(csv, []byte("name,email,extension,phone_number,role,password\n"+
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n"+
			"Chloe Nguyen,chloe@acme.test,103,,,long-enough-pw\n"+
			"Dev Patel,dev@,104,,,long-enough-pw\n"), 0o600)
		quoted := filepath.Join(t.TempDir(), "quoted.csv")
		os.WriteFile(quoted, []byte("name,email,extension,phone_number,role,password\n"+
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n"+
			"Chloe \"C\" Nguyen,chloe@acme.test,103,,,long-enough-pw\n"), 0o600)
		for _, tc := range []struct {
			name     string
			dir      string // "" means a new, empty data folder
			stdin    string
			args     []string
			code     int
			contains string
		}{
			{"bad slug", "", "", []string{"admin", "org", "create", "--slug", "Bad Slug", "--name", "X"}, 1, "slug must be"},
			{"bad email", seeded, "long-enough-pw", []string{"admin", "user", "create", "--org", "acme", "--email", "ben@", "--name", "Ben", "--extension", "102", "--password-stdin"}, 1, "email"},
			{"short password", seeded, "short", []string{"admin", "user", "create", "--org", "acme", "--email", "ben@acme.test", "--name", "Ben", "--extension", "102", "--password-stdin"}, 1, "at least 10"},
			{"bad extension", seeded, "long-enough-pw", []string{"admin", "user", "create", "--org", "acme", "--email", "ben@acme.test", "--name", "Ben", "--extension", "1", "--password-stdin"}, 1, "extension must be"},
			{"taken extension", seeded, "long-enough-pw", []string{"admin", "user", "create", "--org", "acme", "--email", "ben@acme.test", "--name", "Ben", "--extension", "101", "--password-stdin"}, 1, "extension 101 is already taken"},
			{"unknown org", seeded, "long-enough-pw", []string{"admin", "user", "create", "--org", "nope", "--email", "ben@acme.test", "--name", "Ben", "--extension", "102", "--password-stdin"}, 1, "no org has slug nope"},
			{"unknown org, first run on a new data folder", "", "long-enough-pw", []string{"admin", "user", "create", "--org", "nope", "--email", "ben@acme.test", "--name", "Ben", "--extension", "102", "--password-stdin"}, 1, "no org has slug nope"},
			{"import with a bad line 4", seeded, "", []string{"admin", "user", "import", "--org", "acme", csv}, 1, "line 4"},
			{"import with a stray quote on line 3", seeded, "", []string{"admin", "user", "import", "--org", "acme", quoted}, 1, "line 3"},
			{"unknown flag", seeded, "", []string{"admin", "org", "create", "--bogus"}, 2, "bogus"},
			{"bad trusted proxy", seeded, "", []string{"serve", "--trusted-proxies", "10.0.0.0/8,proxy.local"}, 2, "proxy.local"},
			{"metrics on the public address", seeded, "", []string{"serve", "--addr", "127.0.0.1:18080", "--metrics-addr", "127.0.0.1:18080"}, 2, "metrics-addr"},
			{"no connection allowed per address", seeded, "", []string{"serve", "--max-conns-per-addr", "0"}, 2, "max-conns-per-addr"},
			{"connections per address not a number", seeded, "", []string{"serve", "--max-conns-per-addr", "many"}, 2, "max-conns-per-addr"},
			{"bad SIP address", seeded, "", []string{"serve", "--sip-addr", "bad"}, 2, `--sip-addr "bad": want HOST:PORT`},
			{"SIP on the HTTP address", seeded, "", []string{"serve", "--addr", "127.0.0.1:18081", "--sip-addr", "127.0.0.1:18081"}, 2, "--sip-addr must not be the HTTP --addr"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				dir := tc.dir
				if dir == "" {
					dir = t.TempDir()
				}
				// --data goes before any file argument.
				args := append(append(append([]string{}, tc.args[:3]...), "--data", dir), tc.args[3:]...)
				cmd := exec.Command(bin, args...)
				cmd.Env = cleanEnv()
				cmd.Stdin = strings.NewReader(tc.stdin)
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				err := cmd.Run()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
					t.Fatalf("exit: %v; want code %d\nstderr: %s", err, tc.code, stderr.String())
				}
				got := stderr.String()
				if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") || !strings.HasPrefix(got, "vo: ") || !strings.Contains(got, tc.contains) {
					t.Fatalf("stderr %q: want one line \"vo: …%s…\"", got, tc.contains)
				}
				if stdout.Len() != 0 {
					t.Fatalf("stdout %q on a refusal", stdout.String())
				}
			})
		}
		if n := len(people(t, seeded, "acme")); n != 1 {
			t.Fatalf("refusals changed the data: %d people", n)
		}
	})

	t.Run("a message answered 201 survives SIGKILL", func(t *testing.T) {
		t.Parallel()
		dir, addr := t.TempDir(), freeAddr(t)
		seed(t, dir)
		ctx := context.Background()
		st, err := store.Open(ctx, store.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		o, err := st.OrgBySlug(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		ben, err := admin.CreateUsers(ctx, st, o.ID, cheap, []account.NewUser{{Name: "Ben Ortiz", Email: "ben@acme.test", Extension: "102", Password: "long-enough-pw"}})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		base := "http://" + addr
		start := func() (*exec.Cmd, chan struct{}) {
			cmd := exec.Command(bin, "serve", "--addr", addr, "--data", dir)
			cmd.Env = cleanEnv()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			t.Cleanup(func() { cmd.Process.Kill(); <-exited })
			waitHealthy(t, base, exited)
			return cmd, exited
		}
		cmd, exited := start()
		token := loginAs(t, base, "ann@acme.test", "long-enough-pw")
		res, b := postJSON(t, base+"/api/v1/conversations", token, map[string]any{"member_ids": []string{ben[0].ID}})
		var conv apitypes.Conversation
		if res.StatusCode != http.StatusCreated || json.Unmarshal(b, &conv) != nil {
			t.Fatalf("conversation: %d %s", res.StatusCode, b)
		}
		res, b = postJSON(t, base+"/api/v1/conversations/"+conv.ID+"/messages", token, map[string]any{"client_id": "kill-1", "text": "committed before the 201"})
		// Killed the moment the answer is in: no shutdown, no checkpoint.
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		var sent apitypes.Message
		if res.StatusCode != http.StatusCreated || json.Unmarshal(b, &sent) != nil {
			t.Fatalf("send: %d %s", res.StatusCode, b)
		}
		start()
		res, b = get(t, base+"/api/v1/conversations/"+conv.ID+"/messages", token)
		var page apitypes.MessageList
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &page) != nil {
			t.Fatalf("history after restart: %d %s", res.StatusCode, b)
		}
		if len(page.Items) != 1 || page.Items[0].ID != sent.ID || page.Items[0].Text != "committed before the 201" {
			t.Fatalf("after SIGKILL and restart the history is %s; want the message answered 201", b)
		}
		// The retry a client makes when it never saw the answer finds it.
		res, b = postJSON(t, base+"/api/v1/conversations/"+conv.ID+"/messages", token, map[string]any{"client_id": "kill-1", "text": "committed before the 201"})
		var again apitypes.Message
		if res.StatusCode != http.StatusOK || json.Unmarshal(b, &again) != nil || again.ID != sent.ID {
			t.Fatalf("the retry after restart: %d %s; want 200 with %s", res.StatusCode, b, sent.ID)
		}
	})

	t.Run("SIGTERM drains and exits 0 with the database clean", func(t *testing.T) {
		t.Parallel()
		dir, addr := t.TempDir(), freeAddr(t)
		seed(t, dir)
		base := "http://" + addr
		cmd := exec.Command(bin, "serve", "--addr", addr, "--data", dir)
		cmd.Env = cleanEnv()
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		var waitErr error
		go func() { waitErr = cmd.Wait(); close(exited) }()
		t.Cleanup(func() {
			select {
			case <-exited:
			default:
				cmd.Process.Kill()
				<-exited
			}
		})
		waitHealthy(t, base, exited)

		// A live event stream: the server must close it, not wait for it.
		token := loginAs(t, base, "ann@acme.test", "long-enough-pw")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/api/v1/events", &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
		if err != nil {
			t.Fatalf("event stream: %v", err)
		}
		defer ws.CloseNow()
		if _, hello, err := ws.Read(ctx); err != nil || !bytes.Contains(hello, []byte(`"hello"`)) {
			t.Fatalf("first frame %s, %v", hello, err)
		}
		streamEnded := make(chan error, 1)
		go func() {
			for {
				if _, _, err := ws.Read(ctx); err != nil {
					streamEnded <- err
					return
				}
			}
		}()

		// A request in flight when the signal comes: its body is half sent.
		body := `{"email": "ann@acme.test", "password": "long-enough-pw", "device_name": "slow", "platform": "web"}`
		pr, pw := io.Pipe()
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/auth/login", pr)
		req.ContentLength = int64(len(body))
		req.Header.Set("Content-Type", "application/json")
		type answer struct {
			status int
			body   []byte
			err    error
		}
		answered := make(chan answer, 1)
		// Its own connection: on an idle keep-alive one left by the login
		// above, a request whose first bytes race the shutdown may be
		// reset, which HTTP/1.1 allows and clients retry; a new
		// connection is never closed by Shutdown before it is served.
		slow := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		go func() {
			res, err := slow.Do(req)
			if err != nil {
				answered <- answer{err: err}
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			answered <- answer{status: res.StatusCode, body: b}
		}()
		if _, err := io.WriteString(pw, body[:len(body)/2]); err != nil {
			t.Fatal(err)
		}
		// The server accepts connections in the order they come: once a
		// later one is served, the slow one is accepted too.
		fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		if res, err := fresh.Get(base + "/healthz"); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %v %v", res, err)
		} else {
			res.Body.Close()
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		signalled := time.Now()
		// Once the server has closed the event stream it is shutting down;
		// only then does the rest of the slow request arrive.
		select {
		case err := <-streamEnded:
			t.Logf("event stream ended %v after SIGTERM: %v", time.Since(signalled).Round(time.Millisecond), err)
		case <-time.After(5 * time.Second):
			t.Fatal("the event stream is still open 5 s after SIGTERM")
		}
		io.WriteString(pw, body[len(body)/2:])
		pw.Close()
		select {
		case a := <-answered:
			var login apitypes.LoginAnswer
			switch {
			case a.err != nil || a.status != http.StatusOK:
				t.Errorf("the request in flight at SIGTERM: %d %s %v; want it served (200)", a.status, a.body, a.err)
			case json.Unmarshal(a.body, &login) != nil || login.Token == "":
				t.Errorf("the request in flight at SIGTERM was answered 200 with %q and no token: it was not served", a.body)
			}
		case <-time.After(5 * time.Second):
			t.Error("the request in flight at SIGTERM got no answer")
		}
		select {
		case <-exited:
		case <-time.After(5*time.Second - time.Since(signalled)):
			t.Fatalf("still running 5 s after SIGTERM\nstderr: %s", stderr.String())
		}
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v; want 0\nstderr: %s", waitErr, stderr.String())
		}
		t.Logf("exited %v after SIGTERM", time.Since(signalled).Round(time.Millisecond))

		db := filepath.Join(dir, "vo.db")
		if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > 0 {
			t.Errorf("%d bytes left in the WAL: the database was not checkpointed on exit", fi.Size())
		}
		conn, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		var check string
		if err := conn.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("integrity_check: %q, %v", check, err)
		}
		var sessions int
		if err := conn.QueryRow(`SELECT COUNT(*) FROM sessions`).Scan(&sessions); err != nil {
			t.Fatal(err)
		}
		if sessions != 2 {
			t.Errorf("%d sessions stored, want 2 (the stream's and the slow login's)", sessions)
		}
	})
}
