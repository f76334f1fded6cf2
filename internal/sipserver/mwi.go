package sipserver

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Message-waiting indication (RFC 3842): a phone subscribes to the
// message-summary of its own address of record and is told the user's
// voicemail counts, at once and whenever they change (VoicemailChanged).
// Subscriptions are kept in memory by the node the phone subscribed to.

const (
	mwiEvent       = "message-summary"
	mwiContentType = "application/simple-message-summary"
	// maxMWISubs bounds the subscriptions a node keeps.
	maxMWISubs = 10000
)

// mwiSub is one phone's subscription: the dialog the SUBSCRIBE made.
type mwiSub struct {
	userID, orgID string
	aor           sip.Uri // ours, From of our NOTIFYs
	localTag      string
	peer          sip.Uri // the subscriber's From, To of our NOTIFYs
	peerTag       string
	callID        string
	target        sip.Uri // its Contact, Request-URI of our NOTIFYs
	dest, network string  // where its SUBSCRIBE came from
	sessionID     string  // the phone's registration session, "" when none
	expires       time.Time
	cseq          uint32
}

type mwiState struct {
	mu     sync.Mutex
	subs   map[string]*mwiSub // Call-ID + From tag → subscription
	once   sync.Once
	client *sipgo.Client
	err    error
}

// startMWI answers SUBSCRIBE and drops expired or logged-out
// subscriptions every SweepEvery.
func (s *Server) startMWI() {
	s.srv.OnSubscribe(s.safe(s.onSubscribe))
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.SweepEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.sweepMWI()
			case <-s.done:
				return
			}
		}
	}()
}

func subKey(callID, fromTag string) string { return callID + "\x00" + fromTag }

// EventPackage is the package an Event header names (RFC 6665 §8.2.1),
// lowercased, without its parameters; "" when there is none.
func EventPackage(v string) string {
	v, _, _ = strings.Cut(v, ";")
	return strings.ToLower(strings.TrimSpace(v))
}

// SubscribeExpires is the lifetime a SUBSCRIBE asks for: its Expires
// header, or defaultExpires without one; ok=false when malformed.
func SubscribeExpires(v string, present bool) (int, bool) {
	if !present {
		return defaultExpires, true
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

func (s *Server) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	from, to, callID := req.From(), req.To(), req.CallID()
	if from == nil || to == nil || callID == nil || from.Address.Host == "" {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	realm := strings.ToLower(from.Address.Host)
	// Authenticated first: an unknown peer learns nothing, not even
	// which events are served.
	cred, username, ok := s.authenticate(req, tx, realm, "Authorization", "WWW-Authenticate", sip.StatusUnauthorized)
	if !ok {
		return
	}
	ev := ""
	if h := req.GetHeader("Event"); h != nil {
		ev = EventPackage(h.Value())
	}
	if ev != mwiEvent {
		res := sip.NewResponseFromRequest(req, 489, "Bad Event", nil)
		res.AppendHeader(sip.NewHeader("Allow-Events", mwiEvent))
		s.respond(tx, res)
		return
	}
	if from.Address.User != username || to.Address.User != username || strings.ToLower(to.Address.Host) != realm {
		// Only one's own mailbox.
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil))
		return
	}
	h := req.GetHeader("Expires")
	var hv string
	if h != nil {
		hv = h.Value()
	}
	expires, ok := SubscribeExpires(hv, h != nil)
	if !ok {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	if expires != 0 && expires < MinExpires {
		res := sip.NewResponseFromRequest(req, sip.StatusIntervalToBrief, "Interval Too Brief", nil)
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(MinExpires)))
		s.respond(tx, res)
		return
	}
	expires = min(expires, MaxExpires)
	contact := req.Contact()
	if contact == nil || contact.Address.Wildcard {
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	ctx := context.Background()
	if s.refuseRevoked(ctx, req, tx, cred.UserID, contact) {
		return
	}
	fromTag, _ := from.Params.Get("tag")
	toTag, _ := to.Params.Get("tag")
	key := subKey(callID.Value(), fromTag)
	now := s.cfg.Clock.Now()

	s.mwi.mu.Lock()
	if s.mwi.subs == nil {
		s.mwi.subs = map[string]*mwiSub{}
	}
	sub, known := s.mwi.subs[key]
	if known && (sub.userID != cred.UserID || toTag != sub.localTag) {
		known, sub = false, nil
	}
	if !known && toTag != "" {
		s.mwi.mu.Unlock()
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	if !known && expires > 0 && len(s.mwi.subs) >= maxMWISubs {
		s.pruneMWILocked(now)
		if len(s.mwi.subs) >= maxMWISubs {
			s.mwi.mu.Unlock()
			res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Service Unavailable", nil)
			res.AppendHeader(sip.NewHeader("Retry-After", "60"))
			s.respond(tx, res)
			return
		}
	}
	if !known {
		sub = &mwiSub{userID: cred.UserID, orgID: cred.OrgID, aor: sip.Uri{Scheme: "sip", User: username, Host: realm},
			localTag: sip.GenerateTagN(16), peer: from.Address, peerTag: fromTag, callID: callID.Value()}
	}
	sub.target = contact.Address
	sub.dest, sub.network = req.Source(), req.Transport()
	sub.expires = now.Add(time.Duration(expires) * time.Second)
	sub.sessionID = s.sessionOf(cred.UserID, DeviceKey(contact))
	if expires > 0 {
		s.mwi.subs[key] = sub
	} else {
		delete(s.mwi.subs, key)
	}
	s.mwi.mu.Unlock()

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	if toTag == "" {
		res.To().Params.Add("tag", sub.localTag)
	}
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	res.AppendHeader(s.ourContact(sub.network))
	s.respond(tx, res)

	state := fmt.Sprintf("active;expires=%d", expires)
	if expires == 0 {
		state = "terminated;reason=timeout"
	}
	s.notify(sub, state)
}

// sessionOf is the session of the user's binding of that device key.
func (s *Server) sessionOf(userID, key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bindings[userID] {
		if b.Key == key {
			return b.SessionID
		}
	}
	return ""
}

func (s *Server) ourContact(network string) *sip.ContactHeader {
	host, port := "127.0.0.1", 5060
	if h, p, err := sip.ParseAddr(s.Addr()); err == nil {
		host, port = h, p
	}
	u := sip.Uri{Scheme: "sip", Host: host, Port: port}
	u.UriParams = sip.NewParams()
	u.UriParams.Add("transport", strings.ToLower(network))
	return &sip.ContactHeader{Address: u}
}

// pruneMWILocked drops expired subscriptions; s.mwi.mu held.
func (s *Server) pruneMWILocked(now time.Time) {
	for k, sub := range s.mwi.subs {
		if !now.Before(sub.expires) {
			delete(s.mwi.subs, k)
		}
	}
}

// subsOf returns the live subscriptions of a user (every user's when
// userID is empty), dropping those expired and, with their final NOTIFY,
// those whose phone's session has ended (a remote logout).
func (s *Server) subsOf(userID string) []*mwiSub {
	now := s.cfg.Clock.Now()
	s.mwi.mu.Lock()
	s.pruneMWILocked(now)
	var list []*mwiSub
	for _, sub := range s.mwi.subs {
		if userID == "" || sub.userID == userID {
			list = append(list, sub)
		}
	}
	s.mwi.mu.Unlock()
	var live []*mwiSub
	for _, sub := range list {
		if sub.sessionID != "" {
			alive, err := s.cfg.Backend.SessionAlive(context.Background(), sub.sessionID)
			if err != nil {
				s.lg.Error("sip: session alive", slog.Any("err", err))
			} else if !alive {
				s.dropSub(sub)
				s.notify(sub, "terminated;reason=rejected")
				continue
			}
		}
		live = append(live, sub)
	}
	return live
}

func (s *Server) dropSub(sub *mwiSub) {
	s.mwi.mu.Lock()
	defer s.mwi.mu.Unlock()
	k := subKey(sub.callID, sub.peerTag)
	if s.mwi.subs[k] == sub {
		delete(s.mwi.subs, k)
	}
}

func (s *Server) sweepMWI() { s.subsOf("") }

// VoicemailChanged tells the user's subscribed phones their fresh
// voicemail counts; called when a voicemail is left, heard or deleted.
func (s *Server) VoicemailChanged(orgID, userID string) {
	for _, sub := range s.subsOf(userID) {
		if sub.orgID != orgID {
			continue
		}
		left := int(sub.expires.Sub(s.cfg.Clock.Now()).Round(time.Second) / time.Second)
		s.notify(sub, fmt.Sprintf("active;expires=%d", max(left, 1)))
	}
}

// MWISubscriptions counts the user's subscriptions kept on this node.
func (s *Server) MWISubscriptions(userID string) int {
	s.mwi.mu.Lock()
	defer s.mwi.mu.Unlock()
	n := 0
	for _, sub := range s.mwi.subs {
		if sub.userID == userID {
			n++
		}
	}
	return n
}

// MessageSummary is the simple-message-summary body (RFC 3842 §5.2) of an
// account with unheard new and heard old voicemails.
func MessageSummary(account string, unheard, heard int) string {
	waiting := "no"
	if unheard > 0 {
		waiting = "yes"
	}
	return fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d\r\n", waiting, account, unheard, heard)
}

func (s *Server) mwiClient() (*sipgo.Client, error) {
	s.mwi.once.Do(func() {
		s.mwi.client, s.mwi.err = sipgo.NewClient(s.ua)
	})
	return s.mwi.client, s.mwi.err
}

// notify sends one NOTIFY of the user's current counts in the
// subscription's dialog, without waiting for its answer; a 481 (the phone
// forgot the dialog) ends the subscription.
func (s *Server) notify(sub *mwiSub, state string) {
	unheard, heard, err := s.cfg.Backend.VoicemailCounts(context.Background(), sub.orgID, sub.userID)
	if err != nil {
		s.lg.Error("sip: voicemail counts", slog.Any("err", err))
		return
	}
	c, err := s.mwiClient()
	if err != nil {
		s.lg.Error("sip: client", slog.Any("err", err))
		return
	}
	s.mwi.mu.Lock()
	sub.cseq++
	cseq := sub.cseq
	s.mwi.mu.Unlock()

	req := sip.NewRequest(sip.NOTIFY, sub.target)
	fromH := &sip.FromHeader{Address: sub.aor, Params: sip.NewParams()}
	fromH.Params.Add("tag", sub.localTag)
	toH := &sip.ToHeader{Address: sub.peer, Params: sip.NewParams()}
	if sub.peerTag != "" {
		toH.Params.Add("tag", sub.peerTag)
	}
	callID := sip.CallIDHeader(sub.callID)
	req.AppendHeader(fromH)
	req.AppendHeader(toH)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(s.ourContact(sub.network))
	req.AppendHeader(sip.NewHeader("Event", mwiEvent))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", mwiContentType))
	req.SetBody([]byte(MessageSummary(sub.aor.String(), unheard, heard)))
	req.SetDestination(sub.dest)
	req.SetTransport(sub.network)

	ctx, cancel := context.WithTimeout(context.Background(), 32*time.Second)
	tx, err := c.TransactionRequest(ctx, req)
	if err != nil {
		cancel()
		s.lg.Debug("sip: notify", slog.Any("err", err))
		return
	}
	go func() { // ends with the transaction, or with the server
		defer cancel()
		defer tx.Terminate()
		for {
			select {
			case res := <-tx.Responses():
				if res.StatusCode < 200 {
					continue
				}
				if res.StatusCode == sip.StatusCallTransactionDoesNotExists {
					s.dropSub(sub)
				}
				return
			case <-tx.Done():
				return
			case <-s.done:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}
