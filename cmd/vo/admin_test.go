package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
)

const pw = "long-enough-pw\n" // as `echo` would pipe it

func TestAdminOrgCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
	if !strings.HasPrefix(out, "created org acme (o_") {
		t.Fatalf("stdout %q", out)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		contains string
	}{
		{"slug taken", []string{"--slug", "acme", "--name", "Acme Again"}, "conflict"},
		{"upper-case slug", []string{"--slug", "Acme", "--name", "X"}, "slug must be"},
		{"slug with a space", []string{"--slug", "ac me", "--name", "X"}, "slug must be"},
		{"slug with a newline", []string{"--slug", "ac\nme", "--name", "X"}, "slug must be"},
		{"slug ending in a hyphen", []string{"--slug", "acme-", "--name", "X"}, "slug must be"},
		{"no slug", []string{"--name", "X"}, "slug must be"},
		{"no name", []string{"--slug", "beta"}, "name must be"},
		{"name with a control character", []string{"--slug", "beta", "--name", "Be\x07ta"}, "name must be"},
		{"unknown flag", []string{"--slug", "beta", "--name", "Beta", "--bogus"}, "bogus"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vo(t, dir, "", append([]string{"admin", "org", "create"}, tc.args...)...)
			wantOneLine(t, err, tc.contains)
		})
	}
	st := openStore(t, dir)
	if o, err := st.OrgBySlug(context.Background(), "acme"); err != nil || o.Name != "Acme Inc" {
		t.Fatalf("org %+v, %v", o, err)
	}
	if _, err := st.OrgBySlug(context.Background(), "beta"); err == nil {
		t.Fatal("a refused org was stored")
	}
}

func TestAdminUserCreate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
	mustVO(t, dir, "", "admin", "org", "create", "--slug", "beta", "--name", "Beta")
	out := mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "Ann@Acme.test", "--name", " Ann Lee ",
		"--extension", "101", "--number", "+14155550101", "--role", "admin", "--password-stdin")
	if !strings.HasPrefix(out, "created user Ann Lee <ann@acme.test> ext 101 (u_") {
		t.Fatalf("stdout %q", out)
	}
	mustVO(t, dir, "another-password", "admin", "user", "create", "--org", "beta", "--email", "bo@beta.test", "--name", "Bo",
		"--extension", "101", "--password-stdin") // the same extension in another org

	base := []string{"admin", "user", "create", "--org", "acme", "--email", "ben@acme.test", "--name", "Ben Ortiz", "--extension", "102", "--password-stdin"}
	with := func(flag, value string) []string {
		args := append([]string{}, base...)
		for i, a := range args {
			if a == flag {
				args[i+1] = value
				return args
			}
		}
		return append(args, flag, value)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		stdin    string
		contains string
	}{
		{"bad email", with("--email", "ben@"), pw, "email"},
		{"email with a newline", with("--email", "ben@acme.test\nx"), pw, "email"},
		{"taken email, other case", with("--email", "ANN@acme.test"), pw, "conflict"},
		{"short password", base, "too-short\n", "at least 10"},
		{"empty password", base, "", "at least 10"},
		{"one-digit extension", with("--extension", "1"), pw, "extension must be 2 to 8 digits"},
		{"extension with letters", with("--extension", "10a"), pw, "extension must be 2 to 8 digits"},
		{"nine-digit extension", with("--extension", "123456789"), pw, "extension must be 2 to 8 digits"},
		{"taken extension", with("--extension", "101"), pw, "extension 101 is already taken"},
		{"taken number", with("--number", "+14155550101"), pw, "phone number +14155550101 is already taken"},
		{"bad number", with("--number", "4155550102"), pw, "E.164"},
		{"bad role", with("--role", "root"), pw, "role must be"},
		{"unknown org", with("--org", "nope"), pw, "no org has slug nope"},
		{"no org", with("--org", ""), pw, "--org"},
		{"password not from stdin", base[:len(base)-1], pw, "--password-stdin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vo(t, dir, tc.stdin, tc.args...)
			wantOneLine(t, err, tc.contains)
		})
	}

	us := people(t, dir, "acme")
	if len(us) != 1 {
		t.Fatalf("acme has %d people after refusals, want 1", len(us))
	}
	ann := us[0]
	if ann.Name != "Ann Lee" || ann.Email != "ann@acme.test" || ann.Role != account.RoleAdmin || ann.Extension != "101" || ann.PhoneNumber != "+14155550101" {
		t.Fatalf("stored %+v", ann)
	}
	if !account.CheckPassword(ann.PasswordHash, "long-enough-pw") {
		t.Fatal("the password is not the one piped in (without its newline)")
	}
	if !strings.HasPrefix(ann.PasswordHash, "$argon2id$") {
		t.Fatalf("password stored as %q", ann.PasswordHash)
	}
}

func TestAdminUserImport(t *testing.T) {
	t.Parallel()
	header := "name,email,extension,phone_number,role,password\n"
	for _, tc := range []struct {
		name     string
		csv      string
		imported int
		contains string // in the one-line error
	}{
		{"good file", "\ufeff" + header +
			"Ann Lee,ann@acme.test,101,+14155550101,admin,long-enough-pw\n" +
			"\"Ortiz, Ben\",ben@acme.test,102,,member,long-enough-pw\n" +
			"Chloe Nguyen,chloe@acme.test,103,,,\"multi\nline password\"\n" +
			"Dev Patel,DEV@acme.test,104,+14155550104,,long-enough-pw\n", 4, ""},
		{"line 4 bad", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n" +
			"Chloe Nguyen,chloe@,103,,,long-enough-pw\n" +
			"Dev Patel,dev@acme.test,104,,,long-enough-pw\n", 0, "line 4"},
		{"line 4 bad after a field of two lines", header +
			"Ann Lee,ann@acme.test,101,,admin,\"long-enough\npw\"\n" +
			"Chloe Nguyen,chloe@acme.test,1,,,long-enough-pw\n", 0, "line 4"},
		{"line 4 short password", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n" +
			"Chloe Nguyen,chloe@acme.test,103,,,short\n", 0, "line 4"},
		{"line 4 repeats an extension of the file", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n" +
			"Chloe Nguyen,chloe@acme.test,101,,,long-enough-pw\n", 0, "line 4"},
		{"line 4 takes a stored extension", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n" +
			"Chloe Nguyen,chloe@acme.test,900,,,long-enough-pw\n", 0, "line 4: extension 900 is already taken"},
		{"line 4 has too few fields", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben Ortiz,ben@acme.test,102,,,long-enough-pw\n" +
			"Chloe Nguyen,chloe@acme.test,103\n", 0, "line 4"},
		{"line 3 has a stray quote", header +
			"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n" +
			"Ben \"B\" Ortiz,ben@acme.test,102,,,long-enough-pw\n", 0, "line 3"},
		{"wrong header", "name,email,ext,phone_number,role,password\nAnn Lee,ann@acme.test,101,,admin,long-enough-pw\n", 0, "line 1"},
		{"short header", "name,email\nAnn Lee,ann@acme.test\n", 0, "line 1"},
		{"empty file", "", 0, "line 1"},
		{"header only", header, 0, "no users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
			mustVO(t, dir, "long-enough-pw", "admin", "user", "create", "--org", "acme", "--email", "zed@acme.test", "--name", "Zed",
				"--extension", "900", "--password-stdin")
			file := filepath.Join(t.TempDir(), "users.csv")
			if err := os.WriteFile(file, []byte(tc.csv), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := vo(t, dir, "", "admin", "user", "import", "--org", "acme", file)
			if tc.contains == "" {
				if err != nil || out != "imported 4 users into acme\n" {
					t.Fatalf("import: %q, %v", out, err)
				}
			} else {
				wantOneLine(t, err, tc.contains)
			}
			if n := len(people(t, dir, "acme")); n != 1+tc.imported {
				t.Fatalf("acme has %d people, want %d", n, 1+tc.imported)
			}
		})
	}
	t.Run("unknown org", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		file := filepath.Join(dir, "users.csv")
		os.WriteFile(file, []byte(header+"Ann Lee,ann@acme.test,101,,admin,long-enough-pw\n"), 0o600)
		_, err := vo(t, dir, "", "admin", "user", "import", "--org", "nope", file)
		wantOneLine(t, err, "no org has slug nope")
	})
	t.Run("missing file", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
		_, err := vo(t, dir, "", "admin", "user", "import", "--org", "acme", filepath.Join(dir, "nope.csv"))
		wantOneLine(t, err, "nope.csv")
	})
}

func TestAdminUserDeactivate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
	mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann Lee", "--extension", "101", "--password-stdin")
	mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "ben@acme.test", "--name", "Ben Ortiz", "--extension", "102", "--password-stdin")

	// Ann is logged in on two devices.
	func() {
		st := openStore(t, dir)
		defer st.Close()
		ann, err := st.UserByEmail(context.Background(), "ann@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, id := range []string{account.NewID("s"), account.NewID("s")} {
			if err := st.CreateSession(context.Background(), account.Session{ID: id, UserID: ann.ID, OrgID: ann.OrgID, DeviceName: "x",
				Platform: account.PlatformWeb, CreatedAt: now, LastSeenAt: now}, "tok-"+id, "csrf-"+id); err != nil {
				t.Fatal(err)
			}
		}
	}()

	out := mustVO(t, dir, "", "admin", "user", "deactivate", "--email", "ANN@acme.test")
	if out != "deactivated ann@acme.test; 2 sessions ended\n" {
		t.Fatalf("stdout %q", out)
	}
	for _, tc := range []struct {
		name, email, contains string
	}{
		{"already deactivated", "ann@acme.test", "no active user has email ann@acme.test"},
		{"unknown", "nobody@acme.test", "no active user has email"},
		{"bad email", "ann", "email"},
		{"no email", "", "email"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vo(t, dir, "", "admin", "user", "deactivate", "--email", tc.email)
			wantOneLine(t, err, tc.contains)
		})
	}
	us := people(t, dir, "acme")
	if len(us) != 1 || us[0].Email != "ben@acme.test" {
		t.Fatalf("acme after deactivating ann: %+v", us)
	}
	// Her email and extension can go to someone new.
	mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann Park", "--extension", "101", "--password-stdin")
}

// An admin resets a password: the new one logs in (argon2id), the old one
// no longer does; bad input changes nothing.
func TestAdminUserSetPassword(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
	mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann Lee", "--extension", "101", "--password-stdin")
	hash := func() string {
		st := openStore(t, dir)
		defer st.Close()
		u, err := st.UserByEmail(context.Background(), "ann@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		return u.PasswordHash
	}
	before := hash()
	for _, tc := range []struct {
		name, stdin, contains string
		args                  []string
	}{
		{"no --password-stdin", "a new passphrase\n", "password-stdin", []string{"--email", "ann@acme.test"}},
		{"a short password", "123456789\n", "at least 10", []string{"--email", "ann@acme.test", "--password-stdin"}},
		{"unknown email", "a new passphrase\n", "no active user has email", []string{"--email", "nobody@acme.test", "--password-stdin"}},
		{"bad email", "a new passphrase\n", "email", []string{"--email", "ann", "--password-stdin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vo(t, dir, tc.stdin, append([]string{"admin", "user", "set-password"}, tc.args...)...)
			wantOneLine(t, err, tc.contains)
		})
	}
	if hash() != before {
		t.Fatal("a refused reset changed the hash")
	}
	out := mustVO(t, dir, "a new passphrase\n", "admin", "user", "set-password", "--email", "Ann@Acme.test", "--password-stdin")
	if out != "password of ann@acme.test set\n" {
		t.Fatalf("stdout %q", out)
	}
	h := hash()
	if !strings.HasPrefix(h, "$argon2id$") || !account.CheckPassword(h, "a new passphrase") || account.CheckPassword(h, strings.TrimSpace(pw)) {
		t.Fatalf("stored hash %q does not hold the new password alone", h)
	}
}

// A broken database is told as what it is: a lookup that fails is not
// "not found", which would send an operator looking for a typo.
func TestAdminStoreFailureIsNotNotFound(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mustVO(t, dir, "", "admin", "org", "create", "--slug", "acme", "--name", "Acme Inc")
	mustVO(t, dir, pw, "admin", "user", "create", "--org", "acme", "--email", "ann@acme.test", "--name", "Ann Lee",
		"--extension", "101", "--password-stdin")
	_, err := vo(t, dir, "", "admin", "user", "deactivate", "--email", "bob@acme.test")
	wantOneLine(t, err, "no active user has email bob@acme.test")
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte("name,email,extension,phone_number,role,password\nCy,cy@acme.test,102,,,long-enough-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = vo(t, dir, "", "admin", "user", "import", "--org", "nope", csv)
	wantOneLine(t, err, "no org has slug nope")

	// Break the schema under the commands' feet: the tables they read are gone.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "vo.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE users RENAME TO users_gone`, `ALTER TABLE orgs RENAME TO orgs_gone`} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"deactivate", "", []string{"admin", "user", "deactivate", "--email", "ann@acme.test"}},
		{"set-password", pw, []string{"admin", "user", "set-password", "--email", "ann@acme.test", "--password-stdin"}},
		{"user create", pw, []string{"admin", "user", "create", "--org", "acme", "--email", "cy@acme.test", "--name", "Cy",
			"--extension", "102", "--password-stdin"}},
		{"user import", "", []string{"admin", "user", "import", "--org", "acme", csv}},
	} {
		_, err := vo(t, dir, tc.stdin, tc.args...)
		if err == nil || strings.Contains(err.Error(), "no active user") || strings.Contains(err.Error(), "no org has") ||
			!strings.Contains(err.Error(), "no such table") {
			t.Errorf("%s on a broken database: %v; want the store's failure, not 'not found'", tc.name, err)
		}
	}
}
