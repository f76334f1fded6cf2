package main

import (
	"context"
	"log/slog"

	"vo/internal/photo"
	"vo/internal/profile"
	"vo/internal/store"
)

// newPhotos stores photos under dir (the data folder by default) and sweeps
// files left orphaned by a crash.
func newPhotos(st *store.Store, dir string) (*profile.Photos, error) {
	blobs, err := photo.NewDirBlobs(dir)
	if err != nil {
		return nil, err
	}
	p := profile.New(st, blobs, 0)
	if n, err := p.Sweep(context.Background()); err != nil {
		slog.Warn("photos: sweep", slog.Any("err", err))
	} else if n > 0 {
		slog.Info("photos: orphaned files removed", slog.Int("count", n))
	}
	return p, nil
}
