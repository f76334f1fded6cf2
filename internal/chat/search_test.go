package chat

import (
	"slices"
	"strings"
	"testing"

	"vo/internal/apperr"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	for q, want := range map[string]Query{
		"cafe":                   {Words: []string{"cafe"}, Prefix: true},
		"CAFÉ":                   {Words: []string{"cafe"}, Prefix: true},
		"  Café Crème ":          {Words: []string{"cafe", "creme"}},
		"crème brû":              {Words: []string{"creme", "bru"}, Prefix: true},
		"lunch?":                 {Words: []string{"lunch"}},
		`"lunch" OR NEAR(x*)`:    {Words: []string{"lunch", "or", "near", "x"}},
		"a'b & c:* | !d":         {Words: []string{"a", "b", "c", "d"}, Prefix: true},
		"lunch lunch":            {Words: []string{"lunch"}},
		"lun lunch lun":          {Words: []string{"lun", "lunch"}},
		"report 42":              {Words: []string{"report", "42"}, Prefix: true},
		"Straße":                 {Words: []string{"straße"}, Prefix: true},
		strings.Repeat("é", 200): {Words: []string{strings.Repeat("e", 200)}, Prefix: true},
	} {
		got, err := ParseQuery(q)
		if err != nil || !slices.Equal(got.Words, want.Words) || got.Prefix != want.Prefix {
			t.Errorf("ParseQuery(%.30q) = %+v, %v; want %+v", q, got, err, want)
		}
	}
	for _, q := range []string{"", "   ", `"*-&!()`, "\u0301", strings.Repeat("é", 201), strings.Repeat("a ", 101), "\xff"} {
		if got, err := ParseQuery(q); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("ParseQuery(%.30q) = %+v, %v; want Invalid", q, got, err)
		}
	}
}

func TestSearchWords(t *testing.T) {
	t.Parallel()
	for text, want := range map[string][]string{
		"Lunch at the Café, tomorrow?": {"lunch", "at", "the", "cafe", "tomorrow"},
		"CRÈME brûlée":                 {"creme", "brulee"},
		"e-mail ann@acme.test":         {"e", "mail", "ann", "acme", "test"},
		"":                             nil,
		"!!!":                          nil,
	} {
		if got := SearchWords(text); !slices.Equal(got, want) {
			t.Errorf("SearchWords(%q) = %q, want %q", text, got, want)
		}
	}
}
