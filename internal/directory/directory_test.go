package directory_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/directory"
	"vo/internal/page"
	"vo/internal/presence"
	"vo/internal/store"
	"vo/internal/storetest"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // migration logs
	os.Exit(m.Run())
}

func TestDirectory(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acme, _ := admin.CreateOrg(ctx, s, "acme", "Acme Inc")
		globex, _ := admin.CreateOrg(ctx, s, "globex", "Globex")
		us, err := admin.CreateUsers(ctx, s, acme.ID, cheap, []account.NewUser{
			{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", Password: "long-enough-pw"},
			{Name: "Bob Stone", Email: "bob@acme.test", Extension: "102", Password: "long-enough-pw"},
			{Name: "Carla Ruiz", Email: "carla@acme.test", Extension: "103", Password: "long-enough-pw"},
		})
		if err != nil {
			t.Fatal(err)
		}
		gs, err := admin.CreateUsers(ctx, s, globex.ID, cheap, []account.NewUser{{Name: "Anna Olsen", Email: "anna@globex.test", Extension: "101", Password: "long-enough-pw"}})
		if err != nil {
			t.Fatal(err)
		}
		ann := account.Auth{User: us[0]}
		dir := directory.New(s)
		if _, err := s.ChangePresence(ctx, acme.ID, us[1].ID, func(st *presence.State) error { st.Message = "at lunch"; return nil }); err != nil {
			t.Fatal(err)
		}

		t.Run("search stays in the caller's org, by name, with presence", func(t *testing.T) {
			es, next, err := dir.Search(ctx, ann, "", 2, "")
			if err != nil || len(es) != 2 || next == "" || es[0].User.Name != "Ann Lee" || es[1].User.Name != "Bob Stone" || es[1].Presence.State.Message != "at lunch" {
				t.Fatalf("first page %+v, %q, %v", es, next, err)
			}
			rest, next, err := dir.Search(ctx, ann, "", 2, next)
			if err != nil || len(rest) != 1 || next != "" || rest[0].User.Name != "Carla Ruiz" {
				t.Fatalf("second page %+v, %q, %v", rest, next, err)
			}
			if es, err := names(dir.Search(ctx, ann, "an", 50, "")); err != nil || es != "Ann Lee" {
				t.Errorf(`Search("an") = %q, %v; want Ann Lee only (not globex's Anna)`, es, err)
			}
		})
		t.Run("bad input is invalid", func(t *testing.T) {
			for _, tc := range []struct {
				q      string
				limit  int
				cursor string
			}{
				{strings.Repeat("a", directory.MaxQueryLen+1), 10, ""},
				{"", 0, ""},
				{"", page.MaxLimit + 1, ""},
				{"", 10, "not a cursor!"},
			} {
				if _, _, err := dir.Search(ctx, ann, tc.q, tc.limit, tc.cursor); !apperr.Is(err, apperr.Invalid) {
					t.Errorf("Search(q of %d, %d, %q) = %v, want invalid", len(tc.q), tc.limit, tc.cursor, err)
				}
			}
			if _, _, err := dir.Search(ctx, ann, strings.Repeat("a", directory.MaxQueryLen), page.MaxLimit, ""); err != nil {
				t.Errorf("the longest query and largest page: %v", err)
			}
		})
		t.Run("another org's user is not found", func(t *testing.T) {
			if _, err := dir.User(ctx, ann, gs[0].ID); !apperr.Is(err, apperr.NotFound) {
				t.Errorf("User(globex's) = %v, want not_found", err)
			}
			e, err := dir.User(ctx, ann, us[1].ID)
			if err != nil || e.User.ID != us[1].ID || e.Presence.State.Message != "at lunch" {
				t.Errorf("User(bob) = %+v, %v", e, err)
			}
		})
		t.Run("me has the org and own presence", func(t *testing.T) {
			me, err := dir.Me(ctx, us[1])
			if err != nil || me.Org.ID != acme.ID || me.Org.Name != "Acme Inc" || me.Presence.State.Message != "at lunch" || me.Presence.State.Version < 2 {
				t.Errorf("Me(bob) = %+v, %v", me, err)
			}
		})
	})
}

func names(es []directory.Entry, _ string, err error) (string, error) {
	var out []string
	for _, e := range es {
		out = append(out, e.User.Name)
	}
	return strings.Join(out, ","), err
}
