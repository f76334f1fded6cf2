package httpapi

import "vo/internal/node"

// ForNode is the configuration of the HTTP API over a node's services.
// The caller adds what is the transport's own: the web app, trusted
// proxies, connection limits, body rates and stream timings.
func ForNode(n *node.Node) Config {
	c := Config{Store: n.Store, Auth: n.Auth, Presence: n.Presence, Chat: n.Chat, Hub: n.Hub, Directory: n.Directory, Admin: n.Admin, Push: n.Notify, Clock: n.Clock,
		HashParams: n.HashParams, Metrics: n.Metrics, Logger: n.Logger, Attachments: n.Attachments, ICE: n.ICE,
		Blobs: n.Blobs, SIPAddr: n.SIPAddr, AppCalls: n.AppCalls, Calls: n.Calls}
	if n.SIP != nil { // a nil *sipserver.Server would be a non-nil watcher
		c.Voicemail = n.SIP
	}
	if n.Photos != nil { // a nil *profile.Photos would be a non-nil PhotoService
		c.Photos = n.Photos
	}
	return c
}
