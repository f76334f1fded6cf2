// Package admin provisions organizations and people: the work behind
// `vo admin` and the admin endpoints. Every batch is all or nothing.
package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"vo/internal/account"
	"vo/internal/apperr"
)

// Store is what provisioning needs of the database.
type Store interface {
	CreateOrg(ctx context.Context, slug, name string) (account.Org, error)
	CreateUsers(ctx context.Context, orgID string, in []account.HashedUser) ([]account.User, error)
}

// CreateOrg validates and adds an org.
func CreateOrg(ctx context.Context, s Store, slug, name string) (account.Org, error) {
	slug = strings.TrimSpace(slug)
	if err := account.ValidateSlug(slug); err != nil {
		return account.Org{}, err
	}
	name, err := account.NormalizeName(name)
	if err != nil {
		return account.Org{}, apperr.New(apperr.Invalid, "org name must be 1 to %d printable characters", account.MaxNameLen)
	}
	return s.CreateOrg(ctx, slug, name)
}

// CreateUsers validates every user, hashes their passwords and adds them
// all in one transaction, or none. A refusal is a *apperr.RowError naming
// the input (0-based) when there is more than one.
func CreateUsers(ctx context.Context, s Store, orgID string, params account.HashParams, in []account.NewUser) ([]account.User, error) {
	return createUsers(ctx, s, orgID, params, in, func(i int) string { return fmt.Sprintf("row %d", i+1) })
}

// createUsers is CreateUsers naming input i as where(i) when two inputs clash.
func createUsers(ctx context.Context, s Store, orgID string, params account.HashParams, in []account.NewUser, where func(int) string) ([]account.User, error) {
	rows := make([]account.HashedUser, len(in))
	seen := map[string]int{}
	for i, n := range in {
		n, err := n.Normalize()
		if err != nil {
			return nil, &apperr.RowError{Index: i, Err: err}
		}
		for _, k := range []string{"email " + n.Email, "extension " + n.Extension, "phone number " + n.PhoneNumber} {
			if strings.HasSuffix(k, " ") {
				continue
			}
			if j, dup := seen[k]; dup {
				return nil, &apperr.RowError{Index: i, Err: apperr.New(apperr.Conflict, "%s is also on %s", k, where(j))}
			}
			seen[k] = i
		}
		h, err := account.HashPassword(n.Password, params)
		if err != nil {
			return nil, fmt.Errorf("admin: hash password: %w", err)
		}
		n.Password = ""
		rows[i] = account.HashedUser{NewUser: n, PasswordHash: h}
	}
	return s.CreateUsers(ctx, orgID, rows)
}

// CSVHeader is the header an import file must start with.
var CSVHeader = []string{"name", "email", "extension", "phone_number", "role", "password"}

// MaxImportRows bounds one import file.
const MaxImportRows = 50_000

// ImportCSV adds every user of a CSV file, or none. An error names the
// line of the file (1-based, the header being line 1).
func ImportCSV(ctx context.Context, s Store, orgID string, params account.HashParams, r io.Reader) ([]account.User, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(CSVHeader)
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "line 1: expected the header %s", strings.Join(CSVHeader, ","))
	}
	for i, h := range CSVHeader {
		if strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff")) != h {
			return nil, apperr.New(apperr.Invalid, "line 1: expected the header %s", strings.Join(CSVHeader, ","))
		}
	}
	var in []account.NewUser
	var lines []int
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, apperr.New(apperr.Invalid, "line %d: %v", pe.Line, pe.Err)
			}
			return nil, fmt.Errorf("admin: read CSV: %w", err)
		}
		line, _ := cr.FieldPos(0) // only valid for a record Read returned
		if len(in) >= MaxImportRows {
			return nil, apperr.New(apperr.Invalid, "line %d: at most %d users per file", line, MaxImportRows)
		}
		in = append(in, account.NewUser{Name: rec[0], Email: rec[1], Extension: rec[2], PhoneNumber: rec[3], Role: account.Role(strings.TrimSpace(rec[4])), Password: rec[5]})
		lines = append(lines, line)
	}
	if len(in) == 0 {
		return nil, apperr.New(apperr.Invalid, "the file has no users")
	}
	users, err := createUsers(ctx, s, orgID, params, in, func(i int) string { return fmt.Sprintf("line %d", lines[i]) })
	var re *apperr.RowError
	if errors.As(err, &re) {
		return nil, &apperr.Error{Code: apperr.CodeOf(re.Err), Message: fmt.Sprintf("line %d: %s", lines[re.Index], apperr.MessageOf(re.Err))}
	}
	return users, err
}

// ServiceStore is what the admin endpoints need of the database;
// *store.Store is one.
type ServiceStore interface {
	Store
	// DeactivateUser returns the ids of the sessions it ended; NotFound
	// for a user not active in the org.
	DeactivateUser(ctx context.Context, orgID, id string) ([]string, error)
}

// Service is what an org's admins do through the API, in their own org
// only. It decides who may: every method returns Forbidden for a caller
// who is not an admin, before it looks at anything else, so a member
// learns nothing of the ids or input they send.
type Service struct {
	store  ServiceStore
	params account.HashParams
}

// NewService returns the admin service; new passwords are hashed with params.
func NewService(s ServiceStore, params account.HashParams) *Service {
	return &Service{store: s, params: params}
}

// authorize refuses a caller who is not an admin of their org.
func authorize(by account.Auth, what string) error {
	if by.User.Role != account.RoleAdmin {
		return apperr.New(apperr.Forbidden, "only an admin may %s", what)
	}
	return nil
}

// AddUser adds one user to the caller's org. Forbidden for a member;
// Invalid for a user breaking SPEC §1; Conflict for a taken email,
// extension or number.
func (s *Service) AddUser(ctx context.Context, by account.Auth, in account.NewUser) (account.User, error) {
	if err := authorize(by, "add users"); err != nil {
		return account.User{}, err
	}
	users, err := CreateUsers(ctx, s.store, by.User.OrgID, s.params, []account.NewUser{in})
	if err != nil {
		return account.User{}, err
	}
	return users[0], nil
}

// Deactivate deactivates a user of the caller's org and ends their
// sessions. Forbidden for a member (whatever the id); NotFound for anyone
// not active in the caller's org, another org's user included.
func (s *Service) Deactivate(ctx context.Context, by account.Auth, userID string) error {
	if err := authorize(by, "deactivate users"); err != nil {
		return err
	}
	_, err := s.store.DeactivateUser(ctx, by.User.OrgID, userID)
	return err
}
