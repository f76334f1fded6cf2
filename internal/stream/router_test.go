package stream

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseFrame: the inbound frame parser never panics; what it accepts
// is a JSON object with that string type, and a ref it keeps is a short
// JSON string or number, which the error frame can carry as it is.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{`{"type":"activity"}`, `{"type":"offer","id":"c1","sdp":"v=0"}`, `{"type":"x","id":12}`,
		`{"type":"x","id":{"a":1}}`, `{"type":null}`, `{"id":"a"}`, `[]`, `null`, `"type"`, `{"type":"a","type":"b"}`, ``, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, ref, err := parseFrame(b)
		if err != nil {
			if typ != "" || ref != nil {
				t.Fatalf("refused %q, yet gave %q %q", b, typ, ref)
			}
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(b, &m) != nil {
			t.Fatalf("accepted %q, which is not a JSON object", b)
		}
		if ref != nil {
			var v any
			if len(ref) > maxRef || json.Unmarshal(ref, &v) != nil {
				t.Fatalf("ref %q of %q", ref, b)
			}
			switch v.(type) {
			case string, float64:
			default:
				t.Fatalf("ref %q of %q is not a string or number", ref, b)
			}
			var fr errorFrame
			if json.Unmarshal(errFrame(codeUnknownType, ref), &fr) != nil || !bytes.Equal(fr.Ref, ref) {
				t.Fatalf("the error frame does not carry ref %q", ref)
			}
		}
	})
}
