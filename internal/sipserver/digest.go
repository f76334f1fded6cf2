package sipserver

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"time"
)

// maxHeader bounds the Authorization header we parse.
const maxHeader = 4096

var errBadDigest = errors.New("malformed digest credentials")

// Digest is a parsed Authorization / Proxy-Authorization header.
type Digest struct {
	Username, Realm, Nonce, URI, Response string
	Algorithm, QOP, NC, CNonce, Opaque    string
}

// ParseDigest parses `Digest k=v, k="v", ...`; it refuses oversize input,
// duplicate or missing required parameters.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) > maxHeader {
		return d, errBadDigest
	}
	s = strings.TrimSpace(s)
	if len(s) < 7 || !strings.EqualFold(s[:6], "digest") || (s[6] != ' ' && s[6] != '\t') {
		return d, errBadDigest
	}
	s = s[7:]
	seen := map[string]bool{}
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			break
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return d, errBadDigest
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s); i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
					b.WriteByte(s[i])
					continue
				}
				if s[i] == '"' {
					break
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return d, errBadDigest
			}
			val, s = b.String(), s[i+1:]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val, s = strings.TrimSpace(s[:end]), s[end:]
		}
		if seen[key] {
			return d, errBadDigest
		}
		seen[key] = true
		switch key {
		case "username":
			d.Username = val
		case "realm":
			d.Realm = val
		case "nonce":
			d.Nonce = val
		case "uri":
			d.URI = val
		case "response":
			d.Response = val
		case "algorithm":
			d.Algorithm = val
		case "qop":
			d.QOP = val
		case "nc":
			d.NC = val
		case "cnonce":
			d.CNonce = val
		case "opaque":
			d.Opaque = val
		}
		s = strings.TrimLeft(s, " \t")
		if s != "" {
			if s[0] != ',' {
				return d, errBadDigest
			}
			s = s[1:]
		}
	}
	if d.Username == "" || d.Nonce == "" || d.URI == "" || d.Response == "" {
		return d, errBadDigest
	}
	if d.QOP != "" && d.QOP != "auth" || d.QOP == "auth" && (d.NC == "" || d.CNonce == "") {
		return d, errBadDigest
	}
	return d, nil
}

// hasher returns the hash of a digest algorithm, nil when unsupported.
func hasher(alg string) func() hash.Hash {
	switch strings.ToUpper(alg) {
	case "", "MD5":
		return md5.New
	case "SHA-256":
		return sha256.New
	}
	return nil
}

func hx(h func() hash.Hash, s string) string {
	x := h()
	x.Write([]byte(s))
	return hex.EncodeToString(x.Sum(nil))
}

// HA1 computes H(username:realm:password) for alg ("MD5" or "SHA-256").
func HA1(alg, username, realm, password string) string {
	return hx(hasher(alg), username+":"+realm+":"+password)
}

// ExpectedResponse is the RFC 7616 response for ha1, method and d.
func ExpectedResponse(d Digest, ha1, method string) string {
	h := hasher(d.Algorithm)
	ha2 := hx(h, method+":"+d.URI)
	if d.QOP == "auth" {
		return hx(h, ha1+":"+d.Nonce+":"+d.NC+":"+d.CNonce+":auth:"+ha2)
	}
	return hx(h, ha1+":"+d.Nonce+":"+ha2)
}

// nonces makes and checks stateless nonces: base64(ts || HMAC(key, ts)).
type nonces struct {
	key []byte
	ttl time.Duration
}

func (n nonces) make(now time.Time) string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(now.UnixNano()))
	m := hmac.New(sha256.New, n.key)
	m.Write(ts[:])
	return base64.RawURLEncoding.EncodeToString(append(ts[:], m.Sum(nil)[:16]...))
}

// check reports whether nonce was made by us and whether it has expired.
func (n nonces) check(nonce string, now time.Time) (valid, stale bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 24 {
		return false, false
	}
	m := hmac.New(sha256.New, n.key)
	m.Write(b[:8])
	if subtle.ConstantTimeCompare(m.Sum(nil)[:16], b[8:]) != 1 {
		return false, false
	}
	t := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	return true, now.Sub(t) > n.ttl || t.After(now.Add(time.Minute))
}
