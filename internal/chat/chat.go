// Package chat owns the conversations and messages of SPEC §8: 1:1 and
// group chats, messages with replies, mentions and reactions, read
// markers and unread counts, typing, mute. The rules (what text, name,
// emoji and membership are allowed, who a mention names) are plain
// functions; the Service checks a request by them, limits sends, and asks
// its Store, which stores each change and logs its events in one
// transaction.
package chat

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/presence"
	"vo/internal/text"
)

// Kind is a conversation's kind.
type Kind string

// The kinds of SPEC §8.
const (
	Direct Kind = "direct"
	Group  Kind = "group"
)

// The limits of SPEC §8, and those it leaves to us.
const (
	MaxTextLen     = 4000 // code points of a message
	MaxNameLen     = 100  // code points of a group's name
	MaxMembers     = 256  // members of a group, the creator included
	MaxClientIDLen = 100  // bytes of a client_id
	maxEmojiLen    = 16   // code points of a reaction
)

// Conversation is one conversation as one member (the viewer) sees it.
type Conversation struct {
	ID      string
	OrgID   string
	Kind    Kind
	Name    string
	Members []Member // active members, by name
	// LastMessage is the newest message, nil before the first.
	LastMessage *Message
	// Version grows with every change of the conversation that a
	// member's view shows; a client keeps the highest it saw.
	Version      int64
	LastActivity time.Time
	// The viewer's own.
	UnreadCount       int
	Muted             bool
	LastReadMessageID string // "" before the first read
	// ReadMarkers are every member's read marker that is set.
	ReadMarkers []ReadMarker
}

// Member is a member of a conversation, with their presence as others see it.
type Member struct {
	User     account.User
	Presence presence.Row
}

// ReadMarker is how far one member has read.
type ReadMarker struct {
	UserID, MessageID string
}

// Message is one message.
type Message struct {
	ID             string
	ConversationID string
	Seq            int64 // its place in its conversation, from 1
	SenderID       string
	ClientID       string
	Text           string
	ReplyTo        string // "" for none
	CreatedAt      time.Time
	EditedAt       time.Time // zero: never edited
	DeletedAt      time.Time // zero: not deleted
	Mentions       []string  // user ids
	Reactions      []Reaction
	Attachments    []Attachment // in the order they were posted
}

// Reaction is one emoji and who reacted with it.
type Reaction struct {
	Emoji   string
	UserIDs []string
}

// NewMessage is a message to send.
type NewMessage struct {
	ClientID string
	Text     string
	ReplyTo  string
	// AttachmentIDs are the sender's own attachments not yet posted.
	AttachmentIDs []string
}

// NormalizeText checks a message's text: 1 to MaxTextLen code points after
// trimming, no control characters but newline and tab, something visible.
func NormalizeText(s string) (string, error) {
	return text.Normalize(s, text.Rules{Field: "text", Max: MaxTextLen, Required: true, Multiline: true})
}

// NormalizeMessageText is NormalizeText for a message with attachments:
// with at least one, the text may be empty.
func NormalizeMessageText(s string, attachments int) (string, error) {
	return text.Normalize(s, text.Rules{Field: "text", Max: MaxTextLen, Required: attachments == 0, Multiline: true})
}

// NormalizeName checks a group's name: at most MaxNameLen code points on
// one line; the empty name is allowed (clients show the members instead).
func NormalizeName(s string) (string, error) {
	return text.Normalize(s, text.Rules{Field: "name", Max: MaxNameLen})
}

// CheckClientID checks a client_id: 1 to MaxClientIDLen printable ASCII
// characters (a UUID, a ULID, a counter).
func CheckClientID(id string) error {
	if id == "" || len(id) > MaxClientIDLen || strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return apperr.New(apperr.Invalid, "client_id must be 1 to %d printable ASCII characters", MaxClientIDLen)
	}
	return nil
}

// CheckEmoji checks a reaction: one emoji, as a short run of symbols and
// the characters emoji are built with (joiners, variation selectors,
// keycaps, tags), holding at least one symbol.
func CheckEmoji(e string) error {
	bad := apperr.New(apperr.Invalid, "a reaction must be one emoji")
	if e == "" || !utf8.ValidString(e) || utf8.RuneCountInString(e) > maxEmojiLen {
		return bad
	}
	symbols, keycap := 0, strings.ContainsRune(e, '\u20e3')
	for _, r := range e {
		switch {
		case unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) && r > 0x7f:
			symbols++
		case r == '\u200d' || r == '\ufe0f' || r == '\ufe0e' || r == '\u20e3' || r >= 0xe0020 && r <= 0xe007f:
		case keycap && (r >= '0' && r <= '9' || r == '#' || r == '*'):
			symbols++
		case r == '\u203c' || r == '\u2049': // ‼ ⁉ are punctuation, yet emoji
			symbols++
		default:
			return bad
		}
	}
	if symbols == 0 {
		return bad
	}
	return nil
}

// Members decides a new conversation's kind and members from what the
// creator asked: the creator is always a member; one other member makes
// the 1:1 chat (which has no name); two or more a group. ids are returned
// sorted, without duplicates, the creator included.
func Members(creatorID string, others []string, name string) (Kind, []string, error) {
	set := map[string]bool{creatorID: true}
	for _, id := range others {
		if id == "" {
			return "", nil, apperr.New(apperr.Invalid, "member_ids must be user ids")
		}
		set[id] = true
	}
	ids := make([]string, 0, len(set))
	for id := range set {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	switch {
	case len(ids) < 2:
		return "", nil, apperr.New(apperr.Invalid, "member_ids must name at least one other user")
	case len(ids) > MaxMembers:
		return "", nil, apperr.New(apperr.Invalid, "a group has at most %d members", MaxMembers)
	case len(ids) == 2 && name != "":
		return "", nil, apperr.New(apperr.Invalid, "a 1:1 chat has no name; name two or more others for a group")
	case len(ids) == 2:
		return Direct, ids, nil
	}
	return Group, ids, nil
}

// DirectKey is the key that makes a 1:1 chat one per pair.
func DirectKey(ids []string) string {
	a, b := ids[0], ids[1]
	if b < a {
		a, b = b, a
	}
	return a + " " + b
}

// Mentions returns the members an @Name in text names, each once, in the
// order of the members: an "@" at the start or after a character that is
// not a letter or digit, followed by a member's name (case aside) and then
// the end or a character that is not a letter or digit. Where several
// names fit ("@Ann" and "@Ann Lee"), the longest wins.
func Mentions(text string, members []account.User) []string {
	if !strings.Contains(text, "@") {
		return nil
	}
	found := map[string]bool{}
	for i := 0; i < len(text); i++ {
		if text[i] != '@' {
			continue
		}
		if i > 0 {
			if r, _ := utf8.DecodeLastRuneInString(text[:i]); isWord(r) {
				continue
			}
		}
		rest, best, bestLen := text[i+1:], "", 0
		for _, m := range members {
			n := len(m.Name)
			if n == 0 || n > len(rest) || n <= bestLen || !strings.EqualFold(rest[:n], m.Name) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(rest[n:]); n < len(rest) && isWord(r) {
				continue
			}
			best, bestLen = m.ID, n
		}
		if best != "" {
			found[best] = true
		}
	}
	var out []string
	for _, m := range members {
		if found[m.ID] {
			out = append(out, m.ID)
			delete(found, m.ID)
		}
	}
	return out
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
