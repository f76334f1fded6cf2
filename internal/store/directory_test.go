package store_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/store"
	"vo/internal/storetest"
)

// walk reads the whole directory for q, limit users a page, and returns
// the users in the order served.
func walk(t *testing.T, s *store.Store, orgID, q string, limit int) []account.User {
	t.Helper()
	var all []account.User
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("the directory never ends")
		}
		page, next, err := s.Directory(context.Background(), orgID, q, limit, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > limit || next != "" && len(page) != limit {
			t.Fatalf("page of %d with limit %d and next %q", len(page), limit, next)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
}

func names(us []account.User) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.Name
	}
	return out
}

func TestDirectorySortAndPages(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		given := []string{"zoe Park", "Sam Lee", "adam Smith", "Ben Ortiz", "Sam Lee", "ann Lee", "Ann Lee",
			"Chloe Nguyen", "dev Patel", "Eva Fischer", "Sam Lee", "Farid Haddad", "Grace Kim", "hugo Martin",
			"Isla Brown", "Jonas Berg", "Keiko Tanaka", "Liam Walsh", "Mark Manning", "Maria Alvarez",
			"Nora Quinn", "Oscar Reyes", "Paula Stone"}
		var in []account.HashedUser
		for i, n := range given {
			in = append(in, nu(n, fmt.Sprintf("p%d@acme.test", i), ext(i), ""))
		}
		created := mustCreate(t, s, o.ID, in...)
		mustCreate(t, s, other.ID, nu("Aaron Other", "aaron@other.test", "100", ""))
		gone := mustCreate(t, s, o.ID, nu("Abe Gone", "abe@acme.test", "999", ""))[0]
		if _, err := s.DeactivateUser(ctx, o.ID, gone.ID); err != nil {
			t.Fatal(err)
		}

		full, next, err := s.Directory(ctx, o.ID, "", 200, "")
		if err != nil || next != "" || len(full) != len(given) {
			t.Fatalf("one page of all: %d users, next %q, %v", len(full), next, err)
		}
		if !slices.IsSortedFunc(full, func(a, b account.User) int {
			return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
		}) {
			t.Fatalf("not sorted by name, case-insensitively: %q", names(full))
		}
		if full[0].Name != "adam Smith" || full[len(full)-1].Name != "zoe Park" {
			t.Fatalf("order %q", names(full))
		}
		ids := map[string]bool{}
		for _, u := range created {
			ids[u.ID] = true
		}
		for _, u := range full {
			if !ids[u.ID] || u.OrgID != o.ID || !u.Active {
				t.Fatalf("listed %+v, not an active user of the org", u)
			}
		}

		// Keyset pages give the same users in the same order, each once,
		// whatever the page size, even across equal names.
		for _, limit := range []int{1, 2, 3, 5, 22, 23, 24} {
			if got := walk(t, s, o.ID, "", limit); !slices.EqualFunc(got, full, func(a, b account.User) bool { return a.ID == b.ID }) {
				t.Fatalf("limit %d: pages give %q, want %q", limit, names(got), names(full))
			}
		}

		// People added before the cursor while someone pages do not shift
		// the rest: nobody is skipped or shown twice.
		page, cursor, err := s.Directory(ctx, o.ID, "", 10, "")
		if err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, o.ID, nu("Aardvark First", "aa@acme.test", "998", ""))
		seen := map[string]int{}
		for _, u := range page {
			seen[u.ID]++
		}
		for cursor != "" {
			page, cursor, err = s.Directory(ctx, o.ID, "", 10, cursor)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range page {
				seen[u.ID]++
			}
		}
		for _, u := range full {
			if seen[u.ID] != 1 {
				t.Fatalf("%s seen %d times while paging", u.Name, seen[u.ID])
			}
		}

		for _, bad := range []string{"!!!", base64.RawURLEncoding.EncodeToString([]byte("no separator")), base64.RawURLEncoding.EncodeToString([]byte("key\x00"))} {
			_, _, err := s.Directory(ctx, o.ID, "", 10, bad)
			wantCode(t, err, apperr.Invalid)
		}
	})
}

func TestDirectorySearch(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, other := newOrg(t, s, "acme"), newOrg(t, s, "other")
		mustCreate(t, s, o.ID,
			nu("Ann Lee", "ann@acme.test", "101", "+14155550101"),
			nu("ben Ortiz", "ben.ortiz@acme.test", "102", "+12125550102"),
			nu("Chloe Nguyen", "chloe@acme.test", "103", ""),
			nu("Mark Manning", "mark@acme.test", "2001", "+14155552001"),
			nu("Maria Alvarez-Ruiz", "maria@acme.test", "204", "+447700900204"),
			nu("Sam Lee", "sam1@acme.test", "301", ""),
			nu("Sam Lee", "sam2@acme.test", "302", ""),
			nu("Sam Lee", "sam3@acme.test", "303", ""),
			nu("Émile Zola", "emile@acme.test", "401", ""),
		)
		gone := mustCreate(t, s, o.ID, nu("Maxine Gone", "maxine@acme.test", "105", "+14155550105"))[0]
		if _, err := s.DeactivateUser(ctx, o.ID, gone.ID); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, other.ID,
			nu("Ann Other", "ann@other.test", "101", "+14155559999"),
			nu("Mary Other", "mary@other.test", "102", "+447700900999"),
			nu("Sam Lee", "sam@other.test", "301", ""))

		for _, tc := range []struct {
			q    string
			want []string // in order
		}{
			{"ma", []string{"Maria Alvarez-Ruiz", "Mark Manning"}},
			{"MA", []string{"Maria Alvarez-Ruiz", "Mark Manning"}},
			{"man", []string{"Mark Manning"}},
			{"alv", []string{"Maria Alvarez-Ruiz"}},
			{"ruiz", []string{"Maria Alvarez-Ruiz"}},
			{"lee", []string{"Ann Lee", "Sam Lee", "Sam Lee", "Sam Lee"}},
			{"Ann Lee", []string{"Ann Lee"}},
			{"  ann  ", []string{"Ann Lee"}},
			{"lee ann", nil},
			{"BEN", []string{"ben Ortiz"}},
			{"ann@", []string{"Ann Lee"}},
			{"ANN@ACME.T", []string{"Ann Lee"}},
			{"ben.o", []string{"ben Ortiz"}},
			{"sam2", []string{"Sam Lee"}},
			{"10", []string{"Ann Lee", "ben Ortiz", "Chloe Nguyen"}},
			{"2001", []string{"Mark Manning"}},
			{"20", []string{"Maria Alvarez-Ruiz", "Mark Manning"}},
			{"+1415", []string{"Ann Lee", "Mark Manning"}},
			{"1415", []string{"Ann Lee", "Mark Manning"}},
			{"+1 415-555", []string{"Ann Lee", "Mark Manning"}},
			{"+1 (212) 555", []string{"ben Ortiz"}},
			{"+44", []string{"Maria Alvarez-Ruiz"}},
			{"415", nil},
			{"émile", []string{"Émile Zola"}},
			{"ÉMILE", []string{"Émile Zola"}},
			{"emile", []string{"Émile Zola"}},
			{"max", nil},
			{"other", nil},
			{"mary", nil},
			{"zzz", nil},
			{"%", nil},
			{"()", nil},
			{" - ", nil},
			{"_", nil},
		} {
			got, next, err := s.Directory(ctx, o.ID, tc.q, 50, "")
			if err != nil || next != "" {
				t.Fatalf("%q: %v, next %q", tc.q, err, next)
			}
			for _, u := range got {
				if u.OrgID != o.ID {
					t.Fatalf("%q found %s of another org", tc.q, u.Email)
				}
			}
			if !slices.Equal(names(got), tc.want) {
				t.Errorf("%q found %q, want %q", tc.q, names(got), tc.want)
			}
		}

		// A search pages like the full list.
		sams := walk(t, s, o.ID, "sam", 2)
		if len(sams) != 3 || sams[0].ID == sams[1].ID || sams[1].ID == sams[2].ID || sams[0].ID == sams[2].ID {
			t.Fatalf("paged search: %+v", sams)
		}
		if !slices.IsSortedFunc(sams, func(a, b account.User) int { return strings.Compare(a.ID, b.ID) }) {
			t.Fatalf("equal names not in a stable order: %+v", sams)
		}
	})
}
