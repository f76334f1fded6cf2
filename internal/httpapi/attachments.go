package httpapi

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/chat"
	"vo/internal/wire"
)

func (s *Server) attachmentsOn() (*chat.Attachments, error) {
	if s.cfg.Attachments == nil {
		return nil, apperr.New(apperr.NotFound, "attachments are not enabled")
	}
	return s.cfg.Attachments, nil
}

// uploadAttachment is POST /api/v1/attachments: the body is read within
// chat.MaxAttachmentBytes (an announced larger one is refused unread).
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	at, err := s.attachmentsOn()
	if err != nil {
		return err
	}
	up, err := chat.ReadUpload(r.Header.Get("Content-Type"), r.Header.Get("Content-Disposition"), r.ContentLength, r.Body)
	if err != nil {
		return err
	}
	out, err := at.Create(r.Context(), a.User.OrgID, a.User.ID, up)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, wire.AttachmentOf(out))
	return nil
}

// attachment is GET /api/v1/attachments/{id}. Nothing uploaded runs in
// the app's origin: a file that is no image is always a download, never
// sniffed, and sandboxed should a browser open it anyway; an image is
// served inline only as the image the server re-encoded.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, a account.Auth) error {
	at, err := s.attachmentsOn()
	if err != nil {
		return err
	}
	preview := false
	switch v := r.URL.Query().Get("size"); v {
	case "":
	case "256":
		preview = true
	default:
		return apperr.New(apperr.Invalid, "size must be 256")
	}
	meta, body, size, err := at.Open(r.Context(), a.User.OrgID, a.User.ID, r.PathValue("id"), preview)
	if err != nil {
		return err
	}
	defer body.Close()
	ct, disposition := meta.ContentType, "attachment"
	if meta.IsImage() {
		disposition = "inline"
	}
	name := meta.Name
	if preview {
		ct, name = "image/jpeg", "preview-"+meta.Name+".jpg"
	}
	// An attachment never changes once uploaded; it is private to the
	// members of its conversation.
	serveStored(w, body, size, ct, mime.FormatMediaType(disposition, map[string]string{"filename": name}))
	return nil
}

// serveStored answers with a file from the blob store that a user
// uploaded or a call recorded: never run in the app's origin (nosniff, and
// a sandbox with nothing allowed should it be opened as a page), cached by
// the browser alone (it never changes under its id), its exact size.
func serveStored(w http.ResponseWriter, body io.Reader, size int64, contentType, disposition string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, max-age=86400")
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, body)
}
