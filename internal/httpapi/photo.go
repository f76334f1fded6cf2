package httpapi

import (
	"context"
	"io"
	"net/http"
	"strconv"

	"vo/internal/account"
	"vo/internal/apperr"
)

// PhotoService stores, replaces and serves profile photos.
type PhotoService interface {
	// Upload processes an uploaded image and makes it the user's photo.
	Upload(ctx context.Context, orgID, userID, contentType string, contentLength int64, body io.Reader) (account.User, error)
	// Remove deletes the user's photo.
	Remove(ctx context.Context, orgID, userID string) (account.User, error)
	// Image returns the JPEG of a user's photo at a size (64, 256 or 512),
	// and its content hash. NotFound when the user has none.
	Image(ctx context.Context, orgID, userID string, size int) ([]byte, string, error)
}

func (s *Server) photos() (PhotoService, error) {
	if s.cfg.Photos == nil {
		return nil, apperr.New(apperr.NotFound, "photos are not enabled")
	}
	return s.cfg.Photos, nil
}

func (s *Server) putPhoto(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	p, err := s.photos()
	if err != nil {
		return err
	}
	u, err := p.Upload(r.Context(), a.User.OrgID, a.User.ID, r.Header.Get("Content-Type"), r.ContentLength, r.Body)
	if err != nil {
		return err
	}
	return s.writeMe(w, r, u)
}

func (s *Server) deletePhoto(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	p, err := s.photos()
	if err != nil {
		return err
	}
	u, err := p.Remove(r.Context(), a.User.OrgID, a.User.ID)
	if err != nil {
		return err
	}
	return s.writeMe(w, r, u)
}

func (s *Server) writeMe(w http.ResponseWriter, r *http.Request, u account.User) error {
	me, err := s.meOf(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (s *Server) userPhoto(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	p, err := s.photos()
	if err != nil {
		return err
	}
	size := 256
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || (n != 64 && n != 256 && n != 512) {
			return apperr.New(apperr.Invalid, "size must be 64, 256 or 512")
		}
		size = n
	}
	img, hash, err := p.Image(r.Context(), a.User.OrgID, r.PathValue("id"), size)
	if err != nil {
		return err
	}
	etag := `"` + hash + `-` + strconv.Itoa(size) + `"`
	h := w.Header()
	h.Set("ETag", etag)
	// The URL carries the content hash (?v=), so a copy never goes stale;
	// it stays private because photos are for the org only.
	if r.URL.Query().Get("v") == hash {
		h.Set("Cache-Control", "private, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "private, no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "image/jpeg")
	h.Set("Content-Length", strconv.Itoa(len(img)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(img)
	return nil
}
