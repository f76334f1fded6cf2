// Package storetest runs a test on every database engine: a fresh SQLite
// file always, and a fresh PostgreSQL database when VO_TEST_POSTGRES_URL is
// set. With VO_REQUIRE_POSTGRES=1 (as CI sets) a missing PostgreSQL fails
// the test instead of skipping its half.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"vo/internal/clock"
	"vo/internal/store"
)

// Engines are the subtest names, in order.
var Engines = []string{"sqlite", "postgres"}

// Each runs f once per engine, as subtests named "sqlite" and "postgres",
// each with a newly migrated, empty store.
func Each(t *testing.T, c clock.Clock, f func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			f(t, Open(t, engine, c))
		})
	}
}

// Open returns a new empty store on the engine, closed (and its database
// dropped) when the test ends.
func Open(t testing.TB, engine string, c clock.Clock) *store.Store {
	t.Helper()
	dsn := DSN(t, engine)
	s, err := store.Open(context.Background(), store.Options{DSN: dsn, DataDir: t.TempDir(), Clock: c})
	if err != nil {
		t.Fatalf("open %s store: %v", engine, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// DSN returns the connection string of a new empty database on the engine:
// a file in the test's temp folder for SQLite, a new database (dropped at
// the end) for PostgreSQL.
func DSN(t testing.TB, engine string) string {
	t.Helper()
	if engine == "sqlite" {
		return filepath.Join(t.TempDir(), "vo.db")
	}
	base := os.Getenv("VO_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("VO_REQUIRE_POSTGRES") == "1" {
			t.Fatal("VO_REQUIRE_POSTGRES=1 but VO_TEST_POSTGRES_URL is not set")
		}
		t.Skip("VO_TEST_POSTGRES_URL not set: PostgreSQL half skipped")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	rand.Read(b)
	name := "vo_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		if _, err := a.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`); err != nil {
			t.Logf("postgres: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("VO_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

// ForEach runs f once per engine with the DSN of a new empty database, for
// tests that start (and restart) whole nodes on it.
func ForEach(t *testing.T, f func(t *testing.T, dsn string)) {
	t.Helper()
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) {
			f(t, DSN(t, engine))
		})
	}
}
