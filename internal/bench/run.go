package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"vo/internal/store"
)

// Run is a whole `vo bench presence`: every server a child process.
type Run struct {
	Options
	// Exe is the vo binary: `Exe serve` is the server under test and
	// `Exe bench bare-server` the bare broadcaster.
	Exe string
	// ServerCPU is the core the servers are pinned to; -1 leaves them
	// unpinned.
	ServerCPU int
	// Baseline also measures the bare broadcaster.
	Baseline bool
	// Centrifugo, when set, is a Centrifugo binary to measure as well.
	Centrifugo string
	// Keep leaves the data folder and the servers' logs in place.
	Keep bool
}

// Results are the figures of a run; those of a server not measured are
// zero.
type Results struct {
	Vo, Bare, Centrifugo Figures
}

// Go seeds a fresh data folder and measures vo, then the bare broadcaster,
// then Centrifugo.
func (r Run) Go(ctx context.Context) (Results, error) {
	var res Results
	r.defaults()
	if err := r.check(); err != nil {
		return res, err
	}
	dir, err := os.MkdirTemp("", "vo-bench-")
	if err != nil {
		return res, err
	}
	if r.Keep {
		fmt.Fprintf(r.Log, "data and logs in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	data := filepath.Join(dir, "data")
	fmt.Fprintf(r.Log, "seeding one org with %d users, one session each\n", r.Watchers)
	t0 := time.Now()
	st, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		return res, err
	}
	seeded, err := Seed(ctx, st, r.Watchers)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	fmt.Fprintf(r.Log, "seeded in %v\n", time.Since(t0).Round(time.Millisecond))

	if res.Vo, err = r.measure(ctx, filepath.Join(dir, "vo.log"), "/healthz", func(addr string) []string {
		return []string{r.Exe, "serve", "--data", data, "--addr", addr}
	}, func(base string) Target { return VoTarget(base, seeded) }); err != nil {
		return res, err
	}
	if r.Baseline {
		if res.Bare, err = r.measure(ctx, filepath.Join(dir, "bare.log"), "/healthz", func(addr string) []string {
			return []string{r.Exe, "bench", "bare-server", "--addr", addr}
		}, func(base string) Target { return BareTarget(base, seeded.UserIDs) }); err != nil {
			return res, err
		}
	}
	if r.Centrifugo != "" {
		cfg := filepath.Join(dir, "centrifugo.json")
		if res.Centrifugo, err = r.measure(ctx, filepath.Join(dir, "centrifugo.log"), "/health", func(addr string) []string {
			_, port, _ := net.SplitHostPort(addr)
			conf := fmt.Sprintf(`{"http_server": {"address": "127.0.0.1", "port": %s}, "log": {"level": "error"},
				"client": {"insecure": true}, "http_api": {"insecure": true}, "health": {"enabled": true}}`, port)
			if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
				return nil
			}
			return []string{r.Centrifugo, "-c", cfg}
		}, func(base string) Target { return CentrifugoTarget(base, seeded.UserIDs) }); err != nil {
			return res, err
		}
	}
	return res, nil
}

// measure starts a server with the command that cmd returns for a free
// address, measures it as target says, and stops it.
func (r Run) measure(ctx context.Context, logPath, health string, cmd func(addr string) []string, target func(base string) Target) (Figures, error) {
	addr, err := freeAddr()
	if err != nil {
		return Figures{}, err
	}
	args := cmd(addr)
	if args == nil {
		return Figures{}, fmt.Errorf("bench: cannot prepare %s", logPath)
	}
	c, err := startChild(ctx, r.ServerCPU, logPath, addr, health, args[0], args[1:]...)
	if err != nil {
		return Figures{}, err
	}
	t := target("http://" + addr)
	t.PID = c.pid()
	fig, err := Measure(ctx, t, r.Options)
	c.stop()
	if err != nil {
		return fig, fmt.Errorf("%w\n%s log: %s", err, t.Name, c.tail())
	}
	return fig, nil
}

// The acceptance targets of the presence fan-out.
const (
	TargetRate       = 450_000                // deliveries per second, at least
	TargetMedian     = 130 * time.Millisecond // until the last watcher, at most
	TargetPerConnKiB = 16.0                   // per idle connection, at most
)

// Met reports whether vo's figures meet every target.
func (r Results) Met() bool {
	v := r.Vo
	return v.Rate() >= TargetRate && v.Median() <= TargetMedian && (v.RSSAfterKiB == 0 || v.PerConnKiB() <= TargetPerConnKiB)
}

// Report writes the table of figures: metric, vo, bare, vo/bare, target,
// and Centrifugo's when it was measured.
func Report(w io.Writer, r Results) error {
	vo, bare, cf := r.Vo, r.Bare, r.Centrifugo
	withCf := cf.Watchers != 0
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	us := func(d time.Duration, f Figures) string {
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond)/float64(max(1, f.Watchers*f.Burst)))
	}
	ratio := func(a, b float64) string {
		if b == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f×", a/b)
	}
	mark := func(ok bool) string {
		if ok {
			return " ok"
		}
		return " MISSED"
	}
	withBare := bare.Watchers != 0
	row := func(metric, v, b, rat, target, c string) {
		if !withBare {
			b, rat = "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t", metric, v, b, rat, target)
		if withCf {
			fmt.Fprintf(tw, "%s\t", c)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "metric (%d watchers)\tvo\tbare\tvo/bare\ttarget\t", vo.Watchers)
	if withCf {
		fmt.Fprint(tw, "centrifugo\t")
	}
	fmt.Fprintln(tw)
	row("burst deliveries/s", fmt.Sprintf("%.0f", vo.Rate()), fmt.Sprintf("%.0f", bare.Rate()), ratio(vo.Rate(), bare.Rate()),
		fmt.Sprintf("≥ %d%s", TargetRate, mark(vo.Rate() >= TargetRate)), fmt.Sprintf("%.0f", cf.Rate()))
	row("median to last watcher", ms(vo.Median()), ms(bare.Median()), ratio(float64(vo.Median()), float64(bare.Median())),
		fmt.Sprintf("≤ %s%s", ms(TargetMedian), mark(vo.Median() <= TargetMedian)), ms(cf.Median()))
	row("max to last watcher", ms(vo.Max()), ms(bare.Max()), ratio(float64(vo.Max()), float64(bare.Max())), "", ms(cf.Max()))
	if vo.RSSAfterKiB != 0 {
		row("KiB per idle connection", fmt.Sprintf("%.1f", vo.PerConnKiB()), fmt.Sprintf("%.1f", bare.PerConnKiB()), ratio(vo.PerConnKiB(), bare.PerConnKiB()),
			fmt.Sprintf("≤ %.0f%s", TargetPerConnKiB, mark(vo.PerConnKiB() <= TargetPerConnKiB)), fmt.Sprintf("%.1f", cf.PerConnKiB()))
		row("server CPU per delivery (burst)", us(vo.BurstCPU, vo), us(bare.BurstCPU, bare),
			ratio(float64(vo.CPUPerDelivery()), float64(bare.CPUPerDelivery())), "", us(cf.BurstCPU, cf))
		row("load generator CPU per delivery", us(vo.BurstLoadCPU, vo), us(bare.BurstLoadCPU, bare), "", "", us(cf.BurstLoadCPU, cf))
	}
	row("deliveries lost", "0", "0", "", "0 ok", "0")
	row("time to connect all", vo.Connect.Round(time.Millisecond).String(), bare.Connect.Round(time.Millisecond).String(), "", "", cf.Connect.Round(time.Millisecond).String())
	return tw.Flush()
}
