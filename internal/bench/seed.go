package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/auth"
	"vo/internal/store"
)

// Seeded is the org a run watches: user i logs in with Tokens[i].
type Seeded struct {
	OrgID   string
	UserIDs []string
	Tokens  []string
}

// cheapHash keeps seeding fast: nobody logs in with these passwords.
var cheapHash = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// seedBatch is how many users one transaction adds.
const seedBatch = 1000

// Seed adds one org with n users, each with one logged-in session whose
// token it returns, so that no password is checked at connect time.
// Sessions are on the mobile platform: auto-away never applies to them, so
// no presence changes but the benchmark's own happen during a long run.
func Seed(ctx context.Context, st *store.Store, n int) (Seeded, error) {
	org, err := admin.CreateOrg(ctx, st, "bench", "Bench Inc")
	if err != nil {
		return Seeded{}, fmt.Errorf("bench: create org: %w", err)
	}
	out := Seeded{OrgID: org.ID, UserIDs: make([]string, 0, n), Tokens: make([]string, 0, n)}
	for from := 0; from < n; from += seedBatch {
		in := make([]account.NewUser, 0, seedBatch)
		for i := from; i < min(n, from+seedBatch); i++ {
			in = append(in, account.NewUser{Name: fmt.Sprintf("Watcher %05d", i), Email: fmt.Sprintf("w%05d@bench.test", i),
				Extension: fmt.Sprint(100000 + i), Role: account.RoleMember, Password: "bench-password"})
		}
		users, err := admin.CreateUsers(ctx, st, org.ID, cheapHash, in)
		if err != nil {
			return Seeded{}, fmt.Errorf("bench: create users: %w", err)
		}
		for _, u := range users {
			out.UserIDs = append(out.UserIDs, u.ID)
		}
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, id := range out.UserIDs {
		token, err := newSession(ctx, st, org.ID, id, now)
		if err != nil {
			return Seeded{}, err
		}
		out.Tokens = append(out.Tokens, token)
	}
	return out, nil
}

// newSession logs a user in on a mobile device and returns the token.
func newSession(ctx context.Context, st *store.Store, orgID, userID string, now time.Time) (string, error) {
	token, csrf := randomToken(), randomToken()
	s := account.Session{ID: account.NewID("s"), UserID: userID, OrgID: orgID, DeviceName: "bench",
		Platform: account.PlatformMobile, CreatedAt: now, LastSeenAt: now}
	if err := st.CreateSession(ctx, s, auth.HashToken(token), auth.HashToken(csrf)); err != nil {
		return "", fmt.Errorf("bench: create session: %w", err)
	}
	return token, nil
}

// randomToken is a session token as auth issues them: 32 random bytes in
// unpadded base64url.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
