package sipserver

// Calls between a SIP phone and the app: the app's audio is a WebRTC leg
// (webrtcmedia), the phone's a diago call; both are G.711, so the server
// copies payloads between them without transcoding, re-packetised on each
// side (each side keeps its own sequence numbers, timestamps and SSRC).

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/pion/rtp"

	"vo/internal/telephony"
	"vo/internal/webrtcmedia"
)

// AppLeg is an app session that answered a call from a phone.
type AppLeg interface {
	webrtcmedia.Stream
	Done() <-chan struct{}   // the app's connection ended
	HungUp() <-chan struct{} // the app hung up
	Close()
}

// ErrDeclined is what Config.Apps returns when the callee declined.
var ErrDeclined = errors.New("sipserver: the callee declined")

// Apps rings the callee's app sessions for a call from a phone, offering
// codec; it returns the session that answered, ErrDeclined, or ctx's error.
type Apps func(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (AppLeg, error)

// callerCodec is the G.711 codec a phone's offer lists first (PCMU when it
// lists neither, which the app then cannot match).
func callerCodec(sdp []byte) webrtcmedia.Codec {
	sc := bufio.NewScanner(bytes.NewReader(sdp))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "m=audio ") {
			continue
		}
		f := strings.Fields(line)
		for _, pt := range f[min(3, len(f)):] {
			switch pt {
			case "0":
				return webrtcmedia.PCMU
			case "8":
				return webrtcmedia.PCMA
			}
		}
	}
	return webrtcmedia.PCMU
}

// phoneStream is a diago call's audio as a webrtcmedia.Stream.
type phoneStream struct {
	r     io.Reader
	w     io.Writer
	codec webrtcmedia.Codec

	// Read by ReadRTP alone (the bridge's one reader of this stream).
	seq     uint16
	ts      uint32
	ssrc    uint32
	payload []byte
}

func newPhoneStream(m *diago.DialogMedia) (*phoneStream, error) {
	var rp, wp diago.MediaProps
	r, err := m.AudioReader(diago.WithAudioReaderMediaProps(&rp))
	if err != nil {
		return nil, err
	}
	w, err := m.AudioWriter(diago.WithAudioWriterMediaProps(&wp))
	if err != nil {
		return nil, err
	}
	codec := webrtcmedia.PCMU
	if strings.EqualFold(rp.Codec.Name, "PCMA") {
		codec = webrtcmedia.PCMA
	}
	return &phoneStream{r: r, w: w, codec: codec, seq: uint16(rand.Uint32()), ts: rand.Uint32(), ssrc: rand.Uint32(), payload: make([]byte, 1500)}, nil
}

func (p *phoneStream) Codec() webrtcmedia.Codec { return p.codec }

// ReadRTP reads the phone's next payload and packs it as RTP.
func (p *phoneStream) ReadRTP(buf []byte) (int, error) {
	n, err := p.r.Read(p.payload)
	if err != nil {
		return 0, err
	}
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: p.codec.PayloadType, SequenceNumber: p.seq, Timestamp: p.ts, SSRC: p.ssrc}, Payload: p.payload[:n]}
	p.seq++
	p.ts += uint32(n) // G.711: a byte a sample
	return pkt.MarshalTo(buf)
}

// WriteRTP sends a packet's payload to the phone.
func (p *phoneStream) WriteRTP(pkt *rtp.Packet) error {
	if len(pkt.Payload) == 0 {
		return nil
	}
	_, err := p.w.Write(pkt.Payload)
	return err
}

// bridgeApp answers the phone that called now that an app session took
// the call, and copies the audio until either side hangs up.
func (s *Server) bridgeApp(d *diago.DialogServerSession, p *telephony.Placed, app AppLeg) {
	defer app.Close()
	in, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		s.lg.Warn("sip: answer the caller", slog.Any("err", err))
		s.ended(p, telephony.Failed)
		return
	}
	ps, err := newPhoneStream(in)
	if err != nil {
		s.lg.Warn("sip: the caller's audio", slog.Any("err", err))
		s.hangupServer(d)
		s.ended(p, telephony.Failed)
		return
	}
	s.answered(p)
	go func() {
		if err := webrtcmedia.Bridge(ps, app); err != nil {
			s.lg.Warn("sip: bridge to the app", slog.Any("err", err))
		}
	}()
	select {
	case <-d.Context().Done():
	case <-app.Done():
		s.hangupServer(d)
	case <-app.HungUp():
		s.hangupServer(d)
	}
	app.Close()
	s.ended(p, telephony.Answered)
}

func (s *Server) hangupServer(d *diago.DialogServerSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d.Hangup(ctx)
}

// PhoneCall is a phone that answered a call placed from the app.
type PhoneCall struct {
	*phoneStream
	s  *Server
	dc *diago.DialogClientSession
}

// Done is closed when the phone's call ends.
func (c *PhoneCall) Done() <-chan struct{} { return c.dc.Context().Done() }

// Hangup ends the phone's call.
func (c *PhoneCall) Hangup() { c.s.hangup(c.dc) }

// ErrNoAnswer is what RingPhones returns when no phone answered.
var ErrNoAnswer = errors.New("sipserver: no phone answered")

// RingPhones rings every registered phone of the callee at once for a call
// placed elsewhere (the app), until one answers or ctx ends. The phone
// must answer with codec (the app's leg's): G.711 is offered µ-law first,
// as phones prefer, and a phone choosing the other is hung up.
func (s *Server) RingPhones(ctx context.Context, p *telephony.Placed, codec webrtcmedia.Codec) (*PhoneCall, error) {
	phones := s.Bindings(p.Callee.ID)
	if len(phones) == 0 {
		return nil, ErrNoAnswer
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	won := s.ringAll(ctx, cancel, nil, p, phones)
	if won == nil {
		return nil, ErrNoAnswer
	}
	ps, err := newPhoneStream(won.med)
	if err != nil {
		s.hangup(won.dc)
		return nil, err
	}
	if !ps.codec.Same(codec) {
		s.hangup(won.dc)
		return nil, webrtcmedia.ErrCodecMismatch
	}
	return &PhoneCall{phoneStream: ps, s: s, dc: won.dc}, nil
}
