package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/presence"
	"vo/internal/telephony"
	"vo/internal/wire"
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

// RotateSIPCredential moves the user's credential to the next generation,
// lifts the user's phone revocations, and ends every sip session of the user (each told by session.ended) in
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
		// A new password signs in again the phones signed out from the app.
		if _, err := t.exec(ctx, `DELETE FROM sip_revocations WHERE user_id = ?`, userID); err != nil {
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

// newestPage runs a newest-first page query over (at column, id) and
// returns the rows and the next cursor. q selects the row columns then at.
func (s *Store) newestPage(ctx context.Context, q, atCol string, args []any, limit int, cursor string, scan func(*sql.Rows) (int64, string, error)) (string, error) {
	key, after, err := decodeCursor(cursor)
	if err != nil {
		return "", err
	}
	if after != "" {
		at, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return "", apperr.New(apperr.Invalid, "cursor is not one this server gave")
		}
		q += ` AND (` + atCol + ` < ? OR ` + atCol + ` = ? AND id < ?)`
		args = append(args, at, at, after)
	}
	rows, err := s.query(ctx, q+` ORDER BY `+atCol+` DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return "", internal("list", err)
	}
	defer rows.Close()
	n, next := 0, ""
	for rows.Next() {
		n++
		at, id, err := scan(rows)
		if err != nil {
			return "", internal("list scan", err)
		}
		if n == limit {
			next = encodeCursor(strconv.FormatInt(at, 10), id)
		}
		if n > limit {
			return next, internal("list rows", rows.Err())
		}
	}
	return "", internal("list rows", rows.Err())
}

// trimmed drops the extra row newestPage may have let scan append.
func trimmed[T any](xs []T, limit int) []T {
	if len(xs) > limit {
		return xs[:limit]
	}
	return xs
}

const callCols = `id, org_id, user_id, direction, peer_user_id, peer_number, peer_name, started_at, answered_at, ended_at, result`

// InsertCall stores a call as its owner sees it and tells the owner's
// sessions (a call event: ringing, or the state a call stored late is in).
func (s *Store) InsertCall(ctx context.Context, c telephony.Call) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `INSERT INTO calls (`+callCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.OrgID, c.OwnerID, string(c.Direction), c.Peer.UserID, c.Peer.Number, c.Peer.Name,
			ms(c.StartedAt), msOrZero(c.AnsweredAt), msOrZero(c.EndedAt), string(c.Result))
		if err != nil {
			return internal("insert call", err)
		}
		state := telephony.Ringing
		switch {
		case !c.EndedAt.IsZero():
			state = telephony.Ended
		case !c.AnsweredAt.IsZero():
			state = telephony.Up
		}
		return t.emit(wire.CallChanged(c, state))
	})
}

// AnswerCall records when the owner's call was answered and tells the
// owner's sessions. NotFound when the owner has no such call still going.
func (s *Store) AnswerCall(ctx context.Context, c telephony.Call) error {
	return s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE calls SET answered_at = ? WHERE id = ? AND user_id = ? AND ended_at = 0`,
			ms(c.AnsweredAt), c.ID, c.OwnerID)
		if err != nil {
			return internal("answer call", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "call not found")
		}
		if err := t.emit(wire.CallChanged(c, telephony.Up)); err != nil {
			return err
		}
		return t.callActivity(ctx, c.OrgID, c.OwnerID)
	})
}

// callActivity sets the user's activity to on_call while any call of
// theirs is up, and clears it when the last one ends (SPEC §2): their
// chosen status is left as it was. The presence row is locked before the
// calls are counted, so two of the user's calls ending at once cannot
// leave a stale on_call behind.
func (t *Tx) callActivity(ctx context.Context, orgID, userID string) error {
	_, err := t.recompute(ctx, orgID, userID, func(st *presence.State) error {
		var up int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM calls WHERE org_id = ? AND user_id = ? AND answered_at <> 0 AND ended_at = 0`,
			orgID, userID).Scan(&up); err != nil {
			return internal("count calls up", err)
		}
		switch {
		case up > 0:
			st.Activity = presence.OnCall
		case st.Activity == presence.OnCall:
			st.Activity = presence.None
		}
		return nil
	})
	if apperr.Is(err, apperr.NotFound) {
		return nil // a deactivated user's call still ends
	}
	return err
}

// FinishCall records how the owner's call ended (c's AnsweredAt, EndedAt
// and Result) and tells the owner's sessions. NotFound when the owner has
// no such call, or it has ended already.
func (s *Store) FinishCall(ctx context.Context, c telephony.Call) error {
	if !c.Result.Valid() {
		return apperr.New(apperr.Invalid, "result %q is not a call result", string(c.Result))
	}
	return s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE calls SET answered_at = ?, ended_at = ?, result = ? WHERE id = ? AND user_id = ? AND ended_at = 0`,
			msOrZero(c.AnsweredAt), ms(c.EndedAt), string(c.Result), c.ID, c.OwnerID)
		if err != nil {
			return internal("finish call", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "call not found")
		}
		if err := t.emit(wire.CallChanged(c, telephony.Ended)); err != nil {
			return err
		}
		if c.AnsweredAt.IsZero() {
			return nil
		}
		return t.callActivity(ctx, c.OrgID, c.OwnerID)
	})
}

// Calls lists the user's calls, newest first, a page of limit.
func (s *Store) Calls(ctx context.Context, orgID, userID string, limit int, cursor string) ([]telephony.Call, string, error) {
	var out []telephony.Call
	next, err := s.newestPage(ctx, `SELECT `+callCols+` FROM calls WHERE org_id = ? AND user_id = ?`, "started_at",
		[]any{orgID, userID}, limit, cursor, func(r *sql.Rows) (int64, string, error) {
			var c telephony.Call
			var dir, res string
			var st, an, en int64
			err := r.Scan(&c.ID, &c.OrgID, &c.OwnerID, &dir, &c.Peer.UserID, &c.Peer.Number, &c.Peer.Name, &st, &an, &en, &res)
			c.Direction, c.Result = telephony.Direction(dir), telephony.Result(res)
			c.StartedAt, c.AnsweredAt, c.EndedAt = fromMS(st), fromMSOrZero(an), fromMSOrZero(en)
			out = append(out, c)
			return st, c.ID, err
		})
	return trimmed(out, limit), next, err
}

const vmCols = `id, org_id, user_id, from_user_id, from_number, from_name, created_at, duration_ms, heard, blob_key, media_type`

func scanVM(r interface{ Scan(...any) error }) (telephony.Voicemail, int64, error) {
	var v telephony.Voicemail
	var at, heard int64
	err := r.Scan(&v.ID, &v.OrgID, &v.OwnerID, &v.From.UserID, &v.From.Number, &v.From.Name, &at, &v.DurationMS, &heard, &v.BlobKey, &v.MediaType)
	if errors.Is(err, sql.ErrNoRows) {
		return v, 0, apperr.New(apperr.NotFound, "voicemail not found")
	}
	v.CreatedAt, v.Heard = fromMS(at), heard != 0
	return v, at, internal("voicemail", err)
}

// InsertVoicemail stores a voicemail whose audio is already in the blobs
// and tells the owner's sessions.
func (s *Store) InsertVoicemail(ctx context.Context, v telephony.Voicemail) error {
	return s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `INSERT INTO voicemails (`+vmCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.OrgID, v.OwnerID, v.From.UserID, v.From.Number, v.From.Name, ms(v.CreatedAt), v.DurationMS, b2i(v.Heard), v.BlobKey, v.MediaType)
		if err != nil {
			return internal("insert voicemail", err)
		}
		return t.emit(wire.VoicemailAdded(v))
	})
}

// UserByDial finds the active user of the org an extension or an E.164
// number names. NotFound when none does.
func (s *Store) UserByDial(ctx context.Context, orgID string, d telephony.Destination) (account.User, error) {
	col := ""
	switch d.Kind {
	case telephony.DestExtension:
		col = "extension"
	case telephony.DestNumber:
		col = "phone_number"
	default:
		return account.User{}, apperr.New(apperr.NotFound, "no such extension or number")
	}
	var id string
	err := s.queryRow(ctx, `SELECT id FROM users WHERE org_id = ? AND `+col+` = ? AND active = 1`, orgID, d.Value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return account.User{}, apperr.New(apperr.NotFound, "no such extension or number")
	}
	if err != nil {
		return account.User{}, internal("user by dial", err)
	}
	return s.UserByID(ctx, orgID, id)
}

// Voicemails lists the owner's voicemails, newest first.
func (s *Store) Voicemails(ctx context.Context, orgID, userID string, limit int, cursor string) ([]telephony.Voicemail, string, error) {
	var out []telephony.Voicemail
	next, err := s.newestPage(ctx, `SELECT `+vmCols+` FROM voicemails WHERE org_id = ? AND user_id = ?`, "created_at",
		[]any{orgID, userID}, limit, cursor, func(r *sql.Rows) (int64, string, error) {
			v, at, err := scanVM(r)
			out = append(out, v)
			return at, v.ID, err
		})
	return trimmed(out, limit), next, err
}

// Voicemail returns one of the owner's voicemails; NotFound for anyone
// else's.
func (s *Store) Voicemail(ctx context.Context, orgID, userID, id string) (telephony.Voicemail, error) {
	v, _, err := scanVM(s.queryRow(ctx, `SELECT `+vmCols+` FROM voicemails WHERE id = ? AND org_id = ? AND user_id = ?`, id, orgID, userID))
	return v, err
}

// SetHeard marks one of the owner's voicemails heard or not.
func (s *Store) SetHeard(ctx context.Context, orgID, userID, id string, heard bool) (telephony.Voicemail, error) {
	res, err := s.w.ExecContext(ctx, s.rebind(`UPDATE voicemails SET heard = ? WHERE id = ? AND org_id = ? AND user_id = ?`), b2i(heard), id, orgID, userID)
	if err != nil {
		return telephony.Voicemail{}, internal("set heard", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return telephony.Voicemail{}, apperr.New(apperr.NotFound, "voicemail not found")
	}
	return s.Voicemail(ctx, orgID, userID, id)
}

// DeleteVoicemail deletes one of the owner's voicemails and returns its
// blob key, for the caller to delete the audio.
func (s *Store) DeleteVoicemail(ctx context.Context, orgID, userID, id string) (string, error) {
	var key string
	err := s.tx(ctx, func(t *Tx) error {
		err := t.queryRow(ctx, `SELECT blob_key FROM voicemails WHERE id = ? AND org_id = ? AND user_id = ?`, id, orgID, userID).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.New(apperr.NotFound, "voicemail not found")
		}
		if err != nil {
			return internal("delete voicemail", err)
		}
		_, err = t.exec(ctx, `DELETE FROM voicemails WHERE id = ?`, id)
		return internal("delete voicemail", err)
	})
	return key, err
}

// Forwarding returns the user's call forwarding; off when never set.
func (s *Store) Forwarding(ctx context.Context, orgID, userID string) (telephony.Forwarding, error) {
	var f telephony.Forwarding
	var mode string
	err := s.queryRow(ctx, `SELECT mode, target FROM call_forwarding WHERE user_id = ? AND org_id = ?`, userID, orgID).Scan(&mode, &f.Target)
	if errors.Is(err, sql.ErrNoRows) {
		return telephony.Forwarding{Mode: telephony.ForwardOff}, nil
	}
	f.Mode = telephony.ForwardMode(mode)
	return f, internal("forwarding", err)
}

// SetForwarding stores the user's call forwarding, checked by Validate;
// its target must be the extension of another active user of the org
// (Invalid otherwise). NotFound when the user is not an active user of
// the org.
func (s *Store) SetForwarding(ctx context.Context, orgID, userID string, f telephony.Forwarding) (telephony.Forwarding, error) {
	f, err := f.Validate()
	if err != nil {
		return f, err
	}
	err = s.tx(ctx, func(t *Tx) error {
		if err := t.activeUser(ctx, orgID, userID); err != nil {
			return err
		}
		if f.Mode != telephony.ForwardOff {
			var to string
			err := t.queryRow(ctx, `SELECT id FROM users WHERE org_id = ? AND extension = ? AND active = 1`, orgID, f.Target).Scan(&to)
			if errors.Is(err, sql.ErrNoRows) {
				return apperr.New(apperr.Invalid, "target %s is not an extension of your org", f.Target)
			}
			if err != nil {
				return internal("forwarding target", err)
			}
			if to == userID {
				return apperr.New(apperr.Invalid, "target %s is your own extension", f.Target)
			}
		}
		_, err := t.exec(ctx, `INSERT INTO call_forwarding (user_id, org_id, mode, target, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET mode = excluded.mode, target = excluded.target, updated_at = excluded.updated_at`,
			userID, orgID, string(f.Mode), f.Target, ms(s.clock.Now()))
		return internal("set forwarding", err)
	})
	return f, err
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
