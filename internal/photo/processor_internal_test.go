package photo

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
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
		out := resample(src, n, n)
		for i, v := range out.Pix {
			if want := []uint8{200, 100, 50, 255}[i%4]; v != want {
				t.Fatalf("size %d: byte %d = %d, want %d", n, i, v, want)
			}
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
