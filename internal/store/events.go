package store

import (
	"context"
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

// append adds an event to the org's log in this transaction. Seq comes from
// a row lock on the org, so events of one org commit in seq order.
func (t *Tx) append(ctx context.Context, e events.Event) error {
	if err := t.queryRow(ctx, `UPDATE orgs SET event_seq = event_seq + 1 WHERE id = ? RETURNING event_seq`, e.OrgID).Scan(&e.Seq); err != nil {
		return internal("event seq", err)
	}
	if _, err := t.exec(ctx, `INSERT INTO events (org_id, seq, type, user_id, session_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.OrgID, e.Seq, e.Type, nullable(e.UserID), nullable(e.SessionID), string(e.Data), ms(t.s.clock.Now())); err != nil {
		return internal("append event", err)
	}
	t.events = append(t.events, e)
	return nil
}

func (t *Tx) appendJSON(ctx context.Context, orgID, typ, userID, sessionID string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return internal("encode event", err)
	}
	return t.append(ctx, events.Event{OrgID: orgID, Type: typ, UserID: userID, SessionID: sessionID, Data: b})
}

// EventsAfter returns the org's events with seq > after, oldest first, at
// most limit. ok is false when events after the cursor were already
// pruned, or the cursor is ahead of the log: the caller must snapshot.
func (s *Store) EventsAfter(ctx context.Context, orgID string, after int64, limit int) (evs []events.Event, ok bool, err error) {
	var head, oldest int64
	if err := s.queryRow(ctx, `SELECT event_seq, COALESCE((SELECT MIN(seq) FROM events WHERE org_id = ?), event_seq + 1) FROM orgs WHERE id = ?`, orgID, orgID).Scan(&head, &oldest); err != nil {
		return nil, false, internal("event head", err)
	}
	if after > head || after+1 < oldest {
		return nil, false, nil
	}
	rows, err := s.query(ctx, `SELECT seq, type, COALESCE(user_id, ''), COALESCE(session_id, ''), data FROM events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?`, orgID, after, limit)
	if err != nil {
		return nil, false, internal("events", err)
	}
	defer rows.Close()
	for rows.Next() {
		e := events.Event{OrgID: orgID}
		var data string
		if err := rows.Scan(&e.Seq, &e.Type, &e.UserID, &e.SessionID, &data); err != nil {
			return nil, false, internal("events scan", err)
		}
		e.Data = json.RawMessage(data)
		evs = append(evs, e)
	}
	return evs, true, internal("events rows", rows.Err())
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
	return t.appendJSON(ctx, u.OrgID, events.TypeContact, "", "", map[string]any{"user": wire.ContactOf(u, wire.PublicPresence(st, shown))})
}

// userRemoved tells the org that a colleague is gone.
func (t *Tx) userRemoved(ctx context.Context, orgID, userID string) error {
	return t.appendJSON(ctx, orgID, events.TypeContact, "", "", map[string]any{"user_id": userID, "removed": true})
}
