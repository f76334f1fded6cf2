// Package blobstest is the conformance test every blobs.Store passes: the
// folder, PostgreSQL and S3 stores run the same checks, so a caller can
// swap one for another without finding a difference.
package blobstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/blobs"
)

// LargeSize is the big object of the test: the attachment limit (SPEC §8).
const LargeSize = 25 << 20

// Run checks s, which must be empty: put, read, overwrite, delete, list by
// prefix, missing keys, hostile keys and one LargeSize object, streamed in
// and out.
func Run(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	put := func(key, data string) {
		t.Helper()
		if err := s.Put(ctx, key, bytes.NewReader([]byte(data)), int64(len(data)), "text/plain"); err != nil {
			t.Fatalf("Put(%q): %v", key, err)
		}
	}
	get := func(key string) string {
		t.Helper()
		b, err := blobs.ReadAll(ctx, s, key, 1<<20)
		if err != nil {
			t.Fatalf("Open(%q): %v", key, err)
		}
		return string(b)
	}
	start := time.Now()
	list := func(prefix string) []string {
		t.Helper()
		infos, err := s.List(ctx, prefix)
		if err != nil {
			t.Fatalf("List(%q): %v", prefix, err)
		}
		var keys []string
		for _, i := range infos {
			keys = append(keys, i.Key)
			// Some servers keep whole seconds; a second either way is fine.
			if i.Modified.Before(start.Add(-time.Second)) || i.Modified.After(time.Now().Add(time.Second)) {
				t.Errorf("%s modified at %v, outside the test's run from %v", i.Key, i.Modified, start)
			}
			if r, size, err := s.Open(ctx, i.Key); err != nil || size != i.Size {
				t.Errorf("%s listed with size %d, opens with %d, %v", i.Key, i.Size, size, err)
			} else {
				r.Close()
			}
		}
		return keys
	}

	if got := list(""); len(got) != 0 {
		t.Fatalf("a new store lists %v", got)
	}
	if _, _, err := s.Open(ctx, "photos/ab/missing.jpg"); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("Open of a missing key: %v, want NotFound", err)
	}
	put("photos/ab/one.jpg", "one")
	put("photos/cd/two.jpg", "two")
	put("attachments/x/file.bin", "")
	put("photos/ab/one.jpg", "one again") // overwrite
	if got := get("photos/ab/one.jpg"); got != "one again" {
		t.Errorf("after overwrite: %q", got)
	}
	if r, size, err := s.Open(ctx, "attachments/x/file.bin"); err != nil || size != 0 {
		t.Errorf("empty file: size %d, %v", size, err)
	} else {
		r.Close()
	}
	if got, want := list(""), []string{"attachments/x/file.bin", "photos/ab/one.jpg", "photos/cd/two.jpg"}; !slices.Equal(got, want) {
		t.Errorf("List(\"\") = %v, want %v", got, want)
	}
	if got, want := list("photos/"), []string{"photos/ab/one.jpg", "photos/cd/two.jpg"}; !slices.Equal(got, want) {
		t.Errorf("List(photos/) = %v, want %v", got, want)
	}
	if got := list("voicemail/"); len(got) != 0 {
		t.Errorf("List(voicemail/) = %v", got)
	}
	// A Put whose reader fails keeps the old file.
	if err := s.Put(ctx, "photos/cd/two.jpg", io.MultiReader(bytes.NewReader([]byte("par")), failing{}), 10, "text/plain"); err == nil {
		t.Error("Put with a failing reader succeeded")
	}
	if got := get("photos/cd/two.jpg"); got != "two" {
		t.Errorf("after a failed overwrite: %q, want the old file", got)
	}
	if err := s.Delete(ctx, "photos/ab/one.jpg"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "photos/ab/one.jpg"); err != nil {
		t.Errorf("deleting a missing key: %v", err)
	}
	if _, _, err := s.Open(ctx, "photos/ab/one.jpg"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("Open after Delete: %v, want NotFound", err)
	}
	for _, key := range []string{"", "../x", "/etc/passwd", "a//b", "a/./b", "a/../b", "UPPER", ".tmp-1", "a b", "a\\b", "a/b/"} {
		if err := s.Put(ctx, key, bytes.NewReader(nil), 0, ""); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Put(%q) = %v, want Invalid", key, err)
		}
		if _, _, err := s.Open(ctx, key); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Open(%q) = %v, want Invalid", key, err)
		}
		if err := s.Delete(ctx, key); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Delete(%q) = %v, want Invalid", key, err)
		}
	}

	// The large object goes in from a generator and comes out through a
	// hash, so neither side ever holds it whole.
	gen := func() io.Reader { return io.LimitReader(&random{r: rand.NewChaCha8([32]byte{7})}, LargeSize) }
	want := sha256.New()
	io.Copy(want, gen())
	if err := s.Put(ctx, "attachments/large.bin", gen(), LargeSize, "application/octet-stream"); err != nil {
		t.Fatalf("Put large: %v", err)
	}
	r, size, err := s.Open(ctx, "attachments/large.bin")
	if err != nil {
		t.Fatalf("Open large: %v", err)
	}
	got := sha256.New()
	n, err := io.Copy(got, r)
	r.Close()
	if err != nil || n != LargeSize || size != LargeSize {
		t.Fatalf("read large: %d bytes (size %d), %v", n, size, err)
	}
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("the large object came back different")
	}
	if err := s.Delete(ctx, "attachments/large.bin"); err != nil {
		t.Fatal(err)
	}
	if got, want := list(""), []string{"attachments/x/file.bin", "photos/cd/two.jpg"}; !slices.Equal(got, want) {
		t.Errorf("at the end List = %v, want %v", got, want)
	}
}

type failing struct{}

func (failing) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }

type random struct{ r *rand.ChaCha8 }

func (g *random) Read(p []byte) (int, error) { return g.r.Read(p) }
