package jpegdec_test

import (
	"bytes"
	"image/jpeg"
	"testing"

	"vo/internal/photo/internal/jpegdec"
	"vo/internal/photo/internal/testimg"
)

func TestDbg(t *testing.T) {
	b := testimg.EncodeJPEG(testimg.Photo(37, 23, 1), 90)
	full, _ := jpeg.Decode(bytes.NewReader(b))
	f := toRGBA(full)
	for _, s := range []int{8, 4} {
		got, _ := jpegdec.Decode(bytes.NewReader(b), s)
		g := toRGBA(got)
		t.Logf("%T %v", got, got.Bounds())
		for y := 0; y < 2; y++ {
			for x := 0; x < 4; x++ {
				t.Logf("s=%d (%d,%d) got %v avg %v", s, x, y, g.RGBAAt(x, y), boxAverage(f, x*s, y*s, s))
			}
		}
	}
}
