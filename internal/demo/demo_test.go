package demo_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/blobs"
	"vo/internal/demo"
	"vo/internal/store"
	"vo/internal/storetest"
	"vo/internal/telephony"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // migration logs
	os.Exit(m.Run())
}

func demoPeople(t *testing.T, s *store.Store) []account.User {
	t.Helper()
	ctx := context.Background()
	o, err := s.OrgBySlug(ctx, demo.Slug)
	if err != nil {
		t.Fatal(err)
	}
	us, _, err := s.Directory(ctx, o.ID, "", 200, "")
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// Seed creates the demo org and its dozen people once; later calls add
// nobody.
func TestSeedOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		created, err := demo.Seed(ctx, s, cheap)
		if err != nil || !created {
			t.Fatalf("first seed: %v, %v", created, err)
		}
		first := demoPeople(t, s)
		if len(first) != 12 {
			t.Fatalf("%d demo people, want 12", len(first))
		}
		admins, exts, numbers := 0, map[string]bool{}, map[string]bool{}
		for _, u := range first {
			if u.Role == account.RoleAdmin {
				admins++
				if u.Email != demo.Admin {
					t.Errorf("admin %s, want %s", u.Email, demo.Admin)
				}
			}
			exts[u.Extension], numbers[u.PhoneNumber] = true, true
			if !account.CheckPassword(u.PasswordHash, demo.Password) {
				t.Errorf("%s cannot log in with the printed password", u.Email)
			}
		}
		if admins != 1 || len(exts) != 12 || len(numbers) != 12 {
			t.Fatalf("%d admins, %d extensions, %d numbers; want 1, 12, 12", admins, len(exts), len(numbers))
		}
		for range 2 {
			created, err := demo.Seed(ctx, s, cheap)
			if err != nil || created {
				t.Fatalf("seed again: %v, %v; want false, nil", created, err)
			}
		}
		again := demoPeople(t, s)
		if len(again) != len(first) {
			t.Fatalf("%d people after seeding again, want %d", len(again), len(first))
		}
		for i := range again {
			if again[i].ID != first[i].ID {
				t.Fatalf("seeding again replaced %s", first[i].Email)
			}
		}
	})
}

// A start that crashed between creating the org and its people finishes
// the job next time.
func TestSeedFinishesAnEmptyDemoOrg(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := s.CreateOrg(ctx, demo.Slug, "Demo Co"); err != nil {
			t.Fatal(err)
		}
		created, err := demo.Seed(ctx, s, cheap)
		if err != nil || !created {
			t.Fatalf("seed: %v, %v", created, err)
		}
		if n := len(demoPeople(t, s)); n != 12 {
			t.Fatalf("%d people, want 12", n)
		}
	})
}

// The demo has a 1:1 chat and a group with messages, made once: seeding
// again adds no conversation and no message. Ann answered
// Ben in their chat, so only his last message there is unread (sending marks
// what came before as read).
func TestSeedChat(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := demo.Seed(ctx, s, cheap); err != nil {
			t.Fatal(err)
		}
		ann, err := s.UserByEmail(ctx, demo.Admin)
		if err != nil {
			t.Fatal(err)
		}
		state := func() string {
			convs, _, err := s.Conversations(ctx, ann.OrgID, ann.ID, 200, "")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, c := range convs {
				ms, _, err := s.Messages(ctx, ann.OrgID, ann.ID, c.ID, "", 200)
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&b, "%s %s %q members=%d messages=%d unread=%d\n", c.ID, c.Kind, c.Name, len(c.Members), len(ms), c.UnreadCount)
			}
			return b.String()
		}
		first := state()
		if !strings.Contains(first, `direct "" members=2 messages=3 unread=1`) || !strings.Contains(first, `group "Launch plan" members=4 messages=3 unread=2`) {
			t.Fatalf("demo chats:\n%s", first)
		}
		if _, err := demo.Seed(ctx, s, cheap); err != nil {
			t.Fatal(err)
		}
		if again := state(); again != first {
			t.Fatalf("seeding again changed the chats:\n%s\n%s", first, again)
		}
	})
}

// The demo's call history and Ben's voicemail are made once, and the
// recording is in the blob store as the voicemail names it.
func TestSeedCalls(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		if _, err := demo.Seed(ctx, s, cheap); err != nil {
			t.Fatal(err)
		}
		b, err := blobs.NewDir(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		for range 2 {
			if err := demo.SeedCalls(ctx, s, b, now); err != nil {
				t.Fatal(err)
			}
		}
		ann, _ := s.UserByEmail(ctx, demo.Admin)
		calls, _, err := s.Calls(ctx, ann.OrgID, ann.ID, 50, "")
		if err != nil || len(calls) != 4 {
			t.Fatalf("calls: %d %v, want 4", len(calls), err)
		}
		if c := calls[0]; c.Result != telephony.VoicemailLeft || c.Peer.Name != "Ben Ortiz" || c.Direction != telephony.In {
			t.Fatalf("newest call %+v, want Ben's, to voicemail", c)
		}
		vms, _, err := s.Voicemails(ctx, ann.OrgID, ann.ID, 50, "")
		if err != nil || len(vms) != 1 || vms[0].Heard || vms[0].From.Name != "Ben Ortiz" {
			t.Fatalf("voicemails: %+v %v, want Ben's one, unheard", vms, err)
		}
		r, size, err := b.Open(ctx, vms[0].BlobKey)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		head := make([]byte, 12)
		if _, err := io.ReadFull(r, head); err != nil || string(head[:4]) != "RIFF" || string(head[8:]) != "WAVE" || size < 8000*2*5 {
			t.Fatalf("recording: %q, %d bytes, %v; want a WAV of several seconds", head, size, err)
		}
	})
}
