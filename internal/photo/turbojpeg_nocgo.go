//go:build !cgo

package photo

import (
	"bytes"
	"image"
	"image/jpeg"
)

// decodeJPEG, in a build without cgo, decodes at full size through
// image/jpeg (about twice the CPU time of the libjpeg-turbo build for a
// phone photo; render shrinks it in YCbCr first).
func decodeJPEG(data []byte, minSide int) (image.Image, error) {
	return jpeg.Decode(bytes.NewReader(data))
}
