package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/storetest"
	"vo/internal/votest"
)

func testJPEG(t *testing.T, w, h int, c color.RGBA) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Set(x, y, color.RGBA{c.R, uint8(int(c.G) + x%7), c.B, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func send(t *testing.T, base, token, method, path, contentType string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".jpg") {
			n++
		}
		return nil
	})
	return n
}

// TestPhotoLifecycle: upload, serve with caching, everyone told, replace and
// remove without orphans, and refused uploads that change nothing.
func TestPhotoLifecycle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	n := votest.Start(t, storetest.DSN(t, "sqlite"), votest.Options{PhotoDir: dir})
	org := n.Seed("acme", "Ann Lee", "Ben Ortiz")
	ann := org.Users[0]
	a := n.Login("ann@acme.test", "web")
	wb := votest.Watch(t, n.HTTP.URL, n.Login("ben@acme.test", "web"))
	photoURL := func() *string {
		var c apitypes.Contact
		n.Do(a.Token, "GET", "/api/v1/users/"+ann.ID, nil, &c)
		return c.PhotoURL
	}

	// Upload a raw JPEG.
	res, body := send(t, n.HTTP.URL, a.Token, "PUT", "/api/v1/me/photo", "image/jpeg", bytes.NewReader(testJPEG(t, 800, 600, color.RGBA{200, 10, 10, 255})), nil)
	if res.StatusCode != 200 {
		t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	var me apitypes.Me
	json.Unmarshal(body, &me)
	if me.PhotoURL == nil {
		t.Fatal("no photo_url after upload")
	}
	first := *me.PhotoURL
	votest.Eventually(t, time.Second, "Ben's directory sees the photo", func() (bool, string) {
		return wb.PhotoURL(ann.ID) == first, wb.PhotoURL(ann.ID)
	})
	if p := photoURL(); p == nil || *p != first {
		t.Fatalf("directory photo_url %v, want %s", p, first)
	}
	if got := countFiles(t, dir); got != 3 {
		t.Fatalf("%d files stored, want 3 sizes", got)
	}

	// Each size is a square JPEG of that size, cacheable forever by URL.
	for _, size := range []int{64, 256, 512} {
		res, img := send(t, n.HTTP.URL, a.Token, "GET", fmt.Sprintf("%s&size=%d", first, size), "", nil, nil)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("size %d: %d %s", size, res.StatusCode, res.Header.Get("Content-Type"))
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(img))
		if err != nil || cfg.Width != size || cfg.Height != size {
			t.Fatalf("size %d: %v %dx%d", size, err, cfg.Width, cfg.Height)
		}
		etag := res.Header.Get("ETag")
		if etag == "" || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
			t.Fatalf("size %d: ETag %q Cache-Control %q", size, etag, res.Header.Get("Cache-Control"))
		}
		res, _ = send(t, n.HTTP.URL, a.Token, "GET", fmt.Sprintf("%s&size=%d", first, size), "", nil, map[string]string{"If-None-Match": etag})
		if res.StatusCode != 304 {
			t.Fatalf("size %d with If-None-Match: %d", size, res.StatusCode)
		}
	}
	if res, _ := send(t, n.HTTP.URL, a.Token, "GET", first+"&size=100", "", nil, nil); res.StatusCode != 400 {
		t.Fatalf("size 100: %d", res.StatusCode)
	}

	// Refused uploads leave the photo in place.
	big := bytes.Repeat([]byte{0xff}, 12<<20)
	refusals := []struct {
		name, ct string
		body     io.Reader
		status   int
	}{
		{"12 MiB", "image/jpeg", bytes.NewReader(big), 413},
		{"12 MiB chunked", "image/jpeg", io.MultiReader(bytes.NewReader(big)), 413},
		{"not an image", "image/png", strings.NewReader("hello, not a png"), 415},
		{"text type", "text/plain", strings.NewReader("hello"), 415},
		{"empty", "image/jpeg", strings.NewReader(""), 415},
	}
	for _, r := range refusals {
		res, body := send(t, n.HTTP.URL, a.Token, "PUT", "/api/v1/me/photo", r.ct, r.body, nil)
		if res.StatusCode != r.status {
			t.Fatalf("%s: %d %s, want %d", r.name, res.StatusCode, body, r.status)
		}
		if p := photoURL(); p == nil || *p != first {
			t.Fatalf("%s: photo changed to %v", r.name, p)
		}
	}
	if got := countFiles(t, dir); got != 3 {
		t.Fatalf("after refusals %d files, want 3", got)
	}

	// Replace through multipart: the old files go.
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreatePart(map[string][]string{"Content-Disposition": {`form-data; name="photo"; filename="me.jpg"`}, "Content-Type": {"image/jpeg"}})
	fw.Write(testJPEG(t, 300, 500, color.RGBA{10, 10, 200, 255}))
	mw.Close()
	res, body = send(t, n.HTTP.URL, a.Token, "PUT", "/api/v1/me/photo", mw.FormDataContentType(), &mp, nil)
	if res.StatusCode != 200 {
		t.Fatalf("multipart upload: %d %s", res.StatusCode, body)
	}
	json.Unmarshal(body, &me)
	if me.PhotoURL == nil || *me.PhotoURL == first {
		t.Fatalf("photo_url did not change: %v", me.PhotoURL)
	}
	second := *me.PhotoURL
	votest.Eventually(t, time.Second, "Ben sees the new photo", func() (bool, string) { return wb.PhotoURL(ann.ID) == second, "" })
	if got := countFiles(t, dir); got != 3 {
		t.Fatalf("after replace %d files, want 3 (no orphans)", got)
	}

	// Remove.
	res, body = send(t, n.HTTP.URL, a.Token, "DELETE", "/api/v1/me/photo", "", nil, nil)
	if res.StatusCode != 200 {
		t.Fatalf("delete: %d %s", res.StatusCode, body)
	}
	if json.Unmarshal(body, &me); me.PhotoURL != nil {
		t.Fatalf("photo_url after delete: %v", *me.PhotoURL)
	}
	votest.Eventually(t, time.Second, "Ben sees no photo", func() (bool, string) { return wb.PhotoURL(ann.ID) == "", "" })
	if got := countFiles(t, dir); got != 0 {
		t.Fatalf("after delete %d files, want 0", got)
	}
	if res, _ := send(t, n.HTTP.URL, a.Token, "GET", "/api/v1/users/"+ann.ID+"/photo", "", nil, nil); res.StatusCode != 404 {
		t.Fatalf("photo after delete: %d", res.StatusCode)
	}
}
