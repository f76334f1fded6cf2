package text

import (
	"testing"

	"vo/internal/apperr"
)

func TestNormalize(t *testing.T) {
	t.Parallel()
	line := Rules{Field: "message", Max: 5}
	multi := Rules{Field: "text", Max: 5, Required: true, Multiline: true}
	for _, c := range []struct {
		r       Rules
		in, out string
		ok      bool
	}{
		{line, "  hi ", "hi", true},
		{line, "", "", true}, // not required: clears
		{line, "a\nb", "", false},
		{line, "a\tb", "", false},
		{line, "123456", "", false},
		{line, "ééééé", "ééééé", true},
		{multi, "a\nb", "a\nb", true},
		{multi, "a\tb", "a\tb", true},
		{multi, "a\r\nb", "a\nb", true},
		{multi, "a\rb", "", false},
		{multi, "", "", false},
		{multi, "\u200b", "", false},
		{multi, "a\u2067b", "", false},
		{multi, "a\x00b", "", false},
		{multi, "\xffa", "", false},
	} {
		got, err := Normalize(c.in, c.r)
		if c.ok && (err != nil || got != c.out) || !c.ok && !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Normalize(%q, %s) = %q, %v", c.in, c.r.Field, got, err)
		}
	}
}
