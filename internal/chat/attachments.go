package chat

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/photo"
)

// The limits of attachments (SPEC §8).
const (
	// MaxAttachmentBytes is the largest upload; more is 413, refused
	// before it is read whole.
	MaxAttachmentBytes = 25 << 20
	// MaxAttachments is the most attachments one message carries.
	MaxAttachments = 10
	// MaxAttachmentName is the longest file name kept, in code points.
	MaxAttachmentName = 255
	// UnpostedTTL is how long an attachment no message took is kept.
	UnpostedTTL = 24 * time.Hour
)

// Attachment is an uploaded file, posted with a message or waiting to be.
type Attachment struct {
	ID          string
	OrgID       string
	UploaderID  string
	Name        string
	ContentType string
	Size        int64
	// Width and Height are an image's (stored, upright) size; zero for
	// any other file. An image has a preview.
	Width, Height int
	MessageID     string // "" until posted
	CreatedAt     time.Time
}

// IsImage reports whether the attachment is an image with a preview.
func (a Attachment) IsImage() bool { return a.Width > 0 }

// FileKey and PreviewKey are where an attachment's bytes are in the blob
// store.
func FileKey(id string) string    { return "attachments/" + id }
func PreviewKey(id string) string { return "attachments/" + id + "-256.jpg" }

// attachmentOfKey returns the attachment id a blob key belongs to.
func attachmentOfKey(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, "attachments/")
	if !ok || strings.Contains(id, "/") {
		return "", false
	}
	id = strings.TrimSuffix(id, "-256.jpg")
	return id, id != ""
}

// CheckAttachmentIDs checks a message's attachment_ids: at most
// MaxAttachments, each an id, none twice.
func CheckAttachmentIDs(ids []string) error {
	if len(ids) > MaxAttachments {
		return apperr.New(apperr.Invalid, "a message has at most %d attachments", MaxAttachments)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			return apperr.New(apperr.Invalid, "attachment_ids must be distinct attachment ids")
		}
		seen[id] = true
	}
	return nil
}

// AttachmentStore is what attachments need of the database.
type AttachmentStore interface {
	// CreateAttachment records an uploaded attachment, not yet posted.
	CreateAttachment(ctx context.Context, a Attachment) error
	// Attachment returns an attachment the caller may fetch: their own
	// before it is posted, or one posted in a conversation they are a
	// member of. NotFound otherwise.
	Attachment(ctx context.Context, orgID, userID, id string) (Attachment, error)
	// DropUnposted deletes the records of attachments never posted and
	// created before the instant.
	DropUnposted(ctx context.Context, before time.Time) (int, error)
	// AttachmentExists reports whether an attachment is recorded.
	AttachmentExists(ctx context.Context, id string) (bool, error)
}

// Attachments receives, stores and serves attachments.
type Attachments struct {
	store AttachmentStore
	blobs blobs.Store
	proc  *photo.Processor
	clock clock.Clock
}

// NewAttachments returns the service; images are decoded at most
// maxDecodes at a time (less than 1: one per CPU).
func NewAttachments(s AttachmentStore, b blobs.Store, c clock.Clock, maxDecodes int) *Attachments {
	if c == nil {
		c = clock.Real{}
	}
	return &Attachments{store: s, blobs: b, proc: photo.NewProcessor(maxDecodes), clock: c}
}

// Upload is a file as uploaded.
type Upload struct {
	Name        string
	ContentType string // as declared, "" when none
	Data        []byte
}

// Create checks, converts and stores an upload. An image (by its bytes,
// whatever it was declared as) is stored re-encoded without metadata,
// with a preview; any other file as it came. A refused upload stores
// nothing.
func (a *Attachments) Create(ctx context.Context, orgID, userID string, up Upload) (Attachment, error) {
	name, err := NormalizeFileName(up.Name)
	if err != nil {
		return Attachment{}, err
	}
	at := Attachment{ID: account.NewID("a"), OrgID: orgID, UploaderID: userID, Name: name,
		CreatedAt: a.clock.Now().UTC().Truncate(time.Millisecond)}
	data, preview := up.Data, []byte(nil)
	if photo.Sniff(data) != "" {
		pic, err := a.proc.Picture(ctx, data)
		if err != nil {
			return Attachment{}, err
		}
		data, preview = pic.Data, pic.Preview
		at.ContentType, at.Width, at.Height = pic.Type, pic.Width, pic.Height
	} else {
		at.ContentType = fileType(up.ContentType)
	}
	at.Size = int64(len(data))
	if err := a.blobs.Put(ctx, FileKey(at.ID), bytes.NewReader(data), at.Size, at.ContentType); err != nil {
		return Attachment{}, err
	}
	if preview != nil {
		if err := a.blobs.Put(ctx, PreviewKey(at.ID), bytes.NewReader(preview), int64(len(preview)), photo.TypeJPEG); err != nil {
			return Attachment{}, errors.Join(err, a.removeFiles(ctx, at.ID))
		}
	}
	if err := a.store.CreateAttachment(ctx, at); err != nil {
		return Attachment{}, errors.Join(err, a.removeFiles(ctx, at.ID))
	}
	return at, nil
}

// fileType is the type a file that is no image is kept and served as: its
// declared type when that is a well-formed one, else
// application/octet-stream. An image type the bytes belie is not kept,
// so that no client shows the file as a picture.
func fileType(declared string) string {
	t, _, err := mime.ParseMediaType(declared)
	if err != nil || strings.HasPrefix(t, "image/") && t != "image/svg+xml" || t == "multipart/form-data" {
		return "application/octet-stream"
	}
	return t
}

// NormalizeFileName keeps the last element of an uploaded file's name,
// on one line, at most MaxAttachmentName code points; a file without a
// name is "file".
func NormalizeFileName(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", apperr.New(apperr.Invalid, "the file name must be UTF-8")
	}
	s = strings.ReplaceAll(s, `\`, "/")
	s = path.Base(strings.TrimSpace(s))
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' {
			return -1
		}
		return r
	}, s)
	if s == "." || s == "/" || s == "" {
		s = "file"
	}
	if utf8.RuneCountInString(s) > MaxAttachmentName {
		return "", apperr.New(apperr.Invalid, "the file name is longer than %d characters", MaxAttachmentName)
	}
	return s, nil
}

// Open returns an attachment the caller may fetch and its bytes, or its
// preview (a JPEG; NotFound for a file that is no image).
func (a *Attachments) Open(ctx context.Context, orgID, userID, id string, preview bool) (Attachment, io.ReadCloser, int64, error) {
	at, err := a.store.Attachment(ctx, orgID, userID, id)
	if err != nil {
		return at, nil, 0, err
	}
	key := FileKey(id)
	if preview {
		if !at.IsImage() {
			return at, nil, 0, apperr.New(apperr.NotFound, "only an image has a preview")
		}
		key = PreviewKey(id)
	}
	r, size, err := a.blobs.Open(ctx, key)
	return at, r, size, err
}

func (a *Attachments) removeFiles(ctx context.Context, id string) error {
	return errors.Join(a.blobs.Delete(ctx, FileKey(id)), a.blobs.Delete(ctx, PreviewKey(id)))
}

// Sweep deletes the attachments never posted within UnpostedTTL, and the
// files of attachments no longer recorded (their message deleted, or a
// crash between storing and recording) put before the same cutoff, which
// spares uploads in flight. It returns how many files it deleted.
func (a *Attachments) Sweep(ctx context.Context) (int, error) {
	before := a.clock.Now().Add(-UnpostedTTL)
	if _, err := a.store.DropUnposted(ctx, before); err != nil {
		return 0, err
	}
	files, err := a.blobs.List(ctx, "attachments/")
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, f := range files {
		id, ok := attachmentOfKey(f.Key)
		if !ok || !f.Modified.Before(before) {
			continue
		}
		if exists, err := a.store.AttachmentExists(ctx, id); err != nil || exists {
			if err != nil {
				return removed, err
			}
			continue
		}
		if err := a.blobs.Delete(ctx, f.Key); err != nil {
			return removed, err
		}
		removed++
	}
	if removed > 0 {
		slog.Info("chat: attachment files removed", slog.Int("count", removed))
	}
	return removed, nil
}

// multipartOverhead is what a multipart body may carry besides the file:
// boundaries, part headers, small fields.
const multipartOverhead = 64 << 10

func tooLarge() error {
	return apperr.New(apperr.TooLarge, "an attachment is at most %d MiB", MaxAttachmentBytes>>20)
}

// ReadUpload reads an attachment upload (SPEC §8): a raw body of its own
// Content-Type, named by an optional Content-Disposition (filename, or
// RFC 5987 filename*), or a multipart/form-data body whose "file" field
// is the file. contentLength is the request's, -1 when unknown.
//
// It never holds more than MaxAttachmentBytes+1 bytes: a body announced
// as larger is refused before any read, one that turns out larger as
// soon as the excess arrives (TooLarge). Invalid for a malformed
// multipart body, one without a file field, or a body cut short.
func ReadUpload(contentType, disposition string, contentLength int64, body io.Reader) (Upload, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err == nil && mediaType == "multipart/form-data" {
		return readMultipart(params["boundary"], contentLength, body)
	}
	if contentType == "" {
		contentType = "application/octet-stream"
	}
	if contentLength > MaxAttachmentBytes {
		return Upload{}, tooLarge()
	}
	name := ""
	if disposition != "" {
		// mime decodes filename* (RFC 5987/2231) into "filename".
		if _, p, err := mime.ParseMediaType(disposition); err == nil {
			name = p["filename"]
		} else {
			return Upload{}, apperr.New(apperr.Invalid, "unreadable Content-Disposition")
		}
	}
	data, err := readLimited(body, MaxAttachmentBytes, contentLength)
	if err != nil {
		return Upload{}, err
	}
	return Upload{Name: name, ContentType: contentType, Data: data}, nil
}

// readMultipart returns the first "file" part, reading parts in order and
// stopping there.
func readMultipart(boundary string, contentLength int64, body io.Reader) (Upload, error) {
	if boundary == "" {
		return Upload{}, apperr.New(apperr.Invalid, "multipart body without a boundary")
	}
	if contentLength > MaxAttachmentBytes+multipartOverhead {
		return Upload{}, tooLarge()
	}
	capped := &photo.CapReader{R: body, Left: MaxAttachmentBytes + multipartOverhead}
	mr := multipart.NewReader(capped, boundary)
	for {
		part, err := mr.NextPart()
		if capped.Over {
			return Upload{}, tooLarge()
		}
		if err == io.EOF {
			return Upload{}, apperr.New(apperr.Invalid, `the multipart body has no "file" field`)
		}
		if err != nil {
			return Upload{}, apperr.New(apperr.Invalid, "malformed multipart body")
		}
		if part.FormName() != "file" {
			continue
		}
		data, err := readLimited(part, MaxAttachmentBytes, -1)
		if capped.Over {
			return Upload{}, tooLarge()
		}
		if err != nil && apperr.CodeOf(err) == apperr.Internal {
			return Upload{}, apperr.New(apperr.Invalid, "malformed multipart body")
		}
		if err != nil {
			return Upload{}, err
		}
		return Upload{Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data}, nil
	}
}

// readLimited reads r to its end, refusing with TooLarge as soon as more
// than max bytes arrive. An announced size (n >= 0, at most max) is
// allocated at once, so the buffer is not grown by copies.
func readLimited(r io.Reader, max, announced int64) ([]byte, error) {
	var buf bytes.Buffer
	if announced >= 0 && announced <= max {
		buf.Grow(int(announced) + bytes.MinRead)
	}
	n, err := buf.ReadFrom(io.LimitReader(r, max+1))
	if n > max {
		return nil, tooLarge()
	}
	if err != nil {
		if errors.Is(err, photo.ErrCapped) {
			return nil, tooLarge()
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, apperr.New(apperr.Invalid, "the upload was cut short")
		}
		return nil, fmt.Errorf("chat: reading upload: %w", err)
	}
	return buf.Bytes(), nil
}
