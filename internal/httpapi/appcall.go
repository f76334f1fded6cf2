package httpapi

// Calls from the app (SPEC §10): the app sends its WebRTC offer to place a
// call or to answer one, and gets the server's answer back; ringing,
// answered and ended reach both parties as call events.

import (
	"net/http"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/wire"
)

type placeCallBody struct {
	To  string `json:"to"`
	SDP string `json:"sdp"`
}

type sdpBody struct {
	SDP string `json:"sdp"`
}

type placedBody struct {
	Call wire.Call `json:"call"`
	SDP  string    `json:"sdp"`
}

func (s *Server) appCallsOff() error {
	if s.cfg.AppCalls == nil {
		return apperr.New(apperr.NotFound, "calls from the app are not set up on this server")
	}
	return nil
}

func (s *Server) placeCall(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.appCallsOff(); err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in placeCallBody
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if in.To == "" || in.SDP == "" {
		return apperr.New(apperr.Invalid, "to and sdp are needed")
	}
	st, err := s.cfg.AppCalls.Place(r.Context(), a.User.OrgID, a.User.ID, in.To, in.SDP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, placedBody{Call: wire.CallOf(st.Call), SDP: st.Answer})
	return nil
}

func (s *Server) answerCall(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.appCallsOff(); err != nil {
		return err
	}
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in sdpBody
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	if in.SDP == "" {
		return apperr.New(apperr.Invalid, "sdp is needed")
	}
	answer, err := s.cfg.AppCalls.Answer(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), in.SDP)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sdpBody{SDP: answer})
	return nil
}

func (s *Server) declineCall(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.appCallsOff(); err != nil {
		return err
	}
	if err := s.cfg.AppCalls.Decline(a.User.OrgID, a.User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.appCallsOff(); err != nil {
		return err
	}
	if err := s.cfg.AppCalls.Hangup(a.User.OrgID, a.User.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
