package wire

import (
	"encoding/json"
	"fmt"

	"vo/internal/account"
	"vo/internal/events"
	"vo/internal/presence"
)

// The data of SPEC §5's events, beside the type and cursor every frame
// has. A presence event's data is a PresenceItem, a me.presence event's a
// Presence.

// ContactData is a contact event announcing a new or changed colleague.
type ContactData struct {
	User Contact `json:"user"`
}

// ContactRemovedData is a contact event announcing a colleague gone.
type ContactRemovedData struct {
	Removed bool   `json:"removed"`
	UserID  string `json:"user_id"`
}

// SessionEndedData tells a session that it ended.
type SessionEndedData struct {
	SessionID string `json:"session_id"`
}

// The events below are what the domain hands the store to log: rendered
// here once, stored and sent as they are.

// PresenceEvents announce a user's new presence: presence, what others
// see, to the org; me.presence, their own view, to the user.
func PresenceEvents(orgID, userID string, st presence.State, shown presence.Shown) ([]events.Event, error) {
	pub, err := encode(PresenceItem{UserID: userID, ContactPresence: PublicPresence(st, shown)})
	if err != nil {
		return nil, err
	}
	own, err := encode(OwnPresence(st, shown))
	if err != nil {
		return nil, err
	}
	return []events.Event{
		events.ToOrg(orgID, events.TypePresence, pub),
		events.ToUsers(orgID, events.TypeMePresence, own, userID),
	}, nil
}

// ContactChanged announces a new or changed colleague to their org, with
// what others see of their presence.
func ContactChanged(u account.User, st presence.State, shown presence.Shown) (events.Event, error) {
	b, err := encode(ContactData{User: ContactOf(u, PublicPresence(st, shown))})
	return events.ToOrg(u.OrgID, events.TypeContact, b), err
}

// ContactRemoved tells the org that a colleague is gone.
func ContactRemoved(orgID, userID string) (events.Event, error) {
	b, err := encode(ContactRemovedData{Removed: true, UserID: userID})
	return events.ToOrg(orgID, events.TypeContact, b), err
}

// SessionEnded tells one session of a user that it ended.
func SessionEnded(orgID, userID, sessionID string) (events.Event, error) {
	b, err := encode(SessionEndedData{SessionID: sessionID})
	return events.ToSession(orgID, userID, sessionID, events.TypeSessionEnded, b), err
}

func encode(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("wire: encode event: %w", err)
	}
	return b, nil
}
