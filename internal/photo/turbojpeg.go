//go:build cgo

package photo

// JPEG decoding through libjpeg-turbo's TurboJPEG API (Debian's
// libturbojpeg0-dev), for its DCT scaling: a 12-megapixel photo becomes a
// 512-pixel square, so it is decoded at the smallest of the scales M/8 that
// still covers 512 pixels (1/4 for 4000×3000), which skips most of the
// inverse DCT and of the colour conversion. image/jpeg has no scaled
// decoding and spent twice vipsthumbnail's CPU time on the full decode;
// libjpeg-turbo is what libvips itself decodes with, fuzzed continuously
// by OSS-Fuzz, and bounded here by the same header checks, pixel limit and
// memory budget as every decoder. Files it does not take (CMYK and YCCK,
// rare Adobe files) go through image/jpeg.

/*
#cgo pkg-config: libturbojpeg
#include <stdlib.h>
#include <turbojpeg.h>

// vo_tj_header reads the size and colour space; 0 on success.
static int vo_tj_header(tjhandle h, const unsigned char *buf, unsigned long n,
		int *w, int *ht, int *sub, int *cs) {
	return tjDecompressHeader3(h, buf, n, w, ht, sub, cs);
}
*/
import "C"

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"strings"
	"unsafe"
)

// turboFlags: stop at the first warning (a truncated or corrupt file is
// refused, not decoded into grey), and refuse progressive files with more
// than 500 scans, which take unbounded CPU for no picture.
const turboFlags = C.TJFLAG_STOPONWARNING | C.TJFLAG_LIMITSCANS

// decodeJPEG decodes data at the smallest DCT scale whose shorter side is
// still at least minSide (or at full size when the picture is smaller).
func decodeJPEG(data []byte, minSide int) (image.Image, error) {
	if len(data) == 0 {
		return nil, errors.New("empty file")
	}
	h := C.tjInitDecompress()
	if h == nil {
		return nil, errors.New("cannot start the JPEG decoder")
	}
	defer C.tjDestroy(h)
	buf := (*C.uchar)(unsafe.Pointer(&data[0]))
	n := C.ulong(len(data))
	var w, ht, sub, cs C.int
	if C.vo_tj_header(h, buf, n, &w, &ht, &sub, &cs) != 0 {
		return nil, turboError(h)
	}
	if cs == C.TJCS_CMYK || cs == C.TJCS_YCCK {
		return jpeg.Decode(bytes.NewReader(data))
	}
	sw, sh := scaledSize(int(w), int(ht), minSide)
	m := image.NewRGBA(image.Rect(0, 0, sw, sh))
	if C.tjDecompress2(h, buf, n, (*C.uchar)(unsafe.Pointer(&m.Pix[0])), C.int(sw), C.int(m.Stride), C.int(sh),
		C.TJPF_RGBA, turboFlags) != 0 {
		return nil, turboError(h)
	}
	return m, nil
}

// scaledSize picks the scale: of the factors libjpeg-turbo offers up to 1,
// the smallest that keeps the shorter side at least minSide.
func scaledSize(w, h, minSide int) (int, int) {
	var count C.int
	factors := C.tjGetScalingFactors(&count)
	best := [2]int{1, 1}
	short := min(w, h)
	for _, f := range unsafe.Slice(factors, int(count)) {
		num, den := int(f.num), int(f.denom)
		if num > den || scaled(short, num, den) < minSide {
			continue
		}
		if num*best[1] < best[0]*den {
			best = [2]int{num, den}
		}
	}
	return scaled(w, best[0], best[1]), scaled(h, best[0], best[1])
}

// scaled is TJSCALED: the dimension times num/den, rounded up.
func scaled(d, num, den int) int { return (d*num + den - 1) / den }

// turboError turns the decoder's message into the errors decodeError
// knows: a file that ends early is "truncated".
func turboError(h C.tjhandle) error {
	msg := C.GoString(C.tjGetErrorStr2(h))
	if strings.Contains(msg, "Premature end") || strings.Contains(msg, "premature end") {
		return errTruncatedJPEG
	}
	return errors.New(strings.TrimSpace(msg))
}
