package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"vo/internal/apperr"
)

// MaxJSONBody is the largest JSON request body (SPEC §7).
const MaxJSONBody = 1 << 20

// readJSONBody reads a JSON request body of at most MaxJSONBody bytes,
// refusing a larger one before reading it whole. Every JSON endpoint needs
// Content-Type application/json (SPEC §3): a body sent without one is 415,
// as a body of another type is.
func readJSONBody(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, apperr.New(apperr.UnsupportedMediaType, "the body must be application/json")
	}
	if r.ContentLength > MaxJSONBody {
		return nil, apperr.New(apperr.TooLarge, "the body must be at most 1 MiB")
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxJSONBody+1))
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "could not read the body")
	}
	if len(b) > MaxJSONBody {
		return nil, apperr.New(apperr.TooLarge, "the body must be at most 1 MiB")
	}
	return b, nil
}

// decodeJSON decodes a JSON object into v. Syntax errors, wrong types and
// trailing data are Invalid with a message naming the problem.
func decodeJSON(b []byte, v any) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return apperr.New(apperr.Invalid, "the body must be a JSON object")
	}
	// encoding/json would rewrite both to U+FFFD and let them be stored.
	if !utf8.Valid(b) {
		return apperr.New(apperr.Invalid, "the body is not valid UTF-8")
	}
	if loneSurrogate(b) {
		return apperr.New(apperr.Invalid, "the body holds a lone UTF-16 surrogate escape (\\uD800–\\uDFFF)")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field != "" {
				return apperr.New(apperr.Invalid, "field %s must be of type %s", te.Field, jsonType(te.Type.Kind().String()))
			}
			return apperr.New(apperr.Invalid, "the body must be a JSON object")
		}
		return apperr.New(apperr.Invalid, "the body is not valid JSON")
	}
	if dec.More() {
		return apperr.New(apperr.Invalid, "the body must hold one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return apperr.New(apperr.Invalid, "the body must hold one JSON object")
	}
	return nil
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct":
		return "object"
	case "bool":
		return "boolean"
	}
	if strings.HasPrefix(kind, "int") || strings.HasPrefix(kind, "uint") || strings.HasPrefix(kind, "float") {
		return "number"
	}
	return kind
}

// field is a JSON member that may be absent, null or a value.
type field struct {
	present bool
	raw     json.RawMessage
}

func (f field) null() bool { return f.present && string(bytes.TrimSpace(f.raw)) == "null" }

// fields decodes a JSON object into its members, keeping each raw.
func fields(b []byte) (map[string]field, error) {
	var m map[string]json.RawMessage
	if err := decodeJSON(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, apperr.New(apperr.Invalid, "the body must be a JSON object")
	}
	out := make(map[string]field, len(m))
	for k, v := range m {
		out[k] = field{present: true, raw: v}
	}
	return out, nil
}

func (f field) str(name string) (string, error) {
	var s string
	if err := json.Unmarshal(f.raw, &s); err != nil {
		return "", apperr.New(apperr.Invalid, "field %s must be a string or null", name)
	}
	return s, nil
}

func (f field) time(name string) (time.Time, error) {
	s, err := f.str(name)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, apperr.New(apperr.Invalid, "field %s must be an RFC 3339 time or null", name)
	}
	return t.UTC(), nil
}

// loneSurrogate reports whether a string of the JSON text b holds a \u
// escape of a UTF-16 surrogate that is not half of a pair. It reads only
// escapes inside strings; malformed JSON is left to the decoder.
func loneSurrogate(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			if i+1 >= len(b) || b[i+1] != 'u' {
				i++ // an escaped character, maybe a quote
				continue
			}
			r, ok := hex4(b, i+2)
			if !ok || !utf16.IsSurrogate(r) {
				i++
				continue
			}
			// A high surrogate must be followed by a low one.
			lo, ok := hex4(b, i+8)
			if r >= 0xDC00 || !ok || b[i+6] != '\\' || b[i+7] != 'u' || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		}
	}
	return false
}

// hex4 reads four hex digits at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
