package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"vo/internal/account"
	"vo/internal/apperr"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/events"
	"vo/internal/store"
	"vo/internal/storetest"
)

// Sends that share a transaction (sends.go) stay independent: a refused
// send stores nothing and fails no other, retries of one client_id racing
// in one batch make one message, every stored message has its own seq
// with no gap, and each member's stream has each message exactly once.
func TestConcurrentSendsShareTransactions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, clock.NewFake(t0), func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o := newOrg(t, s, "acme")
		in := make([]account.HashedUser, 10)
		for i := range in {
			in[i] = nu(fmt.Sprintf("User %d", i), fmt.Sprintf("u%d@x.test", i), fmt.Sprint(200+i), "")
		}
		us := mustCreate(t, s, o.ID, in...)
		outsider := mustCreate(t, s, o.ID, nu("Out", "out@x.test", "299", ""))[0]
		c := newConv(t, s, us[0], "G", us[1:]...)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ids := map[string]int{} // message id → answers that carried it
		byClient := map[string]string{}
		var refused, created int
		for i := range 200 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Sends 2k and 2k+1 are one member's send and its retry, racing.
				u := us[(i/2)%len(us)]
				nm := chat.NewMessage{ClientID: fmt.Sprintf("c%d", i/2), Text: fmt.Sprintf("message %d", i/2)}
				switch i % 20 {
				case 3: // refused: not a message of the conversation
					nm.ReplyTo, nm.ClientID = "m_nope", fmt.Sprintf("bad%d", i)
				case 7: // refused: not a member
					u, nm.ClientID = outsider, fmt.Sprintf("out%d", i)
				}
				m, isNew, err := s.SendMessage(ctx, o.ID, u.ID, c.ID, nm)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if !apperr.Is(err, apperr.NotFound) && !apperr.Is(err, apperr.Invalid) {
						t.Errorf("send %d: %v", i, err)
					}
					refused++
					return
				}
				if isNew {
					created++
				}
				ids[m.ID]++
				if prev, ok := byClient[u.ID+"/"+nm.ClientID]; ok && prev != m.ID {
					t.Errorf("client_id %s of %s made two messages: %s and %s", nm.ClientID, u.Name, prev, m.ID)
				}
				byClient[u.ID+"/"+nm.ClientID] = m.ID
			}()
		}
		wg.Wait()
		if refused != 20 {
			t.Errorf("%d sends refused, want 20", refused)
		}
		if created != len(ids) {
			t.Errorf("%d answers said new, for %d messages", created, len(ids))
		}
		ms, _, err := s.Messages(ctx, o.ID, us[0].ID, c.ID, "", 200)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != len(ids) {
			t.Fatalf("%d messages stored, %d answered", len(ms), len(ids))
		}
		for _, m := range ms {
			if ids[m.ID] == 0 {
				t.Errorf("stored message %s was never answered", m.ID)
			}
		}
		// Each member's stream holds each message once.
		for _, u := range us {
			evs, _, ok, err := s.EventsFor(ctx, o.ID, u.ID, "", events.Position{}, 10000)
			if err != nil || !ok {
				t.Fatalf("events of %s: %v %v", u.Name, ok, err)
			}
			seen := map[string]int{}
			for _, e := range evs {
				if e.Type == chat.TypeMessage {
					seen[string(e.Data)]++
				}
			}
			n := 0
			for d, k := range seen {
				if k != 1 {
					t.Errorf("%s's stream has %d copies of %s", u.Name, k, d)
				}
				n++
			}
			if n != len(ids) {
				t.Errorf("%s's stream has %d messages, want %d", u.Name, n, len(ids))
			}
		}
	})
}
