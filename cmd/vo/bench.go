package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"time"

	"vo/internal/bench"
)

// pinnedEnv marks the re-executed load generator, so it does not pin
// itself again.
const pinnedEnv = "VO_BENCH_PINNED"

// benchCmd runs `vo bench presence` (and, hidden, the bare broadcaster it
// starts as its yardstick: `vo bench bare-server --addr ADDR`).
func benchCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"bench: presence, chat or sip\n" + usage}
	}
	switch args[0] {
	case "presence":
		return benchPresence(ctx, args[1:], stdin, stdout, stderr)
	case "chat":
		return benchChat(ctx, args[1:], stdin, stdout, stderr)
	case "sip":
		return benchSIP(ctx, args[1:], stdin, stdout, stderr)
	case "bare-server", "floor-server":
		fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
		fs.SetOutput(stderr)
		addr := fs.String("addr", "127.0.0.1:8090", "listen address")
		if err := fs.Parse(args[1:]); err != nil {
			return usageError{err.Error()}
		}
		if _, err := bench.RaiseFileLimit(); err != nil {
			return err
		}
		var h http.Handler = bench.NewBare()
		if args[0] == "floor-server" {
			h = bench.NewFloor()
		}
		return bench.ServeYardstick(ctx, *addr, h)
	}
	return usageError{fmt.Sprintf("bench: unknown benchmark %q\n%s", args[0], usage)}
}

func benchPresence(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench presence", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r bench.Run
	fs.IntVar(&r.Watchers, "watchers", 10_000, "connected watchers of the one org")
	fs.IntVar(&r.Changes, "changes", 20, "single status changes, each timed until the last watcher has it")
	fs.IntVar(&r.Burst, "burst", 100, "status changes sent back to back")
	fs.BoolVar(&r.Baseline, "baseline", true, "also measure the bare broadcaster")
	fs.BoolVar(&r.Floor, "floor", true, "also measure the floor: one raw write per watcher, nothing else")
	fs.StringVar(&r.Centrifugo, "centrifugo", "", "also measure this Centrifugo binary, the same way")
	fs.BoolVar(&r.Keep, "keep", false, "keep the data folder and the server logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if _, err := bench.RaiseFileLimit(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cpus, err := bench.CPUs()
	if err != nil {
		return err
	}
	r.ServerCPU = -1
	_, lookErr := exec.LookPath("taskset")
	switch {
	case os.Getenv(pinnedEnv) != "":
		if _, err := fmt.Sscan(os.Getenv(pinnedEnv), &r.ServerCPU); err != nil {
			return err
		}
	case lookErr == nil && len(cpus) >= 2:
		// The servers run on the first core, this load generator on the
		// second: run it again, there.
		err := bench.RunPinned(ctx, cpus[1], []string{pinnedEnv + "=" + fmt.Sprint(cpus[0])}, stdin, stdout, stderr, exe, append([]string{"bench", "presence"}, args...)...)
		if err != nil {
			return fmt.Errorf("bench presence: %w", err)
		}
		return nil
	default:
		fmt.Fprintln(stderr, "vo bench: taskset or a second core is missing: the servers and the load share the cores")
	}
	r.Exe, r.Log = exe, stderr
	res, err := r.Go(ctx)
	if err != nil {
		return err
	}
	if r.ServerCPU >= 0 {
		fmt.Fprintf(stdout, "servers on core %d, load generator on another (GOMAXPROCS follows the affinity)\n", r.ServerCPU)
	}
	if err := bench.Report(stdout, res); err != nil {
		return err
	}
	if !res.Met() {
		return errors.New("bench: a target was missed (see the table)")
	}
	return nil
}

func benchChat(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r bench.ChatRun
	fs.StringVar(&r.Engine, "engine", "sqlite", "database engine: sqlite or postgres")
	fs.StringVar(&r.Postgres, "postgres", os.Getenv("VO_TEST_POSTGRES_URL"), "PostgreSQL server URL, for --engine postgres: the run creates its own database there and drops it")
	fs.IntVar(&r.Members, "members", 50, "members of the one group")
	fs.IntVar(&r.Devices, "devices", 2, "connected devices (sessions with a stream) per member")
	fs.IntVar(&r.Rate, "rate", 1000, "messages a second into the group, spread over the members")
	fs.DurationVar(&r.Duration, "duration", 10*time.Second, "how long the fixed rate is sent (and the back-to-back and bare insert loops run)")
	fs.StringVar(&r.Ejabberd, "ejabberd", "", "also measure Debian's ejabberd the same way: the ejabberdctl binary (say /usr/sbin/ejabberdctl)")
	fs.BoolVar(&r.Keep, "keep", false, "keep the data folder, the database and the server logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if _, err := bench.RaiseFileLimit(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cpu, again, err := pinning(stderr)
	if err != nil {
		return err
	}
	if again >= 0 {
		if err := bench.RunPinned(ctx, again, []string{pinnedEnv + "=" + fmt.Sprint(cpu)}, stdin, stdout, stderr, exe, append([]string{"bench", "chat"}, args...)...); err != nil {
			return fmt.Errorf("bench chat: %w", err)
		}
		return nil
	}
	r.Exe, r.Log, r.ServerCPU = exe, stderr, cpu
	res, err := r.Go(ctx)
	if err != nil {
		return err
	}
	if r.ServerCPU >= 0 {
		fmt.Fprintf(stdout, "servers on core %d, load generator on another\n", r.ServerCPU)
	}
	if err := bench.ReportChat(stdout, res); err != nil {
		return err
	}
	if !res.Met() {
		return errors.New("bench: a target was missed (see the table)")
	}
	return nil
}

func benchSIP(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench sip", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var r bench.SIPRun
	fs.IntVar(&r.Users, "users", 1000, "SIP users (extensions of one org), registered in turn")
	fs.IntVar(&r.Concurrency, "concurrency", 100, "registrations in flight at once, each from its own UDP socket")
	fs.DurationVar(&r.Duration, "duration", 10*time.Second, "how long each run registers")
	fs.IntVar(&r.Runs, "runs", 3, "runs per server; the table shows the medians")
	fs.StringVar(&r.Kamailio, "kamailio", "/usr/sbin/kamailio", "also measure Debian's kamailio the same way: its binary (make bench-peers installs it); empty skips it")
	fs.BoolVar(&r.Keep, "keep", false, "keep the data folder and the server logs")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if r.Kamailio != "" {
		if _, err := exec.LookPath(r.Kamailio); err != nil {
			return fmt.Errorf("bench sip: kamailio: %w (make bench-peers, or --kamailio '' to skip it)", err)
		}
	}
	if _, err := bench.RaiseFileLimit(); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	cpu, again, err := pinning(stderr)
	if err != nil {
		return err
	}
	if again >= 0 {
		if err := bench.RunPinned(ctx, again, []string{pinnedEnv + "=" + fmt.Sprint(cpu)}, stdin, stdout, stderr, exe, append([]string{"bench", "sip"}, args...)...); err != nil {
			return fmt.Errorf("bench sip: %w", err)
		}
		return nil
	}
	r.Exe, r.Log, r.ServerCPU = exe, stderr, cpu
	res, err := r.Go(ctx)
	if err != nil {
		return err
	}
	if r.ServerCPU >= 0 {
		fmt.Fprintf(stdout, "servers on core %d, load generator on another\n", r.ServerCPU)
	}
	if err := bench.ReportSIP(stdout, res); err != nil {
		return err
	}
	if !res.Met() {
		return errors.New("bench: a target was missed (see the table)")
	}
	return nil
}

// pinning decides where the servers run: cpu is their core (-1: unpinned);
// again, when not -1, is the core this load generator must be run again on.
func pinning(stderr io.Writer) (cpu, again int, err error) {
	if v := os.Getenv(pinnedEnv); v != "" {
		_, err := fmt.Sscan(v, &cpu)
		return cpu, -1, err
	}
	cpus, err := bench.CPUs()
	if err != nil {
		return 0, 0, err
	}
	if _, lookErr := exec.LookPath("taskset"); lookErr == nil && len(cpus) >= 2 {
		return cpus[0], cpus[1], nil
	}
	fmt.Fprintln(stderr, "vo bench: taskset or a second core is missing: the servers and the load share the cores")
	return -1, -1, nil
}
