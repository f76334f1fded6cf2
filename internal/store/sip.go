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
	return sess.ID, nil
}

func unguessable() string {
	r := make([]byte, 32)
	rand.Read(r)
	return hex.EncodeToString(r)
}

// Unregister ends the phone's session as a logout does; a session already
// gone is no error.
func (b SIPBackend) Unregister(ctx context.Context, sessionID string) error {
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
