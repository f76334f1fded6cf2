package presence

import (
	"strings"
	"testing"
	"time"

	"vo/internal/apperr"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// TestDerive covers every row of the SPEC §2 table and each derived rule,
// in the order the rules apply.
func TestDerive(t *testing.T) {
	t.Parallel()
	online := Facts{Sessions: 1, Now: t0, AutoAway: 10 * time.Minute}
	activeNow := t0.Add(-time.Minute)
	idle := t0.Add(-11 * time.Minute)
	tests := []struct {
		name  string
		state State
		facts Facts
		want  Shown
	}{
		// The table: each chosen status, online and recently active.
		{"available", State{Status: Available, LastActive: activeNow}, online, ShownAvailable},
		{"busy", State{Status: Busy, LastActive: activeNow}, online, ShownBusy},
		{"dnd shows busy to others", State{Status: DND, LastActive: activeNow}, online, ShownBusy},
		{"away", State{Status: Away, LastActive: activeNow}, online, ShownAway},
		{"invisible shows offline", State{Status: Invisible, LastActive: activeNow}, online, ShownOffline},
		// Rule 1: no session means offline whatever was chosen.
		{"no session, available", State{Status: Available, LastActive: activeNow}, Facts{Now: t0}, ShownOffline},
		{"no session, busy", State{Status: Busy}, Facts{Now: t0}, ShownOffline},
		{"no session, dnd", State{Status: DND}, Facts{Now: t0}, ShownOffline},
		{"no session, on a call", State{Status: Available, Activity: OnCall}, Facts{Now: t0}, ShownOffline},
		// Rule 2 before rule 4: invisible stays offline during a call.
		{"invisible on a call", State{Status: Invisible, Activity: OnCall}, online, ShownOffline},
		// Rule 3: dnd is busy, with or without activity.
		{"dnd in a meeting", State{Status: DND, Activity: InMeeting}, online, ShownBusy},
		// Rule 4: activity overlays available, away and busy.
		{"available on a call", State{Status: Available, Activity: OnCall, LastActive: activeNow}, online, ShownBusy},
		{"away in a meeting", State{Status: Away, Activity: InMeeting}, online, ShownBusy},
		{"idle but on a call", State{Status: Available, Activity: OnCall, LastActive: idle}, online, ShownBusy},
		// Rule 5: busy and away as chosen, even when idle.
		{"busy idle", State{Status: Busy, LastActive: idle}, online, ShownBusy},
		{"away active", State{Status: Away, LastActive: activeNow}, online, ShownAway},
		// Rule 6: auto-away.
		{"available idle goes away", State{Status: Available, LastActive: idle}, online, ShownAway},
		{"available exactly at the auto-away time", State{Status: Available, LastActive: t0.Add(-10 * time.Minute)}, online, ShownAway},
		{"available just inside the auto-away time", State{Status: Available, LastActive: t0.Add(-10*time.Minute + time.Second)}, online, ShownAvailable},
		{"idle with a mobile session stays available", State{Status: Available, LastActive: idle}, Facts{Sessions: 2, MobileSessions: 1, Now: t0, AutoAway: 10 * time.Minute}, ShownAvailable},
		{"org auto-away of 5 min", State{Status: Available, LastActive: t0.Add(-6 * time.Minute)}, Facts{Sessions: 1, Now: t0, AutoAway: 5 * time.Minute}, ShownAway},
		{"zero auto-away means the default", State{Status: Available, LastActive: t0.Add(-9 * time.Minute)}, Facts{Sessions: 1, Now: t0}, ShownAvailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Derive(tt.state, tt.facts); got != tt.want {
				t.Fatalf("Derive = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestActivityRestoresChosen: when the activity ends, the chosen status is
// in force again, unchanged.
func TestActivityRestoresChosen(t *testing.T) {
	t.Parallel()
	f := Facts{Sessions: 1, Now: t0}
	for _, st := range []Status{Available, Busy, Away, DND, Invisible} {
		s := State{Status: st, LastActive: t0}
		before := Derive(s, f)
		s.Activity = OnCall
		Derive(s, f)
		s.Activity = None
		if after := Derive(s, f); after != before || s.Status != st {
			t.Errorf("%s: after the call shown %s, want %s", st, after, before)
		}
	}
}

func TestExpire(t *testing.T) {
	t.Parallel()
	s := State{Status: DND, StatusUntil: t0.Add(time.Hour), Message: "Focus", MessageExpiresAt: t0.Add(30 * time.Minute)}
	if got := Expire(s, t0.Add(29*time.Minute)); got != s {
		t.Fatalf("nothing due yet, got %+v", got)
	}
	got := Expire(s, t0.Add(30*time.Minute))
	if got.Message != "" || !got.MessageExpiresAt.IsZero() || got.Status != DND {
		t.Fatalf("message due: %+v", got)
	}
	got = Expire(s, t0.Add(time.Hour))
	if got.Status != Available || !got.StatusUntil.IsZero() || got.Message != "" {
		t.Fatalf("both due: %+v", got)
	}
}

func TestNextChange(t *testing.T) {
	t.Parallel()
	f := Facts{Sessions: 1, Now: t0, AutoAway: 10 * time.Minute}
	tests := []struct {
		name  string
		state State
		facts Facts
		want  time.Time
	}{
		{"auto-away instant", State{Status: Available, LastActive: t0.Add(-time.Minute)}, f, t0.Add(9 * time.Minute)},
		{"status until sooner", State{Status: Available, LastActive: t0, StatusUntil: t0.Add(time.Minute)}, f, t0.Add(time.Minute)},
		{"message expiry", State{Status: Busy, MessageExpiresAt: t0.Add(2 * time.Minute)}, f, t0.Add(2 * time.Minute)},
		{"nothing for busy", State{Status: Busy}, f, time.Time{}},
		{"no auto-away with mobile", State{Status: Available, LastActive: t0}, Facts{Sessions: 1, MobileSessions: 1, Now: t0}, time.Time{}},
		{"no auto-away offline", State{Status: Available, LastActive: t0}, Facts{Now: t0}, time.Time{}},
		{"already away: nothing", State{Status: Available, LastActive: t0.Add(-time.Hour)}, f, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextChange(tt.state, tt.facts); !got.Equal(tt.want) {
				t.Fatalf("NextChange = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateUpdate(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxMessageLen+1)
	tests := []struct {
		name string
		u    Update
		ok   bool
	}{
		{"status", Update{Status: Some(DND)}, true},
		{"unknown status", Update{Status: Some[Status]("happy")}, false},
		{"empty status", Update{Status: Some[Status]("")}, false},
		{"null status", Update{Status: Clear[Status]()}, true},
		{"140 code points", Update{Message: Some(strings.Repeat("é", MaxMessageLen))}, true},
		{"141 code points", Update{Message: Some(long)}, false},
		{"control character", Update{Message: Some("a\x07b")}, false},
		{"newline", Update{Message: Some("a\nb")}, false},
		{"right-to-left override", Update{Message: Some("moc.\u202Eevil")}, false},
		{"isolate", Update{Message: Some("a \u2067b\u2069")}, false},
		{"right-to-left mark", Update{Message: Some("\u200Fshalom")}, false},
		{"Arabic letter mark", Update{Message: Some("\u061Cx")}, false},
		{"zero-width space only", Update{Message: Some("\u200B")}, false},
		{"zero-width joiners and a BOM only", Update{Message: Some("\u200D\u200C\uFEFF\u2060")}, false},
		{"Hangul filler only", Update{Message: Some("\u3164\u3164")}, false},
		{"blank Braille only", Update{Message: Some("\u2800")}, false},
		{"combining marks only", Update{Message: Some("\u0301\u0301")}, false},
		{"ideographic spaces only", Update{Message: Some("\u3000\u3000")}, true}, // trimmed to empty: clears
		{"a zero-width joiner inside an emoji", Update{Message: Some("👩\u200D💻 coding")}, true},
		{"Hebrew", Update{Message: Some("שלום עולם")}, true},
		{"one emoji", Update{Message: Some("🌴")}, true},
		{"empty message clears", Update{Message: Some("")}, true},
		{"past until", Update{StatusUntil: Some(t0.Add(-time.Second))}, false},
		{"now until", Update{StatusUntil: Some(t0)}, false},
		{"past expiry", Update{MessageExpiresAt: Some(t0.Add(-time.Hour))}, false},
		{"year one is in the past, not null", Update{StatusUntil: Some(time.Time{})}, false},
		{"year one expiry", Update{MessageExpiresAt: Some(time.Time{})}, false},
		{"null until", Update{StatusUntil: Clear[time.Time]()}, true},
		{"future", Update{StatusUntil: Some(t0.Add(time.Hour))}, true},
		{"the last instant of 9999", Update{StatusUntil: Some(MaxTime)}, true},
		{"the year 10000", Update{StatusUntil: Some(MaxTime.Add(time.Nanosecond))}, false},
		{"the year 10000 expiry", Update{MessageExpiresAt: Some(time.Date(10000, 1, 1, 0, 59, 0, 0, time.UTC))}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.u.Validate(t0)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !apperr.Is(err, apperr.Invalid) {
				t.Fatalf("err = %v, want Invalid", err)
			}
		})
	}
	u, _ := Update{Message: Some("  trimmed  ")}.Validate(t0)
	if u.Message.Value != "trimmed" {
		t.Fatalf("message not trimmed: %q", u.Message.Value)
	}
}
