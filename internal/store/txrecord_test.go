package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"vo/internal/apperr"
	"vo/internal/store"
	"vo/internal/storetest"
)

// txLog is a TxRecorder for tests.
type txLog struct {
	mu  sync.Mutex
	got []string
}

func (l *txLog) Tx(engine, outcome string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d <= 0 {
		outcome += " without a duration"
	}
	l.got = append(l.got, engine+" "+outcome)
}

// TestTxIsRecorded: every write transaction is reported once, with its
// engine and whether it committed or rolled back.
func TestTxIsRecorded(t *testing.T) {
	t.Parallel()
	storetest.Each(t, nil, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		l := &txLog{}
		s.RecordTx(l)
		if _, err := s.CreateOrg(ctx, "acme", "Acme Inc"); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateOrg(ctx, "acme", "Acme again")
		wantCode(t, err, apperr.Conflict)
		if _, err := s.OrgBySlug(ctx, "acme"); err != nil { // a read is no write transaction
			t.Fatal(err)
		}
		e := string(s.Dialect())
		l.mu.Lock()
		defer l.mu.Unlock()
		if want := []string{e + " commit", e + " rollback"}; len(l.got) != 2 || l.got[0] != want[0] || l.got[1] != want[1] {
			t.Fatalf("recorded %q, want %q", l.got, want)
		}
	})
}
