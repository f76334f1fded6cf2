package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"strings"

	"modernc.org/sqlite"

	"vo/internal/apperr"
	"vo/internal/chat"
)

// Message search (SPEC §8, issue 11 pt 3). Each engine answers a search
// from a full-text index, never by reading every message:
//
//   - SQLite: the FTS5 table message_fts, which triggers keep in step with
//     messages (migration 00009), indexing vo_search_doc(text).
//   - PostgreSQL: the tsvector column messages.search (GIN index), which
//     the store writes with each insert, edit and delete.
//
// Both index a message's chat.SearchWords (searchDoc), the words a query
// is split into: neither engine folds accents of every script by itself
// (unicode61 folds Latin ones; PostgreSQL needs the unaccent extension,
// which may not be installed).
//
// A query's words are only letters and digits (chat.SearchWords), and each
// is still quoted as one token, so no query syntax gets through.

// vo_search_doc is searchDoc for SQLite's triggers.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("vo_search_doc", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return searchDoc(v), nil
		case []byte:
			return searchDoc(string(v)), nil
		}
		return "", nil
	})
	if err != nil {
		panic(err)
	}
}

// searchSet returns the column, placeholder and argument that an INSERT
// into messages adds for the search index: none on SQLite, whose triggers
// index the text.
func (s *Store) searchSet(text string) (col, val string, args []any) {
	if s.dialect != Postgres {
		return "", "", nil
	}
	return ", search", ", to_tsvector('simple', ?)", []any{searchDoc(text)}
}

// searchUpdate returns what an UPDATE of a message's text sets for the
// search index; text "" (a deleted message) takes it out of the index.
func (s *Store) searchUpdate(text string) (set string, args []any) {
	switch {
	case s.dialect != Postgres:
		return "", nil
	case text == "":
		return ", search = NULL", nil
	}
	return ", search = to_tsvector('simple', ?)", []any{searchDoc(text)}
}

// searchDoc is the text indexed for a message: its search words, folded,
// one space apart.
func searchDoc(text string) string { return strings.Join(chat.SearchWords(text), " ") }

// matchExpr is the engine's full-text query for q: every word, the last
// one as a prefix when q.Prefix.
func (s *Store) matchExpr(q chat.Query) string {
	parts := make([]string, len(q.Words))
	for i, w := range q.Words {
		prefix := q.Prefix && i == len(q.Words)-1
		if s.dialect == Postgres {
			parts[i] = "'" + strings.ReplaceAll(strings.ReplaceAll(w, `\`, `\\`), "'", "''") + "'"
			if prefix {
				parts[i] += ":*"
			}
			continue
		}
		parts[i] = `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if prefix {
			parts[i] += "*"
		}
	}
	if s.dialect == Postgres {
		return strings.Join(parts, " & ")
	}
	return strings.Join(parts, " ")
}

// The caller's messages: only those of conversations of the caller's org
// that the caller is a member of now.
const searchScopeSQL = ` JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = ?
	JOIN conversations c ON c.id = m.conversation_id AND c.org_id = ?`

// searchSQL is the statement SearchMessages runs; paged adds the bound of
// the before message. Its arguments: userID, orgID, the match
// expression, [before's created_at, conversation and seq], limit. Newest
// first: by time sent, then (for one millisecond's) by conversation and
// its own order.
func (s *Store) searchSQL(paged bool) string {
	q := `SELECT ` + msgCols
	if s.dialect == Postgres {
		q += ` FROM messages m` + searchScopeSQL + ` WHERE m.search @@ to_tsquery('simple', ?)`
	} else {
		q += ` FROM message_fts JOIN message_search_ids si ON si.fts_id = message_fts.rowid
	JOIN messages m ON m.id = si.message_id` + searchScopeSQL + ` WHERE message_fts MATCH ?`
	}
	q += ` AND m.deleted_at IS NULL`
	if paged {
		q += ` AND (m.created_at, m.conversation_id, m.seq) < (?, ?, ?)`
	}
	return q + ` ORDER BY m.created_at DESC, m.conversation_id DESC, m.seq DESC LIMIT ?`
}

// msgPlace is a message's place in search results.
type msgPlace struct {
	at     int64
	convID string
	seq    int64
}

// searchArgs are searchSQL's arguments.
func (s *Store) searchArgs(orgID, userID string, q chat.Query, before *msgPlace, limit int) []any {
	args := []any{userID, orgID, s.matchExpr(q)}
	if before != nil {
		args = append(args, before.at, before.convID, before.seq)
	}
	return append(args, limit)
}

// SearchMessages implements chat.Store, paged by the id of the page's
// oldest message.
func (s *Store) SearchMessages(ctx context.Context, orgID, userID string, q chat.Query, before string, limit int) ([]chat.Message, string, error) {
	if len(q.Words) == 0 {
		return nil, "", apperr.New(apperr.Invalid, "q must hold at least one word")
	}
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, "", internal("search", err)
	}
	defer tx.Rollback()
	r := reader{s, tx}
	var key *msgPlace
	if before != "" {
		key = &msgPlace{}
		err := r.queryRow(ctx, `SELECT m.created_at, m.conversation_id, m.seq FROM messages m`+searchScopeSQL+` WHERE m.id = ?`,
			userID, orgID, before).Scan(&key.at, &key.convID, &key.seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, "", apperr.New(apperr.Invalid, "before must be a message of one's conversations")
		}
		if err != nil {
			return nil, "", internal("search before", err)
		}
	}
	out, err := r.messages(ctx, s.searchSQL(before != ""), s.searchArgs(orgID, userID, q, key, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// indexPendingMessages writes the search column of the PostgreSQL messages
// that have none: those sent before migration 00009. It runs at Open, in
// batches; a message edited or deleted meanwhile has its own, and keeps it.
func (s *Store) indexPendingMessages(ctx context.Context) error {
	if s.dialect != Postgres {
		return nil
	}
	for {
		rows, err := s.w.QueryContext(ctx, s.rebind(`SELECT id, text FROM messages WHERE search IS NULL AND deleted_at IS NULL ORDER BY id LIMIT 500`))
		if err != nil {
			return internal("index pending messages", err)
		}
		type pending struct{ id, text string }
		var batch []pending
		for rows.Next() {
			var p pending
			if err := rows.Scan(&p.id, &p.text); err != nil {
				rows.Close()
				return internal("index pending messages", err)
			}
			batch = append(batch, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return internal("index pending messages", err)
		}
		if len(batch) == 0 {
			return nil
		}
		err = s.tx(ctx, func(t *Tx) error {
			for _, p := range batch {
				if _, err := t.exec(ctx, `UPDATE messages SET search = to_tsvector('simple', ?) WHERE id = ? AND search IS NULL AND deleted_at IS NULL`,
					searchDoc(p.text), p.id); err != nil {
					return internal("index pending messages", err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
}
