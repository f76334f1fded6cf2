package blobs_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"vo/internal/blobs"
	"vo/internal/blobs/blobstest"
)

func newDir(t *testing.T) (*blobs.Dir, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs") // created by NewDir
	d, err := blobs.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, dir
}

func TestDir(t *testing.T) {
	t.Parallel()
	d, dir := newDir(t)
	blobstest.Run(t, d)
	// Atomic writes leave no temporary file behind.
	var n int
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			n++
		}
		return err
	})
	if n != 2 {
		t.Errorf("%d files on disk, want the 2 the test left", n)
	}
}

// TestDirRefusesSymlinks: a symbolic link planted in the folder leads
// nowhere outside it.
func TestDirRefusesSymlinks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, dir := newDir(t)
	outside := filepath.Join(filepath.Dir(dir), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Dir(dir), filepath.Join(dir, "ln")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Open(ctx, "ln/secret"); err == nil {
		t.Error("read through a symbolic link")
	}
	if err := d.Put(ctx, "ln/planted", bytes.NewReader([]byte("x")), 1, ""); err == nil {
		t.Error("wrote through a symbolic link")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "planted")); err == nil {
		t.Error("a file appeared outside the store")
	}
	if got, _ := os.ReadFile(outside); string(got) != "secret" {
		t.Error("the outside file changed")
	}
}
