// Package text holds the rules for free text a user writes for others to
// read (a status message, a chat message): trimmed, valid UTF-8, a bounded
// number of code points, no control characters, no bidirectional controls,
// and something visible.
package text

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"vo/internal/apperr"
)

// Rules say what one kind of text allows.
type Rules struct {
	// Field names the text in refusals ("message", "text").
	Field string
	// Max is the most code points after trimming.
	Max int
	// Required refuses the empty text; without it the empty text is valid
	// (a status message cleared).
	Required bool
	// Multiline allows newline and tab inside the text; a CRLF is read as
	// a newline.
	Multiline bool
}

// Normalize trims s and checks it against r: its length in code points,
// that it holds no control characters (but newline and tab when
// Multiline) and no bidirectional controls (an override can make
// "evil.com/moc.elgoog" read as something else to every reader), and that
// a text not empty shows at least one visible character: one of only
// zero-width or blank characters looks like nothing while saying there is
// something. It returns the text as stored.
func Normalize(s string, r Rules) (string, error) {
	if r.Multiline {
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	s = strings.TrimSpace(s)
	control := unicode.IsControl
	what := "text without control characters"
	if r.Multiline {
		control = func(c rune) bool { return c != '\n' && c != '\t' && unicode.IsControl(c) }
		what = "text without control characters but newline and tab"
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, control) >= 0 {
		return "", apperr.New(apperr.Invalid, "%s must be %s", r.Field, what)
	}
	if strings.IndexFunc(s, isBidiControl) >= 0 {
		return "", apperr.New(apperr.Invalid, "%s must not hold bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C)", r.Field)
	}
	if utf8.RuneCountInString(s) > r.Max {
		return "", apperr.New(apperr.Invalid, "%s must be at most %d characters", r.Field, r.Max)
	}
	if s == "" {
		if r.Required {
			return "", apperr.New(apperr.Invalid, "%s must not be empty", r.Field)
		}
		return s, nil
	}
	if strings.IndexFunc(s, visible) < 0 {
		return "", apperr.New(apperr.Invalid, "%s must show at least one visible character", r.Field)
	}
	return s, nil
}

func isBidiControl(r rune) bool { return unicode.Is(unicode.Bidi_Control, r) }

// visible reports whether r leaves a mark of its own: a letter, number,
// punctuation or symbol, but not a default-ignorable one (the Hangul
// fillers are letters that render as nothing) nor the blank Braille
// pattern. Combining marks lean on another character and do not count.
func visible(r rune) bool {
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S) &&
		!unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) && r != '\u2800'
}
