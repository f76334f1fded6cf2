package photo

import (
	"fmt"
	"image"
	"image/color"
	"io"
)

// jpegFrame is what a JPEG's frame header (SOFn) says about the picture.
type jpegFrame struct {
	width, height int
	progressive   bool
	// samples is the number of samples the decoder keeps per pixel, summed
	// over the components: 1 for grey, 1.5 for 4:2:0 colour, 3 for 4:4:4.
	samples float64
	// planar is true for three or four components all at full resolution:
	// the layouts that image/jpeg may convert to an RGBA or CMYK image of
	// its own (RGB and Adobe CMYK/YCCK files), on top of its planes.
	planar bool
}

// readJPEGFrame walks a JPEG's markers up to its frame header, without
// reading any entropy-coded data: image/jpeg's DecodeConfig reads on to
// the first scan for the colour transform, so a file cut after a header
// announcing 65,535 × 65,535 pixels would be "truncated" instead of too
// large, and that limit is judged from the header alone (SPEC §7).
func readJPEGFrame(data []byte) (jpegFrame, error) {
	var f jpegFrame
	if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
		return f, fmt.Errorf("missing SOI marker")
	}
	i := 2
	for {
		// Any bytes before a marker's 0xff are skipped, as image/jpeg
		// does, and so are fill bytes (B.1.1.2).
		for i < len(data) && data[i] != 0xff {
			i++
		}
		for i < len(data) && data[i] == 0xff {
			i++
		}
		if i >= len(data) {
			return f, io.ErrUnexpectedEOF
		}
		marker := data[i]
		i++
		// The walk must find the frame that image/jpeg will decode, or a
		// small decoy could stand in for a huge one: so it skips what
		// image/jpeg skips (a stuffed 0xff00, restart markers) and stops
		// where it stops.
		switch {
		case marker == 0x00 || marker >= 0xd0 && marker <= 0xd7:
			continue // no length, no payload
		case marker == 0xd8 || marker == 0xd9 || marker == 0xda:
			return f, fmt.Errorf("no frame header before the image data")
		case marker >= 0xc3 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc:
			return f, fmt.Errorf("unsupported coding process (SOF%d)", marker-0xc0)
		}
		if i+2 > len(data) {
			return f, io.ErrUnexpectedEOF
		}
		n := int(data[i])<<8 | int(data[i+1])
		if n < 2 {
			return f, fmt.Errorf("segment length %d", n)
		}
		if i+n > len(data) {
			return f, io.ErrUnexpectedEOF
		}
		seg := data[i+2 : i+n]
		i += n
		// SOF0-SOF2: baseline, extended sequential, progressive; the only
		// frames image/jpeg decodes.
		if marker < 0xc0 || marker > 0xc2 {
			continue
		}
		if len(seg) < 6 || len(seg) < 6+3*int(seg[5]) || seg[5] == 0 {
			return f, fmt.Errorf("malformed frame header")
		}
		f.height = int(seg[1])<<8 | int(seg[2])
		f.width = int(seg[3])<<8 | int(seg[4])
		f.progressive = marker == 0xc2
		comps := seg[6 : 6+3*int(seg[5])]
		hmax, vmax := 1, 1
		for c := 0; c < len(comps); c += 3 {
			hmax, vmax = max(hmax, int(comps[c+1]>>4)), max(vmax, int(comps[c+1]&15))
		}
		f.planar = len(comps)/3 >= 3
		for c := 0; c < len(comps); c += 3 {
			h, v := int(comps[c+1]>>4), int(comps[c+1]&15)
			f.samples += float64(h*v) / float64(hmax*vmax)
			f.planar = f.planar && h == hmax && v == vmax
		}
		return f, nil
	}
}

// colorModel is the colour model image/jpeg decodes a frame to, as far
// as the frame header tells.
func (f jpegFrame) colorModel() color.Model {
	switch {
	case f.samples <= 1:
		return color.GrayModel
	case f.planar:
		return color.RGBAModel
	}
	return color.YCbCrModel
}

// decodeBytes estimates, from the header alone, how much memory decoding
// an image takes at its peak: the decoded picture and what the decoder
// keeps beside it. It is what a decode is charged against the Processor's
// budget, so it errs on the high side.
func decodeBytes(typ string, data []byte, cfg image.Config) int64 {
	pixels := float64(cfg.Width) * float64(cfg.Height)
	var perPixel float64
	switch typ {
	case TypeJPEG:
		f, err := readJPEGFrame(data)
		if err != nil {
			return int64(pixels * 4) // decodeConfig read this header already
		}
		perPixel = f.samples // the planes, 8 bits a sample
		if f.progressive {
			perPixel += 4 * f.samples // an int32 coefficient per sample, kept until the end
		}
		if f.planar {
			perPixel += 4 // RGBA or CMYK converted from the planes
		}
	case TypePNG:
		perPixel = bytesPerPixel(cfg.ColorModel)
		// An interlaced PNG's seven passes are decoded into images of
		// their own, then copied into the whole.
		if len(data) > 28 && data[28] == 1 {
			perPixel *= 2
		}
	case TypeGIF:
		perPixel = 1 // the first frame, at most the logical screen
	case TypeWebP:
		perPixel = bytesPerPixel(cfg.ColorModel)
		if cfg.ColorModel == color.NRGBAModel {
			perPixel += 4 // lossless: the decoder's own ARGB pixels too
		}
	}
	return int64(pixels * perPixel)
}

// bytesPerPixel is the size of one pixel of the image type that the
// standard and x/image decoders return for colour model m.
func bytesPerPixel(m color.Model) float64 {
	switch m {
	case color.GrayModel:
		return 1
	case color.Gray16Model:
		return 2
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel:
		return 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	case color.YCbCrModel:
		return 1.5 // 4:2:0, the only layout VP8 has
	case color.NYCbCrAModel:
		return 2.5
	}
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	return 8 // unknown: as much as the widest
}
