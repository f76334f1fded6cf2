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
func (s *Server) ringTimeout(d telephony.Decision) time.Duration { return d.RingFor(s.cfg.RingTimeout) }

func (s *Server) ring(d *diago.DialogServerSession, p *telephony.Placed) {
	var phones []Binding
	if p.Decision.RingPhones {
		phones = s.Bindings(p.Callee.ID)
	}
	apps := p.Decision.RingApps && s.cfg.Apps != nil
	if len(phones) == 0 && !apps {
		// The phone unregistered between routing and ringing.
		s.voicemail(d, p)
		return
	}
	_ = d.Ringing()
	ctx, cancel := context.WithTimeout(d.Context(), s.ringTimeout(p.Decision))
	defer cancel()
	phoneWon := make(chan *leg, 1)
	go func() { phoneWon <- s.ringAll(ctx, cancel, d, p, phones) }()
	type appResult struct {
		leg AppLeg
		err error
	}
	appWon := make(chan appResult, 1)
	if apps {
		go func() {
			l, err := s.cfg.Apps(ctx, p, callerCodec(d.InviteRequest.Body()))
			appWon <- appResult{l, err}
		}()
	}
	var won *leg
	var app AppLeg
	declined := false
	for pending := 1 + btoi(apps); pending > 0; pending-- {
		select {
		case w := <-phoneWon:
			if w != nil && app == nil {
				won = w
				cancel()
			} else if w != nil {
				s.hangup(w.dc) // the app answered first
			}
		case r := <-appWon:
			switch {
			case r.err == nil && won == nil:
				app = r.leg
				cancel()
			case r.err == nil:
				r.leg.Close() // a phone answered first
			case errors.Is(r.err, ErrDeclined):
				declined = true
				cancel() // the callee declined: nothing rings on
			}
		}
	}
	switch {
	case won != nil:
		s.bridge(d, p, won)
	case app != nil:
		s.bridgeApp(d, p, app)
	case d.Context().Err() != nil: // the caller gave up
		s.ended(p, telephony.Missed)
	case !declined && ctx.Err() != nil && p.Decision.OnTimeout == telephony.Forward:
		s.forward(d, p)
	default:
		// No answer in time, declined, or nothing reachable.
		s.voicemail(d, p)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ringAll rings the phones at once and returns the first to answer (the
// others get a CANCEL through cancel, a late answer is hung up), or nil
// when none did before ctx ended. orig, when set, is the caller's SIP
// dialog: only its codec is offered.
func (s *Server) ringAll(ctx context.Context, cancel func(), orig *diago.DialogServerSession, p *telephony.Placed, phones []Binding) *leg {
	results := make(chan leg, len(phones))
	for _, b := range phones {
		go func(b Binding) { results <- s.dial(ctx, orig, p, b) }(b)
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
	return won
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
	var opts diago.InviteClientOptions
	host := "localhost"
	if _, h, ok := strings.Cut(b.AOR, "@"); ok {
		host = h
	}
	if d != nil {
		opts.Originator = d
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
	s.answered(p)
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
		s.hangupServer(d)
	}
	s.ended(p, telephony.Answered)
}
