package sipserver

// The call server: an authenticated phone's INVITE is placed through
// telephony.Service, which decides where it goes; diago (a back-to-back
// user agent on the same sipgo server) answers for voicemail, with the
// server in the media path.

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"vo/internal/apperr"
	"vo/internal/telephony"
)

func (s *Server) startCalls(lg *slog.Logger) {
	host, port, _ := net.SplitHostPort(s.udp.LocalAddr().String())
	p, _ := strconv.Atoi(port)
	s.dg = diago.NewDiago(s.ua, diago.WithServer(s.srv), diago.WithLogger(lg),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: p}),
		diago.WithTransport(diago.Transport{Transport: "tcp", BindHost: host, BindPort: p}),
		diago.WithServerRequestMiddleware(s.callGate))
	s.dg.HandleFunc(s.onCall)
}

// callGate lets a new INVITE reach the call server only once its digest
// holds: an unauthenticated peer never places a call, nor learns whether
// an extension exists. In-dialog requests go on to their dialog.
func (s *Server) callGate(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		defer func() {
			if r := recover(); r != nil {
				s.lg.Error("sip: handler panic", slog.Any("panic", r))
			}
		}()
		if req.Method != sip.INVITE {
			next(req, tx)
			return
		}
		if to := req.To(); to != nil {
			if _, ok := to.Params.Get("tag"); ok {
				next(req, tx) // a re-INVITE of a dialog diago holds
				return
			}
		}
		from := req.From()
		if from == nil {
			s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
			return
		}
		cred, _, ok := s.authenticate(req, tx, strings.ToLower(from.Address.Host), "Proxy-Authorization", "Proxy-Authenticate", sip.StatusProxyAuthRequired)
		if !ok {
			return
		}
		// A phone signed out from the app places no call and opens no
		// mailbox, as its REGISTERs are refused: its password alone is not
		// enough any more.
		if s.refuseRevoked(context.Background(), req, tx, cred.UserID, req.Contact()) {
			return
		}
		key := callKey(req)
		s.callers.Store(key, cred)
		defer s.callers.Delete(key)
		next(req, tx)
	}
}

// callKey names a new INVITE by its Call-ID and its From tag (the dialog
// it asks for): diago hands the handler its own copy of the request.
func callKey(req *sip.Request) string {
	k := ""
	if c := req.CallID(); c != nil {
		k = c.Value()
	}
	if f := req.From(); f != nil {
		t, _ := f.Params.Get("tag")
		k += "\x00" + t
	}
	return k
}

// reach tells the call service which devices a call from a phone can
// ring: the phones registered here, and app sessions through Config.Apps.
func (s *Server) reach() telephony.Reach {
	r := telephony.Reach{Phones: func(userID string) bool { return len(s.Bindings(userID)) > 0 }}
	if s.cfg.Apps != nil {
		r.Apps = s.cfg.AppsReachable
	}
	return r
}

func (s *Server) onCall(d *diago.DialogServerSession) {
	v, ok := s.callers.Load(callKey(d.InviteRequest))
	if !ok {
		_ = d.Respond(sip.StatusForbidden, "Forbidden", nil)
		return
	}
	cred := v.(Credential)
	ctx := d.Context()
	if d.ToUser() == telephony.MailboxDial {
		s.mailbox(d, cred)
		return
	}
	placed, err := s.cfg.Calls.Place(ctx, cred.OrgID, cred.UserID, d.ToUser(), s.reach())
	if err != nil {
		code, reason := sip.StatusInternalServerError, "Server Internal Error"
		switch {
		case apperr.Is(err, apperr.NotFound):
			code, reason = sip.StatusNotFound, "Not Found"
		case apperr.Is(err, apperr.Forbidden):
			code, reason = sip.StatusForbidden, "Forbidden"
		default:
			s.lg.Error("sip: place call", slog.Any("err", err))
		}
		_ = d.Respond(code, reason, nil)
		return
	}
	_ = d.Trying()
	switch placed.Decision.Action {
	case telephony.ToVoicemail:
		s.voicemail(d, placed)
	default:
		s.ring(d, placed)
	}
}

func (s *Server) answered(p *telephony.Placed) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cfg.Calls.Answered(ctx, p); err != nil {
		s.lg.Error("sip: answered call", slog.Any("err", err))
	}
}

func (s *Server) ended(p *telephony.Placed, r telephony.Result) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.cfg.Calls.Ended(ctx, p, r); err != nil {
		s.lg.Error("sip: end call", slog.Any("err", err))
	}
}

// voicemail answers, plays the greeting and records what the caller says
// until they hang up, for at most telephony.MaxVoicemail.
func (s *Server) voicemail(d *diago.DialogServerSession, p *telephony.Placed) {
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		s.lg.Warn("sip: answer for voicemail", slog.Any("err", err))
		s.ended(p, telephony.Failed)
		return
	}
	pb, err := med.PlaybackCreate()
	if err == nil {
		_, err = pb.Play(strings.NewReader(string(s.cfg.Calls.GreetingFor(d.Context(), p.Callee))), "audio/wav")
	}
	if err != nil && d.Context().Err() == nil {
		s.lg.Warn("sip: greeting", slog.Any("err", err))
	}
	if d.Context().Err() != nil { // hung up during the greeting
		s.ended(p, telephony.Missed)
		return
	}
	var props diago.MediaProps
	r, err := med.AudioReader(diago.WithAudioReaderMediaProps(&props))
	if err != nil {
		s.ended(p, telephony.Failed)
		return
	}
	stop := time.AfterFunc(telephony.MaxVoicemail, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
	})
	defer stop.Stop()
	var pcm []byte
	buf := make([]byte, media.RTPBufSize)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			pcm = append(pcm, telephony.DecodeG711(props.Codec.PayloadType == media.CodecAudioAlaw.PayloadType, buf[:n])...)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && d.Context().Err() == nil {
				s.lg.Warn("sip: voicemail recording", slog.Any("err", err))
			}
			break
		}
	}
	dur := time.Duration(len(pcm)/2) * time.Second / 8000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.cfg.Calls.LeaveVoicemail(ctx, p, telephony.WAV(pcm, 8000), dur); err != nil {
		s.lg.Error("sip: leave voicemail", slog.Any("err", err))
	}
}
