// Package profile makes an uploaded image a person's photo: it runs the
// photo pipeline, stores the sizes, records the new hash (which announces
// the change to the org) and removes the files no one uses any more.
package profile

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/photo"
)

// Store is what profile needs of the database.
type Store interface {
	UserByID(ctx context.Context, orgID, id string) (account.User, error)
	SetPhoto(ctx context.Context, orgID, userID, hash string) (old string, u account.User, err error)
	PhotoInUse(ctx context.Context, hash string) (bool, error)
}

// Photos is the photo service of the HTTP API.
type Photos struct {
	store Store
	proc  *photo.Processor
	blobs photo.Blobs
	// mu orders "record the hash" with "delete files of unused hashes", so
	// a file is never deleted while another user is taking the same photo.
	mu sync.Mutex
}

// New returns the service; decoding runs at most maxDecodes at a time.
func New(s Store, blobs photo.Blobs, maxDecodes int) *Photos {
	return &Photos{store: s, proc: photo.NewProcessor(maxDecodes), blobs: blobs}
}

// Upload reads, checks and converts an upload, then makes it the user's
// photo. A refused upload changes nothing stored.
func (p *Photos) Upload(ctx context.Context, orgID, userID, contentType string, contentLength int64, body io.Reader) (account.User, error) {
	data, declared, err := photo.ReadUpload(contentType, contentLength, body)
	if err != nil {
		return account.User{}, err
	}
	out, err := p.proc.Process(ctx, data, declared)
	if err != nil {
		return account.User{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := photo.Save(ctx, p.blobs, out); err != nil {
		return account.User{}, err
	}
	old, u, err := p.store.SetPhoto(ctx, orgID, userID, out.Hash)
	if err != nil {
		p.removeUnused(ctx, out.Hash)
		return account.User{}, err
	}
	if old != "" && old != out.Hash {
		p.removeUnused(ctx, old)
	}
	return u, nil
}

// Remove takes the user's photo away and deletes its files unless another
// user has the same one.
func (p *Photos) Remove(ctx context.Context, orgID, userID string) (account.User, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old, u, err := p.store.SetPhoto(ctx, orgID, userID, "")
	if err != nil {
		return u, err
	}
	if old != "" {
		p.removeUnused(ctx, old)
	}
	return u, nil
}

// Image returns one size of a user's current photo and its hash.
func (p *Photos) Image(ctx context.Context, orgID, userID string, size int) ([]byte, string, error) {
	u, err := p.store.UserByID(ctx, orgID, userID)
	if err != nil {
		return nil, "", err
	}
	if u.PhotoHash == "" {
		return nil, "", apperr.New(apperr.NotFound, "no photo")
	}
	b, err := photo.Read(ctx, p.blobs, u.PhotoHash, size)
	return b, u.PhotoHash, err
}

// Sweep deletes stored files put before the instant before that no user
// refers to (left by a crash between storing and recording). Run it at
// start-up, before serving.
func (p *Photos) Sweep(ctx context.Context, before time.Time) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var sweepErr error
	n, err := photo.Sweep(ctx, p.blobs, before, func(hash string) bool {
		used, err := p.store.PhotoInUse(ctx, hash)
		if err != nil {
			sweepErr = err
			return true // keep what we cannot check
		}
		return used
	})
	if err == nil {
		err = sweepErr
	}
	return n, err
}

func (p *Photos) removeUnused(ctx context.Context, hash string) {
	used, err := p.store.PhotoInUse(ctx, hash)
	if err != nil || used {
		return
	}
	if err := photo.Remove(ctx, p.blobs, hash); err != nil {
		slog.Warn("profile: remove old photo files", slog.String("hash", hash), slog.Any("err", err))
	}
}
