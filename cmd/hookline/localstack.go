package main

import (
	"errors"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store/local"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// localStack is what serve ingests into, over one SQLite file: the store,
// the embedded queue (it lives in the store's file and writes through the
// store's group commit, so a processed message's delivery state and its
// Delete, or ChangeVisibility, share one fsync, as do receives), and the
// ingest store on both (a new event stored as queued and enqueued in one
// commit; an event no destination of cfg takes stored delivered, with no
// message).
type localStack struct {
	st *sqlite.Store
	q  *embedded.Queue
	ls *local.Store
}

// openLocalStack opens the stack on the SQLite file (created if missing).
// Close it when done.
func openLocalStack(file string, cfg *config.Config) (*localStack, error) {
	st, err := sqlite.Open(file)
	if err != nil {
		return nil, err
	}
	q, err := embedded.New(st.DB(), embedded.WithMaxReceives(maxReceives(cfg)), embedded.WithWriter(st.Write))
	if err != nil {
		return nil, errors.Join(err, st.Close())
	}
	ls, err := local.New(st, q)
	if err != nil {
		return nil, errors.Join(err, q.Close(), st.Close())
	}
	ls.Routed = routedBy(cfg)
	return &localStack{st: st, q: q, ls: ls}, nil
}

// Close closes the queue, then the store.
func (s *localStack) Close() error { return errors.Join(s.q.Close(), s.st.Close()) }
