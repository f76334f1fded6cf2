// Package multinode runs two real `vo serve` processes on one PostgreSQL
// database joined by NATS, and checks that presence stays in sync across
// them, also when one is killed, and that a photo uploaded through one is
// served by the other.
package multinode

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"vo/internal/apidoc/apitypes"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/votest"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "vo-multinode")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "vo")
	if out, err := exec.Command("go", "build", "-o", bin, "vo/cmd/vo").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build vo: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(5 * time.Second) {
		t.Fatal("embedded NATS did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

type node struct {
	cmd *exec.Cmd
	url string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startNode(t *testing.T, name, dsn, natsURL string) *node {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--sip-addr", "127.0.0.1:0", "--db", dsn, "--nats", natsURL, "--data", t.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := false
		for sc.Scan() {
			if !once && strings.Contains(sc.Text(), "listening") {
				once = true
				close(ready)
			}
			if testing.Verbose() {
				t.Logf("%s: %s", name, sc.Text())
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("node %s did not start", name)
	}
	n := &node{cmd: cmd, url: "http://" + addr}
	t.Cleanup(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	})
	return n
}

func TestTwoNodes(t *testing.T) {
	dsn := storetest.DSN(t, "postgres")
	natsURL := startNATS(t)

	// Seed through a store of our own on the shared database; it also
	// tells the truth the watchers are compared with.
	st, err := store.Open(context.Background(), store.Options{DSN: dsn, Clock: clock.Real{}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seeder := &votest.Node{T: t, Store: st}
	org := seeder.Seed("acme", "Ann Lee", "Ben Ortiz", "Cy Young")
	ann, ben, cy := org.Users[0], org.Users[1], org.Users[2]

	a := startNode(t, "A", dsn, natsURL)
	b := startNode(t, "B", dsn, natsURL)
	login := func(n *node, email, platform string) votest.Session {
		var out apitypes.LoginAnswer
		if st := votest.Do(t, n.url, "", "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": votest.Password, "device_name": "t", "platform": platform}, &out); st != 200 {
			t.Fatalf("login %s on %s: %d", email, n.url, st)
		}
		return votest.Session{Token: out.Token, ID: out.Session.ID}
	}
	converge := func(ws ...*votest.Watcher) {
		t.Helper()
		for i, w := range ws {
			votest.Eventually(t, time.Second, fmt.Sprintf("watcher %d converges", i), func() (bool, string) {
				return w.Matches(votest.Truth(t, st, org.ID))
			})
		}
	}

	annA := login(a, "ann@acme.test", "web")
	wA := votest.Watch(t, a.url, annA)
	benB := login(b, "ben@acme.test", "web")
	wB := votest.Watch(t, b.url, benB)
	converge(wA, wB)

	// A change made through A reaches a watcher on B within a second.
	start := time.Now()
	if code := votest.Do(t, a.url, annA.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "dnd", "message": "Board meeting"}, nil); code != 200 {
		t.Fatalf("set presence on A: %d", code)
	}
	votest.Eventually(t, time.Second, "B sees A's change", func() (bool, string) {
		p := wB.Of(ann.ID)
		return p.Shown == "busy" && p.Message != nil && *p.Message == "Board meeting", fmt.Sprintf("%+v", p)
	})
	t.Logf("A → B in %v", time.Since(start))
	// And back.
	votest.Do(t, b.url, benB.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "away"}, nil)
	converge(wA, wB)

	// A photo uploaded through A is served by B: both keep stored files in
	// the database, not in their own data folders.
	photo := uploadPhoto(t, a.url, annA.Token)
	if got := fetchPhoto(t, b.url, benB.Token, ann.ID); !bytes.Equal(got, photo) {
		t.Fatalf("B serves %d bytes of Ann's photo, A served %d", len(got), len(photo))
	}

	// Cy is connected only to B and leaves an expiry for the server to run.
	cyB := login(b, "cy@acme.test", "web")
	wCy := votest.Watch(t, b.url, cyB)
	until := time.Now().Add(3 * time.Second).UTC().Format(time.RFC3339Nano)
	votest.Do(t, b.url, cyB.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "dnd", "status_until": until}, nil)
	converge(wA, wB, wCy)

	// Kill B outright: no drain, no goodbye.
	if err := b.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.cmd.Wait()
	<-wB.Closed()

	// Node A runs Cy's expiry although B took the change: presence of the
	// users who were only on B is correct on A.
	votest.Eventually(t, 10*time.Second, "A runs the expiry B left", func() (bool, string) {
		p := wA.Of(cy.ID)
		return p.Shown == "available", fmt.Sprintf("%+v", p)
	})
	converge(wA)

	// A change made while the watcher had no node; it moves from B to A
	// with its cursor and converges.
	votest.Do(t, a.url, annA.Token, "PUT", "/api/v1/me/presence", map[string]any{"status": "available", "message": nil}, nil)
	if err := wB.ConnectTo(a.url); err != nil {
		t.Fatal(err)
	}
	converge(wA, wB)
	if wB.Snapshots() != 1 {
		t.Fatalf("the moving watcher should resume from its cursor, got %d snapshots", wB.Snapshots())
	}
	if p := wA.Of(ben.ID); p.Shown != "away" {
		t.Fatalf("Ben chose away on B; A shows %+v", p)
	}
}

// uploadPhoto makes a JPEG the caller's photo through the node at url and
// returns the 256-pixel size as that node serves it.
func uploadPhoto(t *testing.T, url, token string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 96, 80))
	for y := range 80 {
		for x := range 96 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", url+"/api/v1/me/photo", &buf)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "image/jpeg")
	var me apitypes.Me
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("upload a photo: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &me); err != nil {
		t.Fatal(err)
	}
	return fetchPhoto(t, url, token, me.ID)
}

func fetchPhoto(t *testing.T, url, token, userID string) []byte {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/api/v1/users/"+userID+"/photo?size=256", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("photo of %s from %s: %d %s, %v", userID, url, resp.StatusCode, resp.Header.Get("Content-Type"), err)
	}
	return body
}
