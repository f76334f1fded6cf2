// Package demo creates, once, an org of colleagues anyone can log in as.
package demo

import (
	"context"
	"fmt"
	"strings"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/chat"
)

// Slug, Password and Admin are what `vo serve --demo` prints.
const (
	Slug     = "demo"
	Password = "demo-password"
	Admin    = "ann@demo.test"
)

var people = []string{
	"Ann Lee", "Ben Ortiz", "Chloe Nguyen", "Dev Patel", "Eva Fischer", "Farid Haddad",
	"Grace Kim", "Hugo Martin", "Isla Brown", "Jonas Berg", "Keiko Tanaka", "Liam Walsh",
}

// Store is what seeding needs of the database; *store.Store is one.
type Store interface {
	admin.Store
	chat.Store
	OrgBySlug(ctx context.Context, slug string) (account.Org, error)
	ActiveUserIDs(ctx context.Context, orgID string) ([]string, error)
	UserByEmail(ctx context.Context, email string) (account.User, error)
}

// Seed creates the demo org unless it exists. It reports whether it did.
func Seed(ctx context.Context, s Store, params account.HashParams) (bool, error) {
	org, err := s.OrgBySlug(ctx, Slug)
	switch {
	case apperr.Is(err, apperr.NotFound):
		if org, err = admin.CreateOrg(ctx, s, Slug, "Demo Co"); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	default:
		// The org exists: seeded already, unless a crash came between the
		// org and its people.
		ids, err := s.ActiveUserIDs(ctx, org.ID)
		if err != nil {
			return false, err
		}
		if len(ids) > 0 {
			return false, seedChat(ctx, s, org.ID)
		}
	}
	users := make([]account.NewUser, len(people))
	for i, name := range people {
		first := strings.ToLower(strings.Fields(name)[0])
		role := account.RoleMember
		if i == 0 {
			role = account.RoleAdmin
		}
		users[i] = account.NewUser{Name: name, Email: first + "@demo.test", Extension: fmt.Sprint(101 + i),
			PhoneNumber: fmt.Sprintf("+14155550%d", 101+i), Role: role, Password: Password}
	}
	if _, err := admin.CreateUsers(ctx, s, org.ID, params, users); err != nil {
		return false, err
	}
	return true, seedChat(ctx, s, org.ID)
}

// demoGroup is the name of the demo's group chat.
const demoGroup = "Launch plan"

// seedChat gives Ann a 1:1 chat with Ben and a group with Ben, Chloe and
// Dev, with a few messages each. Every step finds what an earlier run made
// (the pair's 1:1 chat, the group by its name, each message by its
// client_id), so a run cut short is finished by the next.
func seedChat(ctx context.Context, s Store, orgID string) error {
	byName := map[string]string{}
	for _, first := range []string{"ann", "ben", "chloe", "dev"} {
		u, err := s.UserByEmail(ctx, first+"@demo.test")
		if err != nil {
			return err
		}
		byName[first] = u.ID
	}
	ann := byName["ann"]
	kind, ids, err := chat.Members(ann, []string{byName["ben"]}, "")
	if err != nil {
		return err
	}
	direct, _, err := s.CreateConversation(ctx, orgID, ann, kind, "", ids)
	if err != nil {
		return err
	}
	convs, _, err := s.Conversations(ctx, orgID, ann, 200, "")
	if err != nil {
		return err
	}
	var group chat.Conversation
	for _, c := range convs {
		if c.Kind == chat.Group && c.Name == demoGroup {
			group = c
		}
	}
	if group.ID == "" {
		kind, ids, err := chat.Members(ann, []string{byName["ben"], byName["chloe"], byName["dev"]}, demoGroup)
		if err != nil {
			return err
		}
		if group, _, err = s.CreateConversation(ctx, orgID, ann, kind, demoGroup, ids); err != nil {
			return err
		}
	}
	for i, m := range []struct{ conv, from, text string }{
		{direct.ID, "ben", "Morning Ann! Do you have a minute for the budget review?"},
		{direct.ID, "ann", "Sure, after standup. Call me on 101."},
		{direct.ID, "ben", "Great, thanks 👍"},
		{group.ID, "ann", "Welcome to the launch plan. The draft is ready for comments."},
		{group.ID, "chloe", "@Ann Lee looks good; I will add the press dates."},
		{group.ID, "dev", "The demo build is up.\nTry it and tell me what breaks."},
	} {
		if _, _, err := s.SendMessage(ctx, orgID, byName[m.from], m.conv, chat.NewMessage{ClientID: fmt.Sprintf("demo-%d", i+1), Text: m.text}); err != nil {
			return err
		}
	}
	return nil
}
