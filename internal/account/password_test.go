package account_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"vo/internal/account"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

// phc is the argon2id PHC string: version, costs, 16-byte salt, 32-byte key.
var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery"
	h1, err := account.HashPassword(pw, cheap)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := account.HashPassword(pw, cheap)
	m := phc.FindStringSubmatch(h1)
	if m == nil || m[1] != "64" || m[2] != "1" || m[3] != "1" {
		t.Fatalf("hash %q is not argon2id in PHC form with the given costs", h1)
	}
	if h1 == h2 {
		t.Error("two hashes of one password are equal: no random salt")
	}
	if strings.Contains(h1, pw) {
		t.Error("the hash holds the password")
	}
	for _, h := range []string{h1, h2} {
		if !account.CheckPassword(h, pw) {
			t.Errorf("CheckPassword(%q, right password) = false", h)
		}
		for _, wrong := range []string{"", "correct horse batter", "correct horse battery ", "Correct horse battery"} {
			if account.CheckPassword(h, wrong) {
				t.Errorf("CheckPassword accepted %q", wrong)
			}
		}
	}
}

func TestDefaultHashParams(t *testing.T) {
	t.Parallel()
	// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
	if p := account.DefaultHashParams; p.Memory != 19*1024 || p.Time != 2 || p.Threads != 1 {
		t.Errorf("DefaultHashParams = %+v", p)
	}
	h, err := account.HashPassword("correct horse battery", account.DefaultHashParams)
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("default hash %q, %v", h, err)
	}
}

// TestCheckPasswordRefusesMalformedHashes: a damaged or hostile stored hash
// never matches, never panics, and never makes argon2 allocate beyond the
// 1 GiB bound.
func TestCheckPasswordRefusesMalformedHashes(t *testing.T) {
	t.Parallel()
	good, _ := account.HashPassword("correct horse battery", cheap)
	parts := strings.Split(good, "$") // "", argon2id, v=19, m=..., salt, key
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, h := range map[string]string{
		"empty":           "",
		"plain text":      "correct horse battery",
		"argon2i":         with(1, "argon2i"),
		"bcrypt":          "$2a$10$abcdefghijklmnopqrstuuYzVd0mFh7gk0eJ2.0l8vVhlJ3j3VXcy",
		"version 16":      with(2, "v=16"),
		"no version":      with(2, "x"),
		"memory 0":        with(3, "m=0,t=1,p=1"),
		"memory 2 GiB":    with(3, "m=2097152,t=1,p=1"),
		"time 0":          with(3, "m=64,t=0,p=1"),
		"time 1000":       with(3, "m=64,t=1000,p=1"),
		"threads 0":       with(3, "m=64,t=1,p=0"),
		"threads 300":     with(3, "m=64,t=1,p=300"),
		"negative memory": with(3, "m=-64,t=1,p=1"),
		"bad salt":        with(4, "!!!"),
		"bad key":         with(5, "!!!"),
		"empty key":       with(5, ""),
		"huge key":        with(5, strings.Repeat("A", 200)),
		"extra part":      good + "$x",
		"missing part":    strings.Join(parts[:5], "$"),
	} {
		start := time.Now()
		if account.CheckPassword(h, "correct horse battery") {
			t.Errorf("%s: %q accepted", name, h)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

func TestDummyHash(t *testing.T) {
	t.Parallel()
	d := account.DummyHash(cheap)
	if !phc.MatchString(d) {
		t.Fatalf("dummy hash %q is not a real argon2id hash, so checking it would cost nothing", d)
	}
	for _, pw := range []string{"", "password", "correct horse battery", "no such user, same cost"[:10]} {
		if account.CheckPassword(d, pw) {
			t.Errorf("the dummy hash accepts %q", pw)
		}
	}
}
