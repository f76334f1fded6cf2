package store

import (
	"context"
	"database/sql"
	"time"

	"vo/internal/apperr"
	"vo/internal/chat"
)

// The attachments of SPEC §8. An attachment is its uploader's alone until
// a message takes it (message_id set, once); then it is every member's of
// the message's conversation, until the message is deleted, which deletes
// it.

const attachmentCols = `a.id, a.org_id, a.uploader_id, a.name, a.content_type, a.size, COALESCE(a.width, 0), COALESCE(a.height, 0), COALESCE(a.message_id, ''), a.created_at`

func scanAttachment(row interface{ Scan(...any) error }) (chat.Attachment, error) {
	var a chat.Attachment
	var created int64
	err := row.Scan(&a.ID, &a.OrgID, &a.UploaderID, &a.Name, &a.ContentType, &a.Size, &a.Width, &a.Height, &a.MessageID, &created)
	a.CreatedAt = fromMS(created)
	return a, err
}

var errNoAttachment = apperr.New(apperr.NotFound, "attachment not found")

// CreateAttachment implements chat.AttachmentStore.
func (s *Store) CreateAttachment(ctx context.Context, a chat.Attachment) error {
	return s.tx(ctx, func(t *Tx) error {
		var w, h any
		if a.Width > 0 {
			w, h = a.Width, a.Height
		}
		_, err := t.exec(ctx, `INSERT INTO attachments (id, org_id, uploader_id, name, content_type, size, width, height, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.OrgID, a.UploaderID, a.Name, a.ContentType, a.Size, w, h, ms(a.CreatedAt))
		return internal("create attachment", err)
	})
}

// Attachment implements chat.AttachmentStore.
func (s *Store) Attachment(ctx context.Context, orgID, userID, id string) (chat.Attachment, error) {
	r := reader{s, readPool{s}}
	a, err := scanAttachment(r.queryRow(ctx, `SELECT `+attachmentCols+` FROM attachments a
		LEFT JOIN messages m ON m.id = a.message_id
		WHERE a.id = ? AND a.org_id = ? AND (
			(a.message_id IS NULL AND a.uploader_id = ?) OR
			(a.message_id IS NOT NULL AND m.deleted_at IS NULL AND EXISTS (SELECT 1 FROM conversation_members cm
				WHERE cm.conversation_id = m.conversation_id AND cm.user_id = ?)))`, id, orgID, userID, userID))
	if err == sql.ErrNoRows {
		return a, errNoAttachment
	}
	return a, internal("attachment", err)
}

// DropUnposted implements chat.AttachmentStore.
func (s *Store) DropUnposted(ctx context.Context, before time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `DELETE FROM attachments WHERE message_id IS NULL AND created_at < ?`, ms(before))
		if err != nil {
			return internal("drop unposted attachments", err)
		}
		n, err = res.RowsAffected()
		return internal("drop unposted attachments", err)
	})
	return int(n), err
}

// AttachmentExists implements chat.AttachmentStore.
func (s *Store) AttachmentExists(ctx context.Context, id string) (bool, error) {
	var n int
	err := reader{s, readPool{s}}.queryRow(ctx, `SELECT COUNT(*) FROM attachments WHERE id = ?`, id).Scan(&n)
	return n > 0, internal("attachment exists", err)
}

// attach gives a new message the sender's own unposted attachments, in
// order. Invalid when one is unknown, another's or posted already: which
// of these it is stays the uploader's business.
func (t *Tx) attach(ctx context.Context, orgID, userID, msgID string, ids []string) ([]chat.Attachment, error) {
	out := make([]chat.Attachment, 0, len(ids))
	for i, id := range ids {
		res, err := t.exec(ctx, `UPDATE attachments SET message_id = ?, position = ?
			WHERE id = ? AND org_id = ? AND uploader_id = ? AND message_id IS NULL`, msgID, i, id, orgID, userID)
		if err != nil {
			return nil, internal("attach", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return nil, internal("attach", err)
			}
			return nil, apperr.New(apperr.Invalid, "attachment_ids must be your own attachments not posted yet")
		}
		a, err := scanAttachment(t.reader().queryRow(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.id = ?`, id))
		if err != nil {
			return nil, internal("attach", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// attachmentsOf loads the attachments of messages (at maps a message id
// to its index in out).
func (r reader) attachmentsOf(ctx context.Context, out []chat.Message, at map[string]int, in string, idArgs []any) error {
	rows, err := r.query(ctx, `SELECT `+attachmentCols+` FROM attachments a WHERE a.message_id IN (`+in+`) ORDER BY a.message_id, a.position`, idArgs...)
	if err != nil {
		return internal("attachments", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttachment(rows)
		if err != nil {
			return internal("attachments scan", err)
		}
		m := &out[at[a.MessageID]]
		m.Attachments = append(m.Attachments, a)
	}
	return internal("attachments rows", rows.Err())
}
