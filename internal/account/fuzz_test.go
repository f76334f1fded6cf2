package account_test

// go test -run='^$' -fuzz=FuzzValidators -fuzztime=20s ./internal/account

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"vo/internal/account"
	"vo/internal/apperr"
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{7,14}$`)

// FuzzValidators: the validators never panic, refuse only with Invalid,
// and whatever they accept keeps the rules of SPEC §1 and §7.
func FuzzValidators(f *testing.F) {
	for _, s := range []string{"ann@acme.test", "Ann.Lee@Acme.TEST", "İ@acme.test", "a@[127.0.0.1]", "Ann <a@b.c>", "101", "12345678",
		"+14155550101", "+0123456789", "Ann Lee", "  Zoë  ", "\x00", "\xff", "correct horse battery", "ééééééééé", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		invalidOnly := func(what string, err error) bool {
			t.Helper()
			if err != nil && !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("%s(%q): %v, not Invalid", what, s, err)
			}
			return err == nil
		}

		if e, err := account.NormalizeEmail(s); invalidOnly("NormalizeEmail", err) {
			if e != strings.ToLower(e) || strings.Count(e, "@") < 1 || !utf8.ValidString(e) || len(e) > account.MaxEmailLen {
				t.Fatalf("NormalizeEmail(%q) = %q", s, e)
			}
			if again, err := account.NormalizeEmail(e); err != nil || again != e {
				t.Fatalf("NormalizeEmail(%q) = %q, which normalizes to %q, %v", s, e, again, err)
			}
		}

		if invalidOnly("ValidateExtension", account.ValidateExtension(s)) {
			if len(s) < 2 || len(s) > 8 || strings.Trim(s, "0123456789") != "" {
				t.Fatalf("ValidateExtension accepted %q", s)
			}
		}

		if invalidOnly("ValidatePhone", account.ValidatePhone(s)) && s != "" && !e164.MatchString(s) {
			t.Fatalf("ValidatePhone accepted %q", s)
		}

		if n, err := account.NormalizeName(s); invalidOnly("NormalizeName", err) {
			if n == "" || n != strings.TrimSpace(n) || !utf8.ValidString(n) || utf8.RuneCountInString(n) > account.MaxNameLen ||
				strings.IndexFunc(n, unicode.IsControl) >= 0 {
				t.Fatalf("NormalizeName(%q) = %q", s, n)
			}
			if again, err := account.NormalizeName(n); err != nil || again != n {
				t.Fatalf("NormalizeName(%q) = %q, which normalizes to %q, %v", s, n, again, err)
			}
		}

		if invalidOnly("ValidatePassword", account.ValidatePassword(s)) {
			if utf8.RuneCountInString(s) < account.MinPasswordLen || len(s) > account.MaxPasswordLen || !utf8.ValidString(s) {
				t.Fatalf("ValidatePassword accepted %q", s)
			}
		}

		if d, err := account.NormalizeDeviceName(s); invalidOnly("NormalizeDeviceName", err) {
			if d == "" || utf8.RuneCountInString(d) > account.MaxDeviceNameLen || strings.IndexFunc(d, unicode.IsControl) >= 0 {
				t.Fatalf("NormalizeDeviceName(%q) = %q", s, d)
			}
		}
	})
}
