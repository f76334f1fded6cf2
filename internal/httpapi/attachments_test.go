package httpapi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/chat"
)

// The attachments of SPEC §8 over HTTP, on both engines.

// attachmentDirs maps a test's store to the folder its attachments are in.
var attachmentDirs sync.Map

// withAttachments enables the attachment endpoints, storing files in a
// temp folder (attachmentDir).
func withAttachments(t testing.TB, cfg *Config) {
	d := t.TempDir()
	files, err := blobs.NewDir(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	cfg.Attachments = chat.NewAttachments(cfg.Store, files, cfg.Clock, 1)
	attachmentDirs.Store(cfg.Store, d)
}

func attachmentDir(fx *fixture) string {
	d, _ := attachmentDirs.Load(fx.st)
	return d.(string)
}

// storedFiles lists the files under a blob folder.
func storedFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// secretJPEG is a 600×300 JPEG carrying an XMP packet with a GPS
// position and a comment, which no stored or served byte may keep.
func secretJPEG(t testing.TB) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 600, 300))
	for y := range 300 {
		for x := range 600 {
			m.Set(x, y, color.RGBA{uint8(x), uint8(y), 90, 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	seg := func(marker byte, payload string) []byte {
		n := len(payload) + 2
		return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
	}
	b := buf.Bytes()
	out := append([]byte{}, b[:2]...)
	out = append(out, seg(0xe1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><exif:GPSLatitude>GPS-SECRET 37.7749</exif:GPSLatitude></x:xmpmeta>")...)
	out = append(out, seg(0xfe, "COMMENT-SECRET")...)
	return append(out, b[2:]...)
}

var secrets = []string{"GPS-SECRET", "COMMENT-SECRET", "xmpmeta", "http://ns.adobe.com"}

// upload posts a raw attachment as p.
func (fx *fixture) upload(t testing.TB, p *person, contentType, disposition string, body []byte) httpAnswer {
	t.Helper()
	hdr := map[string]string{"Authorization": "Bearer " + p.token(), "Content-Type": contentType}
	if disposition != "" {
		hdr["Content-Disposition"] = disposition
	}
	return fx.do(t, "POST", "/api/v1/attachments", bytes.NewReader(body), hdr)
}

// multipartUpload posts data as the form field "file" named name.
func (fx *fixture) multipartUpload(t testing.TB, p *person, field, name string, data []byte) httpAnswer {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("note", "before the file")
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return fx.do(t, "POST", "/api/v1/attachments", &body, map[string]string{"Authorization": "Bearer " + p.token(), "Content-Type": mw.FormDataContentType()})
}

func (fx *fixture) fetch(t testing.TB, p *person, id, query string) httpAnswer {
	t.Helper()
	return fx.do(t, "GET", "/api/v1/attachments/"+id+query, nil, map[string]string{"Authorization": "Bearer " + p.token()})
}

func TestAttachments(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		html := []byte("<html><script>alert(document.cookie)</script></html>")
		// A raw upload named the RFC 5987 way; HTML is kept as it came.
		doc := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "text/html", `attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.html`, html), http.StatusCreated)
		if doc.Name != "résumé.html" || doc.ContentType != "text/html" || doc.Size != int64(len(html)) || doc.Width != nil || doc.Height != nil {
			t.Fatalf("HTML attachment: %+v", doc)
		}
		// An image in a form, its type judged by its bytes.
		pic := mustJSON[apitypes.Attachment](t, fx.multipartUpload(t, fx.ann, "file", `C:\photos\beach.jpg`, secretJPEG(t)), http.StatusCreated)
		if pic.Name != "beach.jpg" || pic.ContentType != "image/jpeg" || pic.Width == nil || *pic.Width != 600 || *pic.Height != 300 {
			t.Fatalf("image attachment: %+v", pic)
		}
		// A PNG declared as text is still an image.
		png := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "text/plain", `attachment; filename="dot.png"`, testPNG(t)), http.StatusCreated)
		if png.ContentType != "image/png" || png.Width == nil || *png.Width != 48 {
			t.Fatalf("PNG attachment: %+v", png)
		}

		// A file that claims to be an image but is none is no image.
		fake := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "image/jpeg", "", []byte("just text")), http.StatusCreated)
		if fake.ContentType != "application/octet-stream" || fake.Width != nil || fake.Name != "file" {
			t.Fatalf("a text declared image/jpeg: %+v", fake)
		}
		if r := fx.fetch(t, fx.ann, fake.ID, ""); !strings.HasPrefix(r.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("a text declared image/jpeg is served %q", r.Header.Get("Content-Disposition"))
		}

		// Until posted, the uploader's alone.
		if r := fx.fetch(t, fx.ann, doc.ID, ""); r.Status != http.StatusOK || !bytes.Equal(r.Body, html) {
			t.Fatalf("uploader's own file before posting: %s", r)
		}
		for _, p := range []*person{fx.bob, fx.annika} {
			checkError(t, fx.fetch(t, p, doc.ID, ""), http.StatusNotFound, apperr.NotFound)
		}
		d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		// Nobody posts another's attachment, and a refused send stores
		// nothing.
		fx.wantStatus(t, fx.bob, "POST", "/api/v1/conversations/"+d.ID+"/messages", map[string]any{"client_id": "b1", "text": "mine", "attachment_ids": []string{doc.ID}}, http.StatusBadRequest)
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+d.ID+"/messages", map[string]any{"client_id": "a0", "text": "", "attachment_ids": []string{pic.ID, "a_nope"}}, http.StatusBadRequest)
		if h := fx.history(t, fx.ann, d.ID, ""); len(h.Items) != 0 {
			t.Fatalf("a refused send stored %+v", h.Items)
		}

		// Posted, with no text: every member fetches them, in order.
		r := fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "a1", "text": "", "attachment_ids": []string{doc.ID, pic.ID}})
		m := mustJSON[apitypes.Message](t, r, http.StatusCreated)
		if m.Text != "" || len(m.Attachments) != 2 || m.Attachments[0].ID != doc.ID || m.Attachments[1].ID != pic.ID || m.Attachments[1].Width == nil {
			t.Fatalf("message with attachments: %+v", m)
		}
		if h := fx.history(t, fx.bob, d.ID, ""); len(h.Items) != 1 || len(h.Items[0].Attachments) != 2 || h.Items[0].Attachments[0].Name != "résumé.html" {
			t.Fatalf("Bob's history: %+v", h.Items)
		}
		// Posted once only.
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+d.ID+"/messages", map[string]any{"client_id": "a2", "text": "again", "attachment_ids": []string{pic.ID}}, http.StatusBadRequest)

		// The HTML file is a sandboxed download, never sniffed.
		r = fx.fetch(t, fx.bob, doc.ID, "")
		if r.Status != http.StatusOK || !bytes.Equal(r.Body, html) {
			t.Fatalf("Bob fetching the HTML file: %s", r)
		}
		if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, "r%C3%A9sum%C3%A9.html") {
			t.Errorf("Content-Disposition %q, want an attachment named résumé.html", cd)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.HasPrefix(r.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("headers %v, want nosniff and a sandbox", r.Header)
		}
		checkError(t, fx.fetch(t, fx.bob, doc.ID, "?size=256"), http.StatusNotFound, apperr.NotFound)
		checkError(t, fx.fetch(t, fx.bob, pic.ID, "?size=64"), http.StatusBadRequest, apperr.Invalid)

		// The image and its preview carry none of the upload's metadata.
		full := fx.fetch(t, fx.bob, pic.ID, "")
		prev := fx.fetch(t, fx.bob, pic.ID, "?size=256")
		for _, a := range []httpAnswer{full, prev} {
			if a.Status != http.StatusOK || a.Header.Get("Content-Type") != "image/jpeg" {
				t.Fatalf("image answer %d %q", a.Status, a.Header.Get("Content-Type"))
			}
			for _, s := range secrets {
				if bytes.Contains(a.Body, []byte(s)) {
					t.Errorf("%q survived", s)
				}
			}
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(prev.Body))
		if err != nil || cfg.Width != 256 || cfg.Height != 128 {
			t.Fatalf("preview %d×%d (%v), want 256×128", cfg.Width, cfg.Height, err)
		}
		// Nobody outside the conversation, in the org or not.
		for _, p := range []*person{fx.carla, fx.annika} {
			for _, q := range []string{"", "?size=256"} {
				checkError(t, fx.fetch(t, p, pic.ID, q), http.StatusNotFound, apperr.NotFound)
			}
		}
		// The unposted PNG is still Ann's alone.
		checkError(t, fx.fetch(t, fx.bob, png.ID, ""), http.StatusNotFound, apperr.NotFound)

		// A member removed from a group loses its attachments at once.
		g := fx.newConv(t, fx.ann, "Team", http.StatusCreated, fx.bob, fx.carla)
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+g.ID+"/messages", map[string]any{"client_id": "g1", "text": "see", "attachment_ids": []string{png.ID}}, http.StatusCreated)
		if r := fx.fetch(t, fx.carla, png.ID, "?size=256"); r.Status != http.StatusOK {
			t.Fatalf("carla, a member, fetching the group's image: %s", r)
		}
		fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/conversations/"+g.ID+"/members/"+fx.carla.ID, nil, http.StatusNoContent)
		checkError(t, fx.fetch(t, fx.carla, png.ID, ""), http.StatusNotFound, apperr.NotFound)

		// A deleted message drops its attachments.
		fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/messages/"+m.ID, nil, http.StatusNoContent)
		if h := fx.history(t, fx.bob, d.ID, ""); len(h.Items[0].Attachments) != 0 {
			t.Fatalf("deleted message keeps %+v", h.Items[0].Attachments)
		}
		for _, p := range []*person{fx.ann, fx.bob} {
			checkError(t, fx.fetch(t, p, pic.ID, ""), http.StatusNotFound, apperr.NotFound)
		}
	}, withAttachments)
}

// countingReader yields n bytes of 'x' and counts what was read of it.
type countingReader struct {
	n    int64
	read atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	left := c.n - c.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > left {
		p = p[:left]
	}
	for i := range p {
		p[i] = 'x'
	}
	c.read.Add(int64(len(p)))
	return len(p), nil
}

// TestAttachmentRefusals: over 25 MiB is 413 before the body is read
// whole, announced or not; a corrupt image 415; a form without the file
// 400; none of them stores anything.
func TestAttachmentRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		over := int64(chat.MaxAttachmentBytes + 1)
		for _, announced := range []bool{true, false} {
			body := &countingReader{n: over}
			req, err := http.NewRequest("POST", fx.srv.URL+"/api/v1/attachments", io.NopCloser(body))
			if err != nil {
				t.Fatal(err)
			}
			if announced {
				req.ContentLength = over
			}
			req.Header.Set("Authorization", "Bearer "+fx.ann.token())
			req.Header.Set("Content-Type", "application/zip")
			res, err := fx.srv.Client().Do(req)
			if err != nil {
				t.Fatalf("announced=%v: %v", announced, err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			a := httpAnswer{Status: res.StatusCode, Header: res.Header, Body: b}
			checkAnswer(t, req, a)
			checkError(t, a, http.StatusRequestEntityTooLarge, apperr.TooLarge)
			if announced && body.read.Load() >= over {
				t.Errorf("the announced 25 MiB + 1 was read whole (%d bytes) before the refusal", body.read.Load())
			}
		}
		big := fx.multipartUpload(t, fx.ann, "file", "big.bin", bytes.Repeat([]byte("y"), chat.MaxAttachmentBytes+1))
		checkError(t, big, http.StatusRequestEntityTooLarge, apperr.TooLarge)
		checkError(t, fx.upload(t, fx.ann, "image/png", "", []byte("\x89PNG\r\n\x1a\nnot really")), http.StatusUnsupportedMediaType, apperr.UnsupportedMediaType)
		checkError(t, fx.multipartUpload(t, fx.ann, "photo", "x.txt", []byte("hi")), http.StatusBadRequest, apperr.Invalid)
		checkError(t, fx.upload(t, fx.ann, "text/plain", `attachment; filename="`+strings.Repeat("n", 300)+`"`, []byte("hi")), http.StatusBadRequest, apperr.Invalid)
		if files := storedFiles(t, attachmentDir(fx)); len(files) != 0 {
			t.Fatalf("refused uploads stored %v", files)
		}
	}, withAttachments)
}

// TestAttachmentSweep: after a day, an attachment never posted and the
// files of a deleted message's are gone; a posted one stays.
func TestAttachmentSweep(t *testing.T) {
	fx := sqliteFixture(t, withAttachments)
	att := fx.api.cfg.Attachments
	kept := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "text/plain", "", []byte("kept")), http.StatusCreated)
	dropped := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "text/plain", "", []byte("dropped")), http.StatusCreated)
	orphan := mustJSON[apitypes.Attachment](t, fx.upload(t, fx.ann, "text/plain", "", []byte("orphan")), http.StatusCreated)
	d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
	fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+d.ID+"/messages", map[string]any{"client_id": "k", "text": "k", "attachment_ids": []string{kept.ID}}, http.StatusCreated)
	del := mustJSON[apitypes.Message](t, fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "d", "text": "d", "attachment_ids": []string{dropped.ID}}), http.StatusCreated)
	fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/messages/"+del.ID, nil, http.StatusNoContent)

	// Within the day the unposted one stays: it may still be posted. (The
	// folder dates files by the real clock, before the fake one's cutoff,
	// so the deleted message's file may go at once.)
	early, err := att.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := fx.fetch(t, fx.ann, orphan.ID, ""); r.Status != http.StatusOK {
		t.Fatalf("unposted attachment within the day: %s", r)
	}
	fx.clk.Advance(chat.UnpostedTTL + time.Minute)
	late, err := att.Sweep(context.Background())
	if err != nil || early+late != 2 {
		t.Fatalf("sweeps removed %d+%d files (%v), want 2 (the orphan's and the deleted message's)", early, late, err)
	}
	checkError(t, fx.fetch(t, fx.ann, orphan.ID, ""), http.StatusNotFound, apperr.NotFound)
	if r := fx.fetch(t, fx.bob, kept.ID, ""); r.Status != http.StatusOK || string(r.Body) != "kept" {
		t.Fatalf("posted attachment after the sweep: %s", r)
	}
	if files := storedFiles(t, attachmentDir(fx)); len(files) != 1 || !strings.Contains(files[0], kept.ID) {
		t.Fatalf("files after the sweep: %v", files)
	}
}
