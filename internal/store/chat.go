package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/chat"
	"vo/internal/presence"
	"vo/internal/wire"
)

// The chat of SPEC §8. Every write first locks its conversation's row (and
// bumps its version) by lockConv, which also checks that the caller is a
// member: a conversation's changes are serial, each member's view has one
// version order, and their events reach each member's stream in that
// order (the stream rows are locked last, at commit).

var errNoConversation = apperr.New(apperr.NotFound, "conversation not found")

const msgCols = `m.id, m.conversation_id, m.seq, m.sender_id, m.client_id, m.text, COALESCE(m.reply_to, ''), m.created_at, m.edited_at, m.deleted_at`

func scanMessage(row interface{ Scan(...any) error }) (chat.Message, error) {
	var m chat.Message
	var created int64
	var edited, deleted sql.NullInt64
	err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.SenderID, &m.ClientID, &m.Text, &m.ReplyTo, &created, &edited, &deleted)
	m.CreatedAt = fromMS(created)
	if edited.Valid {
		m.EditedAt = fromMS(edited.Int64)
	}
	if deleted.Valid {
		m.DeletedAt = fromMS(deleted.Int64)
	}
	return m, err
}

// reader runs queries on a pool or a transaction, rebound for the engine.
type reader struct {
	s *Store
	x q
}

func (r reader) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return r.x.QueryRowContext(ctx, r.s.rebind(query), args...)
}

func (r reader) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return r.x.QueryContext(ctx, r.s.rebind(query), args...)
}

func (t *Tx) reader() reader { return reader{t.s, t} }

// marks returns n placeholders and the ids as arguments.
func marks(ids []string) (string, []any) {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(ids)), ","), args
}

// messages reads messages with their mentions and reactions.
func (r reader) messages(ctx context.Context, query string, args ...any) ([]chat.Message, error) {
	rows, err := r.query(ctx, query, args...)
	if err != nil {
		return nil, internal("messages", err)
	}
	var out []chat.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return nil, internal("messages scan", err)
		}
		out = append(out, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, internal("messages rows", err)
	}
	ids := make([]string, len(out))
	at := make(map[string]int, len(out))
	for i, m := range out {
		ids[i], at[m.ID] = m.ID, i
	}
	in, idArgs := marks(ids)
	rows, err = r.query(ctx, `SELECT message_id, user_id FROM message_mentions WHERE message_id IN (`+in+`) ORDER BY message_id, user_id`, idArgs...)
	if err != nil {
		return nil, internal("mentions", err)
	}
	for rows.Next() {
		var mid, uid string
		if err := rows.Scan(&mid, &uid); err != nil {
			rows.Close()
			return nil, internal("mentions scan", err)
		}
		out[at[mid]].Mentions = append(out[at[mid]].Mentions, uid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("mentions rows", err)
	}
	if err := r.attachmentsOf(ctx, out, at, in, idArgs); err != nil {
		return nil, err
	}
	rows, err = r.query(ctx, `SELECT message_id, emoji, user_id FROM message_reactions WHERE message_id IN (`+in+`) ORDER BY message_id, created_at, emoji, user_id`, idArgs...)
	if err != nil {
		return nil, internal("reactions", err)
	}
	defer rows.Close()
	for rows.Next() {
		var mid, emoji, uid string
		if err := rows.Scan(&mid, &emoji, &uid); err != nil {
			return nil, internal("reactions scan", err)
		}
		m := &out[at[mid]]
		k := -1
		for i := range m.Reactions {
			if m.Reactions[i].Emoji == emoji {
				k = i
			}
		}
		if k < 0 {
			m.Reactions = append(m.Reactions, chat.Reaction{Emoji: emoji})
			k = len(m.Reactions) - 1
		}
		m.Reactions[k].UserIDs = append(m.Reactions[k].UserIDs, uid)
	}
	return out, internal("reactions rows", rows.Err())
}

// message reads one message of a conversation; NotFound when there is none.
func (r reader) message(ctx context.Context, convID, msgID string) (chat.Message, error) {
	ms, err := r.messages(ctx, `SELECT `+msgCols+` FROM messages m WHERE m.id = ? AND m.conversation_id = ?`, msgID, convID)
	if err != nil {
		return chat.Message{}, err
	}
	if len(ms) == 0 {
		return chat.Message{}, apperr.New(apperr.NotFound, "message not found")
	}
	return ms[0], nil
}

// memberUsers returns the active members of a conversation, by name.
func (r reader) memberUsers(ctx context.Context, convID string) ([]account.User, error) {
	rows, err := r.query(ctx, `SELECT `+userColsOf("u.")+` FROM conversation_members cm JOIN users u ON u.id = cm.user_id
		WHERE cm.conversation_id = ? AND u.active = 1 ORDER BY u.name_key, u.id`, convID)
	if err != nil {
		return nil, internal("members", err)
	}
	defer rows.Close()
	var out []account.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, internal("members scan", err)
		}
		out = append(out, u)
	}
	return out, internal("members rows", rows.Err())
}

func userIDs(us []account.User) []string {
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids
}

// isMember reports whether userID is a member of the org's conversation.
func (r reader) isMember(ctx context.Context, orgID, userID, convID string) error {
	var n int
	err := r.queryRow(ctx, `SELECT COUNT(*) FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id
		WHERE c.id = ? AND c.org_id = ? AND cm.user_id = ?`, convID, orgID, userID).Scan(&n)
	if err != nil {
		return internal("member", err)
	}
	if n == 0 {
		return errNoConversation
	}
	return nil
}

// views renders the conversation as each viewer sees it. NotFound when it
// is not the org's.
func (r reader) views(ctx context.Context, orgID, convID string, viewers []string) ([]chat.Conversation, error) {
	c := chat.Conversation{ID: convID, OrgID: orgID}
	var kind string
	var activity int64
	err := r.queryRow(ctx, `SELECT kind, name, version, last_activity_at FROM conversations WHERE id = ? AND org_id = ?`, convID, orgID).
		Scan(&kind, &c.Name, &c.Version, &activity)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoConversation
	}
	if err != nil {
		return nil, internal("conversation", err)
	}
	c.Kind, c.LastActivity = chat.Kind(kind), fromMS(activity)
	users, err := r.memberUsers(ctx, convID)
	if err != nil {
		return nil, err
	}
	ps, err := r.s.presenceIn(ctx, r, orgID, userIDs(users))
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		c.Members = append(c.Members, chat.Member{User: u, Presence: ps[u.ID]})
	}
	type own struct {
		muted   bool
		readSeq int64
		readID  string
	}
	owns := map[string]own{}
	rows, err := r.query(ctx, `SELECT cm.user_id, cm.muted, cm.last_read_seq, COALESCE(cm.last_read_message_id, '') FROM conversation_members cm
		JOIN users u ON u.id = cm.user_id WHERE cm.conversation_id = ? AND u.active = 1 ORDER BY cm.user_id`, convID)
	if err != nil {
		return nil, internal("member state", err)
	}
	for rows.Next() {
		var uid string
		var muted int
		var o own
		if err := rows.Scan(&uid, &muted, &o.readSeq, &o.readID); err != nil {
			rows.Close()
			return nil, internal("member state scan", err)
		}
		o.muted = muted == 1
		owns[uid] = o
		if o.readID != "" {
			c.ReadMarkers = append(c.ReadMarkers, chat.ReadMarker{UserID: uid, MessageID: o.readID})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, internal("member state rows", err)
	}
	last, err := r.messages(ctx, `SELECT `+msgCols+` FROM messages m WHERE m.conversation_id = ? ORDER BY m.seq DESC LIMIT 1`, convID)
	if err != nil {
		return nil, err
	}
	if len(last) == 1 {
		c.LastMessage = &last[0]
	}
	out := make([]chat.Conversation, len(viewers))
	for i, v := range viewers {
		cv := c
		o := owns[v]
		cv.Muted, cv.LastReadMessageID = o.muted, o.readID
		if err := r.queryRow(ctx, `SELECT COUNT(*) FROM messages WHERE conversation_id = ? AND seq > ? AND sender_id <> ? AND deleted_at IS NULL`,
			convID, o.readSeq, v).Scan(&cv.UnreadCount); err != nil {
			return nil, internal("unread", err)
		}
		out[i] = cv
	}
	return out, nil
}

// presenceIn returns the presence of the given users, read through r.
func (s *Store) presenceIn(ctx context.Context, r reader, orgID string, ids []string) (map[string]presence.Row, error) {
	out := make(map[string]presence.Row, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, args := marks(ids)
	rows, err := r.query(ctx, `SELECT `+presenceCols+` FROM presence p WHERE p.org_id = ? AND p.user_id IN (`+in+`)`, append([]any{orgID}, args...)...)
	if err != nil {
		return nil, internal("member presence", err)
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPresence(rows)
		if err != nil {
			return nil, internal("member presence scan", err)
		}
		out[p.UserID] = p
	}
	return out, internal("member presence rows", rows.Err())
}

// lockedConv is a conversation locked by lockConv.
type lockedConv struct {
	id      string
	kind    chat.Kind
	name    string
	lastSeq int64
	version int64 // after this transaction's bump
}

// lockConv locks the org's conversation for this transaction and bumps its
// version, once it has checked that userID is a member (NotFound if not).
func (t *Tx) lockConv(ctx context.Context, orgID, userID, convID string) (lockedConv, error) {
	c := lockedConv{id: convID}
	var kind string
	err := t.queryRow(ctx, `UPDATE conversations SET version = version + 1 WHERE id = ? AND org_id = ?
		AND EXISTS (SELECT 1 FROM conversation_members cm WHERE cm.conversation_id = conversations.id AND cm.user_id = ?)
		RETURNING kind, name, last_seq, version`, convID, orgID, userID).Scan(&kind, &c.name, &c.lastSeq, &c.version)
	if errors.Is(err, sql.ErrNoRows) {
		return c, errNoConversation
	}
	c.kind = chat.Kind(kind)
	return c, internal("lock conversation", err)
}

// lockMessageConv locks the conversation of a message (see lockConv).
func (t *Tx) lockMessageConv(ctx context.Context, orgID, userID, msgID string) (lockedConv, chat.Message, error) {
	var convID string
	err := t.queryRow(ctx, `SELECT conversation_id FROM messages WHERE id = ?`, msgID).Scan(&convID)
	if errors.Is(err, sql.ErrNoRows) {
		return lockedConv{}, chat.Message{}, apperr.New(apperr.NotFound, "message not found")
	}
	if err != nil {
		return lockedConv{}, chat.Message{}, internal("message", err)
	}
	c, err := t.lockConv(ctx, orgID, userID, convID)
	if apperr.Is(err, apperr.NotFound) {
		return c, chat.Message{}, apperr.New(apperr.NotFound, "message not found")
	}
	if err != nil {
		return c, chat.Message{}, err
	}
	m, err := t.reader().message(ctx, convID, msgID)
	return c, m, err
}

// announceViews logs a conversation event to each viewer with their view.
func (t *Tx) announceViews(ctx context.Context, orgID, convID string, viewers []string) ([]chat.Conversation, error) {
	vs, err := t.reader().views(ctx, orgID, convID, viewers)
	if err != nil {
		return nil, err
	}
	for i, v := range viewers {
		if err := t.emit(wire.ConversationChanged(orgID, vs[i], v)); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

// announceMessage logs a message event to the members, and with views each
// member's new view of the conversation. A new or edited message needs no
// views: every client counts it from the message event alone (the sender's
// marker moves to it, anyone else's unread count grows by one), and that
// keeps a send into a group of 50 at one event, not 51 with 50 unread
// counts to work out. A delete changes counts a client cannot work out,
// so it sends the views.
func (t *Tx) announceMessage(ctx context.Context, orgID string, c lockedConv, m chat.Message, members []string, views bool) error {
	if err := t.emit(wire.MessageChanged(orgID, m, c.version, members)); err != nil {
		return err
	}
	if !views {
		return nil
	}
	_, err := t.announceViews(ctx, orgID, m.ConversationID, members)
	return err
}

// checkUsers refuses ids that are not all active users of the org.
func (t *Tx) checkUsers(ctx context.Context, orgID string, ids []string) error {
	in, args := marks(ids)
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE org_id = ? AND active = 1 AND id IN (`+in+`)`, append([]any{orgID}, args...)...).Scan(&n); err != nil {
		return internal("check users", err)
	}
	if n != len(ids) {
		return apperr.New(apperr.Invalid, "every member must be an active user of your org")
	}
	return nil
}

// CreateConversation implements chat.Store.
func (s *Store) CreateConversation(ctx context.Context, orgID, userID string, kind chat.Kind, name string, ids []string) (chat.Conversation, bool, error) {
	var out chat.Conversation
	created := false
	key := ""
	if kind == chat.Direct {
		key = chat.DirectKey(ids)
	}
	existing := func(r reader) (string, error) {
		var id string
		err := r.queryRow(ctx, `SELECT id FROM conversations WHERE org_id = ? AND direct_key = ?`, orgID, key).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return id, internal("direct chat", err)
	}
	err := s.tx(ctx, func(t *Tx) error {
		if err := t.checkUsers(ctx, orgID, ids); err != nil {
			return err
		}
		if kind == chat.Direct {
			id, err := existing(t.reader())
			if err != nil || id != "" {
				if err == nil {
					var vs []chat.Conversation
					vs, err = t.reader().views(ctx, orgID, id, []string{userID})
					if err == nil {
						out = vs[0]
					}
				}
				return err
			}
		}
		id, now := account.NewID("c"), ms(s.clock.Now())
		if _, err := t.exec(ctx, `INSERT INTO conversations (id, org_id, kind, name, direct_key, created_at, last_activity_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			id, orgID, string(kind), name, nullable(key), now, now); err != nil {
			return internal("create conversation", err)
		}
		for _, u := range ids {
			if _, err := t.exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, joined_at) VALUES (?, ?, ?)`, id, u, now); err != nil {
				return internal("add member", err)
			}
		}
		vs, err := t.announceViews(ctx, orgID, id, ids)
		if err != nil {
			return err
		}
		for i, u := range ids {
			if u == userID {
				out = vs[i]
			}
		}
		created = true
		return nil
	})
	if isUnique(err) && kind == chat.Direct {
		// Both of a pair created their chat at once; the other one won.
		id, err := existing(reader{s, readPool{s}})
		if err != nil || id == "" {
			return out, false, internal("direct chat", err)
		}
		c, err := s.Conversation(ctx, orgID, userID, id)
		return c, false, err
	}
	return out, created, err
}

// Conversation implements chat.Store.
func (s *Store) Conversation(ctx context.Context, orgID, userID, convID string) (chat.Conversation, error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return chat.Conversation{}, internal("conversation", err)
	}
	defer tx.Rollback()
	r := reader{s, tx}
	if err := r.isMember(ctx, orgID, userID, convID); err != nil {
		return chat.Conversation{}, err
	}
	vs, err := r.views(ctx, orgID, convID, []string{userID})
	if err != nil {
		return chat.Conversation{}, err
	}
	return vs[0], nil
}

// Conversations implements chat.Store: newest activity first, paged by
// (activity, id).
func (s *Store) Conversations(ctx context.Context, orgID, userID string, limit int, cursor string) ([]chat.Conversation, string, error) {
	key, after, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, "", internal("conversations", err)
	}
	defer tx.Rollback()
	r := reader{s, tx}
	q := `SELECT c.id, c.last_activity_at FROM conversations c JOIN conversation_members cm ON cm.conversation_id = c.id AND cm.user_id = ?
		WHERE c.org_id = ?`
	args := []any{userID, orgID}
	if after != "" {
		at, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, "", apperr.New(apperr.Invalid, "cursor is not one this server gave")
		}
		q += ` AND (c.last_activity_at < ? OR c.last_activity_at = ? AND c.id < ?)`
		args = append(args, at, at, after)
	}
	rows, err := r.query(ctx, q+` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", internal("conversations", err)
	}
	var ids []string
	var ats []int64
	for rows.Next() {
		var id string
		var at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return nil, "", internal("conversations scan", err)
		}
		ids, ats = append(ids, id), append(ats, at)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, "", internal("conversations rows", err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = encodeCursor(strconv.FormatInt(ats[limit-1], 10), ids[limit-1])
	}
	out := make([]chat.Conversation, 0, len(ids))
	for _, id := range ids {
		vs, err := r.views(ctx, orgID, id, []string{userID})
		if err != nil {
			return nil, "", err
		}
		out = append(out, vs[0])
	}
	return out, next, nil
}

// UpdateConversation implements chat.Store.
func (s *Store) UpdateConversation(ctx context.Context, orgID, userID, convID string, name *string, muted *bool) (chat.Conversation, error) {
	var out chat.Conversation
	err := s.tx(ctx, func(t *Tx) error {
		c, err := t.lockConv(ctx, orgID, userID, convID)
		if err != nil {
			return err
		}
		if name != nil && c.kind != chat.Group {
			return apperr.New(apperr.Invalid, "only a group has a name")
		}
		if name != nil {
			if _, err := t.exec(ctx, `UPDATE conversations SET name = ? WHERE id = ?`, *name, convID); err != nil {
				return internal("rename", err)
			}
		}
		if muted != nil {
			v := 0
			if *muted {
				v = 1
			}
			if _, err := t.exec(ctx, `UPDATE conversation_members SET muted = ? WHERE conversation_id = ? AND user_id = ?`, v, convID, userID); err != nil {
				return internal("mute", err)
			}
		}
		viewers := []string{userID} // a mute is the caller's own
		if name != nil {
			users, err := t.reader().memberUsers(ctx, convID)
			if err != nil {
				return err
			}
			viewers = userIDs(users)
		}
		vs, err := t.announceViews(ctx, orgID, convID, viewers)
		if err != nil {
			return err
		}
		for i, v := range viewers {
			if v == userID {
				out = vs[i]
			}
		}
		return nil
	})
	return out, err
}

// AddMembers implements chat.Store. A new member's read marker starts at
// the newest message: what was said before is history, not unread.
func (s *Store) AddMembers(ctx context.Context, orgID, userID, convID string, ids []string) (chat.Conversation, error) {
	var out chat.Conversation
	err := s.tx(ctx, func(t *Tx) error {
		c, err := t.lockConv(ctx, orgID, userID, convID)
		if err != nil {
			return err
		}
		if c.kind != chat.Group {
			return apperr.New(apperr.Invalid, "a 1:1 chat's members cannot change; start a group instead")
		}
		if err := t.checkUsers(ctx, orgID, ids); err != nil {
			return err
		}
		var lastID sql.NullString
		if err := t.queryRow(ctx, `SELECT MAX(id) FROM messages WHERE conversation_id = ? AND seq = ?`, convID, c.lastSeq).Scan(&lastID); err != nil {
			return internal("last message", err)
		}
		now := ms(s.clock.Now())
		for _, u := range ids {
			if _, err := t.exec(ctx, `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq, last_read_message_id, joined_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (conversation_id, user_id) DO NOTHING`, convID, u, c.lastSeq, lastID, now); err != nil {
				return internal("add member", err)
			}
		}
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM conversation_members WHERE conversation_id = ?`, convID).Scan(&n); err != nil {
			return internal("count members", err)
		}
		if n > chat.MaxMembers {
			return apperr.New(apperr.Invalid, "a group has at most %d members", chat.MaxMembers)
		}
		users, err := t.reader().memberUsers(ctx, convID)
		if err != nil {
			return err
		}
		viewers := userIDs(users)
		vs, err := t.announceViews(ctx, orgID, convID, viewers)
		for i, v := range viewers {
			if v == userID {
				out = vs[i]
			}
		}
		return err
	})
	return out, err
}

// RemoveMember implements chat.Store. The removed member is told, and
// from this commit on no event of the conversation is addressed to them.
func (s *Store) RemoveMember(ctx context.Context, orgID, userID, convID, memberID string) error {
	return s.tx(ctx, func(t *Tx) error {
		c, err := t.lockConv(ctx, orgID, userID, convID)
		if err != nil {
			return err
		}
		if c.kind != chat.Group {
			return apperr.New(apperr.Invalid, "no one can leave a 1:1 chat")
		}
		res, err := t.exec(ctx, `DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?`, convID, memberID)
		if err != nil {
			return internal("remove member", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "no such member")
		}
		if err := t.emit(wire.ConversationRemoved(orgID, convID, memberID)); err != nil {
			return err
		}
		users, err := t.reader().memberUsers(ctx, convID)
		if err != nil {
			return err
		}
		_, err = t.announceViews(ctx, orgID, convID, userIDs(users))
		return err
	})
}

// errSameClientID is a retry that found its message after all.
var errSameClientID = errors.New("store: message sent already")

// MessageByClientID implements chat.Store.
func (s *Store) MessageByClientID(ctx context.Context, orgID, userID, clientID string) (chat.Message, error) {
	return reader{s, readPool{s}}.byClientID(ctx, orgID, userID, clientID)
}

func (r reader) byClientID(ctx context.Context, orgID, userID, clientID string) (chat.Message, error) {
	ms, err := r.messages(ctx, `SELECT `+msgCols+` FROM messages m JOIN conversations c ON c.id = m.conversation_id
		WHERE m.sender_id = ? AND m.client_id = ? AND c.org_id = ?`, userID, clientID, orgID)
	if err != nil {
		return chat.Message{}, err
	}
	if len(ms) == 0 {
		return chat.Message{}, apperr.New(apperr.NotFound, "message not found")
	}
	return ms[0], nil
}

// SendMessage implements chat.Store. The message is committed when it
// returns: sends wait in a lane (sendLanes), whose worker commits all the
// sends waiting for it in one transaction (see sendBatch). Two sends of one
// client_id that race both return the one message: in one lane, the
// second finds the first; across lanes (a client_id reused for another
// conversation), the loser's insert breaks the unique (sender, client_id),
// and it reads the winner's.
func (s *Store) SendMessage(ctx context.Context, orgID, userID, convID string, nm chat.NewMessage) (chat.Message, bool, error) {
	m, created, _, err := s.sendMessage(ctx, orgID, userID, convID, nm, false)
	return m, created, err
}

// SendMessagePush implements chat.PushStore: SendMessage, with the push
// audience read in the send's transaction (Tx.pushAudience).
func (s *Store) SendMessagePush(ctx context.Context, orgID, userID, convID string, nm chat.NewMessage) (chat.Message, bool, chat.PushAudience, error) {
	return s.sendMessage(ctx, orgID, userID, convID, nm, true)
}

func (s *Store) sendMessage(ctx context.Context, orgID, userID, convID string, nm chat.NewMessage, push bool) (chat.Message, bool, chat.PushAudience, error) {
	j := &sendJob{ctx: ctx, orgID: orgID, userID: userID, convID: convID, nm: nm, push: push, done: make(chan struct{})}
	if err := s.enqueueSend(ctx, j); err != nil {
		return chat.Message{}, false, chat.PushAudience{}, err
	}
	<-j.done // never earlier: once queued, the send may commit
	out, err := j.out, j.err
	created := err == nil
	switch {
	case errors.Is(err, errSameClientID):
		err, created = nil, false
	case isUnique(err):
		out, err = s.MessageByClientID(ctx, orgID, userID, nm.ClientID)
		created = false
	}
	if err == nil && out.ConversationID != convID {
		return out, false, chat.PushAudience{}, apperr.New(apperr.Conflict, "client_id was used for a message in another conversation")
	}
	if !created {
		return out, false, chat.PushAudience{}, err
	}
	return out, true, j.aud, err
}

// sendMembers returns the active members of a conversation, by name, as
// a send needs them: their ids and names (the audience, mentions) and what
// a push to them depends on. It is read once per transaction: the sends of
// a batch change no membership, mute or subscription.
func (t *Tx) sendMembers(ctx context.Context, convID string) (*convMembers, error) {
	if cm, ok := t.members[convID]; ok {
		return cm, nil
	}
	rows, err := t.query(ctx, `SELECT u.id, u.name, cm.muted, CASE WHEN EXISTS (SELECT 1 FROM push_subscriptions p WHERE p.user_id = u.id) THEN 1 ELSE 0 END
		FROM conversation_members cm JOIN users u ON u.id = cm.user_id
		WHERE cm.conversation_id = ? AND u.active = 1 ORDER BY u.name_key, u.id`, convID)
	if err != nil {
		return nil, internal("members", err)
	}
	defer rows.Close()
	cm := &convMembers{}
	for rows.Next() {
		var m pushMember
		var muted, subscribed int
		if err := rows.Scan(&m.UserID, &m.Name, &muted, &subscribed); err != nil {
			return nil, internal("members scan", err)
		}
		m.Muted, m.subscribed = muted != 0, subscribed != 0
		cm.all = append(cm.all, m)
		cm.users = append(cm.users, account.User{ID: m.UserID, Name: m.Name})
		cm.ids = append(cm.ids, m.UserID)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("members rows", err)
	}
	if t.members == nil {
		t.members = map[string]*convMembers{}
	}
	t.members[convID] = cm
	return cm, nil
}

// convMembers is a conversation's active members as sendMembers reads them.
type convMembers struct {
	all   []pushMember
	users []account.User // id and name only, for chat.Mentions
	ids   []string
}

// pushMember is a member as a push to them needs them.
type pushMember struct {
	chat.PushMember
	subscribed bool
}

// send stores one new message in t and logs its event; with push, it also
// reads who the message may be pushed to.
func (t *Tx) send(ctx context.Context, orgID, userID, convID string, nm chat.NewMessage, push bool) (chat.Message, chat.PushAudience, error) {
	c, err := t.lockConv(ctx, orgID, userID, convID)
	if err != nil {
		return chat.Message{}, chat.PushAudience{}, err
	}
	m, err := t.sendIn(ctx, orgID, userID, c, nm)
	if err != nil || !push {
		return m, chat.PushAudience{}, err
	}
	aud, err := t.pushAudience(ctx, c, userID)
	return m, aud, err
}

func (t *Tx) sendIn(ctx context.Context, orgID, userID string, c lockedConv, nm chat.NewMessage) (chat.Message, error) {
	convID := c.id
	if old, err := t.reader().byClientID(ctx, orgID, userID, nm.ClientID); err == nil {
		return old, errSameClientID
	} else if !apperr.Is(err, apperr.NotFound) {
		return chat.Message{}, err
	}
	if nm.ReplyTo != "" {
		if _, err := t.reader().message(ctx, convID, nm.ReplyTo); apperr.Is(err, apperr.NotFound) {
			return chat.Message{}, apperr.New(apperr.Invalid, "reply_to must be a message of this conversation")
		} else if err != nil {
			return chat.Message{}, err
		}
	}
	members, err := t.sendMembers(ctx, convID)
	if err != nil {
		return chat.Message{}, err
	}
	now := t.s.clock.Now()
	m := chat.Message{ID: account.NewID("m"), ConversationID: convID, Seq: c.lastSeq + 1, SenderID: userID, ClientID: nm.ClientID,
		Text: nm.Text, ReplyTo: nm.ReplyTo, CreatedAt: fromMS(ms(now)), Mentions: chat.Mentions(nm.Text, members.users)}
	if _, err := t.exec(ctx, `UPDATE conversations SET last_seq = ?, last_activity_at = ? WHERE id = ?`, m.Seq, ms(now), convID); err != nil {
		return chat.Message{}, internal("conversation seq", err)
	}
	col, val, arg := t.s.searchSet(m.Text)
	if _, err := t.exec(ctx, `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text, reply_to, created_at`+col+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?`+val+`)`,
		append([]any{m.ID, convID, m.Seq, userID, nm.ClientID, m.Text, nullable(nm.ReplyTo), ms(now)}, arg...)...); err != nil {
		return chat.Message{}, internal("send", err)
	}
	if err := t.addMentions(ctx, m.ID, m.Mentions); err != nil {
		return chat.Message{}, err
	}
	if len(nm.AttachmentIDs) > 0 {
		if m.Attachments, err = t.attach(ctx, orgID, userID, m.ID, nm.AttachmentIDs); err != nil {
			return chat.Message{}, err
		}
	}
	// Sending marks what came before as read, as in every chat app.
	if _, err := t.exec(ctx, `UPDATE conversation_members SET last_read_seq = ?, last_read_message_id = ? WHERE conversation_id = ? AND user_id = ? AND last_read_seq < ?`,
		m.Seq, m.ID, convID, userID, m.Seq); err != nil {
		return chat.Message{}, internal("sender's read marker", err)
	}
	return m, t.announceMessage(ctx, orgID, c, m, members.ids, false)
}

func (t *Tx) setMentions(ctx context.Context, msgID string, ids []string) error {
	if _, err := t.exec(ctx, `DELETE FROM message_mentions WHERE message_id = ?`, msgID); err != nil {
		return internal("mentions", err)
	}
	return t.addMentions(ctx, msgID, ids)
}

// addMentions stores the mentions of a message that has none yet.
func (t *Tx) addMentions(ctx context.Context, msgID string, ids []string) error {
	for _, u := range ids {
		if _, err := t.exec(ctx, `INSERT INTO message_mentions (message_id, user_id) VALUES (?, ?)`, msgID, u); err != nil {
			return internal("mentions", err)
		}
	}
	return nil
}

// Messages implements chat.Store.
func (s *Store) Messages(ctx context.Context, orgID, userID, convID, before string, limit int) ([]chat.Message, string, error) {
	tx, err := s.r.BeginTx(ctx, s.snapshotTx())
	if err != nil {
		return nil, "", internal("messages", err)
	}
	defer tx.Rollback()
	r := reader{s, tx}
	if err := r.isMember(ctx, orgID, userID, convID); err != nil {
		return nil, "", err
	}
	var seq int64 = 1 << 62
	if before != "" {
		m, err := r.message(ctx, convID, before)
		if apperr.Is(err, apperr.NotFound) {
			return nil, "", apperr.New(apperr.Invalid, "before must be a message of this conversation")
		}
		if err != nil {
			return nil, "", err
		}
		seq = m.Seq
	}
	out, err := r.messages(ctx, `SELECT `+msgCols+` FROM messages m WHERE m.conversation_id = ? AND m.seq < ? ORDER BY m.seq DESC LIMIT ?`, convID, seq, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].ID
	}
	return out, next, nil
}

// ownMessage locks a message's conversation and checks that the caller
// sent it.
func (t *Tx) ownMessage(ctx context.Context, orgID, userID, msgID, what string) (lockedConv, chat.Message, error) {
	c, m, err := t.lockMessageConv(ctx, orgID, userID, msgID)
	if err != nil {
		return c, m, err
	}
	if m.SenderID != userID {
		return c, m, apperr.New(apperr.Forbidden, "only its sender may %s a message", what)
	}
	return c, m, nil
}

// EditMessage implements chat.Store.
func (s *Store) EditMessage(ctx context.Context, orgID, userID, msgID, text string) (chat.Message, error) {
	var out chat.Message
	err := s.tx(ctx, func(t *Tx) error {
		c, m, err := t.ownMessage(ctx, orgID, userID, msgID, "edit")
		if err != nil {
			return err
		}
		if !m.DeletedAt.IsZero() {
			return apperr.New(apperr.Conflict, "the message was deleted")
		}
		users, err := t.reader().memberUsers(ctx, m.ConversationID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		m.Text, m.EditedAt, m.Mentions = text, fromMS(ms(now)), chat.Mentions(text, users)
		set, arg := s.searchUpdate(text)
		if _, err := t.exec(ctx, `UPDATE messages SET text = ?, edited_at = ?`+set+` WHERE id = ?`, append(append([]any{text, ms(now)}, arg...), msgID)...); err != nil {
			return internal("edit", err)
		}
		if err := t.setMentions(ctx, msgID, m.Mentions); err != nil {
			return err
		}
		out = m
		return t.announceMessage(ctx, orgID, c, m, userIDs(users), false)
	})
	return out, err
}

// DeleteMessage implements chat.Store: the message keeps its place, with
// no text, mentions, reactions or attachments.
func (s *Store) DeleteMessage(ctx context.Context, orgID, userID, msgID string) error {
	return s.tx(ctx, func(t *Tx) error {
		c, m, err := t.ownMessage(ctx, orgID, userID, msgID, "delete")
		if err != nil || !m.DeletedAt.IsZero() {
			return err
		}
		now := s.clock.Now()
		set, arg := s.searchUpdate("")
		if _, err := t.exec(ctx, `UPDATE messages SET text = '', deleted_at = ?`+set+` WHERE id = ?`, append(append([]any{ms(now)}, arg...), msgID)...); err != nil {
			return internal("delete", err)
		}
		if err := t.setMentions(ctx, msgID, nil); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `DELETE FROM message_reactions WHERE message_id = ?`, msgID); err != nil {
			return internal("delete reactions", err)
		}
		// The files go with the next sweep (chat.Attachments.Sweep).
		if _, err := t.exec(ctx, `DELETE FROM attachments WHERE message_id = ?`, msgID); err != nil {
			return internal("delete attachments", err)
		}
		m.Text, m.DeletedAt, m.Mentions, m.Reactions, m.Attachments = "", fromMS(ms(now)), nil, nil, nil
		users, err := t.reader().memberUsers(ctx, m.ConversationID)
		if err != nil {
			return err
		}
		return t.announceMessage(ctx, orgID, c, m, userIDs(users), true)
	})
}

// React implements chat.Store.
func (s *Store) React(ctx context.Context, orgID, userID, msgID, emoji string, add bool) error {
	return s.tx(ctx, func(t *Tx) error {
		_, m, err := t.lockMessageConv(ctx, orgID, userID, msgID)
		if err != nil {
			return err
		}
		if !m.DeletedAt.IsZero() {
			return apperr.New(apperr.Conflict, "the message was deleted")
		}
		var res sql.Result
		if add {
			res, err = t.exec(ctx, `INSERT INTO message_reactions (message_id, user_id, emoji, created_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (message_id, user_id, emoji) DO NOTHING`, msgID, userID, emoji, ms(s.clock.Now()))
		} else {
			res, err = t.exec(ctx, `DELETE FROM message_reactions WHERE message_id = ? AND user_id = ? AND emoji = ?`, msgID, userID, emoji)
		}
		if err != nil {
			return internal("react", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // as it was
		}
		users, err := t.reader().memberUsers(ctx, m.ConversationID)
		if err != nil {
			return err
		}
		return t.emit(wire.ReactionChanged(orgID, m.ConversationID, msgID, emoji, userID, add, userIDs(users)))
	})
}

// MarkRead implements chat.Store.
func (s *Store) MarkRead(ctx context.Context, orgID, userID, convID, msgID string) error {
	return s.tx(ctx, func(t *Tx) error {
		if _, err := t.lockConv(ctx, orgID, userID, convID); err != nil {
			return err
		}
		m, err := t.reader().message(ctx, convID, msgID)
		if err != nil {
			return err
		}
		res, err := t.exec(ctx, `UPDATE conversation_members SET last_read_seq = ?, last_read_message_id = ? WHERE conversation_id = ? AND user_id = ? AND last_read_seq < ?`,
			m.Seq, m.ID, convID, userID, m.Seq)
		if err != nil {
			return internal("read", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil // a marker never moves backwards
		}
		users, err := t.reader().memberUsers(ctx, convID)
		if err != nil {
			return err
		}
		if err := t.emit(wire.ReadMoved(orgID, convID, userID, m.ID, userIDs(users))); err != nil {
			return err
		}
		_, err = t.announceViews(ctx, orgID, convID, []string{userID})
		return err
	})
}

// MemberIDs implements chat.Store.
func (s *Store) MemberIDs(ctx context.Context, orgID, userID, convID string) ([]string, error) {
	r := reader{s, readPool{s}}
	if err := r.isMember(ctx, orgID, userID, convID); err != nil {
		return nil, err
	}
	users, err := r.memberUsers(ctx, convID)
	return userIDs(users), err
}

var _ chat.Store = (*Store)(nil)

// pushAudience is who a new message in the conversation may be pushed to
// (SPEC §9): its kind and name, and every active member with a push
// subscription, with their name and whether they muted it; and the sender,
// whose name the push shows.
func (t *Tx) pushAudience(ctx context.Context, c lockedConv, senderID string) (chat.PushAudience, error) {
	members, err := t.sendMembers(ctx, c.id)
	if err != nil {
		return chat.PushAudience{}, err
	}
	aud := chat.PushAudience{Kind: c.kind, Name: c.name}
	for _, m := range members.all {
		if m.subscribed || m.UserID == senderID {
			aud.Members = append(aud.Members, m.PushMember)
		}
	}
	return aud, nil
}
