package telephony

import (
	"context"
	"embed"
	"encoding/binary"
	"math"
	"strconv"

	"vo/internal/apperr"
)

// MailboxDial is what a phone dials to hear its own new voicemails (SPEC
// §10).
const MailboxDial = "*97"

// MaxMailbox is how many new voicemails one call to the mailbox plays,
// oldest first; the rest wait for the next call.
const MaxMailbox = 100

// The mailbox's prompts, 8 kHz 16-bit mono PCM WAV like the greeting, in
// espeak-ng's voice: "You have", "one" … "ten", "more than ten", "new
// message.", "new messages.", "You have no new messages." and "No more
// messages. Goodbye.". Each was made with
//
//	espeak-ng -v en-us -s 150 -w raw.wav "You have"
//	sox raw.wav -r 8000 -c 1 -b 16 -e signed-integer you-have.wav \
//	    silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.15
//
// (the silence effects trim the silence espeak-ng leaves at both ends, pad
// leaves 150 ms after each, so the pieces join into one sentence).
//
//go:embed prompts/*.wav
var prompts embed.FS

func prompt(name string) []byte {
	b, err := prompts.ReadFile("prompts/" + name + ".wav")
	if err != nil {
		panic("telephony: no prompt " + name) // the names are ours, embedded above
	}
	return b
}

// CountPrompt is what the mailbox says first: "You have no new
// messages.", "You have one new message.", "You have three new
// messages.", … "You have more than ten new messages.", as one WAV file.
func CountPrompt(n int) []byte {
	if n <= 0 {
		return prompt("no-new-messages")
	}
	count := "more-than-ten"
	if n <= 10 {
		count = "n" + strconv.Itoa(n)
	}
	tail := "new-messages"
	if n == 1 {
		tail = "new-message"
	}
	return joinWAV(prompt("you-have"), prompt(count), prompt(tail))
}

// Goodbye is what the mailbox says once every new voicemail was played.
func Goodbye() []byte { return prompt("goodbye") }

// Beep is the short tone played before each voicemail: 250 ms of 1 kHz,
// then 250 ms of silence.
func Beep() []byte {
	pcm := make([]int16, PhoneRate/2)
	for i := range PhoneRate / 4 {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*1000*float64(i)/PhoneRate))
	}
	return WAV(PCM{Rate: PhoneRate, Samples: pcm}.Bytes(), PhoneRate)
}

// joinWAV concatenates the samples of WAV files of one format (the
// prompts', whose 44-byte header WAV writes).
func joinWAV(parts ...[]byte) []byte {
	var pcm []byte
	for _, p := range parts {
		pcm = append(pcm, p[44:]...)
	}
	return WAV(pcm, PhoneRate)
}

// NewVoicemails are the user's voicemails not yet heard, oldest first (at
// most MaxMailbox): what a phone dialling MailboxDial plays.
func (s *Service) NewVoicemails(ctx context.Context, orgID, userID string) ([]Voicemail, error) {
	return s.st.UnheardVoicemails(ctx, orgID, userID, MaxMailbox)
}

// PhoneAudio is a voicemail's recording as a call plays it: 8 kHz 16-bit
// mono PCM WAV. Invalid for a recording of another kind (a future Opus
// one from the app), which a phone cannot be played as it is.
func (s *Service) PhoneAudio(ctx context.Context, v Voicemail) ([]byte, error) {
	if s.blobs == nil {
		return nil, apperr.New(apperr.NotFound, "voicemail audio not found")
	}
	if v.MediaType != "audio/wav" {
		return nil, apperr.New(apperr.Invalid, "a %s recording cannot be played to a phone", v.MediaType)
	}
	b, err := s.readBlob(ctx, v.BlobKey)
	if err != nil {
		return nil, err
	}
	if isPhoneWAV(b) {
		return b, nil
	}
	// Another rate or layout (an upload, say): converted for the call.
	p, err := ReadWAV(b)
	if err != nil {
		return nil, err
	}
	return WAV(p.Resample(PhoneRate).Bytes(), PhoneRate), nil
}

// isPhoneWAV reports whether b is exactly what WAV writes for a call:
// the 44-byte header of 8 kHz 16-bit mono PCM.
func isPhoneWAV(b []byte) bool {
	return len(b) >= 44 && string(b[0:4]) == "RIFF" && string(b[8:16]) == "WAVEfmt " && string(b[36:40]) == "data" &&
		binary.LittleEndian.Uint16(b[20:]) == 1 && binary.LittleEndian.Uint16(b[22:]) == 1 &&
		binary.LittleEndian.Uint32(b[24:]) == PhoneRate && binary.LittleEndian.Uint16(b[34:]) == 16
}

// Played marks a voicemail heard, once it was played to its end, and
// tells the message-waiting lamps.
func (s *Service) Played(ctx context.Context, v Voicemail) error {
	if _, err := s.st.SetHeard(ctx, v.OrgID, v.OwnerID, v.ID, true); err != nil {
		return err
	}
	if f := s.changed.Load(); f != nil {
		(*f)(v.OrgID, v.OwnerID)
	}
	return nil
}
