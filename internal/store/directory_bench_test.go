package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"vo/internal/store"
	"vo/internal/storetest"
)

// BenchmarkDirectory measures the directory of an org of 10,000 people
// (beside a small second org) on each engine: the first page, a page deep
// in the list, and prefix searches by name, extension and number, 50 a
// page. Besides ns/op it reports the median and 99th percentile of the
// single calls. Seeding takes a while (CreateUsers, 1000 a batch), so it
// only runs with -bench:
//
//	go test -run '^$' -bench BenchmarkDirectory -benchtime=200x ./internal/store/
//
// with VO_TEST_POSTGRES_URL set for the PostgreSQL half.
func BenchmarkDirectory(b *testing.B) {
	for _, engine := range storetest.Engines {
		b.Run(engine, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, engine, nil)
			start := time.Now()
			o := seedOrg(b, s, "big", 10_000, [2]string{"415", "212"})
			seedOrg(b, s, "small", 200, [2]string{"617", "312"})
			if s.Dialect() == store.Postgres {
				// What autovacuum would have done by now.
				if _, err := s.WriterForTest().ExecContext(ctx, `ANALYZE`); err != nil {
					b.Fatal(err)
				}
			}
			b.Logf("%s: seeded 10,200 users in %v", engine, time.Since(start).Round(time.Millisecond))
			_, deep, err := s.Directory(ctx, o.ID, "", 7500, "")
			if err != nil || deep == "" {
				b.Fatalf("cursor after 7500: %q, %v", deep, err)
			}
			for _, op := range []struct{ name, query, cursor string }{
				{"first-page", "", ""},
				{"deep-page", "", deep},
				{"search-name-ma", "ma", ""},
				{"search-ext-12", "12", ""},
				{"search-number-+1415555", "+1415555", ""},
			} {
				b.Run(op.name, func(b *testing.B) {
					took := make([]time.Duration, 0, b.N)
					b.ReportAllocs()
					b.ResetTimer()
					for range b.N {
						t := time.Now()
						page, _, err := s.Directory(ctx, o.ID, op.query, 50, op.cursor)
						took = append(took, time.Since(t))
						if err != nil || len(page) != 50 {
							b.Fatalf("%d users, %v", len(page), err)
						}
					}
					b.StopTimer()
					slices.Sort(took)
					b.ReportMetric(ms(percentile(took, 50)), "p50-ms")
					b.ReportMetric(ms(percentile(took, 99)), "p99-ms")
				})
			}
		})
	}
}

// percentile returns the p-th percentile (nearest rank) of sorted values.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
