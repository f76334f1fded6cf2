package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"vo/internal/account"
	"vo/internal/apperr"
)

// CreateOrg adds an organization. Returns Conflict when the slug is taken.
func (s *Store) CreateOrg(ctx context.Context, slug, name string) (account.Org, error) {
	o := account.Org{ID: account.NewID("o"), Slug: slug, Name: name, AutoAway: defaultAutoAway}
	err := s.tx(ctx, func(t *Tx) error {
		_, err := t.exec(ctx, `INSERT INTO orgs (id, slug, name, created_at) VALUES (?, ?, ?, ?)`, o.ID, slug, name, ms(s.clock.Now()))
		if isUnique(err) {
			return apperr.New(apperr.Conflict, "an org with slug %q already exists", slug)
		}
		return internal("create org", err)
	})
	return o, err
}

// OrgBySlug returns NotFound when no org has that slug.
func (s *Store) OrgBySlug(ctx context.Context, slug string) (account.Org, error) {
	return s.org(ctx, `slug = ?`, slug)
}

// OrgByID returns NotFound when no org has that id.
func (s *Store) OrgByID(ctx context.Context, id string) (account.Org, error) {
	return s.org(ctx, `id = ?`, id)
}

func (s *Store) org(ctx context.Context, where string, arg any) (account.Org, error) {
	var o account.Org
	var secs int64
	err := s.queryRow(ctx, `SELECT id, slug, name, auto_away_seconds FROM orgs WHERE `+where, arg).Scan(&o.ID, &o.Slug, &o.Name, &secs)
	if errors.Is(err, sql.ErrNoRows) {
		return o, apperr.New(apperr.NotFound, "org not found")
	}
	o.AutoAway = secondsToDuration(secs)
	return o, internal("org", err)
}

// CreateUsers inserts all the users into the org in one transaction: all
// or none. A taken email, extension or number is a Conflict wrapped in a
// *apperr.RowError naming the input.
func (s *Store) CreateUsers(ctx context.Context, orgID string, in []account.HashedUser) ([]account.User, error) {
	out := make([]account.User, 0, len(in))
	err := s.tx(ctx, func(t *Tx) error {
		now := s.clock.Now()
		for i, n := range in {
			if err := t.checkFree(ctx, orgID, n.Email, n.Extension, n.PhoneNumber); err != nil {
				return &apperr.RowError{Index: i, Err: err}
			}
			u := account.User{ID: account.NewID("u"), OrgID: orgID, Name: n.Name, Email: n.Email, Role: n.Role,
				Extension: n.Extension, PhoneNumber: n.PhoneNumber, PasswordHash: n.PasswordHash, Active: true, CreatedAt: now.Truncate(1e6)}
			_, err := t.exec(ctx, `INSERT INTO users (id, org_id, name, name_key, email, email_key, role, extension, phone_number, password_hash, active, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)`,
				u.ID, orgID, u.Name, nameKey(u.Name), u.Email, strings.ToLower(u.Email), string(u.Role), u.Extension, nullable(u.PhoneNumber), u.PasswordHash, ms(now))
			if isUnique(err) {
				return &apperr.RowError{Index: i, Err: apperr.New(apperr.Conflict, "email, extension or number already taken")}
			}
			if err != nil {
				return internal("create user", err)
			}
			for _, term := range searchTerms(u) {
				if _, err := t.exec(ctx, `INSERT INTO user_terms (org_id, term, user_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, orgID, term, u.ID); err != nil {
					return internal("index user", err)
				}
			}
			if err := t.userAdded(ctx, u); err != nil {
				return err
			}
			out = append(out, u)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkFree names the first of email, extension or number that an active
// user already has, so that refusals say which field clashed.
func (t *Tx) checkFree(ctx context.Context, orgID, email, ext, phone string) error {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE email_key = ? AND active = 1`, strings.ToLower(email)).Scan(&n); err != nil {
		return internal("check email", err)
	}
	if n > 0 {
		return apperr.New(apperr.Conflict, "email %s is already taken", email)
	}
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE org_id = ? AND extension = ? AND active = 1`, orgID, ext).Scan(&n); err != nil {
		return internal("check extension", err)
	}
	if n > 0 {
		return apperr.New(apperr.Conflict, "extension %s is already taken", ext)
	}
	if phone != "" {
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE phone_number = ? AND active = 1`, phone).Scan(&n); err != nil {
			return internal("check number", err)
		}
		if n > 0 {
			return apperr.New(apperr.Conflict, "phone number %s is already taken", phone)
		}
	}
	return nil
}

// userColsOf lists the columns scanUser reads, qualified by a table alias
// such as "u." (or "" for none).
func userColsOf(a string) string {
	return a + `id, ` + a + `org_id, ` + a + `name, ` + a + `email, ` + a + `role, ` + a + `extension, COALESCE(` + a + `phone_number, ''), ` +
		a + `password_hash, COALESCE(` + a + `photo_hash, ''), ` + a + `active, ` + a + `created_at`
}

var userCols = userColsOf("")

func scanUser(row interface{ Scan(...any) error }) (account.User, error) {
	var u account.User
	var role string
	var active int
	var created int64
	err := row.Scan(&u.ID, &u.OrgID, &u.Name, &u.Email, &role, &u.Extension, &u.PhoneNumber, &u.PasswordHash, &u.PhotoHash, &active, &created)
	u.Role, u.Active, u.CreatedAt = account.Role(role), active == 1, fromMS(created)
	return u, err
}

// UserByID returns an active user of the org. Another org's user, or a
// deactivated one, is NotFound.
func (s *Store) UserByID(ctx context.Context, orgID, id string) (account.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ? AND org_id = ? AND active = 1`, id, orgID))
	if errors.Is(err, sql.ErrNoRows) {
		return u, apperr.New(apperr.NotFound, "user not found")
	}
	return u, internal("user", err)
}

// UserByEmail returns the active user with that email, in any org.
func (s *Store) UserByEmail(ctx context.Context, email string) (account.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE email_key = ? AND active = 1`, strings.ToLower(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return u, apperr.New(apperr.NotFound, "user not found")
	}
	return u, internal("user by email", err)
}

// Directory lists the org's active users sorted by name, a page at a time.
// A non-empty query keeps those whose name (or any word of it), email,
// extension or number starts with it, case-insensitively. The cursor is the
// opaque next_cursor of the previous page.
func (s *Store) Directory(ctx context.Context, orgID, query string, limit int, cursor string) ([]account.User, string, error) {
	afterKey, afterID, err := decodeCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	args := []any{orgID}
	sqlq := `SELECT ` + userCols + `, name_key FROM users WHERE org_id = ? AND active = 1`
	if strings.TrimSpace(query) != "" {
		// A query of punctuation alone normalises to nothing: it matches
		// no one rather than everyone.
		p := searchKey(query)
		if p == "" {
			return nil, "", nil
		}
		sqlq += ` AND id IN (SELECT user_id FROM user_terms WHERE org_id = ? AND term >= ? AND term < ?)`
		args = append(args, orgID, p, p+string(utf8.MaxRune))
	}
	if cursor != "" {
		// A row-value comparison is an index bound on both engines: the
		// next page seeks to the cursor instead of reading past every name.
		sqlq += ` AND (name_key, id) > (?, ?)`
		args = append(args, afterKey, afterID)
	}
	sqlq += ` ORDER BY name_key, id LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.query(ctx, sqlq, args...)
	if err != nil {
		return nil, "", internal("directory", err)
	}
	defer rows.Close()
	var out []account.User
	var lastKey string
	for rows.Next() {
		var u account.User
		var role string
		var active int
		var created int64
		var key string
		if err := rows.Scan(&u.ID, &u.OrgID, &u.Name, &u.Email, &role, &u.Extension, &u.PhoneNumber, &u.PasswordHash, &u.PhotoHash, &active, &created, &key); err != nil {
			return nil, "", internal("directory scan", err)
		}
		u.Role, u.Active, u.CreatedAt = account.Role(role), active == 1, fromMS(created)
		if len(out) == limit {
			return out, encodeCursor(lastKey, out[len(out)-1].ID), rows.Err()
		}
		out = append(out, u)
		lastKey = key
	}
	return out, "", internal("directory rows", rows.Err())
}

// ActiveUserIDs returns the ids of every active user of the org.
func (s *Store) ActiveUserIDs(ctx context.Context, orgID string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT id FROM users WHERE org_id = ? AND active = 1`, orgID)
	if err != nil {
		return nil, internal("user ids", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, internal("user ids", err)
		}
		ids = append(ids, id)
	}
	return ids, internal("user ids", rows.Err())
}

// DeactivateUser marks a user inactive and ends all their sessions, in one
// transaction. Returns the ids of the sessions ended. NotFound when the user
// is not an active user of the org.
func (s *Store) DeactivateUser(ctx context.Context, orgID, id string) ([]string, error) {
	var ended []string
	err := s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE users SET active = 0, deactivated_at = ? WHERE id = ? AND org_id = ? AND active = 1`, ms(s.clock.Now()), id, orgID)
		if err != nil {
			return internal("deactivate", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.New(apperr.NotFound, "user not found")
		}
		if _, err := t.exec(ctx, `DELETE FROM user_terms WHERE user_id = ?`, id); err != nil {
			return internal("deactivate terms", err)
		}
		// Nothing is due for someone who is gone: the scheduler must not
		// keep finding them.
		if _, err := t.exec(ctx, `UPDATE presence SET next_change_at = NULL, shown = 'offline' WHERE user_id = ?`, id); err != nil {
			return internal("deactivate presence", err)
		}
		ended, err = t.deleteSessions(ctx, `user_id = ?`, id)
		if err != nil {
			return err
		}
		return t.userRemoved(ctx, orgID, id)
	})
	return ended, err
}

// nameKey is the sort and search key of a name: lower case without
// accents, so "Émile" sorts among the e's and "emile" finds him.
func nameKey(name string) string { return fold(strings.TrimSpace(name)) }

// fold lower-cases s and strips combining marks.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// searchKey normalises a directory query: lower case, trimmed; a number
// written with spaces, dashes or brackets keeps only "+" and digits.
func searchKey(q string) string {
	q = fold(strings.TrimSpace(q))
	if q == "" {
		return ""
	}
	if strings.IndexFunc(q, func(r rune) bool { return !strings.ContainsRune("+0123456789 -().", r) }) < 0 {
		q = strings.Map(func(r rune) rune {
			if r == '+' || r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, q)
	}
	return q
}

// searchTerms are the strings a directory prefix query is matched against.
func searchTerms(u account.User) []string {
	terms := []string{nameKey(u.Name), strings.ToLower(u.Email), fold(u.Email), u.Extension}
	for _, w := range strings.FieldsFunc(nameKey(u.Name), func(r rune) bool { return unicode.IsSpace(r) || r == '-' }) {
		terms = append(terms, w)
	}
	if u.PhoneNumber != "" {
		terms = append(terms, u.PhoneNumber, strings.TrimPrefix(u.PhoneNumber, "+"))
	}
	return terms
}

func encodeCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "\x00" + id))
}

func decodeCursor(c string) (string, string, error) {
	if c == "" {
		return "", "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	key, id, ok := strings.Cut(string(b), "\x00")
	if err != nil || !ok || id == "" {
		return "", "", apperr.New(apperr.Invalid, "cursor is not one this server gave")
	}
	return key, id, nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
