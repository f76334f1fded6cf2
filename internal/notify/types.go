package notify

import "time"

// Key is the server's VAPID key pair (RFC 8292), base64url encoded: the
// P-256 private scalar and the uncompressed public point.
type Key struct {
	Private, Public string
}

// Subscription is one session's browser subscription (SPEC §9): where its
// pushes go and the keys they are encrypted to.
type Subscription struct {
	SessionID, UserID, OrgID string
	Endpoint                 string
	P256DH, Auth             string // base64url, as the browser gives them
}

// Queued is one push a worker has claimed, with where it goes.
type Queued struct {
	ID       int64
	Attempts int // including the one being made
	// ExpiresAt is when the push is no longer worth sending.
	ExpiresAt time.Time
	Payload   []byte
	Sub       Subscription
}
