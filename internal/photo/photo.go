// Package photo turns an uploaded profile photo into the three square JPEGs
// that Virtual Office stores and serves (SPEC §4 and §7): it reads the upload
// within the size limit, checks that the bytes are the image type they claim
// to be, refuses oversized images from their header before decoding, decodes
// with bounded concurrency and memory, turns the picture upright by its EXIF
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
	"golang.org/x/sync/semaphore"

	"vo/internal/apperr"
)

const (
	// MaxUploadBytes is the largest photo accepted (SPEC §7); more is 413.
	MaxUploadBytes = 10 << 20
	// MaxPixels is the largest image accepted, judged from its header before
	// any pixel is decoded; more is 400.
	MaxPixels = 40_000_000
	// DecodeBudget is the memory, in bytes, that the decodes running at
	// once may take together, as estimated from their headers: the largest
	// picture allowed at 16 bits per channel (MaxPixels × 8 bytes) fits
	// alone, and twenty 12-megapixel phone JPEGs (18 MB each) would fit at
	// once, were there CPUs for them.
	DecodeBudget = MaxPixels * 8
	// Quality is the JPEG quality of the stored sizes: at 512 pixels and
	// below, 85 is visually lossless for faces while keeping files small.
	Quality = 85
)

// Sizes are the sides in pixels of the stored squares, smallest first.
var Sizes = []int{64, 256, 512}

// largest is the biggest of Sizes: the crop and box shrink aim at it.
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

// Processor decodes and resizes photos, at most a fixed number at a time
// and within a memory budget: decoding is the only step whose memory grows
// with the upload, so bounding what runs at once bounds the memory that
// simultaneous uploads can take. The number of slots keeps the CPUs busy;
// the budget keeps a few large decodes (a 16-bit 40-megapixel PNG is
// 320 MB) from taking what many photos would.
type Processor struct {
	slots chan struct{}
	// memory is the budget, in bytes: each decode holds its estimate
	// (decodeBytes) while it runs.
	memory *semaphore.Weighted
	budget int64
	// decoding, when set (by tests), is called as each decode starts with
	// its estimate, and what it returns as the decode ends.
	decoding func(need int64) (done func())
}

// NewProcessor returns a Processor that decodes at most maxConcurrent photos
// at once (maxConcurrent < 1 means one per CPU) and at most DecodeBudget
// bytes of them.
func NewProcessor(maxConcurrent int) *Processor {
	return newProcessor(maxConcurrent, DecodeBudget)
}

func newProcessor(maxConcurrent int, budget int64) *Processor {
	if maxConcurrent < 1 {
		maxConcurrent = runtime.NumCPU()
	}
	return &Processor{slots: make(chan struct{}, maxConcurrent), memory: semaphore.NewWeighted(budget), budget: budget}
}

// Process checks and converts an uploaded photo. declared is the media type
// the client gave (see ReadUpload).
//
// Returns UnsupportedMediaType when declared is not one of the four types,
// when the bytes are not that type, or when they do not decode (empty,
// truncated, corrupt, a corrupt EXIF block); Invalid when the header
// announces more than MaxPixels, or a picture whose decoding would take more
// than the whole memory budget; ctx's error when ctx ends while waiting for
// a decode slot or for memory.
func (p *Processor) Process(ctx context.Context, data []byte, declared string) (*Processed, error) {
	if err := checkType(data, declared); err != nil {
		return nil, err
	}
	cfg, orientation, release, err := p.admit(ctx, data, declared)
	if err != nil {
		return nil, err
	}
	defer release()
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
		var f jpegFrame
		if f, err = readJPEGFrame(data); err == nil {
			cfg = image.Config{ColorModel: f.colorModel(), Width: f.width, Height: f.height}
		}
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
// decoded by libjpeg-turbo at the smallest DCT scale that still covers the
// largest stored size (see turbojpeg.go; without cgo, image/jpeg decodes it
// at full size and render box-shrinks it in YCbCr first).
func decode(typ string, data []byte, cfg image.Config) (d decoded, err error) {
	return decodeAt(typ, data, cfg, largest)
}

// decodeAt is decode with a JPEG decoded at the smallest scale whose
// shorter side is at least minSide.
func decodeAt(typ string, data []byte, cfg image.Config, minSide int) (d decoded, err error) {
	defer recoverDecoder(typ, &err)
	r := bytes.NewReader(data)
	switch typ {
	case TypeJPEG:
		d.img, err = decodeJPEG(data, minSide)
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

// typeName names each accepted type in messages.
var typeName = map[string]string{TypeJPEG: "JPEG", TypePNG: "PNG", TypeGIF: "GIF", TypeWebP: "WebP"}

// decodeError turns a decoder's error into a 415 whose message says what is
// wrong with the file; decoder messages describe the file only, so they are
// safe to show.
func decodeError(typ string, err error) error {
	name := typeName[typ]
	// image/jpeg reports entropy-coded data that ends early as "short
	// Huffman data", not as an EOF.
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, errTruncatedJPEG) ||
		err == jpeg.FormatError("short Huffman data") {
		return apperr.New(apperr.UnsupportedMediaType, "photo: the %s file is truncated", name)
	}
	return apperr.New(apperr.UnsupportedMediaType, "photo: not a valid %s file (%v)", name, err)
}

// errTruncatedJPEG is libjpeg-turbo's "premature end of data".
var errTruncatedJPEG = errors.New("the file ends early")

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
