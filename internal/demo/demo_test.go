package demo_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"vo/internal/account"
	"vo/internal/demo"
	"vo/internal/store"
	"vo/internal/storetest"
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
