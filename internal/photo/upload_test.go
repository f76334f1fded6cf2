package photo_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"

	"vo/internal/apperr"
	"vo/internal/photo"
)

// countingReader serves n bytes (or forever when n < 0) and counts what
// was read, to prove that an oversized upload is not read whole.
type countingReader struct {
	left, read int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.left == 0 {
		return 0, io.EOF
	}
	if c.left > 0 && int64(len(p)) > c.left {
		p = p[:c.left]
	}
	for n := 0; n < len(p); {
		n += copy(p[n:], filler[:])
	}
	c.read += int64(len(p))
	if c.left > 0 {
		c.left -= int64(len(p))
	}
	return len(p), nil
}

var filler = func() (b [32 << 10]byte) {
	for i := range b {
		b[i] = 0xab
	}
	return b
}()

func multipartBody(t *testing.T, fields map[string]string, photoType string, photoBody io.Reader) (string, io.Reader) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		for k, v := range fields {
			if err := mw.WriteField(k, v); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		if photoBody != nil {
			h := textproto.MIMEHeader{}
			h.Set("Content-Disposition", `form-data; name="photo"; filename="me.jpg"`)
			if photoType != "" {
				h.Set("Content-Type", photoType)
			}
			w, err := mw.CreatePart(h)
			if err == nil {
				_, err = io.Copy(w, photoBody)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(mw.Close())
	}()
	return mw.FormDataContentType(), pr
}

const slack = 64 << 10 // what may be read past the limit before refusing

func TestReadUploadRaw(t *testing.T) {
	t.Parallel()
	for _, ct := range []string{"image/jpeg", "image/png; charset=binary", "IMAGE/WEBP", "image/gif"} {
		data, typ, err := photo.ReadUpload(ct, 5, strings.NewReader("12345"))
		if err != nil || string(data) != "12345" || !strings.HasPrefix(strings.ToLower(ct), typ) {
			t.Errorf("%s: %q, %q, %v", ct, data, typ, err)
		}
	}
	for _, ct := range []string{"", "text/html", "image/svg+xml", "image/heic", "application/octet-stream", "image/jpeg; x=\"", "image/jpg"} {
		if _, _, err := photo.ReadUpload(ct, 5, strings.NewReader("12345")); !apperr.Is(err, apperr.UnsupportedMediaType) {
			t.Errorf("%q: %v, want UnsupportedMediaType", ct, err)
		}
	}
	// Exactly the limit is fine, whether announced or not.
	for _, n := range []int64{photo.MaxUploadBytes, -1} {
		data, _, err := photo.ReadUpload("image/jpeg", n, &countingReader{left: photo.MaxUploadBytes})
		if err != nil || len(data) != photo.MaxUploadBytes {
			t.Errorf("length %d: %d bytes, %v", n, len(data), err)
		}
	}
	if _, _, err := photo.ReadUpload("image/jpeg", 10, io.LimitReader(strings.NewReader("12345"), 3)); err != nil {
		t.Errorf("a body shorter than announced is just a short file: %v", err)
	}
	if _, _, err := photo.ReadUpload("image/jpeg", 10, &errReader{io.ErrUnexpectedEOF}); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a body cut short: %v, want Invalid", err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// TestReadUploadTooLarge: a 12 MiB upload is refused with 413 before it is
// read whole: at once when its length is announced, and as soon as the
// limit is passed when it is not, for raw and multipart bodies alike.
func TestReadUploadTooLarge(t *testing.T) {
	t.Parallel()
	const twelve = 12 << 20

	announced := &countingReader{left: twelve}
	if _, _, err := photo.ReadUpload("image/jpeg", twelve, announced); !apperr.Is(err, apperr.TooLarge) {
		t.Fatalf("announced: %v, want TooLarge", err)
	}
	if announced.read != 0 {
		t.Errorf("announced: read %d bytes before refusing, want 0", announced.read)
	}

	for name, body := range map[string]*countingReader{"12 MiB": {left: twelve}, "endless": {left: -1}} {
		if _, _, err := photo.ReadUpload("image/png", -1, body); !apperr.Is(err, apperr.TooLarge) {
			t.Fatalf("%s unannounced: %v, want TooLarge", name, err)
		}
		if body.read > photo.MaxUploadBytes+slack {
			t.Errorf("%s unannounced: read %d bytes", name, body.read)
		}
	}

	photoBody := &countingReader{left: twelve}
	ct, body := multipartBody(t, nil, "image/jpeg", photoBody)
	if _, _, err := photo.ReadUpload(ct, -1, body); !apperr.Is(err, apperr.TooLarge) {
		t.Fatalf("multipart: %v, want TooLarge", err)
	}
	if photoBody.read > photo.MaxUploadBytes+slack {
		t.Errorf("multipart: read %d bytes", photoBody.read)
	}

	ct, body = multipartBody(t, map[string]string{"note": strings.Repeat("x", 11<<20)}, "image/jpeg", strings.NewReader("x"))
	if _, _, err := photo.ReadUpload(ct, -1, body); !apperr.Is(err, apperr.TooLarge) {
		t.Errorf("multipart with a huge other field: %v, want TooLarge", err)
	}

	announcedMultipart := &countingReader{left: twelve}
	if _, _, err := photo.ReadUpload("multipart/form-data; boundary=x", twelve, announcedMultipart); !apperr.Is(err, apperr.TooLarge) || announcedMultipart.read != 0 {
		t.Errorf("announced multipart: %v after %d bytes", err, announcedMultipart.read)
	}
}

func TestReadUploadMultipart(t *testing.T) {
	t.Parallel()
	png := []byte("\x89PNG\r\n\x1a\nrest")
	ct, body := multipartBody(t, map[string]string{"caption": "me"}, "image/png", bytes.NewReader(png))
	data, typ, err := photo.ReadUpload(ct, -1, body)
	if err != nil || typ != "image/png" || !bytes.Equal(data, png) {
		t.Fatalf("got %q, %q, %v", data, typ, err)
	}

	ct, body = multipartBody(t, map[string]string{"caption": "me"}, "", nil)
	if _, _, err := photo.ReadUpload(ct, -1, body); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("no photo field: %v, want Invalid", err)
	}
	for _, pt := range []string{"", "text/plain", "application/octet-stream"} {
		ct, body = multipartBody(t, nil, pt, strings.NewReader("x"))
		if _, _, err := photo.ReadUpload(ct, -1, body); !apperr.Is(err, apperr.UnsupportedMediaType) {
			t.Errorf("photo part typed %q: %v, want UnsupportedMediaType", pt, err)
		}
	}
	for _, pt := range []string{"", "application/octet-stream"} {
		ct, body = multipartBody(t, nil, pt, bytes.NewReader(png))
		if _, typ, err := photo.ReadUpload(ct, -1, body); err != nil || typ != "image/png" {
			t.Errorf("untyped part holding a PNG (%q): %q, %v; want image/png by its bytes", pt, typ, err)
		}
	}
	if _, _, err := photo.ReadUpload("multipart/form-data", -1, strings.NewReader("x")); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("no boundary: %v, want Invalid", err)
	}
	if _, _, err := photo.ReadUpload("multipart/form-data; boundary=zz", -1, strings.NewReader("garbage")); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("garbage body: %v, want Invalid", err)
	}
	cut := "--zz\r\nContent-Disposition: form-data; name=\"photo\"\r\nContent-Type: image/png\r\n\r\n\x89PNG"
	if _, _, err := photo.ReadUpload("multipart/form-data; boundary=zz", -1, strings.NewReader(cut)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("body cut inside the photo: %v, want Invalid", err)
	}
}
