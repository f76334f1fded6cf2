package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/telephony"
)

// ServerSecret returns the 32-byte secret of that name, making it on first
// use. Nodes asking together all get the same one: the first insert wins.
func (s *Store) ServerSecret(ctx context.Context, name string) ([]byte, error) {
	cand := make([]byte, 32)
	rand.Read(cand)
	var v string
	err := s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, hex.EncodeToString(cand), ms(s.clock.Now())); err != nil {
			return internal("server secret", err)
		}
		return internal("server secret", t.queryRow(ctx, `SELECT value FROM server_secrets WHERE name = ?`, name).Scan(&v))
	})
	if err != nil {
		return nil, err
	}
	b, err := hex.DecodeString(v)
	return b, internal("server secret", err)
}

const sipCols = `user_id, org_id, realm, username, generation, ha1_md5, ha1_sha256`

func scanSIP(r interface{ Scan(...any) error }) (telephony.SIPCredential, error) {
	var c telephony.SIPCredential
	err := r.Scan(&c.UserID, &c.OrgID, &c.Realm, &c.Username, &c.Generation, &c.HA1MD5, &c.HA1SHA256)
	if errors.Is(err, sql.ErrNoRows) {
		return c, apperr.New(apperr.NotFound, "sip credential not found")
	}
	return c, internal("sip credential", err)
}

// SIPCredential returns the user's SIP credential, storing the one make
// builds for generation 1 when there is none yet (or when the username or
// realm changed, e.g. a new extension). NotFound when the user is not an
// active user of the org.
func (s *Store) SIPCredential(ctx context.Context, orgID, userID string, make func(generation int64) telephony.SIPCredential) (telephony.SIPCredential, error) {
	var c telephony.SIPCredential
	err := s.tx(ctx, func(t *Tx) error {
		if err := t.activeUser(ctx, orgID, userID); err != nil {
			return err
		}
		got, err := scanSIP(t.queryRow(ctx, `SELECT `+sipCols+` FROM sip_credentials WHERE user_id = ?`, userID))
		if err == nil {
			want := make(got.Generation)
			if want.Username == got.Username && want.Realm == got.Realm {
				c = got
				return nil
			}
			c = want
			_, err := t.exec(ctx, `UPDATE sip_credentials SET realm = ?, username = ?, ha1_md5 = ?, ha1_sha256 = ?, updated_at = ? WHERE user_id = ?`,
				c.Realm, c.Username, c.HA1MD5, c.HA1SHA256, ms(s.clock.Now()), userID)
			return internal("sip credential", err)
		}
		if !apperr.Is(err, apperr.NotFound) {
			return err
		}
		c = make(1)
		_, err = t.exec(ctx, `INSERT INTO sip_credentials (`+sipCols+`, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			userID, orgID, c.Realm, c.Username, c.Generation, c.HA1MD5, c.HA1SHA256, ms(s.clock.Now()))
		return internal("sip credential", err)
	})
	return c, err
}

// RotateSIPCredential moves the user's credential to the next generation
// and ends every sip session of the user (each told by session.ended) in
// the same transaction, so the old password's registrations end with it.
func (s *Store) RotateSIPCredential(ctx context.Context, orgID, userID string, make func(generation int64) telephony.SIPCredential) (telephony.SIPCredential, error) {
	var c telephony.SIPCredential
	err := s.tx(ctx, func(t *Tx) error {
		if err := t.activeUser(ctx, orgID, userID); err != nil {
			return err
		}
		var gen int64
		err := t.queryRow(ctx, `SELECT generation FROM sip_credentials WHERE user_id = ?`, userID).Scan(&gen)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return internal("rotate sip", err)
		}
		c = make(gen + 1)
		if _, err := t.exec(ctx, `INSERT INTO sip_credentials (`+sipCols+`, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET realm = excluded.realm, username = excluded.username, generation = excluded.generation,
			ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256, updated_at = excluded.updated_at`,
			userID, orgID, c.Realm, c.Username, c.Generation, c.HA1MD5, c.HA1SHA256, ms(s.clock.Now())); err != nil {
			return internal("rotate sip", err)
		}
		ended, err := t.deleteSessions(ctx, `user_id = ? AND platform = ?`, userID, string(account.PlatformSIP))
		if err != nil || len(ended) == 0 {
			return err
		}
		_, err = t.recompute(ctx, orgID, userID, nil)
		return err
	})
	return c, err
}

// SIPLogin finds the credential a registrar checks a digest against.
// NotFound for an unknown login or a user no longer active.
func (s *Store) SIPLogin(ctx context.Context, realm, username string) (telephony.SIPCredential, error) {
	return scanSIP(s.queryRow(ctx, `SELECT c.user_id, c.org_id, c.realm, c.username, c.generation, c.ha1_md5, c.ha1_sha256
		FROM sip_credentials c JOIN users u ON u.id = c.user_id AND u.active = 1 AND u.extension = c.username
		WHERE c.realm = ? AND c.username = ?`, realm, username))
}

func (t *Tx) activeUser(ctx context.Context, orgID, userID string) error {
	var one int
	err := t.queryRow(ctx, `SELECT 1 FROM users WHERE id = ? AND org_id = ? AND active = 1`, userID, orgID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.New(apperr.NotFound, "user not found")
	}
	return internal("find user", err)
}
