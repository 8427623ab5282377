package ingest

import (
	"context"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// SweepStore is what the sweeper needs of an event store.
type SweepStore interface {
	ListByStatus(ctx context.Context, s store.Status, receivedBefore time.Time, limit int) ([]store.Event, error)
	Transition(ctx context.Context, id string, from, to store.Status) (bool, error)
}

// Sweeper re-enqueues events left in status received (stored, but the
// enqueue failed and the provider never retried) once they are older than
// After. The processor dedupes per destination, so a second enqueue of an
// event that did reach the queue is harmless.
type Sweeper struct {
	Store SweepStore
	Queue Queue
	After time.Duration // default 1 minute
	Batch int           // default 100
	Now   func() time.Time
}

// Sweep runs one pass and returns how many events it re-enqueued. It stops at
// the first queue or store failure (the next pass retries).
func (s *Sweeper) Sweep(ctx context.Context) (int, error) {
	now, after, batch := time.Now, s.After, s.Batch
	if s.Now != nil {
		now = s.Now
	}
	if after <= 0 {
		after = time.Minute
	}
	if batch <= 0 {
		batch = 100
	}
	n := 0
	// Bounded: a pass never runs away, whatever the store answers.
	for pass := 0; pass < 50; pass++ {
		evs, err := s.Store.ListByStatus(ctx, store.StatusReceived, now().Add(-after), batch)
		if err != nil {
			return n, err
		}
		for _, ev := range evs {
			if err := s.Queue.Enqueue(ctx, ev.ID, ev.Type); err != nil {
				return n, err
			}
			if _, err := s.Store.Transition(ctx, ev.ID, store.StatusReceived, store.StatusQueued); err != nil {
				return n, err
			}
			n++
		}
		if len(evs) < batch {
			break
		}
	}
	return n, nil
}

// Run sweeps every interval until ctx is done, reporting each pass's result.
func (s *Sweeper) Run(ctx context.Context, every time.Duration, report func(n int, err error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := s.Sweep(ctx)
		if report != nil && (n > 0 || err != nil) {
			report(n, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
