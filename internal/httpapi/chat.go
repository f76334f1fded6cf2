package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/chat"
	"vo/internal/stream"
	"vo/internal/wire"
)

// The chat endpoints of SPEC §8.

// typingType is the typing message clients send on the event stream,
// {"type": "typing", "conversation_id": ...}. The service passes on one
// per member and conversation every chat.TypingEvery; the stream's own
// rate only stops a flood (a client typing in several conversations).
func typingType(c *chat.Service) stream.Type {
	return stream.Type{Name: "typing", MaxSize: 1024, Rate: stream.Rate{N: 2, Per: time.Second, Burst: 10},
		NewHandler: func(stream.Sender) stream.Handler {
			return func(ctx context.Context, from stream.Sender, msg json.RawMessage) error {
				in, err := decodeTyping(msg)
				if err != nil {
					return err
				}
				return c.Typing(ctx, from.OrgID, from.UserID, in)
			}
		}}
}

// decodeTyping reads a typing frame's conversation id.
func decodeTyping(msg []byte) (string, error) {
	var in struct {
		ConversationID string `json:"conversation_id"`
	}
	if err := decodeJSON(msg, &in); err != nil {
		return "", err
	}
	if in.ConversationID == "" {
		return "", apperr.New(apperr.Invalid, "conversation_id is needed")
	}
	return in.ConversationID, nil
}

func (s *Server) chatOn() (*chat.Service, error) {
	if s.cfg.Chat == nil {
		return nil, apperr.New(apperr.NotFound, "chat is not enabled")
	}
	return s.cfg.Chat, nil
}

// listBody renders a page of a list (SPEC §3).
func listBody[T any](items []T, next string) map[string]any {
	if items == nil {
		items = []T{}
	}
	body := map[string]any{"items": items}
	if next != "" {
		body["next_cursor"] = next
	}
	return body
}

// newConversation is the body of POST /conversations.
type newConversation struct {
	MemberIDs *[]string `json:"member_ids"`
	Name      *string   `json:"name"`
}

// decodeNewConversation reads a POST /conversations body.
func decodeNewConversation(b []byte) (ids []string, name string, err error) {
	var in newConversation
	if err := decodeJSON(b, &in); err != nil {
		return nil, "", err
	}
	if in.MemberIDs == nil {
		return nil, "", apperr.New(apperr.Invalid, "member_ids is needed")
	}
	if in.Name != nil {
		name = *in.Name
	}
	return *in.MemberIDs, name, nil
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	ids, name, err := decodeNewConversation(b)
	if err != nil {
		return err
	}
	conv, created, err := c.Create(r.Context(), a.User.OrgID, a.User.ID, ids, name)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, wire.ConversationOf(conv))
	return nil
}

func conversationsOf(cs []chat.Conversation) []wire.Conversation {
	out := make([]wire.Conversation, len(cs))
	for i, c := range cs {
		out[i] = wire.ConversationOf(c)
	}
	return out
}

func (s *Server) listConversations(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	cs, next, err := c.List(r.Context(), a.User.OrgID, a.User.ID, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listBody(conversationsOf(cs), next))
	return nil
}

func (s *Server) getConversation(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	conv, err := c.Get(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.ConversationOf(conv))
	return nil
}

// decodeConversationPatch reads a PATCH /conversations/{id} body: name
// (null clears it) and muted, each optional, one at least.
func decodeConversationPatch(b []byte) (name *string, muted *bool, err error) {
	f, err := fields(b)
	if err != nil {
		return nil, nil, err
	}
	if v := f["name"]; v.null() {
		empty := ""
		name = &empty
	} else if v.present {
		n, err := v.str("name")
		if err != nil {
			return nil, nil, err
		}
		name = &n
	}
	if v := f["muted"]; v.present {
		var m bool
		if err := json.Unmarshal(v.raw, &m); err != nil {
			return nil, nil, apperr.New(apperr.Invalid, "field muted must be a boolean")
		}
		muted = &m
	}
	if name == nil && muted == nil {
		return nil, nil, apperr.New(apperr.Invalid, "name or muted is needed")
	}
	return name, muted, nil
}

func (s *Server) patchConversation(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	name, muted, err := decodeConversationPatch(b)
	if err != nil {
		return err
	}
	conv, err := c.Update(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), name, muted)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.ConversationOf(conv))
	return nil
}

func (s *Server) addMembers(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		UserIDs []string `json:"user_ids"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	conv, err := c.AddMembers(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), in.UserIDs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.ConversationOf(conv))
	return nil
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	if err := c.RemoveMember(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeNewMessage reads a POST /conversations/{id}/messages body.
func decodeNewMessage(b []byte) (chat.NewMessage, error) {
	var in struct {
		ClientID      *string   `json:"client_id"`
		Text          *string   `json:"text"`
		ReplyTo       *string   `json:"reply_to"`
		AttachmentIDs *[]string `json:"attachment_ids"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return chat.NewMessage{}, err
	}
	if in.ClientID == nil {
		return chat.NewMessage{}, apperr.New(apperr.Invalid, "client_id is needed")
	}
	if in.Text == nil {
		return chat.NewMessage{}, apperr.New(apperr.Invalid, "text is needed")
	}
	m := chat.NewMessage{ClientID: *in.ClientID, Text: *in.Text}
	if in.AttachmentIDs != nil {
		m.AttachmentIDs = *in.AttachmentIDs
	}
	if in.ReplyTo != nil {
		if *in.ReplyTo == "" {
			return chat.NewMessage{}, apperr.New(apperr.Invalid, "reply_to must be a message id or null")
		}
		m.ReplyTo = *in.ReplyTo
	}
	return m, nil
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	in, err := decodeNewMessage(b)
	if err != nil {
		return err
	}
	m, created, err := c.Send(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), in)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, wire.MessageOf(m))
	return nil
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	limit, err := pageLimit(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	before := q.Get("before")
	if cur := q.Get("cursor"); cur != "" {
		if before != "" && before != cur {
			return apperr.New(apperr.Invalid, "give before or cursor, not both")
		}
		before = cur // a page's next_cursor is the id of its oldest message
	}
	ms, next, err := c.History(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), before, limit)
	if err != nil {
		return err
	}
	items := make([]wire.Message, len(ms))
	for i, m := range ms {
		items[i] = wire.MessageOf(m)
	}
	writeJSON(w, http.StatusOK, listBody(items, next))
	return nil
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Text *string `json:"text"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if in.Text == nil {
		return apperr.New(apperr.Invalid, "text is needed")
	}
	m, err := c.Edit(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), *in.Text)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.MessageOf(m))
	return nil
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	if err := c.Delete(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) react(add bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, a account.Auth) error {
		c, err := s.chatOn()
		if err != nil {
			return err
		}
		if err := c.React(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), r.PathValue("emoji"), add); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (s *Server) markRead(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	c, err := s.chatOn()
	if err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		MessageID string `json:"message_id"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if err := c.MarkRead(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), in.MessageID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
