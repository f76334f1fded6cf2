package sipserver

import (
	"context"
	"strings"
	"testing"
)

func (memBackend) Revoked(context.Context, string, string) (bool, error) { return false, nil }
func (memBackend) VoicemailCounts(context.Context, string, string) (int, int, error) {
	return 0, 0, nil
}

func TestMessageSummary(t *testing.T) {
	for _, c := range []struct {
		unheard, heard int
		want           string
	}{
		{0, 0, "Messages-Waiting: no\r\nMessage-Account: sip:101@acme\r\nVoice-Message: 0/0\r\n"},
		{2, 5, "Messages-Waiting: yes\r\nMessage-Account: sip:101@acme\r\nVoice-Message: 2/5\r\n"},
	} {
		if got := MessageSummary("sip:101@acme", c.unheard, c.heard); got != c.want {
			t.Errorf("%d/%d: %q", c.unheard, c.heard, got)
		}
	}
}

func TestSubscribeHeaders(t *testing.T) {
	for in, want := range map[string]string{"message-summary": "message-summary", " Message-Summary ;id=1": "message-summary", "": "", "presence": "presence"} {
		if got := EventPackage(in); got != want {
			t.Errorf("event %q: %q", in, got)
		}
	}
	if n, ok := SubscribeExpires("", false); !ok || n != defaultExpires {
		t.Errorf("no expires: %d %v", n, ok)
	}
	for in, want := range map[string]int{"0": 0, " 120 ": 120, "-1": -1, "x": -1, "99999999999999999999": -1} {
		n, ok := SubscribeExpires(in, true)
		if (want < 0) == ok || (ok && n != want) {
			t.Errorf("expires %q: %d %v", in, n, ok)
		}
	}
}

// FuzzSubscribeHeaders: the Event and Expires parsing of a SUBSCRIBE takes
// anything without panicking, and what it accepts is sane.
func FuzzSubscribeHeaders(f *testing.F) {
	for _, s := range []string{"message-summary", "message-summary;id=3", "", " 3600", "-5", "\x00;;", "0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ev := EventPackage(v)
		if strings.Contains(ev, ";") || ev != strings.ToLower(ev) || ev != strings.TrimSpace(ev) {
			t.Fatalf("event %q of %q", ev, v)
		}
		if n, ok := SubscribeExpires(v, true); ok && n < 0 {
			t.Fatalf("expires %d of %q", n, v)
		}
	})
}
