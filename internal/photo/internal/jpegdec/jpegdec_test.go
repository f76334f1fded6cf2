package jpegdec_test

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"os"
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
		"odd 37x23":  testimg.EncodeJPEG(testimg.Photo(37, 23, 1), 90),
		"odd 130x77": testimg.EncodeJPEG(testimg.Photo(130, 77, 2), 75),
		"grey 41x67": testimg.EncodeJPEG(grey(41, 67), 85),
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

// goroot finds the Go tree that `go test` runs from.
func goroot(t testing.TB) string {
	if g := os.Getenv("GOROOT"); g != "" {
		return g
	}
	t.Log("GOROOT not set")
	return ""
}

func grey(w, h int) *image.Gray {
	m := image.NewGray(image.Rect(0, 0, w, h))
	for i := range m.Pix {
		m.Pix[i] = uint8(i * 7 % 251)
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
// right size (rounded up, as libjpeg) and, pixel for pixel, close to the
// average of the matching block of the full decode.
func TestScaledIsBoxAverage(t *testing.T) {
	t.Parallel()
	for name, b := range samples(t) {
		full, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		fullRGBA := toRGBA(full)
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
				gotRGBA := toRGBA(got)
				var sum, n float64
				for y := 0; y < fb.Dy()/s; y++ {
					for x := 0; x < fb.Dx()/s; x++ {
						avg := boxAverage(fullRGBA, x*s, y*s, s)
						px := gotRGBA.RGBAAt(x, y)
						for c, v := range []uint8{px.R, px.G, px.B} {
							sum += abs(float64(v) - avg[c])
							n++
						}
					}
				}
				// The reduced transform drops frequencies above what the
				// scaled grid can show, and chroma is rebuilt at a coarser
				// grid, so small differences are expected; a wrong block
				// position or level shift would cost tens of levels.
				if mean := sum / n; mean > 4 {
					t.Fatalf("mean difference from the box average = %.2f levels", mean)
				}
			})
		}
	}
}

func toRGBA(m image.Image) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, m.Bounds().Dx(), m.Bounds().Dy()))
	draw.Draw(out, out.Rect, m, m.Bounds().Min, draw.Src)
	return out
}

func boxAverage(m *image.RGBA, x0, y0, s int) [3]float64 {
	var sum [3]float64
	for y := y0; y < y0+s; y++ {
		for x := x0; x < x0+s; x++ {
			p := m.RGBAAt(x, y)
			sum[0] += float64(p.R)
			sum[1] += float64(p.G)
			sum[2] += float64(p.B)
		}
	}
	n := float64(s * s)
	return [3]float64{sum[0] / n, sum[1] / n, sum[2] / n}
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
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("error %v, standard library's %v", err, wantErr)
		}
		if err != nil {
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
