package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"vo/internal/apperr"
)

// Limits on user fields.
const (
	MaxNameLen       = 100
	MaxEmailLen      = 254
	MinPasswordLen   = 10
	MaxPasswordLen   = 256
	MaxDeviceNameLen = 100
	MaxSlugLen       = 40
)

// NormalizeEmail trims and lower-cases an email so that uniqueness is
// case-insensitive. Returns Invalid when it is not a plain address.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > MaxEmailLen {
		return "", apperr.New(apperr.Invalid, "email must be an address of at most %d characters", MaxEmailLen)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" || strings.ContainsAny(s, " \t\r\n<>\"") {
		return "", apperr.New(apperr.Invalid, "email %q is not a valid address", clip(s))
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.HasSuffix(s, ".") {
		return "", apperr.New(apperr.Invalid, "email %q is not a valid address", clip(s))
	}
	// Lower-casing can lengthen text (Ⱥ is 2 bytes, ⱥ 3): check again, so
	// that what is stored normalizes to itself.
	lower := strings.ToLower(s)
	if len(lower) > MaxEmailLen {
		return "", apperr.New(apperr.Invalid, "email must be an address of at most %d characters", MaxEmailLen)
	}
	return lower, nil
}

// ValidateExtension checks an extension: 2 to 8 ASCII digits.
func ValidateExtension(s string) error {
	if len(s) < 2 || len(s) > 8 || !allDigits(s) {
		return apperr.New(apperr.Invalid, "extension must be 2 to 8 digits")
	}
	return nil
}

// ValidatePhone checks an E.164 number: "+" then 8 to 15 digits, the first
// not zero. The empty string means no number and is valid.
func ValidatePhone(s string) error {
	if s == "" {
		return nil
	}
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || !allDigits(s[1:]) || s[1] == '0' {
		return apperr.New(apperr.Invalid, "phone_number must be E.164: + and 8 to 15 digits")
	}
	return nil
}

// ValidatePassword checks the length rules of SPEC §7.
func ValidatePassword(s string) error {
	n := utf8.RuneCountInString(s)
	if n < MinPasswordLen {
		return apperr.New(apperr.Invalid, "password must be at least %d characters", MinPasswordLen)
	}
	if len(s) > MaxPasswordLen || !utf8.ValidString(s) {
		return apperr.New(apperr.Invalid, "password must be valid text of at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// NormalizeName trims a display name and checks it is 1 to MaxNameLen
// printable characters.
func NormalizeName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNameLen || hasControl(s) {
		return "", apperr.New(apperr.Invalid, "name must be 1 to %d printable characters", MaxNameLen)
	}
	return s, nil
}

// ParseRole accepts "admin" or "member"; empty means member.
func ParseRole(s string) (Role, error) {
	switch Role(s) {
	case "", RoleMember:
		return RoleMember, nil
	case RoleAdmin:
		return RoleAdmin, nil
	}
	return "", apperr.New(apperr.Invalid, "role must be admin or member")
}

// ParsePlatform accepts the platforms of SPEC §1.
func ParsePlatform(s string) (Platform, error) {
	switch p := Platform(s); p {
	case PlatformWeb, PlatformMobile, PlatformDesktop, PlatformSIP:
		return p, nil
	}
	return "", apperr.New(apperr.Invalid, "platform must be web, mobile, desktop or sip")
}

// NormalizeDeviceName trims a device name; empty becomes "Unknown device".
func NormalizeDeviceName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "Unknown device", nil
	}
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxDeviceNameLen || hasControl(s) {
		return "", apperr.New(apperr.Invalid, "device_name must be at most %d printable characters", MaxDeviceNameLen)
	}
	return s, nil
}

// ValidateSlug checks an org slug: 2 to 40 of a-z, 0-9 and inner hyphens.
func ValidateSlug(s string) error {
	ok := len(s) >= 2 && len(s) <= MaxSlugLen && s[0] != '-' && s[len(s)-1] != '-'
	for i := 0; ok && i < len(s); i++ {
		c := s[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
	}
	if !ok {
		return apperr.New(apperr.Invalid, "slug must be 2 to %d lower-case letters, digits or inner hyphens", MaxSlugLen)
	}
	return nil
}

// NewUser is what provisioning asks for.
type NewUser struct {
	Name, Email, Extension, PhoneNumber, Password string
	Role                                          Role
}

// Normalize validates every field and returns the cleaned input. The first
// problem found is returned as an Invalid error naming the field.
func (n NewUser) Normalize() (NewUser, error) {
	var err error
	if n.Name, err = NormalizeName(n.Name); err != nil {
		return n, err
	}
	if n.Email, err = NormalizeEmail(n.Email); err != nil {
		return n, err
	}
	n.Extension = strings.TrimSpace(n.Extension)
	if err = ValidateExtension(n.Extension); err != nil {
		return n, err
	}
	n.PhoneNumber = strings.TrimSpace(n.PhoneNumber)
	if err = ValidatePhone(n.PhoneNumber); err != nil {
		return n, err
	}
	if n.Role, err = ParseRole(string(n.Role)); err != nil {
		return n, err
	}
	if err = ValidatePassword(n.Password); err != nil {
		return n, err
	}
	return n, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, unicode.IsControl) >= 0
}

// clip keeps error messages short when echoing user input.
func clip(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		return string([]rune(s)[:40]) + "…"
	}
	return s
}
