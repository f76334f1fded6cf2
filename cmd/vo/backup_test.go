package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/votest"
)

// serveDir runs `vo serve` in-process on a data folder and returns its URL.
func serveDir(t *testing.T, dir string) string {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, strings.NewReader(""), io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve on %s: %v", dir, err)
		}
	})
	re := regexp.MustCompile(`listening url=(http://\S+)`)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("serve did not start:\n%s", stderr.String())
	return ""
}

func testJPEG(t *testing.T, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 48, 40))
	for y := range 40 {
		for x := range 48 {
			img.Set(x, y, color.RGBA{uint8(x*5 + seed*40), uint8(y * 6), uint8(seed * 13), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func request(t *testing.T, method, url, token, contentType string, body []byte) (int, []byte) {
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// adminRun runs `vo admin` in-process with exactly these arguments.
func adminRun(args ...string) (string, error) {
	var stdout syncBuffer
	err := run(context.Background(), append([]string{"admin"}, args...), strings.NewReader(""), &stdout, io.Discard)
	return stdout.String(), err
}

// committed is what one round of the writer got a success for.
type committed struct {
	userID, token string
	photo         []byte // the 64-pixel size as served
}

// TestBackupRestore takes a backup of a serving node during a stream of
// writes (people created, logged in, given photos), restores it into a new
// data folder, serves that, and finds everything committed before the
// backup began.
func TestBackupRestore(t *testing.T) {
	dir := t.TempDir()
	seed(t, dir)
	url := serveDir(t, dir)
	var admin apitypes.LoginAnswer
	if code := votest.Do(t, url, "", "POST", "/api/v1/auth/login", map[string]string{"email": "ann@acme.test", "password": "long-enough-pw", "device_name": "t", "platform": "web"}, &admin); code != 200 {
		t.Fatalf("admin login: %d", code)
	}

	var (
		mu     sync.Mutex
		rounds []committed
		stop   = make(chan struct{})
		wg     sync.WaitGroup
	)
	round := func(i int) (committed, bool) {
		email := fmt.Sprintf("p%d@acme.test", i)
		var u apitypes.Contact
		if code := votest.Do(t, url, admin.Token, "POST", "/api/v1/admin/users", map[string]string{"name": fmt.Sprintf("Person %d", i), "email": email, "extension": fmt.Sprint(200 + i), "password": "long-enough-pw"}, &u); code != 201 {
			t.Errorf("create user %d: %d", i, code)
			return committed{}, false
		}
		var login apitypes.LoginAnswer
		if code := votest.Do(t, url, "", "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": "long-enough-pw", "device_name": "t", "platform": "web"}, &login); code != 200 {
			t.Errorf("login %d: %d", i, code)
			return committed{}, false
		}
		if code, body := request(t, "PUT", url+"/api/v1/me/photo", login.Token, "image/jpeg", testJPEG(t, i)); code != 200 {
			t.Errorf("photo %d: %d %s", i, code, body)
			return committed{}, false
		}
		code, photo := request(t, "GET", url+"/api/v1/users/"+u.ID+"/photo?size=64", login.Token, "", nil)
		if code != 200 {
			t.Errorf("fetch photo %d: %d", i, code)
			return committed{}, false
		}
		return committed{userID: u.ID, token: login.Token, photo: photo}, true
	}
	started := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			c, ok := round(i)
			if !ok {
				return
			}
			mu.Lock()
			rounds = append(rounds, c)
			mu.Unlock()
			if i == 2 {
				close(started)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	<-started // a few rounds in, and the stream goes on during the backup

	mu.Lock()
	before := append([]committed(nil), rounds...)
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "vo-backup.tar")
	out, err := adminRun("backup", "--data", dir, "--out", file)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	if !strings.Contains(out, "the database and") {
		t.Errorf("backup said %q", out)
	}
	close(stop)
	wg.Wait()
	if _, err := adminRun("backup", "--data", dir, "--out", file); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("a second backup onto the same file: %v", err)
	}

	restored := filepath.Join(t.TempDir(), "restored")
	if _, err := adminRun("restore", "--data", restored, "--from", file); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if _, err := adminRun("restore", "--data", restored, "--from", file); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("restoring over a database: %v", err)
	}
	url2 := serveDir(t, restored)
	for i, c := range before {
		var me apitypes.Me
		if code := votest.Do(t, url2, c.token, "GET", "/api/v1/me", nil, &me); code != 200 || me.ID != c.userID {
			t.Errorf("round %d: the restored node answers /me with %d %q, want the user %q and its session", i, code, me.ID, c.userID)
			continue
		}
		if code, photo := request(t, "GET", url2+"/api/v1/users/"+c.userID+"/photo?size=64", c.token, "", nil); code != 200 || !bytes.Equal(photo, c.photo) {
			t.Errorf("round %d: photo %d, %d bytes, want the %d bytes served before", i, code, len(photo), len(c.photo))
		}
	}
	t.Logf("%d rounds committed before the backup, %d in all", len(before), len(rounds))
}

// TestRestoreRefusesForeignFiles: a file that is not a backup changes
// nothing.
func TestRestoreRefusesForeignFiles(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.tar")
	if err := os.WriteFile(file, []byte("not a tar at all, but long enough to be read as a header block................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "new")
	_, err := adminRun("restore", "--data", dir, "--from", file)
	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("restore of a foreign file: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the data folder was made: %v", err)
	}
}

// TestBackupPostgresFiles: on PostgreSQL the backup holds the stored files
// (the database is pg_dump's) and restore puts them into another database's
// store.
func TestBackupPostgresFiles(t *testing.T) {
	ctx := context.Background()
	src, dst := storetest.DSN(t, "postgres"), storetest.DSN(t, "postgres")
	st := openDSN(t, src)
	files, closeFiles, err := openBlobs(ctx, commonFlags{db: src}, st)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFiles()
	if err := files.Put(ctx, "photos/ab/x.jpg", strings.NewReader("jpeg"), 4, "image/jpeg"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "files.tar")
	out, err := adminRun("backup", "--db", src, "--out", file)
	if err != nil || !strings.Contains(out, "1 stored files; back the PostgreSQL database up with pg_dump") {
		t.Fatalf("backup: %q, %v", out, err)
	}
	if _, err := adminRun("restore", "--data", t.TempDir(), "--from", file); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("restoring a PostgreSQL backup as SQLite: %v", err)
	}
	openDSN(t, dst) // as pg_restore would have made it
	if _, err := adminRun("restore", "--db", dst, "--from", file); err != nil {
		t.Fatal(err)
	}
	st2 := openDSN(t, dst)
	files2, close2, err := openBlobs(ctx, commonFlags{db: dst}, st2)
	if err != nil {
		t.Fatal(err)
	}
	defer close2()
	if got, err := blobs.ReadAll(ctx, files2, "photos/ab/x.jpg", 100); err != nil || string(got) != "jpeg" {
		t.Fatalf("restored file: %q, %v", got, err)
	}
}

func openDSN(t *testing.T, dsn string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DSN: dsn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
