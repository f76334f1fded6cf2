package jpegdec

import "math"

// Reduced-size inverse DCT, the heart of DCT scaling.
//
// An 8x8 block's pixels are f(x,y) = 1/4 Σ C(u)C(v) F(v,u)
// cos((2x+1)uπ/16) cos((2y+1)vπ/16) over u,v < 8, with C(0) = 1/√2 and
// C(k) = 1 otherwise. Keeping only the n x n lowest frequencies and
// evaluating the same sum on an n-point grid,
//
//	f_n(x,y) = 1/4 Σ_{u,v<n} C(u)C(v) F(v,u) cos((2x+1)uπ/2n) cos((2y+1)vπ/2n),
//
// samples the block's low-pass signal at the centres of its n x n cells:
// (2x+1)/2n is where cell x's centre lies. The DC term keeps its level, so a
// flat block decodes to the same value at every scale. This is libjpeg's
// approach (jidctred.c); the frequencies dropped are those that an n x n
// output cannot show anyway.

// idctFracBits is the fixed-point precision of the 4-point table.
const idctFracBits = 13

// idct4Table[x][u] is 1/2 C(u) cos((2x+1)uπ/8) in fixed point: the 1-D
// factor of f_4, applied once to the rows and once to the columns.
var idct4Table = func() (t [4][4]int) {
	for x := range 4 {
		for u := range 4 {
			c := 1.0
			if u == 0 {
				c = 1 / math.Sqrt2
			}
			v := 0.5 * c * math.Cos(float64(2*x+1)*float64(u)*math.Pi/8)
			t[x][u] = int(math.Round(v * (1 << idctFracBits)))
		}
	}
	return t
}()

// zigsWithin[n] lists the zig-zag indices of the coefficients in the
// top-left n x n corner of a block: the only ones a 1/(8/n) scale reads.
var zigsWithin = func() (z [8][]int) {
	for _, n := range []int{1, 2, 4} {
		for zig, natural := range unzig {
			if natural/8 < n && natural%8 < n {
				z[n] = append(z[n], zig)
			}
		}
	}
	return z
}()

// idctScaled writes the n x n (n = 1, 2 or 4) reduced inverse DCT of the
// dequantized block b, level-shifted and clamped, to dst.
func idctScaled(b *block, n int, dst []byte, stride int) {
	switch n {
	case 1:
		// f = F(0,0)/8.
		dst[0] = clampLevel((b[0] + 4) >> 3)
	case 2:
		// With n = 2 every cosine is ±1/√2, so f_2 is exact in integers:
		// f(x,y) = (F00 ± F01 ± F10 ± F11) / 8.
		f00, f01, f10, f11 := b[0], b[1], b[8], b[9]
		r0p, r0m := f00+f01, f00-f01 // row v=0, at x=0 and x=1
		r1p, r1m := f10+f11, f10-f11 // row v=1
		dst[0] = clampLevel((r0p + r1p + 4) >> 3)
		dst[1] = clampLevel((r0m + r1m + 4) >> 3)
		dst[stride] = clampLevel((r0p - r1p + 4) >> 3)
		dst[stride+1] = clampLevel((r0m - r1m + 4) >> 3)
	case 4:
		// Rows first (only the four rows that hold kept frequencies), then
		// columns; int is 64 bits here, so hostile coefficients cannot
		// overflow the sums.
		var tmp [4][4]int
		for v := range 4 {
			row := b[8*v : 8*v+4 : 8*v+4]
			f0, f1, f2, f3 := int(row[0]), int(row[1]), int(row[2]), int(row[3])
			for x := range 4 {
				t := &idct4Table[x]
				tmp[v][x] = t[0]*f0 + t[1]*f1 + t[2]*f2 + t[3]*f3
			}
		}
		const shift = 2 * idctFracBits
		const round = 1 << (shift - 1)
		for y := range 4 {
			t := &idct4Table[y]
			o := dst[y*stride : y*stride+4 : y*stride+4]
			for x := range 4 {
				s := t[0]*tmp[0][x] + t[1]*tmp[1][x] + t[2]*tmp[2][x] + t[3]*tmp[3][x]
				o[x] = clampLevelInt((s + round) >> shift)
			}
		}
	default:
		panic("jpegdec: unsupported reduced IDCT size")
	}
}

// clampLevel level-shifts an IDCT output by +128 and clamps it to a byte.
func clampLevel(c int32) uint8 {
	if c < -128 {
		return 0
	}
	if c > 127 {
		return 255
	}
	return uint8(c + 128)
}

func clampLevelInt(c int) uint8 {
	if c < -128 {
		return 0
	}
	if c > 127 {
		return 255
	}
	return uint8(c + 128)
}
