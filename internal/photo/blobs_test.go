package photo_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"vo/internal/apperr"
	"vo/internal/photo"
	"vo/internal/photo/internal/testimg"
)

// readTree returns the contents of every file under dir.
func readTree(t *testing.T, dir string) [][]byte {
	t.Helper()
	var out [][]byte
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newStore(t *testing.T) (*photo.DirBlobs, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "photos") // created by NewDirBlobs
	b, err := photo.NewDirBlobs(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

const hashA = "0123456789abcdef0123456789abcdef"

func TestKey(t *testing.T) {
	t.Parallel()
	if got := photo.Key(hashA, 256); got != "01/"+hashA+"-256.jpg" {
		t.Errorf("Key = %q", got)
	}
	for _, hostile := range []string{
		"", "../../../../etc/passwd", "0123456789abcdef0123456789abcde/", "/123456789abcdef0123456789abcdef",
		"0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef0123456789abcde", hashA + "0", "..3456789abcdef0123456789abcdef",
		"0123456789abcdef\x00123456789abcdef",
	} {
		if got := photo.Key(hostile, 64); got != "" {
			t.Errorf("Key(%q) = %q, want \"\"", hostile, got)
		}
	}
	if got := photo.Key(hashA, 100); got != "" {
		t.Errorf("Key for size 100 = %q", got)
	}
}

func TestDirBlobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, dir := newStore(t)
	k1, k2 := photo.Key(hashA, 64), photo.Key(hashA, 512)
	if err := b.Put(ctx, k1, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, k2, []byte("two")); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, k1, []byte("one again")); err != nil { // replace
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, k1); err != nil || string(got) != "one again" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	keys, err := b.List(ctx)
	if err != nil || !slices.Equal(keys, []string{k2, k1}) { // sorted: "-512" < "-64"
		t.Fatalf("List = %v, %v", keys, err)
	}
	// Atomic writes leave no temporary file behind.
	if n := len(readTree(t, dir)); n != 2 {
		t.Errorf("%d files on disk, want 2", n)
	}
	if err := b.Delete(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, k1); err != nil {
		t.Errorf("deleting a missing file: %v", err)
	}
	if _, err := b.Get(ctx, k1); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Get after Delete: %v, want NotFound", err)
	}
}

// TestDirBlobsRefusesEscapes: no key, however hostile, reads, writes or
// deletes anything outside the store's folder, symbolic links included.
func TestDirBlobsRefusesEscapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, dir := newStore(t)
	outside := filepath.Join(filepath.Dir(dir), "secret")
	if err := os.WriteFile(outside, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		"", "../secret", "/etc/passwd", "01/../../secret", "01/./x.jpg", "01//x.jpg", ".tmp-1",
		"01/.hidden", "01\\..\\secret", "UPPER/x.jpg", "01/x.jpg/", "a/b c",
	} {
		if err := b.Put(ctx, key, []byte("x")); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Put(%q) = %v, want Invalid", key, err)
		}
		if _, err := b.Get(ctx, key); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Get(%q) = %v, want Invalid", key, err)
		}
		if err := b.Delete(ctx, key); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Delete(%q) = %v, want Invalid", key, err)
		}
	}
	// A symbolic link planted inside the store that points outside it.
	if err := os.Symlink(filepath.Dir(dir), filepath.Join(dir, "ln")); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get(ctx, "ln/secret"); err == nil {
		t.Errorf("read %q through a symbolic link", got)
	}
	if err := b.Put(ctx, "ln/planted", []byte("x")); err == nil {
		t.Error("wrote through a symbolic link")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "planted")); err == nil {
		t.Error("a file appeared outside the store")
	}
	if got, _ := os.ReadFile(outside); string(got) != "secret" {
		t.Error("the outside file changed")
	}
}

// failingBlobs fails every Put after the first n.
type failingBlobs struct {
	photo.Blobs
	n int
}

func (f *failingBlobs) Put(ctx context.Context, key string, data []byte) error {
	if f.n == 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.Blobs.Put(ctx, key, data)
}

// TestReplaceAndDeleteLeaveNoOrphans walks a user's photo life: upload,
// replace (the old files go), a failed save (nothing of it stays, the
// current photo is untouched), delete (nothing stays).
func TestReplaceAndDeleteLeaveNoOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := newStore(t)
	first := mustProcess(t, testimg.EncodeJPEG(testimg.Photo(80, 60, 1), 85), photo.TypeJPEG)
	second := mustProcess(t, testimg.EncodeJPEG(testimg.Photo(80, 60, 2), 85), photo.TypeJPEG)
	third := mustProcess(t, testimg.EncodeJPEG(testimg.Photo(80, 60, 3), 85), photo.TypeJPEG)
	keysOf := func(p *photo.Processed) []string {
		var k []string
		for _, s := range photo.Sizes {
			k = append(k, photo.Key(p.Hash, s))
		}
		slices.Sort(k)
		return k
	}
	list := func() []string {
		k, err := store.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	if err := photo.Save(ctx, store, first); err != nil {
		t.Fatal(err)
	}
	// Replace: save the new one, then remove the old one.
	if err := photo.Save(ctx, store, second); err != nil {
		t.Fatal(err)
	}
	if err := photo.Remove(ctx, store, first.Hash); err != nil {
		t.Fatal(err)
	}
	if got := list(); !slices.Equal(got, keysOf(second)) {
		t.Fatalf("after replacing: %v, want %v", got, keysOf(second))
	}
	// A save that fails half-way takes back what it wrote.
	if err := photo.Save(ctx, &failingBlobs{Blobs: store, n: 2}, third); err == nil {
		t.Fatal("Save succeeded on a failing store")
	}
	if got := list(); !slices.Equal(got, keysOf(second)) {
		t.Fatalf("after a failed save: %v, want %v", got, keysOf(second))
	}
	// Saving the same photo again (another user with the same picture)
	// fails half-way: the files that were already there stay.
	if err := photo.Save(ctx, &failingBlobs{Blobs: store, n: 1}, second); err == nil {
		t.Fatal("Save succeeded on a failing store")
	}
	if got := list(); !slices.Equal(got, keysOf(second)) {
		t.Fatalf("after a failed save of a stored photo: %v, want %v", got, keysOf(second))
	}
	if err := photo.Remove(ctx, store, second.Hash); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after deleting: %v", got)
	}
	if err := photo.Remove(ctx, store, "../etc"); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("Remove with a hostile hash: %v", err)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store, _ := newStore(t)
	keep, orphan := strings.Repeat("a", 32), strings.Repeat("b", 32)
	for _, h := range []string{keep, orphan} {
		for _, s := range photo.Sizes {
			if err := store.Put(ctx, photo.Key(h, s), []byte(h)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := store.Put(ctx, "other/file.txt", []byte("not a photo")); err != nil {
		t.Fatal(err)
	}
	n, err := photo.Sweep(ctx, store, func(h string) bool { return h == keep })
	if err != nil || n != len(photo.Sizes) {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	got, _ := store.List(ctx)
	want := []string{"aa/" + keep + "-256.jpg", "aa/" + keep + "-512.jpg", "aa/" + keep + "-64.jpg", "other/file.txt"}
	if !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}
