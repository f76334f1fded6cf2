package main

import (
	"context"
	"strings"
	"testing"

	"vo/internal/account"
	"vo/internal/store"
	"vo/internal/votest"
)

type syncBuffer = votest.SyncBuffer

// vo runs the command line in-process against the data folder: --data dir
// goes right after the command words, before any file argument.
func vo(t *testing.T, dir, stdin string, args ...string) (string, error) {
	t.Helper()
	words := 1
	if args[0] == "admin" {
		words = min(3, len(args))
	}
	full := append(append(append([]string{}, args[:words]...), "--data", dir), args[words:]...)
	var stdout, stderr syncBuffer
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("vo %s panicked: %v", strings.Join(args, " "), r)
		}
	}()
	err := run(context.Background(), full, strings.NewReader(stdin), &stdout, &stderr)
	return stdout.String(), err
}

// mustVO is vo that must succeed.
func mustVO(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	out, err := vo(t, dir, stdin, args...)
	if err != nil {
		t.Fatalf("vo %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// openStore opens the data folder's database, as the server would.
func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), store.Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// people returns the active users of the org with that slug.
func people(t *testing.T, dir, slug string) []account.User {
	t.Helper()
	st := openStore(t, dir)
	defer st.Close()
	ctx := context.Background()
	o, err := st.OrgBySlug(ctx, slug)
	if err != nil {
		t.Fatalf("org %s: %v", slug, err)
	}
	us, _, err := st.Directory(ctx, o.ID, "", 200, "")
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// wantOneLine fails unless err is a refusal told in exactly one line that
// contains the given text.
func wantOneLine(t *testing.T, err error, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want one containing %q", contains)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, contains) {
		t.Fatalf("error %q: want one line containing %q", msg, contains)
	}
}
