package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
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
	// Floor also measures the floor (see Floor).
	Floor bool
	// Centrifugo, when set, is a Centrifugo binary to measure as well.
	Centrifugo string
	// Keep leaves the data folder and the servers' logs in place.
	Keep bool
}

// Results are the figures of a run; those of a server not measured are
// zero.
type Results struct {
	Vo, Floor, Bare, Centrifugo Figures
}

// Go seeds a fresh data folder and measures vo, then the floor, then the
// bare broadcaster, then Centrifugo.
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
		// Every watcher comes from this machine's one address.
		return []string{r.Exe, "serve", "--data", data, "--addr", addr, "--sip-addr", "127.0.0.1:0", "--max-conns-per-addr", strconv.Itoa(2 * r.Watchers)}
	}, func(base string) Target { return VoTarget(base, seeded) }); err != nil {
		return res, err
	}
	if r.Floor {
		if res.Floor, err = r.measure(ctx, filepath.Join(dir, "floor.log"), "/healthz", func(addr string) []string {
			return []string{r.Exe, "bench", "floor-server", "--addr", addr}
		}, func(base string) Target { return FloorTarget(base, seeded.UserIDs) }); err != nil {
			return res, err
		}
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

// Report writes the table of figures: a column for each server measured
// (vo first, then the floor, the bare broadcaster and Centrifugo), vo's
// ratio to each yardstick measured, and the targets.
func Report(w io.Writer, r Results) error {
	vo := r.Vo
	var cols []Figures // the yardsticks measured
	for _, f := range []Figures{r.Floor, r.Bare, r.Centrifugo} {
		if f.Watchers != 0 {
			cols = append(cols, f)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	us := func(d time.Duration, f Figures) string {
		return fmt.Sprintf("%.2f µs", float64(d)/float64(time.Microsecond)/float64(max(1, f.Watchers*f.Burst)))
	}
	mark := func(ok bool) string {
		if ok {
			return " ok"
		}
		return " MISSED"
	}
	// row writes a metric: its value for each server, vo's ratio to each
	// yardstick (when ratio is set), and the target.
	row := func(metric string, value func(Figures) string, ratio func(Figures) float64, target string) {
		fmt.Fprintf(tw, "%s\t%s\t", metric, value(vo))
		for _, f := range cols {
			fmt.Fprintf(tw, "%s\t", value(f))
		}
		for _, f := range cols {
			if ratio == nil || ratio(f) == 0 {
				fmt.Fprint(tw, "\t")
				continue
			}
			fmt.Fprintf(tw, "%.2f×\t", ratio(vo)/ratio(f))
		}
		fmt.Fprintf(tw, "%s\t\n", target)
	}
	fmt.Fprintf(tw, "metric (%d watchers)\tvo\t", vo.Watchers)
	for _, f := range cols {
		fmt.Fprintf(tw, "%s\t", f.Name)
	}
	for _, f := range cols {
		fmt.Fprintf(tw, "vo/%s\t", f.Name)
	}
	fmt.Fprintln(tw, "target\t")
	row("burst deliveries/s", func(f Figures) string { return fmt.Sprintf("%.0f", f.Rate()) }, Figures.Rate,
		fmt.Sprintf("≥ %d%s", TargetRate, mark(vo.Rate() >= TargetRate)))
	row("median to last watcher", func(f Figures) string { return ms(f.Median()) }, func(f Figures) float64 { return float64(f.Median()) },
		fmt.Sprintf("≤ %s%s", ms(TargetMedian), mark(vo.Median() <= TargetMedian)))
	row("max to last watcher", func(f Figures) string { return ms(f.Max()) }, func(f Figures) float64 { return float64(f.Max()) }, "")
	if vo.RSSAfterKiB != 0 {
		row("KiB per idle connection", func(f Figures) string { return fmt.Sprintf("%.1f", f.PerConnKiB()) }, Figures.PerConnKiB,
			fmt.Sprintf("≤ %.0f%s", TargetPerConnKiB, mark(vo.PerConnKiB() <= TargetPerConnKiB)))
		row("server CPU per change (single)", func(f Figures) string { return ms(f.ChangesCPU / time.Duration(max(1, len(f.Latencies)))) },
			func(f Figures) float64 { return float64(f.ChangesCPU) / float64(max(1, len(f.Latencies))) }, "")
		row("server CPU per delivery (burst)", func(f Figures) string { return us(f.BurstCPU, f) },
			func(f Figures) float64 { return float64(f.CPUPerDelivery()) }, "")
		row("load generator CPU per delivery", func(f Figures) string { return us(f.BurstLoadCPU, f) }, nil, "")
	}
	row("deliveries lost", func(Figures) string { return "0" }, nil, "0 ok")
	row("time to connect all", func(f Figures) string { return f.Connect.Round(time.Millisecond).String() }, nil, "")
	if vo.RSSAfterKiB != 0 {
		row("server CPU to connect all", func(f Figures) string { return f.ConnectCPU.Round(time.Millisecond).String() },
			func(f Figures) float64 { return float64(f.ConnectCPU) }, "")
	}
	return tw.Flush()
}
