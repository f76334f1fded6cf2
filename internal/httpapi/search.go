package httpapi

import (
	"net/http"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/wire"
)

// searchMessages answers GET /search/messages?q= (SPEC §8): the messages
// of the caller's conversations with every word of q, newest first, paged
// like a conversation's history (before, or cursor: the id of the previous
// page's oldest message). A q without a word, or over 200 characters, is
// 400.
func (s *Server) searchMessages(w http.ResponseWriter, r *http.Request, a account.Auth) error {
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
		before = cur
	}
	ms, next, err := c.Search(r.Context(), a.User.OrgID, a.User.ID, q.Get("q"), before, limit)
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
