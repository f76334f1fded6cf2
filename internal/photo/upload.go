package photo

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"

	"vo/internal/apperr"
)

// multipartOverhead is what a multipart body may carry besides the photo:
// boundaries, part headers and small fields. A browser's form upload of a
// 10 MiB photo needs well under 1 KiB of it.
const multipartOverhead = 64 << 10

// ReadUpload reads a photo upload: a raw image body whose Content-Type is the
// image's type, or a multipart/form-data body whose "photo" field is the
// image (with the type in the part's Content-Type). contentLength is the
// request's, -1 when unknown.
//
// It never holds more than MaxUploadBytes+1 bytes of photo: a body announced
// as larger is refused before any read, and a body that turns out larger is
// refused as soon as the excess arrives. Returns TooLarge then;
// UnsupportedMediaType when the declared type is not image/jpeg, image/png,
// image/webp or image/gif; Invalid for a malformed multipart body, one
// without a photo field, or a body cut short.
func ReadUpload(contentType string, contentLength int64, body io.Reader) (data []byte, declared string, err error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, "", apperr.New(apperr.UnsupportedMediaType, "photo: unreadable Content-Type %q", contentType)
	}
	if mediaType == "multipart/form-data" {
		return readMultipart(params["boundary"], contentLength, body)
	}
	if !acceptedType(mediaType) {
		return nil, "", unsupportedType(mediaType)
	}
	if contentLength > MaxUploadBytes {
		return nil, "", tooLarge()
	}
	data, err = readLimited(body, contentLength)
	if err != nil {
		return nil, "", err
	}
	return data, mediaType, nil
}

func acceptedType(t string) bool {
	return t == TypeJPEG || t == TypePNG || t == TypeWebP || t == TypeGIF
}

func unsupportedType(t string) error {
	return apperr.New(apperr.UnsupportedMediaType, "photo: %q is not one of image/jpeg, image/png, image/webp, image/gif", t)
}

func tooLarge() error {
	return apperr.New(apperr.TooLarge, "photo: larger than %d MiB", MaxUploadBytes>>20)
}

// readMultipart returns the first "photo" part. It reads parts in order and
// stops at the photo, so a body never costs more than the photo and the
// small overhead before it.
func readMultipart(boundary string, contentLength int64, body io.Reader) ([]byte, string, error) {
	if boundary == "" {
		return nil, "", apperr.New(apperr.Invalid, "photo: multipart body without a boundary")
	}
	if contentLength > MaxUploadBytes+multipartOverhead {
		return nil, "", tooLarge()
	}
	capped := &CapReader{R: body, Left: MaxUploadBytes + multipartOverhead}
	mr := multipart.NewReader(capped, boundary)
	for {
		part, err := mr.NextPart()
		if capped.Over {
			return nil, "", tooLarge()
		}
		if err == io.EOF {
			return nil, "", apperr.New(apperr.Invalid, `photo: the multipart body has no "photo" field`)
		}
		if err != nil {
			return nil, "", apperr.New(apperr.Invalid, "photo: malformed multipart body")
		}
		if part.FormName() != "photo" {
			continue
		}
		partType, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		// A browser labels a file it cannot name by extension
		// application/octet-stream (or not at all): then the bytes decide.
		untyped := err != nil && part.Header.Get("Content-Type") == "" || partType == "application/octet-stream"
		if !untyped && (err != nil || !acceptedType(partType)) {
			return nil, "", unsupportedType(part.Header.Get("Content-Type"))
		}
		data, err := readLimited(part, -1)
		if capped.Over {
			return nil, "", tooLarge()
		}
		if err != nil && apperr.CodeOf(err) == apperr.Internal {
			// The multipart reader's errors all mean a broken body.
			return nil, "", apperr.New(apperr.Invalid, "photo: malformed multipart body")
		}
		if err != nil {
			return nil, "", err
		}
		if untyped {
			if partType = sniff(data); !acceptedType(partType) {
				return nil, "", apperr.New(apperr.UnsupportedMediaType, "photo: the file is not a JPEG, PNG, WebP or GIF image")
			}
		}
		return data, partType, nil
	}
}

// readLimited reads r to its end, refusing with TooLarge as soon as more than
// MaxUploadBytes arrive. When the size is announced (n >= 0) the buffer is
// allocated once; the announcement is not trusted beyond the limit.
func readLimited(r io.Reader, n int64) ([]byte, error) {
	size := int64(512)
	if n >= 0 {
		size = n + 1 // +1 so that EOF is seen without growing
	}
	buf := make([]byte, 0, min(size, MaxUploadBytes+1))
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		m, err := r.Read(buf[len(buf):min(cap(buf), MaxUploadBytes+1)])
		buf = buf[:len(buf)+m]
		if len(buf) > MaxUploadBytes {
			return nil, tooLarge()
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			if errors.Is(err, ErrCapped) {
				return nil, tooLarge()
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, apperr.New(apperr.Invalid, "photo: the upload was cut short")
			}
			return nil, fmt.Errorf("photo: reading upload: %w", err)
		}
	}
}

// ErrCapped ends a body that grew past its CapReader's cap.
var ErrCapped = errors.New("upload: body over its cap")

// CapReader passes at most Left bytes of R through and then fails with
// ErrCapped, noting Over, so that a multipart body cannot stream forever in
// fields other than the file (photo and chat uploads).
type CapReader struct {
	R    io.Reader
	Left int64
	Over bool
}

func (c *CapReader) Read(p []byte) (int, error) {
	if c.Left <= 0 {
		// Probe one byte: only a body that really continues is over.
		var one [1]byte
		n, err := c.R.Read(one[:])
		if n > 0 {
			c.Over = true
			return 0, ErrCapped
		}
		return 0, err
	}
	if int64(len(p)) > c.Left {
		p = p[:c.Left]
	}
	n, err := c.R.Read(p)
	c.Left -= int64(n)
	return n, err
}
