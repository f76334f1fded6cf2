package telephony

import (
	"bytes"
	"testing"
)

// The greeting cuts into 20 ms frames that decode back to about its PCM;
// anything but an 8 kHz 16-bit mono WAV gives none.
func TestG711Frames(t *testing.T) {
	frames := G711Frames(Greeting, false)
	pcm, ok := wavPCM8k(Greeting)
	if !ok || len(frames) != (len(pcm)+319)/320 {
		t.Fatalf("%d frames for %d bytes of PCM (ok %v)", len(frames), len(pcm), ok)
	}
	for _, f := range frames {
		if len(f) != 160 {
			t.Fatalf("a frame of %d bytes", len(f))
		}
	}
	var back []byte
	for _, f := range frames {
		back = append(back, DecodeG711(false, f)...)
	}
	var diff, energy float64
	for i := 0; i+1 < len(pcm); i += 2 {
		a, b := float64(int16(uint16(pcm[i])|uint16(pcm[i+1])<<8)), float64(int16(uint16(back[i])|uint16(back[i+1])<<8))
		diff += (a - b) * (a - b)
		energy += a * a
	}
	if energy == 0 || diff/energy > 0.01 {
		t.Fatalf("µ-law round trip: error %.4f of the energy %.0f", diff/energy, energy)
	}
	if len(G711Frames(Greeting, true)) != len(frames) {
		t.Fatal("A-law frames differ in number")
	}
	for _, bad := range [][]byte{nil, []byte("RIFF"), WAV(make([]byte, 100), 16000), bytes.Repeat([]byte{1}, 64)} {
		if f := G711Frames(bad, false); f != nil {
			t.Fatalf("frames of a bad WAV: %d", len(f))
		}
	}
}
