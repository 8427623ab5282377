// Package local is the store of hookline serve: the embedded SQLite event
// store and the embedded queue kept in the same file, combined so that a new
// webhook is stored as queued and its message enqueued in one transaction
// (ingest.QueuingStore): one group commit instead of three (put, enqueue,
// mark queued).
package local

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// Store is the embedded event store with PutQueued on its queue. Every other
// method is the sqlite.Store's. Queue must keep its table in the store's
// file: build it with embedded.New(st.DB()).
type Store struct {
	*sqlite.Store
	Queue *embedded.Queue
	// Routed, if set, says whether any destination takes events of a type.
	// A new event that none takes is stored as delivered (the status the
	// processor would give it: every matching destination, none, succeeded)
	// and not enqueued: it costs no receive, no save and no delete.
	Routed func(eventType string) bool
}

// New combines st and q, which must share st's database (embedded.New(st.DB())).
func New(st *sqlite.Store, q *embedded.Queue) (*Store, error) {
	if st == nil || q == nil {
		return nil, errors.New("local store: nil store or queue")
	}
	return &Store{Store: st, Queue: q}, nil
}

// PutQueued stores a new event with status queued and enqueues its message
// in the same group commit: once it returns without error both are durable,
// and if it fails neither exists. A duplicate returns the first event's id
// and status, as Put does, and enqueues nothing (ingest enqueues a duplicate
// still in status received itself). Receivers waiting on the queue are woken
// after the commit.
//
// With Routed set and false for the event's type, it stores the event as
// delivered instead, and enqueues nothing.
func (s *Store) PutQueued(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error) {
	if s.Routed != nil && !s.Routed(ev.Type) {
		return s.Store.PutStatus(ctx, ev, keyExpiresAt, store.StatusDelivered)
	}
	res, err := s.Store.PutWith(ctx, ev, keyExpiresAt, store.StatusQueued, func(tx *sql.Tx, r store.PutResult) error {
		return s.Queue.EnqueueTx(tx, r.ID, ev.Type)
	})
	if err != nil {
		return store.PutResult{}, err
	}
	if !res.Duplicate {
		s.Queue.Wake()
	}
	return res, nil
}
