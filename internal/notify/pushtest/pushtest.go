// Package pushtest is a push service for tests (RFC 8030), run in-process
// over TLS, with browsers' subscriptions on it. It checks every push as a
// real push service and a browser would: the TTL header, the aes128gcm
// content coding, the VAPID token (RFC 8292: ES256, signed by the server's
// public key, for this origin, not expired), and it decrypts each body
// with the device's private key (RFC 8291), by its own code, written from
// the RFCs apart from the sender's, and checked against RFC 8291's worked
// example (pushtest_test.go).
package pushtest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var b64 = base64.RawURLEncoding

// Server is the push service.
type Server struct {
	*httptest.Server
	t   testing.TB
	now func() time.Time

	mu      sync.Mutex
	vapid   string // the public key pushes must be signed with
	devices map[string]*Device
	n       int
}

// Answer is what the service answers to one push, instead of 201.
type Answer struct {
	Status     int
	RetryAfter string
}

// Device is one browser's subscription on the service.
type Device struct {
	ID           string
	Endpoint     string
	P256DH, Auth string // as the browser gives them to the app
	priv         *ecdh.PrivateKey
	auth         []byte
	answers      []Answer
	got          [][]byte
	ttls         []int
	triedAt      []time.Time
}

// New starts a push service, closed when the test ends. now is the time
// the VAPID tokens' expiry is judged by (the test's clock).
func New(t testing.TB, now func() time.Time) *Server {
	s := &Server{t: t, now: now, devices: map[string]*Device{}}
	s.Server = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// ExpectKey sets the VAPID public key (base64url) pushes must carry.
func (s *Server) ExpectKey(k string) {
	s.mu.Lock()
	s.vapid = k
	s.mu.Unlock()
}

// NewDevice subscribes a new browser.
func (s *Server) NewDevice() *Device {
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		s.t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	id := "d" + strconv.Itoa(s.n)
	d := &Device{ID: id, Endpoint: s.URL + "/push/" + id, P256DH: b64.EncodeToString(k.PublicKey().Bytes()), Auth: b64.EncodeToString(auth), priv: k, auth: auth}
	s.devices[id] = d
	return d
}

// Script makes the next pushes to d answered as given, in order; after
// them, 201 again.
func (s *Server) Script(d *Device, answers ...Answer) {
	s.mu.Lock()
	d.answers = append(d.answers, answers...)
	s.mu.Unlock()
}

// Received returns the plaintexts of the pushes d accepted (201).
func (s *Server) Received(d *Device) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(d.got))
	for i, b := range d.got {
		out[i] = string(b)
	}
	return out
}

// Tries returns when each push to d arrived (by the test's clock),
// accepted or not.
func (s *Server) Tries(d *Device) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), d.triedAt...)
}

// TTLs returns the TTL header of each push to d, in seconds.
func (s *Server) TTLs(d *Device) []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), d.ttls...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutPrefix(r.URL.Path, "/push/")
	s.mu.Lock()
	d := s.devices[id]
	vapid := s.vapid
	s.mu.Unlock()
	if !ok || d == nil || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	if err := s.check(r, vapid); err != nil {
		s.t.Errorf("pushtest: push to %s refused: %v", id, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	plain, err := Decrypt(body, d.priv, d.auth)
	if err != nil {
		s.t.Errorf("pushtest: push to %s does not decrypt: %v", id, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	d.triedAt = append(d.triedAt, s.now())
	ttl, _ := strconv.Atoi(r.Header.Get("TTL"))
	d.ttls = append(d.ttls, ttl)
	var a Answer
	if len(d.answers) > 0 {
		a, d.answers = d.answers[0], d.answers[1:]
	}
	if a.Status == 0 {
		d.got = append(d.got, plain)
	}
	s.mu.Unlock()
	if a.Status != 0 {
		if a.RetryAfter != "" {
			w.Header().Set("Retry-After", a.RetryAfter)
		}
		w.WriteHeader(a.Status)
		return
	}
	w.Header().Set("Location", s.URL+"/message/"+id)
	w.WriteHeader(http.StatusCreated)
}

// check verifies the headers of a push (RFC 8030 §5, RFC 8292 §3).
func (s *Server) check(r *http.Request, vapid string) error {
	if ttl, err := strconv.Atoi(r.Header.Get("TTL")); err != nil || ttl < 0 {
		return fmt.Errorf("TTL header %q", r.Header.Get("TTL"))
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return fmt.Errorf("Content-Encoding %q", ce)
	}
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "vapid ")
	if !ok {
		return errors.New("no vapid Authorization")
	}
	params := map[string]string{}
	for p := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		params[k] = v
	}
	if params["k"] != vapid || vapid == "" {
		return fmt.Errorf("k=%q, want the server's key %q", params["k"], vapid)
	}
	return verifyJWT(params["t"], vapid, s.URL, s.now())
}

// verifyJWT checks an ES256 VAPID token against the public key.
func verifyJWT(tok, key, origin string, now time.Time) error {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return errors.New("token is not a JWT")
	}
	var head struct{ Alg, Typ string }
	var claims struct {
		Aud string
		Exp int64
		Sub string
	}
	if err := unb64json(parts[0], &head); err != nil || head.Alg != "ES256" {
		return fmt.Errorf("JWT header %+v %v", head, err)
	}
	if err := unb64json(parts[1], &claims); err != nil {
		return err
	}
	if claims.Aud != origin {
		return fmt.Errorf("aud %q, want %q", claims.Aud, origin)
	}
	exp := time.Unix(claims.Exp, 0)
	if !exp.After(now) || exp.Sub(now) > 24*time.Hour {
		return fmt.Errorf("exp %v is not within 24 h of %v", exp, now)
	}
	if !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https:") {
		return fmt.Errorf("sub %q", claims.Sub)
	}
	pub, err := b64.DecodeString(key)
	if err != nil || len(pub) != 65 || pub[0] != 4 {
		return errors.New("bad public key")
	}
	pk := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(pub[1:33]), Y: new(big.Int).SetBytes(pub[33:])}
	sig, err := b64.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return errors.New("signature is not 64 bytes")
	}
	h := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pk, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return errors.New("signature does not verify")
	}
	return nil
}

func unb64json(s string, v any) error {
	b, err := b64.DecodeString(s)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// hkdf is RFC 5869 with SHA-256, for outputs of at most 32 bytes.
func hkdf(salt, ikm, info []byte, n int) []byte {
	m := hmac.New(sha256.New, salt)
	m.Write(ikm)
	prk := m.Sum(nil)
	m = hmac.New(sha256.New, prk)
	m.Write(info)
	m.Write([]byte{1})
	return m.Sum(nil)[:n]
}

// Decrypt is what a browser does to a push (RFC 8291 §3.4, RFC 8188):
// read the header, derive the key and nonce from the device's private key
// and auth secret, open the one record and strip the delimiter.
func Decrypt(body []byte, ua *ecdh.PrivateKey, auth []byte) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("short body")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen || idlen != 65 {
		return nil, fmt.Errorf("keyid of %d bytes", idlen)
	}
	asPublic, ct := body[21:21+idlen], body[21+idlen:]
	if rs < 18 || len(ct) > int(rs) {
		return nil, fmt.Errorf("record size %d for %d bytes", rs, len(ct))
	}
	as, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, err
	}
	shared, err := ua.ECDH(as)
	if err != nil {
		return nil, err
	}
	info := append(append([]byte("WebPush: info\x00"), ua.PublicKey().Bytes()...), asPublic...)
	ikm := hkdf(auth, shared, info, 32)
	cek := hkdf(salt, ikm, []byte("Content-Encoding: aes128gcm\x00"), 16)
	nonce := hkdf(salt, ikm, []byte("Content-Encoding: nonce\x00"), 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, err
	}
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 || plain[i] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:i], nil
}
