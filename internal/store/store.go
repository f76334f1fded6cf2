// Package store keeps Virtual Office's data in SQLite (embedded, the
// default) or PostgreSQL (production, several nodes). The logic is written
// once against database/sql; the two engines differ only in their
// migrations (migrations/sqlite, migrations/postgres) and in placeholder
// syntax, which rebind handles. The engine is chosen by the DSN.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver (no cgo)

	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/events"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL engine.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is the database. Writes on SQLite go through one connection, so
// there is exactly one writer; reads use a pool.
type Store struct {
	dialect Dialect
	w       *sql.DB // writer
	r       *sql.DB // readers (the same pool as w on PostgreSQL)
	clock   clock.Clock

	onCommit func([]events.Event)
	txRec    TxRecorder

	// The send lanes (sends.go), started by the first send.
	sendOnce  sync.Once
	sendLanes []chan *sendJob
	sendWG    sync.WaitGroup
	closing   chan struct{}
	closeOnce sync.Once

	readStmts, writeStmts stmtCache // SQLite's prepared queries (stmts.go)
}

// TxRecorder learns how long each write transaction took, from begin to
// commit or rollback; *metrics.Metrics is one.
type TxRecorder interface {
	// Tx records one transaction on engine ("sqlite", "postgres") that
	// ended in outcome ("commit", "rollback").
	Tx(engine, outcome string, d time.Duration)
}

// RecordTx makes the store report its write transactions to r; call it
// before the store is used.
func (s *Store) RecordTx(r TxRecorder) { s.txRec = r }

// observeTx reports one write transaction begun at start.
func (s *Store) observeTx(start time.Time, outcome string) {
	if s.txRec != nil {
		s.txRec.Tx(string(s.dialect), outcome, time.Since(start))
	}
}

// Options configure Open.
type Options struct {
	// DSN is a postgres:// URL, or a SQLite file path. Empty means
	// <DataDir>/vo.db.
	DSN     string
	DataDir string
	Clock   clock.Clock
}

// Open connects, migrates to the newest schema and returns the store.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	s := &Store{clock: o.Clock, closing: make(chan struct{})}
	dsn := o.DSN
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		s.dialect = Postgres
		cfg, err := pgx.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("store: postgres URL: %w", err)
		}
		// A generic plan made while a table was small stays in use as a big
		// import grows it (10,000 users took minutes); plan each query for
		// its arguments instead.
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(20)
		db.SetMaxIdleConns(20)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s.w, s.r = db, db
	} else {
		s.dialect = SQLite
		if dsn == "" {
			if err := os.MkdirAll(o.DataDir, 0o700); err != nil {
				return nil, fmt.Errorf("store: create data folder: %w", err)
			}
			dsn = filepath.Join(o.DataDir, "vo.db")
		}
		dsn = strings.TrimPrefix(dsn, "sqlite://")
		// temp_store(MEMORY) keeps the statement journal of a multi-row
		// insert or a savepoint in memory: in a temporary file, it was a
		// tenth of a batch of sends' time in write calls.
		params := "_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)"
		w, err := sql.Open("sqlite", "file:"+dsn+"?"+params+"&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		w.SetMaxOpenConns(1)
		r, err := sql.Open("sqlite", "file:"+dsn+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("store: open sqlite: %w", err)
		}
		r.SetMaxOpenConns(4)
		s.w, s.r = w, r
	}
	if err := s.w.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.indexPendingMessages(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies every embedded migration not yet recorded, each in its
// own transaction.
func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(s.dialect))
	if err != nil {
		return err
	}
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.w, sub)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	for _, r := range res {
		slog.Info("store: migrated", slog.String("dialect", string(s.dialect)), slog.Int64("version", r.Source.Version), slog.Duration("took", r.Duration))
	}
	return nil
}

// pingTimeout bounds Ping, so that a health check answers even when the
// database hangs rather than refuses.
const pingTimeout = 2 * time.Second

// Ping tells whether both pools reach the database; a failure is an
// Unavailable error whose detail stays in the wrapped cause.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	for _, db := range []*sql.DB{s.w, s.r} {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("store: ping: %w: %w", apperr.New(apperr.Unavailable, "the store is unreachable"), err)
		}
	}
	return nil
}

// Dialect tells which engine is in use.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connections; on SQLite it checkpoints the WAL first so
// the database file is complete on its own.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.sendWG.Wait()
	s.readStmts.close()
	s.writeStmts.close()
	if s.dialect == SQLite && s.w != nil {
		_, _ = s.w.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	var errs []error
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if s.r != nil && s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	return errors.Join(errs...)
}

// rebind turns ? placeholders into $n for PostgreSQL.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// q is a query runner: the read pool, the writer, or a transaction.
type q interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx is a write transaction handed to callers of Store.Tx.
type Tx struct {
	s      *Store
	tx     *sql.Tx
	events []events.Event

	stmts   map[string]*sql.Stmt    // SQLite: statements prepared once per transaction
	members map[string]*convMembers // conversation id → its members, for the sends of a batch
}

// tx runs f in a write transaction, committing when f returns nil.
func (s *Store) tx(ctx context.Context, f func(*Tx) error) error {
	start := time.Now()
	t, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	x := &Tx{s: s, tx: t}
	err = f(x)
	if err == nil && len(x.events) > 0 {
		err = x.sequence(ctx) // last: the stream rows are the last locked
	}
	if err != nil {
		_ = t.Rollback()
		s.observeTx(start, "rollback")
		s.keepWriterStmts(ctx, x.stmts)
		return err
	}
	if err := t.Commit(); err != nil {
		s.observeTx(start, "rollback")
		return fmt.Errorf("store: commit: %w", err)
	}
	s.observeTx(start, "commit")
	s.keepWriterStmts(ctx, x.stmts)
	if len(x.events) > 0 && s.onCommit != nil {
		s.onCommit(x.events)
	}
	return nil
}

func (t *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.ExecContext(ctx, t.s.rebind(query), args...)
}

func (t *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.QueryRowContext(ctx, t.s.rebind(query), args...)
}

func (t *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.QueryContext(ctx, t.s.rebind(query), args...)
}

// ExecContext, QueryRowContext and QueryContext make a Tx the q of a
// reader; query is rebound already (a no-op on SQLite, the only engine
// that caches).
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

// stmt returns query prepared in the transaction, on SQLite, where every
// statement is otherwise parsed again at each call: the writer's own
// prepared query when it has one (stmts.go), else prepared for this
// transaction, so that a batch of 50 sends parses each of its statements
// once at most, not 50 times (sends.go). PostgreSQL's driver keeps its own
// cache of prepared statements per connection. nil when it is not cached,
// or could not be prepared (the plain call then reports why).
func (t *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.s.dialect != SQLite {
		return nil
	}
	if st, ok := t.stmts[query]; ok {
		return st
	}
	var st *sql.Stmt
	if kept := t.s.writeStmts.peek(query); kept != nil {
		st = t.tx.StmtContext(ctx, kept)
	} else {
		var err error
		if st, err = t.tx.PrepareContext(ctx, query); err != nil {
			return nil
		}
	}
	if t.stmts == nil {
		t.stmts = map[string]*sql.Stmt{}
	}
	t.stmts[query] = st // closed with the transaction
	return st
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return readPool{s}.QueryRowContext(ctx, s.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return readPool{s}.QueryContext(ctx, s.rebind(query), args...)
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// isUnique reports whether err is a unique-constraint violation, on
// either engine.
func isUnique(err error) bool {
	if err == nil {
		return false
	}
	m := err.Error()
	return strings.Contains(m, "UNIQUE constraint failed") || strings.Contains(m, "SQLSTATE 23505")
}

func internal(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
