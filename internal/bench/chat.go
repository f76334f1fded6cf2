package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/coder/websocket"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"vo/internal/account"
	"vo/internal/store"
)

// ChatRun is a whole `vo bench chat`: one group of Members, each member
// with Devices connected streams, Rate messages a second for Duration
// spread over the members, each timed from its send until every stream
// had it; then the members send back to back for Duration (stored
// messages a second) and a bare insert loop on the same engine and table
// gives the yardstick; then, when Ejabberd is set, the same fixed load
// into a multi-user chat room of ejabberd.
type ChatRun struct {
	Exe       string // the vo binary, run as `Exe serve`
	ServerCPU int    // the core the servers are pinned to; -1 unpinned
	Engine    string // sqlite or postgres
	// Postgres is the server URL whose database is used to create the
	// run's own one (Engine postgres).
	Postgres string
	Members  int
	Devices  int
	Rate     int // messages a second
	Duration time.Duration
	// Ejabberd is the ejabberdctl binary; empty skips ejabberd.
	Ejabberd string
	Keep     bool
	Log      io.Writer
}

// ChatFigures are what one server achieved under the fixed load.
type ChatFigures struct {
	Name      string
	Conns     int
	Sent      int
	Failed    int             // sends not answered as stored
	Lost      int             // messages that did not reach every stream
	Latencies []time.Duration // per message, send until the last stream had it
	SendSpan  time.Duration   // first send to last send
}

// Quantile is the q-th latency (0 < q ≤ 1), nearest rank.
func (f ChatFigures) Quantile(q float64) time.Duration { return quantile(f.Latencies, q) }

func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := int(float64(len(s))*q+0.999999) - 1
	return s[max(0, min(len(s)-1, i))]
}

// SendRate is the rate the messages actually went out at.
func (f ChatFigures) SendRate() float64 {
	if f.SendSpan <= 0 || f.Sent < 2 {
		return 0
	}
	return float64(f.Sent-1) / f.SendSpan.Seconds()
}

// ChatResults are the figures of a run.
type ChatResults struct {
	Engine   string
	Vo       ChatFigures
	Ejabberd ChatFigures // zero when not measured
	// Stored is vo's stored messages a second with the members sending
	// back to back; Bare the bare insert loop's rows a second.
	Stored, Bare float64
}

// The acceptance targets of the chat benchmark.
const (
	TargetChatP99   = 100 * time.Millisecond
	TargetBareRatio = 0.5
)

// Met reports whether vo's figures meet every target.
func (r ChatResults) Met() bool {
	return r.Vo.Lost == 0 && r.Vo.Failed == 0 && r.Vo.Quantile(0.99) <= TargetChatP99 && r.Bare > 0 && r.Stored/r.Bare >= TargetBareRatio
}

func (r *ChatRun) defaults() {
	r.Members = cmpOr(r.Members, 50)
	r.Devices = cmpOr(r.Devices, 2)
	r.Rate = cmpOr(r.Rate, 1000)
	if r.Duration == 0 {
		r.Duration = 10 * time.Second
	}
	if r.Engine == "" {
		r.Engine = "sqlite"
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
}

func cmpOr(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// Go runs the benchmark.
func (r ChatRun) Go(ctx context.Context) (ChatResults, error) {
	r.defaults()
	res := ChatResults{Engine: r.Engine}
	if r.Members < 2 || r.Devices < 1 || r.Rate < 1 || r.Duration <= 0 {
		return res, errors.New("bench chat: members at least 2, devices, rate and duration at least 1")
	}
	if r.Engine != "sqlite" && r.Engine != "postgres" {
		return res, fmt.Errorf("bench chat: engine %q: sqlite or postgres", r.Engine)
	}
	dir, err := os.MkdirTemp("", "vo-bench-chat-")
	if err != nil {
		return res, err
	}
	if r.Keep {
		fmt.Fprintf(r.Log, "data and logs in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	data := filepath.Join(dir, "data")
	dsn := ""
	if r.Engine == "postgres" {
		if dsn, err = createDatabase(ctx, r.Postgres, r.Keep); err != nil {
			return res, err
		}
		if !r.Keep {
			defer dropDatabase(r.Postgres, dsn)
		}
	}
	st, err := store.Open(ctx, store.Options{DSN: dsn, DataDir: data})
	if err != nil {
		return res, err
	}
	seeded, err := Seed(ctx, st, r.Members)
	devices := [][]string{seeded.Tokens}
	for d := 1; d < r.Devices && err == nil; d++ {
		var more []string
		more, err = addSessions(ctx, st, seeded)
		devices = append(devices, more)
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	fmt.Fprintf(r.Log, "seeded one org on %s: %d users, %d sessions each\n", r.Engine, r.Members, r.Devices)

	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	args := []string{"serve", "--data", data, "--addr", addr, "--sip-addr", "127.0.0.1:0", "--max-conns-per-addr", "100000",
		// 1,000 messages a second from 50 members is 20 each, past the
		// production limit (chat.SendRate): raised for this server only.
		"--send-limit", "1000000/1000000", "--log-level", "warn"}
	if dsn != "" {
		args = append(args, "--db", dsn)
	}
	c, err := startChild(ctx, r.ServerCPU, filepath.Join(dir, "vo.log"), addr, "/healthz", r.Exe, args...)
	if err != nil {
		return res, err
	}
	base := "http://" + addr
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxIdleConns: 1000}, Timeout: 60 * time.Second}
	convID, err := createGroup(ctx, hc, base, seeded)
	if err == nil {
		res.Vo, err = r.measureVo(ctx, hc, base, seeded, devices, convID)
	}
	if err == nil {
		res.Stored, err = r.saturate(ctx, hc, base, seeded, convID)
	}
	c.stop()
	if err != nil {
		return res, fmt.Errorf("%w\nvo log: %s", err, c.tail())
	}
	if res.Bare, err = r.bareInserts(ctx, dsn, filepath.Join(data, "vo.db"), convID, seeded.UserIDs[0]); err != nil {
		return res, err
	}
	fmt.Fprintf(r.Log, "bare insert loop: %.0f rows/s; vo stored %.0f/s: %.0f %%\n", res.Bare, res.Stored, 100*res.Stored/res.Bare)
	if r.Ejabberd != "" {
		if res.Ejabberd, err = r.measureEjabberd(ctx, filepath.Join(dir, "ejabberd")); err != nil {
			return res, fmt.Errorf("ejabberd: %w", err)
		}
	}
	return res, nil
}

// addSessions logs every seeded user in once more: a second device.
func addSessions(ctx context.Context, st *store.Store, s Seeded) ([]string, error) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	out := make([]string, 0, len(s.UserIDs))
	for _, id := range s.UserIDs {
		token, err := newSession(ctx, st, s.OrgID, id, now)
		if err != nil {
			return nil, err
		}
		out = append(out, token)
	}
	return out, nil
}

func createDatabase(ctx context.Context, base string, keep bool) (string, error) {
	if base == "" {
		return "", errors.New("bench chat: --postgres URL needed for the postgres engine")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "vo_bench_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("bench chat: create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

func dropDatabase(base, dsn string) {
	u, err := url.Parse(dsn)
	if err != nil {
		return
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return
	}
	defer admin.Close()
	_, _ = admin.Exec(`DROP DATABASE IF EXISTS ` + strings.TrimPrefix(u.Path, "/") + ` WITH (FORCE)`)
}

// createGroup makes the group of every seeded user, created by user 0.
func createGroup(ctx context.Context, hc *http.Client, base string, s Seeded) (string, error) {
	body, _ := json.Marshal(map[string]any{"member_ids": s.UserIDs[1:], "name": "Bench"})
	var conv struct {
		ID string `json:"id"`
	}
	if err := postJSON(ctx, hc, base+"/api/v1/conversations", s.Tokens[0], body, http.StatusCreated, &conv); err != nil {
		return "", err
	}
	return conv.ID, nil
}

func postJSON(ctx context.Context, hc *http.Client, u, token string, body []byte, status int, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		return fmt.Errorf("POST %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// tracker times each message until every one of conns streams had it.
type tracker struct {
	conns int
	base  time.Time
	sent  []atomic.Int64 // ns since base
	last  []atomic.Int64
	got   []atomic.Int32
	done  atomic.Int64 // messages every stream has
	stray atomic.Int64 // arrivals of no message sent, or doubled
	all   chan struct{}
	once  sync.Once
}

func newTracker(n, conns int) *tracker {
	return &tracker{conns: conns, base: time.Now(), sent: make([]atomic.Int64, n), last: make([]atomic.Int64, n),
		got: make([]atomic.Int32, n), all: make(chan struct{})}
}

func (t *tracker) now() int64 { return int64(time.Since(t.base)) }

// arrived notes message seq on one stream at ns.
func (t *tracker) arrived(seq int, ns int64) {
	if seq < 0 || seq >= len(t.sent) {
		t.stray.Add(1)
		return
	}
	for {
		l := t.last[seq].Load()
		if l >= ns || t.last[seq].CompareAndSwap(l, ns) {
			break
		}
	}
	switch g := t.got[seq].Add(1); {
	case int(g) == t.conns:
		if int(t.done.Add(1)) == len(t.sent) {
			t.once.Do(func() { close(t.all) })
		}
	case int(g) > t.conns:
		t.stray.Add(1)
	}
}

// figures fills in the latencies and losses.
func (t *tracker) figures(f *ChatFigures) {
	f.Sent = len(t.sent)
	for i := range t.sent {
		if int(t.got[i].Load()) < t.conns {
			f.Lost++
			continue
		}
		f.Latencies = append(f.Latencies, time.Duration(t.last[i].Load()-t.sent[i].Load()))
	}
	if n := len(t.sent); n > 0 {
		f.SendSpan = time.Duration(t.sent[n-1].Load() - t.sent[0].Load())
	}
}

// pace calls send(i) for every message at rate a second from now, each in
// its own goroutine, noting its send time first; it returns how many sends
// failed once all have returned.
func (t *tracker) pace(rate int, send func(i int) error, log func(error)) int {
	var wg sync.WaitGroup
	var failed atomic.Int64
	var logged atomic.Bool
	start := time.Now()
	for i := range t.sent {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
			time.Sleep(d)
		}
		t.sent[i].Store(t.now())
		wg.Go(func() {
			if err := send(i); err != nil {
				failed.Add(1)
				if !logged.Swap(true) {
					log(err)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// wait waits until every message reached every stream, or timeout.
func (t *tracker) wait(timeout time.Duration) {
	select {
	case <-t.all:
	case <-time.After(timeout):
	}
}

// messageSeq finds the message number of a vo event frame: its client_id
// is "m<seq>"; -1 for any other frame.
func messageSeq(frame []byte) int {
	if !bytes.Contains(frame, []byte(`"type":"message"`)) {
		return -1
	}
	_, rest, ok := bytes.Cut(frame, []byte(`"client_id":"m`))
	if !ok {
		return -1
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(string(rest[:end]))
	if err != nil {
		return -1
	}
	return n
}

func (r ChatRun) measureVo(ctx context.Context, hc *http.Client, base string, s Seeded, devices [][]string, convID string) (ChatFigures, error) {
	fig := ChatFigures{Name: "vo", Conns: r.Members * r.Devices}
	n := int(int64(r.Rate) * int64(r.Duration) / int64(time.Second))
	t := newTracker(n, fig.Conns)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(base, "http") + "/api/v1/events"
	var ready sync.WaitGroup
	var dropped atomic.Int64
	var why atomic.Pointer[string] // the first close's error, which names the server's reason
	var streams sync.WaitGroup
	for _, tokens := range devices {
		for _, token := range tokens {
			c, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
			if err != nil {
				return fig, fmt.Errorf("connect a stream: %w", err)
			}
			c.SetReadLimit(1 << 20)
			ready.Add(1)
			streams.Go(func() {
				defer c.CloseNow()
				snapshot := false
				for {
					_, m, err := c.Read(ctx)
					if err != nil {
						if ctx.Err() == nil {
							dropped.Add(1)
							msg := err.Error()
							why.CompareAndSwap(nil, &msg)
						}
						if !snapshot {
							ready.Done()
						}
						return
					}
					if !snapshot {
						if bytes.Contains(m, []byte(`"type":"snapshot"`)) {
							snapshot = true
							ready.Done()
						}
						continue
					}
					if seq := messageSeq(m); seq >= 0 {
						t.arrived(seq, t.now())
					}
				}
			})
		}
	}
	ready.Wait()
	if dropped.Load() > 0 {
		return fig, errors.New("a stream closed before its snapshot")
	}
	fmt.Fprintf(r.Log, "vo: %d streams ready; sending %d messages at %d/s into the group of %d\n", fig.Conns, n, r.Rate, r.Members)
	warm(ctx, hc, base+"/healthz", 200)
	fig.Failed = t.pace(r.Rate, func(i int) error {
		body := fmt.Appendf(nil, `{"client_id":"m%d","text":"bench message %d"}`, i, i)
		return postJSON(ctx, hc, base+"/api/v1/conversations/"+convID+"/messages", s.Tokens[i%r.Members], body, http.StatusCreated, nil)
	}, func(err error) { fmt.Fprintf(r.Log, "vo: a send failed: %v\n", err) })
	t.wait(30 * time.Second)
	time.Sleep(200 * time.Millisecond) // anything doubled shows now
	t.figures(&fig)
	cancel()
	streams.Wait()
	if st := t.stray.Load(); st > 0 {
		return fig, fmt.Errorf("vo: %d message frames doubled or unknown", st)
	}
	if d := dropped.Load(); d > 0 {
		return fig, fmt.Errorf("vo: the server closed %d streams (the first: %s)", d, *why.Load())
	}
	fmt.Fprintf(r.Log, "vo: sent at %.0f/s; p50 %v, p99 %v, max %v until all %d streams; %d failed, %d lost\n", fig.SendRate(),
		fig.Quantile(0.5).Round(time.Microsecond), fig.Quantile(0.99).Round(time.Microsecond), fig.Quantile(1).Round(time.Microsecond), fig.Conns, fig.Failed, fig.Lost)
	return fig, nil
}

// saturate has every member send back to back for the run's duration and
// returns the messages stored (answered 201) a second. No stream is
// connected: it measures the store path.
func (r ChatRun) saturate(ctx context.Context, hc *http.Client, base string, s Seeded, convID string) (float64, error) {
	var stored atomic.Int64
	var firstErr atomic.Pointer[error]
	stop := time.Now().Add(r.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for u := range r.Members {
		wg.Go(func() {
			for k := 0; time.Now().Before(stop); k++ {
				body := fmt.Appendf(nil, `{"client_id":"s%d-%d","text":"saturation %d"}`, u, k, k)
				if err := postJSON(ctx, hc, base+"/api/v1/conversations/"+convID+"/messages", s.Tokens[u], body, http.StatusCreated, nil); err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
				stored.Add(1)
			}
		})
	}
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return 0, fmt.Errorf("vo: saturation: %w", *e)
	}
	rate := float64(stored.Load()) / time.Since(start).Seconds()
	fmt.Fprintf(r.Log, "vo: %d members sending back to back: %.0f messages stored/s\n", r.Members, rate)
	return rate, nil
}

// bareInserts is the yardstick: plain INSERTs into the same database's
// messages table, one statement (its own transaction) after another, in
// this process, for the run's duration, with the store's connection
// settings (on SQLite: WAL, synchronous NORMAL).
func (r ChatRun) bareInserts(ctx context.Context, dsn, sqlitePath, convID, senderID string) (float64, error) {
	var db *sql.DB
	var err error
	q := `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`
	if dsn != "" {
		db, err = sql.Open("pgx", dsn)
		q = `INSERT INTO messages (id, conversation_id, seq, sender_id, client_id, text, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	} else {
		db, err = sql.Open("sqlite", "file:"+sqlitePath+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)")
	}
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	stop := time.Now().Add(r.Duration)
	start := time.Now()
	n := 0
	for ; time.Now().Before(stop); n++ {
		at := time.Now().UnixMilli()
		if _, err := db.ExecContext(ctx, q, account.NewID("m"), convID, 1_000_000_000+n, senderID, fmt.Sprintf("bare-%d", n), fmt.Sprintf("bare message %d", n), at); err != nil {
			return 0, fmt.Errorf("bare insert: %w", err)
		}
	}
	return float64(n) / time.Since(start).Seconds(), nil
}

// ReportChat writes the table of figures.
func ReportChat(w io.Writer, r ChatResults) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	mark := func(ok bool) string {
		if ok {
			return " ok"
		}
		return " MISSED"
	}
	ej := r.Ejabberd.Sent > 0
	cols := "vo (" + r.Engine + ")\t"
	if ej {
		cols += "ejabberd\t"
	}
	fmt.Fprintf(tw, "metric (%d streams)\t%starget\t\n", r.Vo.Conns, cols)
	row := func(metric string, v func(ChatFigures) string, target string) {
		fmt.Fprintf(tw, "%s\t%s\t", metric, v(r.Vo))
		if ej {
			fmt.Fprintf(tw, "%s\t", v(r.Ejabberd))
		}
		fmt.Fprintf(tw, "%s\t\n", target)
	}
	row("messages sent", func(f ChatFigures) string { return strconv.Itoa(f.Sent) }, "")
	row("sent per second", func(f ChatFigures) string { return fmt.Sprintf("%.0f", f.SendRate()) }, "")
	row("p50 send to all streams", func(f ChatFigures) string { return ms(f.Quantile(0.5)) }, "")
	p99 := r.Vo.Quantile(0.99)
	row("p99 send to all streams", func(f ChatFigures) string { return ms(f.Quantile(0.99)) }, fmt.Sprintf("≤ %s%s", ms(TargetChatP99), mark(p99 <= TargetChatP99)))
	row("max send to all streams", func(f ChatFigures) string { return ms(f.Quantile(1)) }, "")
	row("sends failed", func(f ChatFigures) string { return strconv.Itoa(f.Failed) }, fmt.Sprintf("0%s", mark(r.Vo.Failed == 0)))
	row("messages lost", func(f ChatFigures) string { return strconv.Itoa(f.Lost) }, fmt.Sprintf("0%s", mark(r.Vo.Lost == 0)))
	na := func(s string) func(ChatFigures) string {
		return func(f ChatFigures) string {
			if f.Name == "vo" {
				return s
			}
			return "-"
		}
	}
	row("stored/s, back to back", na(fmt.Sprintf("%.0f", r.Stored)), "")
	row("bare insert loop rows/s", na(fmt.Sprintf("%.0f", r.Bare)), "")
	ratio := 0.0
	if r.Bare > 0 {
		ratio = r.Stored / r.Bare
	}
	row("stored / bare", na(fmt.Sprintf("%.0f %%", 100*ratio)), fmt.Sprintf("≥ %.0f %%%s", 100*TargetBareRatio, mark(ratio >= TargetBareRatio)))
	return tw.Flush()
}
