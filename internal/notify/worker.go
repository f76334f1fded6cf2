package notify

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Run sends queued pushes and keeps this node's live-stream marks until
// ctx ends; it then clears the marks. It looks for due pushes when Notify
// queued some here and every PollEvery on the service's clock.
func (s *Service) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if s.cfg.ShareLive {
		wg.Go(func() { s.runLive(ctx) })
	}
	s.every(ctx, s.cfg.PollEvery, s.wake, func() {
		if _, err := s.Round(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("notify: send round", slog.Any("err", err))
		}
	})
	wg.Wait()
}

// every calls f now, then whenever kick fires or d has passed on the
// service's clock, until ctx ends.
func (s *Service) every(ctx context.Context, d time.Duration, kick <-chan struct{}, f func()) {
	tick := make(chan struct{}, 1)
	for {
		f()
		t := s.cfg.Clock.AfterFunc(d, func() {
			select {
			case tick <- struct{}{}:
			default:
			}
		})
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-kick:
		case <-tick:
		}
		t.Stop()
	}
}

// Round claims and sends the due pushes, a batch at a time, until none is
// due, and returns how many it settled.
func (s *Service) Round(ctx context.Context) (int, error) {
	total := 0
	for {
		batch, err := s.cfg.Store.ClaimPushes(ctx, s.cfg.Batch, lease)
		if err != nil || len(batch) == 0 {
			return total, err
		}
		key, err := s.Key(ctx)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		errs := make([]error, len(batch))
		for i, q := range batch {
			wg.Go(func() { errs[i] = s.send(ctx, key, q) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return total, err
			}
		}
		total += len(batch)
		if len(batch) < s.cfg.Batch {
			return total, nil
		}
	}
}

// send sends one claimed push and settles it by the outcome.
func (s *Service) send(ctx context.Context, key Key, q Queued) error {
	left := q.ExpiresAt.Sub(s.cfg.Clock.Now())
	if left <= 0 {
		s.count(false, "expired")
		return s.cfg.Store.PushDone(ctx, q.ID)
	}
	r := s.cfg.Sender.Send(ctx, key, q.Sub, q.Payload, left)
	lg := s.cfg.Logger.With(slog.Int64("push", q.ID), slog.String("session", q.Sub.SessionID), slog.Int("status", r.Status), slog.Int("attempt", q.Attempts))
	if r.Err != nil {
		lg = lg.With(slog.Any("err", r.Err))
	}
	switch r.Outcome {
	case Delivered:
		s.count(true, "")
		return s.cfg.Store.PushDone(ctx, q.ID)
	case Gone:
		lg.Info("notify: subscription gone")
		s.count(false, "gone")
		return s.cfg.Store.PushGone(ctx, q.Sub.SessionID, q.Sub.Endpoint)
	case Retry:
		wait := s.backoff(q.Attempts)
		if r.RetryAfter > wait {
			wait = min(r.RetryAfter, time.Hour)
		}
		next := s.cfg.Clock.Now().Add(wait)
		if q.Attempts >= s.cfg.MaxAttempts {
			lg.Warn("notify: push given up")
			s.count(false, "given_up")
			return s.cfg.Store.PushDone(ctx, q.ID)
		}
		if !next.Before(q.ExpiresAt) {
			lg.Info("notify: push expires before its retry")
			s.count(false, "expired")
			return s.cfg.Store.PushDone(ctx, q.ID)
		}
		lg.Info("notify: push to retry", slog.Duration("in", wait))
		return s.cfg.Store.PushRetry(ctx, q.ID, next)
	default:
		lg.Warn("notify: push refused")
		s.count(false, "refused")
		return s.cfg.Store.PushDone(ctx, q.ID)
	}
}

// backoff is the wait after the attempt-th failed send: Backoff, doubled
// for each attempt after the first, at most MaxBackoff.
func (s *Service) backoff(attempt int) time.Duration {
	d := s.cfg.Backoff
	for i := 1; i < attempt && d < s.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.cfg.MaxBackoff)
}

func (s *Service) count(sent bool, reason string) {
	if s.cfg.Metrics == nil {
		return
	}
	if sent {
		s.cfg.Metrics.PushSent()
	} else {
		s.cfg.Metrics.PushFailed(reason)
	}
}

// runLive writes this node's live streams to the store as they change
// and renews them every third of LiveFor; it clears them when ctx ends.
func (s *Service) runLive(ctx context.Context) {
	renewEvery := s.cfg.LiveFor / 3
	last := s.cfg.Clock.Now()
	s.every(ctx, renewEvery, s.live, func() {
		now := s.cfg.Clock.Now()
		renew := now.Sub(last) >= renewEvery
		if renew {
			last = now
		}
		if err := s.SyncLive(ctx, renew); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("notify: live marks", slog.Any("err", err))
		}
	})
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.cfg.Store.ClearLive(cctx, s.cfg.NodeID); err != nil {
		s.cfg.Logger.Warn("notify: clear live marks", slog.Any("err", err))
	}
}

// SyncLive writes the streams opened and closed on this node since the
// last call; renew extends every mark of the node by LiveFor.
func (s *Service) SyncLive(ctx context.Context, renew bool) error {
	s.liveMu.Lock()
	defer s.liveMu.Unlock()
	now := s.cfg.Streams.AllSessions()
	var add, remove []string
	for id := range now {
		if !s.written[id] {
			add = append(add, id)
		}
	}
	for id := range s.written {
		if !now[id] {
			remove = append(remove, id)
		}
	}
	if len(add) == 0 && len(remove) == 0 && !renew {
		return nil
	}
	if err := s.cfg.Store.MarkLive(ctx, s.cfg.NodeID, add, remove, s.cfg.Clock.Now().Add(s.cfg.LiveFor), renew); err != nil {
		return err
	}
	s.written = now
	return nil
}
