// Package natsbus joins nodes over NATS: the transport of events.Event
// between hubs. It is kept out of package events so that the domain, which
// builds events, does not pull in the NATS client.
package natsbus

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"vo/internal/events"
)

// subject carries every org's events between nodes. It names the shape of
// its messages: a node that still sent user_id instead of audience would
// have its private events read as the whole org's, so it is not heard
// (its events reach this node's hub by the gap fill, from the log).
const subject = "vo.events.2"

// Bus joins nodes: each node publishes the events it commits, and
// hands every event it receives to its hub. The hub orders them by seq and
// reads any it missed from the shared log, so a lost message delays an
// event by at most the gap wait; it never loses it.
type Bus struct {
	nc  *nats.Conn
	sub *nats.Subscription
}

// Connect connects to url and feeds received events to hub.
func Connect(url string, hub *events.Hub) (*Bus, error) {
	nc, err := nats.Connect(url, nats.Name("vo"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("events: connect to NATS: %w", err)
	}
	sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
		var evs []events.Event
		if err := json.Unmarshal(m.Data, &evs); err != nil {
			slog.Warn("events: bad message on bus", slog.Any("err", err))
			return
		}
		hub.Publish(evs)
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("events: subscribe: %w", err)
	}
	sub.SetPendingLimits(-1, -1) // never drop: the hub bounds per-watcher queues instead
	return &Bus{nc: nc, sub: sub}, nil
}

// Publish sends events to every node.
func (b *Bus) Publish(evs []events.Event) {
	data, err := json.Marshal(evs)
	if err != nil {
		slog.Error("events: encode for bus", slog.Any("err", err))
		return
	}
	if err := b.nc.Publish(subject, data); err != nil {
		slog.Warn("events: publish on bus (the hubs will read the log)", slog.Any("err", err))
	}
}

// Close drains and closes the connection.
func (b *Bus) Close() error {
	return b.nc.Drain()
}
