// Package testimg makes the images that the photo tests and benchmarks need,
// in code, so that no binary fixture has to be committed: photo-like
// pictures, TIFF/EXIF blocks, and phone-style JPEGs that carry GPS tags, an
// orientation, XMP, a comment and an embedded thumbnail. Only tests import it.
package testimg

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"slices"
)

// Photo returns a w×h YCbCr 4:2:0 picture of smooth gradients and waves
// with sensor-like noise: it compresses like a real photo (about 3.5 MB for
// 12 megapixels at quality 90), unlike a flat or random test card.
func Photo(w, h int, seed uint64) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	waveX := make([]float64, w)
	for x := range waveX {
		waveX[x] = 40 * math.Sin(float64(x)*23/float64(w))
	}
	waveY := make([]float64, h)
	for y := range waveY {
		waveY[y] = 30 * math.Sin(float64(y)*11/float64(h))
	}
	for y := 0; y < h; y++ {
		row := m.Y[y*m.YStride : y*m.YStride+w]
		fy := float64(y) / float64(h)
		for x := range row {
			v := 50 + 130*fy*float64(x)/float64(w) + waveX[x] + waveY[y] + rng.NormFloat64()*6
			row[x] = clamp(v)
		}
	}
	cw, ch := (w+1)/2, (h+1)/2
	for y := 0; y < ch; y++ {
		for x := 0; x < cw; x++ {
			i := y*m.CStride + x
			m.Cb[i] = clamp(128 + 0.8*waveX[min(2*x, w-1)] + rng.NormFloat64()*3)
			m.Cr[i] = clamp(128 + 1.2*waveY[min(2*y, h-1)] + rng.NormFloat64()*3)
		}
	}
	return m
}

func clamp(v float64) uint8 {
	return uint8(max(0, min(255, math.Round(v))))
}

// EncodeJPEG encodes m with the standard library (no metadata at all).
func EncodeJPEG(m image.Image, quality int) []byte {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		panic(err) // encoding to memory fails only on a bug
	}
	return buf.Bytes()
}

// Order is a TIFF byte order: binary.LittleEndian ("II") or
// binary.BigEndian ("MM").
type Order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// TIFF types.
const (
	Byte      = 1
	ASCII     = 2
	Short     = 3
	Long      = 4
	Rational  = 5
	Undefined = 7
)

// Entry is one IFD entry. Value holds the value bytes in the block's byte
// order (use the Value helpers); when longer than 4 bytes it is stored after
// the IFDs and the entry points to it. When Blob is set instead, the blob is
// stored after the IFDs and the entry's LONG value is the blob's offset (as
// JPEGInterchangeFormat needs for a thumbnail).
type Entry struct {
	Tag   uint16
	Type  uint16
	Count uint32
	Value []byte
	Blob  []byte
}

// IFD is an image file directory with its sub-IFDs (by pointer tag, such as
// 0x8769 Exif or 0x8825 GPS) and the next IFD in the chain (IFD1).
type IFD struct {
	Entries []Entry
	Sub     map[uint16]*IFD
	Next    *IFD
}

// TIFF lays out a TIFF block: header, IFD0 at offset 8, then every other
// IFD, then the out-of-line values.
func TIFF(bo Order, ifd0 *IFD) []byte {
	var order []*IFD
	var visit func(*IFD)
	visit = func(d *IFD) {
		order = append(order, d)
		for _, tag := range sortedTags(d.Sub) {
			visit(d.Sub[tag])
		}
		if d.Next != nil {
			visit(d.Next)
		}
	}
	visit(ifd0)

	offset := map[*IFD]uint32{}
	pos := uint32(8)
	for _, d := range order {
		offset[d] = pos
		pos += 2 + 12*uint32(len(d.Entries)+len(d.Sub)) + 4
	}
	dataStart := pos

	out := make([]byte, 8, 1024)
	if bo == binary.LittleEndian {
		copy(out, "II")
	} else {
		copy(out, "MM")
	}
	bo.PutUint16(out[2:], 42)
	bo.PutUint32(out[4:], 8)
	var data []byte
	place := func(b []byte) uint32 {
		at := dataStart + uint32(len(data))
		data = append(data, b...)
		if len(data)%2 == 1 {
			data = append(data, 0)
		}
		return at
	}
	for _, d := range order {
		entries := slices.Clone(d.Entries)
		for _, tag := range sortedTags(d.Sub) {
			entries = append(entries, Entry{Tag: tag, Type: Long, Count: 1, Value: u32(bo, offset[d.Sub[tag]])})
		}
		slices.SortFunc(entries, func(a, b Entry) int { return int(a.Tag) - int(b.Tag) })
		out = bo.AppendUint16(out, uint16(len(entries)))
		for _, e := range entries {
			out = bo.AppendUint16(out, e.Tag)
			out = bo.AppendUint16(out, e.Type)
			out = bo.AppendUint32(out, e.Count)
			var field [4]byte
			switch {
			case e.Blob != nil:
				bo.PutUint32(field[:], place(e.Blob))
			case len(e.Value) > 4:
				bo.PutUint32(field[:], place(e.Value))
			default:
				copy(field[:], e.Value)
			}
			out = append(out, field[:]...)
		}
		next := uint32(0)
		if d.Next != nil {
			next = offset[d.Next]
		}
		out = bo.AppendUint32(out, next)
	}
	return append(out, data...)
}

func sortedTags(m map[uint16]*IFD) []uint16 {
	tags := make([]uint16, 0, len(m))
	for t := range m {
		tags = append(tags, t)
	}
	slices.Sort(tags)
	return tags
}

// Value helpers for Entry.Value.
func u32(bo Order, v uint32) []byte { return bo.AppendUint32(nil, v) }

// ShortEntry is a SHORT entry of count 1.
func ShortEntry(bo Order, tag, v uint16) Entry {
	return Entry{Tag: tag, Type: Short, Count: 1, Value: bo.AppendUint16(nil, v)}
}

// LongEntry is a LONG entry of count 1.
func LongEntry(bo Order, tag uint16, v uint32) Entry {
	return Entry{Tag: tag, Type: Long, Count: 1, Value: u32(bo, v)}
}

// ASCIIEntry is a NUL-terminated string entry.
func ASCIIEntry(tag uint16, s string) Entry {
	return Entry{Tag: tag, Type: ASCII, Count: uint32(len(s) + 1), Value: append([]byte(s), 0)}
}

// RationalsEntry is an entry of unsigned rationals given as num, den pairs.
func RationalsEntry(bo Order, tag uint16, numDen ...uint32) Entry {
	var v []byte
	for _, x := range numDen {
		v = bo.AppendUint32(v, x)
	}
	return Entry{Tag: tag, Type: Rational, Count: uint32(len(numDen) / 2), Value: v}
}

// The secrets a phone-style JPEG carries, for tests that prove none of them
// leaves the server.
const (
	GPSMarker   = "GPS-SECRET-37.7749N-122.4194W"
	CommentText = "COMMENT-SECRET shot at home"
	XMPText     = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="37,46.494N" photoshop:City="XMP-SECRET-City"/></rdf:RDF></x:xmpmeta>`
	MakeText    = "PhoneMaker"
	ModelText   = "PhoneModel 12 Pro"
)

// GPSLatitude and GPSLongitude are the rational payloads (degrees, minutes,
// seconds) of the GPS IFD, 24 bytes each once encoded.
var (
	GPSLatitude  = []uint32{37, 1, 46, 1, 29_64, 100}
	GPSLongitude = []uint32{122, 1, 25, 1, 9_84, 100}
)

// ExifBlock returns a phone-style EXIF TIFF block: IFD0 with make, model and
// orientation; an Exif IFD; a GPS IFD with latitude, longitude and a
// processing-method string; and IFD1 holding an embedded JPEG thumbnail.
func ExifBlock(bo Order, orientation uint16, thumbnail []byte) []byte {
	gps := &IFD{Entries: []Entry{
		{Tag: 0x0000, Type: Byte, Count: 4, Value: []byte{2, 3, 0, 0}}, // GPSVersionID
		ASCIIEntry(0x0001, "N"),
		RationalsEntry(bo, 0x0002, GPSLatitude...),
		ASCIIEntry(0x0003, "W"),
		RationalsEntry(bo, 0x0004, GPSLongitude...),
		{Tag: 0x001b, Type: Undefined, Count: uint32(len(GPSMarker)), Value: []byte(GPSMarker)}, // GPSProcessingMethod
	}}
	exifIFD := &IFD{Entries: []Entry{
		ASCIIEntry(0x9003, "2024:05:01 10:11:12"), // DateTimeOriginal
		ShortEntry(bo, 0xa002, 4000),              // PixelXDimension
	}}
	ifd1 := &IFD{Entries: []Entry{
		{Tag: 0x0201, Type: Long, Count: 1, Blob: thumbnail}, // JPEGInterchangeFormat
		LongEntry(bo, 0x0202, uint32(len(thumbnail))),        // JPEGInterchangeFormatLength
		ShortEntry(bo, 0x0112, 1),                            // the thumbnail's own orientation
	}}
	ifd0 := &IFD{
		Entries: []Entry{
			ASCIIEntry(0x010f, MakeText),
			ASCIIEntry(0x0110, ModelText),
			ShortEntry(bo, 0x0112, orientation),
		},
		Sub:  map[uint16]*IFD{0x8769: exifIFD, 0x8825: gps},
		Next: ifd1,
	}
	return TIFF(bo, ifd0)
}

// Segment returns a JPEG marker segment with its length.
func Segment(marker byte, payload []byte) []byte {
	s := []byte{0xff, marker, 0, 0}
	binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
	return append(s, payload...)
}

// InsertSegments puts segments right after the SOI marker of a JPEG file.
func InsertSegments(jpegFile []byte, segments ...[]byte) []byte {
	out := append([]byte(nil), jpegFile[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpegFile[2:]...)
}

// ExifSegment is the APP1 segment of an EXIF block.
func ExifSegment(tiff []byte) []byte {
	return Segment(0xe1, append([]byte("Exif\x00\x00"), tiff...))
}

// PhoneJPEG encodes m as a phone would: APP1 EXIF (orientation, GPS,
// thumbnail), APP1 XMP and a COM comment, in big-endian ("MM") TIFF order
// unless bo says otherwise.
func PhoneJPEG(m image.Image, quality int, orientation uint16, bo Order) []byte {
	thumb := EncodeJPEG(Photo(160, 120, 7), 70)
	xmp := append([]byte("http://ns.adobe.com/xap/1.0/\x00"), XMPText...)
	return InsertSegments(EncodeJPEG(m, quality),
		ExifSegment(ExifBlock(bo, orientation, thumb)),
		Segment(0xe1, xmp),
		Segment(0xfe, []byte(CommentText)),
	)
}

// WebPLossless encodes m as a lossless (VP8L) WebP file. To stay a few dozen
// lines it uses only "simple" prefix codes, so each of m's channels (R, G,
// B, A, not premultiplied) may take at most two values; it panics
// otherwise. Two-level pictures are all the tests need: markers, halves,
// transparency.
func WebPLossless(m image.Image) []byte {
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	pix := make([][4]uint8, 0, w*h)
	var values [4][]uint8 // distinct values per channel, in order of appearance
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(m.At(x, y)).(color.NRGBA)
			p := [4]uint8{c.G, c.R, c.B, c.A} // VP8L's code order
			for ch, v := range p {
				if !slices.Contains(values[ch], v) {
					values[ch] = append(values[ch], v)
				}
				if len(values[ch]) > 2 {
					panic("testimg: WebPLossless supports two values per channel")
				}
			}
			pix = append(pix, p)
		}
	}

	var bw bitWriter
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(1, 1) // alpha may be used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for ch := range 4 {
		vs := values[ch]
		bw.write(1, 1) // simple code
		bw.write(uint32(len(vs)-1), 1)
		bw.write(1, 1) // 8-bit first symbol
		for _, v := range vs {
			bw.write(uint32(v), 8)
		}
	}
	bw.write(1, 1) // distance code: simple, one symbol, 1-bit symbol 0
	bw.write(0, 1)
	bw.write(0, 1)
	bw.write(0, 1)
	for _, p := range pix {
		for ch, v := range p {
			if len(values[ch]) == 2 {
				bw.write(uint32(slices.Index(values[ch], v)), 1)
			}
		}
	}
	data := append([]byte{0x2f}, bw.bytes()...)

	chunk := append([]byte("VP8L"), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	chunk = append(chunk, data...)
	if len(data)%2 == 1 {
		chunk = append(chunk, 0)
	}
	out := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	out = append(out, "WEBP"...)
	return append(out, chunk...)
}

// bitWriter packs bits least significant first, as VP8L reads them.
type bitWriter struct {
	buf   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		return append(w.buf, byte(w.acc))
	}
	return w.buf
}

// PNGHeader returns the signature and IHDR chunk of an 8-bit RGBA PNG of
// w×h pixels: enough for a decoder to learn the size, nothing to decode.
func PNGHeader(w, h uint32) []byte { return PNGHeaderOf(w, h, 8, 6, 0) }

// PNGHeaderOf is PNGHeader with the bit depth, colour type (0 grey, 2 RGB,
// 3 palette, 4 grey+alpha, 6 RGBA) and interlace method (1 Adam7) given.
func PNGHeaderOf(w, h uint32, depth, colorType, interlace byte) []byte {
	ihdr := []byte("IHDR")
	ihdr = binary.BigEndian.AppendUint32(ihdr, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, depth, colorType, 0, 0, interlace)
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}
