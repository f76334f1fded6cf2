// Package webpush is the Web Push transport of package notify: it
// encrypts a payload to a browser's subscription keys (RFC 8291,
// aes128gcm), signs a VAPID token with the server's key (RFC 8292) and
// posts the push to the subscription's push service (RFC 8030). Only the
// standard library is used.
package webpush

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"vo/internal/clock"
	"vo/internal/notify"
)

// Sender posts pushes over HTTP; it implements notify.Sender.
type Sender struct {
	// Client makes the requests; nil, DefaultClient.
	Client *http.Client
	// Subject is the VAPID contact (a mailto: or https: URL) a push
	// service may use to reach the operator; empty, "mailto:admin@localhost".
	Subject string
	Clock   clock.Clock // nil: the wall clock
}

var b64 = base64.RawURLEncoding

// errNotPublic refuses an endpoint that is not on the public internet.
var errNotPublic = errors.New("webpush: the endpoint's address is not public")

// DefaultClient posts pushes with a 10 s timeout, follows no redirect, and
// connects only to public addresses: an endpoint is whatever a browser (or
// someone posing as one) sent, and must not make the server reach into its
// own network. The address is checked as the connection is made, after DNS,
// so a name that resolves inward is refused too.
var DefaultClient = &http.Client{
	Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
	Transport: &http.Transport{
		DialContext: (&net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !public(ap.Addr()) {
				return errNotPublic
			}
			return nil
		}}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	},
}

// public reports whether a is an address on the public internet.
func public(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!netip.MustParsePrefix("100.64.0.0/10").Contains(a) && !netip.MustParsePrefix("fc00::/7").Contains(a)
}

// decodeB64 reads base64url with or without padding, as browsers differ.
func decodeB64(s string) ([]byte, error) {
	return b64.DecodeString(strings.TrimRight(s, "="))
}

// Send encrypts payload to sub and posts it with TTL ttl (whole seconds,
// rounded up). The payload is not modified.
func (s *Sender) Send(ctx context.Context, key notify.Key, sub notify.Subscription, payload []byte, ttl time.Duration) notify.Result {
	uaPublic, err := decodeB64(sub.P256DH)
	if err != nil {
		return notify.Result{Outcome: notify.Failed, Err: errors.New("webpush: p256dh is not base64url")}
	}
	auth, err := decodeB64(sub.Auth)
	if err != nil {
		return notify.Result{Outcome: notify.Failed, Err: errors.New("webpush: auth is not base64url")}
	}
	body, err := Encrypt(payload, uaPublic, auth)
	if err != nil {
		return notify.Result{Outcome: notify.Failed, Err: err}
	}
	c := s.Clock
	if c == nil {
		c = clock.Real{}
	}
	authz, err := VAPID(key, sub.Endpoint, s.subject(), c.Now().Add(12*time.Hour))
	if err != nil {
		return notify.Result{Outcome: notify.Failed, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.Endpoint, bytes.NewReader(body))
	if err != nil {
		return notify.Result{Outcome: notify.Failed, Err: fmt.Errorf("webpush: endpoint: %w", err)}
	}
	req.Header.Set("TTL", strconv.Itoa(int((ttl+time.Second-1)/time.Second)))
	req.Header.Set("Content-Encoding", "aes128gcm")
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Urgency", "high")
	req.Header.Set("Authorization", authz)
	client := s.Client
	if client == nil {
		client = DefaultClient
	}
	res, err := client.Do(req)
	if errors.Is(err, errNotPublic) {
		return notify.Result{Outcome: notify.Failed, Err: errNotPublic}
	}
	if err != nil {
		// The URL (and so the endpoint's secret path) stays out of the log.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return notify.Result{Outcome: notify.Retry, Err: fmt.Errorf("webpush: post: %w", err)}
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	r := notify.Result{Status: res.StatusCode}
	switch {
	case res.StatusCode >= 200 && res.StatusCode < 300:
		r.Outcome = notify.Delivered
	case res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusGone:
		r.Outcome = notify.Gone
	case res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500:
		r.Outcome = notify.Retry
		r.RetryAfter = retryAfter(res.Header.Get("Retry-After"), c.Now())
	default:
		r.Outcome = notify.Failed
	}
	return r
}

func (s *Sender) subject() string {
	if s.Subject == "" {
		return "mailto:admin@localhost"
	}
	return s.Subject
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// recordSize is the aes128gcm record size the header announces; a push
// fits one record.
const recordSize = 4096

// Encrypt encrypts plaintext to a browser's public key (65-byte P-256
// point) and auth secret (16 bytes), per RFC 8291 with a fresh salt and
// sender key.
func Encrypt(plaintext, uaPublic, auth []byte) ([]byte, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	as, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return encrypt(plaintext, uaPublic, auth, salt, as)
}

// encrypt is Encrypt with the salt and sender key given (RFC 8291 §3.4,
// RFC 8188 §2): one record, the plaintext followed by the 0x02 delimiter.
func encrypt(plaintext, uaPublic, auth, salt []byte, as *ecdh.PrivateKey) ([]byte, error) {
	if len(auth) != 16 {
		return nil, errors.New("webpush: auth must be 16 bytes")
	}
	if len(plaintext)+1+16 > recordSize {
		return nil, errors.New("webpush: payload too large")
	}
	ua, err := ecdh.P256().NewPublicKey(uaPublic)
	if err != nil {
		return nil, errors.New("webpush: p256dh is not a P-256 point")
	}
	shared, err := as.ECDH(ua)
	if err != nil {
		return nil, err
	}
	asPublic := as.PublicKey().Bytes()
	prk, err := hkdf.Extract(sha256.New, shared, auth)
	if err != nil {
		return nil, err
	}
	info := "WebPush: info\x00" + string(uaPublic) + string(asPublic)
	ikm, err := hkdf.Expand(sha256.New, prk, info, 32)
	if err != nil {
		return nil, err
	}
	prk, err = hkdf.Extract(sha256.New, ikm, salt)
	if err != nil {
		return nil, err
	}
	cek, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: aes128gcm\x00", 16)
	if err != nil {
		return nil, err
	}
	nonce, err := hkdf.Expand(sha256.New, prk, "Content-Encoding: nonce\x00", 12)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, 16+4+1+len(asPublic)+len(plaintext)+1+gcm.Overhead())
	out = append(out, salt...)
	out = binary.BigEndian.AppendUint32(out, recordSize)
	out = append(out, byte(len(asPublic)))
	out = append(out, asPublic...)
	// A copy, so that the caller's payload is never written to.
	record := append(append(make([]byte, 0, len(plaintext)+1), plaintext...), 0x02)
	return gcm.Seal(out, nonce, record, nil), nil
}

// VAPID returns the Authorization header value for a push to endpoint
// (RFC 8292 §3): an ES256 JWT for the endpoint's origin, valid until exp,
// with the server's public key.
func VAPID(key notify.Key, endpoint, subject string, exp time.Time) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("webpush: endpoint is not an absolute URL")
	}
	d, err := decodeB64(key.Private)
	if err != nil {
		return "", errors.New("webpush: VAPID key is not base64url")
	}
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d)
	if err != nil {
		return "", errors.New("webpush: VAPID key is not a P-256 key")
	}
	claims, err := json.Marshal(map[string]any{"aud": u.Scheme + "://" + u.Host, "exp": exp.Unix(), "sub": subject})
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString([]byte(`{"typ":"JWT","alg":"ES256"}`)) + "." + b64.EncodeToString(claims)
	h := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, priv, h[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return "vapid t=" + signing + "." + b64.EncodeToString(sig) + ", k=" + key.Public, nil
}
