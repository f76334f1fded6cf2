package blobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
)

// Dir keeps files in a folder of this node (by default the data folder's
// "blobs"), so it suits one node only. All access goes through an os.Root,
// so even a symbolic link planted in the folder cannot lead outside it.
type Dir struct {
	root *os.Root
}

// NewDir opens (creating it if needed) the folder root as a store.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("blobs: creating %s: %w", root, err)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("blobs: opening %s: %w", root, err)
	}
	return &Dir{root: r}, nil
}

// Close releases the folder.
func (d *Dir) Close() error { return d.root.Close() }

// tmpPrefix marks files being written; valid keys never start with '.', so
// List skips them and they never collide with a key.
const tmpPrefix = ".tmp-"

// Put writes to a temporary file beside the key, syncs it, and renames it
// into place, so that a crash or a concurrent Open never sees half a file.
func (d *Dir) Put(ctx context.Context, key string, r io.Reader, size int64, _ string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidKey(key) {
		return InvalidKey(key)
	}
	dir := path.Dir(key)
	if err := d.root.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("blobs: creating folder for %s: %w", key, err)
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:]) // never fails (crypto/rand documents it)
	tmp := path.Join(dir, tmpPrefix+hex.EncodeToString(rnd[:]))
	f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("blobs: writing %s: %w", key, err)
	}
	n, err := io.Copy(f, io.LimitReader(r, size))
	if err == nil && n != size {
		err = fmt.Errorf("got %d of %d bytes", n, size)
	}
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
		return fmt.Errorf("blobs: writing %s: %w", key, err)
	}
	// Sync the folder too, so the rename itself survives a power cut.
	df, err := d.root.Open(dir)
	if err != nil {
		return fmt.Errorf("blobs: syncing folder of %s: %w", key, err)
	}
	err = df.Sync()
	if cerr := df.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blobs: syncing folder of %s: %w", key, err)
	}
	return nil
}

// Open opens the file under key. Returns apperr.NotFound when there is none.
func (d *Dir) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if !ValidKey(key) {
		return nil, 0, InvalidKey(key)
	}
	f, err := d.root.Open(key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, NotFound(key)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blobs: reading %s: %w", key, err)
	}
	st, err := f.Stat()
	if err == nil && !st.Mode().IsRegular() {
		err = errors.New("not a file")
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blobs: reading %s: %w", key, err)
	}
	return f, st.Size(), nil
}

// Delete removes the file under key; a missing file is fine.
func (d *Dir) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !ValidKey(key) {
		return InvalidKey(key)
	}
	if err := d.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blobs: deleting %s: %w", key, err)
	}
	return nil
}

// List returns every stored key under prefix, sorted; files in the middle
// of being written and anything else that is not a valid key are left out.
func (d *Dir) List(ctx context.Context, prefix string) ([]Info, error) {
	var out []Info
	err := fs.WalkDir(d.root.FS(), ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		// Skip folders that cannot hold a key under prefix.
		if e.IsDir() && p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
			return fs.SkipDir
		}
		if e.Type().IsRegular() && ValidKey(p) && strings.HasPrefix(p, prefix) {
			fi, err := e.Info()
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted while listing
			}
			if err != nil {
				return err
			}
			out = append(out, Info{Key: p, Size: fi.Size(), Modified: fi.ModTime()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: listing: %w", err)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
