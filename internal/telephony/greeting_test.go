package telephony

import (
	"encoding/binary"
	"testing"
)

// The greeting is what a call's media plays as it is: PCM WAV at the
// 8 kHz of G.711, one channel, 16 bits, a few seconds long.
func TestGreetingIsPhoneAudio(t *testing.T) {
	g := Greeting
	if len(g) < 44 || string(g[:4]) != "RIFF" || string(g[8:12]) != "WAVE" || string(g[12:16]) != "fmt " {
		t.Fatalf("not a WAV file: %q", g[:min(len(g), 16)])
	}
	format, channels := binary.LittleEndian.Uint16(g[20:]), binary.LittleEndian.Uint16(g[22:])
	rate, bits := binary.LittleEndian.Uint32(g[24:]), binary.LittleEndian.Uint16(g[34:])
	if format != 1 || channels != 1 || rate != 8000 || bits != 16 {
		t.Fatalf("format %d, %d channels, %d Hz, %d bits; want PCM (1), 1, 8000, 16", format, channels, rate, bits)
	}
	if secs := float64(len(g)-44) / (8000 * 2); secs < 3 || secs > 10 {
		t.Fatalf("%.1f s long, want 3 to 10", secs)
	}
}
