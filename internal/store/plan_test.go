package store_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"vo/internal/store"
	"vo/internal/storetest"
)

// directorySQL is the statement Store.Directory builds (users.go), for the
// query-plan checks. TestDirectorySQLIsCurrent keeps it honest.
func directorySQL(search, after bool) string {
	q := `SELECT ` + store.UserColsForTest + `, name_key FROM users WHERE org_id = ? AND active = 1`
	if search {
		q += directorySearchSQL
	}
	if after {
		q += directoryAfterSQL
	}
	return q + directoryOrderSQL
}

const (
	directorySelectSQL = "`SELECT ` + userCols + `, name_key FROM users WHERE org_id = ? AND active = 1`"
	directorySearchSQL = ` AND id IN (SELECT user_id FROM user_terms WHERE org_id = ? AND term >= ? AND term < ?)`
	directoryAfterSQL  = ` AND (name_key > ? OR (name_key = ? AND id > ?))`
	directoryOrderSQL  = ` ORDER BY name_key, id LIMIT ?`
)

// directoryArgs are the arguments Directory passes for a query and cursor.
func directoryArgs(t testing.TB, orgID, query, cursor string, limit int) []any {
	t.Helper()
	args := []any{orgID}
	if p := store.SearchKeyForTest(query); p != "" {
		args = append(args, orgID, p, p+string(utf8.MaxRune))
	}
	if cursor != "" {
		key, id, err := store.DecodeCursorForTest(cursor)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, key, key, id)
	}
	return append(args, limit+1)
}

// The plan checks are only as good as the copy of Directory's SQL above.
func TestDirectorySQLIsCurrent(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("users.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, frag := range []string{directorySelectSQL, directorySearchSQL, directoryAfterSQL, directoryOrderSQL} {
		if !strings.Contains(string(src), frag) {
			t.Errorf("users.go no longer holds %q: update directorySQL in plan_test.go to what Directory runs", frag)
		}
	}
}

// Every directory page and search of a large org reads through indexes:
// never a scan of the users or user_terms table.
func TestDirectoryQueryPlans(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := seedOrg(t, s, "big", 2000, [2]string{"415", "212"})
		seedOrg(t, s, "small", 100, [2]string{"617", "312"})
		if s.Dialect() == store.Postgres {
			if _, err := s.WriterForTest().ExecContext(ctx, `ANALYZE`); err != nil {
				t.Fatal(err)
			}
		}
		_, deep, err := s.Directory(ctx, o.ID, "", 1500, "")
		if err != nil || deep == "" {
			t.Fatalf("cursor deep in the list: %q, %v", deep, err)
		}
		_, deepMa, err := s.Directory(ctx, o.ID, "ma", 50, "")
		if err != nil || deepMa == "" {
			t.Fatalf("second page of a search: %q, %v", deepMa, err)
		}
		for _, tc := range []struct {
			name, query, cursor string
		}{
			{"first page", "", ""},
			{"deep page", "", deep},
			{"search by name", "ma", ""},
			{"search by name, next page", "ma", deepMa},
			{"search by extension", "12", ""},
			{"search by number", "+1415555", ""},
			{"search by number without +", "1415", ""},
			{"search by email", "mary.smith", ""},
		} {
			q := directorySQL(store.SearchKeyForTest(tc.query) != "", tc.cursor != "")
			args := directoryArgs(t, o.ID, tc.query, tc.cursor, 50)
			modes := []bool{false}
			if s.Dialect() == store.Postgres {
				modes = append(modes, true)
			}
			for _, generic := range modes {
				plan, err := s.ExplainForTest(ctx, generic, q, args...)
				if err != nil {
					t.Fatalf("%s: explain: %v", tc.name, err)
				}
				text := strings.Join(plan, "\n")
				t.Logf("%s (generic %v):\n%s", tc.name, generic, text)
				for _, line := range plan {
					line = strings.TrimSpace(line)
					if s.Dialect() == store.SQLite && (strings.HasPrefix(line, "SCAN users") || strings.HasPrefix(line, "SCAN user_terms")) && !strings.Contains(line, "INDEX") {
						t.Errorf("%s: a full table scan: %q", tc.name, line)
					}
					if s.Dialect() == store.Postgres && (strings.Contains(line, "Seq Scan on users") || strings.Contains(line, "Seq Scan on user_terms")) {
						t.Errorf("%s (generic plan %v): %q", tc.name, generic, line)
					}
				}
			}
		}
	})
}
