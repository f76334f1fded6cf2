package httpapi

// Fuzz tests of the chat's decoders.
//
//	go test -run='^$' -fuzz=FuzzChatDecoders -fuzztime=20s ./internal/httpapi

import (
	"strings"
	"testing"
	"unicode/utf8"

	"vo/internal/chat"
)

// FuzzChatDecoders: the chat's body and frame decoders never panic, and
// either decode or return Invalid; what a message body decodes to passes
// the send rules or is refused by them with Invalid.
func FuzzChatDecoders(f *testing.F) {
	for _, s := range append(jsonSeeds,
		`{"client_id":"c1","text":"hi"}`, `{"client_id":"c1","text":"hi","reply_to":"m_1","attachment_ids":[]}`,
		`{"client_id":"c1","text":"hi","attachment_ids":["a"]}`, `{"client_id":"","text":""}`, `{"client_id":"c1","text":"a\u202eb"}`,
		`{"member_ids":["u1","u2"],"name":"Team"}`, `{"member_ids":null}`, `{"member_ids":[1]}`,
		`{"name":null,"muted":true}`, `{"muted":"x"}`, `{"name":5}`,
		`{"type":"typing","conversation_id":"c_1"}`, `{"type":"typing","conversation_id":7}`,
	) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeNewMessage(b)
		requireInvalid(t, "decodeNewMessage", b, err)
		if err == nil {
			if m.ReplyTo == "" && strings.Contains(string(b), `"reply_to":""`) {
				t.Fatalf("decodeNewMessage(%q) took an empty reply_to", b)
			}
			err := chat.CheckClientID(m.ClientID)
			requireInvalid(t, "CheckClientID", b, err)
			text, err := chat.NormalizeText(m.Text)
			requireInvalid(t, "NormalizeText", b, err)
			if err == nil && (text == "" || utf8.RuneCountInString(text) > chat.MaxTextLen || !utf8.ValidString(text)) {
				t.Fatalf("NormalizeText(%q) = %q", m.Text, text)
			}
		}
		ids, name, err := decodeNewConversation(b)
		requireInvalid(t, "decodeNewConversation", b, err)
		if err == nil {
			_, _, err := chat.Members("u_me", ids, name)
			requireInvalid(t, "Members", b, err)
		}
		n, muted, err := decodeConversationPatch(b)
		requireInvalid(t, "decodeConversationPatch", b, err)
		if err == nil && n == nil && muted == nil {
			t.Fatalf("decodeConversationPatch(%q): nothing to change, no error", b)
		}
		id, err := decodeTyping(b)
		requireInvalid(t, "decodeTyping", b, err)
		if err == nil && id == "" {
			t.Fatalf("decodeTyping(%q): no conversation id, no error", b)
		}
	})
}
