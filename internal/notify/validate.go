package notify

import (
	"crypto/ecdh"
	"encoding/base64"
	"net/url"
	"strings"

	"vo/internal/apperr"
)

// MaxEndpoint is the longest push endpoint taken; browsers' are well under.
const MaxEndpoint = 2048

// CheckSubscription validates a browser's PushSubscription: the endpoint
// an absolute https URL (push services are only reached over TLS, in tests
// too), p256dh a P-256 public point (65 bytes, uncompressed), auth 16
// bytes, both base64url with or without padding. It returns the keys
// without padding. Invalid naming the field otherwise.
func CheckSubscription(endpoint, p256dh, auth string) (string, string, error) {
	if endpoint == "" {
		return "", "", apperr.New(apperr.Invalid, "endpoint is required")
	}
	if len(endpoint) > MaxEndpoint {
		return "", "", apperr.New(apperr.Invalid, "endpoint must be at most %d characters", MaxEndpoint)
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || u.Hostname() == "" {
		return "", "", apperr.New(apperr.Invalid, "endpoint must be an https URL")
	}
	p256dh, auth = strings.TrimRight(p256dh, "="), strings.TrimRight(auth, "=")
	pk, err := base64.RawURLEncoding.DecodeString(p256dh)
	if err != nil || len(pk) != 65 {
		return "", "", apperr.New(apperr.Invalid, "keys.p256dh must be a base64url P-256 public key of 65 bytes")
	}
	if _, err := ecdh.P256().NewPublicKey(pk); err != nil {
		return "", "", apperr.New(apperr.Invalid, "keys.p256dh is not a point on P-256")
	}
	if a, err := base64.RawURLEncoding.DecodeString(auth); err != nil || len(a) != 16 {
		return "", "", apperr.New(apperr.Invalid, "keys.auth must be 16 bytes in base64url")
	}
	return p256dh, auth, nil
}
