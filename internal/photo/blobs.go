package photo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"vo/internal/apperr"
)

// Blobs stores files by key. Keys are slash-separated paths of lower-case
// letters, digits, '.', '_' and '-', each segment starting with a letter or
// digit (Key makes them); an implementation refuses any other key with
// Invalid, so no key can name something outside the store. DirBlobs keeps
// files in a folder; an S3-compatible store maps keys to object names.
type Blobs interface {
	// Put stores data under key, replacing what was there. A reader sees
	// either the old or the new file, never part of one.
	Put(ctx context.Context, key string, data []byte) error
	// Get returns the file under key. Returns NotFound when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete removes the file under key; a missing file is not an error.
	Delete(ctx context.Context, key string) error
	// List returns every stored key, sorted.
	List(ctx context.Context) ([]string, error)
}

// hashLen is the length of Processed.Hash.
const hashLen = 32

// Key returns the storage key of one size of a photo:
// "<first two hash digits>/<hash>-<size>.jpg". The two-digit folder keeps
// any one directory small. It returns "" for a hash that is not 32
// lower-case hex digits or a size not in Sizes, and every Blobs refuses ""
// with Invalid, so a hostile hash cannot reach the file system.
func Key(hash string, size int) string {
	if !validHash(hash) || !slices.Contains(Sizes, size) {
		return ""
	}
	return hash[:2] + "/" + hash + "-" + strconv.Itoa(size) + ".jpg"
}

// parseKey is Key's inverse; ok is false for keys Key does not make.
func parseKey(key string) (hash string, size int, ok bool) {
	dir, file, found := strings.Cut(key, "/")
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

// validKey is the key grammar every Blobs enforces (see Blobs).
func validKey(key string) bool {
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

func invalidKey(key string) error {
	return apperr.New(apperr.Invalid, "photo: invalid storage key %q", key)
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
		_, err := b.Get(ctx, key)
		existed := err == nil
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return errors.Join(err, deleteAll(ctx, b, created))
		}
		if err := b.Put(ctx, key, data); err != nil {
			return errors.Join(err, deleteAll(ctx, b, created))
		}
		if !existed {
			created = append(created, key)
		}
	}
	return nil
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

// Sweep deletes every stored photo file whose hash inUse rejects, and
// returns how many it deleted: the safety net that removes files orphaned by
// a crash between storing a photo and recording it. Run it when no upload is
// in flight (at start-up), or a photo being saved could be swept.
func Sweep(ctx context.Context, b Blobs, inUse func(hash string) bool) (int, error) {
	keys, err := b.List(ctx)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, k := range keys {
		hash, _, ok := parseKey(k)
		if !ok || inUse(hash) {
			continue
		}
		if err := b.Delete(ctx, k); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}

// DirBlobs keeps files in a folder (by default the data folder's "photos").
// All access goes through an os.Root, so even a symbolic link planted in the
// folder cannot lead outside it.
type DirBlobs struct {
	root *os.Root
}

// NewDirBlobs opens (creating it if needed) the folder root as a store.
func NewDirBlobs(root string) (*DirBlobs, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("photo: creating %s: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("photo: opening %s: %w", root, err)
	}
	return &DirBlobs{root: r}, nil
}

// Close releases the folder.
func (d *DirBlobs) Close() error { return d.root.Close() }

// tmpPrefix marks files being written; valid keys never start with '.', so
// List skips them and they never collide with a key.
const tmpPrefix = ".tmp-"

// Put writes data to a temporary file beside the key, syncs it, and renames
// it into place, so that a crash or a concurrent Get never sees half a file.
func (d *DirBlobs) Put(ctx context.Context, key string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validKey(key) {
		return invalidKey(key)
	}
	dir := path.Dir(key)
	if err := d.root.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("photo: creating folder for %s: %w", key, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand documents it)
	tmp := path.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("photo: writing %s: %w", key, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, key)
	}
	if err != nil {
		_ = d.root.Remove(tmp) // best effort: the write already failed
		return fmt.Errorf("photo: writing %s: %w", key, err)
	}
	// Sync the folder too, so the rename itself survives a power cut.
	if df, err := d.root.Open(dir); err == nil {
		err = df.Sync()
		if cerr := df.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("photo: syncing folder of %s: %w", key, err)
		}
	}
	return nil
}

// Get reads the file under key. Returns NotFound when there is none.
func (d *DirBlobs) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validKey(key) {
		return nil, invalidKey(key)
	}
	data, err := d.root.ReadFile(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, apperr.New(apperr.NotFound, "photo not found")
	}
	if err != nil {
		return nil, fmt.Errorf("photo: reading %s: %w", key, err)
	}
	return data, nil
}

// Delete removes the file under key; a missing file is fine.
func (d *DirBlobs) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validKey(key) {
		return invalidKey(key)
	}
	if err := d.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("photo: deleting %s: %w", key, err)
	}
	return nil
}

// List returns every stored key, sorted; files in the middle of being written
// and anything else that is not a valid key are left out.
func (d *DirBlobs) List(ctx context.Context) ([]string, error) {
	var keys []string
	err := fs.WalkDir(d.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.Type().IsRegular() && validKey(p) {
			keys = append(keys, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("photo: listing: %w", err)
	}
	slices.Sort(keys)
	return keys, nil
}
