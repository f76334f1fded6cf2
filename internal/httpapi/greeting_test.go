package httpapi

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"strconv"
	"testing"

	"vo/internal/apperr"
)

// greetingWAV is a WAV file of secs seconds of a ramp, channels × bits at
// rate, with the format tag given (1 is PCM).
func greetingWAV(format, channels uint16, rate uint32, bits uint16, secs float64) []byte {
	frames := int(float64(rate) * secs)
	data := make([]byte, frames*int(channels)*int(bits)/8)
	for i := 0; i+1 < len(data); i += 2 {
		binary.LittleEndian.PutUint16(data[i:], uint16(int16(i*13)))
	}
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(data)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(format)
	le(channels)
	le(rate)
	le(rate * uint32(channels) * uint32(bits) / 8)
	le(channels * bits / 8)
	le(bits)
	b.WriteString("data")
	le(uint32(len(data)))
	b.Write(data)
	return b.Bytes()
}

// TestVoicemailGreeting: PUT stores one's greeting converted to 8 kHz
// mono, GET gives it back (404 while the default), DELETE goes back to
// the default; a refused upload (not WAV, not 16-bit PCM, too long, too
// large, another type) stores nothing; nobody reaches another's.
func TestVoicemailGreeting(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, fx *fixture) {
		const path = "/api/v1/me/voicemail/greeting"
		put := func(body []byte, ct string, hdr map[string]string) httpAnswer {
			h := map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": ct}
			for k, v := range hdr {
				h[k] = v
			}
			return fx.do(t, "PUT", path, bytes.NewReader(body), h)
		}
		checkError(t, fx.call(t, "GET", path, fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)

		// 44.1 kHz stereo, 2 s: stored as 2 s of 8 kHz mono.
		if r := put(greetingWAV(1, 2, 44100, 16, 2), "audio/wav", nil); r.Status != http.StatusNoContent {
			t.Fatalf("put: %s", r)
		}
		got := fx.call(t, "GET", path, fx.ann.token(), nil)
		if got.Status != http.StatusOK || got.Header.Get("Content-Type") != "audio/wav" || got.Header.Get("X-Content-Type-Options") != "nosniff" ||
			got.Header.Get("Content-Length") != strconv.Itoa(len(got.Body)) {
			t.Fatalf("get: %d %v", got.Status, got.Header)
		}
		b := got.Body
		if len(b) != 44+2*16000 || string(b[:4]) != "RIFF" || binary.LittleEndian.Uint16(b[20:]) != 1 || binary.LittleEndian.Uint16(b[22:]) != 1 ||
			binary.LittleEndian.Uint32(b[24:]) != 8000 || binary.LittleEndian.Uint16(b[34:]) != 16 {
			t.Fatalf("stored greeting: %d bytes, header % x", len(b), b[:44])
		}
		// Another person has the default still; nobody reaches Ann's.
		for _, p := range []*person{fx.bob, fx.annika} {
			checkError(t, fx.call(t, "GET", path, p.token(), nil), http.StatusNotFound, apperr.NotFound)
		}
		checkError(t, fx.call(t, "GET", path, "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
		checkError(t, fx.do(t, "PUT", path, bytes.NewReader(greetingWAV(1, 1, 8000, 16, 1)), map[string]string{"Content-Type": "audio/wav"}),
			http.StatusUnauthorized, apperr.Unauthenticated)
		checkError(t, fx.call(t, "DELETE", path, "", nil), http.StatusUnauthorized, apperr.Unauthenticated)

		// Refused: nothing changes.
		before := fx.stored(t)
		for name, tc := range map[string]struct {
			body   []byte
			ct     string
			status int
			code   apperr.Code
		}{
			"not wav":      {[]byte("hello, this is not audio"), "audio/wav", 400, apperr.Invalid},
			"empty":        {nil, "audio/wav", 400, apperr.Invalid},
			"8-bit":        {greetingWAV(1, 1, 8000, 8, 1), "audio/wav", 400, apperr.Invalid},
			"float":        {greetingWAV(3, 1, 8000, 32, 1), "audio/wav", 400, apperr.Invalid},
			"3 channels":   {greetingWAV(1, 3, 8000, 16, 1), "audio/wav", 400, apperr.Invalid},
			"61 s":         {greetingWAV(1, 1, 8000, 16, 61), "audio/wav", 400, apperr.Invalid},
			"1 kHz":        {greetingWAV(1, 1, 1000, 16, 1), "audio/wav", 400, apperr.Invalid},
			"another type": {greetingWAV(1, 1, 8000, 16, 1), "audio/ogg", 415, apperr.UnsupportedMediaType},
			"no type":      {greetingWAV(1, 1, 8000, 16, 1), "", 415, apperr.UnsupportedMediaType},
			"over 12 MiB":  {make([]byte, 12<<20+1), "audio/wav", 413, apperr.TooLarge},
		} {
			r := put(tc.body, tc.ct, nil)
			if r.Status != tc.status {
				t.Fatalf("%s: %s, want %d", name, r, tc.status)
			}
			checkError(t, r, tc.status, tc.code)
		}
		// Over the limit without announcing it: refused as the excess comes.
		r := fx.do(t, "PUT", path, unknownLength{bytes.NewReader(make([]byte, 13<<20))},
			map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": "audio/wav"})
		checkError(t, r, http.StatusRequestEntityTooLarge, apperr.TooLarge)
		if again := fx.call(t, "GET", path, fx.ann.token(), nil); again.Status != http.StatusOK || !bytes.Equal(again.Body, b) {
			t.Fatalf("a refused upload changed the greeting: %d, %d bytes", again.Status, len(again.Body))
		}
		if after := fx.stored(t); after != before {
			t.Fatalf("a refused upload changed what is stored:\n%s\n%s", before, after)
		}

		// Replaced (a minute exactly, mono 8 kHz, other names of the type), then reset.
		if r := put(greetingWAV(1, 1, 8000, 16, 60), "audio/x-wav; codecs=1", nil); r.Status != http.StatusNoContent {
			t.Fatalf("replace: %s", r)
		}
		if g := fx.call(t, "GET", path, fx.ann.token(), nil); g.Status != http.StatusOK || len(g.Body) != 44+2*8000*60 {
			t.Fatalf("replaced greeting: %d, %d bytes", g.Status, len(g.Body))
		}
		fx.wantStatus(t, fx.ann, "DELETE", path, nil, http.StatusNoContent)
		checkError(t, fx.call(t, "GET", path, fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)
		fx.wantStatus(t, fx.ann, "DELETE", path, nil, http.StatusNoContent)
		if l, err := fx.api.cfg.Blobs.List(t.Context(), "greetings/"); err != nil || len(l) != 0 {
			t.Fatalf("greeting files left: %+v, %v", l, err)
		}
	}, withVoicemailBlobs)
}

// TestVoicemailGreetingWithoutBlobs: a server without a blob store keeps
// no greetings: 404, not 500.
func TestVoicemailGreetingWithoutBlobs(t *testing.T) {
	t.Parallel()
	fx := sqliteFixture(t)
	r := fx.do(t, "PUT", "/api/v1/me/voicemail/greeting", bytes.NewReader(greetingWAV(1, 1, 8000, 16, 1)),
		map[string]string{"Authorization": "Bearer " + fx.ann.token(), "Content-Type": "audio/wav"})
	checkError(t, r, http.StatusNotFound, apperr.NotFound)
	checkError(t, fx.call(t, "GET", "/api/v1/me/voicemail/greeting", fx.ann.token(), nil), http.StatusNotFound, apperr.NotFound)
}
