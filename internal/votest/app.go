package votest

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/zaf/g711"

	"vo/internal/telephony"
)

// App plays the app's side of a call: a pion peer connection on the
// loopback that sends a PCMU tone and keeps what it receives, decoded.
type App struct {
	t     *testing.T
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP

	mu  sync.Mutex
	pcm []byte
}

func NewApp(t *testing.T) *App {
	t.Helper()
	var m webrtc.MediaEngine
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, PayloadType: 0},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	var s webrtc.SettingEngine
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(s)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	a := &App{t: t, pc: pc}
	a.track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000}, "audio", "app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTrack(a.track); err != nil {
		t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			a.mu.Lock()
			a.pcm = append(a.pcm, g711.DecodeUlaw(p.Payload)...)
			a.mu.Unlock()
		}
	})
	return a
}

// Offer makes the app's offer with every candidate in it.
func (a *App) Offer() string {
	a.t.Helper()
	o, err := a.pc.CreateOffer(nil)
	if err != nil {
		a.t.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(a.pc)
	if err := a.pc.SetLocalDescription(o); err != nil {
		a.t.Fatal(err)
	}
	<-done
	return a.pc.LocalDescription().SDP
}

// Answered takes the server's SDP answer.
func (a *App) Answered(sdp string) {
	a.t.Helper()
	if err := a.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
		a.t.Fatal(err)
	}
}

// Play sends a hz tone, 20 ms a packet, until ctx ends.
func (a *App) Play(ctx context.Context, hz float64) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		pcm := make([]byte, 320)
		for k := range 160 {
			n := float64(i*160 + k)
			binary.LittleEndian.PutUint16(pcm[2*k:], uint16(int16(8000*math.Sin(2*math.Pi*hz*n/8000))))
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(i * 160)}, Payload: g711.EncodeUlaw(pcm)}
		if a.track.WriteRTP(p) != nil {
			return
		}
	}
}

// Heard is what the app received so far, as an 8 kHz WAV.
func (a *App) Heard() []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	return telephony.WAV(append([]byte(nil), a.pcm...), 8000)
}

// ToneShare is how much of a 16-bit 8 kHz WAV's energy is at hz (Goertzel
// over 20 ms blocks).
func ToneShare(wav []byte, hz float64) float64 {
	pcm := wav[44:]
	k := 2 * math.Cos(2*math.Pi*hz/8000)
	var at, total float64
	for off := 0; off+320 <= len(pcm); off += 320 {
		var s1, s2, e float64
		for i := range 160 {
			x := float64(int16(binary.LittleEndian.Uint16(pcm[off+2*i:])))
			e += x * x
			s1, s2 = x+k*s1-s2, s1
		}
		at += (s1*s1 + s2*s2 - k*s1*s2) * 2 / 160
		total += e
	}
	if total == 0 {
		return 0
	}
	return at / total
}
