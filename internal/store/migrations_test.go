package store_test

import (
	"context"
	"database/sql"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"vo/internal/account"
	"vo/internal/store"
	"vo/internal/storetest"
)

// eachDSN is storetest.Each for tests that need the database itself
// rather than an open store: the same subtests, a fresh empty database.
func eachDSN(t *testing.T, f func(t *testing.T, engine, dsn string)) {
	t.Helper()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) { f(t, engine, storetest.DSN(t, engine)) })
	}
}

func open(t *testing.T, dsn string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), store.Options{DSN: dsn, DataDir: t.TempDir()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// migrationFiles lists the embedded migrations of the engine, by name.
func migrationFiles(t *testing.T, engine string) []string {
	t.Helper()
	entries, err := os.ReadDir(path.Join("migrations", engine))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sql") {
			out = append(out, e.Name())
		}
	}
	if len(out) == 0 {
		t.Fatalf("no migrations for %s", engine)
	}
	return out
}

// newestVersion is the version number of the last migration file; the
// numbers may have gaps while branches that each add one are merged.
func newestVersion(t *testing.T, files []string) int64 {
	t.Helper()
	num, _, _ := strings.Cut(files[len(files)-1], "_")
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil {
		t.Fatalf("migration %s: %v", files[len(files)-1], err)
	}
	return v
}

func TestOpenIsIdempotent(t *testing.T) {
	t.Parallel()
	eachDSN(t, func(t *testing.T, engine, dsn string) {
		ctx := context.Background()
		want := newestVersion(t, migrationFiles(t, engine))
		s := open(t, dsn)
		if v, err := s.SchemaVersion(ctx); err != nil || v != want {
			t.Fatalf("schema version %d, %v; want %d, the newest migration file", v, err, want)
		}
		if got := string(s.Dialect()); got != engine {
			t.Fatalf("dialect %s, want %s", got, engine)
		}
		o := newOrg(t, s, "acme")
		mustCreate(t, s, o.ID, nu("Ann Lee", "ann@acme.test", "101", ""))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			s = open(t, dsn)
			if v, err := s.SchemaVersion(ctx); err != nil || v != want {
				t.Fatalf("schema version %d, %v after reopening; want %d", v, err, want)
			}
			if u, err := s.UserByEmail(ctx, "ann@acme.test"); err != nil || u.OrgID != o.ID {
				t.Fatalf("data lost on reopening: %+v, %v", u, err)
			}
			var applied int
			if err := s.WriterForTest().QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil || applied != len(migrationFiles(t, engine)) {
				t.Fatalf("%d migrations recorded, %v; want %d (each once)", applied, err, want)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A database left at migration 1 by an older release is brought to the
// newest schema by Open, with its rows, and its people can log in.
func TestOpenMigratesAnOlderDatabase(t *testing.T) {
	t.Parallel()
	eachDSN(t, func(t *testing.T, engine, dsn string) {
		ctx := context.Background()
		files := migrationFiles(t, engine)
		first, err := os.ReadFile(path.Join("migrations", engine, files[0]))
		if err != nil {
			t.Fatal(err)
		}
		driver, dialect := "sqlite", goose.DialectSQLite3
		if engine == "postgres" {
			driver, dialect = "pgx", goose.DialectPostgres
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		old, err := goose.NewProvider(dialect, db, fstest.MapFS{files[0]: &fstest.MapFile{Data: first, Mode: 0o644}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := old.Up(ctx); err != nil {
			t.Fatalf("migration 1: %v", err)
		}
		if v, err := old.GetDBVersion(ctx); err != nil || v != 1 {
			t.Fatalf("old database at version %d, %v", v, err)
		}
		// What release 1 stored: an org and its admin.
		for _, q := range []string{
			`INSERT INTO orgs (id, slug, name, created_at) VALUES ('o_old', 'acme', 'Acme Inc', 1700000000000)`,
			`INSERT INTO users (id, org_id, name, name_key, email, email_key, role, extension, phone_number, password_hash, active, created_at)
			 VALUES ('u_old', 'o_old', 'Ann Lee', 'ann lee', 'Ann@Acme.test', 'ann@acme.test', 'admin', '101', '+14155550101', '` + testHash() + `', 1, 1700000000000)`,
			`INSERT INTO user_terms (org_id, term, user_id) VALUES ('o_old', 'ann lee', 'u_old'), ('o_old', 'ann', 'u_old'), ('o_old', 'lee', 'u_old'),
			 ('o_old', 'ann@acme.test', 'u_old'), ('o_old', '101', 'u_old'), ('o_old', '+14155550101', 'u_old'), ('o_old', '14155550101', 'u_old')`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatalf("seed the old database: %v", err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}

		s := open(t, dsn)
		defer s.Close()
		if v, err := s.SchemaVersion(ctx); err != nil || v != newestVersion(t, files) {
			t.Fatalf("schema version %d, %v; want %d", v, err, newestVersion(t, files))
		}
		o, err := s.OrgBySlug(ctx, "acme")
		if err != nil || o.ID != "o_old" || o.Name != "Acme Inc" {
			t.Fatalf("org after migrating: %+v, %v", o, err)
		}
		u, err := s.UserByEmail(ctx, "ANN@acme.test")
		if err != nil || u.ID != "u_old" || u.Role != account.RoleAdmin || u.PhoneNumber != "+14155550101" || !account.CheckPassword(u.PasswordHash, testPassword) {
			t.Fatalf("user after migrating: %+v, %v", u, err)
		}
		if list, _, err := s.Directory(ctx, o.ID, "lee", 50, ""); err != nil || len(list) != 1 || list[0].ID != u.ID {
			t.Fatalf("directory after migrating: %+v, %v", list, err)
		}
		// New rows go in beside the old ones, and the old user can log in.
		mustCreate(t, s, o.ID, nu("Ben Ortiz", "ben@acme.test", "102", ""))
		if p, err := s.Presence(ctx, o.ID, u.ID); err != nil {
			t.Errorf("presence of a user from before migration 2: %v", err)
		} else if p.Shown != "offline" {
			t.Errorf("presence of a user from before migration 2: %+v", p)
		}
		sess := account.Session{ID: account.NewID("s"), UserID: u.ID, OrgID: o.ID, DeviceName: "Web", Platform: account.PlatformWeb}
		if err := s.CreateSession(ctx, sess, "tok-old", "csrf-old"); err != nil {
			t.Errorf("a user from before migration 2 cannot log in: %v", err)
		}
	})
}

// The migrations of the two engines stay in step: the same versions, in
// the same order, so SchemaVersion means one thing.
func TestMigrationsMatchAcrossEngines(t *testing.T) {
	t.Parallel()
	sqlite, pg := migrationFiles(t, "sqlite"), migrationFiles(t, "postgres")
	if strings.Join(sqlite, ",") != strings.Join(pg, ",") {
		t.Fatalf("sqlite migrations %v, postgres %v", sqlite, pg)
	}
	for _, f := range sqlite {
		if _, err := fs.Stat(os.DirFS("migrations"), path.Join("sqlite", f)); err != nil {
			t.Fatal(err)
		}
	}
}
