package chat_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"strings"
	"testing"

	"vo/internal/apperr"
	"vo/internal/chat"
)

// counter counts what is read of a reader.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestReadUploadLimit: a body announced over 25 MiB is refused before a
// byte is read; an unannounced one as soon as the excess arrives.
func TestReadUploadLimit(t *testing.T) {
	t.Parallel()
	c := &counter{r: zeros{}}
	if _, err := chat.ReadUpload("application/zip", "", chat.MaxAttachmentBytes+1, c); apperr.CodeOf(err) != apperr.TooLarge || c.n != 0 {
		t.Fatalf("announced: %v after %d bytes, want TooLarge after none", err, c.n)
	}
	c = &counter{r: zeros{}}
	if _, err := chat.ReadUpload("application/zip", "", -1, c); apperr.CodeOf(err) != apperr.TooLarge || c.n > chat.MaxAttachmentBytes+64<<10 {
		t.Fatalf("unannounced: %v after %d bytes, want TooLarge just past the limit", err, c.n)
	}
	c = &counter{r: io.MultiReader(strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"z\"\r\n\r\n"), zeros{})}
	if _, err := chat.ReadUpload("multipart/form-data; boundary=b", "", -1, c); apperr.CodeOf(err) != apperr.TooLarge || c.n > chat.MaxAttachmentBytes+128<<10 {
		t.Fatalf("multipart: %v after %d bytes", err, c.n)
	}
	up, err := chat.ReadUpload("application/pdf", "", -1, bytes.NewReader(make([]byte, chat.MaxAttachmentBytes)))
	if err != nil || len(up.Data) != chat.MaxAttachmentBytes {
		t.Fatalf("exactly 25 MiB: %d bytes, %v", len(up.Data), err)
	}
}

// TestReadUploadNames: a raw body's name from Content-Disposition, plain
// or RFC 5987 (which wins), a form's from its part.
func TestReadUploadNames(t *testing.T) {
	t.Parallel()
	for disp, want := range map[string]string{
		"":                               "",
		`attachment; filename="a b.txt"`: "a b.txt",
		`attachment; filename*=UTF-8''%E2%82%AC.txt`:                "€.txt",
		`attachment; filename="x.txt"; filename*=UTF-8''%C3%A9.txt`: "é.txt",
	} {
		up, err := chat.ReadUpload("text/plain", disp, 2, strings.NewReader("hi"))
		if err != nil || up.Name != want || string(up.Data) != "hi" || up.ContentType != "text/plain" {
			t.Errorf("%q: %+v %v, want name %q", disp, up, err, want)
		}
	}
	if _, err := chat.ReadUpload("text/plain", `attachment; filename="`, 2, strings.NewReader("hi")); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("broken Content-Disposition: %v", err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "notes.md")
	fw.Write([]byte("# hi"))
	mw.Close()
	up, err := chat.ReadUpload(mw.FormDataContentType(), "", int64(body.Len()), &body)
	if err != nil || up.Name != "notes.md" || string(up.Data) != "# hi" {
		t.Fatalf("multipart: %+v %v", up, err)
	}
}

func TestNormalizeFileName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"report.pdf":           "report.pdf",
		`C:\Users\ann\cv.docx`: "cv.docx",
		"../../etc/passwd":     "passwd",
		"":                     "file",
		"a\x00b\nc\".txt":      "abc.txt",
		"  spaced name.txt  ":  "spaced name.txt",
	} {
		if got, err := chat.NormalizeFileName(in); err != nil || got != want {
			t.Errorf("%q: %q %v, want %q", in, got, err, want)
		}
	}
	if _, err := chat.NormalizeFileName(strings.Repeat("é", 256)); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("256 code points: %v", err)
	}
}

// TestMessageText: with attachments the text may be empty, never over
// the limit nor with control characters.
func TestMessageText(t *testing.T) {
	t.Parallel()
	if _, err := chat.NormalizeMessageText("  ", 0); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("blank without attachments: %v", err)
	}
	if s, err := chat.NormalizeMessageText("  ", 1); err != nil || s != "" {
		t.Errorf("blank with an attachment: %q %v", s, err)
	}
	if _, err := chat.NormalizeMessageText("a\u0007", 1); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("control character with an attachment: %v", err)
	}
	if err := chat.CheckAttachmentIDs(make([]string, chat.MaxAttachments+1)); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("too many attachments: %v", err)
	}
}

// FuzzReadUpload: whatever the headers and body, reading an upload never
// panics, never keeps more than the limit, and refuses only with a code
// the client is to blame for.
func FuzzReadUpload(f *testing.F) {
	f.Add("text/plain", `attachment; filename="a.txt"`, "hi")
	f.Add("multipart/form-data; boundary=b", "", "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"z\"\r\n\r\nxyz\r\n--b--\r\n")
	f.Add("multipart/form-data; boundary=b", "", "--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nxyz")
	f.Add("", `attachment; filename*=UTF-8''%E2%82`, "")
	f.Fuzz(func(t *testing.T, contentType, disposition, body string) {
		up, err := chat.ReadUpload(contentType, disposition, int64(len(body)), strings.NewReader(body))
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.TooLarge {
				t.Fatalf("refused with %s: %v", c, err)
			}
			return
		}
		if len(up.Data) > len(body) {
			t.Fatalf("read %d bytes of a %d-byte body", len(up.Data), len(body))
		}
		if _, err := chat.NormalizeFileName(up.Name); err != nil && apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("name %q: %v", up.Name, err)
		}
	})
}
