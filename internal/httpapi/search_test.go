package httpapi

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"vo/internal/apidoc/apitypes"
	"vo/internal/apperr"
)

// Message search of SPEC §8 (issue 11 pts 3, 8), on both engines.

// search returns the texts p finds for q (with extra query parameters),
// and the next page's cursor.
func (fx *fixture) search(t testing.TB, p *person, q, extra string) ([]string, string) {
	t.Helper()
	l := mustJSON[apitypes.MessageList](t, fx.call(t, "GET", "/api/v1/search/messages?q="+url.QueryEscape(q)+extra, p.token(), nil), http.StatusOK)
	out := make([]string, len(l.Items))
	for i, m := range l.Items {
		out[i] = m.Text
	}
	next := ""
	if l.NextCursor != nil {
		next = *l.NextCursor
	}
	return out, next
}

func (fx *fixture) wantFound(t testing.TB, p *person, q string, want ...string) {
	t.Helper()
	if got, _ := fx.search(t, p, q, ""); !slices.Equal(got, want) {
		t.Errorf("%s searching %q found %q, want %q", p.Name, q, got, want)
	}
}

func TestSearchMessages(t *testing.T) {
	eachEngine(t, func(t *testing.T, fx *fixture) {
		team := fx.newConv(t, fx.ann, "Team", http.StatusCreated, fx.bob, fx.carla)
		pair := fx.newConv(t, fx.ann, "", http.StatusCreated, fx.bob)
		globex := fx.newConv(t, fx.annika, "", http.StatusCreated, fx.bobT)
		lunch := fx.send(t, fx.ann, team.ID, "a1", "Lunch at the Café tomorrow?")
		fx.send(t, fx.bob, pair.ID, "b1", "CRÈME brûlée after lunch, just us")
		fx.send(t, fx.annika, globex.ID, "k1", "lunch café at Globex")

		fx.wantFound(t, fx.ann, "cafe", "Lunch at the Café tomorrow?")
		fx.wantFound(t, fx.ann, "CAFÉ tomorrow", "Lunch at the Café tomorrow?")
		fx.wantFound(t, fx.ann, "tomorrow café", "Lunch at the Café tomorrow?")
		fx.wantFound(t, fx.ann, "creme brulee", "CRÈME brûlée after lunch, just us")
		fx.wantFound(t, fx.ann, "lunch dinner")
		// (The clock stands still: which conversation's message of one
		// millisecond comes first is not said.)
		if got, _ := fx.search(t, fx.ann, "lun", ""); !slices.Equal(sortedCopy(got), []string{"CRÈME brûlée after lunch, just us", "Lunch at the Café tomorrow?"}) {
			t.Errorf("Ann searching \"lun\" found %q", got)
		}
		// The answer is the full Message of GET .../messages.
		l := mustJSON[apitypes.MessageList](t, fx.call(t, "GET", "/api/v1/search/messages?q=cafe", fx.ann.token(), nil), http.StatusOK)
		if len(l.Items) != 1 || l.Items[0].ID != lunch.ID || l.Items[0].ConversationID != team.ID || l.Items[0].SenderID != fx.ann.ID || l.NextCursor != nil {
			t.Errorf("search answer %+v, want %+v", l, lunch)
		}

		t.Run("only the caller's conversations", func(t *testing.T) {
			fx.wantFound(t, fx.carla, "lunch", "Lunch at the Café tomorrow?") // not Ann and Bob's 1:1
			fx.wantFound(t, fx.carla, "creme")
			fx.wantFound(t, fx.annika, "lunch cafe", "lunch café at Globex")
			fx.wantFound(t, fx.annika, "tomorrow")
			fx.wantFound(t, fx.bobT, "lunch", "lunch café at Globex")
			fx.wantFound(t, fx.ann, "globex")
		})

		t.Run("edits and deletes", func(t *testing.T) {
			fx.wantStatus(t, fx.ann, "PATCH", "/api/v1/messages/"+lunch.ID, map[string]any{"text": "Dinner at the bistro"}, http.StatusOK)
			fx.wantFound(t, fx.bob, "cafe")
			fx.wantFound(t, fx.bob, "bistro", "Dinner at the bistro")
			fx.wantStatus(t, fx.ann, "DELETE", "/api/v1/messages/"+lunch.ID, nil, http.StatusNoContent)
			fx.wantFound(t, fx.bob, "bistro")
			fx.wantFound(t, fx.carla, "dinner")
		})

		t.Run("pages", func(t *testing.T) {
			var want []string
			for i, w := range []string{"one", "two", "three", "four", "five"} {
				want = append(want, "status report "+w)
				fx.send(t, fx.bob, team.ID, "r"+string(rune('0'+i)), want[i])
			}
			slices.Reverse(want)
			var got []string
			extra := "&limit=2"
			for range 5 {
				page, next := fx.search(t, fx.carla, "report status", extra)
				got = append(got, page...)
				if next == "" {
					break
				}
				// before and cursor are the same thing.
				if len(got)%4 == 2 {
					extra = "&limit=2&cursor=" + next
				} else {
					extra = "&limit=2&before=" + next
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("pages %q, want %q", got, want)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			ms := fx.history(t, fx.annika, globex.ID, "")
			for name, query := range map[string]string{
				"no q":                       "",
				"empty q":                    "?q=",
				"blank q":                    "?q=%20%20",
				"only punctuation":           "?q=" + url.QueryEscape(`"*-&!()`),
				"q of 201 characters":        "?q=" + url.QueryEscape(strings.Repeat("é", 201)),
				"limit 0":                    "?q=lunch&limit=0",
				"limit 201":                  "?q=lunch&limit=201",
				"limit not a number":         "?q=lunch&limit=x",
				"unknown before":             "?q=lunch&before=m_nosuch",
				"before of another org":      "?q=lunch&before=" + ms.Items[0].ID,
				"before and cursor disagree": "?q=lunch&before=" + lunch.ID + "&cursor=m_other",
			} {
				t.Run(name, func(t *testing.T) {
					checkError(t, fx.call(t, "GET", "/api/v1/search/messages"+query, fx.ann.token(), nil), http.StatusBadRequest, apperr.Invalid)
				})
			}
			// 200 characters is still a search.
			fx.wantFound(t, fx.ann, strings.Repeat("é", 200))
			checkError(t, fx.call(t, "GET", "/api/v1/search/messages?q=lunch", "", nil), http.StatusUnauthorized, apperr.Unauthenticated)
		})
	})
}
