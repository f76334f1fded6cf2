package sipserver

// The mailbox: a phone dialling telephony.MailboxDial (*97) hears its own
// new voicemails. Which ones, their audio and marking them heard are the
// domain's (telephony.Service); here they are played into the call.

import (
	"bytes"
	"context"
	"log/slog"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"vo/internal/telephony"
)

// mailbox answers the caller's own mailbox: how many new voicemails there
// are, then each, oldest first, after a beep, marked heard once played to
// its end; then goodbye and the server hangs up. A voicemail the caller
// hangs up during stays new. A phone signed out from the app never gets
// here (callGate refuses it).
func (s *Server) mailbox(d *diago.DialogServerSession, cred Credential) {
	ctx := d.Context()
	vms, err := s.cfg.Calls.NewVoicemails(ctx, cred.OrgID, cred.UserID)
	if err != nil {
		s.lg.Error("sip: mailbox", slog.Any("err", err))
		_ = d.Respond(sip.StatusInternalServerError, "Server Internal Error", nil)
		return
	}
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		s.lg.Warn("sip: answer for the mailbox", slog.Any("err", err))
		return
	}
	defer func() {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(hctx)
	}()
	pb, err := med.PlaybackCreate()
	if err != nil {
		s.lg.Warn("sip: mailbox playback", slog.Any("err", err))
		return
	}
	// played reports whether wav was played to its end, the caller still
	// on the line.
	played := func(wav []byte) bool {
		_, err := pb.Play(bytes.NewReader(wav), "audio/wav")
		if ctx.Err() != nil {
			return false
		}
		if err != nil {
			s.lg.Warn("sip: mailbox playback", slog.Any("err", err))
			return false
		}
		return true
	}
	if !played(telephony.CountPrompt(len(vms))) {
		return
	}
	for _, v := range vms {
		audio, err := s.cfg.Calls.PhoneAudio(ctx, v)
		if err != nil {
			// Left for the app, which plays any recording.
			s.lg.Warn("sip: mailbox voicemail", slog.String("voicemail", v.ID), slog.Any("err", err))
			continue
		}
		if !played(telephony.Beep()) || !played(audio) {
			return
		}
		if err := s.cfg.Calls.Played(context.WithoutCancel(ctx), v); err != nil {
			s.lg.Error("sip: mark voicemail heard", slog.String("voicemail", v.ID), slog.Any("err", err))
		}
	}
	if len(vms) > 0 {
		played(telephony.Goodbye())
	}
}
