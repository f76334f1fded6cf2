package jpegdec_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"vo/internal/photo/internal/jpegdec"
	"vo/internal/photo/internal/testimg"
)

// samples returns JPEGs of every layout the decoder handles: the standard
// library's own test files (progressive, every chroma subsampling, CMYK,
// RGB, restart markers, grey) when the Go tree is there, plus files encoded
// here at odd sizes so that partial blocks and MCUs are covered.
func samples(t testing.TB) map[string][]byte {
	out := map[string][]byte{
		"odd 301x203": testimg.EncodeJPEG(testimg.Photo(301, 203, 1), 90),
		"odd 250x77":  testimg.EncodeJPEG(testimg.Photo(250, 77, 2), 75),
		"grey 41x67":  testimg.EncodeJPEG(grey(41, 67), 85),
	}
	dir := filepath.Join(goroot(t), "src", "image", "testdata")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Logf("standard library test images not found (%v); using generated ones only", err)
		return out
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".jpeg") || strings.Contains(e.Name(), "truncated") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// goroot finds the Go tree of the go command that runs the tests.
func goroot(t testing.TB) string {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Logf("go env GOROOT: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// grey is a smooth diagonal ramp.
func grey(w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Pix[y*m.Stride+x] = uint8(40 + 2*x + y)
		}
	}
	return m
}

// TestFullScaleMatchesStdlib shows that the fork, at scale 1, is still the
// standard library's decoder: every pixel is the same.
func TestFullScaleMatchesStdlib(t *testing.T) {
	t.Parallel()
	for name, b := range samples(t) {
		t.Run(name, func(t *testing.T) {
			want, err := jpeg.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpegdec.Decode(bytes.NewReader(b), 1)
			if err != nil {
				t.Fatal(err)
			}
			if got.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			r := want.Bounds()
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					if got.At(x, y) != want.At(x, y) {
						t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, got.At(x, y), want.At(x, y))
					}
				}
			}
		})
	}
}

// TestScaledIsBoxAverage shows that decoding at 1/2, 1/4 and 1/8 gives the
// right size (rounded up, as libjpeg) and that each decoded plane (Y, Cb, Cr
// or grey) is, sample for sample, close to the average of the matching
// block of the same plane decoded at full size.
func TestScaledIsBoxAverage(t *testing.T) {
	t.Parallel()
	for name, b := range samples(t) {
		full, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []int{2, 4, 8} {
			t.Run(name+"/"+string(rune('0'+s)), func(t *testing.T) {
				got, err := jpegdec.Decode(bytes.NewReader(b), s)
				if err != nil {
					t.Fatal(err)
				}
				fb := full.Bounds()
				wantSize := image.Pt((fb.Dx()+s-1)/s, (fb.Dy()+s-1)/s)
				if got.Bounds().Size() != wantSize {
					t.Fatalf("size %v, want %v", got.Bounds().Size(), wantSize)
				}
				fullPlanes, gotPlanes := planes(full), planes(got)
				if len(fullPlanes) == 0 {
					// CMYK and RGB files come back converted; their sizes
					// were checked above and their planes at full scale by
					// TestFullScaleMatchesStdlib.
					return
				}
				for i, fp := range fullPlanes {
					gp := gotPlanes[i]
					var sum, n float64
					for y := 0; y < min(fp.h/s, gp.h); y++ {
						for x := 0; x < min(fp.w/s, gp.w); x++ {
							var box float64
							for dy := range s {
								for dx := range s {
									box += float64(fp.pix[(y*s+dy)*fp.stride+x*s+dx])
								}
							}
							sum += abs(float64(gp.pix[y*gp.stride+x]) - box/float64(s*s))
							n++
						}
					}
					// The reduced transform drops the frequencies that the
					// scaled grid cannot show, which moves samples by a
					// level or two; a wrong block position or level shift
					// would cost tens of levels.
					if mean := sum / n; mean > 3.5 {
						t.Errorf("plane %d: mean difference from the box average = %.2f levels", i, mean)
					}
				}
			})
		}
	}
}

type plane struct {
	pix          []uint8
	stride, w, h int
}

// planes returns the sample planes of a decoded image, or nil for types
// that hold converted colours.
func planes(m image.Image) []plane {
	switch m := m.(type) {
	case *image.Gray:
		return []plane{{m.Pix, m.Stride, m.Rect.Dx(), m.Rect.Dy()}}
	case *image.YCbCr:
		cw, ch := m.COffset(m.Rect.Max.X-1, 0)+1, (m.COffset(0, m.Rect.Max.Y-1)/m.CStride)+1
		return []plane{
			{m.Y, m.YStride, m.Rect.Dx(), m.Rect.Dy()},
			{m.Cb, m.CStride, cw, ch},
			{m.Cr, m.CStride, cw, ch},
		}
	}
	return nil
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

func TestFlatBlockKeepsItsLevel(t *testing.T) {
	t.Parallel()
	m := image.NewGray(image.Rect(0, 0, 64, 64))
	draw.Draw(m, m.Rect, image.NewUniform(color.Gray{Y: 200}), image.Point{}, draw.Src)
	b := testimg.EncodeJPEG(m, 95)
	for _, s := range []int{1, 2, 4, 8} {
		got, err := jpegdec.Decode(bytes.NewReader(b), s)
		if err != nil {
			t.Fatal(err)
		}
		g := got.(*image.Gray)
		for i, v := range g.Pix {
			if v < 199 || v > 201 {
				t.Fatalf("scale %d: pixel %d = %d, want 200±1", s, i, v)
			}
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	good := testimg.EncodeJPEG(testimg.Photo(40, 40, 3), 80)
	if _, err := jpegdec.Decode(bytes.NewReader(good), 3); err == nil {
		t.Error("scale 3 accepted")
	}
	for _, cut := range []int{0, 2, 100, len(good) / 2, len(good) - 2} {
		if _, err := jpegdec.Decode(bytes.NewReader(good[:cut]), 4); err == nil {
			t.Errorf("file cut at %d of %d bytes decoded", cut, len(good))
		}
	}
}

// FuzzDecode checks that no input panics the decoder at any scale, and that
// at scale 1 it agrees with the standard library it was forked from.
func FuzzDecode(f *testing.F) {
	for _, b := range samples(f) {
		if len(b) < 64<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := jpegdec.DecodeConfig(bytes.NewReader(b))
		if err != nil || cfg.Width*cfg.Height > 1e6 {
			return
		}
		for _, s := range []int{2, 4, 8} {
			if m, err := jpegdec.Decode(bytes.NewReader(b), s); err == nil {
				if want := (cfg.Width + s - 1) / s; m.Bounds().Dx() != want {
					t.Fatalf("scale %d: width %d, want %d", s, m.Bounds().Dx(), want)
				}
			}
		}
		got, err := jpegdec.Decode(bytes.NewReader(b), 1)
		want, wantErr := jpeg.Decode(bytes.NewReader(b))
		if err != nil && wantErr == nil && !strings.Contains(err.Error(), "scans") {
			// Only the scan limit may refuse what upstream accepts.
			t.Fatalf("error %v; the standard library decodes it", err)
		}
		if err == nil && wantErr != nil {
			t.Fatalf("decoded what the standard library refuses (%v)", wantErr)
		}
		if err != nil || wantErr != nil {
			return
		}
		r := want.Bounds()
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if got.At(x, y) != want.At(x, y) {
					t.Fatalf("pixel (%d,%d) = %v, standard library's %v", x, y, got.At(x, y), want.At(x, y))
				}
			}
		}
	})
}

// TestScanLimit: a file of many tiny scans is refused instead of walking the
// whole image once per scan.
func TestScanLimit(t *testing.T) {
	t.Parallel()
	good := testimg.EncodeJPEG(testimg.Photo(16, 16, 5), 80)
	sos := bytes.Index(good, []byte{0xff, 0xda})
	// Repeat the scan (its SOS segment and coded data) 101 times: each
	// repeat is a valid scan that the decoder would walk in full.
	scan := good[sos:]
	file := append([]byte(nil), good[:sos]...)
	for range 101 {
		file = append(file, scan[:len(scan)-2]...) // without EOI
	}
	file = append(file, 0xff, 0xd9)
	if _, err := jpegdec.Decode(bytes.NewReader(file), 8); err == nil || !strings.Contains(err.Error(), "scans") {
		t.Fatalf("Decode = %v, want the scan limit", err)
	}
	if _, err := jpegdec.Decode(bytes.NewReader(good), 8); err != nil {
		t.Fatal(err)
	}
}
