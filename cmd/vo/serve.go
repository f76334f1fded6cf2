package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"vo/internal/chat"
	"vo/internal/clock"
	"vo/internal/demo"
	"vo/internal/httpapi"
	"vo/internal/metrics"
	"vo/internal/node"
	"vo/internal/store"
	"vo/internal/telephony"
	"vo/web"
)

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

// commonFlags are the flags serve and admin share.
type commonFlags struct {
	data, db, blobs string
}

func (c *commonFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.data, "data", env("VO_DATA", "./vo-data"), "data folder: the SQLite database and stored files (VO_DATA)")
	fs.StringVar(&c.db, "db", env("VO_DB", ""), "database: empty for SQLite in the data folder, or a postgres:// URL (VO_DB)")
	fs.StringVar(&c.blobs, "blobs", env("VO_BLOBS", ""), "stored files: dir (the data folder; the SQLite default), postgres (the PostgreSQL default) or s3://BUCKET?endpoint=HOST:PORT&region=R&insecure=1, keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (VO_BLOBS)")
}

func (c *commonFlags) open(ctx context.Context) (*store.Store, error) {
	return store.Open(ctx, store.Options{DSN: c.db, DataDir: c.data})
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c commonFlags
	c.register(fs)
	var tf turnFlags
	tf.register(fs)
	addr := fs.String("addr", env("VO_ADDR", "127.0.0.1:8080"), "HTTP listen address (VO_ADDR)")
	sipAddr := fs.String("sip-addr", env("VO_SIP_ADDR", telephony.DefaultSIPAddr), "SIP registrar and call server, UDP and TCP, where desk phones and softphones register (say 0.0.0.0:5060); on every address, GET /api/v1/me/sip names the host the app reached (VO_SIP_ADDR)")
	callMedia := fs.String("call-media-addr", env("VO_CALL_MEDIA_ADDR", "127.0.0.1:0"), "UDP address the media of the app's calls arrives on (WebRTC through the server; say 0.0.0.0:7883 to reach it from the network; port 0: a free port); empty: the app cannot call (VO_CALL_MEDIA_ADDR)")
	callMediaIP := fs.String("call-media-ip", env("VO_CALL_MEDIA_IP", ""), "address announced to apps for --call-media-addr when it listens on every address or behind a 1:1 NAT, comma-separated (VO_CALL_MEDIA_IP)")
	natsURL := fs.String("nats", env("VO_NATS", ""), "NATS URL joining several nodes on one PostgreSQL database (VO_NATS)")
	withDemo := fs.Bool("demo", env("VO_DEMO", "") == "1", "create the demo org once and print how to log in")
	proxies := fs.String("trusted-proxies", env("VO_TRUSTED_PROXIES", ""), "reverse proxies (IPs or CIDR prefixes, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed (VO_TRUSTED_PROXIES)")
	maxConns := fs.String("max-conns-per-addr", env("VO_MAX_CONNS_PER_ADDR", "256"), "connections one client address may hold open; raise it for an office behind one NAT address (VO_MAX_CONNS_PER_ADDR)")
	logFormat := fs.String("log-format", env("VO_LOG_FORMAT", "text"), "log format: text or json (VO_LOG_FORMAT)")
	metricsAddr := fs.String("metrics-addr", env("VO_METRICS_ADDR", ""), "address serving Prometheus metrics at /metrics, never the public one; empty: off (VO_METRICS_ADDR)")
	pushSubject := fs.String("push-subject", env("VO_PUSH_SUBJECT", ""), "contact for Web Push services (RFC 8292 VAPID sub), a mailto: or https: URL; Apple's push service refuses a localhost one; empty: mailto:admin@localhost (VO_PUSH_SUBJECT)")
	sendLimit := fs.String("send-limit", env("VO_SEND_LIMIT", fmt.Sprintf("%d/%d", chat.SendRate, chat.SendBurst)), "chat messages one user may send: RATE/BURST, a second and at once; raise it only for a load benchmark (VO_SEND_LIMIT)")
	logLevel := fs.String("log-level", env("VO_LOG_LEVEL", "info"), "log level: debug, info, warn or error (VO_LOG_LEVEL)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	lg, err := logger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	sendRate, sendBurst, err := parseSendLimit(*sendLimit)
	if err != nil {
		return err
	}
	perAddr, err := strconv.Atoi(*maxConns)
	if err != nil || perAddr < 1 {
		return usageError{"--max-conns-per-addr must be a number of at least 1"}
	}
	if *pushSubject != "" && !strings.HasPrefix(*pushSubject, "mailto:") && !strings.HasPrefix(*pushSubject, "https://") {
		return usageError{"--push-subject must be a mailto: or https:// URL"}
	}
	if *metricsAddr != "" && *metricsAddr == *addr {
		return usageError{"--metrics-addr must not be the public --addr"}
	}
	turnCfg, iceCfg, err := tf.config(*addr)
	if err != nil {
		return err
	}
	if err := checkSIPAddr(*sipAddr, *addr, tf.addr); err != nil {
		return err
	}
	var mediaIPs []string
	if *callMediaIP != "" {
		for _, ip := range strings.Split(*callMediaIP, ",") {
			ip = strings.TrimSpace(ip)
			if net.ParseIP(ip) == nil {
				return usageError{fmt.Sprintf("--call-media-ip %q: want IP addresses, comma-separated", *callMediaIP)}
			}
			mediaIPs = append(mediaIPs, ip)
		}
	}
	if *callMedia != "" {
		if _, port, err := net.SplitHostPort(*callMedia); err != nil || port == "" {
			return usageError{fmt.Sprintf("--call-media-addr %q: want HOST:PORT (say 0.0.0.0:7883)", *callMedia)}
		}
	}
	trusted, err := httpapi.ParseTrustedProxies(*proxies)
	if err != nil {
		return usageError{err.Error()}
	}
	slog.SetDefault(lg)
	st, err := c.open(ctx)
	if err != nil {
		return err
	}
	files, closeFiles, err := openBlobs(ctx, c, st)
	if err != nil {
		st.Close()
		return err
	}
	defer closeFiles()
	var mets *metrics.Metrics
	if *metricsAddr != "" {
		mets = metrics.New()
		st.RecordTx(mets) // the node gives the hub its recorder
	}
	n, err := node.New(ctx, node.Config{Store: st, NATSURL: *natsURL, Demo: *withDemo, Photos: newPhotos(st, files, clock.Real{}), Blobs: files,
		Clock: clock.Real{}, Logger: lg, Metrics: mets, PushSubject: *pushSubject,
		SendRate: sendRate, SendBurst: sendBurst, TURN: turnCfg, ICE: iceCfg, SIPAddr: *sipAddr,
		CallMediaAddr: *callMedia, CallMediaIPs: mediaIPs})
	if err != nil {
		st.Close()
		return err
	}
	defer st.Close()
	defer n.Close()
	hc := httpapi.ForNode(n)
	hc.Web, hc.TrustedProxies, hc.ConnLimit = web.App(), trusted, httpapi.NewConnLimiter(perAddr, trusted)
	api := httpapi.New(hc)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	go n.Run(context.Background())

	srv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	url := "http://" + ln.Addr().String()
	slog.Info("listening", slog.String("url", url), slog.String("db", string(st.Dialect())))
	if *withDemo {
		fmt.Fprintf(stdout, "Virtual Office is running at %s\nLog in as %s (admin) or ben@demo.test … liam@demo.test, password %q\n", url, demo.Admin, demo.Password)
	}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(api.Limit(ln)) }()
	if mets != nil {
		mln, err := net.Listen("tcp", *metricsAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", mets.Handler())
		msrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		defer msrv.Close()
		slog.Info("metrics", slog.String("url", "http://"+mln.Addr().String()+"/metrics"))
		go func() { errc <- msrv.Serve(mln) }()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	slog.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		slog.Warn("shutdown", slog.Any("err", err))
	}
	return nil
}

// parseSendLimit reads --send-limit: RATE/BURST, both at least 1.
func parseSendLimit(v string) (rate, burst int, err error) {
	r, b, ok := strings.Cut(v, "/")
	rate, err1 := strconv.Atoi(r)
	burst, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || rate < 1 || burst < 1 {
		return 0, 0, usageError{"--send-limit must be RATE/BURST, two numbers of at least 1 (say 10/30)"}
	}
	return rate, burst, nil
}

// checkSIPAddr checks --sip-addr: HOST:PORT, not an address HTTP or TURN
// listens on (SIP takes UDP and TCP). Port 0 is a free port.
func checkSIPAddr(sip, httpAddr, turnAddr string) error {
	_, port, err := net.SplitHostPort(sip)
	if _, perr := strconv.ParseUint(port, 10, 16); err != nil || perr != nil {
		return usageError{fmt.Sprintf("--sip-addr %q: want HOST:PORT (say 0.0.0.0:5060)", sip)}
	}
	if port == "0" {
		return nil // a free port, never one taken by another listener
	}
	if sip == httpAddr {
		return usageError{"--sip-addr must not be the HTTP --addr"}
	}
	if sip == turnAddr {
		return usageError{"--sip-addr must not be the --turn-addr"}
	}
	return nil
}
