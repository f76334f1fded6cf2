package photo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/photo/internal/testimg"
)

// TestHugeHeaderRefusedCheaply: a PNG whose header claims 50,000 × 50,000
// pixels (10 GB once decoded) is refused with 400 within milliseconds,
// allocating next to nothing, and before it would wait for a decode slot:
// with the only slot taken and the context already over, the answer is
// still the 400, not the context's error.
func TestHugeHeaderRefusedCheaply(t *testing.T) {
	bomb := append(testimg.PNGHeader(50_000, 50_000), make([]byte, 4096)...)
	p := NewProcessor(1)
	p.slots <- struct{}{} // every slot busy
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := p.Process(ctx, bomb, TypePNG)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)

	if !apperr.Is(err, apperr.Invalid) {
		t.Fatalf("err = %v, want Invalid", err)
	}
	if elapsed > 100*time.Millisecond {
		t.Errorf("took %v", elapsed)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("allocated %d bytes", alloc)
	}
	t.Logf("refused in %v, allocating %d bytes: %v", elapsed, after.TotalAlloc-before.TotalAlloc, err)
}

// TestDecodeSlotsBoundConcurrency: when all slots are busy, Process waits,
// gives up when its context ends, and goes ahead once a slot frees up. This
// is what keeps ten simultaneous large uploads from decoding at once.
func TestDecodeSlotsBoundConcurrency(t *testing.T) {
	t.Parallel()
	p := NewProcessor(2)
	if cap(p.slots) != 2 {
		t.Fatalf("%d slots, want 2", cap(p.slots))
	}
	if n := cap(NewProcessor(0).slots); n != runtime.NumCPU() {
		t.Errorf("default %d slots, want one per CPU (%d)", n, runtime.NumCPU())
	}
	p.slots <- struct{}{}
	p.slots <- struct{}{}
	data := testimg.EncodeJPEG(testimg.Photo(64, 64, 1), 80)

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Process(ctx, data, TypeJPEG); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with every slot busy: err = %v, want the context's deadline", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := p.Process(context.Background(), data, TypeJPEG)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Process finished (%v) while every slot was busy", err)
	case <-time.After(20 * time.Millisecond):
	}
	<-p.slots // one upload finishes
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(p.slots) != 1 {
		t.Errorf("%d slots held after Process returned, want 1 (the test's)", len(p.slots))
	}
}

func TestSquareCrop(t *testing.T) {
	t.Parallel()
	wide := image.Rect(0, 0, 7, 4) // odd margin: 3 columns to lose
	cases := map[int]image.Rectangle{
		// Upright width 7: the upright crop starts at x=1 (rounding left).
		1: image.Rect(1, 0, 5, 4),
		2: image.Rect(2, 0, 6, 4), // mirrored: upright x=1 is stored x=5
		3: image.Rect(2, 0, 6, 4),
		4: image.Rect(1, 0, 5, 4),
		// Transposed: upright is 4 wide and 7 tall; its crop starts at
		// upright y=1, which is stored x=1, or x=2 where x is mirrored.
		5: image.Rect(1, 0, 5, 4),
		6: image.Rect(1, 0, 5, 4),
		7: image.Rect(2, 0, 6, 4),
		8: image.Rect(2, 0, 6, 4),
	}
	for o, want := range cases {
		if got := squareCrop(wide, o); got != want {
			t.Errorf("orientation %d: crop %v, want %v", o, got, want)
		}
	}
	if got := squareCrop(image.Rect(10, 20, 14, 29), 1); got != image.Rect(10, 22, 14, 26) {
		t.Errorf("offset canvas: crop %v", got)
	}
}

func TestResampleKeepsFlatAreasFlat(t *testing.T) {
	t.Parallel()
	src := image.NewRGBA(image.Rect(0, 0, 133, 133))
	for i := range src.Pix {
		src.Pix[i] = []uint8{200, 100, 50, 255}[i%4]
	}
	for _, n := range []int{300, 64, 7} {
		for _, opaque := range []bool{false, true} {
			out := resample(src, n, n, opaque)
			for i, v := range out.Pix {
				if want := []uint8{200, 100, 50, 255}[i%4]; v != want {
					t.Fatalf("size %d opaque %v: byte %d = %d, want %d", n, opaque, i, v, want)
				}
			}
		}
	}
}

// TestResampleOpaqueSkipsOnlyAlpha: the opaque path, which does not compute
// alpha, gives exactly the bytes of the general path on an opaque picture.
func TestResampleOpaqueSkipsOnlyAlpha(t *testing.T) {
	t.Parallel()
	src := image.NewRGBA(image.Rect(0, 0, 211, 157))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 31 % 251)
		if i%4 == 3 {
			src.Pix[i] = 255
		}
	}
	for _, size := range [][2]int{{512, 512}, {64, 64}, {100, 37}, {211, 157}} {
		got, want := resample(src, size[0], size[1], true), resample(src, size[0], size[1], false)
		if !bytes.Equal(got.Pix, want.Pix) {
			t.Fatalf("%v: the opaque path differs from the general one", size)
		}
	}
}

// FuzzProcess runs the whole pipeline (type check, header, EXIF, decode,
// crop, resize, encode) on arbitrary bytes under each declared type. Every
// input must end in a result of three valid JPEGs or in a refusal with a
// client code; a decoder panic (recovered into a 415 by Process) fails.
func FuzzProcess(f *testing.F) {
	small := testimg.Photo(40, 30, 1)
	f.Add(testimg.EncodeJPEG(small, 80), uint8(0))
	f.Add(testimg.PhoneJPEG(testimg.Photo(48, 32, 2), 70, 6, binary.LittleEndian), uint8(0))
	var pngBuf, gifBuf bytes.Buffer
	if err := png.Encode(&pngBuf, small); err != nil {
		f.Fatal(err)
	}
	if err := gif.Encode(&gifBuf, small, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(pngBuf.Bytes(), uint8(1))
	f.Add(gifBuf.Bytes(), uint8(3))
	f.Add(testimg.PNGHeader(50_000, 50_000), uint8(1))
	types := []string{TypeJPEG, TypePNG, TypeWebP, TypeGIF}
	p := NewProcessor(1)
	f.Fuzz(func(t *testing.T, data []byte, typ uint8) {
		declared := types[int(typ)%len(types)]
		// Keep each run fast: big (but allowed) images are covered by the
		// tests; the fuzzer's job is odd structure.
		if cfg, err := decodeConfig(declared, data); err == nil && cfg.Width*cfg.Height > 1<<16 {
			return
		}
		out, err := p.Process(context.Background(), data, declared)
		if err != nil {
			code := apperr.CodeOf(err)
			if code != apperr.UnsupportedMediaType && code != apperr.Invalid {
				t.Fatalf("error with code %s: %v", code, err)
			}
			if strings.Contains(err.Error(), "decoder failure") {
				t.Fatalf("decoder panicked: %v", err)
			}
			return
		}
		for _, s := range Sizes {
			m, err := jpeg.Decode(bytes.NewReader(out.Images[s]))
			if err != nil || m.Bounds() != image.Rect(0, 0, s, s) {
				t.Fatalf("size %d: %v, %v", s, err, m.Bounds())
			}
		}
	})
}

// sofJPEG is a JPEG file up to its frame header: SOF marker, size, and
// each component's sampling factors (H<<4 | V).
func sofJPEG(marker byte, w, h int, sampling ...byte) []byte {
	seg := []byte{8, byte(h >> 8), byte(h), byte(w >> 8), byte(w), byte(len(sampling))}
	for i, s := range sampling {
		seg = append(seg, byte(i+1), s, 0)
	}
	return append([]byte{0xff, 0xd8}, testimg.Segment(marker, seg)...)
}

// TestDecodeBytes: the memory a decode is charged is estimated from the
// header by colour model and bit depth, not by pixels alone: a 16-bit PNG
// costs eight times a paletted one of the same size.
func TestDecodeBytes(t *testing.T) {
	t.Parallel()
	const mp12 = 4000 * 3000
	cases := []struct {
		name string
		typ  string
		data []byte
		want int64
	}{
		{"12 MP baseline 4:2:0 JPEG", TypeJPEG, sofJPEG(0xc0, 4000, 3000, 0x22, 0x11, 0x11), mp12 * 3 / 2},
		{"12 MP baseline 4:4:4 JPEG", TypeJPEG, sofJPEG(0xc0, 4000, 3000, 0x11, 0x11, 0x11), mp12 * (3 + 4)},
		{"12 MP progressive 4:2:0 JPEG", TypeJPEG, sofJPEG(0xc2, 4000, 3000, 0x22, 0x11, 0x11), mp12 * 3 / 2 * 5},
		{"12 MP grey JPEG", TypeJPEG, sofJPEG(0xc0, 4000, 3000, 0x11), mp12},
		{"12 MP CMYK JPEG", TypeJPEG, sofJPEG(0xc0, 4000, 3000, 0x11, 0x11, 0x11, 0x11), mp12 * (4 + 4)},
		{"39.6 MP 16-bit RGBA PNG", TypePNG, testimg.PNGHeaderOf(6300, 6300, 16, 6, 0), 6300 * 6300 * 8},
		{"39.6 MP 16-bit RGB PNG", TypePNG, testimg.PNGHeaderOf(6300, 6300, 16, 2, 0), 6300 * 6300 * 8},
		{"39.6 MP 16-bit grey PNG", TypePNG, testimg.PNGHeaderOf(6300, 6300, 16, 0, 0), 6300 * 6300 * 2},
		{"39.6 MP 8-bit RGBA PNG", TypePNG, testimg.PNGHeaderOf(6300, 6300, 8, 6, 0), 6300 * 6300 * 4},
		{"39.6 MP 8-bit grey PNG", TypePNG, testimg.PNGHeaderOf(6300, 6300, 8, 0, 0), 6300 * 6300},
		{"12 MP interlaced 8-bit RGB PNG", TypePNG, testimg.PNGHeaderOf(4000, 3000, 8, 2, 1), mp12 * 8},
	}
	for _, c := range cases {
		cfg, err := decodeConfig(c.typ, c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := decodeBytes(c.typ, c.data, cfg); got != c.want {
			t.Errorf("%s: %d bytes, want %d", c.name, got, c.want)
		}
	}
}

// TestDecodeBudgetRefusesTheHeaviest: a picture whose decode alone would
// take more than the whole budget is refused from its header with 400 and
// a message that says why, before it waits for anything.
func TestDecodeBudgetRefusesTheHeaviest(t *testing.T) {
	t.Parallel()
	p := newProcessor(2, 100_000_000)
	bomb := testimg.PNGHeaderOf(6300, 6300, 16, 6, 0) // 317 MB decoded
	_, err := p.Process(context.Background(), bomb, TypePNG)
	if !apperr.Is(err, apperr.Invalid) || !strings.Contains(apperr.MessageOf(err), "would take about 317 MB, more than the 100 MB allowed") {
		t.Fatalf("err = %v, want Invalid naming 317 MB and the 100 MB allowed", err)
	}
	// The same pixels in 8-bit grey, a byte a pixel, fit.
	cfg, err := decodeConfig(TypePNG, testimg.PNGHeaderOf(6300, 6300, 8, 0, 0))
	if err != nil || decodeBytes(TypePNG, nil, cfg) > p.budget {
		t.Fatalf("grey 39.6 MP: %v, %d bytes", err, decodeBytes(TypePNG, nil, cfg))
	}
	// The default budget takes the largest picture allowed alone.
	cfg, _ = decodeConfig(TypePNG, testimg.PNGHeaderOf(8000, 5000, 16, 6, 0))
	if need := decodeBytes(TypePNG, nil, cfg); need > DecodeBudget {
		t.Errorf("a 40 MP 16-bit PNG needs %d bytes, over the default budget %d", need, DecodeBudget)
	}
}

// TestDecodeBudgetBoundsConcurrency: with CPU slots for eight, eight
// 16-bit PNGs whose budget holds two decode two at a time, never more,
// and all succeed. Concurrency is counted where decoding starts and ends;
// each decode waits for a partner so that the bound is reached, not
// merely not exceeded. With slots alone (before the budget) all eight
// decoded at once.
func TestDecodeBudgetBoundsConcurrency(t *testing.T) {
	t.Parallel()
	src := image.NewNRGBA64(image.Rect(0, 0, 200, 150))
	for i := range src.Pix {
		src.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, src); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	cfg, err := decodeConfig(TypePNG, data)
	if err != nil {
		t.Fatal(err)
	}
	cost := decodeBytes(TypePNG, data, cfg)
	if cost != 200*150*8 {
		t.Fatalf("cost %d, want %d", cost, 200*150*8)
	}
	const uploads, fit = 8, 2
	p := newProcessor(uploads, fit*cost+cost/2)

	var mu sync.Mutex
	partner := sync.NewCond(&mu)
	var inFlight, maxInFlight, left = 0, 0, uploads
	var bytesInFlight, maxBytes int64
	p.decoding = func(need int64) func() {
		mu.Lock()
		inFlight++
		bytesInFlight += need
		maxInFlight, maxBytes = max(maxInFlight, inFlight), max(maxBytes, bytesInFlight)
		partner.Broadcast()
		for inFlight < min(fit, left) {
			partner.Wait()
		}
		mu.Unlock()
		return func() {
			mu.Lock()
			inFlight--
			left--
			bytesInFlight -= need
			partner.Broadcast()
			mu.Unlock()
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, uploads)
	for range uploads {
		wg.Go(func() {
			_, err := p.Process(context.Background(), data, TypePNG)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if maxInFlight != fit || maxBytes > p.budget {
		t.Errorf("at most %d decodes (%d bytes) at once, want %d within %d bytes", maxInFlight, maxBytes, fit, p.budget)
	}
}

// TestBoxShrinkYCbCrMatchesRGB: averaging a JPEG's planes and converting
// once per block gives the pixels that converting every pixel and then
// averaging gives, within rounding, for each chroma layout and for block
// sizes that do and do not line up with the chroma samples. (Where a
// pixel's colour lies outside RGB and clamps, the two differ by more: a
// few levels at saturated edges.) The picture is smooth colour, well
// inside the gamut.
func TestBoxShrinkYCbCrMatchesRGB(t *testing.T) {
	t.Parallel()
	for _, ratio := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio444} {
		m := image.NewYCbCr(image.Rect(0, 0, 97, 61), ratio)
		for y := 0; y < 61; y++ {
			for x := 0; x < 97; x++ {
				yy, cb, cr := color.RGBToYCbCr(uint8(60+x), uint8(60+2*y), uint8(200-x))
				m.Y[m.YOffset(x, y)] = yy
				m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)] = cb, cr
			}
		}
		for _, k := range []int{2, 3, 5} {
			crop := image.Rect(7, 3, 7+55, 3+55)
			got, want := boxShrinkYCbCr(m, crop, k), boxShrink(m, crop, k)
			if got.Rect != want.Rect {
				t.Fatalf("%v k=%d: %v, want %v", ratio, k, got.Rect, want.Rect)
			}
			for i := range got.Pix {
				if d := int(got.Pix[i]) - int(want.Pix[i]); d < -2 || d > 2 {
					t.Fatalf("%v k=%d: byte %d = %d, want %d±2", ratio, k, i, got.Pix[i], want.Pix[i])
				}
			}
		}
	}
}

// TestBoxShrinkYCbCrSumsEverySample: summing each block's chroma by runs
// gives exactly what reading the chroma sample under every luma sample
// gives, for every chroma layout, block sizes that do and do not line up
// with the chroma samples, and crops at odd offsets.
func TestBoxShrinkYCbCrSumsEverySample(t *testing.T) {
	t.Parallel()
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410, image.YCbCrSubsampleRatio444}
	for _, ratio := range ratios {
		m := image.NewYCbCr(image.Rect(0, 0, 101, 67), ratio)
		for i := range m.Y {
			m.Y[i] = uint8(i * 7)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(i*13), uint8(i*29+5)
		}
		for _, k := range []int{2, 3, 4, 5, 7} {
			for _, crop := range []image.Rectangle{image.Rect(0, 0, 60, 60), image.Rect(7, 3, 7+55, 3+55), image.Rect(1, 2, 100, 66)} {
				got, want := boxShrinkYCbCr(m, crop, k), boxShrinkYCbCrEverySample(m, crop, k)
				if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
					t.Fatalf("%v k=%d crop %v: the run sums differ from the per-sample sums", ratio, k, crop)
				}
			}
		}
	}
}

// boxShrinkYCbCrEverySample is the plain form of boxShrinkYCbCr: it reads
// the chroma sample under each luma sample.
func boxShrinkYCbCrEverySample(m *image.YCbCr, r image.Rectangle, k int) *image.RGBA {
	ow, oh := r.Dx()/k, r.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	div := uint32(k * k)
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			var sy, scb, scr uint32
			for y := r.Min.Y + oy*k; y < r.Min.Y+(oy+1)*k; y++ {
				for x := r.Min.X + ox*k; x < r.Min.X+(ox+1)*k; x++ {
					sy += uint32(m.Y[m.YOffset(x, y)])
					scb += uint32(m.Cb[m.COffset(x, y)])
					scr += uint32(m.Cr[m.COffset(x, y)])
				}
			}
			rr, g, b := color.YCbCrToRGB(uint8((sy+div/2)/div), uint8((scb+div/2)/div), uint8((scr+div/2)/div))
			i := out.PixOffset(ox, oy)
			out.Pix[i], out.Pix[i+1], out.Pix[i+2], out.Pix[i+3] = rr, g, b, 0xff
		}
	}
	return out
}
