package chat

import (
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
)

func TestNormalizeText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"  hi  ":                  "hi",
		"a\nb\tc":                 "a\nb\tc",
		"line\r\nnext":            "line\nnext",
		"\n\nhello\n":             "hello",
		strings.Repeat("é", 4000): strings.Repeat("é", 4000),
	} {
		got, err := NormalizeText(in)
		if err != nil || got != want {
			t.Errorf("NormalizeText(%.20q) = %.20q, %v; want %.20q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "\n\t", strings.Repeat("é", 4001), "a\x00b", "a\rb", "a\x1bb", "a\u202eb", "a\u2066b",
		"\u200b", "\u2800\u3164", "\xff"} {
		if got, err := NormalizeText(in); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("NormalizeText(%.20q) = %q, %v; want Invalid", in, got, err)
		}
	}
}

func TestCheckEmoji(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"👍", "👍🏽", "❤️", "🎉", "👩‍👩‍👧", "🇫🇷", "1️⃣", "‼️", "☺"} {
		if err := CheckEmoji(ok); err != nil {
			t.Errorf("CheckEmoji(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "1", "👍x", "👍 ", "<", "+", "\u200d", "\ufe0f", strings.Repeat("👍", 17), "\xff"} {
		if err := CheckEmoji(bad); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("CheckEmoji(%q) = %v, want Invalid", bad, err)
		}
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		others []string
		name   string
		kind   Kind
		ids    []string
	}{
		{[]string{"b"}, "", Direct, []string{"a", "b"}},
		{[]string{"b", "b", "a"}, "", Direct, []string{"a", "b"}},
		{[]string{"c", "b"}, "", Group, []string{"a", "b", "c"}},
		{[]string{"c", "b"}, "Team", Group, []string{"a", "b", "c"}},
	} {
		kind, ids, err := Members("a", c.others, c.name)
		if err != nil || kind != c.kind || !slices.Equal(ids, c.ids) {
			t.Errorf("Members(a, %v, %q) = %s %v %v", c.others, c.name, kind, ids, err)
		}
	}
	many := make([]string, MaxMembers)
	for i := range many {
		many[i] = strings.Repeat("x", i+1)
	}
	for _, c := range []struct {
		others []string
		name   string
	}{{nil, ""}, {[]string{"a"}, ""}, {[]string{""}, ""}, {[]string{"b"}, "us"}, {many, ""}} {
		if _, _, err := Members("a", c.others, c.name); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Members(a, %d others, %q) = %v, want Invalid", len(c.others), c.name, err)
		}
	}
	if DirectKey([]string{"b", "a"}) != DirectKey([]string{"a", "b"}) {
		t.Error("the direct key depends on the order")
	}
}

func TestMentions(t *testing.T) {
	t.Parallel()
	ann := account.User{ID: "u1", Name: "Ann"}
	annLee := account.User{ID: "u2", Name: "Ann Lee"}
	bob := account.User{ID: "u3", Name: "Bob Stone"}
	jose := account.User{ID: "u4", Name: "José"}
	members := []account.User{ann, annLee, bob, jose}
	for text, want := range map[string][]string{
		"hi @Ann":                     {"u1"},
		"hi @Ann Lee, and @bob stone": {"u2", "u3"},
		"@Ann Lee":                    {"u2"},
		"@Annika":                     nil, // not a name's end
		"mail ann@Ann":                nil, // not a mention's start
		"(@José)":                     {"u4"},
		"@José's":                     {"u4"},
		"@Ann @Ann":                   {"u1"},
		"no mention":                  nil,
		"@":                           nil,
		"@Bob":                        nil,
	} {
		if got := Mentions(text, members); !slices.Equal(got, want) {
			t.Errorf("Mentions(%q) = %v, want %v", text, got, want)
		}
	}
}

func TestLimiter(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	l := NewLimiter(clk, 10, 3)
	for i := range 3 {
		if w := l.Take("a"); w != 0 {
			t.Fatalf("take %d: wait %v", i, w)
		}
	}
	if w := l.Take("a"); w != 100*time.Millisecond {
		t.Fatalf("empty bucket: wait %v, want 100ms", w)
	}
	if w := l.Take("b"); w != 0 {
		t.Fatalf("another key waits %v", w)
	}
	clk.Advance(100 * time.Millisecond)
	if w := l.Take("a"); w != 0 {
		t.Fatalf("after a refill: wait %v", w)
	}
	clk.Advance(time.Hour)
	for i := range 3 {
		if w := l.Take("a"); w != 0 {
			t.Fatalf("the bucket holds more than its burst: take %d waits %v", i, w)
		}
	}
	if w := l.Take("a"); w == 0 {
		t.Fatal("the bucket grew past its burst")
	}
}

func TestTypingThrottle(t *testing.T) {
	t.Parallel()
	th := &typingThrottle{last: map[[2]string]time.Time{}}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if !th.pass("c", "u", at) || th.pass("c", "u", at.Add(TypingEvery-time.Millisecond)) {
		t.Fatal("a second typing within 3 s passed, or the first did not")
	}
	if !th.pass("c", "v", at) || !th.pass("d", "u", at) {
		t.Fatal("another member or conversation was held back")
	}
	if !th.pass("c", "u", at.Add(TypingEvery)) {
		t.Fatal("typing after 3 s was held back")
	}
}

// FuzzNormalizeText: what passes is trimmed, 1 to MaxTextLen code points
// of valid UTF-8 with no control characters but newline and tab, and
// normalizing it again changes nothing.
func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"hi", " a\nb ", "a\r\nb", "\u202e", "\u200b", "é", "\x00", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeText(s)
		if err != nil {
			if !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("NormalizeText(%q): %v", s, err)
			}
			return
		}
		if got == "" || !utf8.ValidString(got) || utf8.RuneCountInString(got) > MaxTextLen || strings.TrimSpace(got) != got {
			t.Fatalf("NormalizeText(%q) = %q", s, got)
		}
		for _, r := range got {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
				t.Fatalf("NormalizeText(%q) kept %U", s, r)
			}
		}
		if again, err := NormalizeText(got); err != nil || again != got {
			t.Fatalf("NormalizeText is not idempotent on %q: %q, %v", got, again, err)
		}
	})
}

// FuzzCheckEmoji: never panics; what passes is short valid UTF-8.
func FuzzCheckEmoji(f *testing.F) {
	for _, s := range []string{"👍", "👍🏽", "1️⃣", "a", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if err := CheckEmoji(s); err == nil && (!utf8.ValidString(s) || utf8.RuneCountInString(s) > maxEmojiLen || s == "") {
			t.Fatalf("CheckEmoji(%q) passed", s)
		}
	})
}
