package events

import "context"

// Subscribe is Join, then Start at the user's head read before joining,
// for tests whose log has that head (a stream reads it once joined, with
// the store's StreamStart).
func (h *Hub) Subscribe(ctx context.Context, orgID, userID, sessionID string) (*Sub, error) {
	userHead, err := h.log.(interface {
		UserEventHead(ctx context.Context, userID string) (int64, error)
	}).UserEventHead(ctx, userID)
	if err != nil {
		return nil, err
	}
	s, err := h.Join(ctx, orgID, userID, sessionID)
	if err != nil {
		return nil, err
	}
	s.Start(userHead)
	return s, nil
}
