package exif_test

import (
	"encoding/binary"
	"errors"
	"testing"

	"vo/internal/photo/exif"
	"vo/internal/photo/internal/testimg"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// plain is a small JPEG without any metadata, the carrier of every case.
var plain = testimg.EncodeJPEG(testimg.Photo(16, 16, 1), 80)

// withTIFF returns plain carrying tiff as its EXIF block.
func withTIFF(tiff []byte) []byte {
	return testimg.InsertSegments(plain, testimg.ExifSegment(tiff))
}

// simple is a TIFF block whose IFD0 holds only an orientation.
func simple(bo testimg.Order, o uint16) []byte {
	return testimg.TIFF(bo, &testimg.IFD{Entries: []testimg.Entry{testimg.ShortEntry(bo, 0x0112, o)}})
}

// patch32 returns a copy of b with a uint32 written at off.
func patch32(b []byte, bo binary.ByteOrder, off int, v uint32) []byte {
	c := append([]byte(nil), b...)
	bo.PutUint32(c[off:], v)
	return c
}

func TestOrientation(t *testing.T) {
	t.Parallel()
	thumb := testimg.EncodeJPEG(testimg.Photo(32, 24, 2), 60)
	xmp := testimg.Segment(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>"))
	cases := []struct {
		name string
		file []byte
		want int
	}{
		{"no EXIF", plain, 1},
		{"orientation 0 means upright", withTIFF(simple(le, 0)), 1},
		{"orientation 9 is out of range", withTIFF(simple(be, 9)), 1},
		{"no orientation tag", withTIFF(testimg.TIFF(le, &testimg.IFD{Entries: []testimg.Entry{testimg.ASCIIEntry(0x010f, "Maker")}})), 1},
		{"orientation as LONG", withTIFF(testimg.TIFF(be, &testimg.IFD{Entries: []testimg.Entry{testimg.LongEntry(be, 0x0112, 6)}})), 6},
		{"XMP segment first", testimg.InsertSegments(plain, xmp, testimg.ExifSegment(simple(le, 8))), 8},
		{"phone block, big-endian", withTIFF(testimg.ExifBlock(be, 6, thumb)), 6},
		{"phone block, little-endian", withTIFF(testimg.ExifBlock(le, 3, thumb)), 3},
		{"only the first EXIF segment counts", testimg.InsertSegments(plain,
			testimg.ExifSegment(simple(le, 5)), testimg.ExifSegment(simple(le, 7))), 5},
		{"IFD1's orientation is the thumbnail's", withTIFF(testimg.TIFF(le, &testimg.IFD{
			Entries: []testimg.Entry{testimg.ASCIIEntry(0x010f, "Maker")},
			Next:    &testimg.IFD{Entries: []testimg.Entry{testimg.ShortEntry(le, 0x0112, 6)}},
		})), 1},
		{"truncated file before EXIF", plain[:3], 1},
	}
	for o := uint16(1); o <= 8; o++ {
		cases = append(cases,
			struct {
				name string
				file []byte
				want int
			}{"little-endian " + string(rune('0'+o)), withTIFF(simple(le, o)), int(o)},
			struct {
				name string
				file []byte
				want int
			}{"big-endian " + string(rune('0'+o)), withTIFF(simple(be, o)), int(o)},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := exif.Orientation(c.file)
			if err != nil || got != c.want {
				t.Fatalf("Orientation = %d, %v; want %d, nil", got, err, c.want)
			}
		})
	}
}

func TestOrientationCorrupt(t *testing.T) {
	t.Parallel()
	good := simple(le, 6) // IFD0 at 8, one entry, next pointer at 8+2+12 = 22
	const nextPtr = 22
	chain := func(n int) *testimg.IFD {
		first := &testimg.IFD{Entries: []testimg.Entry{testimg.ShortEntry(le, 0x0112, 1)}}
		d := first
		for range n - 1 {
			d.Next = &testimg.IFD{Entries: []testimg.Entry{testimg.ASCIIEntry(0x010f, "x")}}
			d = d.Next
		}
		return first
	}
	withExifPointer := func(target uint32) []byte {
		return testimg.TIFF(be, &testimg.IFD{Entries: []testimg.Entry{
			testimg.ShortEntry(be, 0x0112, 6),
			testimg.LongEntry(be, 0x8769, target),
		}})
	}
	seg := testimg.ExifSegment(good)
	segmentPastEnd := append(append([]byte(nil), plain[:2]...), seg[:len(seg)-4]...)

	cases := map[string][]byte{
		"unknown byte order":           withTIFF(append([]byte("XX"), good[2:]...)),
		"bad magic":                    withTIFF(append(append([]byte(nil), good[:2]...), append([]byte{43, 0}, good[4:]...)...)),
		"TIFF header truncated":        withTIFF(good[:6]),
		"IFD0 offset past the end":     withTIFF(patch32(good, le, 4, 4000)),
		"IFD0 offset inside header":    withTIFF(patch32(good, le, 4, 4)),
		"IFD0 offset overflows":        withTIFF(patch32(good, le, 4, 0xffffffff)),
		"entries run past the end":     withTIFF(good[:8+2+6]),
		"entry count lies":             withTIFF(append(append(append([]byte(nil), good[:8]...), 0xff, 0x7f), good[10:]...)),
		"next IFD is itself":           withTIFF(patch32(good, le, nextPtr, 8)),
		"next IFD past the end":        withTIFF(patch32(good, le, nextPtr, 1<<20)),
		"Exif IFD points back":         withTIFF(withExifPointer(8)),
		"Exif IFD offset out of range": withTIFF(withExifPointer(0x7fffffff)),
		"two IFDs in a cycle": withTIFF(func() []byte {
			b := testimg.TIFF(le, chain(2)) // IFD0 at 8 (1 entry), IFD1 at 26 (1 entry)
			return patch32(b, le, 26+2+12, 8)
		}()),
		"too many IFDs": withTIFF(testimg.TIFF(le, chain(20))),
		"orientation is ASCII": withTIFF(testimg.TIFF(le, &testimg.IFD{Entries: []testimg.Entry{
			{Tag: 0x0112, Type: testimg.ASCII, Count: 1, Value: []byte("6")}}})),
		"orientation count 2": withTIFF(testimg.TIFF(le, &testimg.IFD{Entries: []testimg.Entry{
			{Tag: 0x0112, Type: testimg.Short, Count: 2, Value: []byte{6, 0, 6, 0}}}})),
		"IFD pointer is a SHORT": withTIFF(testimg.TIFF(le, &testimg.IFD{Entries: []testimg.Entry{
			testimg.ShortEntry(le, 0x8825, 8)}})),
		"segment runs past the end of the file": segmentPastEnd,
	}
	for name, file := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := exif.Orientation(file)
			if !errors.Is(err, exif.ErrCorrupt) {
				t.Fatalf("Orientation = %d, %v; want ErrCorrupt", got, err)
			}
			t.Log(err)
		})
	}
}

func TestOrientationNotJPEG(t *testing.T) {
	t.Parallel()
	for _, b := range [][]byte{nil, {0xff}, []byte("\x89PNG\r\n\x1a\n"), []byte("GIF89a")} {
		if _, err := exif.Orientation(b); !errors.Is(err, exif.ErrNotJPEG) {
			t.Errorf("Orientation(%q) error = %v; want ErrNotJPEG", b, err)
		}
	}
}

// FuzzOrientation checks that no input panics, hangs or yields a value
// outside 1..8 without an error.
func FuzzOrientation(f *testing.F) {
	thumb := testimg.EncodeJPEG(testimg.Photo(16, 16, 3), 50)
	f.Add(plain)
	f.Add(withTIFF(simple(le, 6)))
	f.Add(withTIFF(simple(be, 8)))
	f.Add(withTIFF(testimg.ExifBlock(be, 5, thumb)))
	f.Add(withTIFF(testimg.ExifBlock(le, 2, thumb)))
	f.Add(withTIFF(patch32(simple(le, 6), le, 22, 8)))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := exif.Orientation(b)
		if err == nil && (o < 1 || o > 8) {
			t.Fatalf("Orientation = %d without error", o)
		}
	})
}
