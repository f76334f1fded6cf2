package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/apperr"
	"vo/internal/store"
)

func adminCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "backup" || args[0] == "restore") {
		slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
		return backupCmd(ctx, args, stdout)
	}
	if len(args) < 2 {
		return usageError{"admin needs a subject and a verb\n" + usage}
	}
	// Warnings only: the reason for a refusal must be the one line on stderr.
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	what, rest := args[0]+" "+args[1], args[2:]
	fs := flag.NewFlagSet("admin "+what, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c commonFlags
	c.register(fs)
	slug := fs.String("slug", "", "org slug")
	name := fs.String("name", "", "name")
	orgSlug := fs.String("org", "", "org slug")
	email := fs.String("email", "", "email")
	ext := fs.String("extension", "", "extension (2-8 digits)")
	number := fs.String("number", "", "phone number, E.164")
	role := fs.String("role", "member", "admin or member")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	if err := fs.Parse(rest); err != nil {
		return usageError{err.Error()}
	}
	params := account.DefaultHashParams

	switch what {
	case "org create":
		if err := account.ValidateSlug(*slug); err != nil {
			return err
		}
		st, err := c.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		o, err := admin.CreateOrg(ctx, st, *slug, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created org %s (%s)\n", o.Slug, o.ID)
		return nil
	case "user create":
		if !*pwStdin {
			return usageError{"user create needs --password-stdin (the password is never a flag)"}
		}
		pw, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return err
		}
		in := account.NewUser{Name: *name, Email: *email, Extension: *ext, PhoneNumber: *number, Role: account.Role(*role),
			Password: strings.TrimRight(string(pw), "\r\n")}
		if _, err := in.Normalize(); err != nil {
			return err
		}
		st, org, err := openOrg(ctx, c, *orgSlug)
		if err != nil {
			return err
		}
		defer st.Close()
		users, err := admin.CreateUsers(ctx, st, org.ID, params, []account.NewUser{in})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created user %s <%s> ext %s (%s)\n", users[0].Name, users[0].Email, users[0].Extension, users[0].ID)
		return nil
	case "user import":
		if fs.NArg() != 1 {
			return usageError{"user import needs one CSV file"}
		}
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		st, org, err := openOrg(ctx, c, *orgSlug)
		if err != nil {
			return err
		}
		defer st.Close()
		users, err := admin.ImportCSV(ctx, st, org.ID, params, f)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "imported %d users into %s\n", len(users), org.Slug)
		return nil
	case "user set-password":
		if !*pwStdin {
			return usageError{"user set-password needs --password-stdin (the password is never a flag)"}
		}
		e, err := account.NormalizeEmail(*email)
		if err != nil {
			return err
		}
		pw, err := io.ReadAll(io.LimitReader(stdin, 4096))
		if err != nil {
			return err
		}
		password := strings.TrimRight(string(pw), "\r\n")
		if err := account.ValidatePassword(password); err != nil {
			return err
		}
		st, u, err := openUser(ctx, c, e)
		if err != nil {
			return err
		}
		defer st.Close()
		hash, err := account.HashPassword(password, params)
		if err != nil {
			return err
		}
		if _, err := st.SetPassword(ctx, u.OrgID, u.ID, hash, ""); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s set\n", e)
		return nil
	case "user deactivate":
		e, err := account.NormalizeEmail(*email)
		if err != nil {
			return err
		}
		st, u, err := openUser(ctx, c, e)
		if err != nil {
			return err
		}
		defer st.Close()
		ended, err := st.DeactivateUser(ctx, u.OrgID, u.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "deactivated %s; %d sessions ended\n", e, len(ended))
		return nil
	}
	return usageError{fmt.Sprintf("unknown admin command %q\n%s", what, usage)}
}

func openOrg(ctx context.Context, c commonFlags, slug string) (*store.Store, account.Org, error) {
	if slug == "" {
		return nil, account.Org{}, apperr.New(apperr.Invalid, "--org is needed")
	}
	st, err := c.open(ctx)
	if err != nil {
		return nil, account.Org{}, err
	}
	org, err := st.OrgBySlug(ctx, slug)
	if err != nil {
		st.Close()
		return nil, account.Org{}, notFound(err, "no org has slug %s", slug)
	}
	return st, org, nil
}

// openUser opens the store and finds the active user with that (normalized)
// email, as openOrg finds an org; the caller closes the store.
func openUser(ctx context.Context, c commonFlags, email string) (*store.Store, account.User, error) {
	st, err := c.open(ctx)
	if err != nil {
		return nil, account.User{}, err
	}
	u, err := st.UserByEmail(ctx, email)
	if err != nil {
		st.Close()
		return nil, account.User{}, notFound(err, "no active user has email %s", email)
	}
	return st, u, nil
}

// notFound words a lookup's NotFound for the command line; any other failure
// (a broken or unreachable database) is told as it is, never as "not found".
func notFound(err error, format string, args ...any) error {
	if apperr.Is(err, apperr.NotFound) {
		return apperr.New(apperr.NotFound, format, args...)
	}
	return err
}
