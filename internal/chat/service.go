package chat

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/notify"
	"vo/internal/page"
)

// Store is what the service needs of the database. Each method checks that
// the caller (userID) is a member of the conversation, in the caller's org:
// to anyone else a conversation does not exist (NotFound). Every write
// logs the events of SPEC §8 to the members in its transaction.
type Store interface {
	// CreateConversation creates a conversation of the given members (ids
	// as Members returns them), or returns the 1:1 chat the pair already
	// has (created false). Invalid when a member is not an active user of
	// the org.
	CreateConversation(ctx context.Context, orgID, userID string, kind Kind, name string, memberIDs []string) (c Conversation, created bool, err error)
	// Conversations lists the caller's conversations, newest activity first.
	Conversations(ctx context.Context, orgID, userID string, limit int, cursor string) ([]Conversation, string, error)
	Conversation(ctx context.Context, orgID, userID, convID string) (Conversation, error)
	// UpdateConversation renames a group (name non-nil; Invalid for a 1:1
	// chat) and sets the caller's mute (muted non-nil).
	UpdateConversation(ctx context.Context, orgID, userID, convID string, name *string, muted *bool) (Conversation, error)
	// AddMembers adds users to a group. Invalid for a 1:1 chat, for a user
	// not active in the org, or beyond MaxMembers.
	AddMembers(ctx context.Context, orgID, userID, convID string, ids []string) (Conversation, error)
	// RemoveMember removes a member of a group (the caller leaving, or
	// another). NotFound when memberID is not a member.
	RemoveMember(ctx context.Context, orgID, userID, convID, memberID string) error
	// SendMessage stores a message, or returns the one the sender already
	// sent with its client_id (created false). Conflict when that client_id
	// was used in another conversation; Invalid when reply_to is not a
	// message of the conversation.
	SendMessage(ctx context.Context, orgID, userID, convID string, m NewMessage) (Message, bool, error)
	// MessageByClientID returns the caller's message sent with clientID,
	// NotFound when there is none.
	MessageByClientID(ctx context.Context, orgID, userID, clientID string) (Message, error)
	// Messages lists a conversation's messages newest first, those before
	// the message before ("" for the newest).
	Messages(ctx context.Context, orgID, userID, convID, before string, limit int) ([]Message, string, error)
	// EditMessage changes the text of the caller's own message (Forbidden
	// for another's, Conflict when deleted).
	EditMessage(ctx context.Context, orgID, userID, msgID, text string) (Message, error)
	// DeleteMessage deletes the caller's own message (Forbidden for
	// another's); deleting it again changes nothing.
	DeleteMessage(ctx context.Context, orgID, userID, msgID string) error
	// React adds (or removes) the caller's reaction; again changes nothing.
	React(ctx context.Context, orgID, userID, msgID, emoji string, add bool) error
	// MarkRead moves the caller's read marker to the message, never
	// backwards. NotFound when the message is not in the conversation.
	MarkRead(ctx context.Context, orgID, userID, convID, msgID string) error
	// MemberIDs returns the members of a conversation of the caller's.
	MemberIDs(ctx context.Context, orgID, userID, convID string) ([]string, error)
	// SearchMessages lists the messages of the conversations the caller is
	// a member of that have every word of q, newest first, those before
	// the message before ("" for the newest; Invalid when it is not a
	// message of the caller's conversations). Deleted messages are never
	// found. An index answers it, never a scan of the messages.
	SearchMessages(ctx context.Context, orgID, userID string, q Query, before string, limit int) ([]Message, string, error)
}

// Live publishes an event to the given users' sessions without logging it
// (it is lost to a stream that is not connected): typing.
type Live func(orgID, typ string, data json.RawMessage, userIDs []string)

// Service is the chat of SPEC §8.
type Service struct {
	store  Store
	clock  clock.Clock
	live   Live
	sends  *Limiter
	typing *typingThrottle
	push   Pusher
	pushes sync.WaitGroup
}

// Pusher sends a notification to a user's sessions that have no live
// stream (notify.Service).
type Pusher interface {
	NotifyAll(ctx context.Context, orgID string, userIDs []string, p notify.Push) (int, error)
}

// PushStore is what pushing a new message needs of the store: a send that
// also names who the new message may be pushed to, read in the send's own
// transaction (once for the sends it commits together into one
// conversation, not once a message).
type PushStore interface {
	// SendMessagePush is SendMessage, and the push audience of a new
	// message (none when it was sent already).
	SendMessagePush(ctx context.Context, orgID, userID, convID string, m NewMessage) (Message, bool, PushAudience, error)
}

// PushAudience is who a new message may be pushed to: the conversation's
// kind and name, and the members a push could reach (active, with a push
// subscription), with the sender among them for the push's title.
type PushAudience struct {
	Kind    Kind
	Name    string
	Members []PushMember
}

// PushMember is a member a new message may be pushed to.
type PushMember struct {
	UserID, Name string
	Muted        bool
}

// SetPusher makes every new message a push to the members who are not
// looking (SPEC §9); the store must be a PushStore.
func (s *Service) SetPusher(p Pusher) { s.push = p }

// WaitPushes waits until the pushes of messages sent so far are queued
// (tests, shutdown).
func (s *Service) WaitPushes() { s.pushes.Wait() }

// The send limit: a token bucket per user, SendBurst messages at once and
// then SendRate a second. A person typing fast sends a few a second; a
// paste of many lines as many messages is the burst; a loop is held back.
const (
	SendRate  = 10
	SendBurst = 30
)

// SetSendLimit replaces the send limit with rate a second and burst at
// once (`vo serve --send-limit`, for a load benchmark); call it before
// serving.
func (s *Service) SetSendLimit(rate, burst int) { s.sends = NewLimiter(s.clock, rate, burst) }

// TypingEvery is how often one member's typing in one conversation is
// passed on at most.
const TypingEvery = 3 * time.Second

// NewService returns the chat service. live may be nil: typing goes nowhere.
func NewService(s Store, c clock.Clock, live Live) *Service {
	if c == nil {
		c = clock.Real{}
	}
	return &Service{store: s, clock: c, live: live, sends: NewLimiter(c, SendRate, SendBurst),
		typing: &typingThrottle{last: map[[2]string]time.Time{}}}
}

// Create creates a conversation, or finds the pair's 1:1 chat.
func (s *Service) Create(ctx context.Context, orgID, userID string, memberIDs []string, name string) (Conversation, bool, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return Conversation{}, false, err
	}
	kind, ids, err := Members(userID, memberIDs, name)
	if err != nil {
		return Conversation{}, false, err
	}
	return s.store.CreateConversation(ctx, orgID, userID, kind, name, ids)
}

// List lists the caller's conversations.
func (s *Service) List(ctx context.Context, orgID, userID string, limit int, cursor string) ([]Conversation, string, error) {
	if err := page.Check(limit); err != nil {
		return nil, "", err
	}
	return s.store.Conversations(ctx, orgID, userID, limit, cursor)
}

// Get returns one conversation of the caller's.
func (s *Service) Get(ctx context.Context, orgID, userID, convID string) (Conversation, error) {
	return s.store.Conversation(ctx, orgID, userID, convID)
}

// Update renames a group and/or sets the caller's mute.
func (s *Service) Update(ctx context.Context, orgID, userID, convID string, name *string, muted *bool) (Conversation, error) {
	if name != nil {
		n, err := NormalizeName(*name)
		if err != nil {
			return Conversation{}, err
		}
		name = &n
	}
	return s.store.UpdateConversation(ctx, orgID, userID, convID, name, muted)
}

// AddMembers adds users to a group.
func (s *Service) AddMembers(ctx context.Context, orgID, userID, convID string, ids []string) (Conversation, error) {
	if len(ids) == 0 {
		return Conversation{}, apperr.New(apperr.Invalid, "user_ids must name at least one user")
	}
	if len(ids) > MaxMembers {
		return Conversation{}, apperr.New(apperr.Invalid, "a group has at most %d members", MaxMembers)
	}
	for _, id := range ids {
		if id == "" {
			return Conversation{}, apperr.New(apperr.Invalid, "user_ids must be user ids")
		}
	}
	return s.store.AddMembers(ctx, orgID, userID, convID, ids)
}

// RemoveMember removes a member from a group, or the caller leaves.
func (s *Service) RemoveMember(ctx context.Context, orgID, userID, convID, memberID string) error {
	return s.store.RemoveMember(ctx, orgID, userID, convID, memberID)
}

// Send sends a message: created is false when the sender's client_id was
// seen already, and the message is the first one. A new message takes a
// token of the sender's send limit (a retry does not).
func (s *Service) Send(ctx context.Context, orgID, userID, convID string, m NewMessage) (Message, bool, error) {
	if err := CheckClientID(m.ClientID); err != nil {
		return Message{}, false, err
	}
	t, err := NormalizeMessageText(m.Text, len(m.AttachmentIDs))
	if err != nil {
		return Message{}, false, err
	}
	m.Text = t
	if err := CheckAttachmentIDs(m.AttachmentIDs); err != nil {
		return Message{}, false, err
	}
	if old, err := s.store.MessageByClientID(ctx, orgID, userID, m.ClientID); err == nil {
		if old.ConversationID != convID {
			// Whether convID exists for the caller decides 404 or 409.
			if _, err := s.store.MemberIDs(ctx, orgID, userID, convID); err != nil {
				return Message{}, false, err
			}
			return Message{}, false, apperr.New(apperr.Conflict, "client_id was used for a message in another conversation")
		}
		return old, false, nil
	} else if !apperr.Is(err, apperr.NotFound) {
		return Message{}, false, err
	}
	if wait := s.sends.Take(userID); wait > 0 {
		e := apperr.New(apperr.RateLimited, "too many messages; retry later")
		e.RetryAfter = int(math.Ceil(wait.Seconds()))
		return Message{}, false, e
	}
	ps, pushing := s.store.(PushStore)
	if !pushing || s.push == nil {
		return s.store.SendMessage(ctx, orgID, userID, convID, m)
	}
	msg, created, aud, err := ps.SendMessagePush(ctx, orgID, userID, convID, m)
	if err == nil && created {
		s.pushes.Add(1)
		go func() {
			defer s.pushes.Done()
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			s.pushMessage(pctx, orgID, msg, aud)
		}()
	}
	return msg, created, err
}

// pushBody bounds a push's text: a lock screen shows a line or two.
const pushBody = 140

// pushMessage queues a push of a new message to every other member who
// has not muted the conversation, or is mentioned in it (SPEC §9). The
// message is committed already: a push that cannot be queued is lost,
// never the message.
func (s *Service) pushMessage(ctx context.Context, orgID string, m Message, aud PushAudience) {
	kind, name, members := aud.Kind, aud.Name, aud.Members
	sender := ""
	for _, mb := range members {
		if mb.UserID == m.SenderID {
			sender = mb.Name
		}
	}
	text := m.Text
	if text == "" && len(m.Attachments) > 0 {
		// A message of attachments alone is shown by the first one's name.
		text = "📎 " + m.Attachments[0].Name
	}
	title, body := sender, truncate(text, pushBody)
	if kind == Group {
		title = name
		if title == "" {
			title = "Group chat"
		}
		body = truncate(sender+": "+text, pushBody)
	}
	p := notify.Push{Type: notify.Message, Title: title, Body: body, URL: "/chats/" + m.ConversationID, Tag: "chat-" + m.ConversationID}
	var to []string
	for _, mb := range members {
		if mb.UserID == m.SenderID || (mb.Muted && !slices.Contains(m.Mentions, mb.UserID)) {
			continue
		}
		to = append(to, mb.UserID)
	}
	if len(to) == 0 {
		return // nobody to push to: no write, and no question to the store
	}
	if _, err := s.push.NotifyAll(ctx, orgID, to, p); err != nil {
		slog.Warn("chat: push not queued", slog.String("conversation", m.ConversationID), slog.Any("err", err))
	}
}

// truncate cuts s to at most n code points, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// History lists a conversation's messages newest first.
func (s *Service) History(ctx context.Context, orgID, userID, convID, before string, limit int) ([]Message, string, error) {
	if err := page.Check(limit); err != nil {
		return nil, "", err
	}
	return s.store.Messages(ctx, orgID, userID, convID, before, limit)
}

// Edit changes the text of one's own message.
func (s *Service) Edit(ctx context.Context, orgID, userID, msgID, text string) (Message, error) {
	t, err := NormalizeText(text)
	if err != nil {
		return Message{}, err
	}
	return s.store.EditMessage(ctx, orgID, userID, msgID, t)
}

// Delete deletes one's own message.
func (s *Service) Delete(ctx context.Context, orgID, userID, msgID string) error {
	return s.store.DeleteMessage(ctx, orgID, userID, msgID)
}

// React adds or removes the caller's reaction.
func (s *Service) React(ctx context.Context, orgID, userID, msgID, emoji string, add bool) error {
	if err := CheckEmoji(emoji); err != nil {
		return err
	}
	return s.store.React(ctx, orgID, userID, msgID, emoji, add)
}

// MarkRead moves the caller's read marker forward.
func (s *Service) MarkRead(ctx context.Context, orgID, userID, convID, msgID string) error {
	if msgID == "" {
		return apperr.New(apperr.Invalid, "message_id is needed")
	}
	return s.store.MarkRead(ctx, orgID, userID, convID, msgID)
}

// Typing tells the other members of a conversation that the caller is
// typing, at most once per TypingEvery per member and conversation (on
// this node); more often is dropped without an error. NotFound when the
// caller is not a member.
func (s *Service) Typing(ctx context.Context, orgID, userID, convID string) error {
	ids, err := s.store.MemberIDs(ctx, orgID, userID, convID)
	if err != nil {
		return err
	}
	if !s.typing.pass(convID, userID, s.clock.Now()) || s.live == nil {
		return nil
	}
	others := make([]string, 0, len(ids))
	for _, id := range ids {
		if id != userID {
			others = append(others, id)
		}
	}
	b, _ := json.Marshal(map[string]string{"conversation_id": convID, "user_id": userID})
	s.live(orgID, TypeTyping, b, others)
	return nil
}

// The event types of SPEC §8.
const (
	TypeMessage      = "message"
	TypeConversation = "conversation"
	TypeRead         = "read"
	TypeReaction     = "reaction"
	TypeTyping       = "typing"
)

// typingThrottle remembers when each member last typed in each
// conversation.
type typingThrottle struct {
	mu   sync.Mutex
	last map[[2]string]time.Time
}

// maxTypers bounds the throttle's memory: past it, entries older than
// TypingEvery (which decide nothing any more) are dropped.
const maxTypers = 10_000

func (t *typingThrottle) pass(convID, userID string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := [2]string{convID, userID}
	if at, ok := t.last[k]; ok && now.Sub(at) < TypingEvery {
		return false
	}
	if len(t.last) >= maxTypers {
		for k, at := range t.last {
			if now.Sub(at) >= TypingEvery {
				delete(t.last, k)
			}
		}
	}
	t.last[k] = now
	return true
}
