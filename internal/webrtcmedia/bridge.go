package webrtcmedia

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pion/rtp"
)

// Stream is one side of a bridge: a Leg, or any other RTP leg (a SIP
// phone's) that reads and writes whole RTP packets of one codec.
type Stream interface {
	// ReadRTP reads the next packet into buf and returns its length;
	// io.EOF (or another error) when the stream has ended.
	ReadRTP(buf []byte) (int, error)
	// WriteRTP sends p; it must not keep p after returning.
	WriteRTP(p *rtp.Packet) error
	// Codec is the stream's negotiated codec.
	Codec() Codec
}

// ErrCodecMismatch is returned by Bridge when the two streams' codecs
// differ: the bridge only copies packets, it does not transcode.
var ErrCodecMismatch = errors.New("webrtcmedia: the streams' codecs differ (no transcoding)")

// Bridge copies packets from a to b and from b to a, keeping sequence
// numbers, timestamps, the marker and payloads as they came, without
// header extensions (their ids are each leg's own); each side's writer
// puts its own SSRC and payload type on them. It returns ErrCodecMismatch at
// once when the codecs differ, else when both directions have ended: a
// direction ends when its reader ends, or at its first failed write, so
// the caller ends a bridged call by closing both streams. The error is
// the first that is not io.EOF or ErrClosed, or nil.
func Bridge(a, b Stream) error {
	ca, cb := a.Codec(), b.Codec()
	if !ca.Same(cb) {
		return fmt.Errorf("%w: %v and %v", ErrCodecMismatch, ca, cb)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = copyRTP(b, a) }()
	go func() { defer wg.Done(); errs[1] = copyRTP(a, b) }()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// copyRTP copies packets from src to dst until either fails.
func copyRTP(dst, src Stream) error {
	buf := make([]byte, 1500)
	var p rtp.Packet
	for {
		n, err := src.ReadRTP(buf)
		if err != nil {
			return quiet(err)
		}
		if err := p.Unmarshal(buf[:n]); err != nil {
			continue // not RTP: nothing to forward
		}
		// header extensions are numbered per leg, and a leg here
		// negotiates none: the other side's ids would mean nothing
		p.Extension, p.Extensions, p.ExtensionProfile = false, nil, 0
		if err := dst.WriteRTP(&p); err != nil {
			return quiet(err)
		}
	}
}

func quiet(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, ErrClosed) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return err
}
