package store_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

func TestBackupTo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	storetest.Each(t, clock.Real{}, func(t *testing.T, s *store.Store) {
		if _, err := s.CreateOrg(ctx, "before", "Before Inc"); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "copy.db")
		err := s.BackupTo(ctx, out)
		if s.Dialect() == store.Postgres {
			if !errors.Is(err, store.ErrNoFileBackup) {
				t.Fatalf("BackupTo on PostgreSQL: %v", err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateOrg(ctx, "after", "After Inc"); err != nil {
			t.Fatal(err)
		}
		copyStore, err := store.Open(ctx, store.Options{DSN: out})
		if err != nil {
			t.Fatal(err)
		}
		defer copyStore.Close()
		if o, err := copyStore.OrgBySlug(ctx, "before"); err != nil || o.Name != "Before Inc" {
			t.Errorf("the copy lacks the org made before it: %+v, %v", o, err)
		}
		if _, err := copyStore.OrgBySlug(ctx, "after"); err == nil {
			t.Error("the copy holds an org made after it")
		}
		if err := s.BackupTo(ctx, out); err == nil {
			t.Error("BackupTo overwrote an existing file")
		}
	})
}
