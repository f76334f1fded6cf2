package telephony

import (
	"encoding/binary"

	"github.com/zaf/g711"
)

// DecodeG711 turns a G.711 payload (µ-law, or A-law when alaw) into 16-bit
// little-endian PCM at 8 kHz, what WAV stores.
func DecodeG711(alaw bool, payload []byte) []byte {
	if alaw {
		return g711.DecodeAlaw(payload)
	}
	return g711.DecodeUlaw(payload)
}

// G711Frames cuts the PCM of an 8 kHz 16-bit mono WAV (the greeting) into
// 20 ms G.711 frames of 160 bytes, the last one padded with silence. A
// file that is not such a WAV gives no frames.
func G711Frames(wav []byte, alaw bool) [][]byte {
	pcm, ok := wavPCM8k(wav)
	if !ok {
		return nil
	}
	const frame = 160 * 2
	var out [][]byte
	for off := 0; off < len(pcm); off += frame {
		chunk := make([]byte, frame)
		copy(chunk, pcm[off:min(off+frame, len(pcm))])
		if alaw {
			out = append(out, g711.EncodeAlaw(chunk))
		} else {
			out = append(out, g711.EncodeUlaw(chunk))
		}
	}
	return out
}

// wavPCM8k finds the data chunk of a 16-bit mono 8 kHz PCM WAV.
func wavPCM8k(b []byte) ([]byte, bool) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, false
	}
	fmtOK := false
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := off + 8
		if size < 0 || body+size > len(b) {
			size = len(b) - body
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, false
			}
			f := b[body:]
			fmtOK = binary.LittleEndian.Uint16(f[0:]) == 1 && binary.LittleEndian.Uint16(f[2:]) == 1 &&
				binary.LittleEndian.Uint32(f[4:]) == 8000 && binary.LittleEndian.Uint16(f[14:]) == 16
		case "data":
			return b[body : body+size], fmtOK
		}
		off = body + size + size%2
	}
	return nil, false
}
