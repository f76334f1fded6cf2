// Package directory is who is in the org: the caller's own record, their
// colleagues page by page or one by one, each with the presence others
// see. It decides what a caller may look up (their own org, never
// another's); the store finds the rows.
package directory

import (
	"context"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/page"
	"vo/internal/presence"
)

// Store is what the directory needs of the database; *store.Store is one.
type Store interface {
	OrgByID(ctx context.Context, id string) (account.Org, error)
	// Presence returns NotFound for a user not active in the org.
	Presence(ctx context.Context, orgID, userID string) (presence.Row, error)
	// Directory returns a page of the org's active users sorted by name,
	// and the cursor of the next page ("" after the last); Invalid for a
	// cursor it did not give.
	Directory(ctx context.Context, orgID, query string, limit int, cursor string) ([]account.User, string, error)
	// UserByID returns NotFound for a user not active in the org.
	UserByID(ctx context.Context, orgID, id string) (account.User, error)
	PresenceFor(ctx context.Context, orgID string, ids []string) (map[string]presence.Row, error)
}

// Service answers directory questions.
type Service struct{ store Store }

// New returns a directory on s.
func New(s Store) *Service { return &Service{store: s} }

// Entry is a colleague with their presence.
type Entry struct {
	User     account.User
	Presence presence.Row
}

// Me is a user's own view of themselves: their record, their org, and
// their own presence (the chosen status included).
type Me struct {
	User     account.User
	Org      account.Org
	Presence presence.Row
}

// MaxQueryLen bounds a directory query; pages are bounded as every list
// is (package page).
const MaxQueryLen = 200

// Me returns u's own view. u is the caller, as authenticated or as just
// changed (a new photo).
func (s *Service) Me(ctx context.Context, u account.User) (Me, error) {
	o, err := s.store.OrgByID(ctx, u.OrgID)
	if err != nil {
		return Me{}, err
	}
	p, err := s.store.Presence(ctx, u.OrgID, u.ID)
	if err != nil {
		return Me{}, err
	}
	return Me{User: u, Org: o, Presence: p}, nil
}

// Search returns a page of the caller's org: everyone whose name (or a
// word of it), email, extension or number starts with query, or everyone
// when query is empty. Invalid for a query over MaxQueryLen bytes, a limit
// outside 1..page.MaxLimit, or a cursor this server did not give.
func (s *Service) Search(ctx context.Context, by account.Auth, query string, limit int, cursor string) (entries []Entry, next string, err error) {
	if len(query) > MaxQueryLen {
		return nil, "", apperr.New(apperr.Invalid, "q must be at most %d characters", MaxQueryLen)
	}
	if err := page.Check(limit); err != nil {
		return nil, "", err
	}
	users, next, err := s.store.Directory(ctx, by.User.OrgID, query, limit, cursor)
	if err != nil {
		return nil, "", err
	}
	entries, err = s.Entries(ctx, by.User.OrgID, users)
	return entries, next, err
}

// User returns one colleague of the caller. NotFound for anyone not active
// in the caller's org, another org's user included.
func (s *Service) User(ctx context.Context, by account.Auth, id string) (Entry, error) {
	u, err := s.store.UserByID(ctx, by.User.OrgID, id)
	if err != nil {
		return Entry{}, err
	}
	es, err := s.Entries(ctx, by.User.OrgID, []account.User{u})
	if err != nil {
		return Entry{}, err
	}
	return es[0], nil
}

// Entries gives users of the org their presence, in the same order. A user
// without presence (gone meanwhile) has a zero one.
func (s *Service) Entries(ctx context.Context, orgID string, users []account.User) ([]Entry, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = u.ID
	}
	ps, err := s.store.PresenceFor(ctx, orgID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(users))
	for i, u := range users {
		out[i] = Entry{User: u, Presence: ps[u.ID]}
	}
	return out, nil
}
