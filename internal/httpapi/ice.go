package httpapi

import (
	"net/http"

	"vo/internal/account"
	"vo/internal/wire"
)

// ice answers the TURN servers the app relays its call media through
// (SPEC §10), with a short-lived credential of this session in coturn's
// REST-API scheme; none when the node has no TURN server.
func (s *Server) ice(w http.ResponseWriter, _ *http.Request, a account.Auth) error {
	servers, exp := s.cfg.ICE.Mint(s.cfg.Clock.Now(), a.Session.ID)
	writeJSON(w, http.StatusOK, wire.NewICE(servers, exp))
	return nil
}
