package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/presence"
	"vo/internal/wire"
)

const defaultAutoAway = presence.DefaultAutoAway

func secondsToDuration(s int64) time.Duration { return time.Duration(s) * time.Second }

const presenceCols = `p.user_id, p.status, p.status_until, p.message, p.message_expires_at, p.activity, p.last_active_at, p.shown, p.version`

func scanPresence(row interface{ Scan(...any) error }) (presence.Row, error) {
	var r presence.Row
	var status, activity, shown string
	var until, expires sql.NullInt64
	var lastActive int64
	err := row.Scan(&r.UserID, &status, &until, &r.State.Message, &expires, &activity, &lastActive, &shown, &r.State.Version)
	r.State.Status, r.State.Activity, r.Shown = presence.Status(status), presence.Activity(activity), presence.Shown(shown)
	r.State.LastActive = fromMS(lastActive)
	if until.Valid {
		r.State.StatusUntil = fromMS(until.Int64)
	}
	if expires.Valid {
		r.State.MessageExpiresAt = fromMS(expires.Int64)
	}
	return r, err
}

// Presence returns one user's presence. NotFound for another org's user.
func (s *Store) Presence(ctx context.Context, orgID, userID string) (presence.Row, error) {
	r, err := scanPresence(s.queryRow(ctx, `SELECT `+presenceCols+` FROM presence p JOIN users u ON u.id = p.user_id
		WHERE p.user_id = ? AND p.org_id = ? AND u.active = 1`, userID, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return r, apperr.New(apperr.NotFound, "user not found")
	}
	return r, internal("presence", err)
}

// OrgPresence returns the presence of every active user of the org and the
// log's head seq, read in one transaction so that the snapshot and the
// cursor agree.
func (s *Store) OrgPresence(ctx context.Context, orgID string) ([]presence.Row, int64, error) {
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if s.dialect == SQLite {
		opts.Isolation = sql.LevelDefault // a WAL read transaction is already a snapshot
	}
	tx, err := s.r.BeginTx(ctx, opts)
	if err != nil {
		return nil, 0, internal("snapshot", err)
	}
	defer tx.Rollback()
	var head int64
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT event_seq FROM orgs WHERE id = ?`), orgID).Scan(&head); err != nil {
		return nil, 0, internal("snapshot head", err)
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT `+presenceCols+` FROM presence p JOIN users u ON u.id = p.user_id WHERE p.org_id = ? AND u.active = 1`), orgID)
	if err != nil {
		return nil, 0, internal("snapshot", err)
	}
	defer rows.Close()
	var out []presence.Row
	for rows.Next() {
		r, err := scanPresence(rows)
		if err != nil {
			return nil, 0, internal("snapshot scan", err)
		}
		out = append(out, r)
	}
	return out, head, internal("snapshot rows", rows.Err())
}

// ChangePresence applies change to the user's stored state, then expiry and
// the derived rules, in one transaction. When anything anyone sees changed,
// the version goes up and presence and me.presence events are logged.
// change may be nil (a recompute: sessions or time changed).
func (s *Store) ChangePresence(ctx context.Context, orgID, userID string, change func(*presence.State) error) (presence.Row, error) {
	var out presence.Row
	err := s.tx(ctx, func(t *Tx) error {
		var err error
		out, err = t.recompute(ctx, orgID, userID, change)
		return err
	})
	return out, err
}

// DuePresence returns the users whose presence may change by itself at or
// before now (an expiry or auto-away), at most limit.
func (s *Store) DuePresence(ctx context.Context, now time.Time, limit int) ([][2]string, error) {
	rows, err := s.query(ctx, `SELECT org_id, user_id FROM presence WHERE next_change_at IS NOT NULL AND next_change_at <= ? ORDER BY next_change_at LIMIT ?`, ms(now), limit)
	if err != nil {
		return nil, internal("due presence", err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var o, u string
		if err := rows.Scan(&o, &u); err != nil {
			return nil, internal("due presence", err)
		}
		out = append(out, [2]string{o, u})
	}
	return out, internal("due presence", rows.Err())
}

// NextPresenceChange returns the earliest pending instant, or zero.
func (s *Store) NextPresenceChange(ctx context.Context) (time.Time, error) {
	var v sql.NullInt64
	if err := s.queryRow(ctx, `SELECT MIN(next_change_at) FROM presence WHERE next_change_at IS NOT NULL`).Scan(&v); err != nil {
		return time.Time{}, internal("next presence change", err)
	}
	if !v.Valid {
		return time.Time{}, nil
	}
	return fromMS(v.Int64), nil
}

// recompute is the one place presence is written.
func (t *Tx) recompute(ctx context.Context, orgID, userID string, change func(*presence.State) error) (presence.Row, error) {
	// The user's presence row is locked as it is read, so on PostgreSQL
	// concurrent changes of one user cannot lose an update, while changes
	// of different users do not wait for each other (SQLite has one writer,
	// so its transactions are serial already).
	lock := ""
	if t.s.dialect == Postgres {
		lock = " FOR UPDATE OF p"
	}
	row, err := scanPresence(t.queryRow(ctx, `SELECT `+presenceCols+` FROM presence p JOIN users u ON u.id = p.user_id
		WHERE p.user_id = ? AND p.org_id = ? AND u.active = 1`+lock, userID, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return row, apperr.New(apperr.NotFound, "user not found")
	}
	if err != nil {
		return row, internal("read presence", err)
	}
	var facts presence.Facts
	var autoAway int64
	if err := t.queryRow(ctx, `SELECT COUNT(s.id), COALESCE(SUM(CASE WHEN s.platform = 'mobile' THEN 1 ELSE 0 END), 0), o.auto_away_seconds
		FROM orgs o LEFT JOIN sessions s ON s.user_id = ? WHERE o.id = ? GROUP BY o.auto_away_seconds`, userID, orgID).Scan(&facts.Sessions, &facts.MobileSessions, &autoAway); err != nil {
		return row, internal("presence facts", err)
	}
	facts.Now, facts.AutoAway = t.s.clock.Now(), secondsToDuration(autoAway)
	next := row.State
	if change != nil {
		if err := change(&next); err != nil {
			return row, err
		}
	}
	next = presence.Expire(next, facts.Now)
	shown := presence.Derive(next, facts)
	changed := shown != row.Shown || next.Status != row.State.Status || next.Message != row.State.Message ||
		next.Activity != row.State.Activity || !next.StatusUntil.Equal(row.State.StatusUntil) || !next.MessageExpiresAt.Equal(row.State.MessageExpiresAt)
	if changed {
		next.Version = row.State.Version + 1
	}
	nextChange := presence.NextChange(next, facts)
	if _, err := t.exec(ctx, `UPDATE presence SET status = ?, status_until = ?, message = ?, message_expires_at = ?, activity = ?, last_active_at = ?, shown = ?, version = ?, next_change_at = ? WHERE user_id = ?`,
		string(next.Status), msOrNull(next.StatusUntil), next.Message, msOrNull(next.MessageExpiresAt), string(next.Activity), ms(next.LastActive), string(shown), next.Version, msOrNull(nextChange), userID); err != nil {
		return row, internal("write presence", err)
	}
	out := presence.Row{UserID: userID, State: next, Shown: shown}
	if !changed {
		return out, nil
	}
	evs, err := wire.PresenceEvents(orgID, userID, next, shown)
	if err != nil {
		return out, internal("build presence events", err)
	}
	for _, e := range evs {
		t.append(e)
	}
	return out, nil
}

// SetPhoto records a user's new photo hash ("" removes it), announces the
// contact change, and returns the previous hash so its files can go.
func (s *Store) SetPhoto(ctx context.Context, orgID, userID, hash string) (old string, u account.User, err error) {
	err = s.tx(ctx, func(t *Tx) error {
		u, err = scanUser(t.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ? AND org_id = ? AND active = 1`, userID, orgID))
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "user not found")
		}
		if err != nil {
			return internal("set photo", err)
		}
		old = u.PhotoHash
		if old == hash {
			return nil
		}
		if _, err := t.exec(ctx, `UPDATE users SET photo_hash = ? WHERE id = ?`, nullable(hash), userID); err != nil {
			return internal("set photo", err)
		}
		u.PhotoHash = hash
		p, err := scanPresence(t.queryRow(ctx, `SELECT `+presenceCols+` FROM presence p WHERE p.user_id = ?`, userID))
		if err != nil {
			return internal("set photo presence", err)
		}
		return t.contactChanged(ctx, u, p.State, p.Shown)
	})
	return old, u, err
}

// PhotoInUse reports whether any user still points at the photo hash.
func (s *Store) PhotoInUse(ctx context.Context, hash string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE photo_hash = ?`, hash).Scan(&n)
	return n > 0, internal("photo in use", err)
}

func msOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ms(t)
}

// PresenceFor returns the presence of the given users of the org, by id.
func (s *Store) PresenceFor(ctx context.Context, orgID string, ids []string) (map[string]presence.Row, error) {
	out := make(map[string]presence.Row, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, orgID)
	marks := make([]byte, 0, 2*len(ids))
	for i, id := range ids {
		if i > 0 {
			marks = append(marks, ',')
		}
		marks = append(marks, '?')
		args = append(args, id)
	}
	rows, err := s.query(ctx, `SELECT `+presenceCols+` FROM presence p WHERE p.org_id = ? AND p.user_id IN (`+string(marks)+`)`, args...)
	if err != nil {
		return nil, internal("presence for", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanPresence(rows)
		if err != nil {
			return nil, internal("presence for", err)
		}
		out[r.UserID] = r
	}
	return out, internal("presence for", rows.Err())
}

// OwnPresence returns a user's own presence and the head of the user's own
// stream, read in one snapshot: the presence reflects every private event
// up to that head, so a snapshot that sends it may resume the user's
// stream there without skipping any. A user without presence (gone) has
// a zero row.
func (s *Store) OwnPresence(ctx context.Context, orgID, userID string) (presence.Row, int64, error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return presence.Row{}, 0, internal("own presence", err)
	}
	defer tx.Rollback()
	var head int64
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COALESCE((SELECT pos FROM user_streams WHERE user_id = ?), 0)`), userID).Scan(&head); err != nil {
		return presence.Row{}, 0, internal("user event head", err)
	}
	r, err := scanPresence(tx.QueryRowContext(ctx, s.rebind(`SELECT `+presenceCols+` FROM presence p JOIN users u ON u.id = p.user_id
		WHERE p.user_id = ? AND p.org_id = ? AND u.active = 1`), userID, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return presence.Row{}, head, nil
	}
	return r, head, internal("own presence", err)
}
