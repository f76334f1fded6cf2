// Package pgblobs keeps stored files in PostgreSQL (the tables of
// migration 00004), so every node on the database reaches the same files
// and a backup of the database holds them too. Files go in and out in
// chunks of 1 MiB, never whole.
package pgblobs

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"vo/internal/blobs"
)

// chunkSize bounds what one row, and so one read or write, holds.
const chunkSize = 1 << 20

// Store is a blobs.Store on PostgreSQL.
type Store struct {
	db *sql.DB
}

// Open connects to the database at dsn, whose schema the store package has
// migrated (it owns the tables).
func Open(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgblobs: %w", err)
	}
	db.SetMaxOpenConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgblobs: connect: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.db.Close() }

// Put writes the chunks of a new generation, then points the key at it and
// drops the old generation's chunks, all in one transaction.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if !blobs.ValidKey(key) {
		return blobs.InvalidKey(key)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgblobs: put %s: %w", key, err)
	}
	defer tx.Rollback()
	var gen int64
	if err := tx.QueryRowContext(ctx, `SELECT nextval('blob_generations')`).Scan(&gen); err != nil {
		return fmt.Errorf("pgblobs: put %s: %w", key, err)
	}
	buf := make([]byte, chunkSize)
	left := size
	for n := 0; left > 0; n++ {
		m := int(min(left, chunkSize))
		if _, err := io.ReadFull(r, buf[:m]); err != nil {
			return fmt.Errorf("pgblobs: put %s: reading: %w", key, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO blob_chunks (generation, n, data) VALUES ($1, $2, $3)`, gen, n, buf[:m]); err != nil {
			return fmt.Errorf("pgblobs: put %s: %w", key, err)
		}
		left -= int64(m)
	}
	var old sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT generation FROM blobs WHERE key = $1 FOR UPDATE`, key).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("pgblobs: put %s: %w", key, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (key, generation, size, content_type, modified_at) VALUES ($1, $2, $3, $4, now())
		ON CONFLICT (key) DO UPDATE SET generation = excluded.generation, size = excluded.size, content_type = excluded.content_type,
		modified_at = excluded.modified_at`,
		key, gen, size, contentType); err != nil {
		return fmt.Errorf("pgblobs: put %s: %w", key, err)
	}
	if old.Valid {
		if _, err := tx.ExecContext(ctx, `DELETE FROM blob_chunks WHERE generation = $1`, old.Int64); err != nil {
			return fmt.Errorf("pgblobs: put %s: %w", key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgblobs: put %s: %w", key, err)
	}
	return nil
}

// Open reads the file in a repeatable-read transaction, so chunks read
// later belong to the same generation even if the key is overwritten
// meanwhile; a file of one chunk is read at once and the transaction ends.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, int64, error) {
	if !blobs.ValidKey(key) {
		return nil, 0, blobs.InvalidKey(key)
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, 0, fmt.Errorf("pgblobs: open %s: %w", key, err)
	}
	var gen, size int64
	err = tx.QueryRowContext(ctx, `SELECT generation, size FROM blobs WHERE key = $1`, key).Scan(&gen, &size)
	if errors.Is(err, sql.ErrNoRows) {
		tx.Rollback()
		return nil, 0, blobs.NotFound(key)
	}
	if err != nil {
		tx.Rollback()
		return nil, 0, fmt.Errorf("pgblobs: open %s: %w", key, err)
	}
	rd := &reader{ctx: ctx, tx: tx, key: key, gen: gen, chunks: int((size + chunkSize - 1) / chunkSize)}
	if rd.chunks <= 1 {
		if rd.chunks == 1 {
			err = rd.next()
		}
		tx.Rollback() // read-only: nothing to commit
		rd.tx = nil
		if err != nil {
			return nil, 0, err
		}
	}
	return rd, size, nil
}

type reader struct {
	ctx    context.Context
	tx     *sql.Tx // nil once every chunk is read
	key    string
	gen    int64
	n      int // the next chunk to fetch
	chunks int
	buf    bytes.Reader
}

func (r *reader) next() error {
	var data []byte
	if err := r.tx.QueryRowContext(r.ctx, `SELECT data FROM blob_chunks WHERE generation = $1 AND n = $2`, r.gen, r.n).Scan(&data); err != nil {
		return fmt.Errorf("pgblobs: read %s chunk %d: %w", r.key, r.n, err)
	}
	r.n++
	r.buf.Reset(data)
	return nil
}

func (r *reader) Read(p []byte) (int, error) {
	for r.buf.Len() == 0 {
		if r.n >= r.chunks || r.tx == nil {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	return r.buf.Read(p)
}

func (r *reader) Close() error {
	if r.tx == nil {
		return nil
	}
	err := r.tx.Rollback()
	r.tx = nil
	return err
}

// Delete removes the key and its chunks; a missing key is fine.
func (s *Store) Delete(ctx context.Context, key string) error {
	if !blobs.ValidKey(key) {
		return blobs.InvalidKey(key)
	}
	_, err := s.db.ExecContext(ctx, `WITH gone AS (DELETE FROM blobs WHERE key = $1 RETURNING generation)
		DELETE FROM blob_chunks WHERE generation IN (SELECT generation FROM gone)`, key)
	if err != nil {
		return fmt.Errorf("pgblobs: delete %s: %w", key, err)
	}
	return nil
}

// List describes the files under prefix, sorted byte-wise (COLLATE "C"),
// as every Store sorts.
func (s *Store) List(ctx context.Context, prefix string) ([]blobs.Info, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT key, size, modified_at FROM blobs WHERE starts_with(key, $1) ORDER BY key COLLATE "C"`, prefix)
	if err != nil {
		return nil, fmt.Errorf("pgblobs: list: %w", err)
	}
	defer rows.Close()
	var out []blobs.Info
	for rows.Next() {
		var i blobs.Info
		if err := rows.Scan(&i.Key, &i.Size, &i.Modified); err != nil {
			return nil, fmt.Errorf("pgblobs: list: %w", err)
		}
		out = append(out, i)
	}
	return out, rows.Err()
}
