package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"vo/internal/account"
	"vo/internal/chat"
	"vo/internal/events"
)

// Test hooks for the external store_test package, which cannot live inside
// package store because storetest imports store.

// WriterForTest returns the writer pool (on SQLite, the one connection that
// writes), for statements a test runs that no method offers: EXPLAIN, ANALYZE.
func (s *Store) WriterForTest() *sql.DB { return s.w }

// RebindForTest turns ? placeholders into the engine's own.
func (s *Store) RebindForTest(q string) string { return s.rebind(q) }

// UserColsForTest is the column list Directory selects.
var UserColsForTest = userCols

// SearchKeyForTest normalises a directory query as Directory does.
func SearchKeyForTest(q string) string { return searchKey(q) }

// DecodeCursorForTest splits a directory cursor into its name key and id.
func DecodeCursorForTest(c string) (string, string, error) { return decodeCursor(c) }

// ExplainForTest returns the engine's query plan of q with args, one line
// per row. On PostgreSQL, generic asks for the plan a prepared statement
// gets once the server stops planning it per call (pgx prepares every
// statement, so after five calls that is the plan production runs).
func (s *Store) ExplainForTest(ctx context.Context, generic bool, q string, args ...any) ([]string, error) {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var rows *sql.Rows
	switch {
	case s.dialect == SQLite:
		rows, err = conn.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
	case !generic:
		rows, err = conn.QueryContext(ctx, "EXPLAIN "+s.rebind(q), args...)
	default:
		lits := make([]string, len(args))
		for i, a := range args {
			switch v := a.(type) {
			case string:
				lits[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
			default:
				lits[i] = fmt.Sprint(v)
			}
		}
		for _, st := range []string{"SET plan_cache_mode = force_generic_plan", "PREPARE vo_explain AS " + s.rebind(q)} {
			if _, err := conn.ExecContext(ctx, st); err != nil {
				return nil, err
			}
		}
		defer conn.ExecContext(ctx, "DEALLOCATE vo_explain")
		defer conn.ExecContext(ctx, "RESET plan_cache_mode")
		rows, err = conn.QueryContext(ctx, "EXPLAIN EXECUTE vo_explain("+strings.Join(lits, ", ")+")")
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		// SQLite: id, parent, notused, detail; PostgreSQL: one text column.
		switch v := vals[len(vals)-1].(type) {
		case string:
			out = append(out, v)
		case []byte:
			out = append(out, string(v))
		}
	}
	return out, rows.Err()
}

// BulkInsertForTest stores the users of an org with a few multi-row
// INSERTs: the rows and search terms CreateUsers writes, without the
// per-row checks and events, so that tests needing thousands of people
// (query plans) stay fast under -race. Callers pass valid, unique users.
func (s *Store) BulkInsertForTest(ctx context.Context, orgID string, in []account.HashedUser) error {
	const chunk = 500
	return s.tx(ctx, func(t *Tx) error {
		now := ms(s.clock.Now())
		for start := 0; start < len(in); start += chunk {
			part := in[start:min(start+chunk, len(in))]
			var users, terms, pres []string
			var uargs, targs, pargs []any
			for _, n := range part {
				u := account.User{ID: account.NewID("u"), OrgID: orgID, Name: n.Name, Email: n.Email, Extension: n.Extension, PhoneNumber: n.PhoneNumber}
				users = append(users, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)")
				uargs = append(uargs, u.ID, orgID, u.Name, nameKey(u.Name), u.Email, strings.ToLower(u.Email), string(n.Role), u.Extension, nullable(u.PhoneNumber), n.PasswordHash, now)
				seen := map[string]bool{}
				for _, term := range searchTerms(u) {
					if !seen[term] {
						seen[term] = true
						terms = append(terms, "(?, ?, ?)")
						targs = append(targs, orgID, term, u.ID)
					}
				}
				pres = append(pres, "(?, ?)")
				pargs = append(pargs, u.ID, orgID)
			}
			for _, st := range []struct {
				q    string
				args []any
			}{
				{`INSERT INTO users (id, org_id, name, name_key, email, email_key, role, extension, phone_number, password_hash, active, created_at) VALUES ` + strings.Join(users, ", "), uargs},
				{`INSERT INTO user_terms (org_id, term, user_id) VALUES ` + strings.Join(terms, ", "), targs},
				{`INSERT INTO presence (user_id, org_id) VALUES ` + strings.Join(pres, ", "), pargs},
			} {
				if _, err := t.exec(ctx, st.q, st.args...); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// AppendForTest logs e in a transaction of its own, as a feature would.
func (s *Store) AppendForTest(ctx context.Context, e events.Event) error {
	return s.tx(ctx, func(t *Tx) error { t.append(e); return nil })
}

// SchemaVersion returns the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.r.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&v)
	return v, err
}

// UserHeadsForTest returns the head of each user stream of the org.
func (s *Store) UserHeadsForTest(ctx context.Context, orgID string) (map[string]int64, error) {
	rows, err := s.query(ctx, `SELECT user_id, pos FROM user_streams WHERE org_id = ?`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var u string
		var p int64
		if err := rows.Scan(&u, &p); err != nil {
			return nil, err
		}
		out[u] = p
	}
	return out, rows.Err()
}

// UserEventsForTest returns the org's users' stream events after the given
// heads, each with its one recipient and position, ordered by where they
// fall in the org's stream, then by user and position; after is the org
// position each came after.
func (s *Store) UserEventsForTest(ctx context.Context, orgID string, heads map[string]int64) (evs []events.Event, after []int64, err error) {
	rows, err := s.query(ctx, `SELECT e.user_id, `+userEventCols+userEventsFrom+` WHERE e.org_id = ? ORDER BY e.after_org, e.user_id, e.pos, r.idx`, orgID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var e events.Event
		var u, data string
		var p, a int64
		if err := rows.Scan(&u, &p, &e.Type, &e.SessionID, &data, &a); err != nil {
			return nil, nil, err
		}
		if p <= heads[u] {
			continue
		}
		e.OrgID, e.Audience, e.Pos, e.Data = orgID, []string{u}, []int64{p}, json.RawMessage(data)
		evs, after = append(evs, e), append(after, a)
	}
	return evs, after, rows.Err()
}

// HeldTx is a write transaction whose events are appended and sequenced,
// so that it holds its stream rows' locks, and that is not yet committed.
type HeldTx struct{ t *Tx }

// HoldAppendForTest logs evs in a transaction it leaves open, as a feature
// would up to its commit.
func (s *Store) HoldAppendForTest(ctx context.Context, evs ...events.Event) (*HeldTx, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	x := &Tx{s: s, tx: tx}
	for _, e := range evs {
		x.append(e)
	}
	if err := x.sequence(ctx); err != nil {
		tx.Rollback()
		return nil, err
	}
	return &HeldTx{x}, nil
}

// Commit commits the held transaction.
func (h *HeldTx) Commit() error { return h.t.tx.Commit() }

// Rollback ends the held transaction, if Commit did not.
func (h *HeldTx) Rollback() { h.t.tx.Rollback() }

// UserEventHead (tests only: a stream reads it in StreamStart) returns the newest position of the user's own stream (0
// before the first).
func (s *Store) UserEventHead(ctx context.Context, userID string) (int64, error) {
	var head int64
	err := s.queryRow(ctx, `SELECT COALESCE((SELECT pos FROM user_streams WHERE user_id = ?), 0)`, userID).Scan(&head)
	return head, internal("user event head", err)
}

// SessionExists (tests only) reports whether a session is still logged in.
func (s *Store) SessionExists(ctx context.Context, id string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE id = ?`, id).Scan(&n)
	return n > 0, internal("session exists", err)
}

// SearchSQLForTest is the statement SearchMessages runs, and its arguments
// for a first page.
func (s *Store) SearchSQLForTest(orgID, userID string, q chat.Query, limit int) (string, []any) {
	return s.searchSQL(false), s.searchArgs(orgID, userID, q, nil, limit)
}
