package telephony

import (
	"strings"

	"vo/internal/account"
)

// DestKind is what a dialled string names.
type DestKind int

// The kinds of destination.
const (
	DestInvalid DestKind = iota
	DestExtension
	DestNumber
	DestVoicemail // the feature code *97: the caller's own voicemail
)

// VoicemailCode is the feature code that reaches one's own voicemail.
const VoicemailCode = "*97"

// Destination is a classified dial string; Value is the extension or the
// E.164 number, empty otherwise.
type Destination struct {
	Kind  DestKind
	Value string
}

// ParseDestination classifies what a phone or the app dialled: an extension
// of the org (2 to 8 digits), an E.164 number (+ and 8 to 15 digits), the
// voicemail feature code *97, or invalid. Surrounding blanks are ignored;
// nothing else is rewritten.
func ParseDestination(s string) Destination {
	s = strings.TrimSpace(s)
	switch {
	case s == VoicemailCode:
		return Destination{Kind: DestVoicemail}
	case strings.HasPrefix(s, "+"):
		if s != "+" && account.ValidatePhone(s) == nil {
			return Destination{Kind: DestNumber, Value: s}
		}
	case account.ValidateExtension(s) == nil:
		return Destination{Kind: DestExtension, Value: s}
	}
	return Destination{Kind: DestInvalid}
}
