package telephony

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// SIPSecretName is the server secret SIP passwords are derived from.
const SIPSecretName = "sip_password"

// SIPCredential is what the store keeps of a user's SIP login: never the
// password, only its digests (HA1 of username:realm:password).
type SIPCredential struct {
	UserID     string
	OrgID      string
	Realm      string
	Username   string // the user's extension
	Generation int64
	HA1MD5     string // hex MD5, RFC 2617
	HA1SHA256  string // hex SHA-256, RFC 8760
}

// SIPPassword derives the password of a user's credential generation:
// 20 base32 characters (100 bits) of HMAC-SHA256(secret, user id ||
// generation), so it can always be shown again and never needs storing.
func SIPPassword(secret []byte, userID string, generation int64) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	var g [8]byte
	binary.BigEndian.PutUint64(g[:], uint64(generation))
	m.Write(g[:])
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))
	return strings.ToLower(s[:20])
}

// NewSIPCredential derives a credential's digests from its password.
func NewSIPCredential(secret []byte, userID, orgID, realm, username string, generation int64) SIPCredential {
	pw := SIPPassword(secret, userID, generation)
	a := username + ":" + realm + ":" + pw
	m := md5.Sum([]byte(a))
	s := sha256.Sum256([]byte(a))
	return SIPCredential{UserID: userID, OrgID: orgID, Realm: realm, Username: username, Generation: generation,
		HA1MD5: hex.EncodeToString(m[:]), HA1SHA256: hex.EncodeToString(s[:])}
}
