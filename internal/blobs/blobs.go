// Package blobs keeps stored files (photos now; attachments and voicemails
// next) by key, behind one interface with three homes: a folder on this
// node (Dir, the SQLite default), PostgreSQL (subpackage pgblobs, so every
// node of a deployment reaches the same files) and an S3-compatible bucket
// (subpackage s3blobs). This package imports no driver, so a domain package
// can name Store without pulling one in.
package blobs

import (
	"context"
	"io"
	"strings"
	"time"

	"vo/internal/apperr"
)

// Store keeps files by key. Keys are slash-separated paths of lower-case
// letters, digits, '.', '_' and '-', each segment starting with a letter or
// digit, at most 255 bytes (ValidKey); every implementation refuses any
// other key with apperr.Invalid, so no key can name something outside the
// store.
type Store interface {
	// Put stores size bytes read from r under key, replacing what was
	// there. A reader sees either the old or the new file, never part of
	// one; a failed Put leaves the old file.
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
	// Open returns the file under key and its size. Returns
	// apperr.NotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
	// Delete removes the file under key; a missing file is not an error.
	Delete(ctx context.Context, key string) error
	// List describes every stored file whose key starts with prefix,
	// sorted by key.
	List(ctx context.Context, prefix string) ([]Info, error)
}

// Info describes one stored file. Modified is when it was last put (to
// the second at least), so a sweep of a store shared by several nodes can
// leave alone files another node has just put and not yet recorded.
type Info struct {
	Key      string
	Size     int64
	Modified time.Time
}

// ValidKey reports whether key follows the grammar of Store.
func ValidKey(key string) bool {
	if key == "" || len(key) > 255 {
		return false
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "" || !isAlnum(seg[0]) {
			return false
		}
		for i := 1; i < len(seg); i++ {
			if c := seg[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' }

// InvalidKey is the error every Store returns for a key ValidKey refuses.
func InvalidKey(key string) error {
	return apperr.New(apperr.Invalid, "blobs: invalid key %q", key)
}

// NotFound is the error every Store's Open returns for a missing key.
func NotFound(key string) error {
	return apperr.New(apperr.NotFound, "blobs: %s not found", key)
}

// ReadAll returns the whole file under key, refusing one over max bytes
// (photos and previews are small; this keeps a damaged store from filling
// memory).
func ReadAll(ctx context.Context, s Store, key string, max int64) ([]byte, error) {
	r, size, err := s.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if size > max {
		return nil, apperr.New(apperr.TooLarge, "blobs: %s is %d bytes, over %d", key, size, max)
	}
	return io.ReadAll(io.LimitReader(r, max))
}
