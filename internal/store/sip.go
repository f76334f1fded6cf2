package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/sipserver"
)

// SIPBackend is the store as the SIP registrar's Backend: digest
// credentials by login, and each registered phone a session of platform
// sip (SPEC §10), so that presence counts it and a remote logout ends it.
type SIPBackend struct{ S *Store }

var _ sipserver.Backend = SIPBackend{}

// Credential finds the HA1s of username in realm (the org slug).
func (b SIPBackend) Credential(ctx context.Context, realm, username string) (sipserver.Credential, bool, error) {
	c, err := b.S.SIPLogin(ctx, realm, username)
	if apperr.Is(err, apperr.NotFound) {
		return sipserver.Credential{}, false, nil
	}
	if err != nil {
		return sipserver.Credential{}, false, err
	}
	return sipserver.Credential{UserID: c.UserID, OrgID: c.OrgID, HA1MD5: c.HA1MD5, HA1SHA256: c.HA1SHA256}, true, nil
}

// Register keeps the binding's session when it still exists (a refresh)
// and otherwise logs the phone in: a new session of platform sip, with
// tokens nobody holds, brought online as any login is.
func (b SIPBackend) Register(ctx context.Context, bd sipserver.Binding) (string, error) {
	if bd.SessionID != "" {
		if ok, err := b.SessionAlive(ctx, bd.SessionID); err != nil {
			return "", err
		} else if ok {
			if err := b.contact(ctx, bd.SessionID, bd); err != nil {
				return "", err
			}
			return bd.SessionID, b.S.TouchSession(ctx, bd.SessionID)
		}
	}
	now := b.S.clock.Now().Truncate(time.Millisecond)
	device := bd.Device
	if device == "" {
		device = "Desk phone"
	}
	sess := account.Session{ID: account.NewID("s"), UserID: bd.UserID, OrgID: bd.OrgID, DeviceName: device,
		Platform: account.PlatformSIP, CreatedAt: now, LastSeenAt: now}
	if err := b.S.CreateSession(ctx, sess, "sip-"+unguessable(), "sip-"+unguessable()); err != nil {
		return "", err
	}
	return sess.ID, b.contact(ctx, sess.ID, bd)
}

// contact records which phone (bd.Key) the session stands for.
func (b SIPBackend) contact(ctx context.Context, sessionID string, bd sipserver.Binding) error {
	if bd.Key == "" {
		return nil
	}
	_, err := b.S.w.ExecContext(ctx, b.S.rebind(`INSERT INTO sip_contacts (session_id, user_id, contact_key) VALUES (?, ?, ?)
		ON CONFLICT (session_id) DO UPDATE SET contact_key = excluded.contact_key`), sessionID, bd.UserID, bd.Key)
	return internal("sip contact", err)
}

func unguessable() string {
	r := make([]byte, 32)
	rand.Read(r)
	return hex.EncodeToString(r)
}

// Unregister ends the phone's session as a logout does; a session already
// gone is no error. The phone itself left (or its binding expired), so its
// contact is forgotten first and nothing is revoked.
func (b SIPBackend) Unregister(ctx context.Context, sessionID string) error {
	if _, err := b.S.w.ExecContext(ctx, b.S.rebind(`DELETE FROM sip_contacts WHERE session_id = ?`), sessionID); err != nil {
		return internal("sip contact", err)
	}
	var orgID, userID string
	err := b.S.queryRow(ctx, `SELECT org_id, user_id FROM sessions WHERE id = ? AND platform = ?`, sessionID, string(account.PlatformSIP)).Scan(&orgID, &userID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return internal("sip session", err)
	}
	if err := b.S.EndSession(ctx, orgID, userID, sessionID); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	return nil
}

// SessionAlive reports whether the phone's session is still logged in.
func (b SIPBackend) SessionAlive(ctx context.Context, sessionID string) (bool, error) {
	var n int
	err := b.S.queryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE id = ?`, sessionID).Scan(&n)
	return n > 0, internal("sip session alive", err)
}

// revokeSIP revokes the phones of the sip sessions matching where (over
// sip_contacts c) under the user's current SIP password generation: a
// session ended from the app is a phone signed out, which must not sign
// itself in again with the same password. The registrar's own unregister
// forgets the contact first, so it revokes nothing.
func (t *Tx) revokeSIP(ctx context.Context, where string, args ...any) error {
	_, err := t.exec(ctx, `INSERT INTO sip_revocations (user_id, contact_key, generation, created_at)
		SELECT c.user_id, c.contact_key, k.generation, ? FROM sip_contacts c JOIN sip_credentials k ON k.user_id = c.user_id
		WHERE `+where+`
		ON CONFLICT (user_id, contact_key) DO UPDATE SET generation = excluded.generation, created_at = excluded.created_at`,
		append([]any{ms(t.s.clock.Now())}, args...)...)
	return internal("revoke sip", err)
}

// Revoked reports whether the user's phone of that contact key was signed
// out from the app under the current SIP password generation.
func (b SIPBackend) Revoked(ctx context.Context, userID, contactKey string) (bool, error) {
	var n int
	err := b.S.queryRow(ctx, `SELECT COUNT(*) FROM sip_revocations r JOIN sip_credentials k ON k.user_id = r.user_id AND k.generation = r.generation
		WHERE r.user_id = ? AND r.contact_key = ?`, userID, contactKey).Scan(&n)
	return n > 0, internal("sip revoked", err)
}

// VoicemailCounts counts the user's voicemails not yet heard and heard,
// for a phone's message-waiting lamp.
func (b SIPBackend) VoicemailCounts(ctx context.Context, orgID, userID string) (unheard, heard int, err error) {
	err = b.S.queryRow(ctx, `SELECT COALESCE(SUM(CASE WHEN heard = 0 THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN heard = 0 THEN 0 ELSE 1 END), 0)
		FROM voicemails WHERE org_id = ? AND user_id = ?`, orgID, userID).Scan(&unheard, &heard)
	return unheard, heard, internal("voicemail counts", err)
}
