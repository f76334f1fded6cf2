package store

import (
	"context"
	"database/sql"
	"errors"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/presence"
	"vo/internal/wire"
)

// CreateSession stores a new session (by the hashes of its tokens) and
// brings the user online, in one transaction.
func (s *Store) CreateSession(ctx context.Context, sess account.Session, tokenHash, csrfHash string) error {
	return s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `INSERT INTO sessions (id, user_id, org_id, token_hash, csrf_hash, device_name, platform, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, sess.OrgID, tokenHash, csrfHash, sess.DeviceName, string(sess.Platform), ms(sess.CreatedAt), ms(sess.LastSeenAt)); err != nil {
			return internal("create session", err)
		}
		_, err := t.recompute(ctx, sess.OrgID, sess.UserID, func(st *presence.State) error {
			st.LastActive = sess.CreatedAt // logging in is activity
			return nil
		})
		return err
	})
}

// SessionByTokenHash resolves a token hash to its session and active user.
// Unauthenticated when there is none or the user is deactivated.
func (s *Store) SessionByTokenHash(ctx context.Context, tokenHash string) (account.Auth, error) {
	var a account.Auth
	var platform string
	var created, seen int64
	row := s.queryRow(ctx, `SELECT s.id, s.device_name, s.platform, s.created_at, s.last_seen_at, s.csrf_hash, `+userColsOf("u.")+`
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ? AND u.active = 1`, tokenHash)
	var u account.User
	var role string
	var active int
	var uc int64
	err := row.Scan(&a.Session.ID, &a.Session.DeviceName, &platform, &created, &seen, &a.CSRFHash,
		&u.ID, &u.OrgID, &u.Name, &u.Email, &role, &u.Extension, &u.PhoneNumber, &u.PasswordHash, &u.PhotoHash, &active, &uc)
	if errors.Is(err, sql.ErrNoRows) {
		return a, apperr.New(apperr.Unauthenticated, "not logged in")
	}
	if err != nil {
		return a, internal("session", err)
	}
	u.Role, u.Active, u.CreatedAt = account.Role(role), active == 1, fromMS(uc)
	a.User = u
	a.Session.UserID, a.Session.OrgID, a.Session.Platform = u.ID, u.OrgID, account.Platform(platform)
	a.Session.CreatedAt, a.Session.LastSeenAt = fromMS(created), fromMS(seen)
	return a, nil
}

// TouchSession records use of a session.
func (s *Store) TouchSession(ctx context.Context, id string) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ?`, ms(s.clock.Now()), id)
		return internal("touch session", err)
	})
}

// Sessions lists a user's sessions, newest first.
func (s *Store) Sessions(ctx context.Context, userID string) ([]account.Session, error) {
	rows, err := s.query(ctx, `SELECT id, user_id, org_id, device_name, platform, created_at, last_seen_at FROM sessions WHERE user_id = ? ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, internal("sessions", err)
	}
	defer rows.Close()
	var out []account.Session
	for rows.Next() {
		var x account.Session
		var platform string
		var created, seen int64
		if err := rows.Scan(&x.ID, &x.UserID, &x.OrgID, &x.DeviceName, &platform, &created, &seen); err != nil {
			return nil, internal("sessions scan", err)
		}
		x.Platform, x.CreatedAt, x.LastSeenAt = account.Platform(platform), fromMS(created), fromMS(seen)
		out = append(out, x)
	}
	return out, internal("sessions rows", rows.Err())
}

// EndSession deletes one of the user's sessions, tells it so, and
// recomputes the user's presence. NotFound when the user has no such
// session (another user's session included).
func (s *Store) EndSession(ctx context.Context, orgID, userID, sessionID string) error {
	return s.tx(ctx, func(t *Tx) error {
		if err := t.revokeSIP(ctx, `c.session_id = ? AND c.user_id = ?`, sessionID, userID); err != nil {
			return err
		}
		ended, err := t.deleteSessions(ctx, `id = ? AND user_id = ?`, sessionID, userID)
		if err != nil {
			return err
		}
		if len(ended) == 0 {
			return apperr.New(apperr.NotFound, "session not found")
		}
		_, err = t.recompute(ctx, orgID, userID, nil)
		return err
	})
}

// SetPassword stores a user's new password hash and, when keepSession is
// not empty, ends every other session of the user as EndSession does (each
// told by session.ended), in one transaction. Returns the ids of the
// sessions ended. NotFound when the user is not an active user of the org.
func (s *Store) SetPassword(ctx context.Context, orgID, userID, hash, keepSession string) ([]string, error) {
	var ended []string
	err := s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ? AND org_id = ? AND active = 1`, hash, userID, orgID)
		if err != nil {
			return internal("set password", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "user not found")
		}
		if keepSession == "" {
			return nil
		}
		if err := t.revokeSIP(ctx, `c.user_id = ? AND c.session_id <> ?`, userID, keepSession); err != nil {
			return err
		}
		if ended, err = t.deleteSessions(ctx, `user_id = ? AND id <> ?`, userID, keepSession); err != nil || len(ended) == 0 {
			return err
		}
		_, err = t.recompute(ctx, orgID, userID, nil)
		return err
	})
	return ended, err
}

// EndExpiredSessions ends every session unused since before cutoff and
// returns how many ended.
func (s *Store) EndExpiredSessions(ctx context.Context, cutoffMS int64) (int, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT org_id, user_id FROM sessions WHERE last_seen_at < ?`, cutoffMS)
	if err != nil {
		return 0, internal("expired sessions", err)
	}
	var users [][2]string
	for rows.Next() {
		var o, u string
		if err := rows.Scan(&o, &u); err != nil {
			rows.Close()
			return 0, internal("expired sessions", err)
		}
		users = append(users, [2]string{o, u})
	}
	rows.Close()
	n := 0
	for _, ou := range users {
		err := s.tx(ctx, func(t *Tx) error {
			ended, err := t.deleteSessions(ctx, `user_id = ? AND last_seen_at < ?`, ou[1], cutoffMS)
			if err != nil || len(ended) == 0 {
				return err
			}
			n += len(ended)
			_, err = t.recompute(ctx, ou[0], ou[1], nil)
			if apperr.Is(err, apperr.NotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// deleteSessions deletes the sessions matching where, with their push
// subscriptions and queued pushes, and logs a session.ended event for
// each, so that every node closes its connections. Every way a session
// ends comes through here.
func (t *Tx) deleteSessions(ctx context.Context, where string, args ...any) ([]string, error) {
	// Locked first, so that a push subscription stored meanwhile either
	// commits before (and is deleted here) or finds the session gone.
	lock := ""
	if t.s.dialect == Postgres {
		lock = ` FOR UPDATE`
	}
	rows, err := t.query(ctx, `SELECT id, org_id, user_id FROM sessions WHERE `+where+lock, args...)
	if err != nil {
		return nil, internal("find sessions", err)
	}
	type ended struct{ id, org, user string }
	var list []ended
	for rows.Next() {
		var e ended
		if err := rows.Scan(&e.id, &e.org, &e.user); err != nil {
			rows.Close()
			return nil, internal("find sessions", err)
		}
		list = append(list, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("find sessions", err)
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		// Its push subscription goes first, in this transaction: no push
		// reaches a device once its end is acknowledged (SPEC §9).
		if err := t.deletePush(ctx, e.id); err != nil {
			return nil, err
		}
		if _, err := t.exec(ctx, `DELETE FROM sessions WHERE id = ?`, e.id); err != nil {
			return nil, internal("delete session", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM sip_contacts WHERE session_id = ?`, e.id); err != nil {
			return nil, internal("delete session", err)
		}
		ev, err := wire.SessionEnded(e.org, e.user, e.id)
		if err := t.emit(ev, err); err != nil {
			return nil, err
		}
		ids = append(ids, e.id)
	}
	return ids, nil
}

// StreamStart is what an event stream reads once subscribed, in one
// statement, so one moment of the database: whether its session is still
// logged in, the head of the org's stream and that of its user's own (0
// before the first). A stream's snapshot agrees with both heads (see
// stream's catchUp).
func (s *Store) StreamStart(ctx context.Context, orgID, userID, sessionID string) (alive bool, orgHead, userHead int64, err error) {
	var n int
	err = s.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM sessions WHERE id = ?), COALESCE((SELECT event_seq FROM orgs WHERE id = ?), 0),
		COALESCE((SELECT pos FROM user_streams WHERE user_id = ?), 0)`, sessionID, orgID, userID).Scan(&n, &orgHead, &userHead)
	return n > 0, orgHead, userHead, internal("stream start", err)
}
