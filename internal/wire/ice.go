package wire

import (
	"time"

	"vo/internal/turncred"
)

// ICEServer is one entry of the app's RTCConfiguration.iceServers.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username"`
	Credential string   `json:"credential"`
}

// ICE is the answer of GET /api/v1/calls/ice: the TURN servers with a
// credential of this session, and when it expires (null with no server).
type ICE struct {
	ICEServers []ICEServer `json:"ice_servers"`
	ExpiresAt  *time.Time  `json:"expires_at"`
}

// NewICE renders minted credentials.
func NewICE(servers []turncred.ICEServer, expires time.Time) ICE {
	out := ICE{ICEServers: make([]ICEServer, 0, len(servers)), ExpiresAt: optionalTime(expires)}
	for _, s := range servers {
		out.ICEServers = append(out.ICEServers, ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	return out
}
