package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apidoc/apitypes"
	"vo/internal/demo"
)

var runningAt = regexp.MustCompile(`running at (http://\S+)`)

// server is `vo serve` running in-process.
type server struct {
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	stop   context.CancelFunc
	done   chan error
}

// serveInProcess starts run("serve", ...) on a free port and waits for the
// URL it prints.
func serveInProcess(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, stop: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), strings.NewReader(""), pw, s.stderr)
		pw.Close()
		s.done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.stdout.Write([]byte(sc.Text() + "\n"))
			if m := runningAt.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, pr)
	}()
	t.Cleanup(func() { s.shutdown(t) })
	select {
	case s.url = <-urls:
	case err := <-s.done:
		s.done <- err
		t.Fatalf("serve ended before printing its URL: %v\nstderr: %s", err, s.stderr)
	case <-time.After(2 * time.Minute):
		t.Fatalf("no URL printed; stdout %q, stderr %s", s.stdout, s.stderr)
	}
	return s
}

// shutdown cancels the server and waits for run to return nil.
func (s *server) shutdown(t *testing.T) {
	t.Helper()
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("serve returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Error("serve did not return within 20 s of being stopped")
	}
}

func postJSON(t *testing.T, url, token string, body any) (*http.Response, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func get(t *testing.T, url, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// loginAs logs in over HTTP and returns the token.
func loginAs(t *testing.T, base, email, password string) string {
	t.Helper()
	res, b := postJSON(t, base+"/api/v1/auth/login", "", map[string]string{"email": email, "password": password, "device_name": "test", "platform": "web"})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login %s: %d %s", email, res.StatusCode, b)
	}
	var out apitypes.LoginAnswer
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		t.Fatalf("login answer %s: %v", b, err)
	}
	return out.Token
}

// `vo serve --demo` seeds the demo org once: a second start on the same
// data folder finds it and adds nobody.
func TestServeDemoIsIdempotent(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds with the production password cost")
	}
	t.Parallel()
	dir := t.TempDir()
	var first map[string]bool
	for i := range 2 {
		s := serveInProcess(t, "--demo", "--data", dir)
		if !strings.Contains(s.stdout.String(), demo.Admin) || !strings.Contains(s.stdout.String(), demo.Password) {
			t.Fatalf("run %d: stdout does not say how to log in: %q", i+1, s.stdout)
		}
		if res, b := get(t, s.url+"/healthz", ""); res.StatusCode != http.StatusOK {
			t.Fatalf("healthz: %d %s", res.StatusCode, b)
		}
		token := loginAs(t, s.url, demo.Admin, demo.Password)
		res, b := get(t, s.url+"/api/v1/directory?limit=200", token)
		var dir apitypes.ContactList
		if err := json.Unmarshal(b, &dir); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("directory: %d %s %v", res.StatusCode, b, err)
		}
		if len(dir.Items) != 12 || dir.NextCursor != nil {
			t.Fatalf("run %d: the demo directory has %d people, want 12", i+1, len(dir.Items))
		}
		ids := map[string]bool{}
		for _, it := range dir.Items {
			ids[it.ID] = true
		}
		if i == 0 {
			first = ids
		} else if !maps.Equal(ids, first) {
			t.Fatalf("the second start replaced the demo people: %v, then %v", first, ids)
		}
		s.shutdown(t)
	}
	us := people(t, dir, demo.Slug)
	admins := 0
	for _, u := range us {
		if u.Role == account.RoleAdmin {
			admins++
			if u.Email != demo.Admin {
				t.Errorf("admin is %s, want %s", u.Email, demo.Admin)
			}
		}
	}
	if len(us) != 12 || admins != 1 {
		t.Fatalf("after two starts: %d people, %d admins; want 12 and 1", len(us), admins)
	}
}

// freeAddr returns a loopback address no one listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy polls /healthz until the server answers (it starts in well
// under the deadline; the deadline only bounds a broken start).
func waitHealthy(t *testing.T, base string, exited <-chan struct{}) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-exited:
			t.Fatal("the server exited while starting")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became healthy: %v", base, err)
		}
	}
}

// Without --demo nothing is printed to stdout and no org is created.
func TestServeWithoutDemo(t *testing.T) {
	t.Parallel()
	dir, addr := t.TempDir(), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done, exited := make(chan error, 1), make(chan struct{})
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--data", dir}, strings.NewReader(""), &stdout, &stderr)
		close(exited)
	}()
	waitHealthy(t, "http://"+addr, exited)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if stdout.String() != "" {
		t.Fatalf("stdout %q, want nothing", stdout.String())
	}
	st := openStore(t, dir)
	if _, err := st.OrgBySlug(context.Background(), demo.Slug); err == nil {
		t.Fatal("a demo org was created without --demo")
	}
}

func TestServeBadFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"serve", "--bogus"},
		{"serve", "--addr", "not-an-address", "--data", t.TempDir()},
		{"serve", "--addr", "127.0.0.1:0", "--db", "postgres://nobody@127.0.0.1:1/none?connect_timeout=2", "--data", t.TempDir()},
		{"serve", "--addr", "127.0.0.1:0", "--push-subject", "ops@example.com", "--data", t.TempDir()},
	} {
		t.Run(fmt.Sprint(args[1:]), func(t *testing.T) {
			var stdout, stderr syncBuffer
			err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if err == nil {
				t.Fatal("serve started")
			}
		})
	}
}

// TestServeMetrics: --metrics-addr serves Prometheus metrics on its own
// address, whose numbers follow the requests; the public address has none.
func TestServeMetrics(t *testing.T) {
	t.Parallel()
	maddr := freeAddr(t)
	s := serveInProcess(t, "--demo", "--data", t.TempDir(), "--metrics-addr", maddr)
	loginAs(t, s.url, "ann@demo.test", "demo-password")
	res, body := get(t, "http://"+maddr+"/metrics", "")
	if res.StatusCode != 200 || !strings.Contains(string(body), `vo_http_requests_total{route="POST /api/v1/auth/login",status="200"} 1`) {
		t.Fatalf("metrics: %d\n%s", res.StatusCode, body)
	}
	// The login's session was written in a transaction: the store reports
	// to these metrics too (a labelled histogram shows once observed).
	if !strings.Contains(string(body), `vo_store_tx_duration_seconds_count{engine="sqlite",outcome="commit"} `) {
		t.Errorf("no store transaction was recorded:\n%s", body)
	}
	if res, body := get(t, s.url+"/metrics", ""); strings.Contains(string(body), "vo_http_requests_total") {
		t.Fatalf("the public address serves metrics: %d", res.StatusCode)
	}
}

func TestParseSendLimit(t *testing.T) {
	if r, b, err := parseSendLimit("1000/3000"); err != nil || r != 1000 || b != 3000 {
		t.Fatalf("1000/3000: %d, %d, %v", r, b, err)
	}
	for _, bad := range []string{"", "10", "10/", "/30", "0/30", "10/0", "a/b", "-1/5"} {
		if _, _, err := parseSendLimit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
