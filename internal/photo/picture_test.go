package photo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"image/png"
	"testing"

	"vo/internal/apperr"
	"vo/internal/photo"
	"vo/internal/photo/internal/testimg"
)

// TestPicture converts attachments: a phone JPEG turned by its EXIF
// orientation loses every piece of metadata and comes upright, a wide
// transparent PNG stays a PNG, and both previews are JPEGs within 256
// pixels.
func TestPicture(t *testing.T) {
	t.Parallel()
	p := photo.NewProcessor(2)
	ctx := context.Background()

	phone := testimg.PhoneJPEG(testimg.Photo(320, 240, 7), 90, 6, binary.BigEndian)
	pic, err := p.Picture(ctx, phone)
	if err != nil {
		t.Fatal(err)
	}
	// Orientation 6 turns the stored 320×240 into an upright 240×320.
	if pic.Type != photo.TypeJPEG || pic.Width != 240 || pic.Height != 320 {
		t.Fatalf("got %s %d×%d, want image/jpeg 240×320", pic.Type, pic.Width, pic.Height)
	}
	for _, file := range [][]byte{pic.Data, pic.Preview} {
		for _, needle := range []string{testimg.GPSMarker, testimg.MakeText, "Exif", "XMP-SECRET", testimg.CommentText} {
			if bytes.Contains(file, []byte(needle)) {
				t.Fatalf("%q survived", needle)
			}
		}
	}
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(pic.Preview))
	if err != nil || cfg.Width != 192 || cfg.Height != 256 {
		t.Fatalf("preview %d×%d (%v), want 192×256", cfg.Width, cfg.Height, err)
	}

	wide := image.NewNRGBA(image.Rect(0, 0, 3000, 1000))
	var buf bytes.Buffer
	if err := png.Encode(&buf, wide); err != nil {
		t.Fatal(err)
	}
	pic, err = p.Picture(ctx, buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if pic.Type != photo.TypePNG || pic.Width != photo.PictureSide || pic.Height != 683 {
		t.Fatalf("got %s %d×%d, want image/png 2048×683", pic.Type, pic.Width, pic.Height)
	}
	if cfg, err := png.DecodeConfig(bytes.NewReader(pic.Data)); err != nil || cfg.Width != 2048 {
		t.Fatalf("stored PNG %d wide (%v)", cfg.Width, err)
	}
	if cfg, err := jpeg.DecodeConfig(bytes.NewReader(pic.Preview)); err != nil || cfg.Width != 256 || cfg.Height != 85 {
		t.Fatalf("preview %d×%d (%v), want 256×85", cfg.Width, cfg.Height, err)
	}
}

// TestPictureRefuses: a signature without an image is 415, a header
// announcing too many pixels 400, and a file of no image type 415.
func TestPictureRefuses(t *testing.T) {
	t.Parallel()
	p := photo.NewProcessor(1)
	for name, tc := range map[string]struct {
		data []byte
		code apperr.Code
	}{
		"truncated":  {[]byte("\x89PNG\r\n\x1a\nxx"), apperr.UnsupportedMediaType},
		"huge":       {testimg.PNGHeader(50_000, 50_000), apperr.Invalid},
		"not-an-img": {[]byte("<html>"), apperr.UnsupportedMediaType},
	} {
		if _, err := p.Picture(context.Background(), tc.data); apperr.CodeOf(err) != tc.code {
			t.Errorf("%s: got %v, want %s", name, err, tc.code)
		}
	}
	if photo.Sniff([]byte("<svg")) != "" || photo.Sniff([]byte("GIF89a...")) != photo.TypeGIF {
		t.Error("Sniff")
	}
}
