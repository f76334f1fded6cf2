package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"vo/internal/apperr"
	"vo/internal/notify"
)

// PushKey returns the VAPID key pair kept in the store, storing candidate
// first when there is none yet. Nodes starting together on one database
// all end with the same key: the first insert wins, the others read it.
func (s *Store) PushKey(ctx context.Context, candidate notify.Key) (notify.Key, error) {
	var k notify.Key
	err := s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `INSERT INTO push_keys (id, private_key, public_key, created_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			candidate.Private, candidate.Public, ms(s.clock.Now())); err != nil {
			return internal("push key", err)
		}
		return internal("push key", t.queryRow(ctx, `SELECT private_key, public_key FROM push_keys WHERE id = 1`).Scan(&k.Private, &k.Public))
	})
	return k, err
}

// SetPushSubscription stores the session's subscription, replacing its
// earlier one. NotFound when the session has ended meanwhile.
func (s *Store) SetPushSubscription(ctx context.Context, sub notify.Subscription) error {
	return s.tx(ctx, func(t *Tx) error {
		// The session's row is held to the commit, so that its end waits
		// for this and then deletes the subscription too (deleteSessions).
		lock := ""
		if s.dialect == Postgres {
			lock = ` FOR SHARE`
		}
		var id string
		err := t.queryRow(ctx, `SELECT id FROM sessions WHERE id = ? AND user_id = ?`+lock, sub.SessionID, sub.UserID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "session not found")
		}
		if err != nil {
			return internal("push subscription", err)
		}
		if _, err := t.exec(ctx, `DELETE FROM push_subscriptions WHERE session_id = ?`, sub.SessionID); err != nil {
			return internal("push subscription", err)
		}
		_, err = t.exec(ctx, `INSERT INTO push_subscriptions (session_id, user_id, org_id, endpoint, p256dh, auth, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sub.SessionID, sub.UserID, sub.OrgID, sub.Endpoint, sub.P256DH, sub.Auth, ms(s.clock.Now()))
		return internal("push subscription", err)
	})
}

// DeletePushSubscription deletes the session's subscription and the
// pushes queued for it; none is not an error.
func (s *Store) DeletePushSubscription(ctx context.Context, sessionID string) error {
	return s.tx(ctx, func(t *Tx) error { return t.deletePush(ctx, sessionID) })
}

// deletePush deletes a session's subscription and its queued pushes.
func (t *Tx) deletePush(ctx context.Context, sessionID string) error {
	if _, err := t.exec(ctx, `DELETE FROM push_outbox WHERE session_id = ?`, sessionID); err != nil {
		return internal("delete push", err)
	}
	_, err := t.exec(ctx, `DELETE FROM push_subscriptions WHERE session_id = ?`, sessionID)
	return internal("delete push", err)
}

// PushSubscriptionOf returns the session's subscription; NotFound when it
// has none.
func (s *Store) PushSubscriptionOf(ctx context.Context, sessionID string) (notify.Subscription, error) {
	var x notify.Subscription
	err := s.queryRow(ctx, `SELECT session_id, user_id, org_id, endpoint, p256dh, auth FROM push_subscriptions WHERE session_id = ?`, sessionID).
		Scan(&x.SessionID, &x.UserID, &x.OrgID, &x.Endpoint, &x.P256DH, &x.Auth)
	if errors.Is(err, sql.ErrNoRows) {
		return x, apperr.New(apperr.NotFound, "no push subscription")
	}
	return x, internal("push subscription", err)
}

// EnqueuePush queues payload, worth sending until expires, for every
// subscribed session of the users that has no live event stream: none of skip (this node's live streams)
// and none marked live by another node (MarkLive) whose mark has not
// expired. Returns how many pushes were queued.
func (s *Store) EnqueuePush(ctx context.Context, orgID string, userIDs []string, payload []byte, expires time.Time, skip []string) (int, error) {
	if len(userIDs) == 0 {
		return 0, nil
	}
	now := ms(s.clock.Now())
	in, users := marks(userIDs)
	// Most recipients have no subscription (a group's members on their
	// desks): ask the readers before taking the writer.
	var subscribed int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM push_subscriptions WHERE org_id = ? AND user_id IN (`+in+`) LIMIT 1) x`,
		append([]any{orgID}, users...)...).Scan(&subscribed); err != nil || subscribed == 0 {
		return 0, internal("enqueue push", err)
	}
	var n int64
	err := s.tx(ctx, func(t *Tx) error {
		q := `INSERT INTO push_outbox (session_id, payload, attempts, next_attempt_at, expires_at, claimed_until)
			SELECT p.session_id, ?, 0, ?, ?, 0 FROM push_subscriptions p
			WHERE p.org_id = ? AND p.user_id IN (` + in + `)
			AND NOT EXISTS (SELECT 1 FROM push_live l WHERE l.session_id = p.session_id AND l.expires_at > ?)`
		args := append(append([]any{payload, now, ms(expires), orgID}, users...), now)
		if len(skip) > 0 {
			q += ` AND p.session_id NOT IN (?` + strings.Repeat(`, ?`, len(skip)-1) + `)`
			for _, id := range skip {
				args = append(args, id)
			}
		}
		res, err := t.exec(ctx, q, args...)
		if err != nil {
			return internal("enqueue push", err)
		}
		n, err = res.RowsAffected()
		return internal("enqueue push", err)
	})
	return int(n), err
}

// ClaimPushes claims up to limit pushes due now for lease: no other
// claim returns them until the lease ends or the claimer settles them
// (PushSent, PushRetry, PushGone). Several nodes on one PostgreSQL each
// take different rows (FOR UPDATE SKIP LOCKED); SQLite has one writer.
func (s *Store) ClaimPushes(ctx context.Context, limit int, lease time.Duration) ([]notify.Queued, error) {
	now := s.clock.Now()
	// Most polls find nothing: ask the readers before taking the writer.
	var due int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM push_outbox WHERE next_attempt_at <= ? AND claimed_until <= ? LIMIT 1) d`, ms(now), ms(now)).Scan(&due); err != nil || due == 0 {
		return nil, internal("claim pushes", err)
	}
	var out []notify.Queued
	err := s.tx(ctx, func(t *Tx) error {
		lock := ""
		if s.dialect == Postgres {
			lock = ` FOR UPDATE SKIP LOCKED`
		}
		rows, err := t.query(ctx, `UPDATE push_outbox SET claimed_until = ?, attempts = attempts + 1
			WHERE id IN (SELECT id FROM push_outbox WHERE next_attempt_at <= ? AND claimed_until <= ? ORDER BY next_attempt_at, id LIMIT ?`+lock+`)
			RETURNING id`, ms(now.Add(lease)), ms(now), ms(now), limit)
		if err != nil {
			return internal("claim pushes", err)
		}
		var ids []any
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return internal("claim pushes", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return internal("claim pushes", err)
		}
		rows, err = t.query(ctx, `SELECT o.id, o.attempts, o.expires_at, o.payload, p.session_id, p.user_id, p.org_id, p.endpoint, p.p256dh, p.auth
			FROM push_outbox o JOIN push_subscriptions p ON p.session_id = o.session_id
			WHERE o.id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`) ORDER BY o.id`, ids...)
		if err != nil {
			return internal("claim pushes", err)
		}
		defer rows.Close()
		for rows.Next() {
			var x notify.Queued
			var exp int64
			if err := rows.Scan(&x.ID, &x.Attempts, &exp, &x.Payload, &x.Sub.SessionID, &x.Sub.UserID, &x.Sub.OrgID, &x.Sub.Endpoint, &x.Sub.P256DH, &x.Sub.Auth); err != nil {
				return internal("claim pushes", err)
			}
			x.ExpiresAt = fromMS(exp)
			out = append(out, x)
		}
		return internal("claim pushes", rows.Err())
	})
	return out, err
}

// PushDone removes a push from the queue: sent, or given up.
func (s *Store) PushDone(ctx context.Context, id int64) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `DELETE FROM push_outbox WHERE id = ?`, id)
		return internal("push done", err)
	})
}

// PushRetry releases a claimed push to be tried again at next.
func (s *Store) PushRetry(ctx context.Context, id int64, next time.Time) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `UPDATE push_outbox SET next_attempt_at = ?, claimed_until = 0 WHERE id = ?`, ms(next), id)
		return internal("push retry", err)
	})
}

// PushGone deletes a subscription the push service no longer knows (404,
// 410) with its queued pushes, unless the session has replaced it with
// another endpoint meanwhile.
func (s *Store) PushGone(ctx context.Context, sessionID, endpoint string) error {
	return s.tx(ctx, func(t *Tx) error {
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM push_subscriptions WHERE session_id = ? AND endpoint = ?`, sessionID, endpoint).Scan(&n); err != nil {
			return internal("push gone", err)
		}
		if n == 0 {
			return nil
		}
		return t.deletePush(ctx, sessionID)
	})
}

// QueuedPushes counts the pushes waiting, claimed or not.
func (s *Store) QueuedPushes(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM push_outbox`).Scan(&n)
	return n, internal("queued pushes", err)
}

// MarkLive records this node's live event streams: add are sessions whose
// stream opened, remove those whose last stream here closed; every mark
// of the node (renew true: all of them) lives until until.
func (s *Store) MarkLive(ctx context.Context, nodeID string, add, remove []string, until time.Time, renew bool) error {
	return s.tx(ctx, func(t *Tx) error {
		for _, id := range remove {
			if _, err := t.exec(ctx, `DELETE FROM push_live WHERE session_id = ? AND node_id = ?`, id, nodeID); err != nil {
				return internal("mark live", err)
			}
		}
		for _, id := range add {
			if _, err := t.exec(ctx, `INSERT INTO push_live (session_id, node_id, expires_at) VALUES (?, ?, ?)
				ON CONFLICT (session_id, node_id) DO UPDATE SET expires_at = excluded.expires_at`, id, nodeID, ms(until)); err != nil {
				return internal("mark live", err)
			}
		}
		if renew {
			if _, err := t.exec(ctx, `UPDATE push_live SET expires_at = ? WHERE node_id = ?`, ms(until), nodeID); err != nil {
				return internal("mark live", err)
			}
			// Marks of nodes long gone are of no use to anyone.
			if _, err := t.exec(ctx, `DELETE FROM push_live WHERE expires_at < ?`, ms(s.clock.Now().Add(-time.Hour))); err != nil {
				return internal("mark live", err)
			}
		}
		return nil
	})
}

// ClearLive deletes every mark of the node, as it stops.
func (s *Store) ClearLive(ctx context.Context, nodeID string) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `DELETE FROM push_live WHERE node_id = ?`, nodeID)
		return internal("clear live", err)
	})
}

// HasPushSubscription reports whether any session of the user has a push
// subscription: an app that can be rung while it is closed.
func (s *Store) HasPushSubscription(ctx context.Context, orgID, userID string) (bool, error) {
	var n int
	err := s.queryRow(ctx, `SELECT COUNT(*) FROM push_subscriptions WHERE user_id = ? AND org_id = ?`, userID, orgID).Scan(&n)
	if err != nil {
		return false, internal("push subscriptions", err)
	}
	return n > 0, nil
}
