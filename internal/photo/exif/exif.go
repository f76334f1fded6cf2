// Package exif reads the one EXIF fact Virtual Office needs from an uploaded
// JPEG: its orientation, so that photos taken with a turned phone are shown
// upright. Everything else in EXIF (GPS, camera, thumbnails) is thrown away
// by re-encoding, so it is never interpreted here.
//
// The reader is hand-written for untrusted input: it only looks at bytes it
// has bounds-checked, follows at most maxIFDs IFDs, refuses IFD loops, and
// allocates nothing that grows with the input. A structurally broken EXIF
// block is reported as ErrCorrupt rather than guessed around, because a file
// with lying offsets is more likely an attack than a photo.
package exif

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by every error about a malformed EXIF block.
var ErrCorrupt = errors.New("corrupt EXIF block")

// ErrNotJPEG is returned for input that does not start with a JPEG SOI marker.
var ErrNotJPEG = errors.New("not a JPEG file")

// maxIFDs bounds the IFDs followed in one block. A photo has at most five
// (IFD0, IFD1, Exif, GPS, Interoperability); the margin is for vendors.
const maxIFDs = 16

// TIFF tags and types used below.
const (
	tagOrientation = 0x0112
	tagExifIFD     = 0x8769
	tagGPSIFD      = 0x8825
	tagInteropIFD  = 0xa005

	typeShort = 3
	typeLong  = 4
	typeIFD   = 13
)

// JPEG markers that end the header segments or stand alone without a length.
const (
	markerSOI  = 0xd8
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerAPP1 = 0xe1
	markerTEM  = 0x01
	markerRST0 = 0xd0
	markerRST7 = 0xd7
)

// Orientation returns the EXIF orientation of a JPEG file, 1 to 8 as defined
// by the TIFF/EXIF "Orientation" tag (1 is upright). It returns 1 when the
// file has no EXIF block, no orientation tag, or a value outside 1..8
// (some cameras write 0 for "unknown"; browsers and libjpeg-based tools treat
// it as upright too).
//
// Only the first APP1 segment that starts with "Exif\0" counts, as in
// libexif and browsers. Returns an error wrapping ErrCorrupt when that
// segment is malformed, and ErrNotJPEG when jpeg is not a JPEG. Segments
// that cannot be walked for other reasons (a truncated file) yield 1 and no
// error: reporting those is the image decoder's job.
func Orientation(jpeg []byte) (int, error) {
	if len(jpeg) < 2 || jpeg[0] != 0xff || jpeg[1] != markerSOI {
		return 0, ErrNotJPEG
	}
	pos := 2
	for {
		// Each segment: 0xFF fill bytes, a marker byte, then for most
		// markers a big-endian length that counts itself.
		if pos >= len(jpeg) || jpeg[pos] != 0xff {
			return 1, nil
		}
		for pos < len(jpeg) && jpeg[pos] == 0xff {
			pos++
		}
		if pos >= len(jpeg) {
			return 1, nil
		}
		marker := jpeg[pos]
		pos++
		switch {
		case marker == markerSOS || marker == markerEOI:
			// EXIF must precede the image data.
			return 1, nil
		case marker == markerTEM || (markerRST0 <= marker && marker <= markerRST7):
			continue
		}
		if pos+2 > len(jpeg) {
			return 1, nil
		}
		length := int(binary.BigEndian.Uint16(jpeg[pos:]))
		if length < 2 {
			return 1, nil
		}
		start, end := pos+2, pos+length
		if marker == markerAPP1 && hasExifHeader(jpeg[start:min(end, len(jpeg))]) {
			if end > len(jpeg) {
				return 0, fmt.Errorf("%w: segment runs past the end of the file", ErrCorrupt)
			}
			return orientationFromTIFF(jpeg[start+6 : end])
		}
		if end > len(jpeg) {
			return 1, nil
		}
		pos = end
	}
}

// hasExifHeader reports whether an APP1 payload is EXIF ("Exif\0" and a pad
// byte) rather than, say, XMP.
func hasExifHeader(p []byte) bool {
	return len(p) >= 6 && string(p[:5]) == "Exif\x00"
}

// orientationFromTIFF validates the IFD structure of a TIFF block and returns
// the orientation found in IFD0.
func orientationFromTIFF(t []byte) (int, error) {
	if len(t) < 8 {
		return 0, fmt.Errorf("%w: TIFF header is truncated", ErrCorrupt)
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0, fmt.Errorf("%w: unknown byte order %q", ErrCorrupt, t[:2])
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0, fmt.Errorf("%w: bad TIFF magic number", ErrCorrupt)
	}

	orientation := 1
	// queue holds IFD offsets still to read, IFD0 first. Offsets are uint32
	// from the file, compared as uint64 so that no addition can overflow.
	queue := []uint32{bo.Uint32(t[4:])}
	visited := make(map[uint32]bool, maxIFDs)
	for i := 0; len(queue) > 0; i++ {
		off := queue[0]
		queue = queue[1:]
		if visited[off] {
			return 0, fmt.Errorf("%w: IFD at offset %d is reached twice (a loop)", ErrCorrupt, off)
		}
		visited[off] = true

		// An IFD can neither overlap the 8-byte header nor start past the
		// end; its 2-byte entry count and 12-byte entries must fit.
		if off < 8 || uint64(off)+2 > uint64(len(t)) {
			return 0, fmt.Errorf("%w: IFD offset %d out of range", ErrCorrupt, off)
		}
		n := uint64(bo.Uint16(t[off:]))
		entries := uint64(off) + 2
		if entries+12*n > uint64(len(t)) {
			return 0, fmt.Errorf("%w: IFD at offset %d has %d entries past the end", ErrCorrupt, off, n)
		}
		for e := uint64(0); e < n; e++ {
			entry := t[entries+12*e : entries+12*e+12]
			tag, typ, count := bo.Uint16(entry), bo.Uint16(entry[2:]), bo.Uint32(entry[4:])
			switch tag {
			case tagOrientation:
				if i != 0 {
					// IFD1's orientation describes the thumbnail.
					continue
				}
				v, err := shortOrLong(bo, typ, count, entry[8:])
				if err != nil {
					return 0, fmt.Errorf("%w: orientation tag: %v", ErrCorrupt, err)
				}
				if 1 <= v && v <= 8 {
					orientation = int(v)
				}
			case tagExifIFD, tagGPSIFD, tagInteropIFD:
				if typ != typeLong && typ != typeIFD || count != 1 {
					return 0, fmt.Errorf("%w: IFD pointer tag %#04x has type %d, count %d", ErrCorrupt, tag, typ, count)
				}
				if err := push(&queue, len(visited), bo.Uint32(entry[8:])); err != nil {
					return 0, err
				}
			}
		}
		// The next-IFD pointer follows the entries; writers of the last IFD
		// sometimes leave it out, which is harmless.
		if next := entries + 12*n; next+4 <= uint64(len(t)) {
			if p := bo.Uint32(t[next:]); p != 0 {
				if err := push(&queue, len(visited), p); err != nil {
					return 0, err
				}
			}
		}
	}
	return orientation, nil
}

// push queues an IFD offset, refusing more than maxIFDs in all so that a
// block full of pointer tags cannot make the queue grow with the input.
func push(queue *[]uint32, seen int, off uint32) error {
	if seen+len(*queue) >= maxIFDs {
		return fmt.Errorf("%w: more than %d IFDs", ErrCorrupt, maxIFDs)
	}
	*queue = append(*queue, off)
	return nil
}

// shortOrLong returns an inline SHORT or LONG value of count 1.
func shortOrLong(bo binary.ByteOrder, typ uint16, count uint32, value []byte) (uint32, error) {
	if count != 1 {
		return 0, fmt.Errorf("count %d", count)
	}
	switch typ {
	case typeShort:
		return uint32(bo.Uint16(value)), nil
	case typeLong:
		return bo.Uint32(value), nil
	}
	return 0, fmt.Errorf("type %d", typ)
}
