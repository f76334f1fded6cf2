package admin_test

import (
	"context"
	"testing"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/store"
	"vo/internal/storetest"
)

// The admin service decides who may: a member is refused before anything
// is looked at, and an admin reaches their own org only.
func TestServiceAuthorizes(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		acme, _ := admin.CreateOrg(ctx, s, "acme", "Acme Inc")
		globex, _ := admin.CreateOrg(ctx, s, "globex", "Globex")
		us, err := admin.CreateUsers(ctx, s, acme.ID, cheap, []account.NewUser{
			{Name: "Ann Lee", Email: "ann@acme.test", Extension: "101", Role: account.RoleAdmin, Password: "long-enough-pw"},
			{Name: "Bob Stone", Email: "bob@acme.test", Extension: "102", Password: "long-enough-pw"},
		})
		if err != nil {
			t.Fatal(err)
		}
		gs, err := admin.CreateUsers(ctx, s, globex.ID, cheap, []account.NewUser{{Name: "Olga", Email: "olga@globex.test", Extension: "101", Password: "long-enough-pw"}})
		if err != nil {
			t.Fatal(err)
		}
		ann, bob, olga := account.Auth{User: us[0]}, account.Auth{User: us[1]}, gs[0]
		svc := admin.NewService(s, cheap)
		dora := account.NewUser{Name: "Dora Diaz", Email: "dora@acme.test", Extension: "103", Password: "long-enough-pw"}

		if _, err := svc.AddUser(ctx, bob, dora); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("a member's AddUser = %v, want forbidden", err)
		}
		if _, err := svc.AddUser(ctx, bob, account.NewUser{}); !apperr.Is(err, apperr.Forbidden) {
			t.Errorf("a member's AddUser of nothing = %v, want forbidden before invalid", err)
		}
		for _, id := range []string{ann.User.ID, olga.ID, "u_nosuchuser"} {
			if err := svc.Deactivate(ctx, bob, id); !apperr.Is(err, apperr.Forbidden) {
				t.Errorf("a member's Deactivate(%s) = %v, want forbidden", id, err)
			}
		}
		if ids, _ := s.ActiveUserIDs(ctx, acme.ID); len(ids) != 2 {
			t.Fatalf("acme has %d users after refusals, want 2", len(ids))
		}

		d, err := svc.AddUser(ctx, ann, dora)
		if err != nil || d.OrgID != acme.ID || d.Role != account.RoleMember {
			t.Fatalf("AddUser by an admin = %+v, %v", d, err)
		}
		if _, err := svc.AddUser(ctx, ann, dora); !apperr.Is(err, apperr.Conflict) {
			t.Errorf("adding Dora again = %v, want conflict", err)
		}
		if err := svc.Deactivate(ctx, ann, olga.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("deactivating another org's user = %v, want not_found", err)
		}
		if _, err := s.UserByID(ctx, globex.ID, olga.ID); err != nil {
			t.Errorf("olga after a refused deactivation: %v", err)
		}
		if err := svc.Deactivate(ctx, ann, d.ID); err != nil {
			t.Fatal(err)
		}
		if err := svc.Deactivate(ctx, ann, d.ID); !apperr.Is(err, apperr.NotFound) {
			t.Errorf("deactivating twice = %v, want not_found", err)
		}
	})
}
