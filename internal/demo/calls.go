package demo

import (
	"bytes"
	"context"
	_ "embed"
	"time"

	"vo/internal/account"
	"vo/internal/blobs"
	"vo/internal/telephony"
)

// voicemailWAV is Ben's demo voicemail to Ann: espeak-ng's voice at 8 kHz,
// 16-bit mono PCM, as a phone call records it. Made with
//
//	espeak-ng -v en-us -s 150 -w vm.wav "Hi Ann, it's Ben. …"
//	sox vm.wav -r 8000 -c 1 -b 16 -e signed-integer voicemail.wav
//
//go:embed voicemail.wav
var voicemailWAV []byte

// voicemailMS is voicemailWAV's length.
const voicemailMS = 7990

// CallStore is what seeding the call history needs of the database.
type CallStore interface {
	UserByEmail(ctx context.Context, email string) (account.User, error)
	Calls(ctx context.Context, orgID, userID string, limit int, cursor string) ([]telephony.Call, string, error)
	InsertCall(ctx context.Context, c telephony.Call) error
	InsertVoicemail(ctx context.Context, v telephony.Voicemail) error
}

// SeedCalls gives Ann a call history (an answered call with Ben, a missed
// one from Chloe, one to Dev) and Ben's unheard voicemail, unless she has
// a history already. It runs after Seed, on every start of `vo serve
// --demo`; now dates the calls.
func SeedCalls(ctx context.Context, s CallStore, b blobs.Store, now time.Time) error {
	ann, err := s.UserByEmail(ctx, Admin)
	if err != nil {
		return err
	}
	if calls, _, err := s.Calls(ctx, ann.OrgID, ann.ID, 1, ""); err != nil || len(calls) > 0 {
		return err
	}
	peer := func(email string) (telephony.Peer, error) {
		u, err := s.UserByEmail(ctx, email)
		return telephony.Peer{UserID: u.ID, Number: u.Extension, Name: u.Name}, err
	}
	ben, err := peer("ben@demo.test")
	if err != nil {
		return err
	}
	chloe, err := peer("chloe@demo.test")
	if err != nil {
		return err
	}
	dev, err := peer("dev@demo.test")
	if err != nil {
		return err
	}
	at := func(ago time.Duration) time.Time { return now.Add(-ago).Truncate(time.Second) }
	calls := []telephony.Call{
		{Direction: telephony.Out, Peer: dev, StartedAt: at(26 * time.Hour), AnsweredAt: at(26*time.Hour - 4*time.Second), EndedAt: at(26*time.Hour - 3*time.Minute), Result: telephony.Answered},
		{Direction: telephony.In, Peer: ben, StartedAt: at(3 * time.Hour), AnsweredAt: at(3*time.Hour - 6*time.Second), EndedAt: at(3*time.Hour - 7*time.Minute), Result: telephony.Answered},
		{Direction: telephony.In, Peer: chloe, StartedAt: at(50 * time.Minute), EndedAt: at(50*time.Minute - 20*time.Second), Result: telephony.Missed},
		{Direction: telephony.In, Peer: ben, StartedAt: at(12 * time.Minute), EndedAt: at(12*time.Minute - 28*time.Second), Result: telephony.VoicemailLeft},
	}
	if b != nil {
		key := "voicemail/demo-" + ann.ID
		if err := b.Put(ctx, key, bytes.NewReader(voicemailWAV), int64(len(voicemailWAV)), "audio/wav"); err != nil {
			return err
		}
		if err := s.InsertVoicemail(ctx, telephony.Voicemail{ID: account.NewID("vm"), OrgID: ann.OrgID, OwnerID: ann.ID, From: ben,
			CreatedAt: at(12*time.Minute - 28*time.Second), DurationMS: voicemailMS, BlobKey: key, MediaType: "audio/wav"}); err != nil {
			return err
		}
	}
	for _, c := range calls {
		c.ID, c.OrgID, c.OwnerID = account.NewID("call"), ann.OrgID, ann.ID
		if err := s.InsertCall(ctx, c); err != nil {
			return err
		}
	}
	return nil
}
