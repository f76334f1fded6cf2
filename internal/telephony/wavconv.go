package telephony

import (
	"encoding/binary"
	"math"
	"time"

	"vo/internal/apperr"
)

// PhoneRate is the sample rate of a G.711 call, which every prompt and
// greeting is stored at.
const PhoneRate = 8000

// The rates an uploaded recording may have: whatever a browser or a sound
// editor makes, without letting a tiny or huge rate cost a lot to convert.
const (
	minWAVRate = 4000
	maxWAVRate = 192000
)

// PCM is one channel of 16-bit samples at Rate.
type PCM struct {
	Rate    int
	Samples []int16
}

// Duration is how long the samples play.
func (p PCM) Duration() time.Duration {
	if p.Rate <= 0 {
		return 0
	}
	return time.Duration(len(p.Samples)) * time.Second / time.Duration(p.Rate)
}

// Bytes are the samples as 16-bit little-endian PCM.
func (p PCM) Bytes() []byte {
	b := make([]byte, 2*len(p.Samples))
	for i, v := range p.Samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// ReadWAV decodes a WAV file of 16-bit PCM, mono or stereo (downmixed to
// one channel by averaging), at 4 to 192 kHz. Invalid, saying what is
// wrong, for anything else: not RIFF/WAVE, another encoding or bit depth,
// more channels, or no samples.
func ReadWAV(b []byte) (PCM, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return PCM{}, apperr.New(apperr.Invalid, "not a WAV file")
	}
	var channels, bits, format uint16
	var rate uint32
	var data []byte
	haveFmt, haveData := false, false
	for off := 12; off+8 <= len(b) && !haveData; {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		switch id {
		case "fmt ":
			if size < 16 || len(body) < 16 {
				return PCM{}, apperr.New(apperr.Invalid, "the WAV file's format chunk is cut short")
			}
			format, channels = binary.LittleEndian.Uint16(body[0:]), binary.LittleEndian.Uint16(body[2:])
			rate, bits = binary.LittleEndian.Uint32(body[4:]), binary.LittleEndian.Uint16(body[14:])
			// WAVE_FORMAT_EXTENSIBLE names its encoding in a sub-format
			// GUID, whose first two bytes are the plain format's tag.
			if format == 0xFFFE && size >= 40 && len(body) >= 26 {
				format = binary.LittleEndian.Uint16(body[24:])
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return PCM{}, apperr.New(apperr.Invalid, "the WAV file has no format before its samples")
			}
			// A recorder that could not seek back writes a size too large
			// (0xFFFFFFFF, say): the samples then run to the file's end.
			data, haveData = body[:min(size, len(body))], true
		}
		off += 8 + size + size&1 // chunks are padded to an even size
	}
	switch {
	case !haveFmt:
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file has no format chunk")
	case format != 1 || bits != 16:
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file must be 16-bit PCM")
	case channels != 1 && channels != 2:
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file must be mono or stereo")
	case rate < minWAVRate || rate > maxWAVRate:
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file's rate must be 4000 to 192000 Hz")
	case !haveData:
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file has no samples")
	}
	frame := 2 * int(channels)
	n := len(data) / frame
	if n == 0 {
		return PCM{}, apperr.New(apperr.Invalid, "the WAV file has no samples")
	}
	out := make([]int16, n)
	for i := range n {
		if channels == 1 {
			out[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
			continue
		}
		l, r := int16(binary.LittleEndian.Uint16(data[4*i:])), int16(binary.LittleEndian.Uint16(data[4*i+2:]))
		out[i] = int16((int32(l) + int32(r)) / 2)
	}
	return PCM{Rate: int(rate), Samples: out}, nil
}

// Resample converts p to rate with a windowed-sinc low-pass filter, cut
// just below the lower of the two Nyquist frequencies, so that a 48 kHz
// recording made 8 kHz keeps no aliases of what was above 4 kHz.
//
// The filter is polyphase: output sample j sits at input position
// j·from/to, whose fraction is one of to/gcd values, so each phase's taps
// are computed once and every output is only multiply-adds.
func (p PCM) Resample(rate int) PCM {
	if p.Rate == rate || len(p.Samples) == 0 || rate <= 0 {
		return p
	}
	const zeros = 8 // zero crossings of the sinc on each side
	in := p.Samples
	g := gcd(p.Rate, rate)
	step, phases := p.Rate/g, rate/g                          // input position of output j: j·step/phases
	fc := 0.46 * float64(min(p.Rate, rate)) / float64(p.Rate) // cutoff, in cycles per input sample
	half := float64(zeros) / (2 * fc)                         // the filter's half-width in input samples
	width := int(2*half) + 2
	// taps[ph] weighs inputs base+first[ph] … for an output at base+ph/phases.
	taps := make([][]float32, phases)
	first := make([]int, phases)
	for ph := range phases {
		frac := float64(ph) / float64(phases)
		lo, hi := int(math.Ceil(frac-half)), int(math.Floor(frac+half))
		first[ph] = lo
		w := make([]float32, 0, width)
		for m := lo; m <= hi; m++ {
			x := frac - float64(m)
			h := 2 * fc
			if x != 0 {
				h = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
			}
			w = append(w, float32(h*0.5*(1+math.Cos(math.Pi*x/half)))) // Hann window
		}
		taps[ph] = w
	}
	n := int(int64(len(in)) * int64(rate) / int64(p.Rate))
	out := make([]int16, n)
	for j := range n {
		pos := int64(j) * int64(step)
		base, ph := int(pos/int64(phases)), int(pos%int64(phases))
		k0 := base + first[ph]
		var acc float32
		for i, w := range taps[ph] {
			if k := k0 + i; k >= 0 && k < len(in) {
				acc += w * float32(in[k])
			}
		}
		out[j] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(float64(acc)))))
	}
	return PCM{Rate: rate, Samples: out}
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// PhoneWAV turns an uploaded greeting (a WAV file ReadWAV takes) into
// what a call plays: 8 kHz 16-bit mono PCM WAV. Invalid when it is not
// such a file, or is longer than MaxGreeting.
func PhoneWAV(b []byte) ([]byte, error) {
	p, err := ReadWAV(b)
	if err != nil {
		return nil, err
	}
	if p.Duration() > MaxGreeting {
		return nil, apperr.New(apperr.Invalid, "a greeting is at most %d seconds long", int(MaxGreeting/time.Second))
	}
	return WAV(p.Resample(PhoneRate).Bytes(), PhoneRate), nil
}
