package sipserver

import (
	"context"
	"log/slog"
)

// sipgoSecretKeys are the attributes sipgo logs whole messages (headers,
// digests, bodies) under; they never reach our log.
var sipgoSecretKeys = map[string]bool{"data": true, "msg": true, "req": true, "res": true,
	"invite_request": true, "invite_response": true, "cancel_request": true}

// redact is an slog handler for sipgo's logs: message text is dropped and
// errors caused by what peers send (unparsable datagrams) go to Debug, so
// that a flood of junk cannot flood the log.
type redact struct{ h slog.Handler }

func (r redact) Enabled(ctx context.Context, l slog.Level) bool {
	return r.h.Enabled(ctx, slog.LevelDebug) || r.h.Enabled(ctx, l)
}

func (r redact) Handle(ctx context.Context, rec slog.Record) error {
	lvl := rec.Level
	if lvl > slog.LevelDebug && (rec.Message == "failed to parse" || rec.Message == "unsupported message, skip it" || rec.Message == "SIP request handler not found") {
		lvl = slog.LevelDebug
	}
	if !r.h.Enabled(ctx, lvl) {
		return nil
	}
	out := slog.NewRecord(rec.Time, lvl, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		if !sipgoSecretKeys[a.Key] {
			out.AddAttrs(a)
		}
		return true
	})
	return r.h.Handle(ctx, out)
}

func (r redact) WithAttrs(as []slog.Attr) slog.Handler {
	var keep []slog.Attr
	for _, a := range as {
		if !sipgoSecretKeys[a.Key] {
			keep = append(keep, a)
		}
	}
	return redact{r.h.WithAttrs(keep)}
}

func (r redact) WithGroup(name string) slog.Handler { return redact{r.h.WithGroup(name)} }
