package wire_test

import (
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/events"
	"vo/internal/presence"
	"vo/internal/wire"
)

// The events' frames are SPEC §5's, byte for byte: clients and the stored
// log depend on them.
func TestEventFrames(t *testing.T) {
	until := time.Date(2030, time.January, 7, 17, 0, 0, 0, time.UTC)
	st := presence.State{Status: presence.Busy, StatusUntil: until, Message: "in a call", Activity: presence.OnCall, Version: 7}
	u := account.User{ID: "u_ann", OrgID: "o_acme", Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", PhoneNumber: "+14155550101", PhotoHash: "abc"}
	at := events.Position{Org: 3, User: 2}

	pe, err := wire.PresenceEvents("o_acme", "u_ann", st, presence.ShownBusy)
	if err != nil || len(pe) != 2 {
		t.Fatalf("PresenceEvents = %v, %v", pe, err)
	}
	contact, err := wire.ContactChanged(u, st, presence.ShownBusy)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := wire.ContactRemoved("o_acme", "u_bob")
	if err != nil {
		t.Fatal(err)
	}
	ended, err := wire.SessionEnded("o_acme", "u_ann", "s_1")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		e        events.Event
		orgWide  bool
		audience []string
		session  string
		frame    string
	}{
		{"presence", pe[0], true, nil, "",
			`{"type":"presence","cursor":"5.3.2","user_id":"u_ann","shown":"busy","activity":"on_call","message":"in a call","version":7}`},
		{"me.presence", pe[1], false, []string{"u_ann"}, "",
			`{"type":"me.presence","cursor":"5.3.2","status":"busy","status_until":"2030-01-07T17:00:00Z","message":"in a call","message_expires_at":null,"shown":"busy","activity":"on_call","version":7}`},
		{"contact", contact, true, nil, "",
			`{"type":"contact","cursor":"5.3.2","user":{"id":"u_ann","name":"Ann Lee","email":"ann@acme.test","extension":"101","phone_number":"+14155550101","photo_url":"/api/v1/users/u_ann/photo?v=abc","presence":{"shown":"busy","activity":"on_call","message":"in a call","version":7}}}`},
		{"contact removed", removed, true, nil, "",
			`{"type":"contact","cursor":"5.3.2","removed":true,"user_id":"u_bob"}`},
		{"session.ended", ended, false, []string{"u_ann"}, "s_1",
			`{"type":"session.ended","cursor":"5.3.2","session_id":"s_1"}`},
	} {
		if tc.e.OrgID != "o_acme" || tc.e.OrgWide() != tc.orgWide || tc.e.SessionID != tc.session || len(tc.e.Audience) != len(tc.audience) ||
			len(tc.audience) > 0 && tc.e.Audience[0] != tc.audience[0] {
			t.Errorf("%s: event %+v, want org-wide %v, audience %v, session %q", tc.name, tc.e, tc.orgWide, tc.audience, tc.session)
		}
		if got := string(tc.e.Frame(at)); got != tc.frame {
			t.Errorf("%s frame\n got %s\nwant %s", tc.name, got, tc.frame)
		}
	}
}
