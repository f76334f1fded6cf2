package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
)

// The chat of SPEC §8, over HTTP and the event stream, on both engines.

// newConv creates a conversation as p with the others and returns it,
// failing unless the answer is want.
func (fx *fixture) newConv(t testing.TB, p *person, name string, want int, others ...*person) apitypes.Conversation {
	t.Helper()
	ids := make([]string, len(others))
	for i, o := range others {
		ids[i] = o.ID
	}
	body := map[string]any{"member_ids": ids}
	if name != "" {
		body["name"] = name
	}
	return mustJSON[apitypes.Conversation](t, fx.call(t, "POST", "/api/v1/conversations", p.token(), body), want)
}

// send posts a message as p and returns it, failing unless it is new.
func (fx *fixture) send(t testing.TB, p *person, convID, clientID, text string) apitypes.Message {
	t.Helper()
	r := fx.call(t, "POST", "/api/v1/conversations/"+convID+"/messages", p.token(), map[string]any{"client_id": clientID, "text": text})
	return mustJSON[apitypes.Message](t, r, http.StatusCreated)
}

func (fx *fixture) conv(t testing.TB, p *person, id string) apitypes.Conversation {
	t.Helper()
	return mustJSON[apitypes.Conversation](t, fx.call(t, "GET", "/api/v1/conversations/"+id, p.token(), nil), http.StatusOK)
}

func (fx *fixture) history(t testing.TB, p *person, id, query string) apitypes.MessageList {
	t.Helper()
	return mustJSON[apitypes.MessageList](t, fx.call(t, "GET", "/api/v1/conversations/"+id+"/messages"+query, p.token(), nil), http.StatusOK)
}

func (fx *fixture) wantStatus(t testing.TB, p *person, method, path string, body any, status int) httpAnswer {
	t.Helper()
	r := fx.call(t, method, path, p.token(), body)
	if r.Status != status {
		t.Fatalf("%s %s as %s: %s, want %d", method, path, p.Name, r, status)
	}
	return r
}

func memberNames(c apitypes.Conversation) []string {
	var out []string
	for _, m := range c.Members {
		out = append(out, m.Name)
	}
	return out
}

func TestChatDirectAndGroup(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		// One 1:1 chat per pair, whoever starts it.
		d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		if d.Kind != "direct" || d.Name != nil || !slices.Equal(memberNames(d), []string{"Ann Lee", "Bob Stone"}) || d.UnreadCount != 0 || d.LastMessage != nil {
			t.Fatalf("new 1:1 chat: %+v", d)
		}
		if again := fx.newConv(t, fx.bob, "", http.StatusOK, fx.ann); again.ID != d.ID {
			t.Fatalf("Bob's 1:1 chat with Ann is %s, want %s", again.ID, d.ID)
		}
		// A group: a name, members, messages, replies, mentions.
		g := fx.newConv(t, fx.ann, "Launch", http.StatusCreated, fx.bob, fx.carla)
		if g.Kind != "group" || g.Name == nil || *g.Name != "Launch" || len(g.Members) != 3 {
			t.Fatalf("new group: %+v", g)
		}
		m1 := fx.send(t, fx.ann, g.ID, "c1", "  Hello @Bob Stone and @carla diaz!\n\tsee you  ")
		if m1.Text != "Hello @Bob Stone and @carla diaz!\n\tsee you" || !slices.Equal(m1.Mentions, []string{fx.bob.ID, fx.carla.ID}) || m1.ReplyTo != nil {
			t.Fatalf("message: %+v", m1)
		}
		r := fx.call(t, "POST", "/api/v1/conversations/"+g.ID+"/messages", fx.bob.token(), map[string]any{"client_id": "b1", "text": "hi", "reply_to": m1.ID})
		m2 := mustJSON[apitypes.Message](t, r, http.StatusCreated)
		if m2.ReplyTo == nil || *m2.ReplyTo != m1.ID {
			t.Fatalf("reply: %+v", m2)
		}
		m3 := fx.send(t, fx.bob, g.ID, "b2", "third")
		// Unread: the others' messages after one's marker.
		if c := fx.conv(t, fx.ann, g.ID); c.UnreadCount != 2 || c.LastMessage == nil || c.LastMessage.ID != m3.ID {
			t.Fatalf("Ann's view: unread %d, last %+v", c.UnreadCount, c.LastMessage)
		}
		if c := fx.conv(t, fx.carla, g.ID); c.UnreadCount != 3 {
			t.Fatalf("carla's unread %d, want 3", c.UnreadCount)
		}
		// Read markers never move backwards.
		fx.wantStatus(t, fx.carla, "POST", "/api/v1/conversations/"+g.ID+"/read", map[string]string{"message_id": m2.ID}, http.StatusNoContent)
		fx.wantStatus(t, fx.carla, "POST", "/api/v1/conversations/"+g.ID+"/read", map[string]string{"message_id": m1.ID}, http.StatusNoContent)
		c := fx.conv(t, fx.carla, g.ID)
		if c.UnreadCount != 1 || c.LastReadMessageID == nil || *c.LastReadMessageID != m2.ID {
			t.Fatalf("carla after reading m2 then m1: unread %d, marker %v", c.UnreadCount, c.LastReadMessageID)
		}
		if !slices.Contains(c.ReadMarkers, apitypes.ReadMarker{UserID: fx.carla.ID, MessageID: m2.ID}) {
			t.Fatalf("read markers %+v lack carla's", c.ReadMarkers)
		}
		// History, newest first, paged.
		h := fx.history(t, fx.carla, g.ID, "?limit=2")
		if len(h.Items) != 2 || h.Items[0].ID != m3.ID || h.Items[1].ID != m2.ID || h.NextCursor == nil {
			t.Fatalf("first page: %+v", h)
		}
		h = fx.history(t, fx.carla, g.ID, "?limit=2&before="+*h.NextCursor)
		if len(h.Items) != 1 || h.Items[0].ID != m1.ID || h.NextCursor != nil {
			t.Fatalf("second page: %+v", h)
		}
		// Reactions: idempotent, and removable.
		heart := "/api/v1/messages/" + m1.ID + "/reactions/" + url.PathEscape("❤️")
		fx.wantStatus(t, fx.bob, "PUT", heart, nil, http.StatusNoContent)
		fx.wantStatus(t, fx.bob, "PUT", heart, nil, http.StatusNoContent)
		fx.wantStatus(t, fx.carla, "PUT", heart, nil, http.StatusNoContent)
		fx.wantStatus(t, fx.carla, "PUT", "/api/v1/messages/"+m1.ID+"/reactions/"+url.PathEscape("👍🏽"), nil, http.StatusNoContent)
		fx.wantStatus(t, fx.carla, "DELETE", "/api/v1/messages/"+m1.ID+"/reactions/"+url.PathEscape("👍🏽"), nil, http.StatusNoContent)
		h = fx.history(t, fx.ann, g.ID, "")
		if rs := h.Items[2].Reactions; len(rs) != 1 || rs[0].Emoji != "❤️" || !slices.Equal(slices.Sorted(slices.Values(rs[0].UserIds)), slices.Sorted(slices.Values([]string{fx.bob.ID, fx.carla.ID}))) {
			t.Fatalf("reactions: %+v", rs)
		}
		// Edit and delete one's own; not another's.
		checkError(t, fx.call(t, "PATCH", "/api/v1/messages/"+m1.ID, fx.bob.token(), map[string]string{"text": "mine now"}), http.StatusForbidden, apperr.Forbidden)
		checkError(t, fx.call(t, "DELETE", "/api/v1/messages/"+m1.ID, fx.bob.token(), nil), http.StatusForbidden, apperr.Forbidden)
		e := mustJSON[apitypes.Message](t, fx.call(t, "PATCH", "/api/v1/messages/"+m1.ID, fx.ann.token(), map[string]string{"text": "Hello @Bob Stone"}), http.StatusOK)
		if e.Text != "Hello @Bob Stone" || e.EditedAt == nil || !slices.Equal(e.Mentions, []string{fx.bob.ID}) {
			t.Fatalf("edited: %+v", e)
		}
		fx.wantStatus(t, fx.bob, "DELETE", "/api/v1/messages/"+m3.ID, nil, http.StatusNoContent)
		fx.wantStatus(t, fx.bob, "DELETE", "/api/v1/messages/"+m3.ID, nil, http.StatusNoContent)
		h = fx.history(t, fx.ann, g.ID, "")
		if d := h.Items[0]; d.ID != m3.ID || d.DeletedAt == nil || d.Text != "" || len(d.Reactions) != 0 || len(d.Attachments) != 0 {
			t.Fatalf("deleted message: %+v", d)
		}
		if c := fx.conv(t, fx.carla, g.ID); c.UnreadCount != 0 {
			t.Fatalf("a deleted message still counts as unread: %d", c.UnreadCount)
		}
		checkError(t, fx.call(t, "PATCH", "/api/v1/messages/"+m3.ID, fx.bob.token(), map[string]string{"text": "back"}), http.StatusConflict, apperr.Conflict)
		// Mute is one's own; a rename is everyone's.
		mc := mustJSON[apitypes.Conversation](t, fx.call(t, "PATCH", "/api/v1/conversations/"+g.ID, fx.bob.token(), map[string]any{"muted": true}), http.StatusOK)
		if !mc.Muted || fx.conv(t, fx.ann, g.ID).Muted {
			t.Fatalf("Bob's mute: his %v, Ann's %v", mc.Muted, fx.conv(t, fx.ann, g.ID).Muted)
		}
		mustJSON[apitypes.Conversation](t, fx.call(t, "PATCH", "/api/v1/conversations/"+g.ID, fx.carla.token(), map[string]any{"name": "Launch 2"}), http.StatusOK)
		if n := fx.conv(t, fx.ann, g.ID).Name; n == nil || *n != "Launch 2" {
			t.Fatalf("renamed: %v", n)
		}
		checkError(t, fx.call(t, "PATCH", "/api/v1/conversations/"+d.ID, fx.ann.token(), map[string]any{"name": "x"}), http.StatusBadRequest, apperr.Invalid)
		// Members: removed, they lose access at once; added back, what was
		// said before is not unread.
		fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/conversations/"+g.ID+"/members/"+fx.carla.ID, nil, http.StatusNoContent)
		checkError(t, fx.call(t, "GET", "/api/v1/conversations/"+g.ID, fx.carla.token(), nil), http.StatusNotFound, apperr.NotFound)
		checkError(t, fx.call(t, "GET", "/api/v1/conversations/"+g.ID+"/messages", fx.carla.token(), nil), http.StatusNotFound, apperr.NotFound)
		checkError(t, fx.call(t, "POST", "/api/v1/conversations/"+g.ID+"/messages", fx.carla.token(), map[string]any{"client_id": "x", "text": "hi"}), http.StatusNotFound, apperr.NotFound)
		if l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations", fx.carla.token(), nil), http.StatusOK); len(l.Items) != 0 {
			t.Fatalf("carla still lists %d conversations", len(l.Items))
		}
		back := mustJSON[apitypes.Conversation](t, fx.call(t, "POST", "/api/v1/conversations/"+g.ID+"/members", fx.bob.token(), map[string]any{"user_ids": []string{fx.carla.ID}}), http.StatusOK)
		if len(back.Members) != 3 || fx.conv(t, fx.carla, g.ID).UnreadCount != 0 {
			t.Fatalf("added back: %v, unread %d", memberNames(back), fx.conv(t, fx.carla, g.ID).UnreadCount)
		}
		checkError(t, fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/members", fx.ann.token(), map[string]any{"user_ids": []string{fx.carla.ID}}), http.StatusBadRequest, apperr.Invalid)
		fx.wantStatus(t, fx.bob, "DELETE", "/api/v1/conversations/"+g.ID+"/members/"+fx.bob.ID, nil, http.StatusNoContent) // leaving
		checkError(t, fx.call(t, "GET", "/api/v1/conversations/"+g.ID, fx.bob.token(), nil), http.StatusNotFound, apperr.NotFound)
		l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations", fx.ann.token(), nil), http.StatusOK)
		if len(l.Items) != 2 {
			t.Fatalf("Ann's list: %+v", l.Items)
		}
	})
}

// The list is newest activity first, paged.
func TestChatListOrder(t *testing.T) {
	fx := sqliteFixture(t)
	d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
	fx.clk.Advance(time.Second)
	g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
	fx.clk.Advance(time.Second)
	fx.send(t, fx.bob, d.ID, "b1", "later")
	l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations", fx.ann.token(), nil), http.StatusOK)
	if len(l.Items) != 2 || l.Items[0].ID != d.ID || l.Items[1].ID != g.ID {
		t.Fatalf("Ann's list: %+v", l.Items)
	}
	l = mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations?limit=1", fx.ann.token(), nil), http.StatusOK)
	if len(l.Items) != 1 || l.Items[0].ID != d.ID || l.NextCursor == nil {
		t.Fatalf("page of one: %+v", l)
	}
	l = mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations?limit=1&cursor="+url.QueryEscape(*l.NextCursor), fx.ann.token(), nil), http.StatusOK)
	if len(l.Items) != 1 || l.Items[0].ID != g.ID || l.NextCursor != nil {
		t.Fatalf("second page: %+v", l)
	}
}

// Another org's user, and a colleague who is not a member, find nothing:
// 404 on every chat endpoint, and nothing is stored.
func TestChatAccess(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		m := fx.send(t, fx.ann, d.ID, "a1", "secret")
		before := fx.history(t, fx.ann, d.ID, "")
		beforeConv := fx.conv(t, fx.ann, d.ID)
		for _, p := range []*person{fx.carla, fx.annika} {
			for _, c := range []struct {
				method, path string
				body         any
			}{
				{"GET", "/api/v1/conversations/" + d.ID, nil},
				{"PATCH", "/api/v1/conversations/" + d.ID, map[string]any{"muted": true}},
				{"GET", "/api/v1/conversations/" + d.ID + "/messages", nil},
				{"POST", "/api/v1/conversations/" + d.ID + "/messages", map[string]any{"client_id": "x1", "text": "hi"}},
				{"POST", "/api/v1/conversations/" + d.ID + "/read", map[string]any{"message_id": m.ID}},
				{"POST", "/api/v1/conversations/" + d.ID + "/members", map[string]any{"user_ids": []string{p.ID}}},
				{"DELETE", "/api/v1/conversations/" + d.ID + "/members/" + fx.bob.ID, nil},
				{"PATCH", "/api/v1/messages/" + m.ID, map[string]any{"text": "mine"}},
				{"DELETE", "/api/v1/messages/" + m.ID, nil},
				{"PUT", "/api/v1/messages/" + m.ID + "/reactions/" + url.PathEscape("👍"), nil},
				{"DELETE", "/api/v1/messages/" + m.ID + "/reactions/" + url.PathEscape("👍"), nil},
			} {
				t.Run(p.Name+" "+c.method+" "+c.path, func(t *testing.T) {
					checkError(t, fx.call(t, c.method, c.path, p.token(), c.body), http.StatusNotFound, apperr.NotFound)
				})
			}
			if l := mustJSON[apitypes.ConversationList](t, fx.call(t, "GET", "/api/v1/conversations", p.token(), nil), http.StatusOK); len(l.Items) != 0 {
				t.Errorf("%s lists %d conversations", p.Name, len(l.Items))
			}
		}
		// A member of another org cannot be added, nor a chat started with them.
		checkError(t, fx.call(t, "POST", "/api/v1/conversations", fx.ann.token(), map[string]any{"member_ids": []string{fx.annika.ID}}), http.StatusBadRequest, apperr.Invalid)
		if after := fx.history(t, fx.ann, d.ID, ""); !slices.EqualFunc(after.Items, before.Items, func(a, b apitypes.Message) bool { return a.ID == b.ID && a.Text == b.Text }) {
			t.Errorf("messages changed:\n%+v\n%+v", before, after)
		}
		if after := fx.conv(t, fx.ann, d.ID); after.Version != beforeConv.Version {
			t.Errorf("conversation version %d → %d", beforeConv.Version, after.Version)
		}
	})
}

// Bad input is 400, and leaves the conversation as it was.
func TestChatBadInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		g := fx.newConv(t, fx.ann, "Team", http.StatusCreated, fx.bob, fx.carla)
		m := fx.send(t, fx.ann, g.ID, "a1", "first")
		msgs := "/api/v1/conversations/" + g.ID + "/messages"
		long := strings.Repeat("é", 4001)
		cases := []struct {
			name, method, path, body string
		}{
			{"empty text", "POST", msgs, `{"client_id":"n1","text":""}`},
			{"blank text", "POST", msgs, `{"client_id":"n1","text":" \n\t "}`},
			{"invisible text", "POST", msgs, `{"client_id":"n1","text":"\u200b\u2800"}`},
			{"over-long text", "POST", msgs, `{"client_id":"n1","text":"` + long + `"}`},
			{"control character", "POST", msgs, `{"client_id":"n1","text":"a\u0007b"}`},
			{"carriage return", "POST", msgs, `{"client_id":"n1","text":"a\rb"}`},
			{"bidi override", "POST", msgs, `{"client_id":"n1","text":"a\u202eb"}`},
			{"no text", "POST", msgs, `{"client_id":"n1"}`},
			{"text not a string", "POST", msgs, `{"client_id":"n1","text":5}`},
			{"no client_id", "POST", msgs, `{"text":"hi"}`},
			{"empty client_id", "POST", msgs, `{"client_id":"","text":"hi"}`},
			{"client_id with a space", "POST", msgs, `{"client_id":"a b","text":"hi"}`},
			{"an unknown attachment", "POST", msgs, `{"client_id":"n1","text":"hi","attachment_ids":["a_nope"]}`},
			{"attachment twice", "POST", msgs, `{"client_id":"n1","text":"hi","attachment_ids":["a_x","a_x"]}`},
			{"empty text without attachments", "POST", msgs, `{"client_id":"n1","text":"","attachment_ids":[]}`},
			{"reply to nothing", "POST", msgs, `{"client_id":"n1","text":"hi","reply_to":"m_nope"}`},
			{"not JSON", "POST", msgs, `{"client_id":`},
			{"edit to empty", "PATCH", "/api/v1/messages/" + m.ID, `{"text":"  "}`},
			{"edit without text", "PATCH", "/api/v1/messages/" + m.ID, `{}`},
			{"not an emoji", "PUT", "/api/v1/messages/" + m.ID + "/reactions/abc", ""},
			{"emoji and text", "PUT", "/api/v1/messages/" + m.ID + "/reactions/" + url.PathEscape("👍x"), ""},
			{"read nothing", "POST", "/api/v1/conversations/" + g.ID + "/read", `{}`},
			{"rename too long", "PATCH", "/api/v1/conversations/" + g.ID, `{"name":"` + strings.Repeat("n", 101) + `"}`},
			{"rename with a newline", "PATCH", "/api/v1/conversations/" + g.ID, `{"name":"a\nb"}`},
			{"muted not a boolean", "PATCH", "/api/v1/conversations/" + g.ID, `{"muted":"yes"}`},
			{"empty patch", "PATCH", "/api/v1/conversations/" + g.ID, `{}`},
			{"add nobody", "POST", "/api/v1/conversations/" + g.ID + "/members", `{"user_ids":[]}`},
			{"add an unknown user", "POST", "/api/v1/conversations/" + g.ID + "/members", `{"user_ids":["u_nope"]}`},
			{"history before another's message", "GET", msgs + "?before=m_nope", ""},
			{"history limit", "GET", msgs + "?limit=201", ""},
			{"list limit", "GET", "/api/v1/conversations?limit=0", ""},
			{"list cursor", "GET", "/api/v1/conversations?cursor=bogus", ""},
			{"only oneself", "POST", "/api/v1/conversations", `{"member_ids":["` + fx.ann.ID + `"]}`},
			{"no member_ids", "POST", "/api/v1/conversations", `{"name":"x"}`},
			{"a named 1:1", "POST", "/api/v1/conversations", `{"member_ids":["` + fx.bob.ID + `"],"name":"us"}`},
		}
		snapshot := func() string {
			var b strings.Builder
			for _, r := range []httpAnswer{fx.call(t, "GET", msgs, fx.ann.token(), nil), fx.call(t, "GET", "/api/v1/conversations", fx.ann.token(), nil),
				fx.call(t, "GET", "/api/v1/conversations", fx.bob.token(), nil)} {
				b.Write(r.Body)
			}
			return b.String()
		}
		before := snapshot()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				apiScenario{Method: c.method, URL: c.path, Body: c.body, Headers: bearerHeader(fx.ann.token()),
					ExpectedStatus: http.StatusBadRequest, ExpectedError: apperr.Invalid}.run(t, fx.testEnv)
			})
		}
		if after := snapshot(); after != before {
			t.Errorf("refused input changed what is stored:\n%s\n%s", before, after)
		}
	})
}

// A retry with the same client_id returns the first message, also when
// retries race; nothing is stored twice.
func TestChatIdempotentSend(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		first := fx.send(t, fx.ann, d.ID, "once", "hello")
		again := mustJSON[apitypes.Message](t, fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(),
			map[string]any{"client_id": "once", "text": "hello"}), http.StatusOK)
		if again.ID != first.ID {
			t.Fatalf("retry gave %s, want %s", again.ID, first.ID)
		}
		// Another conversation with the same client_id: a conflict, not a copy.
		g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
		checkError(t, fx.call(t, "POST", "/api/v1/conversations/"+g.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "once", "text": "x"}), http.StatusConflict, apperr.Conflict)
		// Racing retries: one is created, all answer the same message.
		const n = 8
		var wg sync.WaitGroup
		ids, statuses := make([]string, n), make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "race", "text": "racing"})
				statuses[i] = r.Status
				var m apitypes.Message
				_ = json.Unmarshal(r.Body, &m)
				ids[i] = m.ID
			}()
		}
		wg.Wait()
		created := 0
		for i := range n {
			if statuses[i] == http.StatusCreated {
				created++
			} else if statuses[i] != http.StatusOK {
				t.Fatalf("racing send %d: %d", i, statuses[i])
			}
			if ids[i] != ids[0] || ids[i] == "" {
				t.Fatalf("racing sends answered %v", ids)
			}
		}
		if created != 1 {
			t.Fatalf("%d racing sends created a message, want 1", created)
		}
		if h := fx.history(t, fx.bob, d.ID, ""); len(h.Items) != 2 {
			t.Fatalf("%d messages stored, want 2", len(h.Items))
		}
	})
}

// Sends are limited per user: 429 with Retry-After, nothing stored, and a
// retry of a message already sent is not held back.
func TestChatSendLimit(t *testing.T) {
	fx := sqliteFixture(t)
	d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
	for i := range 30 {
		fx.send(t, fx.ann, d.ID, fmt.Sprintf("b%d", i), "burst")
	}
	r := fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "over", "text": "one too many"})
	checkError(t, r, http.StatusTooManyRequests, apperr.RateLimited)
	if ra := r.Header.Get("Retry-After"); ra != "1" {
		t.Errorf("Retry-After %q, want 1", ra)
	}
	fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+d.ID+"/messages", map[string]any{"client_id": "b0", "text": "burst"}, http.StatusOK)
	fx.send(t, fx.bob, d.ID, "bob", "Bob has his own limit")
	if h := fx.history(t, fx.ann, d.ID, "?limit=200"); len(h.Items) != 31 {
		t.Fatalf("%d stored, want 31", len(h.Items))
	}
	fx.clk.Advance(100 * time.Millisecond) // a token at 10 a second
	fx.send(t, fx.ann, d.ID, "over", "now it fits")
}

// A raised send limit (vo serve --send-limit, for a load benchmark)
// holds back only past its own burst.
func TestChatSendLimitRaised(t *testing.T) {
	fx := sqliteFixture(t, func(_ testing.TB, c *Config) { c.Chat.SetSendLimit(100, 40) })
	d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
	for i := range 40 {
		fx.send(t, fx.ann, d.ID, fmt.Sprintf("b%d", i), "burst")
	}
	r := fx.call(t, "POST", "/api/v1/conversations/"+d.ID+"/messages", fx.ann.token(), map[string]any{"client_id": "over", "text": "one too many"})
	checkError(t, r, http.StatusTooManyRequests, apperr.RateLimited)
	fx.clk.Advance(10 * time.Millisecond) // a token at 100 a second
	fx.send(t, fx.ann, d.ID, "over", "now it fits")
}

// nextOf returns the next frame of type typ, skipping others (presence).
func (w *wsClient) nextOf(t *testing.T, typ string) map[string]any {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				t.Fatalf("want a %s frame, the stream closed: %v", typ, <-w.closed)
			}
			if f["type"] == typ {
				return f
			}
		case <-deadline:
			t.Fatalf("no %s frame within 5 s", typ)
		}
	}
}

// quiet fails if a frame of one of types arrives within d.
func (w *wsClient) quiet(t *testing.T, d time.Duration, types ...string) {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return
			}
			if slices.Contains(types, f["type"].(string)) {
				t.Fatalf("unexpected frame %v", f)
			}
		case <-deadline:
			return
		}
	}
}

// Every change reaches every session of every member, and nobody else; a
// removed member's open stream gets nothing more.
func TestChatEvents(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		laptop := dialStream(t, fx.testEnv, fx.ann.token())
		phone := dialStream(t, fx.testEnv, fx.testEnv.login(t, fx.ann.Email, "Phone", "mobile").Token)
		bob := dialStream(t, fx.testEnv, fx.bob.token())
		carla := dialStream(t, fx.testEnv, fx.carla.token())
		annika := dialStream(t, fx.testEnv, fx.annika.token())
		g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
		for _, w := range []*wsClient{laptop, phone, bob, carla} {
			if c := w.nextOf(t, "conversation")["conversation"].(map[string]any); c["id"] != g.ID {
				t.Fatalf("conversation frame %v", c)
			}
		}
		m := fx.send(t, fx.bob, g.ID, "b1", "hello")
		for _, w := range []*wsClient{laptop, phone, bob, carla} {
			f := w.nextOf(t, "message")
			if mm := f["message"].(map[string]any); mm["id"] != m.ID {
				t.Fatalf("message frame %v", f)
			}
			// The message alone tells each member's client its conversation's
			// new version (no conversation frame follows a new message).
			if f["conversation_version"] != float64(g.Version+1) {
				t.Fatalf("message frame's conversation_version %v, want %d", f["conversation_version"], g.Version+1)
			}
		}
		fx.wantStatus(t, fx.ann, "POST", "/api/v1/conversations/"+g.ID+"/read", map[string]string{"message_id": m.ID}, http.StatusNoContent)
		for _, w := range []*wsClient{laptop, phone, bob, carla} {
			if f := w.nextOf(t, "read"); f["user_id"] != fx.ann.ID || f["message_id"] != m.ID || f["conversation_id"] != g.ID {
				t.Fatalf("read frame %v", f)
			}
		}
		fx.wantStatus(t, fx.carla, "PUT", "/api/v1/messages/"+m.ID+"/reactions/"+url.PathEscape("🎉"), nil, http.StatusNoContent)
		for _, w := range []*wsClient{laptop, phone, bob, carla} {
			if f := w.nextOf(t, "reaction"); f["emoji"] != "🎉" || f["added"] != true || f["user_id"] != fx.carla.ID {
				t.Fatalf("reaction frame %v", f)
			}
		}
		// carla removed: told so, then nothing more.
		fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/conversations/"+g.ID+"/members/"+fx.carla.ID, nil, http.StatusNoContent)
		if f := carla.nextOf(t, "conversation"); f["removed"] != true || f["conversation_id"] != g.ID {
			t.Fatalf("removal frame %v", f)
		}
		m2 := fx.send(t, fx.bob, g.ID, "b2", "after carla left")
		if f := phone.nextOf(t, "message")["message"].(map[string]any); f["id"] != m2.ID {
			t.Fatalf("message frame %v", f)
		}
		carla.quiet(t, 300*time.Millisecond, "message", "conversation", "read", "reaction")
		annika.quiet(t, 10*time.Millisecond, "message", "conversation", "read", "reaction")
	})
}

// A watcher that reconnects with its cursor gets every message it missed
// exactly once.
func TestChatCatchUp(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		d := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		w := dialStream(t, fx.testEnv, fx.bob.token())
		first := fx.send(t, fx.ann, d.ID, "a0", "before the outage")
		f := w.nextOf(t, "message")
		cursor := f["cursor"].(string)
		w.c.CloseNow()
		var sent []string
		for i := range 5 {
			sent = append(sent, fx.send(t, fx.ann, d.ID, fmt.Sprintf("a%d", i+1), "missed").ID)
		}
		ctx := t.Context()
		c := dialEvents(t, ctx, fx.testEnv, fx.bob.token(), "?cursor="+url.QueryEscape(cursor))
		var got []string
		for {
			fr := readEventFrame(t, ctx, c)
			if err := mustDoc(t).CheckFrame(fr.raw); err != nil {
				t.Fatal(err)
			}
			if fr.Type == "snapshot" {
				t.Fatal("snapshot instead of catch-up")
			}
			if fr.Type == "message" {
				var m struct {
					Message apitypes.Message `json:"message"`
				}
				_ = json.Unmarshal(fr.raw, &m)
				got = append(got, m.Message.ID)
			}
			if fr.Type == "caught_up" {
				break
			}
		}
		if !slices.Equal(got, sent) || slices.Contains(got, first.ID) {
			t.Fatalf("caught up with %v, want %v", got, sent)
		}
	})
}

func mustDoc(t *testing.T) interface{ CheckFrame([]byte) error } {
	t.Helper()
	c, err := docChecker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Typing reaches the other members only, at most once per member and
// conversation every 3 s, and is never logged.
func TestChatTyping(t *testing.T) {
	fx := sqliteFixture(t)
	g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
	d := fx.newConv(t, fx.bob, "", http.StatusCreated, fx.carla)
	ann := dialStream(t, fx.testEnv, fx.ann.token())
	bob := dialStream(t, fx.testEnv, fx.bob.token())
	carla := dialStream(t, fx.testEnv, fx.carla.token())
	annika := dialStream(t, fx.testEnv, fx.annika.token())
	ann.send(t, `{"type":"typing","conversation_id":"`+g.ID+`"}`)
	for _, w := range []*wsClient{bob, carla} {
		if f := w.nextOf(t, "typing"); f["conversation_id"] != g.ID || f["user_id"] != fx.ann.ID || f["cursor"] == "" {
			t.Fatalf("typing frame %v", f)
		}
	}
	ann.send(t, `{"type":"typing","conversation_id":"`+g.ID+`"}`) // within 3 s: dropped
	bob.quiet(t, 200*time.Millisecond, "typing")
	fx.clk.Advance(3 * time.Second)
	ann.send(t, `{"type":"typing","conversation_id":"`+g.ID+`"}`)
	bob.nextOf(t, "typing")
	// Not a member: an error frame, and nobody hears it.
	ann.send(t, `{"type":"typing","conversation_id":"`+d.ID+`","id":"t1"}`)
	if f := ann.nextOf(t, "error"); f["code"] != "failed" || f["ref"] != "t1" {
		t.Fatalf("error frame %v", f)
	}
	ann.send(t, `{"type":"typing"}`)
	if f := ann.nextOf(t, "error"); f["code"] != "failed" {
		t.Fatalf("error frame %v", f)
	}
	ann.quiet(t, 100*time.Millisecond, "typing")
	annika.quiet(t, 10*time.Millisecond, "typing")
	// Not logged: a catch-up has none.
	evs, _, err := fx.st.UserEventsAfter(t.Context(), fx.orgA.ID, fx.bob.ID, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == "typing" {
			t.Fatal("a typing event was logged")
		}
	}
}

// Sending marks what came before as read: the sender's marker moves to the
// new message, on the server as on the sender's devices (MessageFrame).
func TestSendMovesSendersMarker(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		g := fx.newConv(t, fx.ann, "G", http.StatusCreated, fx.bob, fx.carla)
		fx.send(t, fx.bob, g.ID, "b1", "one")
		fx.send(t, fx.carla, g.ID, "c1", "two")
		if c := fx.conv(t, fx.ann, g.ID); c.UnreadCount != 2 {
			t.Fatalf("Ann's unread before she writes: %d, want 2", c.UnreadCount)
		}
		m := fx.send(t, fx.ann, g.ID, "a1", "three")
		c := fx.conv(t, fx.ann, g.ID)
		if c.UnreadCount != 0 || deref(c.LastReadMessageID) != m.ID {
			t.Fatalf("Ann's view after she wrote: unread %d marker %q, want 0 %q", c.UnreadCount, deref(c.LastReadMessageID), m.ID)
		}
		if b := fx.conv(t, fx.bob, g.ID); b.UnreadCount != 2 {
			t.Fatalf("Bob's unread: %d, want 2 (Carla's and Ann's)", b.UnreadCount)
		}
	})
}
