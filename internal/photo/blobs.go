package photo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vo/internal/apperr"
	"vo/internal/blobs"
)

// Blobs is the file store photos are kept in: the data folder, PostgreSQL
// or an S3 bucket (internal/blobs), whichever the node was started with.
type Blobs = blobs.Store

// prefix is where photos live in the store, beside other kinds of files.
const prefix = "photos/"

// maxFile bounds what Read loads: the largest size is a 512-pixel JPEG,
// far below it.
const maxFile = 4 << 20

// hashLen is the length of Processed.Hash.
const hashLen = 32

// Key returns the storage key of one size of a photo:
// "photos/<first two hash digits>/<hash>-<size>.jpg". The two-digit folder keeps
// any one directory small. It returns "" for a hash that is not 32
// lower-case hex digits or a size not in Sizes, and every Blobs refuses ""
// with Invalid, so a hostile hash cannot reach the file system.
func Key(hash string, size int) string {
	if !validHash(hash) || !slices.Contains(Sizes, size) {
		return ""
	}
	return prefix + hash[:2] + "/" + hash + "-" + strconv.Itoa(size) + ".jpg"
}

// parseKey is Key's inverse; ok is false for keys Key does not make.
func parseKey(key string) (hash string, size int, ok bool) {
	dir, file, found := strings.Cut(strings.TrimPrefix(key, prefix), "/")
	rest, found2 := strings.CutSuffix(file, ".jpg")
	hash, sizeText, found3 := strings.Cut(rest, "-")
	if !found || !found2 || !found3 {
		return "", 0, false
	}
	size, err := strconv.Atoi(sizeText)
	if err != nil || Key(hash, size) != key || dir != hash[:2] {
		return "", 0, false
	}
	return hash, size, true
}

func validHash(h string) bool {
	if len(h) != hashLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Save stores every size of p. If a write fails it deletes the files this
// call created, so a failed save leaves the store as it was; files that
// already existed (the same photo uploaded before) are left alone.
func Save(ctx context.Context, b Blobs, p *Processed) error {
	var created []string
	for _, size := range Sizes {
		key := Key(p.Hash, size)
		data, ok := p.Images[size]
		if key == "" || !ok {
			return errors.Join(fmt.Errorf("photo: incomplete result for %q", p.Hash), deleteAll(ctx, b, created))
		}
		r, _, err := b.Open(ctx, key)
		existed := err == nil
		if existed {
			r.Close()
		}
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return errors.Join(err, deleteAll(ctx, b, created))
		}
		if err := b.Put(ctx, key, bytes.NewReader(data), int64(len(data)), "image/jpeg"); err != nil {
			return errors.Join(err, deleteAll(ctx, b, created))
		}
		if !existed {
			created = append(created, key)
		}
	}
	return nil
}

// Read returns one size of the photo with this hash. Returns NotFound when
// it is not stored.
func Read(ctx context.Context, b Blobs, hash string, size int) ([]byte, error) {
	key := Key(hash, size)
	if key == "" {
		return nil, apperr.New(apperr.Invalid, "photo: invalid photo hash or size")
	}
	return blobs.ReadAll(ctx, b, key, maxFile)
}

// Remove deletes every size of the photo with this hash. Identical uploads
// share files, so call it only when no user refers to hash any more.
func Remove(ctx context.Context, b Blobs, hash string) error {
	if !validHash(hash) {
		return apperr.New(apperr.Invalid, "photo: invalid photo hash")
	}
	keys := make([]string, 0, len(Sizes))
	for _, size := range Sizes {
		keys = append(keys, Key(hash, size))
	}
	return deleteAll(ctx, b, keys)
}

func deleteAll(ctx context.Context, b Blobs, keys []string) error {
	var errs []error
	for _, k := range keys {
		errs = append(errs, b.Delete(ctx, k))
	}
	return errors.Join(errs...)
}

// Sweep deletes every stored photo file put before the instant before
// whose hash inUse rejects, and returns how many it deleted: the safety net
// that removes files orphaned by a crash between storing a photo and
// recording it. On a store shared by several nodes one sweep sees every
// node's files, including those of an upload in flight on another node;
// before keeps them safe, so pick it well before any upload still running.
func Sweep(ctx context.Context, b Blobs, before time.Time, inUse func(hash string) bool) (int, error) {
	files, err := b.List(ctx, prefix)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, f := range files {
		k := f.Key
		hash, _, ok := parseKey(k)
		if !ok || !f.Modified.Before(before) || inUse(hash) {
			continue
		}
		if err := b.Delete(ctx, k); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
