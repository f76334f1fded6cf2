package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"vo/internal/blobs"
	"vo/internal/blobs/pgblobs"
	"vo/internal/blobs/s3blobs"
	"vo/internal/clock"
	"vo/internal/profile"
	"vo/internal/store"
)

// openBlobs opens the store of files that --blobs names: "dir" (the data
// folder's "blobs", for one node), "postgres" (the database itself, shared
// by every node on it) or "s3://BUCKET?endpoint=…" (a bucket, shared). The
// default follows the database: the data folder on SQLite, the database on
// PostgreSQL, so two nodes never keep files the other cannot reach.
func openBlobs(ctx context.Context, c commonFlags, st *store.Store) (blobs.Store, func() error, error) {
	spec := c.blobs
	if spec == "" {
		spec = "dir"
		if st.Dialect() == store.Postgres {
			spec = "postgres"
		}
	}
	switch {
	case spec == "dir":
		dir := filepath.Join(c.data, "blobs")
		if err := moveOldPhotos(c.data, dir); err != nil {
			return nil, nil, err
		}
		d, err := blobs.NewDir(dir)
		if err != nil {
			return nil, nil, err
		}
		return d, d.Close, nil
	case spec == "postgres":
		if st.Dialect() != store.Postgres {
			return nil, nil, usageError{"--blobs postgres needs a postgres:// --db"}
		}
		p, err := pgblobs.Open(ctx, c.db)
		if err != nil {
			return nil, nil, err
		}
		return p, p.Close, nil
	case strings.HasPrefix(spec, "s3://"):
		s, err := s3blobs.Open(ctx, spec)
		if err != nil {
			return nil, nil, err
		}
		return s, func() error { return nil }, nil
	}
	return nil, nil, usageError{fmt.Sprintf("--blobs %q: want dir, postgres or s3://BUCKET?endpoint=HOST:PORT", spec)}
}

// moveOldPhotos moves the photos of a data folder from before the blob
// store (<data>/photos/ab/…) to where the folder store keeps them now
// (<data>/blobs/photos/ab/…), once.
func moveOldPhotos(data, dir string) error {
	old, dst := filepath.Join(data, "photos"), filepath.Join(dir, "photos")
	if _, err := os.Stat(old); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	if err := os.Rename(old, dst); err != nil {
		return fmt.Errorf("moving photos into %s: %w", dir, err)
	}
	slog.Info("photos: moved into the blob folder", slog.String("dir", dst))
	return nil
}

// sweepGrace is how old an unrecorded photo file must be for the start-up
// sweep to delete it: an upload takes seconds, so an hour spares the
// uploads another node of a shared store has in flight.
const sweepGrace = time.Hour

// newPhotos stores photos in b and sweeps files left orphaned by a crash;
// on a shared store the sweep sees every node's files.
func newPhotos(st *store.Store, b blobs.Store, clk clock.Clock) *profile.Photos {
	p := profile.New(st, b, 0)
	if n, err := p.Sweep(context.Background(), clk.Now().Add(-sweepGrace)); err != nil {
		slog.Warn("photos: sweep", slog.Any("err", err))
	} else if n > 0 {
		slog.Info("photos: orphaned files removed", slog.Int("count", n))
	}
	return p
}
