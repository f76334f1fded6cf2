package events

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
)

// TestHubKnowsLiveSessions: Sessions and AllSessions name the sessions
// subscribed on this node, per user and in all, and OnChange hears each
// subscribe and each end.
func TestHubKnowsLiveSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	h := NewHub(&memLog{})
	var changes atomic.Int64
	h.OnChange(func() { changes.Add(1) })
	a1, _ := h.Subscribe(ctx, "o1", "ann", "s1")
	a2, _ := h.Subscribe(ctx, "o1", "ann", "s2")
	b1, _ := h.Subscribe(ctx, "o2", "ben", "s3")
	got := h.Sessions("o1", "ann")
	slices.Sort(got)
	if !slices.Equal(got, []string{"s1", "s2"}) {
		t.Fatalf("ann's sessions %v", got)
	}
	if got := h.Sessions("o2", "ann"); len(got) != 0 {
		t.Fatalf("ann in another org: %v", got)
	}
	if all := h.AllSessions(); len(all) != 3 || !all["s1"] || !all["s2"] || !all["s3"] {
		t.Fatalf("all sessions %v", all)
	}
	a1.Close()
	a1.Close() // once only
	b1.Close()
	if got := h.Sessions("o1", "ann"); !slices.Equal(got, []string{"s2"}) {
		t.Fatalf("after close: %v", got)
	}
	if all := h.AllSessions(); len(all) != 1 || !all["s2"] {
		t.Fatalf("after close, all: %v", all)
	}
	a2.Close()
	if got := h.Sessions("o1", "ann"); len(got) != 0 || len(h.AllSessions()) != 0 {
		t.Fatalf("after all closed: %v %v", got, h.AllSessions())
	}
	if n := changes.Load(); n != 6 {
		t.Fatalf("%d changes heard, want 6 (3 subscribes, 3 ends)", n)
	}
}
