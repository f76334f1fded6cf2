package chat

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"vo/internal/apperr"
	"vo/internal/page"
)

// MaxQueryLen is the longest message search, in characters.
const MaxQueryLen = 200

// Query is a message search: messages with all its words (in any order,
// case and accents aside) are found.
type Query struct {
	// Words are folded by SearchWords: lower case, no accents, letters and
	// digits only, each once.
	Words []string
	// Prefix is true when the last word may be the start of a longer one:
	// the query did not end with a space or punctuation, the user may be
	// typing it ("lun" finds "lunch").
	Prefix bool
}

// SearchWords splits text into the words a search matches: lower case,
// combining marks stripped ("Café" is "cafe"), runs of letters and digits.
// The store indexes a message by them where its engine cannot fold
// accents itself.
func SearchWords(text string) []string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	folded, _, err := transform.String(t, text)
	if err != nil {
		folded = text
	}
	return strings.FieldsFunc(strings.ToLower(folded), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r) && !unicode.IsMark(r)
	})
}

// ParseQuery checks a search: Invalid when longer than MaxQueryLen or
// without a word (empty, or only spaces and punctuation).
func ParseQuery(q string) (Query, error) {
	if !utf8.ValidString(q) {
		return Query{}, apperr.New(apperr.Invalid, "q must be UTF-8 text")
	}
	if utf8.RuneCountInString(q) > MaxQueryLen {
		return Query{}, apperr.New(apperr.Invalid, "q must be at most %d characters", MaxQueryLen)
	}
	var out Query
	seen := map[string]bool{}
	dup := false // the last word repeats an earlier one
	for _, w := range SearchWords(q) {
		dup = seen[w]
		if !dup {
			seen[w] = true
			out.Words = append(out.Words, w)
		}
	}
	if len(out.Words) == 0 {
		return Query{}, apperr.New(apperr.Invalid, "q must hold at least one word")
	}
	last, _ := utf8.DecodeLastRuneInString(q)
	out.Prefix = !dup && (unicode.IsLetter(last) || unicode.IsNumber(last) || unicode.IsMark(last))
	return out, nil
}

// Search lists the messages of the caller's conversations that have every
// word of q, newest first, those before the message before ("" for the
// newest). Deleted messages and conversations the caller is not a member
// of are never found.
func (s *Service) Search(ctx context.Context, orgID, userID, q, before string, limit int) ([]Message, string, error) {
	if err := page.Check(limit); err != nil {
		return nil, "", err
	}
	query, err := ParseQuery(q)
	if err != nil {
		return nil, "", err
	}
	return s.store.SearchMessages(ctx, orgID, userID, query, before, limit)
}
