// Package demo creates, once, an org of colleagues anyone can log in as.
package demo

import (
	"context"
	"fmt"
	"strings"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
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
	OrgBySlug(ctx context.Context, slug string) (account.Org, error)
	ActiveUserIDs(ctx context.Context, orgID string) ([]string, error)
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
		if err != nil || len(ids) > 0 {
			return false, err
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
	return true, nil
}
