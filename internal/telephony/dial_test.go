package telephony

import (
	"strings"
	"testing"
)

func TestParseDestination(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Destination
	}{
		{"101", Destination{DestExtension, "101"}},
		{"10", Destination{DestExtension, "10"}},
		{"12345678", Destination{DestExtension, "12345678"}},
		{" 205 ", Destination{DestExtension, "205"}},
		{"+14155550101", Destination{DestNumber, "+14155550101"}},
		{"+12345678", Destination{DestNumber, "+12345678"}},
		{"+123456789012345", Destination{DestNumber, "+123456789012345"}},
		{"*97", Destination{DestVoicemail, ""}},
		{"", Destination{}},
		{"1", Destination{}},
		{"123456789", Destination{}},
		{"+", Destination{}},
		{"+1234567", Destination{}},
		{"+1234567890123456", Destination{}},
		{"+04155550101", Destination{}},
		{"*98", Destination{}},
		{"*970", Destination{}},
		{"10a", Destination{}},
		{"١٠١", Destination{}}, // Arabic-Indic digits are not ASCII digits
		{"sip:101@acme", Destination{}},
	}
	for _, tt := range tests {
		if got := ParseDestination(tt.in); got != tt.want {
			t.Errorf("ParseDestination(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{"101", "+14155550101", "*97", "", "+", "1", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d := ParseDestination(s)
		ascii := func(v string) bool {
			for i := 0; i < len(v); i++ {
				if v[i] < '0' || v[i] > '9' {
					return false
				}
			}
			return true
		}
		switch d.Kind {
		case DestInvalid, DestVoicemail:
			if d.Value != "" {
				t.Fatalf("%q: kind %v with value %q", s, d.Kind, d.Value)
			}
		case DestExtension:
			if len(d.Value) < 2 || len(d.Value) > 8 || !ascii(d.Value) {
				t.Fatalf("%q: bad extension %q", s, d.Value)
			}
		case DestNumber:
			if len(d.Value) < 9 || len(d.Value) > 16 || d.Value[0] != '+' || !ascii(d.Value[1:]) {
				t.Fatalf("%q: bad number %q", s, d.Value)
			}
		default:
			t.Fatalf("%q: unknown kind %v", s, d.Kind)
		}
		if d.Kind != DestInvalid && d.Kind != DestVoicemail && d.Value != strings.TrimSpace(s) {
			t.Fatalf("%q: value %q is not the trimmed input", s, d.Value)
		}
		if ParseDestination(d.Value) != d && d.Kind != DestVoicemail && d.Kind != DestInvalid {
			t.Fatalf("%q: not stable", s)
		}
	})
}
