package telephony

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"
	"time"

	"vo/internal/apperr"
)

// wavFile writes a WAV file of one format tag, channels, rate and bits
// around data, with an extra chunk before the samples as editors add.
func wavFile(format, channels uint16, rate uint32, bits uint16, data []byte) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(4 + 24 + 14 + 8 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(format)
	le(channels)
	le(rate)
	le(rate * uint32(channels) * uint32(bits) / 8)
	le(channels * bits / 8)
	le(bits)
	b.WriteString("LIST")
	le(uint32(5)) // odd: padded to 6
	b.WriteString("INFOx\x00")
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// sines is secs of the sum of sines at hz (amplitude 8000 each), at rate,
// with channels identical channels.
func sines(rate, channels int, secs float64, hz ...float64) []byte {
	n := int(float64(rate) * secs)
	b := make([]byte, 0, 2*channels*n)
	for i := range n {
		var v float64
		for _, f := range hz {
			v += 8000 * math.Sin(2*math.Pi*f*float64(i)/float64(rate))
		}
		for range channels {
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(v)))
		}
	}
	return b
}

// energyAt is the share of p's energy at hz (Goertzel over the whole).
func energyAt(p PCM, hz float64) float64 {
	k := 2 * math.Cos(2*math.Pi*hz/float64(p.Rate))
	var s1, s2, e float64
	for _, v := range p.Samples {
		x := float64(v)
		e += x * x
		s1, s2 = x+k*s1-s2, s1
	}
	if e == 0 {
		return 0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) * 2 / float64(len(p.Samples)) / e
}

// A 48 kHz stereo recording of 440 Hz and 6 kHz becomes 8 kHz mono that
// keeps the 440 Hz and has no alias of the 6 kHz (which would land at
// 2 kHz), and lasts as long.
func TestPhoneWAVConverts(t *testing.T) {
	for _, tc := range []struct {
		rate, channels int
	}{{48000, 2}, {44100, 1}, {22050, 2}, {16000, 2}, {8000, 1}, {7919, 1}, {4000, 1}} {
		hz := []float64{440}
		if tc.rate > 12000 {
			hz = append(hz, 6000)
		}
		out, err := PhoneWAV(wavFile(1, uint16(tc.channels), uint32(tc.rate), 16, sines(tc.rate, tc.channels, 2, hz...)))
		if err != nil {
			t.Fatalf("%d Hz × %d: %v", tc.rate, tc.channels, err)
		}
		if !isPhoneWAV(out) {
			t.Fatalf("%d Hz × %d: not 8 kHz mono PCM: % x", tc.rate, tc.channels, out[:44])
		}
		p, err := ReadWAV(out)
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Duration(); d < 1990*time.Millisecond || d > 2*time.Second {
			t.Fatalf("%d Hz × %d: %v long, want 2 s", tc.rate, tc.channels, d)
		}
		at, alias := energyAt(p, 440), energyAt(p, 2000)
		want := 0.9
		if len(hz) > 1 {
			want = 0.45 // the 6 kHz half of the energy is gone, not folded
		}
		if at < want || alias > 0.01 {
			t.Fatalf("%d Hz × %d: %.3f of the energy at 440 Hz (want %.2f), %.3f at 2 kHz", tc.rate, tc.channels, at, want, alias)
		}
	}
}

// Stereo is averaged: opposite channels cancel.
func TestReadWAVDownmixes(t *testing.T) {
	data := []byte{0x10, 0x00, 0xF0, 0xFF, 0x00, 0x10, 0x00, 0x10} // (16, -16), (4096, 4096)
	p, err := ReadWAV(wavFile(1, 2, 8000, 16, data))
	if err != nil || len(p.Samples) != 2 || p.Samples[0] != 0 || p.Samples[1] != 4096 {
		t.Fatalf("%+v, %v", p, err)
	}
}

func TestPhoneWAVRefuses(t *testing.T) {
	pcm := sines(8000, 1, 0.1, 440)
	extensible := wavFile(0xFFFE, 1, 8000, 16, pcm)
	for name, b := range map[string][]byte{
		"empty":          nil,
		"not riff":       append([]byte("RIFX"), wavFile(1, 1, 8000, 16, pcm)[4:]...),
		"not wave":       append(append([]byte{}, wavFile(1, 1, 8000, 16, pcm)[:8]...), []byte("AVI ")...),
		"8-bit":          wavFile(1, 1, 8000, 8, pcm),
		"24-bit":         wavFile(1, 1, 8000, 24, pcm),
		"float":          wavFile(3, 1, 8000, 32, pcm),
		"a-law":          wavFile(6, 1, 8000, 16, pcm),
		"extensible cut": extensible, // a 16-byte fmt says nothing of its sub-format
		"3 channels":     wavFile(1, 3, 8000, 16, sines(8000, 3, 0.1, 440)),
		"no channels":    wavFile(1, 0, 8000, 16, pcm),
		"2 kHz":          wavFile(1, 1, 2000, 16, pcm),
		"384 kHz":        wavFile(1, 1, 384000, 16, pcm),
		"no samples":     wavFile(1, 1, 8000, 16, nil),
		"one byte":       wavFile(1, 1, 8000, 16, []byte{1}),
		"no data chunk":  wavFile(1, 1, 8000, 16, pcm)[:12+24],
		"no fmt chunk":   append([]byte("RIFF\x00\x00\x00\x00WAVEdata\x02\x00\x00\x00"), 1, 2),
		"61 s":           wavFile(1, 1, 8000, 16, sines(8000, 1, 61, 440)),
	} {
		if _, err := PhoneWAV(b); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: %v, want Invalid", name, err)
		}
	}
	// A minute exactly is a greeting.
	if _, err := PhoneWAV(wavFile(1, 1, 8000, 16, sines(8000, 1, 60, 440))); err != nil {
		t.Fatalf("60 s: %v", err)
	}
}

// ReadWAV takes what a client sends: whatever the bytes, it answers a
// clean PCM or Invalid, never panics, and never reads past the file.
func FuzzReadWAV(f *testing.F) {
	f.Add(wavFile(1, 2, 44100, 16, sines(44100, 2, 0.01, 440)))
	f.Add(wavFile(1, 1, 8000, 16, []byte{1, 2, 3}))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\xff"))
	f.Add(Greeting[:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadWAV(b)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("error %v is not Invalid", err)
			}
			return
		}
		if p.Rate < minWAVRate || p.Rate > maxWAVRate || len(p.Samples) == 0 || 2*len(p.Samples) > len(b) {
			t.Fatalf("%d samples at %d Hz from %d bytes", len(p.Samples), p.Rate, len(b))
		}
	})
}

// BenchmarkPhoneWAV: converting the largest greetings PUT takes, a
// minute of 48 kHz stereo (what a browser records) and 32 s of a rate
// sharing no factor with 8 kHz (the most filter phases).
func BenchmarkPhoneWAV(b *testing.B) {
	for _, tc := range []struct {
		name           string
		rate, channels int
		secs           float64
	}{{"48kHz-stereo-60s", 48000, 2, 60}, {"44.1kHz-mono-60s", 44100, 1, 60}, {"191999Hz-mono-32s", 191999, 1, 32}} {
		f := wavFile(1, uint16(tc.channels), uint32(tc.rate), 16, sines(tc.rate, tc.channels, tc.secs, 440))
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := PhoneWAV(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
