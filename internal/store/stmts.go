package store

import (
	"context"
	"database/sql"
	"sync"
)

// SQLite parses a query again at every call unless it was prepared; a send
// of a chat message runs some twenty queries, and parsing them was a fifth
// of its time. The store therefore keeps its SQLite queries prepared, once
// per connection: the read pool's directly (readPool), the writer's for its
// transactions (Tx.stmt), which take them over by Tx.StmtContext.
// PostgreSQL's driver keeps its own cache per connection.

// maxCachedStmts bounds a cache, and maxCachedQuery the queries it keeps:
// a statement that inserts hundreds of rows at once is long, and rarely
// the same twice.
const (
	maxCachedStmts = 512
	maxCachedQuery = 8 << 10
)

// stmtCache is the queries prepared once on a pool.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// peek returns query if it is prepared already.
func (c *stmtCache) peek(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// get returns query prepared on db, preparing it when it is not yet and
// the cache has room; nil when it is not cached (the caller runs it
// plainly, which reports any error). db must have a connection to spare:
// not the writer while a transaction holds it.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	if len(query) > maxCachedQuery {
		return nil
	}
	c.mu.Lock()
	st, ok := c.m[query]
	full := len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok {
		st.Close()
		return old
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = nil
}

// readPool is the read pool as a q, its queries prepared once on SQLite.
type readPool struct{ s *Store }

func (p readPool) stmt(ctx context.Context, query string) *sql.Stmt {
	if p.s.dialect != SQLite {
		return nil
	}
	return p.s.readStmts.get(ctx, p.s.r, query)
}

func (p readPool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.s.r.ExecContext(ctx, query, args...)
}

func (p readPool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.s.r.QueryContext(ctx, query, args...)
}

func (p readPool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.s.r.QueryRowContext(ctx, query, args...)
}

// keepWriterStmts prepares on the writer, once its transaction has ended,
// the queries the transaction prepared for itself, so that the next
// transactions take them over instead of parsing them again.
func (s *Store) keepWriterStmts(ctx context.Context, used map[string]*sql.Stmt) {
	if s.dialect != SQLite {
		return
	}
	for query := range used {
		if s.writeStmts.peek(query) == nil {
			s.writeStmts.get(ctx, s.w, query)
		}
	}
}
