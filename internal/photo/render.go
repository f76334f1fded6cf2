package photo

import (
	"image"
	"image/color"
	"image/draw"
)

// render turns a decoded image into the stored sizes: centre square of the
// upright picture, resized with Catmull-Rom, flattened onto white (JPEG has
// no transparency), encoded.
//
// The EXIF orientation is applied to the 512-pixel square rather than to the
// full image: squareCrop picks the source pixels that form the centre square
// of the upright picture, and turning or mirroring commutes with scaling, so
// the result is the same as rotating first while touching 512² pixels
// instead of millions.
func render(d decoded, orientation int) (*Processed, error) {
	src := d.img
	crop := squareCrop(d.canvas, orientation)
	if src.Bounds() != d.canvas {
		src = framed{Image: src, canvas: d.canvas}
	}
	var square *image.RGBA
	if k := crop.Dx() / largest; k >= 2 {
		// Resampling cost grows with the source, so big sources are first
		// box-averaged by an integer factor to between 1 and 2 times the
		// target, the way libvips splits shrink and reduce. A JPEG is
		// averaged in YCbCr, before any conversion to RGB.
		if m, ok := src.(*image.YCbCr); ok {
			square = boxShrinkYCbCr(m, crop, k)
		} else {
			square = boxShrink(src, crop, k)
		}
	} else {
		square = image.NewRGBA(image.Rect(0, 0, crop.Dx(), crop.Dy()))
		draw.Draw(square, square.Rect, src, crop.Min, draw.Src)
	}

	opaque := isOpaqueType(d.img)
	big := resample(square, largest, largest, opaque)
	if !opaque {
		flattenOnWhite(big)
	}
	big = orient(big, orientation)

	images := make(map[int][]byte, len(Sizes))
	for _, size := range Sizes {
		m := big
		if size != largest {
			m = resample(big, size, size, true) // flattened: opaque
		}
		b, err := encodeJPEG(m)
		if err != nil {
			return nil, err
		}
		images[size] = b
	}
	return &Processed{Hash: hashOf(images), Images: images}, nil
}

// isOpaqueType reports whether every image of src's type is opaque, so that
// flattening can be skipped.
func isOpaqueType(src image.Image) bool {
	switch src.(type) {
	case *image.YCbCr, *image.Gray, *image.Gray16, *image.CMYK:
		return true
	}
	return false
}

// The eight EXIF orientations, described as the steps that map a pixel of
// the upright picture back to the stored one: swap the axes (transpose),
// then mirror the stored x and/or y axis.
func transposes(o int) bool { return o >= 5 && o <= 8 }
func flipsX(o int) bool     { return o == 2 || o == 3 || o == 7 || o == 8 }
func flipsY(o int) bool     { return o == 3 || o == 4 || o == 6 || o == 7 }

// squareCrop returns, in stored coordinates, the square of the stored image
// that becomes the centre square of the upright picture. For an odd margin
// the upright picture's centre rounds up and left, whatever the orientation.
func squareCrop(canvas image.Rectangle, o int) image.Rectangle {
	w, h := canvas.Dx(), canvas.Dy()
	s := min(w, h)
	uw, uh := w, h // upright size
	if transposes(o) {
		uw, uh = h, w
	}
	ux, uy := (uw-s)/2, (uh-s)/2 // crop origin in upright coordinates
	x, y := ux, uy
	if transposes(o) {
		x, y = uy, ux
	}
	if flipsX(o) {
		x = w - s - x
	}
	if flipsY(o) {
		y = h - s - y
	}
	return image.Rect(x, y, x+s, y+s).Add(canvas.Min)
}

// orient turns a square stored image upright by EXIF orientation o.
func orient(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	n := m.Rect.Dx()
	out := image.NewRGBA(image.Rect(0, 0, n, n))
	for uy := 0; uy < n; uy++ {
		for ux := 0; ux < n; ux++ {
			x, y := ux, uy
			if transposes(o) {
				x, y = uy, ux
			}
			if flipsX(o) {
				x = n - 1 - x
			}
			if flipsY(o) {
				y = n - 1 - y
			}
			si := m.PixOffset(x+m.Rect.Min.X, y+m.Rect.Min.Y)
			di := out.PixOffset(ux, uy)
			copy(out.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return out
}

// framed shows a GIF's first frame on its logical screen: transparent
// (hence white once flattened) where the frame does not reach.
type framed struct {
	image.Image
	canvas image.Rectangle
}

func (f framed) Bounds() image.Rectangle { return f.canvas }

func (f framed) At(x, y int) color.Color { return f.RGBA64At(x, y) }

func (f framed) RGBA64At(x, y int) color.RGBA64 {
	if !(image.Point{X: x, Y: y}).In(f.Image.Bounds()) {
		return color.RGBA64{}
	}
	r, g, b, a := f.Image.At(x, y).RGBA()
	return color.RGBA64{R: uint16(r), G: uint16(g), B: uint16(b), A: uint16(a)}
}

// boxShrink averages each k×k block of r in src into one pixel of a new
// premultiplied RGBA image of (r.Dx()/k)×(r.Dy()/k); the few pixels of r
// past a multiple of k are dropped (under 0.2% of a side). Averaging in
// premultiplied space keeps transparent pixels from bleeding their colour.
func boxShrink(src image.Image, r image.Rectangle, k int) *image.RGBA {
	ow, oh := r.Dx()/k, r.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	row := make([]uint8, 4*ow*k)
	acc := make([]uint32, 4*ow)
	load := rowLoader(src)
	div := uint32(k * k)
	for oy := 0; oy < oh; oy++ {
		clear(acc)
		for ky := 0; ky < k; ky++ {
			load(row, r.Min.X, r.Min.Y+oy*k+ky)
			for ox := 0; ox < ow; ox++ {
				a := acc[4*ox : 4*ox+4 : 4*ox+4]
				p := row[4*ox*k : 4*(ox+1)*k]
				for i := 0; i < len(p); i += 4 {
					a[0] += uint32(p[i])
					a[1] += uint32(p[i+1])
					a[2] += uint32(p[i+2])
					a[3] += uint32(p[i+3])
				}
			}
		}
		dst := out.Pix[oy*out.Stride : oy*out.Stride+4*ow]
		for i, v := range acc {
			dst[i] = uint8((v + div/2) / div)
		}
	}
	return out
}

// boxShrinkYCbCr is boxShrink for a decoded JPEG: it averages each k×k
// block's Y samples and the chroma samples under them, then converts one
// pixel per block to RGB. The conversion is linear, so this is the average
// of the block's RGB pixels up to rounding, at a fraction of the cost: a
// 12-megapixel photo's crop is 9 million pixels, its output 360,000.
//
// A subsampled chroma sample lies under several luma samples of a block, so
// instead of reading it once per luma sample, each block's chroma is summed
// over the distinct samples it covers, each weighted by how many luma
// samples lie over it (runs, made once per column and per row of blocks).
// The sums are the same integers; a 4:2:0 block of 5×5 reads 9 chroma
// samples of each plane instead of 25.
func boxShrinkYCbCr(m *image.YCbCr, r image.Rectangle, k int) *image.RGBA {
	ow, oh := r.Dx()/k, r.Dy()/k
	out := image.NewRGBA(image.Rect(0, 0, ow, oh))
	cols := chromaRuns(ow, k, func(x int) int {
		return m.COffset(r.Min.X+x, r.Min.Y) - m.COffset(r.Min.X, r.Min.Y)
	})
	cw := cols.index[len(cols.index)-1] + 1 // chroma columns under the crop
	// Each row of blocks is summed in two steps: its k rows into one row of
	// column sums (a tight loop over contiguous bytes), then each block's k
	// column sums into one.
	colY := make([]uint32, ow*k)
	colCb, colCr := make([]uint32, cw), make([]uint32, cw)
	div := uint32(k * k)
	for oy := 0; oy < oh; oy++ {
		clear(colY)
		clear(colCb)
		clear(colCr)
		y0 := r.Min.Y + oy*k
		for ky := 0; ky < k; ky++ {
			yrow := m.Y[m.YOffset(r.Min.X, y0+ky):][:len(colY)]
			for i, v := range yrow {
				colY[i] += uint32(v)
			}
		}
		rows := chromaRuns(1, k, func(ky int) int { return m.COffset(r.Min.X, y0+ky) })
		for i, c0 := range rows.index {
			rc := rows.count[i]
			cb, cr := m.Cb[c0:][:cw], m.Cr[c0:][:cw]
			for j, v := range cb {
				colCb[j] += rc * uint32(v)
			}
			for j, v := range cr {
				colCr[j] += rc * uint32(v)
			}
		}
		dst := out.Pix[oy*out.Stride : oy*out.Stride+4*ow]
		for ox := range ow {
			var sy, scb, scr uint32
			for _, v := range colY[ox*k : (ox+1)*k] {
				sy += v
			}
			for j := cols.offset[ox]; j < cols.offset[ox+1]; j++ {
				c, n := cols.index[j], cols.count[j]
				scb += n * colCb[c]
				scr += n * colCr[c]
			}
			rr, g, b := color.YCbCrToRGB(uint8((sy+div/2)/div), uint8((scb+div/2)/div), uint8((scr+div/2)/div))
			dst[4*ox], dst[4*ox+1], dst[4*ox+2], dst[4*ox+3] = rr, g, b, 0xff
		}
	}
	return out
}

// runs lists, for each of n blocks of k samples, the distinct chroma
// positions under the block and how many samples lie over each:
// block b's are index[offset[b]:offset[b+1]] and count[...].
type runs struct {
	offset []int
	index  []int
	count  []uint32
}

// chromaRuns makes the runs of n consecutive blocks of k samples, where
// at(i) is the chroma position under sample i (non-decreasing in i).
func chromaRuns(n, k int, at func(int) int) runs {
	rs := runs{offset: make([]int, 1, n+1)}
	for b := 0; b < n; b++ {
		for i := b * k; i < (b+1)*k; i++ {
			c := at(i)
			if last := len(rs.index) - 1; last >= rs.offset[b] && rs.index[last] == c {
				rs.count[last]++
				continue
			}
			rs.index = append(rs.index, c)
			rs.count = append(rs.count, 1)
		}
		rs.offset = append(rs.offset, len(rs.index))
	}
	return rs
}

// rowLoader returns a function that writes len(dst)/4 pixels of row y of
// src, from x0 rightwards, into dst as premultiplied 8-bit RGBA. The common
// decoder outputs get loops without per-pixel interface calls.
func rowLoader(src image.Image) func(dst []uint8, x0, y int) {
	switch m := src.(type) {
	case *image.RGBA:
		return func(dst []uint8, x0, y int) {
			i := m.PixOffset(x0, y)
			copy(dst, m.Pix[i:i+len(dst)])
		}
	case *image.NRGBA:
		return func(dst []uint8, x0, y int) {
			i := m.PixOffset(x0, y)
			s := m.Pix[i : i+len(dst)]
			for j := 0; j < len(dst); j += 4 {
				a := uint32(s[j+3])
				dst[j] = uint8((uint32(s[j])*a + 127) / 255)
				dst[j+1] = uint8((uint32(s[j+1])*a + 127) / 255)
				dst[j+2] = uint8((uint32(s[j+2])*a + 127) / 255)
				dst[j+3] = uint8(a)
			}
		}
	case *image.Paletted:
		var pal [256][4]uint8
		for i, c := range m.Palette {
			r, g, b, a := c.RGBA()
			pal[i] = [4]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
		}
		return func(dst []uint8, x0, y int) {
			i := m.PixOffset(x0, y)
			for j, idx := range m.Pix[i : i+len(dst)/4] {
				copy(dst[4*j:4*j+4], pal[idx][:])
			}
		}
	case *image.YCbCr:
		return func(dst []uint8, x0, y int) {
			for j := 0; j < len(dst)/4; j++ {
				yi, ci := m.YOffset(x0+j, y), m.COffset(x0+j, y)
				r, g, b := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[4*j], dst[4*j+1], dst[4*j+2], dst[4*j+3] = r, g, b, 0xff
			}
		}
	}
	rgba64, ok := src.(image.RGBA64Image)
	return func(dst []uint8, x0, y int) {
		for j := 0; j < len(dst)/4; j++ {
			var c color.RGBA64
			if ok {
				c = rgba64.RGBA64At(x0+j, y)
			} else {
				r, g, b, a := src.At(x0+j, y).RGBA()
				c = color.RGBA64{R: uint16(r), G: uint16(g), B: uint16(b), A: uint16(a)}
			}
			dst[4*j], dst[4*j+1], dst[4*j+2], dst[4*j+3] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8), uint8(c.A>>8)
		}
	}
}
