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
	directoryAfterSQL  = ` AND (name_key, id) > (?, ?)`
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
		args = append(args, key, id)
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

// planCase is a directory call whose query plan a test checks.
type planCase struct {
	name, query, cursor string
	paged               bool // a page after the first: it must seek to its cursor
}

// planOrg seeds an org for query-plan checks and returns the directory
// calls to check: first and deep pages, and searches of every kind.
func planOrg(t *testing.T, s *store.Store) (string, []planCase) {
	t.Helper()
	ctx := context.Background()
	// PostgreSQL plans by the statistics of the data, so it gets an org
	// big enough for indexes to pay. SQLite (never ANALYZEd by the store)
	// plans by fixed estimates whatever the row count, and its engine is
	// slow under -race: 300 people give the same plans.
	n := 2000
	if s.Dialect() == store.SQLite {
		n = 300
	}
	o := bulkSeedOrg(t, s, "big", n, [2]string{"415", "212"})
	bulkSeedOrg(t, s, "small", 100, [2]string{"617", "312"})
	if s.Dialect() == store.Postgres {
		if _, err := s.WriterForTest().ExecContext(ctx, `ANALYZE`); err != nil {
			t.Fatal(err)
		}
	}
	_, deep, err := s.Directory(ctx, o.ID, "", n*3/4, "")
	if err != nil || deep == "" {
		t.Fatalf("cursor deep in the list: %q, %v", deep, err)
	}
	_, deepMa, err := s.Directory(ctx, o.ID, "ma", 5, "")
	if err != nil || deepMa == "" {
		t.Fatalf("second page of a search: %q, %v", deepMa, err)
	}
	return o.ID, []planCase{
		{"first page", "", "", false},
		{"deep page", "", deep, true},
		{"search by name", "ma", "", false},
		{"search by name, next page", "ma", deepMa, true},
		{"search by extension", "12", "", false},
		{"search by number", "+1415555", "", false},
		{"search by number without +", "1415", "", false},
		{"search by email", "mary.smith", "", false},
	}
}

// plans returns the plans of a case: on PostgreSQL both the plan for the
// values at hand and the generic plan a prepared statement settles on.
func plans(t *testing.T, s *store.Store, orgID string, c planCase) map[string][]string {
	t.Helper()
	q := directorySQL(store.SearchKeyForTest(c.query) != "", c.cursor != "")
	args := directoryArgs(t, orgID, c.query, c.cursor, 50)
	modes := map[string]bool{"plan": false}
	if s.Dialect() == store.Postgres {
		modes = map[string]bool{"custom plan": false, "generic plan": true}
	}
	out := map[string][]string{}
	for name, generic := range modes {
		plan, err := s.ExplainForTest(context.Background(), generic, q, args...)
		if err != nil {
			t.Fatalf("%s: explain: %v", c.name, err)
		}
		t.Logf("%s, %s:\n%s", c.name, name, strings.Join(plan, "\n"))
		out[name] = plan
	}
	return out
}

// The plans behind every directory page and search of a large org: read
// through indexes only, never sorting the org for a page of the whole
// list, and with a page's cursor as an index bound.
func TestDirectoryQueryPlans(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		orgID, cases := planOrg(t, s)
		all := map[string]map[string][]string{}
		for _, c := range cases {
			all[c.name] = plans(t, s, orgID, c)
		}
		t.Run("indexes only", func(t *testing.T) {
			for _, c := range cases {
				for mode, plan := range all[c.name] {
					for _, line := range plan {
						line = strings.TrimSpace(line)
						switch {
						case s.Dialect() == store.SQLite && (strings.HasPrefix(line, "SCAN users") || strings.HasPrefix(line, "SCAN user_terms")) && !strings.Contains(line, "INDEX"):
							t.Errorf("%s: a full table scan: %q", c.name, line)
						case s.Dialect() == store.SQLite && c.query == "" && strings.Contains(line, "TEMP B-TREE"):
							t.Errorf("%s: sorts the org: %q", c.name, line)
						case s.Dialect() == store.Postgres && (strings.Contains(line, "Seq Scan on users") || strings.Contains(line, "Seq Scan on user_terms")):
							t.Errorf("%s, %s: %q", c.name, mode, line)
						case s.Dialect() == store.Postgres && c.query == "" && strings.HasPrefix(line, "->  Sort"):
							t.Errorf("%s, %s: sorts the org: %q", c.name, mode, line)
						}
					}
				}
			}
		})
		// A page after the first starts at its cursor in users_org_name
		// instead of reading, and dropping, every name before it: the cost
		// of a page must not grow with how far down the list it is.
		t.Run("a cursor is an index bound", func(t *testing.T) {
			for _, c := range cases {
				if !c.paged {
					continue
				}
				for mode, plan := range all[c.name] {
					seeks := false
					for _, line := range plan {
						switch s.Dialect() {
						case store.SQLite:
							// SEARCH users USING INDEX users_org_name (org_id=? AND active=? AND (name_key,id)>(?,?))
							if i := strings.Index(line, "users_org_name ("); i >= 0 && strings.Contains(line[i:], "name_key") {
								seeks = true
							}
						case store.Postgres:
							// Index Cond: ((org_id = $1) AND (active = 1) AND (ROW(name_key, id) > ROW($2, $3)))
							if strings.Contains(line, "Index Cond:") && strings.Contains(line, "name_key") {
								seeks = true
							}
						}
					}
					if !seeks {
						t.Errorf("%s (%s): the cursor is a filter, not an index bound: every earlier name is read and dropped\n%s",
							c.name, mode, strings.Join(plan, "\n"))
					}
				}
			}
		})
	})
}
