package photo_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/blobs"
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

func newStore(t *testing.T) (*blobs.Dir, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs") // created by NewDir
	b, err := blobs.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, dir
}

const hashA = "0123456789abcdef0123456789abcdef"

func TestKey(t *testing.T) {
	t.Parallel()
	if got := photo.Key(hashA, 256); got != "photos/01/"+hashA+"-256.jpg" {
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

// failingBlobs fails every Put after the first n.
type failingBlobs struct {
	photo.Blobs
	n int
}

func (f *failingBlobs) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if f.n == 0 {
		return errors.New("disk full")
	}
	f.n--
	return f.Blobs.Put(ctx, key, r, size, contentType)
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
	list := func() []string { return keys(t, store) }

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
			if err := store.Put(ctx, photo.Key(h, s), strings.NewReader(h), int64(len(h)), ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := store.Put(ctx, "attachments/file.txt", strings.NewReader("not a photo"), 11, ""); err != nil {
		t.Fatal(err)
	}
	// Files put since the instant given may be an upload another node of
	// a shared store has in flight: they stay.
	inUse := func(h string) bool { return h == keep }
	if n, err := photo.Sweep(ctx, store, time.Now().Add(-time.Hour), inUse); err != nil || n != 0 {
		t.Fatalf("Sweep of new files = %d, %v; want 0", n, err)
	}
	n, err := photo.Sweep(ctx, store, time.Now().Add(time.Second), inUse)
	if err != nil || n != len(photo.Sizes) {
		t.Fatalf("Sweep = %d, %v", n, err)
	}
	got := keys(t, store)
	want := []string{"attachments/file.txt", "photos/aa/" + keep + "-256.jpg", "photos/aa/" + keep + "-512.jpg", "photos/aa/" + keep + "-64.jpg"}
	if !slices.Equal(got, want) {
		t.Errorf("left %v, want %v", got, want)
	}
}

// keys lists every key in the store.
func keys(t *testing.T, s photo.Blobs) []string {
	t.Helper()
	infos, err := s.List(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range infos {
		out = append(out, i.Key)
	}
	return out
}
