package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"vo/internal/bench"
	"vo/internal/storetest"
	"vo/internal/votest"
)

// BenchmarkStreamConnect is what one watcher's connect costs a node (and
// its client, in the same process): the handshake, authentication,
// subscribing, and hello with the org's snapshot, served from the cached
// one as in a reconnect storm. The org has 500 people, each connecting in
// turn on SQLite, as `vo bench presence` does.
func BenchmarkStreamConnect(b *testing.B) {
	n := votest.Start(b, storetest.DSN(b, "sqlite"), votest.Options{})
	ctx := context.Background()
	seeded, err := bench.Seed(ctx, n.Store, 500)
	if err != nil {
		b.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(n.HTTP.URL, "http") + "/api/v1/events"
	i := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + seeded.Tokens[i%len(seeded.Tokens)]}}})
		if err != nil {
			b.Fatal(err)
		}
		i++
		c.SetReadLimit(1 << 20)
		for _, want := range []string{`"type":"hello"`, `"type":"snapshot"`} {
			if _, m, err := c.Read(ctx); err != nil || !strings.Contains(string(m), want) {
				b.Fatalf("frame %.40s, %v; want %s", m, err, want)
			}
		}
		c.CloseNow()
	}
	// The machine is shared: the process's CPU time per connect says more
	// than the wall clock.
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
