// Command vo is Virtual Office: `vo serve` runs the server, `vo admin`
// provisions orgs and people against the same database.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, "vo:", err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "vo:", oneLine(err.Error()))
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `usage:
  vo serve [--addr ADDR] [--data DIR] [--db DSN] [--blobs dir|postgres|s3://BUCKET?endpoint=HOST:PORT] [--nats URL] [--demo]
  vo admin org create --slug SLUG --name NAME
  vo admin user create --org SLUG --email EMAIL --name NAME --extension EXT [--number E164] [--role admin|member] --password-stdin
  vo admin user import --org SLUG FILE.csv
  vo admin user set-password --email EMAIL --password-stdin
  vo admin user deactivate --email EMAIL
  vo admin backup --out FILE.tar     (while serving; on PostgreSQL the files only: the database is pg_dump's)
  vo admin restore --from FILE.tar   (into a new --data folder, or the --db/--blobs a pg_restore filled)
  vo bench presence [--watchers 10000] [--changes 20] [--burst 100] [--baseline=false] [--centrifugo PATH] [--keep]
  vo bench chat [--engine sqlite|postgres] [--postgres URL] [--rate 1000] [--duration 10s] [--members 50] [--devices 2] [--ejabberd /usr/sbin/ejabberdctl] [--keep]
  vo bench sip [--users 1000] [--concurrency 100] [--duration 10s] [--runs 3] [--kamailio /usr/sbin/kamailio] [--keep]
Every flag has an environment variable: VO_ADDR, VO_DATA, VO_DB, VO_BLOBS, VO_NATS.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"a command is needed\n" + usage}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr)
	case "admin":
		return adminCmd(ctx, args[1:], stdin, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], stdin, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q\n%s", args[0], usage)}
}

func oneLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

// logger builds the process logger from --log-format and --log-level;
// a bad value is a usage error so a typo never silently hides errors.
func logger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	switch level {
	case "debug":
		lv = slog.LevelDebug
	case "info":
		lv = slog.LevelInfo
	case "warn":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	default:
		return nil, usageError{"--log-level must be debug, info, warn or error, not " + strconv.Quote(level)}
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{"--log-format must be text or json, not " + strconv.Quote(format)}
}
