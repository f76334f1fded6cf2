// Package bench measures presence fan-out at scale against a real peer:
// one org with thousands of WebSocket watchers on one node, one status
// change fanned out to all of them, a burst of changes back to back, and
// the memory each idle connection holds. `vo bench presence` runs the
// server as a child process pinned to one core and the watchers on
// another, and measures the floor (one raw write per watcher, nothing
// else), a bare goroutine-per-connection broadcaster and, when given its
// binary, Centrifugo the same way in the same run, so that every figure
// comes with its yardsticks.
package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configure a measurement.
type Options struct {
	Watchers int // connected watchers of the one org
	Changes  int // single changes, each awaited by every watcher
	Burst    int // changes sent back to back
	// Settle is how long the server idles after the last watcher connected
	// before its memory is read.
	Settle time.Duration
	// Log receives progress lines; nil discards them.
	Log io.Writer
}

func (o *Options) defaults() {
	if o.Watchers == 0 {
		o.Watchers = 10_000
	}
	if o.Changes == 0 {
		o.Changes = 20
	}
	if o.Burst == 0 {
		o.Burst = 100
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

func (o *Options) check() error {
	if o.Watchers < 1 || o.Changes < 1 || o.Burst < 1 {
		return errors.New("watchers, changes and burst must be at least 1")
	}
	if o.Burst+1 > o.Watchers {
		return fmt.Errorf("a burst of %d changes needs at least %d watchers (each change is a different user)", o.Burst, o.Burst+1)
	}
	return nil
}

// Figures are what one server achieved.
type Figures struct {
	Name     string
	Watchers int
	Connect  time.Duration // until every watcher was ready
	// ConnectCPU is the CPU time the server used meanwhile (zero when it
	// runs in this process): on a shared machine it says more than the
	// wall clock.
	ConnectCPU time.Duration
	// Resident memory of the server before the watchers connected and once
	// they idle; zero when the server runs in this process.
	RSSBeforeKiB, RSSAfterKiB int64
	Latencies                 []time.Duration // per single change, until the last watcher had it
	Burst                     int             // changes in the burst
	BurstTime                 time.Duration   // from the first send until every watcher had all
	// CPU time the server used for the single changes and for the burst
	// (zero when it runs in this process), and this load generator for the
	// burst.
	ChangesCPU, BurstCPU, BurstLoadCPU time.Duration
}

// Median is the median time until the last watcher had a change.
func (f Figures) Median() time.Duration { return median(f.Latencies) }

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Max is the slowest single change.
func (f Figures) Max() time.Duration {
	if len(f.Latencies) == 0 {
		return 0
	}
	return slices.Max(f.Latencies)
}

// Rate is the burst's deliveries per second.
func (f Figures) Rate() float64 {
	if f.BurstTime <= 0 {
		return 0
	}
	return float64(f.Watchers*f.Burst) / f.BurstTime.Seconds()
}

// CPUPerDelivery is the server's CPU time per delivery in the burst.
func (f Figures) CPUPerDelivery() time.Duration {
	if f.Watchers == 0 || f.Burst == 0 {
		return 0
	}
	return f.BurstCPU / time.Duration(f.Watchers*f.Burst)
}

// PerConnKiB is the resident memory each idle connection costs.
func (f Figures) PerConnKiB() float64 {
	if f.RSSAfterKiB == 0 || f.Watchers == 0 {
		return 0
	}
	return float64(f.RSSAfterKiB-f.RSSBeforeKiB) / float64(f.Watchers)
}

// Proto is what a target's stream speaks.
type Proto int

// The protocols the watchers speak.
const (
	// Events is SPEC §5: hello, snapshot, then events with cursors.
	Events Proto = iota
	// Centrifugo is Centrifugo's JSON protocol, subscribed to one channel.
	Centrifugo
)

// Target is a server under test, reached over HTTP.
type Target struct {
	Name  string
	Proto Proto
	// Greet are the frames a watcher sends once connected.
	Greet [][]byte
	// Base is the server's HTTP address (http://host:port); it answers
	// GET /healthz.
	Base string
	// URL is the event stream's WebSocket URL.
	URL string
	// Header is what watcher i sends when it connects.
	Header func(i int) http.Header
	// Users are the ids of the users the watchers' events are about:
	// Users[0] makes the single changes, Users[1:Burst+1] the burst.
	Users []string
	// Change makes user i's k-th change and returns its presence version.
	Change func(ctx context.Context, hc *http.Client, i, k int) (int64, error)
	// PID is the server's process, whose memory is read; 0 for none.
	PID int
}

// Timeouts of one measurement: a run that exceeds one has lost deliveries.
const (
	changeTimeout = 30 * time.Second
	burstTimeout  = 120 * time.Second
)

// Measure connects the watchers to t, runs the single changes and the
// burst, and returns the figures. Any delivery lost, duplicated or out of
// order, and any watcher disconnected, fails it.
func Measure(ctx context.Context, t Target, o Options) (Figures, error) {
	o.defaults()
	if err := o.check(); err != nil {
		return Figures{}, err
	}
	fig := Figures{Name: t.Name, Watchers: o.Watchers, Burst: o.Burst}
	var err error
	if t.PID != 0 {
		time.Sleep(o.Settle)
		if fig.RSSBeforeKiB, err = rssKiB(t.PID); err != nil {
			return fig, err
		}
	}
	cpu := func() time.Duration {
		if t.PID == 0 {
			return 0
		}
		d, _ := cpuTime(t.PID)
		return d
	}
	fmt.Fprintf(o.Log, "%s: connecting %d watchers\n", t.Name, o.Watchers)
	cpu0 := cpu()
	start := time.Now()
	f, err := connect(ctx, o.Watchers, t, 30*time.Minute)
	if err != nil {
		return fig, fmt.Errorf("%s: connect: %w", t.Name, err)
	}
	defer f.close()
	fig.Connect = time.Since(start)
	fig.ConnectCPU = cpu() - cpu0
	fmt.Fprintf(o.Log, "%s: %d watchers connected in %v; server CPU %v\n", t.Name, o.Watchers, fig.Connect.Round(time.Millisecond), fig.ConnectCPU)
	if t.PID != 0 {
		time.Sleep(o.Settle)
		if fig.RSSAfterKiB, err = rssKiB(t.PID); err != nil {
			return fig, err
		}
		fmt.Fprintf(o.Log, "%s: resident memory %d KiB idle, %d KiB with the watchers: %.1f KiB each\n", t.Name, fig.RSSBeforeKiB, fig.RSSAfterKiB, fig.PerConnKiB())
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Burst + 1}, Timeout: burstTimeout}
	defer hc.CloseIdleConnections()
	cpu0 = cpu()

	var answered, firsts []time.Duration
	for k := range o.Changes {
		p := newPhase(o.Watchers, t.Users[0], nil)
		var version int64
		d, first, err := f.awaitSpan(ctx, p, changeTimeout, func() error {
			var err error
			t0 := time.Now()
			version, err = t.Change(ctx, hc, 0, k)
			answered = append(answered, time.Since(t0))
			return err
		})
		if err != nil {
			return fig, fmt.Errorf("%s: change %d: %w", t.Name, k+1, err)
		}
		for i, v := range p.vers {
			if v != version {
				return fig, fmt.Errorf("%s: change %d: watcher %d saw version %d, not %d", t.Name, k+1, i, v, version)
			}
		}
		fig.Latencies = append(fig.Latencies, d)
		firsts = append(firsts, first)
		time.Sleep(50 * time.Millisecond) // let the server idle between changes
	}
	fig.ChangesCPU = cpu() - cpu0
	fmt.Fprintf(o.Log, "%s: %d single changes: median %v, max %v until the last watcher (medians: the change answered after %v, the first watcher had it after %v); server CPU %v\n",
		t.Name, o.Changes, fig.Median().Round(time.Microsecond), fig.Max().Round(time.Microsecond),
		median(answered).Round(time.Microsecond), median(firsts).Round(time.Microsecond), fig.ChangesCPU)

	warm(ctx, hc, t.Base+"/healthz", o.Burst)
	cpu0 = cpu()
	load0, _ := cpuTime(os.Getpid())
	p := newPhase(o.Watchers, "", t.Users[1:o.Burst+1])
	errs := make(chan error, o.Burst)
	fig.BurstTime, err = f.await(ctx, p, burstTimeout, func() error {
		for i := 1; i <= o.Burst; i++ {
			go func() {
				_, err := t.Change(ctx, hc, i, 0)
				errs <- err
			}()
		}
		return nil
	})
	fig.BurstCPU = cpu() - cpu0
	load1, _ := cpuTime(os.Getpid())
	fig.BurstLoadCPU = load1 - load0
	if err != nil {
		return fig, fmt.Errorf("%s: burst: %w", t.Name, err)
	}
	// Every change reached every watcher; a request that failed even so
	// (Centrifugo answers a publish only once it has queued it for every
	// watcher, and cuts off answers after 10 s) does not change the figures.
	failed, firstErr := 0, error(nil)
	for range o.Burst {
		if err := <-errs; err != nil {
			failed++
			firstErr = cmp.Or(firstErr, err)
		}
	}
	if failed > 0 {
		fmt.Fprintf(o.Log, "%s: burst: %d requests failed after their change was delivered: %v\n", t.Name, failed, firstErr)
	}
	fmt.Fprintf(o.Log, "%s: burst of %d changes reached all in %v: %.0f deliveries/s; CPU: server %v, load generator %v\n",
		t.Name, o.Burst, fig.BurstTime.Round(time.Millisecond), fig.Rate(), fig.BurstCPU, fig.BurstLoadCPU)
	time.Sleep(500 * time.Millisecond) // anything late or doubled shows now
	if err := f.fault(); err != nil {
		return fig, fmt.Errorf("%s: %w", t.Name, err)
	}
	return fig, nil
}

// warm opens the burst's HTTP connections ahead, so that the burst times
// deliveries rather than TCP handshakes.
func warm(ctx context.Context, hc *http.Client, u string, n int) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			if resp, err := hc.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
}

// VoTarget is the Virtual Office event stream at base (http://host:port)
// for the seeded org. User 0 alternates dnd and available; the others go
// dnd once.
func VoTarget(base string, s Seeded) Target {
	return Target{
		Name: "vo",
		Base: base,
		URL:  "ws" + strings.TrimPrefix(base, "http") + "/api/v1/events",
		Header: func(i int) http.Header {
			return http.Header{"Authorization": {"Bearer " + s.Tokens[i]}}
		},
		Users: s.UserIDs,
		Change: func(ctx context.Context, hc *http.Client, i, k int) (int64, error) {
			status := "dnd"
			if k%2 == 1 {
				status = "available"
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/api/v1/me/presence", strings.NewReader(`{"status":"`+status+`"}`))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Authorization", "Bearer "+s.Tokens[i])
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				return 0, err
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return 0, fmt.Errorf("PUT presence: %s: %s", resp.Status, bytes.TrimSpace(body))
			}
			var p struct {
				Version int64 `json:"version"`
			}
			if err := json.Unmarshal(body, &p); err != nil {
				return 0, fmt.Errorf("PUT presence: %w", err)
			}
			return p.Version, nil
		},
	}
}

// BareTarget is the bare broadcaster at base, carrying presence events of
// the same shape and users as VoTarget.
func BareTarget(base string, users []string) Target {
	return Target{
		Name:   "bare",
		Base:   base,
		URL:    "ws" + strings.TrimPrefix(base, "http") + "/ws",
		Header: func(int) http.Header { return nil },
		Users:  users,
		Change: publisher(base+"/publish", users, "%s", http.StatusNoContent),
	}
}

// FloorTarget is the floor server (see Floor) at base, carrying the same
// events as BareTarget.
func FloorTarget(base string, users []string) Target {
	t := BareTarget(base, users)
	t.Name = "floor"
	return t
}

// CentrifugoTarget is Centrifugo (https://centrifugal.dev) at base, run
// with client.insecure and http_api.insecure: each watcher connects
// anonymously and subscribes to one channel, and every change is published
// to it through the server API, with the same data as BareTarget's.
func CentrifugoTarget(base string, users []string) Target {
	return Target{
		Name:   "centrifugo",
		Proto:  Centrifugo,
		Greet:  [][]byte{[]byte(`{"id":1,"connect":{}}`), []byte(`{"id":2,"subscribe":{"channel":"org"}}`)},
		Base:   base,
		URL:    "ws" + strings.TrimPrefix(base, "http") + "/connection/websocket",
		Header: func(int) http.Header { return nil },
		Users:  users,
		Change: publisher(base+"/api/publish", users, `{"channel":"org","data":%s}`, http.StatusOK),
	}
}

// publisher returns a Change that POSTs user i's presence, formatted into
// body, to url, and expects status.
func publisher(url string, users []string, body string, status int) func(context.Context, *http.Client, int, int) (int64, error) {
	var mu sync.Mutex
	versions := map[int]int64{}
	return func(ctx context.Context, hc *http.Client, i, k int) (int64, error) {
		mu.Lock()
		versions[i]++
		v := versions[i] + 2 // as after seeding: created, then logged in
		mu.Unlock()
		shown := "busy"
		if k%2 == 1 {
			shown = "available"
		}
		data := fmt.Sprintf(`{"user_id":%q,"shown":%q,"activity":null,"message":"","version":%d}`, users[i], shown, v)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(fmt.Sprintf(body, data)))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != status {
			return 0, fmt.Errorf("POST %s: %s", url, resp.Status)
		}
		return v, nil
	}
}
