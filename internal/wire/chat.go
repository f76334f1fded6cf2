package wire

import (
	"time"

	"vo/internal/chat"
	"vo/internal/events"
)

// Conversation is a conversation as one member sees it (SPEC §8). A 1:1
// chat's name is null. Version grows with every change a member's view
// shows: a client keeps the view of the highest version it saw.
type Conversation struct {
	ID                string       `json:"id"`
	Kind              string       `json:"kind"`
	Name              *string      `json:"name"`
	Members           []Contact    `json:"members"`
	LastMessage       *Message     `json:"last_message"`
	UnreadCount       int          `json:"unread_count"`
	Muted             bool         `json:"muted"`
	LastReadMessageID *string      `json:"last_read_message_id"`
	ReadMarkers       []ReadMarker `json:"read_markers"`
	Version           int64        `json:"version"`
}

// ReadMarker is how far one member has read.
type ReadMarker struct {
	UserID    string `json:"user_id"`
	MessageID string `json:"message_id"`
}

// Message is one message. A deleted one keeps its place with empty text
// and no attachments.
type Message struct {
	ID             string       `json:"id"`
	ConversationID string       `json:"conversation_id"`
	SenderID       string       `json:"sender_id"`
	ClientID       string       `json:"client_id"`
	Text           string       `json:"text"`
	CreatedAt      time.Time    `json:"created_at"`
	EditedAt       *time.Time   `json:"edited_at"`
	DeletedAt      *time.Time   `json:"deleted_at"`
	ReplyTo        *string      `json:"reply_to"`
	Mentions       []string     `json:"mentions"`
	Reactions      []Reaction   `json:"reactions"`
	Attachments    []Attachment `json:"attachments"`
}

// Attachment is a file posted with a message, or waiting to be (SPEC §8);
// Width and Height only for an image.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
	Width       *int   `json:"width,omitempty"`
	Height      *int   `json:"height,omitempty"`
}

// AttachmentOf renders an attachment.
func AttachmentOf(a chat.Attachment) Attachment {
	out := Attachment{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size}
	if a.IsImage() {
		w, h := a.Width, a.Height
		out.Width, out.Height = &w, &h
	}
	return out
}

// Reaction is one emoji and who reacted with it.
type Reaction struct {
	Emoji   string   `json:"emoji"`
	UserIDs []string `json:"user_ids"`
}

// ConversationOf renders a conversation for its viewer.
func ConversationOf(c chat.Conversation) Conversation {
	out := Conversation{ID: c.ID, Kind: string(c.Kind), Members: make([]Contact, len(c.Members)), UnreadCount: c.UnreadCount,
		Muted: c.Muted, LastReadMessageID: optional(c.LastReadMessageID), ReadMarkers: make([]ReadMarker, len(c.ReadMarkers)), Version: c.Version}
	if c.Kind == chat.Group {
		name := c.Name
		out.Name = &name
	}
	for i, m := range c.Members {
		out.Members[i] = ContactOf(m.User, PublicPresence(m.Presence.State, m.Presence.Shown))
	}
	if c.LastMessage != nil {
		m := MessageOf(*c.LastMessage)
		out.LastMessage = &m
	}
	for i, r := range c.ReadMarkers {
		out.ReadMarkers[i] = ReadMarker{UserID: r.UserID, MessageID: r.MessageID}
	}
	return out
}

// MessageOf renders a message.
func MessageOf(m chat.Message) Message {
	out := Message{ID: m.ID, ConversationID: m.ConversationID, SenderID: m.SenderID, ClientID: m.ClientID, Text: m.Text,
		CreatedAt: m.CreatedAt.UTC(), EditedAt: optionalTime(m.EditedAt), DeletedAt: optionalTime(m.DeletedAt), ReplyTo: optional(m.ReplyTo),
		Mentions: m.Mentions, Reactions: make([]Reaction, len(m.Reactions)), Attachments: make([]Attachment, len(m.Attachments))}
	for i, a := range m.Attachments {
		out.Attachments[i] = AttachmentOf(a)
	}
	if out.Mentions == nil {
		out.Mentions = []string{}
	}
	for i, r := range m.Reactions {
		out.Reactions[i] = Reaction{Emoji: r.Emoji, UserIDs: r.UserIDs}
	}
	return out
}

// The chat events of SPEC §8, built here for the store to log.

// ConversationChanged tells one viewer their view of a conversation.
func ConversationChanged(orgID string, view chat.Conversation, viewerID string) (events.Event, error) {
	b, err := encode(struct {
		Conversation Conversation `json:"conversation"`
	}{ConversationOf(view)})
	return events.ToUsers(orgID, chat.TypeConversation, b, viewerID), err
}

// ConversationRemoved tells a removed member that the conversation is gone
// for them.
func ConversationRemoved(orgID, convID, memberID string) (events.Event, error) {
	b, err := encode(struct {
		ConversationID string `json:"conversation_id"`
		Removed        bool   `json:"removed"`
	}{convID, true})
	return events.ToUsers(orgID, chat.TypeConversation, b, memberID), err
}

// MessageChanged announces a new, edited or deleted message to the members,
// with the conversation's version after it: a client whose copy of the
// conversation is older counts the message into it (unread count, last
// message, the sender's read marker); one whose copy is at that version or
// newer already has it counted.
func MessageChanged(orgID string, m chat.Message, version int64, members []string) (events.Event, error) {
	b, err := encode(struct {
		Message Message `json:"message"`
		Version int64   `json:"conversation_version"`
	}{MessageOf(m), version})
	return events.ToUsers(orgID, chat.TypeMessage, b, members...), err
}

// ReactionChanged announces a reaction added or taken back.
func ReactionChanged(orgID, convID, msgID, emoji, userID string, added bool, members []string) (events.Event, error) {
	b, err := encode(struct {
		MessageID      string `json:"message_id"`
		ConversationID string `json:"conversation_id"`
		Emoji          string `json:"emoji"`
		UserID         string `json:"user_id"`
		Added          bool   `json:"added"`
	}{msgID, convID, emoji, userID, added})
	return events.ToUsers(orgID, chat.TypeReaction, b, members...), err
}

// ReadMoved announces a member's read marker.
func ReadMoved(orgID, convID, userID, msgID string, members []string) (events.Event, error) {
	b, err := encode(struct {
		ConversationID string `json:"conversation_id"`
		UserID         string `json:"user_id"`
		MessageID      string `json:"message_id"`
	}{convID, userID, msgID})
	return events.ToUsers(orgID, chat.TypeRead, b, members...), err
}
