package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"vo/internal/sipserver"
	"vo/internal/store"
)

// SIPRun is a whole `vo bench sip`: Users SIP users of one org register
// over UDP, Concurrency at a time, for Duration, Runs times, against vo's
// registrar (`Exe serve --sip-addr`) and, when Kamailio is set, against
// Debian's kamailio as a registrar with digest authentication. One
// registration is REGISTER, 401 challenge, REGISTER with Authorization,
// 200: the rate counts the 200s.
type SIPRun struct {
	Exe         string // the vo binary, run as `Exe serve`
	ServerCPU   int    // the core the servers are pinned to; -1 unpinned
	Users       int
	Concurrency int
	Duration    time.Duration
	Runs        int
	// Kamailio is the kamailio binary; empty skips kamailio.
	Kamailio string
	Keep     bool
	Log      io.Writer
}

// SIPUser is one SIP login: the extension and its password.
type SIPUser struct{ Name, Password string }

// SIPTarget is a registrar to measure.
type SIPTarget struct {
	Name  string
	Addr  string // UDP host:port
	Realm string // the domain of the From and To URIs
	Users []SIPUser
}

// SIPFigures are what one registrar achieved in one run.
type SIPFigures struct {
	Name       string
	Registered int             // 200s after a challenge
	Failed     int             // registrations that ended otherwise (a code, or no answer)
	Codes      map[int]int     // the final answers of the failed ones; 0 is no answer
	Elapsed    time.Duration   // first REGISTER sent to the last answer
	Latencies  []time.Duration // per registration, first REGISTER to the 200
	Err        string          // the first error of a failed one, if any
}

// Rate is the registrations a second.
func (f SIPFigures) Rate() float64 {
	if f.Elapsed <= 0 {
		return 0
	}
	return float64(f.Registered) / f.Elapsed.Seconds()
}

// Quantile is the q-th registration latency.
func (f SIPFigures) Quantile(q float64) time.Duration { return quantile(f.Latencies, q) }

// SIPResults are every run's figures, in order.
type SIPResults struct {
	Users, Concurrency int
	Duration           time.Duration
	Vo, Kamailio       []SIPFigures // Kamailio empty when not measured
}

// SIPMedians are the medians over runs of one registrar.
type SIPMedians struct {
	Rate     float64
	P50, P99 time.Duration
	Failed   int
}

// Medians summarises runs.
func Medians(runs []SIPFigures) SIPMedians {
	var m SIPMedians
	if len(runs) == 0 {
		return m
	}
	rates := make([]float64, len(runs))
	p50s := make([]time.Duration, len(runs))
	p99s := make([]time.Duration, len(runs))
	fails := make([]int, len(runs))
	for i, f := range runs {
		rates[i], p50s[i], p99s[i], fails[i] = f.Rate(), f.Quantile(0.5), f.Quantile(0.99), f.Failed
	}
	slices.Sort(rates)
	slices.Sort(fails)
	m.Rate, m.P50, m.P99, m.Failed = rates[len(rates)/2], median(p50s), median(p99s), fails[len(fails)/2]
	if len(rates)%2 == 0 {
		m.Rate = (rates[len(rates)/2-1] + rates[len(rates)/2]) / 2
	}
	return m
}

// TargetSIPRatio is the acceptance target: vo's median rate at least
// kamailio's.
const TargetSIPRatio = 1.0

// Met reports whether vo met the target: no failure, and (kamailio
// measured) a median rate at least kamailio's.
func (r SIPResults) Met() bool {
	v := Medians(r.Vo)
	if v.Rate <= 0 || v.Failed != 0 {
		return false
	}
	if len(r.Kamailio) == 0 {
		return true
	}
	k := Medians(r.Kamailio)
	return k.Rate > 0 && v.Rate/k.Rate >= TargetSIPRatio
}

func (r *SIPRun) defaults() {
	r.Users = cmpOr(r.Users, 1000)
	r.Concurrency = cmpOr(r.Concurrency, 100)
	r.Runs = cmpOr(r.Runs, 3)
	if r.Duration == 0 {
		r.Duration = 10 * time.Second
	}
	if r.Log == nil {
		r.Log = io.Discard
	}
}

// Go seeds one org of Users with extensions, starts vo (and kamailio),
// registers every user once on each (so that the runs measure refreshes,
// what a registrar mostly does), then measures vo and kamailio in turn,
// Runs times.
func (r SIPRun) Go(ctx context.Context) (SIPResults, error) {
	r.defaults()
	res := SIPResults{Users: r.Users, Concurrency: r.Concurrency, Duration: r.Duration}
	if r.Users < 1 || r.Concurrency < 1 || r.Concurrency > r.Users || r.Runs < 1 || r.Duration <= 0 {
		return res, errors.New("bench sip: users, runs and duration at least 1, concurrency from 1 to users")
	}
	dir, err := os.MkdirTemp("", "vo-bench-sip-")
	if err != nil {
		return res, err
	}
	if r.Keep {
		fmt.Fprintf(r.Log, "data and logs in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(ctx, store.Options{DataDir: data})
	if err != nil {
		return res, err
	}
	seeded, err := Seed(ctx, st, r.Users)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	fmt.Fprintf(r.Log, "seeded one org with %d users, each with an extension\n", r.Users)

	addr, err := freeAddr()
	if err != nil {
		return res, err
	}
	sipAddr, err := freeUDPAddr()
	if err != nil {
		return res, err
	}
	c, err := startChild(ctx, r.ServerCPU, filepath.Join(dir, "vo.log"), addr, "/healthz", r.Exe,
		"serve", "--data", data, "--addr", addr, "--sip-addr", sipAddr, "--log-level", "warn")
	if err != nil {
		return res, err
	}
	defer c.stop()
	vo, err := SIPLogins(ctx, "http://"+addr, seeded.Tokens)
	if err != nil {
		return res, fmt.Errorf("%w\nvo log: %s", err, c.tail())
	}
	vo.Name, vo.Addr = "vo", sipAddr
	targets := []SIPTarget{vo}

	if r.Kamailio != "" {
		k, err := startKamailio(ctx, r.Kamailio, r.ServerCPU, filepath.Join(dir, "kamailio"))
		if err != nil {
			return res, fmt.Errorf("kamailio: %w", err)
		}
		defer k.stop()
		kt := SIPTarget{Name: "kamailio", Addr: k.addr, Realm: vo.Realm}
		for _, u := range vo.Users {
			kt.Users = append(kt.Users, SIPUser{Name: u.Name, Password: KamailioPassword(u.Name)})
		}
		targets = append(targets, kt)
	}
	o := SIPOptions{Concurrency: r.Concurrency, Duration: r.Duration}
	loads := make([]*SIPLoad, len(targets))
	for i, t := range targets {
		if err := waitSIP(ctx, t.Addr, 30*time.Second); err != nil {
			return res, fmt.Errorf("%s: %w", t.Name, err)
		}
		if loads[i], err = NewSIPLoad(t, o); err != nil {
			return res, err
		}
		defer loads[i].Close()
		f, err := loads[i].RegisterAll(ctx)
		if err != nil {
			return res, fmt.Errorf("%s: %w", t.Name, err)
		}
		fmt.Fprintf(r.Log, "%s: every user registered once in %v (%d failed)\n", t.Name, f.Elapsed.Round(time.Millisecond), f.Failed)
		if f.Failed > 0 {
			return res, fmt.Errorf("%s: %d of %d first registrations failed: %v %s", t.Name, f.Failed, len(t.Users), f.Codes, f.Err)
		}
	}
	for run := 1; run <= r.Runs; run++ {
		for i, t := range targets {
			f, err := loads[i].Measure(ctx)
			if err != nil {
				return res, fmt.Errorf("%s: %w", t.Name, err)
			}
			fmt.Fprintf(r.Log, "run %d %s: %.0f reg/s, p50 %v, p99 %v, %d failed %v\n", run, t.Name, f.Rate(),
				f.Quantile(0.5).Round(time.Microsecond), f.Quantile(0.99).Round(time.Microsecond), f.Failed, f.Codes)
			if i == 0 {
				res.Vo = append(res.Vo, f)
			} else {
				res.Kamailio = append(res.Kamailio, f)
			}
		}
	}
	return res, nil
}

// SIPLogins asks vo at base for the SIP login of each session token
// (GET /api/v1/me/sip), as a phone's user would.
func SIPLogins(ctx context.Context, base string, tokens []string) (SIPTarget, error) {
	t := SIPTarget{Users: make([]SIPUser, len(tokens))}
	realms := make([]string, len(tokens))
	errs := make([]error, len(tokens))
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/me/sip", nil)
				if err != nil {
					errs[i] = err
					continue
				}
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				resp, err := hc.Do(req)
				if err != nil {
					errs[i] = err
					continue
				}
				var body struct{ Username, Password, Domain string }
				err = json.NewDecoder(resp.Body).Decode(&body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err != nil || body.Username == "" {
					errs[i] = fmt.Errorf("bench sip: GET /me/sip: %s %v", resp.Status, err)
					continue
				}
				t.Users[i], realms[i] = SIPUser{Name: body.Username, Password: body.Password}, body.Domain
			}
		})
	}
	for i := range tokens {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return t, err
	}
	for _, r := range realms {
		if r != realms[0] {
			return t, errors.New("bench sip: the users are in more than one SIP domain")
		}
	}
	if len(realms) > 0 {
		t.Realm = realms[0]
	}
	return t, nil
}

// SIPOptions shape the load.
type SIPOptions struct {
	// Concurrency is how many registrations are in flight: that many
	// UDP sockets, each registering its share of the users in turn.
	Concurrency int
	Duration    time.Duration
	// Timeout is how long a transaction waits for its final answer,
	// retransmitting as RFC 3261 does from 500 ms; default 4 s.
	Timeout time.Duration
}

// SIPLoad is the load generator of one target: Concurrency UDP sockets,
// kept for every pass so that each user's Contact (and Call-ID) stays the
// same: after the first pass every registration is a refresh.
type SIPLoad struct {
	t       SIPTarget
	o       SIPOptions
	clients []*sipClient
}

// NewSIPLoad opens the sockets.
func NewSIPLoad(t SIPTarget, o SIPOptions) (*SIPLoad, error) {
	if o.Timeout == 0 {
		o.Timeout = 4 * time.Second
	}
	n := min(max(1, o.Concurrency), len(t.Users))
	if n == 0 {
		return nil, errors.New("bench sip: no users")
	}
	l := &SIPLoad{t: t, o: o}
	for range n {
		c, err := dialSIP(t.Addr)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.clients = append(l.clients, c)
	}
	return l, nil
}

// Close closes the sockets.
func (l *SIPLoad) Close() {
	for _, c := range l.clients {
		c.conn.Close()
	}
}

// Measure registers the users over and over for Duration.
func (l *SIPLoad) Measure(ctx context.Context) (SIPFigures, error) { return l.pass(ctx, false) }

// RegisterAll registers each user once.
func (l *SIPLoad) RegisterAll(ctx context.Context) (SIPFigures, error) { return l.pass(ctx, true) }

func (l *SIPLoad) pass(ctx context.Context, once bool) (SIPFigures, error) {
	t, n := l.t, len(l.clients)
	fig := SIPFigures{Name: t.Name, Codes: map[int]int{}}
	start := time.Now()
	deadline := start.Add(l.o.Duration)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for w, c := range l.clients {
		wg.Go(func() {
			var lat []time.Duration
			codes := map[int]int{}
			fails := 0
			var werr error
			// Worker w registers users w, w+n, w+2n, ... in turn: no user
			// is ever registered twice at once, and always from one socket.
			for i := w; ctx.Err() == nil; i += n {
				if i >= len(t.Users) {
					if once {
						break
					}
					i = w
				}
				if !once && !time.Now().Before(deadline) {
					break
				}
				t0 := time.Now()
				code, err := c.register(t.Realm, t.Users[i], l.o.Timeout)
				if err == nil && code == 200 {
					lat = append(lat, time.Since(t0))
					continue
				}
				if err != nil && werr == nil {
					werr = err
				}
				fails++
				codes[code]++
			}
			mu.Lock()
			fig.Latencies = append(fig.Latencies, lat...)
			fig.Failed += fails
			for k, v := range codes {
				fig.Codes[k] += v
			}
			if firstErr == nil {
				firstErr = werr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	fig.Elapsed = time.Since(start)
	fig.Registered = len(fig.Latencies)
	if firstErr != nil {
		fig.Err = firstErr.Error()
	}
	return fig, ctx.Err()
}

// sipClient is one UDP socket registering one user at a time.
type sipClient struct {
	conn  *net.UDPConn
	local string // host:port of the socket, for Via and Contact
	buf   []byte
	// Per user: the Call-ID and the last CSeq, kept across refreshes as
	// a phone keeps them.
	calls map[string]*sipCall
}

type sipCall struct {
	id, tag string
	cseq    int
}

func dialSIP(addr string) (*sipClient, error) {
	ra, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.DialUDP("udp", nil, ra)
	if err != nil {
		return nil, err
	}
	return &sipClient{conn: conn, local: conn.LocalAddr().String(), buf: make([]byte, 65536), calls: map[string]*sipCall{}}, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// register runs one registration: REGISTER, the 401 challenge, REGISTER
// with digest credentials (MD5, qop=auth). It returns the final answer's
// code (0: none within timeout).
func (c *sipClient) register(realm string, u SIPUser, timeout time.Duration) (int, error) {
	call := c.calls[u.Name]
	if call == nil {
		call = &sipCall{id: randHex(12) + "@bench", tag: randHex(6)}
		c.calls[u.Name] = call
	}
	call.cseq++
	res, err := c.transact(c.request(realm, u.Name, call, ""), call, timeout)
	if err != nil || res.code != 401 {
		return res.code, err
	}
	ch, ok := pickChallenge(res.challenges)
	if !ok {
		return res.code, errors.New("bench sip: no MD5 challenge with qop auth")
	}
	d := sipserver.Digest{Username: u.Name, Realm: ch["realm"], Nonce: ch["nonce"], URI: "sip:" + realm,
		Algorithm: ch["algorithm"], QOP: "auth", NC: "00000001", CNonce: randHex(8), Opaque: ch["opaque"]}
	if d.Algorithm == "" {
		d.Algorithm = "MD5"
	}
	d.Response = sipserver.ExpectedResponse(d, sipserver.HA1(d.Algorithm, u.Name, d.Realm, u.Password), "REGISTER")
	authz := fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", algorithm=%s, qop=auth, nc=%s, cnonce="%s"`,
		d.Username, d.Realm, d.Nonce, d.URI, d.Response, d.Algorithm, d.NC, d.CNonce)
	if d.Opaque != "" {
		authz += fmt.Sprintf(`, opaque="%s"`, d.Opaque)
	}
	call.cseq++
	res, err = c.transact(c.request(realm, u.Name, call, authz), call, timeout)
	return res.code, err
}

func (c *sipClient) request(realm, user string, call *sipCall, authz string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "REGISTER sip:%s SIP/2.0\r\n", realm)
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;rport;branch=z9hG4bK%s\r\n", c.local, randHex(8))
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@%s>;tag=%s\r\n", user, realm, call.tag)
	fmt.Fprintf(&b, "To: <sip:%s@%s>\r\n", user, realm)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", call.id)
	fmt.Fprintf(&b, "CSeq: %d REGISTER\r\n", call.cseq)
	fmt.Fprintf(&b, "Contact: <sip:%s@%s;transport=udp>\r\n", user, c.local)
	b.WriteString("Expires: 600\r\n")
	b.WriteString("User-Agent: vo-bench\r\n")
	if authz != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", authz)
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return []byte(b.String())
}

type sipAnswer struct {
	code       int
	challenges []map[string]string
}

// transact sends req and waits for its final answer (the one with this
// Call-ID and CSeq), sending it again after 500 ms, 1 s, 2 s ... until
// timeout. Provisional answers and answers of earlier transactions are
// skipped.
func (c *sipClient) transact(req []byte, call *sipCall, timeout time.Duration) (sipAnswer, error) {
	end := time.Now().Add(timeout)
	wait := 500 * time.Millisecond
	cseq := strconv.Itoa(call.cseq) + " REGISTER"
	for {
		if _, err := c.conn.Write(req); err != nil {
			return sipAnswer{}, err
		}
		resend := time.Now().Add(wait)
		if resend.After(end) {
			resend = end
		}
		wait *= 2
		for {
			_ = c.conn.SetReadDeadline(resend)
			n, err := c.conn.Read(c.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					break
				}
				return sipAnswer{}, err
			}
			a, id, seq, ok := parseSIPAnswer(c.buf[:n])
			if ok && id == call.id && seq == cseq && a.code >= 200 {
				return a, nil
			}
		}
		if !time.Now().Before(end) {
			return sipAnswer{}, nil
		}
	}
}

// parseSIPAnswer reads the status code, Call-ID, CSeq and WWW-Authenticate
// challenges of a SIP response.
func parseSIPAnswer(b []byte) (a sipAnswer, callID, cseq string, ok bool) {
	head, _, _ := strings.Cut(string(b), "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 || !strings.HasPrefix(f[0], "SIP/") {
		return a, "", "", false
	}
	code, err := strconv.Atoi(f[1])
	if err != nil {
		return a, "", "", false
	}
	a.code = code
	for _, l := range lines[1:] {
		name, v, found := strings.Cut(l, ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "call-id", "i":
			callID = v
		case "cseq":
			cseq = strings.Join(strings.Fields(v), " ")
		case "www-authenticate":
			if p, ok := parseChallenge(v); ok {
				a.challenges = append(a.challenges, p)
			}
		}
	}
	return a, callID, cseq, true
}

// parseChallenge reads `Digest k="v", k=v, ...` into lower-case keys.
func parseChallenge(s string) (map[string]string, bool) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	if !strings.EqualFold(scheme, "digest") {
		return nil, false
	}
	p := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, after, found := strings.Cut(rest, "=")
		if !found {
			return nil, false
		}
		k, after = strings.ToLower(strings.TrimSpace(k)), strings.TrimLeft(after, " \t")
		var v string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return nil, false
			}
			v, rest = after[1:1+end], after[2+end:]
		} else {
			v, rest, _ = strings.Cut(after, ",")
			v = strings.TrimSpace(v)
			rest = "," + rest
		}
		p[k] = v
		rest = strings.TrimLeft(strings.TrimSpace(rest), ",")
		rest = strings.TrimSpace(rest)
	}
	return p, p["nonce"] != "" && p["realm"] != ""
}

// pickChallenge takes the MD5 challenge offering qop auth: the one digest
// both registrars offer, so both do the same work.
func pickChallenge(cs []map[string]string) (map[string]string, bool) {
	for _, c := range cs {
		alg := strings.ToUpper(c["algorithm"])
		if (alg == "" || alg == "MD5") && slices.Contains(strings.Split(strings.ReplaceAll(c["qop"], " ", ""), ","), "auth") {
			return c, true
		}
	}
	return nil, false
}

// waitSIP waits until addr answers an OPTIONS over UDP.
func waitSIP(ctx context.Context, addr string, within time.Duration) error {
	c, err := dialSIP(addr)
	if err != nil {
		return err
	}
	defer c.conn.Close()
	end := time.Now().Add(within)
	for seq := 1; ; seq++ {
		call := &sipCall{id: randHex(12) + "@bench", tag: randHex(6), cseq: seq}
		req := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;rport;branch=z9hG4bK%s\r\nMax-Forwards: 70\r\n"+
			"From: <sip:bench@%s>;tag=%s\r\nTo: <sip:%s>\r\nCall-ID: %s\r\nCSeq: %d OPTIONS\r\nContent-Length: 0\r\n\r\n",
			addr, c.local, randHex(8), c.local, call.tag, addr, call.id, seq)
		if _, err := c.conn.Write([]byte(req)); err != nil {
			return err
		}
		_ = c.conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if n, err := c.conn.Read(c.buf); err == nil {
			if a, id, _, ok := parseSIPAnswer(c.buf[:n]); ok && id == call.id && a.code == 200 {
				return nil
			}
		}
		if time.Now().After(end) || ctx.Err() != nil {
			return fmt.Errorf("bench sip: %s does not answer OPTIONS", addr)
		}
	}
}

// freeUDPAddr is a loopback port free for UDP and TCP alike (vo's
// registrar listens on both).
func freeUDPAddr() (string, error) {
	for try := 0; try < 20; try++ {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return "", err
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			ln.Close()
			return addr, nil
		}
	}
	return "", errors.New("bench sip: no free port")
}

// ReportSIP writes the table: rate, p50, p99 and failures of each
// registrar (medians over the runs), and vo's ratio to kamailio.
func ReportSIP(w io.Writer, r SIPResults) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight|tabwriter.Debug)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(w, "%d users, %d registrations in flight over UDP, %v a run; medians of %d runs\n", r.Users, r.Concurrency, r.Duration, len(r.Vo))
	fmt.Fprintln(tw, "server\treg/s\tp50\tp99\tfailures\t")
	v := Medians(r.Vo)
	fmt.Fprintf(tw, "vo\t%.0f\t%s\t%s\t%d\t\n", v.Rate, ms(v.P50), ms(v.P99), v.Failed)
	if len(r.Kamailio) > 0 {
		k := Medians(r.Kamailio)
		fmt.Fprintf(tw, "kamailio\t%.0f\t%s\t%s\t%d\t\n", k.Rate, ms(k.P50), ms(k.P99), k.Failed)
		ratio := 0.0
		if k.Rate > 0 {
			ratio = v.Rate / k.Rate
		}
		mark := " ok"
		if ratio < TargetSIPRatio {
			mark = " MISSED"
		}
		fmt.Fprintf(tw, "vo/kamailio\t%.2f×\t\t\t\t\n", ratio)
		fmt.Fprintf(tw, "target\t≥ %.2f×%s\t\t\t0\t\n", TargetSIPRatio, mark)
	}
	return tw.Flush()
}
