package telephony_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/blobs"
	"vo/internal/clock"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

// mailboxFixture is an org with Ann and Bob, on a store and a blob folder.
func mailboxFixture(t *testing.T, s *store.Store, clk clock.Clock) (*telephony.Service, blobs.Store, account.User, account.User) {
	t.Helper()
	ctx := context.Background()
	o, err := admin.CreateOrg(ctx, s, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	us, err := admin.CreateUsers(ctx, s, o.ID, cheap, []account.NewUser{
		{Name: "Ann", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"},
		{Name: "Bob", Email: "bob@acme.test", Extension: "101", Password: "correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	files, err := blobs.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { files.Close() })
	return telephony.NewService(s, files, clk), files, us[0], us[1]
}

// leave stores a voicemail for owner the way a call does: through Place
// and LeaveVoicemail.
func leave(t *testing.T, svc *telephony.Service, s *store.Store, caller, owner account.User, wav []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ChangePresence(ctx, owner.OrgID, owner.ID, func(st *presence.State) error { st.Status = presence.DND; return nil }); err != nil {
		t.Fatal(err)
	}
	p, err := svc.Place(ctx, owner.OrgID, caller.ID, owner.Extension, telephony.Reach{})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.LeaveVoicemail(ctx, p, wav, time.Second); err != nil {
		t.Fatal(err)
	}
}

// The mailbox plays the owner's new voicemails oldest first, as stored;
// playing one marks it heard and tells the lamps; others' stay.
func TestMailboxVoicemails(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	storetest.Each(t, clk, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, _, ann, bob := mailboxFixture(t, s, clk)
		var mu sync.Mutex
		var told []string
		svc.OnVoicemail(func(_, userID string) { mu.Lock(); told = append(told, userID); mu.Unlock() })
		first, second := telephony.WAV(make([]byte, 1600), 8000), telephony.WAV(bytes.Repeat([]byte{1, 2}, 800), 8000)
		leave(t, svc, s, ann, bob, first)
		clk.Advance(time.Minute)
		leave(t, svc, s, ann, bob, second)
		leave(t, svc, s, bob, ann, first)

		vs, err := svc.NewVoicemails(ctx, bob.OrgID, bob.ID)
		if err != nil || len(vs) != 2 || !vs[0].CreatedAt.Before(vs[1].CreatedAt) || vs[0].From.UserID != ann.ID {
			t.Fatalf("bob's new voicemails: %+v, %v", vs, err)
		}
		for i, want := range [][]byte{first, second} {
			got, err := svc.PhoneAudio(ctx, vs[i])
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("audio %d: %d bytes, %v", i, len(got), err)
			}
		}
		told = nil
		if err := svc.Played(ctx, vs[0]); err != nil {
			t.Fatal(err)
		}
		if left, err := svc.NewVoicemails(ctx, bob.OrgID, bob.ID); err != nil || len(left) != 1 || left[0].ID != vs[1].ID {
			t.Fatalf("after one played: %+v, %v", left, err)
		}
		if len(told) != 1 || told[0] != bob.ID {
			t.Fatalf("lamps told %v", told)
		}
		if anns, err := svc.NewVoicemails(ctx, ann.OrgID, ann.ID); err != nil || len(anns) != 1 {
			t.Fatalf("ann's: %+v, %v", anns, err)
		}
		// Someone else's voicemail cannot be played as one's own.
		other := vs[1]
		other.OwnerID = ann.ID
		if err := svc.Played(ctx, other); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("played as ann: %v", err)
		}
		ogg := telephony.Voicemail{MediaType: "audio/ogg", BlobKey: vs[1].BlobKey}
		if _, err := svc.PhoneAudio(ctx, ogg); !apperr.Is(err, apperr.Invalid) {
			t.Fatalf("an ogg recording: %v", err)
		}
	})
}

// The count prompt is the prompts joined: 8 kHz mono, a second or more,
// longer for "more than ten" than for "one".
func TestCountPrompt(t *testing.T) {
	secs := func(b []byte) float64 {
		if string(b[:4]) != "RIFF" || binary.LittleEndian.Uint32(b[24:]) != 8000 || binary.LittleEndian.Uint16(b[22:]) != 1 {
			t.Fatalf("not 8 kHz mono: % x", b[:44])
		}
		if int(binary.LittleEndian.Uint32(b[40:])) != len(b)-44 {
			t.Fatalf("data size %d, file %d", binary.LittleEndian.Uint32(b[40:]), len(b))
		}
		return float64(len(b)-44) / 16000
	}
	none, one, many := secs(telephony.CountPrompt(0)), secs(telephony.CountPrompt(1)), secs(telephony.CountPrompt(11))
	for n := 2; n <= 10; n++ {
		if d := secs(telephony.CountPrompt(n)); d < 1 || d > 4 {
			t.Fatalf("%d: %.1f s", n, d)
		}
	}
	if none < 1 || one < 1 || many <= one || secs(telephony.Goodbye()) < 1 || secs(telephony.Beep()) != 0.5 {
		t.Fatalf("none %.1f s, one %.1f s, many %.1f s", none, one, many)
	}
}

// A greeting of one's own: stored converted, played to callers, replaced
// and reset, with the replaced files deleted; a refused one stores
// nothing.
func TestOwnGreeting(t *testing.T) {
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	storetest.Each(t, clk, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc, files, ann, bob := mailboxFixture(t, s, clk)
		if _, err := svc.OwnGreeting(ctx, bob.OrgID, bob.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("no greeting yet: %v", err)
		}
		if g := svc.GreetingFor(ctx, bob); !bytes.Equal(g, telephony.Greeting) {
			t.Fatal("bob's callers do not hear the default greeting")
		}
		// 16 kHz mono: stored at 8 kHz, half the samples.
		upload := telephony.WAV(bytes.Repeat([]byte{0, 0, 0, 16}, 8000), 16000)
		if err := svc.SetGreeting(ctx, bob.OrgID, bob.ID, upload); err != nil {
			t.Fatal(err)
		}
		own, err := svc.OwnGreeting(ctx, bob.OrgID, bob.ID)
		if err != nil || binary.LittleEndian.Uint32(own[24:]) != 8000 || len(own) != 44+2*8000 {
			t.Fatalf("stored greeting: %d bytes, %v", len(own), err)
		}
		if g := svc.GreetingFor(ctx, bob); !bytes.Equal(g, own) {
			t.Fatal("bob's callers do not hear his greeting")
		}
		if g := svc.GreetingFor(ctx, ann); !bytes.Equal(g, telephony.Greeting) {
			t.Fatal("ann's callers hear another greeting")
		}
		stored := func() []blobs.Info {
			l, err := files.List(ctx, "greetings/")
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		if l := stored(); len(l) != 1 {
			t.Fatalf("greeting files %+v", l)
		}
		// Refused: the greeting stays as it was.
		for _, bad := range [][]byte{[]byte("not a wav"), telephony.WAV(make([]byte, 2*8000*61), 8000)} {
			if err := svc.SetGreeting(ctx, bob.OrgID, bob.ID, bad); !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("bad greeting: %v", err)
			}
		}
		if again, _ := svc.OwnGreeting(ctx, bob.OrgID, bob.ID); !bytes.Equal(again, own) || len(stored()) != 1 {
			t.Fatal("a refused greeting changed the stored one")
		}
		// Replaced: the old file goes.
		if err := svc.SetGreeting(ctx, bob.OrgID, bob.ID, telephony.WAV(make([]byte, 800), 8000)); err != nil {
			t.Fatal(err)
		}
		if l := stored(); len(l) != 1 || l[0].Size != 44+800 {
			t.Fatalf("after replacing: %+v", l)
		}
		if err := svc.ResetGreeting(ctx, bob.OrgID, bob.ID); err != nil {
			t.Fatal(err)
		}
		if l := stored(); len(l) != 0 {
			t.Fatalf("after reset: %+v", l)
		}
		if _, err := svc.OwnGreeting(ctx, bob.OrgID, bob.ID); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("after reset: %v", err)
		}
		if err := svc.ResetGreeting(ctx, bob.OrgID, bob.ID); err != nil {
			t.Fatalf("reset twice: %v", err)
		}
		// Nobody's: NotFound, nothing stored.
		if err := svc.SetGreeting(ctx, bob.OrgID, "usr_nobody", upload); !apperr.Is(err, apperr.NotFound) || len(stored()) != 0 {
			t.Fatalf("a greeting for nobody: %v", err)
		}
		if err := svc.SetGreeting(ctx, "org_other", bob.ID, upload); !apperr.Is(err, apperr.NotFound) || len(stored()) != 0 {
			t.Fatalf("a greeting in another org: %v", err)
		}
	})
}
