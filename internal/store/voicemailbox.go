package store

import (
	"context"
	"database/sql"
	"errors"

	"vo/internal/apperr"
	"vo/internal/telephony"
)

// UnheardVoicemails lists the owner's voicemails not yet heard, oldest
// first, at most limit of them (what a phone dialling *97 plays).
func (s *Store) UnheardVoicemails(ctx context.Context, orgID, userID string, limit int) ([]telephony.Voicemail, error) {
	rows, err := s.query(ctx, `SELECT `+vmCols+` FROM voicemails WHERE org_id = ? AND user_id = ? AND heard = 0
		ORDER BY created_at, id LIMIT ?`, orgID, userID, limit)
	if err != nil {
		return nil, internal("unheard voicemails", err)
	}
	defer rows.Close()
	var out []telephony.Voicemail
	for rows.Next() {
		v, _, err := scanVM(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, internal("unheard voicemails", rows.Err())
}

// GreetingKey returns the blob key of the user's own voicemail greeting,
// "" when they have none. NotFound when the user is not an active user of
// the org.
func (s *Store) GreetingKey(ctx context.Context, orgID, userID string) (string, error) {
	var key string
	err := s.queryRow(ctx, `SELECT greeting_key FROM users WHERE id = ? AND org_id = ? AND active = 1`, userID, orgID).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", apperr.New(apperr.NotFound, "user not found")
	}
	return key, internal("greeting key", err)
}

// SetGreetingKey makes key ("" for none) the user's own greeting and
// returns the key it replaced, for the caller to delete that file.
// NotFound when the user is not an active user of the org.
func (s *Store) SetGreetingKey(ctx context.Context, orgID, userID, key string) (string, error) {
	var old string
	err := s.tx(ctx, func(t *Tx) error {
		lock := ""
		if t.s.dialect == Postgres {
			lock = ` FOR UPDATE` // two changes at once each delete the key the other replaced
		}
		err := t.queryRow(ctx, `SELECT greeting_key FROM users WHERE id = ? AND org_id = ? AND active = 1`+lock, userID, orgID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "user not found")
		}
		if err != nil {
			return internal("set greeting", err)
		}
		_, err = t.exec(ctx, `UPDATE users SET greeting_key = ? WHERE id = ?`, key, userID)
		return internal("set greeting", err)
	})
	return old, err
}
