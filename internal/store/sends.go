package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"

	"vo/internal/chat"
)

// Sends are committed in batches. A send waits in one of the store's send
// lanes (the conversation picks it); the lane's worker takes every send
// waiting for it, up to maxSendBatch, and commits them in one
// transaction, each in a savepoint of its own, so that one refused send
// changes nothing of the others. Under load the batch grows, and what a
// commit costs (the log's write, the streams of the 50 members of a group,
// advanced once for the whole batch) is shared by its sends; an idle lane
// commits a lone send at once. SQLite has one writer, so one lane;
// PostgreSQL has a few, and a conversation's sends always meet in the
// same one, where its row lock would order them anyway.
const maxSendBatch = 64

// sendJob is one SendMessage waiting in a lane.
type sendJob struct {
	ctx                   context.Context
	orgID, userID, convID string
	nm                    chat.NewMessage
	push                  bool // read the push audience too
	out                   chat.Message
	aud                   chat.PushAudience
	err                   error
	done                  chan struct{}
}

// errStoreClosed answers a send that comes after Close.
var errStoreClosed = errors.New("store: closed")

func (s *Store) startSendLanes() {
	n := 1
	if s.dialect == Postgres {
		n = 4
	}
	s.sendLanes = make([]chan *sendJob, n)
	for i := range s.sendLanes {
		ch := make(chan *sendJob) // unbuffered: a job handed over is taken by a running worker
		s.sendLanes[i] = ch
		s.sendWG.Add(1)
		go func() {
			defer s.sendWG.Done()
			s.runSendLane(ch)
		}()
	}
}

// enqueueSend puts j in its conversation's lane.
func (s *Store) enqueueSend(ctx context.Context, j *sendJob) error {
	s.sendOnce.Do(s.startSendLanes)
	h := fnv.New32a()
	h.Write([]byte(j.convID))
	lane := s.sendLanes[int(h.Sum32()%uint32(len(s.sendLanes)))]
	select {
	case lane <- j:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return errStoreClosed
	}
}

func (s *Store) runSendLane(ch chan *sendJob) {
	batch := make([]*sendJob, 0, maxSendBatch)
	for {
		select {
		case <-s.closing:
			// The lane is unbuffered: a job is handed over only to this
			// worker, and a send that finds no worker sees the close. Take
			// the sends already blocked on the lane, then stop.
			for {
				select {
				case j := <-ch:
					s.sendBatch([]*sendJob{j})
				default:
					return
				}
			}
		case j := <-ch:
			batch = append(batch[:0], j)
			yielded := false
		fill:
			for len(batch) < maxSendBatch {
				select {
				case j := <-ch:
					batch = append(batch, j)
					continue
				default:
				}
				// More than one waiting means sends are arriving faster than
				// they commit: let the goroutines that are about to hand
				// theirs over run once, so that they join this commit rather
				// than wait for the next. (On one core, as under the
				// benchmark, they cannot run while this worker does.) A lone
				// send commits at once.
				if len(batch) == 1 || yielded {
					break fill
				}
				runtime.Gosched()
				yielded = true
			}
			s.sendBatch(batch)
		}
	}
}

// sendBatch commits the jobs in one transaction and answers each. When
// the transaction itself fails (a commit refused, a deadlock), none of
// its sends was stored: each is tried again alone, so that one bad send
// cannot fail the others.
func (s *Store) sendBatch(jobs []*sendJob) {
	live := jobs[:0:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	if len(live) == 0 {
		return
	}
	// A conversation's sends next to each other make one run of events
	// (storeRuns): one row per member for all of them. Their order within
	// the conversation stays; across conversations it does not matter, as
	// the transaction commits them at once.
	slices.SortStableFunc(live, func(a, b *sendJob) int { return cmp.Compare(a.convID, b.convID) })
	if err := s.tx(context.Background(), func(t *Tx) error { return t.sendAll(live) }); err != nil && len(live) > 1 {
		for _, j := range live {
			j.out, j.aud, j.err = chat.Message{}, chat.PushAudience{}, nil
			s.sendAlone(j)
		}
	} else if err != nil && live[0].err == nil {
		live[0].err = err // the commit failed
	}
	for _, j := range live {
		close(j.done)
	}
}

func (s *Store) sendAlone(j *sendJob) {
	if err := s.tx(context.Background(), func(t *Tx) error { return t.sendAll([]*sendJob{j}) }); err != nil && j.err == nil {
		j.err = err
	}
}

// sendAll runs each job in a savepoint: a job that fails is rolled back to
// it, with the events it had logged, and the others go on. Only a failure
// of the savepoints themselves fails the transaction.
func (t *Tx) sendAll(jobs []*sendJob) error {
	if len(jobs) == 1 {
		// Alone, the transaction is the savepoint. A retry that found its
		// message rolls back too: its version bump was for nothing.
		j := jobs[0]
		j.out, j.aud, j.err = t.send(context.WithoutCancel(j.ctx), j.orgID, j.userID, j.convID, j.nm, j.push)
		return j.err
	}
	for i, j := range jobs {
		ctx := context.WithoutCancel(j.ctx)
		sp := fmt.Sprintf("send_%d", i)
		mark := len(t.events)
		if _, err := t.exec(ctx, `SAVEPOINT `+sp); err != nil {
			return internal("savepoint", err)
		}
		j.out, j.aud, j.err = t.send(ctx, j.orgID, j.userID, j.convID, j.nm, j.push)
		if j.err != nil {
			t.events = t.events[:mark]
			if _, err := t.exec(ctx, `ROLLBACK TO SAVEPOINT `+sp); err != nil {
				return internal("rollback to savepoint", err)
			}
		}
		if _, err := t.exec(ctx, `RELEASE SAVEPOINT `+sp); err != nil {
			return internal("release savepoint", err)
		}
	}
	return nil
}
