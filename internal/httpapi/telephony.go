package httpapi

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/page"
	"vo/internal/telephony"
	"vo/internal/wire"
)

// sipRealm is the SIP domain of an org: its slug, which is unique in the
// deployment and is what phones register under (sip:<extension>@<slug>).
func sipRealm(o account.Org) string { return o.Slug }

type sipBody struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Domain    string `json:"domain"`
	Registrar string `json:"registrar"`
}

// sipCredential answers GET /me/sip and POST /me/sip/password (rotate).
// A user without an extension has no SIP login: 409 conflict, as the
// request conflicts with the account's state, not with its input.
func (s *Server) sipCredential(rotate bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, a account.Auth) error {
		ctx := r.Context()
		if account.ValidateExtension(a.User.Extension) != nil {
			return apperr.New(apperr.Conflict, "you have no extension, so no SIP login")
		}
		org, err := s.cfg.Store.OrgByID(ctx, a.User.OrgID)
		if err != nil {
			return err
		}
		secret, err := s.cfg.Store.ServerSecret(ctx, telephony.SIPSecretName)
		if err != nil {
			return err
		}
		realm := sipRealm(org)
		mk := func(gen int64) telephony.SIPCredential {
			return telephony.NewSIPCredential(secret, a.User.ID, org.ID, realm, a.User.Extension, gen)
		}
		var c telephony.SIPCredential
		if rotate {
			c, err = s.cfg.Store.RotateSIPCredential(ctx, org.ID, a.User.ID, mk)
		} else {
			c, err = s.cfg.Store.SIPCredential(ctx, org.ID, a.User.ID, mk)
		}
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, sipBody{Username: c.Username, Password: telephony.SIPPassword(secret, a.User.ID, c.Generation),
			Domain: c.Realm, Registrar: registrar(s.cfg.SIPAddr, r.Host)})
		return nil
	}
}

// registrar is the address phones should register at: the SIP address,
// or, when it listens on every address (0.0.0.0, :: or no host), the host
// the request came in on with the SIP port, as the phone reaches the
// server where the app does.
func registrar(sipAddr, requestHost string) string {
	if sipAddr == "" {
		sipAddr = telephony.DefaultSIPAddr
	}
	host, port, err := net.SplitHostPort(sipAddr)
	if err != nil {
		return sipAddr
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		return sipAddr
	}
	h := requestHost
	if rh, _, err := net.SplitHostPort(requestHost); err == nil {
		h = rh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if h == "" {
		return sipAddr
	}
	return net.JoinHostPort(h, port)
}

func checkedLimit(r *http.Request) (int, error) {
	limit, err := pageLimit(r)
	if err != nil {
		return 0, err
	}
	return limit, page.Check(limit)
}

func (s *Server) listCalls(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	limit, err := checkedLimit(r)
	if err != nil {
		return err
	}
	cs, next, err := s.cfg.Store.Calls(r.Context(), a.User.OrgID, a.User.ID, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := make([]wire.Call, len(cs))
	for i, c := range cs {
		out[i] = wire.CallOf(c)
	}
	writeJSON(w, http.StatusOK, listBody(out, next))
	return nil
}

func (s *Server) listVoicemails(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	limit, err := checkedLimit(r)
	if err != nil {
		return err
	}
	vs, next, err := s.cfg.Store.Voicemails(r.Context(), a.User.OrgID, a.User.ID, limit, r.URL.Query().Get("cursor"))
	if err != nil {
		return err
	}
	out := make([]wire.Voicemail, len(vs))
	for i, v := range vs {
		out[i] = wire.VoicemailOf(v)
	}
	writeJSON(w, http.StatusOK, listBody(out, next))
	return nil
}

func (s *Server) patchVoicemail(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	f, err := fields(b)
	if err != nil {
		return err
	}
	v, ok := f["heard"]
	if !ok || !v.present {
		return apperr.New(apperr.Invalid, "field heard is required")
	}
	var heard bool
	if err := json.Unmarshal(v.raw, &heard); err != nil || v.null() {
		return apperr.New(apperr.Invalid, "field heard must be a boolean")
	}
	vm, err := s.cfg.Store.SetHeard(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), heard)
	if err != nil {
		return err
	}
	s.voicemailChanged(a)
	writeJSON(w, http.StatusOK, wire.VoicemailOf(vm))
	return nil
}

func (s *Server) deleteVoicemail(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	key, err := s.cfg.Store.DeleteVoicemail(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.voicemailChanged(a)
	if s.cfg.Blobs != nil {
		// The row is gone, so the audio is unreachable; a failed delete
		// only leaves an orphan file behind.
		_ = s.cfg.Blobs.Delete(r.Context(), key)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// voicemailChanged tells the Voicemail watcher the user's counts changed.
func (s *Server) voicemailChanged(a account.Auth) {
	if s.cfg.Voicemail != nil {
		s.cfg.Voicemail.VoicemailChanged(a.User.OrgID, a.User.ID)
	}
}

// voicemailAudio is GET /voicemails/{id}/audio: the recording as stored,
// only to its owner.
func (s *Server) voicemailAudio(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	vm, err := s.cfg.Store.Voicemail(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.cfg.Blobs == nil {
		return apperr.New(apperr.NotFound, "voicemail audio not found")
	}
	body, size, err := s.cfg.Blobs.Open(r.Context(), vm.BlobKey)
	if err != nil {
		return err
	}
	defer body.Close()
	ct := vm.MediaType
	if ct != "audio/ogg" {
		ct = "audio/wav"
	}
	serveStored(w, body, size, ct, "inline")
	return nil
}

type forwardingBody struct {
	Mode   string `json:"mode"`
	Target string `json:"target,omitempty"`
}

func (s *Server) getForwarding(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	f, err := s.cfg.Store.Forwarding(r.Context(), a.User.OrgID, a.User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, forwardingBody{Mode: string(f.Mode), Target: f.Target})
	return nil
}

func (s *Server) putForwarding(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	b, err := readJSONBody(r)
	if err != nil {
		return err
	}
	var in forwardingBody
	if err := decodeJSON(b, &in); err != nil {
		return err
	}
	f, err := s.cfg.Store.SetForwarding(r.Context(), a.User.OrgID, a.User.ID, telephony.Forwarding{Mode: telephony.ForwardMode(in.Mode), Target: in.Target})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, forwardingBody{Mode: string(f.Mode), Target: f.Target})
	return nil
}
