package sipserver

// Ringing: a call the service routed to ring goes to every registered
// phone of the callee at once (SPEC §10). The server stays in the middle
// as a back-to-back user agent: the first phone to answer is bridged with
// the caller (no transcoding: the callee is offered the caller's codec
// only), the others get a CANCEL. No answer in time, every phone
// declining, or no phone at all sends the call to voicemail; the caller
// giving up makes it missed.

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"vo/internal/telephony"
)

// leg is one phone rung for a call, and how that went.
type leg struct {
	dc  *diago.DialogClientSession
	med *diago.DialogMedia
	err error
}

// ringTimeout is how long phones ring before the call is unanswered.
func (s *Server) ringTimeout(d telephony.Decision) time.Duration {
	if s.cfg.RingTimeout > 0 {
		return s.cfg.RingTimeout
	}
	if d.Timeout > 0 {
		return d.Timeout
	}
	return telephony.RingTimeout
}

func (s *Server) ring(d *diago.DialogServerSession, p *telephony.Placed) {
	var phones []Binding
	if p.Decision.RingPhones {
		phones = s.Bindings(p.Callee.ID)
	}
	if len(phones) == 0 {
		// The phone unregistered between routing and ringing, or the
		// callee can only be reached by the app, which does not ring yet.
		s.voicemail(d, p)
		return
	}
	_ = d.Ringing()
	ctx, cancel := context.WithTimeout(d.Context(), s.ringTimeout(p.Decision))
	defer cancel()
	results := make(chan leg, len(phones))
	for _, b := range phones {
		go func(b Binding) { results <- s.dial(ctx, d, p, b) }(b)
	}
	var won *leg
	for range phones {
		r := <-results
		switch {
		case r.err == nil && won == nil:
			won = &r
			cancel() // the others stop ringing
		case r.err == nil:
			// A second phone answered in the same instant: it loses.
			s.hangup(r.dc)
		case isDecline(r.err), ctx.Err() != nil:
		default:
			s.lg.Info("sip: a phone could not be rung", slog.String("err", r.err.Error()))
		}
	}
	if won == nil {
		if d.Context().Err() != nil { // the caller gave up
			s.ended(p, telephony.Missed)
			return
		}
		if ctx.Err() != nil && p.Decision.OnTimeout == telephony.Forward {
			s.forward(d, p)
			return
		}
		// No answer in time, every phone declined, or none was reachable.
		s.voicemail(d, p)
		return
	}
	s.bridge(d, p, won)
}

// forward takes a call nobody answered to the callee's "when unanswered"
// forwarding target, who is then rung (or reached in voicemail) in turn.
func (s *Server) forward(d *diago.DialogServerSession, p *telephony.Placed) {
	ctx, cancel := context.WithTimeout(d.Context(), 10*time.Second)
	next, err := s.cfg.Calls.Unanswered(ctx, p, s.reach())
	cancel()
	if err != nil {
		s.lg.Warn("sip: forward an unanswered call", slog.Any("err", err))
		s.voicemail(d, p)
		return
	}
	if next.Decision.Action == telephony.Ring {
		s.ring(d, next)
		return
	}
	s.voicemail(d, next)
}

// dial rings one phone: an INVITE to its registered contact, sent to the
// address its REGISTER came from (a phone behind NAT is reached where it
// is, not where it thinks it is), with the caller's name and number.
func (s *Server) dial(ctx context.Context, d *diago.DialogServerSession, p *telephony.Placed, b Binding) leg {
	uri := sip.Uri{}
	if err := sip.ParseUri(strings.Trim(b.Contact, "<>"), &uri); err != nil {
		return leg{err: err}
	}
	transport, dest, _ := strings.Cut(b.Source, ":")
	dc, err := s.dg.NewDialog(uri, diago.NewDialogOptions{Transport: strings.ToLower(transport)})
	if err != nil {
		return leg{err: err}
	}
	dc.InviteRequest.SetDestination(dest)
	opts := diago.InviteClientOptions{Originator: d}
	host := "localhost"
	if f := d.InviteRequest.From(); f != nil {
		host = f.Address.Host
	}
	number := p.Caller.Extension
	if number == "" {
		number = p.Caller.PhoneNumber
	}
	opts.WithCaller(p.Caller.Name, number, host)
	med, err := dc.Invite(ctx, opts)
	if err != nil {
		dc.Close()
		return leg{err: err}
	}
	actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dc.Ack(actx); err != nil {
		dc.Close()
		return leg{err: err}
	}
	return leg{dc: dc, med: med}
}

// isDecline reports whether a phone refused the call (the user pressed
// decline, or it is busy).
func isDecline(err error) bool {
	var e *sipgo.ErrDialogResponse
	if !errors.As(err, &e) {
		var v sipgo.ErrDialogResponse
		if !errors.As(err, &v) {
			return false
		}
		e = &v
	}
	switch e.Res.StatusCode {
	case sip.StatusBusyHere, sip.StatusGlobalDecline, sip.StatusTemporarilyUnavailable:
		return true
	}
	return false
}

func (s *Server) hangup(dc *diago.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = dc.Hangup(ctx)
	dc.Close()
}

// bridge answers the caller now that a phone took the call, carries the
// audio both ways through the server, and ends the call when either side
// hangs up.
func (s *Server) bridge(d *diago.DialogServerSession, p *telephony.Placed, won *leg) {
	defer won.dc.Close()
	in, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		s.lg.Warn("sip: answer the caller", slog.Any("err", err))
		s.hangup(won.dc)
		s.ended(p, telephony.Failed)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := s.cfg.Calls.Answered(ctx, p); err != nil {
		s.lg.Error("sip: answered call", slog.Any("err", err))
	}
	cancel()
	br := diago.NewBridge()
	br.Init(s.lg)
	if err := br.AddDialogMedia(in); err == nil {
		err = br.AddDialogMedia(won.med)
	}
	if err != nil {
		s.lg.Warn("sip: bridge", slog.Any("err", err))
	}
	select {
	case <-d.Context().Done():
		s.hangup(won.dc)
	case <-won.dc.Context().Done():
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Hangup(hctx)
		cancel()
	}
	s.ended(p, telephony.Answered)
}
