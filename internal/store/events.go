package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
// position order per stream. The server publishes them on its bus.
func (s *Store) OnCommit(f func([]events.Event)) { s.onCommit = f }

// append logs an event in this transaction. Its positions are assigned
// when the transaction ends (sequence), so that the stream rows are the
// last rows it locks.
func (t *Tx) append(e events.Event) {
	e.Seq, e.Pos = 0, nil
	t.events = append(t.events, e)
}

// sequence gives the transaction's events their positions and stores
// them, just before it commits. An event for the whole org takes the next
// position of the org's stream (orgs.event_seq); one for users or a
// session takes the next position of each recipient's stream
// (user_streams), and is stored once per recipient. Each stream row is
// locked by the update that bumps it, and held until the commit, so a
// stream's events commit in position order. The rows are locked in one
// order, orgs by id and then users by id, after every other row the
// transaction locks: two transactions never wait on each other in a
// cycle, and private events of different users never meet on a row.
func (t *Tx) sequence(ctx context.Context) error {
	now := ms(t.s.clock.Now())
	orgs := map[string][]int{}     // org id → its org-wide events, in order
	users := map[string][][2]int{} // user id → (event, audience index), in order
	for i := range t.events {
		e := &t.events[i]
		if e.OrgWide() {
			orgs[e.OrgID] = append(orgs[e.OrgID], i)
			continue
		}
		e.Pos = make([]int64, len(e.Audience))
		for j, u := range e.Audience {
			users[u] = append(users[u], [2]int{i, j})
		}
	}
	for _, id := range slices.Sorted(maps.Keys(orgs)) {
		idx := orgs[id]
		var last int64
		if err := t.queryRow(ctx, `UPDATE orgs SET event_seq = event_seq + ? WHERE id = ? RETURNING event_seq`, len(idx), id).Scan(&last); err != nil {
			return internal("event seq", err)
		}
		for k, i := range idx {
			e := &t.events[i]
			e.Seq = last - int64(len(idx)-1-k)
			if _, err := t.exec(ctx, `INSERT INTO events (org_id, seq, type, scope, session_id, data, created_at) VALUES (?, ?, ?, 'org', NULL, ?, ?)`,
				e.OrgID, e.Seq, e.Type, string(e.Data), now); err != nil {
				return internal("append event", err)
			}
		}
	}
	// Where each private event falls in its org's stream: after the org
	// event before it in this transaction, or after the org's head.
	afterOrg := make([]int64, len(t.events))
	heads := map[string]int64{}
	for i := range t.events {
		e := &t.events[i]
		if e.OrgWide() {
			heads[e.OrgID] = e.Seq
			continue
		}
		h, ok := heads[e.OrgID]
		if !ok {
			if idx := orgs[e.OrgID]; len(idx) > 0 {
				h = t.events[idx[0]].Seq - 1
			} else if err := t.queryRow(ctx, `SELECT event_seq FROM orgs WHERE id = ?`, e.OrgID).Scan(&h); err != nil {
				return internal("event head", err) // a plain read: no lock
			}
			heads[e.OrgID] = h
		}
		afterOrg[i] = h
	}
	runs, err := t.storeRuns(ctx, afterOrg, now)
	if err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(users))
	for len(ids) > 0 {
		n := min(len(ids), streamBatch)
		if err := t.appendUserEvents(ctx, ids[:n], users, afterOrg, runs, now); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// streamBatch is how many recipients' streams, or events, one statement
// advances or stores: a message to a group of 50 takes two statements, not
// a hundred, and a statement stays well under either engine's limit of
// parameters (10 × 500).
const streamBatch = 500

// appendUserEvents advances the streams of ids (sorted, so rows are locked
// in id order) by their events in this transaction, and stores them, in one
// upsert and one insert: an event of a run as one row per recipient for
// the whole run, any other once per recipient.
func (t *Tx) appendUserEvents(ctx context.Context, ids []string, users map[string][][2]int, afterOrg []int64, runs []*eventRun, now int64) error {
	var q strings.Builder
	args := make([]any, 0, 3*len(ids))
	q.WriteString(`INSERT INTO user_streams (user_id, org_id, pos) VALUES `)
	for i, u := range ids {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(`(?, ?, ?)`)
		args = append(args, u, t.events[users[u][0][0]].OrgID, len(users[u]))
	}
	q.WriteString(` ON CONFLICT (user_id) DO UPDATE SET pos = user_streams.pos + excluded.pos RETURNING user_id, pos`)
	rows, err := t.query(ctx, q.String(), args...)
	if err != nil {
		return internal("user stream seq", err)
	}
	last := make(map[string]int64, len(ids))
	for rows.Next() {
		var u string
		var pos int64
		if err := rows.Scan(&u, &pos); err != nil {
			rows.Close()
			return internal("user stream seq", err)
		}
		last[u] = pos
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internal("user stream seq", err)
	}
	rowsIn := 0
	flush := func() error {
		if rowsIn == 0 {
			return nil
		}
		_, err := t.exec(ctx, q.String(), args...)
		rowsIn = 0
		return internal("append user event", err)
	}
	for _, u := range ids {
		refs := users[u]
		l, ok := last[u]
		if !ok {
			return internal("user stream seq", fmt.Errorf("no position for a recipient"))
		}
		for k, r := range refs {
			e := &t.events[r[0]]
			pos := l - int64(len(refs)) + 1 + int64(k)
			e.Pos[r[1]] = pos
			// A run's events are consecutive in each recipient's stream
			// (storeRuns): its row is written at its last one.
			run := runs[r[0]]
			if run != nil && r[0] != run.first+run.n-1 {
				continue
			}
			if rowsIn == 0 {
				q.Reset()
				args = args[:0]
				q.WriteString(`INSERT INTO user_events (user_id, pos, org_id, type, session_id, data, created_at, after_org, span, run_id) VALUES `)
			} else {
				q.WriteByte(',')
			}
			q.WriteString(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
			data, span, runID := string(e.Data), 1, any(nil)
			if run != nil {
				data, span, runID = "", run.n, run.id
			}
			args = append(args, u, pos, e.OrgID, e.Type, nullable(e.SessionID), data, now, afterOrg[r[0]], span, runID)
			if rowsIn++; rowsIn == streamBatch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// shareFrom is the audience from which an event is stored once, in a run
// (event_runs), and its recipients' rows point at it: a message to a group
// of 50 writes its text once, not 50 times.
const shareFrom = 3

// runMax bounds a run, as the send lanes bound a batch (maxSendBatch).
const runMax = 64

// eventRun is events t.events[first : first+n], stored once as run id.
type eventRun struct {
	id       int64
	first, n int
}

// storeRuns groups the transaction's events into runs and stores each run's
// events once; it returns each event's run (nil: none). A run is
// consecutive events, each for the same shareFrom users or more and after
// the same org position: no other event of the transaction comes between
// them, so they are consecutive in each recipient's stream too, and one
// row per recipient, with the run's span of positions, holds them all.
func (t *Tx) storeRuns(ctx context.Context, afterOrg []int64, now int64) ([]*eventRun, error) {
	of := make([]*eventRun, len(t.events))
	var runs []*eventRun
	var cur *eventRun
	for i := range t.events {
		e := &t.events[i]
		if e.OrgWide() || e.SessionID != "" || len(e.Audience) < shareFrom {
			cur = nil
			continue
		}
		if cur != nil && cur.n < runMax && afterOrg[i] == afterOrg[cur.first] && slices.Equal(e.Audience, t.events[cur.first].Audience) {
			cur.n++
		} else {
			cur = &eventRun{first: i, n: 1}
			runs = append(runs, cur)
		}
		of[i] = cur
	}
	if len(runs) == 0 {
		return of, nil
	}
	if err := t.runIDs(ctx, runs); err != nil {
		return nil, err
	}
	var q strings.Builder
	args := make([]any, 0, 5*min(len(t.events), streamBatch))
	rowsIn := 0
	flush := func() error {
		if rowsIn == 0 {
			return nil
		}
		_, err := t.exec(ctx, q.String(), args...)
		rowsIn = 0
		return internal("event run", err)
	}
	for _, r := range runs {
		for k := range r.n {
			e := &t.events[r.first+k]
			if rowsIn == 0 {
				q.Reset()
				args = args[:0]
				q.WriteString(`INSERT INTO event_runs (run_id, idx, type, data, created_at) VALUES `)
			} else {
				q.WriteByte(',')
			}
			q.WriteString(`(?, ?, ?, ?, ?)`)
			args = append(args, r.id, k, e.Type, string(e.Data), now)
			if rowsIn++; rowsIn == streamBatch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	return of, flush()
}

// runIDs gives each run a new id: on PostgreSQL from a sequence, which
// locks nothing until the commit; on SQLite, whose one writer is this
// transaction, after the largest stored. (An id of a pruned run may come
// again, once no row names it: prune rewrites the rows of a run before it
// deletes the run, and both are as old.)
func (t *Tx) runIDs(ctx context.Context, runs []*eventRun) error {
	if t.s.dialect == Postgres {
		rows, err := t.query(ctx, `SELECT nextval('event_run_ids') FROM generate_series(1, ?)`, len(runs))
		if err != nil {
			return internal("event run id", err)
		}
		defer rows.Close()
		i := 0
		for rows.Next() && i < len(runs) {
			if err := rows.Scan(&runs[i].id); err != nil {
				return internal("event run id", err)
			}
			i++
		}
		if err := rows.Err(); err != nil || i < len(runs) {
			return internal("event run id", errors.Join(err, fmt.Errorf("%d ids for %d runs", i, len(runs))))
		}
		return nil
	}
	var top int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(run_id), 0) FROM event_runs`).Scan(&top); err != nil {
		return internal("event run id", err)
	}
	for i, r := range runs {
		r.id = top + 1 + int64(i)
	}
	return nil
}

// userEventCols are what a read of a user's stream selects, one row per
// event, from user_events e joined to its run r or (stored before runs) its
// shared body b (userEventsFrom): the event's position (userEventPos), its
// type, session, data and org position.
const userEventCols = userEventPos + `, COALESCE(r.type, e.type), COALESCE(e.session_id, ''), COALESCE(r.data, b.data, e.data), e.after_org`

// userEventPos is the position of a row's event: a run's rows take the
// span that ends at e.pos, in idx order.
const userEventPos = `e.pos - e.span + 1 + COALESCE(r.idx, 0)`

const userEventsFrom = ` FROM user_events e LEFT JOIN event_runs r ON r.run_id = e.run_id LEFT JOIN event_bodies b ON b.id = e.body_id`

// userEventsOrder orders a read of a user's stream by position.
const userEventsOrder = ` ORDER BY e.pos, r.idx`

// emit logs an event the domain built (wire.MessageChanged and the like),
// or fails the transaction when it could not be built.
func (t *Tx) emit(e events.Event, err error) error {
	if err != nil {
		return internal("build event", err)
	}
	t.append(e)
	return nil
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

// UserEventsAfter returns the user's own stream after pos, oldest first,
// at most limit: what a hub needs to fill a gap. Each event has the user
// as its audience and its position there. ok is false when events after
// the cursor were already pruned, or the cursor is ahead of the stream.
func (s *Store) UserEventsAfter(ctx context.Context, orgID, userID string, after int64, limit int) (evs []events.Event, ok bool, err error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, false, internal("user events", err)
	}
	defer tx.Rollback()
	if _, ok, err := s.userLogHolds(ctx, tx, userID, after); err != nil || !ok {
		return nil, false, err
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT `+userEventCols+userEventsFrom+`
		WHERE e.user_id = ? AND e.org_id = ? AND e.pos > ? AND `+userEventPos+` > ?`+userEventsOrder+` LIMIT ?`), userID, orgID, after, after, limit)
	evs, _, err = scanUserEvents(orgID, userID, rows, err)
	return evs, err == nil, err
}

// EventsFor returns what one session may see after the cursor: the org's
// events, its user's own and its own; at most limit, oldest first (a
// private event right after the org event it was logged after). last is the position it
// read up to, both streams' heads: live events continue after it. ok is
// false when the caller must snapshot instead: events after the cursor
// were pruned, the cursor is ahead of a stream, or more than limit events
// are to be sent. Another user's private events are never read: the two
// reads are index ranges, the org's stream and this user's.
func (s *Store) EventsFor(ctx context.Context, orgID, userID, sessionID string, after events.Position, limit int) (evs []events.Event, last events.Position, ok bool, err error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, last, false, internal("catch-up", err)
	}
	defer tx.Rollback()
	if last.Org, ok, err = s.logHolds(ctx, tx, orgID, after.Org); err != nil || !ok {
		return nil, last, false, err
	}
	if last.User, ok, err = s.userLogHolds(ctx, tx, userID, after.User); err != nil || !ok {
		return nil, last, false, err
	}
	// The org's stream holds private events logged before the streams
	// were split, which this session sees only if they were its own.
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT e.seq, e.type, e.scope, COALESCE(e.session_id, ''), e.data FROM events e
		WHERE e.org_id = ? AND e.seq > ? AND e.seq <= ? AND (e.scope = 'org' OR
			EXISTS (SELECT 1 FROM event_audience a WHERE a.org_id = e.org_id AND a.user_id = ? AND a.seq = e.seq) AND (e.scope = 'users' OR e.session_id = ?))
		ORDER BY e.seq LIMIT ?`), orgID, after.Org, last.Org, userID, sessionID, limit+1)
	orgEvs, err := scanEvents(orgID, userID, rows, err)
	if err != nil || len(orgEvs) > limit {
		return nil, last, false, err
	}
	rows, err = tx.QueryContext(ctx, s.rebind(`SELECT `+userEventCols+userEventsFrom+`
		WHERE e.user_id = ? AND e.org_id = ? AND e.pos > ? AND e.pos <= ? AND (e.session_id IS NULL OR e.session_id = ?) AND `+userEventPos+` > ?`+userEventsOrder+` LIMIT ?`),
		userID, orgID, after.User, last.User, sessionID, after.User, limit+1-len(orgEvs))
	userEvs, userAfter, err := scanUserEvents(orgID, userID, rows, err)
	if err != nil || len(orgEvs)+len(userEvs) > limit {
		return nil, last, false, err
	}
	evs = make([]events.Event, 0, len(orgEvs)+len(userEvs))
	i, j := 0, 0
	for i < len(orgEvs) || j < len(userEvs) {
		if j == len(userEvs) || i < len(orgEvs) && orgEvs[i].Seq <= userAfter[j] {
			evs = append(evs, orgEvs[i])
			i++
		} else {
			evs = append(evs, userEvs[j])
			j++
		}
	}
	return evs, last, true, nil
}

// userLogHolds is logHolds for a user's own stream. Its oldest position is
// the first of its first row's span.
func (s *Store) userLogHolds(ctx context.Context, tx *sql.Tx, userID string, after int64) (head int64, ok bool, err error) {
	var oldest int64
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COALESCE((SELECT pos FROM user_streams WHERE user_id = ?), 0),
		COALESCE((SELECT pos - span + 1 FROM user_events WHERE user_id = ? ORDER BY pos LIMIT 1), COALESCE((SELECT pos FROM user_streams WHERE user_id = ?), 0) + 1)`),
		userID, userID, userID).Scan(&head, &oldest); err != nil {
		return 0, false, internal("user event head", err)
	}
	return head, after <= head && after+1 >= oldest, nil
}

// scanUserEvents reads rows of position, type, session id, data and after_org
// as events of the user's own stream, with where each falls in the org's.
func scanUserEvents(orgID, userID string, rows *sql.Rows, err error) ([]events.Event, []int64, error) {
	if err != nil {
		return nil, nil, internal("user events", err)
	}
	defer rows.Close()
	var evs []events.Event
	var at []int64
	for rows.Next() {
		e := events.Event{OrgID: orgID, Audience: []string{userID}, Pos: []int64{0}}
		var data string
		var t int64
		if err := rows.Scan(&e.Pos[0], &e.Type, &e.SessionID, &data, &t); err != nil {
			return nil, nil, internal("user events scan", err)
		}
		e.Data = json.RawMessage(data)
		evs, at = append(evs, e), append(at, t)
	}
	return evs, at, internal("user events rows", rows.Err())
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

// PruneEvents deletes events older than the retention, keeping each
// stream's newest (the org's, each user's) so that a current cursor never
// looks pruned.
func (s *Store) PruneEvents(ctx context.Context) (int64, error) {
	var n int64
	err := s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `DELETE FROM events WHERE created_at < ? AND seq < (SELECT event_seq FROM orgs WHERE orgs.id = events.org_id)`, ms(s.clock.Now().Add(-EventRetention)))
		if err != nil {
			return internal("prune events", err)
		}
		n, _ = res.RowsAffected()
		res, err = t.exec(ctx, `DELETE FROM user_events WHERE created_at < ? AND pos < (SELECT pos FROM user_streams WHERE user_streams.user_id = user_events.user_id)`, ms(s.clock.Now().Add(-EventRetention)))
		if err != nil {
			return internal("prune user events", err)
		}
		m, _ := res.RowsAffected()
		n += m
		// What survived of the old rows (each stream keeps its newest) takes
		// its data back before the old runs and bodies go; a run's row keeps
		// only its last event, the stream's newest. Runs and bodies are as old
		// as their rows: one transaction wrote them, at one instant.
		cutoff := ms(s.clock.Now().Add(-EventRetention))
		if _, err := t.exec(ctx, `UPDATE user_events SET
			data = (SELECT r.data FROM event_runs r WHERE r.run_id = user_events.run_id AND r.idx = user_events.span - 1),
			type = (SELECT r.type FROM event_runs r WHERE r.run_id = user_events.run_id AND r.idx = user_events.span - 1),
			span = 1, run_id = NULL
			WHERE created_at < ? AND run_id IS NOT NULL`, cutoff); err != nil {
			return internal("prune event runs", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM event_runs WHERE created_at < ?`, cutoff); err != nil {
			return internal("prune event runs", err)
		}
		if _, err := t.exec(ctx, `UPDATE user_events SET data = (SELECT b.data FROM event_bodies b WHERE b.id = user_events.body_id), body_id = NULL
			WHERE created_at < ? AND body_id IS NOT NULL`, cutoff); err != nil {
			return internal("prune event bodies", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM event_bodies WHERE created_at < ?`, cutoff); err != nil {
			return internal("prune event bodies", err)
		}
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
	e, err := wire.ContactChanged(u, st, shown)
	return t.emit(e, err)
}

// userRemoved tells the org that a colleague is gone.
func (t *Tx) userRemoved(ctx context.Context, orgID, userID string) error {
	e, err := wire.ContactRemoved(orgID, userID)
	return t.emit(e, err)
}
