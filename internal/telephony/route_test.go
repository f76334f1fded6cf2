package telephony

import (
	"testing"
	"time"

	"vo/internal/presence"
)

// TestRoute has one row per row of SPEC §2's calls column, then the rows
// for devices, activity and forwarding.
func TestRoute(t *testing.T) {
	t.Parallel()
	ringAll := Decision{Action: Ring, RingApps: true, RingPhones: true, Timeout: RingTimeout, OnTimeout: ToVoicemail, Reason: ReasonNoAnswer}
	dnd := Decision{Action: ToVoicemail, Reason: ReasonDND}
	always := Forwarding{Mode: ForwardAlways, Target: "205"}
	unans := Forwarding{Mode: ForwardUnanswered, Target: "205"}
	with := func(d Decision, f func(*Decision)) Decision { f(&d); return d }
	both := RouteInput{Sessions: true, Phones: true}
	in := func(f func(*RouteInput)) RouteInput { i := both; f(&i); return i }
	tests := []struct {
		name string
		in   RouteInput
		want Decision
	}{
		// SPEC §2 calls column.
		{"available rings", in(func(i *RouteInput) { i.Status = presence.Available }), ringAll},
		{"busy still rings", in(func(i *RouteInput) { i.Status = presence.Busy }), ringAll},
		{"dnd straight to voicemail", in(func(i *RouteInput) { i.Status = presence.DND }), dnd},
		{"away rings", in(func(i *RouteInput) { i.Status = presence.Away }), ringAll},
		{"invisible rings", in(func(i *RouteInput) { i.Status = presence.Invisible }), ringAll},
		// Devices.
		{"apps only", RouteInput{Status: presence.Available, Sessions: true},
			with(ringAll, func(d *Decision) { d.RingPhones = false })},
		{"phone only", RouteInput{Status: presence.Available, Phones: true},
			with(ringAll, func(d *Decision) { d.RingApps = false })},
		{"no device voicemail", RouteInput{Status: presence.Available}, Decision{Action: ToVoicemail, Reason: ReasonNoDevice}},
		{"dnd without device is dnd", RouteInput{Status: presence.DND}, dnd},
		// Activity: call waiting.
		{"on a call still rings", in(func(i *RouteInput) { i.Status = presence.Available; i.Activity = presence.OnCall }),
			with(ringAll, func(d *Decision) { d.WhileBusy = true })},
		{"in a meeting still rings", in(func(i *RouteInput) { i.Status = presence.Busy; i.Activity = presence.InMeeting }),
			with(ringAll, func(d *Decision) { d.WhileBusy = true })},
		{"dnd on a call voicemail", in(func(i *RouteInput) { i.Status = presence.DND; i.Activity = presence.OnCall }), dnd},
		// Forwarding.
		{"forward always", in(func(i *RouteInput) { i.Status = presence.Available; i.Forwarding = always; i.TargetExists = true }),
			Decision{Action: Forward, ForwardTo: "205"}},
		{"forward always without devices", RouteInput{Status: presence.Away, Forwarding: always, TargetExists: true},
			Decision{Action: Forward, ForwardTo: "205"}},
		{"dnd wins over forward always", in(func(i *RouteInput) { i.Status = presence.DND; i.Forwarding = always; i.TargetExists = true }), dnd},
		{"dnd wins over forward unanswered", in(func(i *RouteInput) { i.Status = presence.DND; i.Forwarding = unans; i.TargetExists = true }), dnd},
		{"forward unanswered rings then forwards", in(func(i *RouteInput) { i.Status = presence.Available; i.Forwarding = unans; i.TargetExists = true }),
			with(ringAll, func(d *Decision) { d.OnTimeout = Forward; d.ForwardTo = "205"; d.Reason = NoReason })},
		{"forward unanswered without devices forwards now", RouteInput{Status: presence.Available, Forwarding: unans, TargetExists: true},
			Decision{Action: Forward, ForwardTo: "205"}},
		{"missing target ignored always", in(func(i *RouteInput) { i.Status = presence.Available; i.Forwarding = always }), ringAll},
		{"missing target ignored unanswered", in(func(i *RouteInput) { i.Status = presence.Available; i.Forwarding = unans }), ringAll},
		{"missing target no device voicemail", RouteInput{Status: presence.Available, Forwarding: always}, Decision{Action: ToVoicemail, Reason: ReasonNoDevice}},
		{"forward off rings", in(func(i *RouteInput) {
			i.Status = presence.Available
			i.Forwarding = Forwarding{Mode: ForwardOff}
			i.TargetExists = true
		}), ringAll},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Route(tt.in); got != tt.want {
				t.Errorf("Route(%+v)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
	if RingTimeout.Seconds() != 20 {
		t.Errorf("RingTimeout = %v, want 20s", RingTimeout)
	}
}

func TestForwardingValidate(t *testing.T) {
	t.Parallel()
	ok := []Forwarding{{Mode: ForwardOff, Target: "junk"}, {Mode: ForwardAlways, Target: "205"}, {Mode: ForwardUnanswered, Target: " 12345678 "}}
	for _, f := range ok {
		got, err := f.Validate()
		if err != nil {
			t.Errorf("%+v: %v", f, err)
		}
		if f.Mode == ForwardOff && got.Target != "" {
			t.Errorf("off keeps target %q", got.Target)
		}
	}
	bad := []Forwarding{{}, {Mode: "sometimes", Target: "205"}, {Mode: ForwardAlways}, {Mode: ForwardAlways, Target: "1"}, {Mode: ForwardUnanswered, Target: "+14155550101"}}
	for _, f := range bad {
		if _, err := f.Validate(); err == nil {
			t.Errorf("%+v: accepted", f)
		}
	}
}

func TestRingFor(t *testing.T) {
	d := Route(RouteInput{Status: presence.Available, Phones: true})
	if got := d.RingFor(0); got != RingTimeout {
		t.Errorf("RingFor(0) = %v, want %v", got, RingTimeout)
	}
	if got := d.RingFor(3 * time.Second); got != 3*time.Second {
		t.Errorf("RingFor(3s) = %v", got)
	}
	if got := (Decision{}).RingFor(0); got != RingTimeout {
		t.Errorf("a decision without a timeout rings %v", got)
	}
}
