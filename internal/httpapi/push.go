package httpapi

import (
	"context"
	"net/http"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/notify"
)

// PushService is what the push endpoints need of notify (SPEC §9).
type PushService interface {
	// Key returns the server's VAPID key, made once and kept in the store.
	Key(ctx context.Context) (notify.Key, error)
}

func (s *Server) push() (PushService, error) {
	if s.cfg.Push == nil {
		return nil, apperr.New(apperr.NotFound, "push notifications are not enabled")
	}
	return s.cfg.Push, nil
}

func (s *Server) pushKey(w http.ResponseWriter, r *http.Request, _ account.Auth) error {
	p, err := s.push()
	if err != nil {
		return err
	}
	k, err := p.Key(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"public_key": k.Public})
	return nil
}

// putPushSubscription stores the session's browser subscription (the JSON
// of a PushSubscription), replacing its earlier one.
func (s *Server) putPushSubscription(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if _, err := s.push(); err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in struct {
		Endpoint string `json:"endpoint"`
		Keys     *struct {
			P256DH string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	}
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if in.Keys == nil {
		return apperr.New(apperr.Invalid, "keys is required")
	}
	p256dh, auth, err := notify.CheckSubscription(in.Endpoint, in.Keys.P256DH, in.Keys.Auth)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.SetPushSubscription(r.Context(), notify.Subscription{SessionID: a.Session.ID, UserID: a.User.ID, OrgID: a.User.OrgID,
		Endpoint: in.Endpoint, P256DH: p256dh, Auth: auth}); err != nil {
		if apperr.Is(err, apperr.NotFound) { // ended meanwhile
			return apperr.New(apperr.Unauthenticated, "not logged in")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deletePushSubscription(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if _, err := s.push(); err != nil {
		return err
	}
	if err := s.cfg.Store.DeletePushSubscription(r.Context(), a.Session.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
