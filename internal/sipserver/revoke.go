package sipserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// revokedText is what a phone signed out from the app is told.
const revokedText = "signed out from the app; rotate the SIP password to sign this phone in again"

// DeviceKey tells one phone of a user from its others: its Contact's
// +sip.instance (RFC 5626) when it gives one, which survives a new IP or
// port, else the contact URI. Hashed, so its length is bounded.
func DeviceKey(c *sip.ContactHeader) string {
	if c == nil {
		return ""
	}
	k := "uri:" + contactKey(c)
	if v, ok := c.Params.Get("+sip.instance"); ok && strings.Trim(v, `"<> `) != "" {
		k = "instance:" + strings.Trim(v, `"<> `)
	}
	h := sha256.Sum256([]byte(k))
	return hex.EncodeToString(h[:16])
}

// refuseRevoked answers 403 and returns true when the request's phone was
// signed out from the app (a remote logout of its session) under the
// current SIP password.
func (s *Server) refuseRevoked(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, userID string, c *sip.ContactHeader) bool {
	if c == nil || c.Address.Wildcard {
		return false
	}
	revoked, err := s.cfg.Backend.Revoked(ctx, userID, DeviceKey(c))
	if err != nil {
		s.lg.Error("sip: revoked", slog.Any("err", err))
		s.respond(tx, sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Server Internal Error", nil))
		return true
	}
	if !revoked {
		return false
	}
	res := sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
	res.AppendHeader(sip.NewHeader("Reason", `SIP;cause=403;text="`+revokedText+`"`))
	res.AppendHeader(sip.NewHeader("Warning", `399 vo "`+revokedText+`"`))
	s.respond(tx, res)
	return true
}
