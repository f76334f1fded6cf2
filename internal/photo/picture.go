package photo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	"vo/internal/apperr"
	"vo/internal/photo/exif"
)

// The sides of a picture (a chat attachment, SPEC §8): the stored image
// fits in PictureSide pixels, enough for any screen it is looked at on,
// and its preview in PreviewSide.
const (
	PictureSide = 2048
	PreviewSide = 256
)

// Picture is an image attachment as stored: upright, at most PictureSide
// pixels a side, re-encoded so that no metadata of the upload survives
// (as a photo's sizes), with a JPEG preview.
type Picture struct {
	// Type is TypeJPEG for an opaque picture (a JPEG or lossy WebP),
	// TypePNG for one that may have transparency (a PNG, GIF or lossless
	// WebP), which PNG keeps.
	Type          string
	Data          []byte
	Width, Height int
	// Preview is a JPEG of at most PreviewSide pixels a side, flattened
	// onto white.
	Preview []byte
}

// Sniff returns the media type that data's signature shows among the
// four this package decodes, or "" for any other file.
func Sniff(data []byte) string { return sniff(data) }

// Picture converts an image whose type Sniff found. Returns
// UnsupportedMediaType when the bytes do not decode as that type, Invalid
// when the header announces more than MaxPixels or more memory than the
// budget, as Process does.
func (p *Processor) Picture(ctx context.Context, data []byte) (*Picture, error) {
	typ := sniff(data)
	if typ == "" {
		return nil, apperr.New(apperr.UnsupportedMediaType, "photo: the file is not a JPEG, PNG, WebP or GIF image")
	}
	cfg, orientation, release, err := p.admit(ctx, data, typ)
	if err != nil {
		return nil, err
	}
	defer release()
	// A JPEG decodes at the smallest DCT scale that still covers the
	// stored size along the shorter side.
	short, long := min(cfg.Width, cfg.Height), max(cfg.Width, cfg.Height)
	minSide := short
	if long > PictureSide {
		minSide = (PictureSide*short + long - 1) / long
	}
	d, err := decodeAt(typ, data, cfg, minSide)
	if err != nil {
		return nil, err
	}
	return renderPicture(d, typ, orientation)
}

// admit checks an image's header and waits for a decode slot and the
// memory its decoding takes; release gives them back.
func (p *Processor) admit(ctx context.Context, data []byte, typ string) (cfg image.Config, orientation int, release func(), err error) {
	cfg, err = decodeConfig(typ, data)
	if err != nil {
		return cfg, 0, nil, err
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, 0, nil, apperr.New(apperr.UnsupportedMediaType, "photo: the image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return cfg, 0, nil, apperr.New(apperr.Invalid, "photo: %d×%d pixels is more than the %d megapixels allowed",
			cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	orientation = 1
	if typ == TypeJPEG {
		if orientation, err = exif.Orientation(data); err != nil {
			return cfg, 0, nil, apperr.New(apperr.UnsupportedMediaType, "photo: %v", err)
		}
	}
	need := decodeBytes(typ, data, cfg)
	if need > p.budget {
		return cfg, 0, nil, apperr.New(apperr.Invalid, "photo: decoding this %d×%d %s would take about %d MB, more than the %d MB allowed; save it with 8 bits per channel or fewer pixels",
			cfg.Width, cfg.Height, typeName[typ], need/1_000_000, p.budget/1_000_000)
	}
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return cfg, 0, nil, ctx.Err()
	}
	// Memory is taken after a slot, so that the uploads waiting for a CPU
	// hold none of it.
	if err := p.memory.Acquire(ctx, need); err != nil {
		<-p.slots
		return cfg, 0, nil, err
	}
	done := func() {}
	if p.decoding != nil {
		done = p.decoding(need)
	}
	return cfg, orientation, func() {
		done()
		p.memory.Release(need)
		<-p.slots
	}, nil
}

// fit scales w×h down to fit in side×side, keeping its proportions and at
// least one pixel a side.
func fit(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, (h*side+w/2)/w)
	}
	return max(1, (w*side+h/2)/h), side
}

// renderPicture shrinks a decoded image to the stored size and its
// preview, turns both upright and encodes them.
func renderPicture(d decoded, typ string, orientation int) (*Picture, error) {
	src := d.img
	if src.Bounds() != d.canvas {
		src = framed{Image: src, canvas: d.canvas}
	}
	w, h := d.canvas.Dx(), d.canvas.Dy()
	tw, th := fit(w, h, PictureSide)
	var base *image.RGBA
	if k := min(w/tw, h/th); k >= 2 {
		if m, ok := src.(*image.YCbCr); ok {
			base = boxShrinkYCbCr(m, d.canvas, k)
		} else {
			base = boxShrink(src, d.canvas, k)
		}
	} else {
		base = image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(base, base.Rect, src, d.canvas.Min, draw.Src)
	}
	// libjpeg-turbo decodes to RGBA, yet a JPEG has no transparency.
	opaque := typ == TypeJPEG || isOpaqueType(d.img)
	big := base
	if base.Rect.Dx() != tw || base.Rect.Dy() != th {
		big = resample(base, tw, th, opaque)
	}
	big = orientRect(big, orientation)

	pw, ph := fit(big.Rect.Dx(), big.Rect.Dy(), PreviewSide)
	small := resample(big, pw, ph, opaque)
	if !opaque {
		flattenOnWhite(small)
	}
	preview, err := encodeJPEG(small)
	if err != nil {
		return nil, err
	}
	out := &Picture{Width: big.Rect.Dx(), Height: big.Rect.Dy(), Preview: preview}
	if opaque {
		out.Type = TypeJPEG
		out.Data, err = encodeJPEG(big)
		return out, err
	}
	// image/png writes no text, time or EXIF chunk: nothing of the upload
	// but its pixels survives.
	var buf bytes.Buffer
	if err := png.Encode(&buf, big); err != nil {
		return nil, fmt.Errorf("photo: encoding PNG: %w", err)
	}
	out.Type, out.Data = TypePNG, buf.Bytes()
	return out, nil
}

// orientRect turns a stored image upright by EXIF orientation o (orient,
// for any rectangle).
func orientRect(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	w, h := m.Rect.Dx(), m.Rect.Dy()
	uw, uh := w, h
	if transposes(o) {
		uw, uh = h, w
	}
	out := image.NewRGBA(image.Rect(0, 0, uw, uh))
	for uy := 0; uy < uh; uy++ {
		for ux := 0; ux < uw; ux++ {
			x, y := ux, uy
			if transposes(o) {
				x, y = uy, ux
			}
			if flipsX(o) {
				x = w - 1 - x
			}
			if flipsY(o) {
				y = h - 1 - y
			}
			si := m.PixOffset(x+m.Rect.Min.X, y+m.Rect.Min.Y)
			di := out.PixOffset(ux, uy)
			copy(out.Pix[di:di+4], m.Pix[si:si+4])
		}
	}
	return out
}
