package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

// newConv creates a conversation of u with others.
func newConv(t testing.TB, s *store.Store, u account.User, name string, others ...account.User) chat.Conversation {
	t.Helper()
	ids := make([]string, len(others))
	for i, o := range others {
		ids[i] = o.ID
	}
	kind, members, err := chat.Members(u.ID, ids, name)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := s.CreateConversation(context.Background(), u.OrgID, u.ID, kind, name, members)
	if err != nil {
		t.Fatalf("create conversation: %v", err)
	}
	return c
}

// say sends text to a conversation as u, a second after the last message.
func say(t testing.TB, s *store.Store, clk *clock.Fake, u account.User, convID, text string) chat.Message {
	t.Helper()
	clk.Advance(time.Second)
	m, _, err := s.SendMessage(context.Background(), u.OrgID, u.ID, convID, chat.NewMessage{ClientID: account.NewID("c"), Text: text})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	return m
}

// found returns the texts of u's search for q, newest first, and the next
// page's cursor.
func found(t testing.TB, s *store.Store, u account.User, q, before string, limit int) ([]string, string) {
	t.Helper()
	pq, err := chat.ParseQuery(q)
	if err != nil {
		t.Fatalf("parse %q: %v", q, err)
	}
	ms, next, err := s.SearchMessages(context.Background(), u.OrgID, u.ID, pq, before, limit)
	if err != nil {
		t.Fatalf("search %q: %v", q, err)
	}
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Text
	}
	return out, next
}

func wantFound(t testing.TB, s *store.Store, u account.User, q string, want ...string) {
	t.Helper()
	got, _ := found(t, s, u, q, "", 50)
	if !slices.Equal(got, want) {
		t.Errorf("%s searching %q found %q, want %q", u.Name, q, got, want)
	}
}

func TestSearchMessages(t *testing.T) {
	t.Parallel()
	for _, engine := range storetest.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			clk := clock.NewFake(t0)
			s := storetest.Open(t, engine, clk)
			ctx := context.Background()
			o := newOrg(t, s, "acme")
			us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""), nu("Cid", "cid@acme.test", "103", ""))
			ann, bob, cid := us[0], us[1], us[2]
			other := newOrg(t, s, "other")
			dan := mustCreate(t, s, other.ID, nu("Dan", "dan@other.test", "101", ""))[0]

			team := newConv(t, s, ann, "Team", bob, cid)
			pair := newConv(t, s, ann, "", bob)
			bobCid := newConv(t, s, bob, "", cid)
			danSelf := newConv(t, s, dan, "", mustCreate(t, s, other.ID, nu("Eve", "eve@other.test", "102", ""))[0])

			cafe := say(t, s, clk, ann, team.ID, "Lunch at the Café tomorrow?")
			say(t, s, clk, bob, pair.ID, "CRÈME brûlée after lunch")
			say(t, s, clk, bob, bobCid.ID, "secret lunch plans for Ann's birthday")
			say(t, s, clk, dan, danSelf.ID, "lunch café in the other org")
			say(t, s, clk, cid, team.ID, "I'll bring the teapot")
			say(t, s, clk, cid, team.ID, "नमस्ते दुनिया, Ελληνικά")

			t.Run("case, accents and word order", func(t *testing.T) {
				for _, q := range []string{"cafe", "CAFÉ", "Café", "café", "tomorrow lunch", "LUNCH café tomorrow", "the at lunch"} {
					wantFound(t, s, ann, q, "Lunch at the Café tomorrow?")
				}
				wantFound(t, s, ann, "creme brulee", "CRÈME brûlée after lunch")
				wantFound(t, s, ann, "brûlée", "CRÈME brûlée after lunch")
				// Marks that are part of a letter in other scripts count.
				wantFound(t, s, ann, "दुनिया", "नमस्ते दुनिया, Ελληνικά")
				wantFound(t, s, ann, "नमस्ते ", "नमस्ते दुनिया, Ελληνικά")
				wantFound(t, s, ann, "ελληνικα", "नमस्ते दुनिया, Ελληνικά")
			})
			t.Run("all words", func(t *testing.T) {
				wantFound(t, s, ann, "lunch dinner")
				wantFound(t, s, ann, "lunch", "CRÈME brûlée after lunch", "Lunch at the Café tomorrow?")
			})
			t.Run("the last word as a prefix", func(t *testing.T) {
				wantFound(t, s, ann, "lun", "CRÈME brûlée after lunch", "Lunch at the Café tomorrow?")
				wantFound(t, s, ann, "tomorrow lun", "Lunch at the Café tomorrow?")
				wantFound(t, s, ann, "teap", "I'll bring the teapot")
				// A finished word (a space after it) is matched whole.
				wantFound(t, s, ann, "lun ")
				wantFound(t, s, ann, "lun tomorrow")
			})
			t.Run("only the caller's conversations", func(t *testing.T) {
				wantFound(t, s, cid, "lunch", "secret lunch plans for Ann's birthday", "Lunch at the Café tomorrow?")
				wantFound(t, s, ann, "secret")
				wantFound(t, s, ann, "birthday")
				wantFound(t, s, dan, "lunch", "lunch café in the other org")
				wantFound(t, s, dan, "tomorrow")
				wantFound(t, s, ann, "other org")
			})
			t.Run("query syntax is only words", func(t *testing.T) {
				for _, q := range []string{`lunch OR secret`, `"lunch" NOT tomorrow`, `lunch*`, `NEAR(lunch secret)`, `lunch & !secret`, `lunch | secret`, `'lunch':*`, `text:lunch`, `^lunch`, `lunch\`, `--lunch`, `lunch)`, `(lunch`} {
					pq, err := chat.ParseQuery(q)
					if err != nil {
						t.Errorf("parse %q: %v", q, err)
						continue
					}
					if _, _, err := s.SearchMessages(ctx, ann.OrgID, ann.ID, pq, "", 50); err != nil {
						t.Errorf("search %q: %v", q, err)
					}
				}
				wantFound(t, s, ann, `lunch OR secret`)
				wantFound(t, s, ann, `"lunch" "tomorrow"`, "Lunch at the Café tomorrow?")
			})
			t.Run("an edit changes what finds it", func(t *testing.T) {
				if _, err := s.EditMessage(ctx, ann.OrgID, ann.ID, cafe.ID, "Dinner at the bistro"); err != nil {
					t.Fatal(err)
				}
				wantFound(t, s, ann, "cafe")
				wantFound(t, s, ann, "tomorrow")
				wantFound(t, s, ann, "bistro dinner", "Dinner at the bistro")
				wantFound(t, s, bob, "bistro", "Dinner at the bistro")
			})
			t.Run("a deleted message is not found", func(t *testing.T) {
				if err := s.DeleteMessage(ctx, ann.OrgID, ann.ID, cafe.ID); err != nil {
					t.Fatal(err)
				}
				wantFound(t, s, ann, "bistro")
				wantFound(t, s, bob, "dinner")
			})
			t.Run("a removed member finds nothing more", func(t *testing.T) {
				wantFound(t, s, cid, "teapot", "I'll bring the teapot")
				if err := s.RemoveMember(ctx, ann.OrgID, ann.ID, team.ID, cid.ID); err != nil {
					t.Fatal(err)
				}
				wantFound(t, s, cid, "teapot")
				wantFound(t, s, ann, "teapot", "I'll bring the teapot")
			})
			t.Run("pages, newest first", func(t *testing.T) {
				var want []string
				for i := range 7 {
					want = append(want, fmt.Sprintf("weekly report %d", i))
					say(t, s, clk, bob, pair.ID, want[i])
				}
				slices.Reverse(want)
				var got []string
				before := ""
				for range 10 {
					page, next := found(t, s, ann, "report weekly", before, 3)
					got = append(got, page...)
					if next == "" {
						break
					}
					before = next
				}
				if !slices.Equal(got, want) {
					t.Errorf("pages: %q, want %q", got, want)
				}
				pq, _ := chat.ParseQuery("report")
				for _, bad := range []string{"m_nosuch", cafe.ID[:len(cafe.ID)-1]} {
					_, _, err := s.SearchMessages(ctx, ann.OrgID, ann.ID, pq, bad, 3)
					wantCode(t, err, apperr.Invalid)
				}
				// before must be a message of the caller's conversations.
				secret, _ := found(t, s, cid, "secret", "", 1)
				if len(secret) != 1 {
					t.Fatalf("cid's secret: %q", secret)
				}
				ms, _, _ := s.Messages(ctx, bob.OrgID, bob.ID, bobCid.ID, "", 1)
				_, _, err := s.SearchMessages(ctx, ann.OrgID, ann.ID, pq, ms[0].ID, 3)
				wantCode(t, err, apperr.Invalid)
			})
			if engine == "sqlite" {
				// A backup (VACUUM INTO) keeps the index matched to its messages.
				t.Run("a backup's index", func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "copy.db")
					if err := s.BackupTo(ctx, path); err != nil {
						t.Fatal(err)
					}
					c, err := store.Open(ctx, store.Options{DSN: path, DataDir: t.TempDir(), Clock: clk})
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					wantFound(t, c, ann, "creme", "CRÈME brûlée after lunch")
					wantFound(t, c, ann, "teapot", "I'll bring the teapot")
				})
			}
		})
	}
}

// A search reads the full-text index (FTS5 on SQLite, the GIN index on
// PostgreSQL), never every message.
func TestSearchQueryPlan(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "big")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@big.test", "101", ""), nu("Bob", "bob@big.test", "102", ""))
		c := newConv(t, s, us[0], "", us[1])
		n := 5000
		if s.Dialect() == store.SQLite {
			n = 500
		}
		tx, err := s.WriterForTest().BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		ins := `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
		if s.Dialect() == store.Postgres {
			ins = `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text, created_at, search) VALUES (?, ?, ?, ?, ?, ?, ?, to_tsvector('simple', ?))`
		}
		for i := range n {
			text := fmt.Sprintf("message number %d about topic%d, code%05d", i, i%97, i)
			args := []any{fmt.Sprintf("m_%06d", i), c.ID, i + 1, us[i%2].ID, fmt.Sprintf("c%d", i), text, int64(i)}
			if s.Dialect() == store.Postgres {
				args = append(args, text)
			}
			if _, err := tx.ExecContext(ctx, s.RebindForTest(ins), args...); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if s.Dialect() == store.Postgres {
			// What autovacuum would have done by now: the GIN index's
			// pending list merged, the statistics gathered.
			if _, err := s.WriterForTest().ExecContext(ctx, `VACUUM ANALYZE messages`); err != nil {
				t.Fatal(err)
			}
		}
		// Queries as selective as a real search of a large org: PostgreSQL
		// rightly reads the table when a word is in most messages.
		for _, q := range []string{"code00123 ", "topic5 code00005 ", "code0012", "number code0042"} {
			pq, err := chat.ParseQuery(q)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := found(t, s, us[0], q, "", 5); len(got) == 0 {
				t.Errorf("%q finds nothing", q)
			}
			sqlText, args := s.SearchSQLForTest(o.ID, us[0].ID, pq, 51)
			modes := []bool{false}
			if s.Dialect() == store.Postgres {
				modes = []bool{false, true}
			}
			for _, generic := range modes {
				plan, err := s.ExplainForTest(ctx, generic, sqlText, args...)
				if err != nil {
					t.Fatalf("%q: explain: %v", q, err)
				}
				t.Logf("%q (generic %v):\n%s", q, generic, strings.Join(plan, "\n"))
				usesIndex := false
				for _, line := range plan {
					line = strings.TrimSpace(line)
					switch s.Dialect() {
					case store.SQLite:
						if strings.HasPrefix(line, "SCAN m ") || line == "SCAN m" || strings.HasPrefix(line, "SCAN messages") {
							t.Errorf("%q: a scan of the messages: %q", q, line)
						}
						if strings.Contains(line, "message_fts VIRTUAL TABLE INDEX") {
							usesIndex = true
						}
					case store.Postgres:
						if strings.Contains(line, "Seq Scan on messages") {
							t.Errorf("%q (generic %v): a scan of the messages: %q", q, generic, line)
						}
						if strings.Contains(line, "Index Scan on messages_search") {
							usesIndex = true
						}
					}
				}
				if !usesIndex {
					t.Errorf("%q (generic %v): the search index is not used:\n%s", q, generic, strings.Join(plan, "\n"))
				}
			}
		}
	})
}

// Messages that PostgreSQL holds without a search column (sent before
// migration 00009) are indexed when the store opens, accents folded.
func TestSearchIndexesOlderMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(t0)
	dsn := storetest.DSN(t, "postgres")
	s, err := store.Open(ctx, store.Options{DSN: dsn, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	o := newOrg(t, s, "acme")
	us := mustCreate(t, s, o.ID, nu("Ann", "ann@acme.test", "101", ""), nu("Bob", "bob@acme.test", "102", ""))
	c := newConv(t, s, us[0], "", us[1])
	old := say(t, s, clk, us[0], c.ID, "Un café crème?")
	gone := say(t, s, clk, us[0], c.ID, "deleted café")
	if err := s.DeleteMessage(ctx, o.ID, us[0].ID, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriterForTest().ExecContext(ctx, `UPDATE messages SET search = NULL`); err != nil {
		t.Fatal(err)
	}
	wantFound(t, s, us[1], "cafe")
	s.Close()
	s, err = store.Open(ctx, store.Options{DSN: dsn, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantFound(t, s, us[1], "cafe", old.Text)
	wantFound(t, s, us[1], "CREME un", old.Text)
	wantFound(t, s, us[1], "deleted")
}
