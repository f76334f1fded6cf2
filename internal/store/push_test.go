package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/clock"
	"vo/internal/notify"
	"vo/internal/store"
	"vo/internal/storetest"
)

func subscribe(t *testing.T, s *store.Store, sess account.Session, endpoint string) {
	t.Helper()
	if err := s.SetPushSubscription(context.Background(), notify.Subscription{SessionID: sess.ID, UserID: sess.UserID, OrgID: sess.OrgID,
		Endpoint: endpoint, P256DH: "p-" + sess.ID, Auth: "a-" + sess.ID}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
}

func hasSub(t *testing.T, s *store.Store, sessionID string) bool {
	t.Helper()
	_, err := s.PushSubscriptionOf(context.Background(), sessionID)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		t.Fatal(err)
	}
	return err == nil
}

func queued(t *testing.T, s *store.Store) int {
	t.Helper()
	n, err := s.QueuedPushes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestPushKeyOnce: the first candidate is kept, even when several nodes
// offer theirs at the same time.
func TestPushKeyOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		var wg sync.WaitGroup
		got := make([]notify.Key, 8)
		for i := range got {
			wg.Go(func() {
				k, err := s.PushKey(ctx, notify.Key{Private: "priv" + string(rune('a'+i)), Public: "pub" + string(rune('a'+i))})
				if err != nil {
					t.Error(err)
				}
				got[i] = k
			})
		}
		wg.Wait()
		for _, k := range got {
			if k != got[0] || k.Private[4:] != k.Public[3:] {
				t.Fatalf("keys differ: %v", got)
			}
		}
		again, err := s.PushKey(ctx, notify.Key{Private: "other", Public: "other"})
		if err != nil || again != got[0] {
			t.Fatalf("later call: %v %v, want %v", again, err, got[0])
		}
	})
}

// One enqueue reaches every subscribed session of several users, but the
// skipped ones; users with no subscription cost no write.
func TestEnqueuePushToSeveralUsers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@x.test", "101", ""), nu("Ben", "ben@x.test", "102", ""), nu("Cy", "cy@x.test", "103", ""))
		a1, _ := login(t, s, us[0], account.PlatformWeb, t0)
		a2, _ := login(t, s, us[0], account.PlatformMobile, t0)
		b1, _ := login(t, s, us[1], account.PlatformWeb, t0)
		login(t, s, us[2], account.PlatformWeb, t0)
		for _, x := range []account.Session{a1, a2, b1} {
			subscribe(t, s, x, "https://push.example/"+x.ID)
		}
		if n, err := s.EnqueuePush(ctx, o.ID, []string{us[0].ID, us[1].ID, us[2].ID}, []byte(`{}`), t0.Add(time.Hour), []string{a2.ID}); err != nil || n != 2 {
			t.Fatalf("enqueue to all three but a2: %d %v, want 2 (a1, b1)", n, err)
		}
		if n, err := s.EnqueuePush(ctx, o.ID, []string{us[2].ID}, []byte(`{}`), t0.Add(time.Hour), nil); err != nil || n != 0 {
			t.Fatalf("enqueue to nobody subscribed: %d %v, want 0", n, err)
		}
		other := newOrg(t, s, "other")
		if n, err := s.EnqueuePush(ctx, other.ID, []string{us[0].ID}, []byte(`{}`), t0.Add(time.Hour), nil); err != nil || n != 0 {
			t.Fatalf("enqueue through another org: %d %v, want 0", n, err)
		}
		if qs, err := s.ClaimPushes(ctx, 10, time.Minute); err != nil || len(qs) != 2 {
			t.Fatalf("claimed %d %v, want 2", len(qs), err)
		}
	})
}

// TestPushSubscriptionEndsWithSession: every way a session ends deletes
// its subscription and queued pushes in the same transaction, and a
// subscription is one per session.
func TestPushSubscriptionEndsWithSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		us := mustCreate(t, s, o.ID, nu("Ann", "ann@x.test", "101", ""), nu("Ben", "ben@x.test", "102", ""))
		ann, ben := us[0], us[1]
		a1, _ := login(t, s, ann, account.PlatformWeb, t0)
		a2, _ := login(t, s, ann, account.PlatformMobile, t0)
		a3, _ := login(t, s, ann, account.PlatformDesktop, t0)
		b1, _ := login(t, s, ben, account.PlatformWeb, t0)
		for _, x := range []account.Session{a1, a2, a3, b1} {
			subscribe(t, s, x, "https://push.example/old-"+x.ID)
			subscribe(t, s, x, "https://push.example/"+x.ID)
		}
		if sub, err := s.PushSubscriptionOf(ctx, a1.ID); err != nil || sub.Endpoint != "https://push.example/"+a1.ID {
			t.Fatalf("replaced subscription: %+v %v", sub, err)
		}
		if n, err := s.EnqueuePush(ctx, o.ID, []string{ann.ID}, []byte(`{}`), t0.Add(time.Hour), nil); err != nil || n != 3 {
			t.Fatalf("enqueue: %d %v, want 3", n, err)
		}
		if n, err := s.EnqueuePush(ctx, o.ID, []string{ben.ID}, []byte(`{}`), t0.Add(time.Hour), nil); err != nil || n != 1 {
			t.Fatalf("enqueue: %d %v, want 1", n, err)
		}
		// Logout (own or remote).
		if err := s.EndSession(ctx, o.ID, ann.ID, a1.ID); err != nil {
			t.Fatal(err)
		}
		if hasSub(t, s, a1.ID) || queued(t, s) != 3 {
			t.Fatalf("after logout: sub %v, queued %d", hasSub(t, s, a1.ID), queued(t, s))
		}
		// Logout of the other devices with a password change.
		if _, err := s.SetPassword(ctx, o.ID, ann.ID, testHash(), a3.ID); err != nil {
			t.Fatal(err)
		}
		if hasSub(t, s, a2.ID) || !hasSub(t, s, a3.ID) || queued(t, s) != 2 {
			t.Fatalf("after password: a2 %v a3 %v queued %d", hasSub(t, s, a2.ID), hasSub(t, s, a3.ID), queued(t, s))
		}
		// Deactivation.
		if _, err := s.DeactivateUser(ctx, o.ID, ann.ID); err != nil {
			t.Fatal(err)
		}
		if hasSub(t, s, a3.ID) || queued(t, s) != 1 {
			t.Fatalf("after deactivation: a3 %v queued %d", hasSub(t, s, a3.ID), queued(t, s))
		}
		// Expiry.
		if _, err := s.EndExpiredSessions(ctx, t0.Add(time.Second).UnixMilli()); err != nil {
			t.Fatal(err)
		}
		if hasSub(t, s, b1.ID) || queued(t, s) != 0 {
			t.Fatalf("after expiry: b1 %v queued %d", hasSub(t, s, b1.ID), queued(t, s))
		}
		// A subscription for an ended session is refused.
		err := s.SetPushSubscription(ctx, notify.Subscription{SessionID: a1.ID, UserID: ann.ID, OrgID: o.ID, Endpoint: "https://push.example/x", P256DH: "p", Auth: "a"})
		if !apperr.Is(err, apperr.NotFound) {
			t.Fatalf("subscribe ended session: %v, want not_found", err)
		}
	})
}

// TestPushQueue: what is queued skips live sessions; a claim takes a push
// once until its lease ends or it is released; 404/410 deletes the
// subscription, but not one replaced meanwhile.
func TestPushQueue(t *testing.T) {
	t.Parallel()
	c := clock.NewFake(t0)
	storetest.Each(t, c, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann", "ann@x.test", "101", ""))[0]
		var ss []account.Session
		for range 4 {
			x, _ := login(t, s, ann, account.PlatformWeb, c.Now())
			subscribe(t, s, x, "https://push.example/"+x.ID)
			ss = append(ss, x)
		}
		// ss[0] live here (skip), ss[1] live on another node, ss[2] was
		// live on a node whose mark expired.
		if err := s.MarkLive(ctx, "n_other", []string{ss[1].ID}, nil, c.Now().Add(time.Minute), false); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkLive(ctx, "n_dead", []string{ss[2].ID}, nil, c.Now(), false); err != nil {
			t.Fatal(err)
		}
		n, err := s.EnqueuePush(ctx, o.ID, []string{ann.ID}, []byte(`{"n":1}`), t0.Add(time.Hour), []string{ss[0].ID})
		if err != nil || n != 2 {
			t.Fatalf("enqueue: %d %v, want 2 (ss[2], ss[3])", n, err)
		}
		got, err := s.ClaimPushes(ctx, 10, time.Minute)
		if err != nil || len(got) != 2 {
			t.Fatalf("claim: %v %v", got, err)
		}
		for _, g := range got {
			if g.Sub.SessionID != ss[2].ID && g.Sub.SessionID != ss[3].ID || string(g.Payload) != `{"n":1}` || g.Attempts != 1 || g.Sub.Auth != "a-"+g.Sub.SessionID {
				t.Fatalf("claimed %+v", g)
			}
		}
		if again, _ := s.ClaimPushes(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("claimed twice: %v", again)
		}
		// Released for later: not before then.
		if err := s.PushRetry(ctx, got[0].ID, c.Now().Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
		if again, _ := s.ClaimPushes(ctx, 10, time.Minute); len(again) != 0 {
			t.Fatalf("claimed before due: %v", again)
		}
		c.Advance(30 * time.Second)
		again, _ := s.ClaimPushes(ctx, 10, time.Minute)
		if len(again) != 1 || again[0].ID != got[0].ID || again[0].Attempts != 2 {
			t.Fatalf("retry claim: %+v", again)
		}
		// A lease that ends (a node died mid-send) frees the push.
		c.Advance(time.Minute)
		if again, _ = s.ClaimPushes(ctx, 10, time.Minute); len(again) != 2 {
			t.Fatalf("after lease: %+v", again)
		}
		if err := s.PushDone(ctx, got[1].ID); err != nil {
			t.Fatal(err)
		}
		// Gone with an endpoint replaced meanwhile: kept.
		repl := got[0].Sub
		repl.Endpoint = "https://push.example/new"
		if err := s.SetPushSubscription(ctx, repl); err != nil {
			t.Fatal(err)
		}
		if err := s.PushGone(ctx, got[0].Sub.SessionID, got[0].Sub.Endpoint); err != nil {
			t.Fatal(err)
		}
		if !hasSub(t, s, got[0].Sub.SessionID) || queued(t, s) != 1 {
			t.Fatal("a replaced subscription was deleted")
		}
		if err := s.PushGone(ctx, got[0].Sub.SessionID, "https://push.example/new"); err != nil {
			t.Fatal(err)
		}
		if hasSub(t, s, got[0].Sub.SessionID) || queued(t, s) != 0 {
			t.Fatal("gone subscription kept")
		}
		// Marks go when the stream closes, and all at once when the node stops.
		if err := s.MarkLive(ctx, "n_other", nil, []string{ss[1].ID}, c.Now().Add(time.Minute), true); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.EnqueuePush(ctx, o.ID, []string{ann.ID}, []byte(`{}`), t0.Add(time.Hour), nil); n != 3 {
			t.Fatalf("after unmark: %d queued, want 3", n)
		}
		if err := s.MarkLive(ctx, "n_x", []string{ss[0].ID, ss[1].ID}, nil, c.Now().Add(time.Minute), false); err != nil {
			t.Fatal(err)
		}
		if err := s.ClearLive(ctx, "n_x"); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.EnqueuePush(ctx, o.ID, []string{ann.ID}, []byte(`{}`), t0.Add(time.Hour), nil); n != 3 {
			t.Fatalf("after clear: %d queued, want 3", n)
		}
	})
}

// TestSubscribeRacesLogout: a subscription stored while its session ends
// never outlives it, whichever commits first; the loser is told NotFound.
func TestSubscribeRacesLogout(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		ann := mustCreate(t, s, o.ID, nu("Ann", "ann@x.test", "101", ""))[0]
		for range 20 {
			x, _ := login(t, s, ann, account.PlatformWeb, t0)
			var wg sync.WaitGroup
			var subErr, endErr error
			wg.Go(func() {
				subErr = s.SetPushSubscription(ctx, notify.Subscription{SessionID: x.ID, UserID: ann.ID, OrgID: o.ID, Endpoint: "https://push.example/x", P256DH: "p", Auth: "a"})
			})
			wg.Go(func() { endErr = s.EndSession(ctx, o.ID, ann.ID, x.ID) })
			wg.Wait()
			if endErr != nil || (subErr != nil && !apperr.Is(subErr, apperr.NotFound)) {
				t.Fatalf("end: %v, subscribe: %v", endErr, subErr)
			}
			if hasSub(t, s, x.ID) {
				t.Fatal("a subscription outlived its session")
			}
		}
	})
}
