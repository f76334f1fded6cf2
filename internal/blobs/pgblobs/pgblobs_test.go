package pgblobs_test

import (
	"context"
	"testing"

	"vo/internal/blobs/blobstest"
	"vo/internal/blobs/pgblobs"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

// TestConformance runs on a fresh PostgreSQL database that the store has
// migrated (skipped without VO_TEST_POSTGRES_URL, failed with
// VO_REQUIRE_POSTGRES=1).
func TestConformance(t *testing.T) {
	ctx := context.Background()
	dsn := storetest.DSN(t, "postgres")
	st, err := store.Open(ctx, store.Options{DSN: dsn, Clock: clock.Real{}}) // owns and migrates the tables
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := pgblobs.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	blobstest.Run(t, s)
}
