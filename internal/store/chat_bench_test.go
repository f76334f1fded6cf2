package store_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"vo/internal/account"
	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/store"
	"vo/internal/storetest"
)

// benchGroup is a store on engine with one group of 50 members.
func benchGroup(b *testing.B, engine string) (*store.Store, account.Org, []account.User, chat.Conversation) {
	s := storetest.Open(b, engine, clock.NewFake(t0))
	o := newOrg(b, s, "bench")
	in := make([]account.HashedUser, 50)
	for i := range in {
		in[i] = nu(fmt.Sprintf("User %d", i), fmt.Sprintf("u%d@example.test", i), fmt.Sprint(2000+i), "")
	}
	us := mustCreate(b, s, o.ID, in...)
	return s, o, us, newConv(b, s, us[0], "Bench", us[1:]...)
}

// BenchmarkSendMessage50 sends into one group of 50 members, one message
// per iteration from a rotating sender: the store's share of issue 11's
// chat bench (`vo bench chat`), without HTTP or streams.
func BenchmarkSendMessage50(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s, o, us, c := benchGroup(b, engine)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				u := us[i%len(us)]
				if _, _, err := s.SendMessage(ctx, o.ID, u.ID, c.ID, chat.NewMessage{ClientID: fmt.Sprintf("c%d", i), Text: "hello team, the budget is ready"}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

// BenchmarkSendMessage50Concurrent is BenchmarkSendMessage50 with the 50
// members sending at once, as in `vo bench chat`'s back-to-back phase:
// the sends share transactions (sends.go).
func BenchmarkSendMessage50Concurrent(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			s, o, us, c := benchGroup(b, engine)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(25) // 50 senders on 2 cores
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := next.Add(1)
					u := us[i%int64(len(us))]
					if _, _, err := s.SendMessage(ctx, o.ID, u.ID, c.ID, chat.NewMessage{ClientID: fmt.Sprintf("c%d", i), Text: "hello team, the budget is ready"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
