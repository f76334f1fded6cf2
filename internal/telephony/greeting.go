package telephony

import (
	"bytes"
	"context"
	_ "embed"
	"io"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
)

// Greeting is the voicemail greeting a user who recorded none has: "The
// person you are calling is not available. Please leave a message after
// the tone." in espeak-ng's voice, 8 kHz 16-bit mono PCM WAV, the rate of
// a G.711 call. Made with
//
//	espeak-ng -v en-us -s 150 -w gr.wav "The person you are calling …"
//	sox gr.wav -r 8000 -c 1 -b 16 -e signed-integer greeting.wav
//
//go:embed greeting.wav
var Greeting []byte

// MaxGreeting is the longest greeting a user may record.
const MaxGreeting = 60 * time.Second

// MaxGreetingBytes is the largest greeting file taken: a minute of 48 kHz
// 16-bit stereo and room for its headers.
const MaxGreetingBytes = 12 << 20

// GreetingFor is the greeting a caller of u hears: u's own when they
// recorded one, else the default. A caller always hears one, so an own
// greeting that cannot be read gives the default too.
func (s *Service) GreetingFor(ctx context.Context, u account.User) []byte {
	if g, err := s.OwnGreeting(ctx, u.OrgID, u.ID); err == nil {
		return g
	}
	return Greeting
}

// OwnGreeting is the user's own greeting, 8 kHz mono PCM WAV. NotFound
// when they use the default.
func (s *Service) OwnGreeting(ctx context.Context, orgID, userID string) ([]byte, error) {
	key, err := s.st.GreetingKey(ctx, orgID, userID)
	if err != nil {
		return nil, err
	}
	if key == "" || s.blobs == nil {
		return nil, apperr.New(apperr.NotFound, "you use the default greeting")
	}
	return s.readBlob(ctx, key)
}

// SetGreeting makes a recording (a WAV file of 16-bit PCM, mono or
// stereo, any rate ReadWAV takes, at most MaxGreeting) the user's own
// greeting, stored converted to 8 kHz mono. Invalid for anything else,
// and then nothing is stored; NotFound without a blob store.
func (s *Service) SetGreeting(ctx context.Context, orgID, userID string, wav []byte) error {
	if s.blobs == nil {
		return apperr.New(apperr.NotFound, "voicemail greetings are not enabled")
	}
	if _, err := s.st.GreetingKey(ctx, orgID, userID); err != nil {
		return err
	}
	phone, err := PhoneWAV(wav)
	if err != nil {
		return err
	}
	// A new key each time, so a call that read the old key still finds
	// its file, and the row never names a file half written.
	key := "greetings/" + account.NewID("gr")
	if err := s.blobs.Put(ctx, key, bytes.NewReader(phone), int64(len(phone)), "audio/wav"); err != nil {
		return err
	}
	old, err := s.st.SetGreetingKey(ctx, orgID, userID, key)
	if err != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	s.dropBlob(ctx, old)
	return nil
}

// ResetGreeting gives the user the default greeting again; it is no
// error when they had it already.
func (s *Service) ResetGreeting(ctx context.Context, orgID, userID string) error {
	old, err := s.st.SetGreetingKey(ctx, orgID, userID, "")
	if err != nil {
		return err
	}
	s.dropBlob(ctx, old)
	return nil
}

// dropBlob deletes a file no row names any more; a failure only leaves an
// orphan behind.
func (s *Service) dropBlob(ctx context.Context, key string) {
	if key != "" && s.blobs != nil {
		_ = s.blobs.Delete(context.WithoutCancel(ctx), key)
	}
}

// readBlob reads a stored file whole (greetings and voicemails are at
// most a few MiB).
func (s *Service) readBlob(ctx context.Context, key string) ([]byte, error) {
	rc, _, err := s.blobs.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
