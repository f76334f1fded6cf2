// Package photo turns an uploaded profile photo into the three square JPEGs
// that Virtual Office stores and serves (SPEC §4 and §7): it reads the upload
// within the size limit, checks that the bytes are the image type they claim
// to be, refuses oversized images from their header before decoding, decodes
// with bounded concurrency, turns the picture upright by its EXIF
// orientation, crops the centre square, resizes it, and re-encodes it so
// that no metadata of the original (GPS position, camera, XMP, comments,
// thumbnails) survives. It also stores the results behind the Blobs
// interface.
//
// The HTTP layer calls ReadUpload, then Processor.Process, then Save; every
// refusal is an *apperr.Error with the code the SPEC's status table needs.
package photo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"runtime"

	"golang.org/x/image/webp"

	"vo/internal/apperr"
	"vo/internal/photo/exif"
	"vo/internal/photo/internal/jpegdec"
)

const (
	// MaxUploadBytes is the largest photo accepted (SPEC §7); more is 413.
	MaxUploadBytes = 10 << 20
	// MaxPixels is the largest image accepted, judged from its header before
	// any pixel is decoded; more is 400.
	MaxPixels = 40_000_000
	// Quality is the JPEG quality of the stored sizes: at 512 pixels and
	// below, 85 is visually lossless for faces while keeping files small.
	Quality = 85
)

// Sizes are the sides in pixels of the stored squares, smallest first.
var Sizes = []int{64, 256, 512}

// largest is the biggest of Sizes: the decode and crop aim at it.
const largest = 512

// The media types accepted, as declared by the client.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypeWebP = "image/webp"
	TypeGIF  = "image/gif"
)

// Processed is the outcome of one upload: the JPEG bytes of each size and
// the content hash under which they are stored.
type Processed struct {
	// Hash is the first 32 hex digits of the SHA-256 of the stored JPEGs
	// (all sizes, in Sizes order), so it changes exactly when what is served
	// changes; use it as the ETag too.
	Hash string
	// Images maps each of Sizes to its JPEG file.
	Images map[int][]byte
}

// Processor decodes and resizes photos, at most a fixed number at a time:
// decoding is the only step whose memory grows with the upload, so bounding
// how many run at once bounds the memory that simultaneous uploads can take.
type Processor struct {
	slots chan struct{}
}

// NewProcessor returns a Processor that decodes at most maxConcurrent photos
// at once; maxConcurrent < 1 means one per CPU.
func NewProcessor(maxConcurrent int) *Processor {
	if maxConcurrent < 1 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Processor{slots: make(chan struct{}, maxConcurrent)}
}

// Process checks and converts an uploaded photo. declared is the media type
// the client gave (see ReadUpload).
//
// Returns UnsupportedMediaType when declared is not one of the four types,
// when the bytes are not that type, or when they do not decode (empty,
// truncated, corrupt, a corrupt EXIF block); Invalid when the header
// announces more than MaxPixels; ctx's error when ctx ends while waiting for
// a decode slot.
func (p *Processor) Process(ctx context.Context, data []byte, declared string) (*Processed, error) {
	if err := checkType(data, declared); err != nil {
		return nil, err
	}
	cfg, err := decodeConfig(declared, data)
	if err != nil {
		return nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, apperr.New(apperr.UnsupportedMediaType, "photo: the image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, apperr.New(apperr.Invalid, "photo: %d×%d pixels is more than the %d megapixels allowed",
			cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	orientation := 1
	if declared == TypeJPEG {
		if orientation, err = exif.Orientation(data); err != nil {
			return nil, apperr.New(apperr.UnsupportedMediaType, "photo: %v", err)
		}
	}

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-p.slots }()

	img, err := decode(declared, data, cfg)
	if err != nil {
		return nil, err
	}
	return render(img, orientation)
}

// checkType compares the file's magic bytes with the declared type, so that
// a file is decoded only by the decoder of the type it claims to be.
func checkType(data []byte, declared string) error {
	switch declared {
	case TypeJPEG, TypePNG, TypeWebP, TypeGIF:
	default:
		return apperr.New(apperr.UnsupportedMediaType, "photo: %q is not one of image/jpeg, image/png, image/webp, image/gif", declared)
	}
	if len(data) == 0 {
		return apperr.New(apperr.UnsupportedMediaType, "photo: the file is empty")
	}
	actual := sniff(data)
	if actual == "" {
		return apperr.New(apperr.UnsupportedMediaType, "photo: the file is not a JPEG, PNG, WebP or GIF image")
	}
	if actual != declared {
		return apperr.New(apperr.UnsupportedMediaType, "photo: declared %s but the file is %s", declared, actual)
	}
	return nil
}

// sniff returns the media type that data's signature shows, or "".
func sniff(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return TypeJPEG
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return TypePNG
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return TypeGIF
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return TypeWebP
	}
	return ""
}

// decodeConfig reads only the image header: a 50,000 × 50,000 PNG is
// refused from its first 33 bytes.
func decodeConfig(typ string, data []byte) (cfg image.Config, err error) {
	defer recoverDecoder(typ, &err)
	r := bytes.NewReader(data)
	switch typ {
	case TypeJPEG:
		cfg, err = jpegdec.DecodeConfig(r)
	case TypePNG:
		cfg, err = png.DecodeConfig(r)
	case TypeGIF:
		cfg, err = gif.DecodeConfig(r)
	case TypeWebP:
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil {
		return cfg, decodeError(typ, err)
	}
	return cfg, nil
}

// decoded is a decoded image with the geometry render needs.
type decoded struct {
	img image.Image
	// canvas is the area the picture covers: the image bounds, except for a
	// GIF whose first frame is smaller than its logical screen.
	canvas image.Rectangle
}

// decode decodes the whole image, or for a GIF its first frame. A JPEG is
// decoded at the smallest DCT scale that still leaves its short side at
// least `largest` pixels: for a 12-megapixel photo, a quarter of each side,
// which skips most of the work and 15/16 of the memory.
func decode(typ string, data []byte, cfg image.Config) (d decoded, err error) {
	defer recoverDecoder(typ, &err)
	r := bytes.NewReader(data)
	switch typ {
	case TypeJPEG:
		scale := 1
		for _, s := range []int{8, 4, 2} {
			if (min(cfg.Width, cfg.Height)+s-1)/s >= largest {
				scale = s
				break
			}
		}
		d.img, err = jpegdec.Decode(r, scale)
	case TypePNG:
		d.img, err = png.Decode(r)
	case TypeGIF:
		d.img, err = gif.Decode(r)
	case TypeWebP:
		d.img, err = webp.Decode(r)
	}
	if err != nil {
		return d, decodeError(typ, err)
	}
	d.canvas = d.img.Bounds()
	if typ == TypeGIF {
		// The first frame may cover part of the logical screen only; the
		// rest shows the page behind it, white here (see render).
		d.canvas = image.Rect(0, 0, cfg.Width, cfg.Height)
	}
	if d.canvas.Empty() {
		return d, apperr.New(apperr.UnsupportedMediaType, "photo: the image has no pixels")
	}
	return d, nil
}

// decodeError turns a decoder's error into a 415 whose message says what is
// wrong with the file; decoder messages describe the file only, so they are
// safe to show.
func decodeError(typ string, err error) error {
	name := map[string]string{TypeJPEG: "JPEG", TypePNG: "PNG", TypeGIF: "GIF", TypeWebP: "WebP"}[typ]
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || typ == TypeJPEG && jpegdec.IsTruncated(err) {
		return apperr.New(apperr.UnsupportedMediaType, "photo: the %s file is truncated", name)
	}
	return apperr.New(apperr.UnsupportedMediaType, "photo: not a valid %s file (%v)", name, err)
}

// recoverDecoder turns a decoder panic into a 415. The standard and x/image
// decoders are fuzzed upstream and here, but one hostile file must never be
// able to take the server down with it.
func recoverDecoder(typ string, err *error) {
	if r := recover(); r != nil {
		*err = decodeError(typ, fmt.Errorf("decoder failure: %v", r))
	}
}

// hashOf is the content hash of the encoded sizes.
func hashOf(images map[int][]byte) string {
	h := sha256.New()
	for _, s := range Sizes {
		h.Write(images[s])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// encodeJPEG writes m as a baseline JPEG. image/jpeg writes no APP or COM
// segment at all, which is what strips every piece of metadata.
func encodeJPEG(m image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: Quality}); err != nil {
		return nil, fmt.Errorf("photo: encoding JPEG: %w", err)
	}
	return buf.Bytes(), nil
}
