package photo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"strings"
	"testing"

	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/photo"
	"vo/internal/photo/internal/testimg"
)

var (
	red   = color.RGBA{R: 255, A: 255}
	blue  = color.RGBA{B: 255, A: 255}
	green = color.RGBA{G: 255, A: 255}
	grey  = color.RGBA{R: 128, G: 128, B: 128, A: 255}
	white = color.RGBA{R: 255, G: 255, B: 255, A: 255}
)

func process(t *testing.T, data []byte, declared string) (*photo.Processed, error) {
	t.Helper()
	return photo.NewProcessor(2).Process(context.Background(), data, declared)
}

// mustProcess processes data and checks the invariants every result has:
// three sizes, each a baseline JPEG of the right square size, and the hash.
func mustProcess(t *testing.T, data []byte, declared string) *photo.Processed {
	t.Helper()
	p, err := process(t, data, declared)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	if len(p.Hash) != 32 || photo.Key(p.Hash, 64) == "" {
		t.Fatalf("hash %q is not 32 hex digits", p.Hash)
	}
	for _, s := range photo.Sizes {
		// The header is enough here (tests decode what they look at), and
		// cheap under the race detector.
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(p.Images[s]))
		if err != nil {
			t.Fatalf("size %d: %v", s, err)
		}
		if cfg.Width != s || cfg.Height != s {
			t.Fatalf("size %d is %d×%d", s, cfg.Width, cfg.Height)
		}
	}
	return p
}

func decodeSize(t *testing.T, p *photo.Processed, size int) image.Image {
	t.Helper()
	m, err := jpeg.Decode(bytes.NewReader(p.Images[size]))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// near reports whether c is within tol of want on every channel (JPEG
// compression moves colours a little).
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return abs(int(x>>8)-int(y)) <= tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func fill(m draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(m, r, image.NewUniform(c), image.Point{}, draw.Src)
}

func encodePNG(m image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// TestFormats: each accepted format is decoded and stored as three squares
// of the centre of the picture.
func TestFormats(t *testing.T) {
	t.Parallel()
	// A 300×200 picture: red left third, green middle, blue right third.
	// The centre square is the middle 200 pixels: mostly green with red and
	// blue slivers at its left and right edges.
	thirds := image.NewRGBA(image.Rect(0, 0, 300, 200))
	fill(thirds, image.Rect(0, 0, 100, 200), red)
	fill(thirds, image.Rect(100, 0, 200, 200), green)
	fill(thirds, image.Rect(200, 0, 300, 200), blue)

	pal := image.NewPaletted(thirds.Rect, color.Palette{red, green, blue})
	draw.Draw(pal, pal.Rect, thirds, image.Point{}, draw.Src)
	var gifBuf bytes.Buffer
	if err := gif.Encode(&gifBuf, pal, nil); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, typ string
		data      []byte
	}{
		{"JPEG", photo.TypeJPEG, testimg.EncodeJPEG(thirds, 95)},
		{"PNG", photo.TypePNG, encodePNG(thirds)},
		{"GIF", photo.TypeGIF, gifBuf.Bytes()},
		{"WebP", photo.TypeWebP, webpThirds(t)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := mustProcess(t, c.data, c.typ)
			for _, s := range photo.Sizes {
				m := decodeSize(t, p, s)
				if got := m.At(s/2, s/2); !near(got, green, 40) {
					t.Errorf("size %d: centre is %v, want green", s, got)
				}
				if got := m.At(1, s/2); !near(got, red, 60) {
					t.Errorf("size %d: left edge is %v, want the red sliver", s, got)
				}
				if got := m.At(s-2, s/2); !near(got, blue, 60) {
					t.Errorf("size %d: right edge is %v, want the blue sliver", s, got)
				}
			}
		})
	}
}

// webpThirds is TestFormats' picture as a lossless WebP; the encoder takes
// two values per channel, and red, green and blue need exactly that.
func webpThirds(t *testing.T) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, 300, 200))
	fill(m, image.Rect(0, 0, 100, 200), red)
	fill(m, image.Rect(100, 0, 200, 200), green)
	fill(m, image.Rect(200, 0, 300, 200), blue)
	return testimg.WebPLossless(m)
}

// TestGIFFirstFrame: only the first frame of an animation counts, and a
// first frame smaller than the GIF's screen is placed on it, on white.
func TestGIFFirstFrame(t *testing.T) {
	t.Parallel()
	pal := color.Palette{red, blue, color.Transparent}
	first := image.NewPaletted(image.Rect(0, 0, 100, 100), pal)
	fill(first, first.Rect, red)
	second := image.NewPaletted(image.Rect(0, 0, 100, 100), pal)
	fill(second, second.Rect, blue)
	var anim bytes.Buffer
	if err := gif.EncodeAll(&anim, &gif.GIF{Image: []*image.Paletted{first, second}, Delay: []int{10, 10}}); err != nil {
		t.Fatal(err)
	}
	p := mustProcess(t, anim.Bytes(), photo.TypeGIF)
	if got := decodeSize(t, p, 256).At(128, 128); !near(got, red, 30) {
		t.Errorf("animated GIF shows %v, want the first frame's red", got)
	}

	// A 100×100 screen whose first frame covers only its right half.
	half := image.NewPaletted(image.Rect(50, 0, 100, 100), pal)
	fill(half, half.Rect, blue)
	var partial bytes.Buffer
	err := gif.EncodeAll(&partial, &gif.GIF{
		Image: []*image.Paletted{half}, Delay: []int{0},
		Config: image.Config{ColorModel: pal, Width: 100, Height: 100},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeSize(t, mustProcess(t, partial.Bytes(), photo.TypeGIF), 256)
	if got := m.At(30, 128); !near(got, white, 20) {
		t.Errorf("left of the frame is %v, want white", got)
	}
	if got := m.At(220, 128); !near(got, blue, 30) {
		t.Errorf("the frame is %v, want blue", got)
	}
}

// TestTransparencyOnWhite: transparent pixels become white, not black, in
// every format that has transparency.
func TestTransparencyOnWhite(t *testing.T) {
	t.Parallel()
	m := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	fill(m, image.Rect(0, 0, 32, 64), color.NRGBA{R: 255, A: 255}) // left opaque red, right transparent
	for name, c := range map[string]struct {
		typ  string
		data []byte
	}{
		"PNG":  {photo.TypePNG, encodePNG(m)},
		"WebP": {photo.TypeWebP, testimg.WebPLossless(m)},
	} {
		t.Run(name, func(t *testing.T) {
			out := decodeSize(t, mustProcess(t, c.data, c.typ), 64)
			if got := out.At(10, 32); !near(got, red, 40) {
				t.Errorf("opaque half is %v, want red", got)
			}
			if got := out.At(54, 32); !near(got, white, 10) {
				t.Errorf("transparent half is %v, want white", got)
			}
		})
	}
}

// TestOrientation: each of the eight EXIF orientations is applied before
// the centre crop. The stored (pre-rotation) picture is 3:2 with a red block
// in its top-left corner and a blue block in its top-right corner; after
// turning it upright and cropping, the blocks must land in the corners that
// the orientation dictates, the other two corners staying grey. The pair of
// corners is different for each orientation, so any mix-up fails.
func TestOrientation(t *testing.T) {
	t.Parallel()
	const (
		tl = iota
		tr
		br
		bl
	)
	want := map[uint16][2]int{ // orientation: corner of red, corner of blue
		1: {tl, tr}, 2: {tr, tl}, 3: {br, bl}, 4: {bl, br},
		5: {tl, bl}, 6: {tr, br}, 7: {br, tr}, 8: {bl, tl},
	}
	// The small picture's crop is copied as it is; the large one's is
	// box-shrunk by 2 in YCbCr, for a turned and a mirrored orientation, so
	// that both paths are checked (all eight would only repeat the same crop
	// and turn code, at a price under the race detector).
	for _, size := range []image.Point{{120, 80}, {1536, 1024}} {
		w, h := size.X, size.Y
		stored := image.NewRGBA(image.Rect(0, 0, w, h))
		fill(stored, stored.Rect, grey)
		// Each block spans a third of the width and a quarter of the
		// height, so that after the centre crop (which takes a sixth of the
		// width off each side) a square of it remains in the corner.
		fill(stored, image.Rect(0, 0, w/3, h/4), red)
		fill(stored, image.Rect(w-w/3, 0, w, h/4), blue)
		base := testimg.EncodeJPEG(stored, 95)
		for o := uint16(1); o <= 8; o++ {
			if w > 1000 && o != 6 && o != 7 {
				continue
			}
			t.Run(string(rune('0'+o))+"/"+size.String(), func(t *testing.T) {
				t.Parallel()
				file := testimg.InsertSegments(base, testimg.ExifSegment(testimg.ExifBlock(binary.BigEndian, o, nil)))
				m := decodeSize(t, mustProcess(t, file, photo.TypeJPEG), 512)
				corners := [4]image.Point{tl: {40, 40}, tr: {471, 40}, br: {471, 471}, bl: {40, 471}}
				for c, pt := range corners {
					expect := grey
					switch c {
					case want[o][0]:
						expect = red
					case want[o][1]:
						expect = blue
					}
					if got := m.At(pt.X, pt.Y); !near(got, expect, 40) {
						t.Errorf("corner %d (%v) is %v, want %v", c, pt, got, expect)
					}
				}
			})
		}
	}
}

// TestNoMetadataSurvives uploads a phone-style JPEG carrying GPS position,
// camera make and model, XMP, a comment and an embedded thumbnail, stores
// it, and proves that no stored file nor any served byte carries any of it:
// no GPS payload, no "Exif" or XMP marker, no APPn or COM segment, no second
// JPEG inside.
func TestNoMetadataSurvives(t *testing.T) {
	t.Parallel()
	for _, bo := range []testimg.Order{binary.BigEndian, binary.LittleEndian} {
		upload := testimg.PhoneJPEG(testimg.Photo(320, 240, 5), 90, 6, bo)
		var needles [][]byte
		for _, s := range []string{testimg.GPSMarker, testimg.CommentText, testimg.MakeText, testimg.ModelText,
			"XMP-SECRET", "Exif", "http://ns.adobe.com/xap", "2024:05:01"} {
			needles = append(needles, []byte(s))
		}
		for _, rationals := range [][]uint32{testimg.GPSLatitude, testimg.GPSLongitude} {
			var enc []byte
			for _, v := range rationals {
				enc = bo.AppendUint32(enc, v)
			}
			needles = append(needles, enc)
		}
		for _, n := range needles {
			if !bytes.Contains(upload, n) {
				t.Fatalf("the test upload itself lacks %q", n)
			}
		}

		p := mustProcess(t, upload, photo.TypeJPEG)
		dir := t.TempDir()
		store, err := blobs.NewDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		ctx := context.Background()
		if err := photo.Save(ctx, store, p); err != nil {
			t.Fatal(err)
		}

		var files [][]byte
		for _, s := range photo.Sizes {
			served, err := photo.Read(ctx, store, p.Hash, s)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, served)
		}
		files = append(files, readTree(t, dir)...) // the bytes on disk
		if len(files) != 2*len(photo.Sizes) {
			t.Fatalf("%d files, want %d served and %d stored", len(files), len(photo.Sizes), len(photo.Sizes))
		}
		for _, f := range files {
			for _, n := range needles {
				if bytes.Contains(f, n) {
					t.Errorf("output carries %q", n)
				}
			}
			if got := bytes.Count(f, []byte{0xff, 0xd8}); got != 1 {
				t.Errorf("output has %d SOI markers, want 1 (no embedded thumbnail)", got)
			}
			for _, m := range markers(t, f) {
				if 0xe0 <= m && m <= 0xef || m == 0xfe {
					t.Errorf("output has an APP%d/COM segment (marker %#x)", m-0xe0, m)
				}
			}
		}
	}
}

// markers lists the segment markers of a JPEG up to its scan.
func markers(t *testing.T, f []byte) []byte {
	t.Helper()
	var out []byte
	for pos := 2; pos+4 <= len(f); {
		if f[pos] != 0xff {
			t.Fatalf("no marker at %d", pos)
		}
		m := f[pos+1]
		out = append(out, m)
		if m == 0xda {
			break
		}
		pos += 2 + int(binary.BigEndian.Uint16(f[pos+2:]))
	}
	return out
}

// TestHostileInput: every kind of broken or lying file gets a clear
// refusal with the right code, and never reaches storage.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	good := testimg.EncodeJPEG(testimg.Photo(64, 48, 9), 85)
	goodPNG := encodePNG(testimg.Photo(64, 48, 9))
	var goodGIF bytes.Buffer
	if err := gif.Encode(&goodGIF, testimg.Photo(64, 48, 9), nil); err != nil {
		t.Fatal(err)
	}
	goodWebP := webpThirds(t)

	sof := func(w, h uint16) []byte { // a JPEG header up to its frame
		seg := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), 1, 1, 0x11, 0}
		return append([]byte{0xff, 0xd8}, testimg.Segment(0xc0, seg)...)
	}
	gifHeader := func(w, h uint16) []byte {
		b := []byte("GIF89a")
		b = binary.LittleEndian.AppendUint16(b, w)
		b = binary.LittleEndian.AppendUint16(b, h)
		return append(b, 0, 0, 0)
	}
	webpHeader := func(w, h uint32) []byte { // an extended (VP8X) header
		chunk := append([]byte("VP8X"), 10, 0, 0, 0, 0, 0, 0, 0)
		chunk = append(chunk, byte(w-1), byte((w-1)>>8), byte((w-1)>>16))
		chunk = append(chunk, byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
		out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
		return append(append(out, "WEBP"...), chunk...)
	}
	corruptExif := testimg.InsertSegments(good, testimg.ExifSegment([]byte("MM\x00\x2a\x00\x00\x10\x00")))

	cases := []struct {
		name, typ string
		data      []byte
		code      apperr.Code
		msg       string // part of the message
	}{
		{"zero bytes", photo.TypeJPEG, nil, apperr.UnsupportedMediaType, "empty"},
		{"truncated JPEG", photo.TypeJPEG, good[:len(good)/2], apperr.UnsupportedMediaType, "truncated"},
		{"JPEG header only", photo.TypeJPEG, good[:200], apperr.UnsupportedMediaType, "JPEG"},
		{"truncated PNG", photo.TypePNG, goodPNG[:len(goodPNG)/2], apperr.UnsupportedMediaType, "PNG"},
		{"truncated GIF", photo.TypeGIF, goodGIF.Bytes()[:goodGIF.Len()/2], apperr.UnsupportedMediaType, "GIF"},
		{"truncated WebP", photo.TypeWebP, goodWebP[:len(goodWebP)/2], apperr.UnsupportedMediaType, "WebP"},
		{"corrupt EXIF block", photo.TypeJPEG, corruptExif, apperr.UnsupportedMediaType, "EXIF"},
		{"PNG declared as JPEG", photo.TypeJPEG, goodPNG, apperr.UnsupportedMediaType, "declared image/jpeg but the file is image/png"},
		{"JPEG declared as WebP", photo.TypeWebP, good, apperr.UnsupportedMediaType, "declared"},
		{"HTML declared as PNG", photo.TypePNG, []byte("<html><script>alert(1)</script></html>"), apperr.UnsupportedMediaType, "not a JPEG, PNG, WebP or GIF"},
		{"SVG", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), apperr.UnsupportedMediaType, "image/svg+xml"},
		{"GIF/JavaScript polyglot", photo.TypeGIF, []byte("GIF89a/*\x00\x00\x00\x00*/=1;alert(document.domain)//"), apperr.UnsupportedMediaType, "no pixels"},
		{"PNG signature on HTML", photo.TypePNG, []byte("\x89PNG\r\n\x1a\n<html><script>alert(1)</script>"), apperr.UnsupportedMediaType, "PNG"},
		{"PNG 50000×50000", photo.TypePNG, testimg.PNGHeader(50_000, 50_000), apperr.Invalid, "megapixels"},
		{"JPEG 65535×65535", photo.TypeJPEG, sof(65535, 65535), apperr.Invalid, "megapixels"},
		{"GIF 65535×1000", photo.TypeGIF, gifHeader(65535, 1000), apperr.Invalid, "megapixels"},
		{"WebP 16384×16384", photo.TypeWebP, webpHeader(16384, 16384), apperr.Invalid, "megapixels"},
		{"JPEG 0×0", photo.TypeJPEG, sof(0, 0), apperr.UnsupportedMediaType, "no pixels"},
		// image/jpeg skips a stuffed 0xff00 before a marker; the header
		// check must too, or it would read the frame behind it as a
		// segment length and miss the size.
		{"JPEG frame behind a stuffed zero", photo.TypeJPEG, append([]byte{0xff, 0xd8, 0xff, 0x00}, sof(65535, 65535)[2:]...), apperr.Invalid, "megapixels"},
		{"lossless JPEG", photo.TypeJPEG, append([]byte{0xff, 0xd8}, testimg.Segment(0xc3, []byte{8, 0, 8, 0, 8, 1, 1, 0x11, 0})...), apperr.UnsupportedMediaType, "SOF3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, err := process(t, c.data, c.typ)
			if !apperr.Is(err, c.code) {
				t.Fatalf("err = %v, want code %s", err, c.code)
			}
			if !strings.Contains(apperr.MessageOf(err), c.msg) {
				t.Errorf("message %q lacks %q", apperr.MessageOf(err), c.msg)
			}
		})
	}
}

// TestPolyglotPayloadDropped: a JPEG with an HTML/ZIP payload after its end
// is a valid picture (phones append videos this way: "motion photos"), so
// it is accepted, but the payload is gone from what is stored.
func TestPolyglotPayloadDropped(t *testing.T) {
	t.Parallel()
	payload := []byte("PK\x03\x04<html><script>alert('polyglot')</script></html>")
	file := append(testimg.EncodeJPEG(testimg.Photo(64, 64, 4), 85), payload...)
	p := mustProcess(t, file, photo.TypeJPEG)
	for _, s := range photo.Sizes {
		if bytes.Contains(p.Images[s], []byte("alert")) || bytes.Contains(p.Images[s], []byte("PK\x03\x04")) {
			t.Errorf("size %d carries the payload", s)
		}
	}
}

// TestDeterministicHash: the same upload gives the same hash (identical
// photos share storage), and a different one a different hash.
func TestDeterministicHash(t *testing.T) {
	t.Parallel()
	a := testimg.EncodeJPEG(testimg.Photo(100, 80, 1), 85)
	b := testimg.EncodeJPEG(testimg.Photo(100, 80, 2), 85)
	pa1, pa2, pb := mustProcess(t, a, photo.TypeJPEG), mustProcess(t, a, photo.TypeJPEG), mustProcess(t, b, photo.TypeJPEG)
	if pa1.Hash != pa2.Hash {
		t.Errorf("same photo, hashes %s and %s", pa1.Hash, pa2.Hash)
	}
	if pa1.Hash == pb.Hash {
		t.Errorf("different photos share hash %s", pa1.Hash)
	}
}

// TestSmallPhotoUpscaled: a photo smaller than 512 pixels is still stored at
// every size.
func TestSmallPhotoUpscaled(t *testing.T) {
	t.Parallel()
	m := image.NewGray(image.Rect(0, 0, 20, 30))
	fill(m, m.Rect, color.Gray{Y: 90})
	p := mustProcess(t, encodePNG(m), photo.TypePNG)
	if got := decodeSize(t, p, 512).At(256, 256); !near(got, color.RGBA{R: 90, G: 90, B: 90}, 6) {
		t.Errorf("upscaled grey is %v", got)
	}
}
