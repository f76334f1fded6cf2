package admin_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/store"
	"vo/internal/storetest"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil))) // migration logs
	os.Exit(m.Run())
}

func TestCreateOrg(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := admin.CreateOrg(ctx, s, " acme ", "  Acme Inc ")
		if err != nil || o.Slug != "acme" || o.Name != "Acme Inc" {
			t.Fatalf("created %+v, %v", o, err)
		}
		for _, tc := range []struct {
			slug, name string
			code       apperr.Code
		}{
			{"acme", "Again", apperr.Conflict},
			{"Acme", "X", apperr.Invalid},
			{"a", "X", apperr.Invalid},
			{strings.Repeat("a", account.MaxSlugLen+1), "X", apperr.Invalid},
			{"-acme", "X", apperr.Invalid},
			{"beta", "", apperr.Invalid},
			{"beta", strings.Repeat("n", account.MaxNameLen+1), apperr.Invalid},
			{"beta", "Be\nta", apperr.Invalid},
		} {
			if _, err := admin.CreateOrg(ctx, s, tc.slug, tc.name); !apperr.Is(err, tc.code) {
				t.Errorf("CreateOrg(%q, %q) = %v, want %s", tc.slug, tc.name, err, tc.code)
			}
		}
		if _, err := s.OrgBySlug(ctx, "beta"); !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("a refused org was stored: %v", err)
		}
	})
}

// CreateUsers validates every row before storing any: a bad or repeated
// row is a *apperr.RowError naming it, and nothing is stored.
func TestCreateUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := admin.CreateOrg(ctx, s, "acme", "Acme Inc")
		if err != nil {
			t.Fatal(err)
		}
		good := func(name, email, ext string) account.NewUser {
			return account.NewUser{Name: name, Email: email, Extension: ext, Password: "long-enough-pw"}
		}
		for _, tc := range []struct {
			name  string
			third account.NewUser
			code  apperr.Code
			says  string
		}{
			{"bad email", good("Cy", "cy@", "103"), apperr.Invalid, "email"},
			{"short password", account.NewUser{Name: "Cy", Email: "cy@acme.test", Extension: "103", Password: "short"}, apperr.Invalid, "password"},
			{"bad extension", good("Cy", "cy@acme.test", "1"), apperr.Invalid, "extension"},
			{"bad number", account.NewUser{Name: "Cy", Email: "cy@acme.test", Extension: "103", PhoneNumber: "+0123", Password: "long-enough-pw"}, apperr.Invalid, "phone_number"},
			{"bad role", account.NewUser{Name: "Cy", Email: "cy@acme.test", Extension: "103", Role: "owner", Password: "long-enough-pw"}, apperr.Invalid, "role"},
			{"email of row 1 in another case", good("Cy", "ANN@acme.test", "103"), apperr.Conflict, "ann@acme.test"},
			{"extension of row 2", good("Cy", "cy@acme.test", "102"), apperr.Conflict, "102"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := admin.CreateUsers(ctx, s, o.ID, cheap, []account.NewUser{
					good("Ann Lee", "ann@acme.test", "101"), good("Ben Ortiz", "ben@acme.test", "102"), tc.third,
				})
				var re *apperr.RowError
				if !errors.As(err, &re) || re.Index != 2 || !apperr.Is(err, tc.code) || !strings.Contains(apperr.MessageOf(err), tc.says) {
					t.Fatalf("error %v; want a %s *apperr.RowError at index 2 naming %q", err, tc.code, tc.says)
				}
				if ids, _ := s.ActiveUserIDs(ctx, o.ID); len(ids) != 0 {
					t.Fatalf("%d users stored from a refused batch", len(ids))
				}
			})
		}
		us, err := admin.CreateUsers(ctx, s, o.ID, cheap, []account.NewUser{
			{Name: "  Ann Lee ", Email: " Ann@Acme.TEST ", Extension: " 101 ", PhoneNumber: " +14155550101 ", Role: "admin", Password: "long-enough-pw"},
		})
		if err != nil {
			t.Fatal(err)
		}
		u := us[0]
		if u.Name != "Ann Lee" || u.Email != "ann@acme.test" || u.Extension != "101" || u.PhoneNumber != "+14155550101" || u.Role != account.RoleAdmin {
			t.Fatalf("stored %+v: want trimmed, lower-cased fields", u)
		}
		if !account.CheckPassword(u.PasswordHash, "long-enough-pw") || strings.Contains(u.PasswordHash, "long-enough-pw") {
			t.Fatalf("password hash %q", u.PasswordHash)
		}
	})
}

// ImportCSV names the file line of a refused row, counting the header and
// the lines a quoted field spans; a refused file stores nobody.
func TestImportCSV(t *testing.T) {
	t.Parallel()
	const header = "name,email,extension,phone_number,role,password\n"
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, err := admin.CreateOrg(ctx, s, "acme", "Acme Inc")
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name, csv string
			says      string // "" means imported
			n         int
			also      string // the message names this too
		}{
			{"bad email on line 3", header + "Ann,ann@acme.test,101,,,long-enough-pw\nBen,ben@,102,,,long-enough-pw\n", "line 3:", 0, ""},
			{"CRLF line endings", strings.ReplaceAll(header+"Ann,ann@acme.test,101,,,long-enough-pw\nBen,ben@,102,,,long-enough-pw\n", "\n", "\r\n"), "line 3:", 0, ""},
			{"after a quoted field of three lines", header + "\"Ann\",ann@acme.test,101,,,\"long\nenough\npw\"\nBen,ben@,102,,,long-enough-pw\n", "line 5:", 0, ""},
			{"a stray quote", header + "Ann,ann@acme.test,101,,,long-enough-pw\nBen \"B\" O,ben@acme.test,102,,,long-enough-pw\n", "line 3:", 0, ""},
			{"extra field", header + "Ann,ann@acme.test,101,,,long-enough-pw,extra\n", "line 2:", 0, ""},
			{"header in another order", "email,name,extension,phone_number,role,password\n", "line 1:", 0, ""},
			{"duplicate email names both lines", header + "Ann,ann@acme.test,101,,,long-enough-pw\nBen,ben@acme.test,102,,,long-enough-pw\nAnn Two,ANN@acme.test,103,,,long-enough-pw\n", "line 4:", 0, "line 2"},
			{"good, with a BOM", "\ufeff" + header + "Ann,ann@acme.test,101,+14155550101,admin,long-enough-pw\nBen,ben@acme.test,102,,,long-enough-pw\n", "", 2, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				us, err := importCSV(t, s, o.ID, tc.csv)
				if tc.says == "" {
					if err != nil || len(us) != tc.n {
						t.Fatalf("imported %d, %v; want %d", len(us), err, tc.n)
					}
					return
				}
				if err == nil || !strings.HasPrefix(apperr.MessageOf(err), tc.says) || strings.Contains(err.Error(), "\n") {
					t.Fatalf("error %v; want one line starting %q", err, tc.says)
				}
				if !strings.Contains(apperr.MessageOf(err), tc.also) {
					t.Errorf("error %q should also name %q, where the file has it first", apperr.MessageOf(err), tc.also)
				}
				if ids, _ := s.ActiveUserIDs(ctx, o.ID); len(ids) != 0 {
					t.Fatalf("%d users stored from a refused file", len(ids))
				}
			})
		}
	})
}

// importCSV runs ImportCSV, turning a panic into a test failure so that
// the other cases still run.
func importCSV(t *testing.T, s *store.Store, orgID, csv string) (us []account.User, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("ImportCSV panicked: %v", r)
		}
	}()
	return admin.ImportCSV(context.Background(), s, orgID, cheap, strings.NewReader(csv))
}
