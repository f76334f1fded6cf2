package account_test

import (
	"strings"
	"testing"

	"vo/internal/account"
	"vo/internal/apperr"
)

// wantInvalid fails unless err is an apperr Invalid with a message.
func wantInvalid(t *testing.T, in string, err error) {
	t.Helper()
	if !apperr.Is(err, apperr.Invalid) || apperr.MessageOf(err) == "" {
		t.Errorf("%q: got %v, want an Invalid error", in, err)
	}
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"ann@acme.test", "ann@acme.test"},
		{"Ann.Lee@Acme.TEST", "ann.lee@acme.test"},
		{"  ann@acme.test\t", "ann@acme.test"},
		{"ann+tag@mail.acme.co.uk", "ann+tag@mail.acme.co.uk"},
		{"o'brien@acme.test", "o'brien@acme.test"},
		{"ÉMILE@acme.test", "émile@acme.test"},
		{strings.Repeat("a", 244) + "@acme.test", strings.Repeat("a", 244) + "@acme.test"}, // 254, the most
	} {
		got, err := account.NormalizeEmail(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{
		"", "   ", "ann", "ann@", "@acme.test", "ann@acme", "ann@acme.", "ann@@acme.test", "ann@acme..test", "ann..lee@acme.test",
		"Ann Lee <ann@acme.test>", "<ann@acme.test>", "ann@acme.test (Ann)", "ann lee@acme.test", `"ann lee"@acme.test`,
		"ann@acme.test, bob@acme.test", "ann\x00@acme.test", "ann@acme.test>",
		strings.Repeat("a", 245) + "@acme.test", // 255
		"\xff@acme.test",
	} {
		got, err := account.NormalizeEmail(in)
		if err == nil {
			t.Errorf("NormalizeEmail(%q) accepted as %q", in, got)
			continue
		}
		wantInvalid(t, in, err)
	}
}

// TestNormalizeEmailIsIdempotent: lower-casing may lengthen a string
// (U+023A Ⱥ becomes U+2C65 ⱥ, 2 bytes becoming 3), so an accepted address
// must be judged by its normalized length, else it is stored longer than
// MaxEmailLen and does not normalize to itself.
func TestNormalizeEmailIsIdempotent(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"ȺȺ@acme.test",
		strings.Repeat("Ⱥ", 122) + "@acme.test",  // 254 bytes in, 376 lower-cased
		strings.Repeat("a", 242) + "Ⱥ@acme.test", // 254 bytes in, 255 lower-cased
	} {
		got, err := account.NormalizeEmail(in)
		if err != nil {
			continue // refusing is fine
		}
		again, err := account.NormalizeEmail(got)
		if err != nil || again != got || len(got) > account.MaxEmailLen {
			t.Errorf("NormalizeEmail(%d bytes %.12q…) = %d bytes, which normalizes to %d bytes, %v", len(in), in, len(got), len(again), err)
		}
	}
}

func TestValidateExtension(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"10", "101", "0001", "12345678"} {
		if err := account.ValidateExtension(ok); err != nil {
			t.Errorf("ValidateExtension(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "1", "123456789", "12a", "1 2", " 12", "+12", "-12", "1.5", "１２", "١٠٣"} {
		wantInvalid(t, bad, account.ValidateExtension(bad))
	}
}

func TestValidatePhone(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"", "+12345678", "+14155550101", "+442071838750", "+123456789012345"} {
		if err := account.ValidatePhone(ok); err != nil {
			t.Errorf("ValidatePhone(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"+", "+123", "+1234567", "14155550101", "+0123456789", "+1234567890123456", "+1415555010a",
		"+1 415 555 0101", "++14155550101", "+1-415-555-0101", " +14155550101", "+１４１５５５５０１０１"} {
		wantInvalid(t, bad, account.ValidatePhone(bad))
	}
}

func TestValidatePassword(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"0123456789", strings.Repeat("é", 10), "correct horse battery staple", strings.Repeat("p", account.MaxPasswordLen)} {
		if err := account.ValidatePassword(ok); err != nil {
			t.Errorf("ValidatePassword(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "123456789", strings.Repeat("é", 9), strings.Repeat("p", account.MaxPasswordLen+1), "0123456789\xff"} {
		wantInvalid(t, bad, account.ValidatePassword(bad))
	}
}

func TestNormalizeName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"Ann Lee", "Ann Lee"},
		{"  Ann Lee \n", "Ann Lee"},
		{"Zoë O'Brien-Smith", "Zoë O'Brien-Smith"},
		{strings.Repeat("ñ", 100), strings.Repeat("ñ", 100)},
	} {
		got, err := account.NormalizeName(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "   ", strings.Repeat("n", 101), strings.Repeat("ñ", 101), "Ann\x00Lee", "Ann\tLee", "Ann\u0085Lee", "Ann\xffLee"} {
		_, err := account.NormalizeName(bad)
		wantInvalid(t, bad, err)
	}
}

func TestParseEnums(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]account.Role{"": account.RoleMember, "member": account.RoleMember, "admin": account.RoleAdmin} {
		if got, err := account.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"root", "Admin", "ADMIN", " admin", "owner"} {
		_, err := account.ParseRole(bad)
		wantInvalid(t, bad, err)
	}
	for _, p := range []string{"web", "mobile", "desktop", "sip"} {
		if got, err := account.ParsePlatform(p); err != nil || string(got) != p {
			t.Errorf("ParsePlatform(%q) = %q, %v", p, got, err)
		}
	}
	for _, bad := range []string{"", "tv", "Web", "ios", "web "} {
		_, err := account.ParsePlatform(bad)
		wantInvalid(t, bad, err)
	}
}

func TestNormalizeDeviceName(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"": "Unknown device", "   ": "Unknown device", " Ann's phone ": "Ann's phone", strings.Repeat("d", 100): strings.Repeat("d", 100)} {
		if got, err := account.NormalizeDeviceName(in); err != nil || got != want {
			t.Errorf("NormalizeDeviceName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{strings.Repeat("d", 101), "a\x07b", "a\xffb"} {
		_, err := account.NormalizeDeviceName(bad)
		wantInvalid(t, bad, err)
	}
}

func TestValidateSlug(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"ab", "acme", "acme-inc", "a1", strings.Repeat("a", 40)} {
		if err := account.ValidateSlug(ok); err != nil {
			t.Errorf("ValidateSlug(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "a", "-acme", "acme-", "Acme", "acme inc", "acme_inc", "ácme", strings.Repeat("a", 41)} {
		wantInvalid(t, bad, account.ValidateSlug(bad))
	}
}

func TestNewUserNormalize(t *testing.T) {
	t.Parallel()
	good := account.NewUser{Name: " Ann Lee ", Email: "Ann@Acme.Test", Extension: " 101 ", PhoneNumber: " +14155550101 ", Password: "correct horse battery"}
	n, err := good.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	if want := (account.NewUser{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", PhoneNumber: "+14155550101", Password: "correct horse battery", Role: account.RoleMember}); n != want {
		t.Errorf("Normalize = %+v, want %+v", n, want)
	}
	for field, change := range map[string]func(*account.NewUser){
		"name":         func(u *account.NewUser) { u.Name = "" },
		"email":        func(u *account.NewUser) { u.Email = "ann" },
		"extension":    func(u *account.NewUser) { u.Extension = "1" },
		"phone_number": func(u *account.NewUser) { u.PhoneNumber = "+123" },
		"role":         func(u *account.NewUser) { u.Role = "root" },
		"password":     func(u *account.NewUser) { u.Password = "short" },
	} {
		u := good
		change(&u)
		_, err := u.Normalize()
		wantInvalid(t, field, err)
		if !strings.Contains(apperr.MessageOf(err), field) {
			t.Errorf("bad %s: message %q does not name it", field, apperr.MessageOf(err))
		}
	}
}
