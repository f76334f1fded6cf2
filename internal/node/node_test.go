package node

import (
	"context"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/admin"
	"vo/internal/auth"
	"vo/internal/clock"
)

var cheap = account.HashParams{Memory: 64, Time: 1, Threads: 1}

func TestNodeRunsServesHousekeepsAndCloses(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 7, 9, 0, 0, 0, time.UTC))
	n, err := New(ctx, Config{DataDir: t.TempDir(), Clock: clk, HashParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	runErr := make(chan error, 1)
	go func() { runErr <- n.Run(ctx) }()
	waitRound := func() {
		t.Helper()
		select {
		case <-n.housekept:
		case <-time.After(5 * time.Second):
			t.Fatal("no housekeeping round")
		}
	}
	waitRound() // the first round runs at once

	o, err := admin.CreateOrg(ctx, n.Store, "acme", "Acme")
	if err != nil {
		t.Fatal(err)
	}
	users, err := admin.CreateUsers(ctx, n.Store, o.ID, cheap, []account.NewUser{{Name: "Ann A", Email: "ann@acme.test", Extension: "100", Password: "correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Auth.Login(ctx, auth.Login{Email: "ann@acme.test", Password: "correct horse battery", DeviceName: "t", Platform: "web"}); err != nil {
		t.Fatalf("login through the node's auth: %v", err)
	}
	count := func() int {
		s, err := n.Store.Sessions(ctx, users[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(s)
	}
	clk.Advance(time.Minute)
	waitRound()
	if c := count(); c != 1 {
		t.Fatalf("a fresh session was ended: %d left", c)
	}
	clk.Advance(account.SessionTTL + time.Minute)
	waitRound()
	if c := count(); c != 0 {
		t.Fatalf("a session unused past its TTL was not ended: %d left", c)
	}

	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if err := n.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRunReturnsWhenContextEnds(t *testing.T) {
	n, err := New(context.Background(), Config{DataDir: t.TempDir(), HashParams: cheap})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
