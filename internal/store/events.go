package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"vo/internal/account"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/wire"
)

// EventRetention is how long the log keeps events for catch-up; a client
// whose cursor is older gets a snapshot instead.
const EventRetention = 24 * time.Hour

// OnCommit registers f to receive the events of every committed write, in
// seq order per org. The server publishes them on its bus.
func (s *Store) OnCommit(f func([]events.Event)) { s.onCommit = f }

// lockOrg takes the org's row lock until the transaction ends (SQLite has
// one writer, so its transactions are serial already).
func (t *Tx) lockOrg(ctx context.Context, orgID string) error {
	if t.s.dialect != Postgres {
		return nil
	}
	var seq int64
	err := t.queryRow(ctx, `SELECT event_seq FROM orgs WHERE id = ? FOR UPDATE`, orgID).Scan(&seq)
	return internal("lock org", err)
}

// append adds an event to the org's log in this transaction, with a row
// per recipient when it is not for the whole org. Seq comes from a row
// lock on the org, so events of one org commit in seq order.
func (t *Tx) append(ctx context.Context, e events.Event) error {
	if err := t.queryRow(ctx, `UPDATE orgs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq`, e.OrgID).Scan(&e.Seq); err != nil {
		return internal("event seq", err)
	}
	scope := "org"
	switch {
	case e.SessionID != "":
		scope = "session"
	case len(e.Audience) > 0:
		scope = "users"
	}
	if _, err := t.exec(ctx, `INSERT INTO events (org_id, seq, type, scope, session_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.OrgID, e.Seq, e.Type, scope, nullable(e.SessionID), string(e.Data), ms(t.s.clock.Now())); err != nil {
		return internal("append event", err)
	}
	for _, u := range e.Audience {
		if _, err := t.exec(ctx, `INSERT INTO event_audience (org_id, seq, user_id) VALUES (?, ?, ?)`, e.OrgID, e.Seq, u); err != nil {
			return internal("append event audience", err)
		}
	}
	t.events = append(t.events, e)
	return nil
}

// toOrg logs an event for everyone in the org.
func (t *Tx) toOrg(ctx context.Context, orgID, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return internal("encode event", err)
	}
	return t.append(ctx, events.ToOrg(orgID, typ, b))
}

// toUsers logs an event for the given users of the org only.
func (t *Tx) toUsers(ctx context.Context, orgID, typ string, data any, userIDs ...string) error {
	b, err := json.Marshal(data)
	if err != nil {
		return internal("encode event", err)
	}
	return t.append(ctx, events.ToUsers(orgID, typ, b, userIDs...))
}

// toSession logs an event for one session of a user only.
func (t *Tx) toSession(ctx context.Context, orgID, userID, sessionID, typ string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return internal("encode event", err)
	}
	return t.append(ctx, events.ToSession(orgID, userID, sessionID, typ, b))
}

// EventsAfter returns the org's events with seq > after, oldest first, at
// most limit, each with its audience: what a hub needs to fill a gap. ok
// is false when events after the cursor were already pruned, or the cursor
// is ahead of the log: the caller must snapshot.
func (s *Store) EventsAfter(ctx context.Context, orgID string, after int64, limit int) (evs []events.Event, ok bool, err error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, false, internal("events", err)
	}
	defer tx.Rollback()
	if _, ok, err := s.logHolds(ctx, tx, orgID, after); err != nil || !ok {
		return nil, false, err
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT seq, type, scope, COALESCE(session_id, ''), data FROM events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?`), orgID, after, limit)
	evs, err = scanEvents(orgID, "", rows, err)
	if err != nil || len(evs) == 0 {
		return evs, err == nil, err
	}
	rows, err = tx.QueryContext(ctx, s.rebind(`SELECT seq, user_id FROM event_audience WHERE org_id = ? AND seq > ? AND seq <= ? ORDER BY seq, user_id`), orgID, after, evs[len(evs)-1].Seq)
	if err != nil {
		return nil, false, internal("event audience", err)
	}
	defer rows.Close()
	i := 0 // evs and the rows are both in seq order, and read in one snapshot
	for rows.Next() {
		var seq int64
		var u string
		if err := rows.Scan(&seq, &u); err != nil {
			return nil, false, internal("event audience scan", err)
		}
		for evs[i].Seq < seq {
			i++
		}
		evs[i].Audience = append(evs[i].Audience, u)
	}
	return evs, true, internal("event audience rows", rows.Err())
}

// EventsFor returns what one session may see of the org's log after the
// cursor: the org's events, its user's own, and its own; at most limit,
// oldest first. last is the seq it read up to, the log's head: live events
// continue after it. ok is false when the caller must snapshot instead:
// events after the cursor were pruned, the cursor is ahead of the log, or
// more than limit events are to be sent. Another user's private events are
// never read.
func (s *Store) EventsFor(ctx context.Context, orgID, userID, sessionID string, after int64, limit int) (evs []events.Event, last int64, ok bool, err error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, 0, false, internal("catch-up", err)
	}
	defer tx.Rollback()
	last, ok, err = s.logHolds(ctx, tx, orgID, after)
	if err != nil || !ok {
		return nil, 0, false, err
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT e.seq, e.type, e.scope, COALESCE(e.session_id, ''), e.data FROM events e
		WHERE e.org_id = ? AND e.seq > ? AND e.seq <= ? AND (e.scope = 'org' OR
			EXISTS (SELECT 1 FROM event_audience a WHERE a.org_id = e.org_id AND a.user_id = ? AND a.seq = e.seq) AND (e.scope = 'users' OR e.session_id = ?))
		ORDER BY e.seq LIMIT ?`), orgID, after, last, userID, sessionID, limit+1)
	evs, err = scanEvents(orgID, userID, rows, err)
	if err != nil || len(evs) > limit {
		return nil, 0, false, err
	}
	return evs, last, true, nil
}

// snapshotTx is a read transaction that sees one moment of the database.
func (s *Store) snapshotTx() *sql.TxOptions {
	if s.dialect == SQLite {
		return &sql.TxOptions{ReadOnly: true} // a WAL read transaction is already a snapshot
	}
	return &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
}

// logHolds returns the org log's head, and reports whether the log still
// holds every event after the cursor and the cursor is not ahead of it.
func (s *Store) logHolds(ctx context.Context, tx *sql.Tx, orgID string, after int64) (head int64, ok bool, err error) {
	var oldest int64
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT event_seq, COALESCE((SELECT MIN(seq) FROM events WHERE org_id = ?), event_seq + 1) FROM orgs WHERE id = ?`), orgID, orgID).Scan(&head, &oldest); err != nil {
		return 0, false, internal("event head", err)
	}
	return head, after <= head && after+1 >= oldest, nil
}

// scanEvents reads rows of seq, type, scope, session id and data as the
// org's events. A private event's audience is the given reader, if any.
func scanEvents(orgID, reader string, rows *sql.Rows, err error) ([]events.Event, error) {
	if err != nil {
		return nil, internal("events", err)
	}
	defer rows.Close()
	var evs []events.Event
	for rows.Next() {
		e := events.Event{OrgID: orgID}
		var scope, data string
		if err := rows.Scan(&e.Seq, &e.Type, &scope, &e.SessionID, &data); err != nil {
			return nil, internal("events scan", err)
		}
		if scope != "org" && reader != "" {
			e.Audience = []string{reader}
		}
		e.Data = json.RawMessage(data)
		evs = append(evs, e)
	}
	return evs, internal("events rows", rows.Err())
}

// EventHead returns the newest seq of the org's log.
func (s *Store) EventHead(ctx context.Context, orgID string) (int64, error) {
	var head int64
	err := s.queryRow(ctx, `SELECT event_seq FROM orgs WHERE id = ?`, orgID).Scan(&head)
	return head, internal("event head", err)
}

// PruneEvents deletes events older than the retention, keeping each org's
// newest so that a current cursor never looks pruned.
func (s *Store) PruneEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `DELETE FROM events WHERE created_at < ? AND seq < (SELECT event_seq FROM orgs WHERE orgs.id = events.org_id)`, ms(s.clock.Now().Add(-EventRetention)))
		if err != nil {
			return internal("prune events", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// userAdded announces a new colleague to the org.
func (t *Tx) userAdded(ctx context.Context, u account.User) error {
	st := presence.State{Status: presence.Available, Version: 1}
	if _, err := t.exec(ctx, `INSERT INTO presence (user_id, org_id) VALUES (?, ?)`, u.ID, u.OrgID); err != nil {
		return internal("create presence", err)
	}
	return t.contactChanged(ctx, u, st, presence.ShownOffline)
}

// contactChanged announces a profile change (or a new user) to the org.
func (t *Tx) contactChanged(ctx context.Context, u account.User, st presence.State, shown presence.Shown) error {
	return t.toOrg(ctx, u.OrgID, events.TypeContact, map[string]any{"user": wire.ContactOf(u, wire.PublicPresence(st, shown))})
}

// userRemoved tells the org that a colleague is gone.
func (t *Tx) userRemoved(ctx context.Context, orgID, userID string) error {
	return t.toOrg(ctx, orgID, events.TypeContact, map[string]any{"user_id": userID, "removed": true})
}
