package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/telephony"
)

// The user's own voicemail greeting (PUT, GET, DELETE
// /api/v1/me/voicemail/greeting). What a greeting may be, its conversion
// to call audio and where it is kept are telephony.Service's.

// wavTypes are the names a WAV file goes by.
var wavTypes = map[string]bool{"audio/wav": true, "audio/x-wav": true, "audio/wave": true, "audio/vnd.wave": true}

func (s *Server) putGreeting(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !wavTypes[mt] {
		return apperr.New(apperr.UnsupportedMediaType, "the body must be audio/wav")
	}
	tooLarge := apperr.New(apperr.TooLarge, "a greeting is at most %d MiB", telephony.MaxGreetingBytes>>20)
	if r.ContentLength > telephony.MaxGreetingBytes {
		return tooLarge
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, telephony.MaxGreetingBytes+1))
	if err != nil {
		return apperr.New(apperr.Invalid, "could not read the body")
	}
	if len(b) > telephony.MaxGreetingBytes {
		return tooLarge
	}
	if err := s.cfg.Calls.SetGreeting(r.Context(), a.User.OrgID, a.User.ID, b); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getGreeting(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	g, err := s.cfg.Calls.OwnGreeting(r.Context(), a.User.OrgID, a.User.ID)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Content-Disposition", "inline")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-cache") // a new recording replaces it at the same URL
	h.Set("Content-Length", strconv.Itoa(len(g)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(g)
	return nil
}

func (s *Server) deleteGreeting(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	if err := s.cfg.Calls.ResetGreeting(r.Context(), a.User.OrgID, a.User.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
