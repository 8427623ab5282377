package ingest_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/store"
)

// memStore is a hand-written in-memory store with the store contract's
// semantics (Validate, atomic claim+put under one lock, claims that expire
// by the new event's ReceivedAt, no credential binding) and switches to
// fail.
type memStore struct {
	mu     sync.Mutex
	keys   map[string]claim // provider/key
	events map[string]store.Event
	down   bool
	fail   error // returned by Put when set
}

type claim struct {
	id      string
	expires time.Time // zero: never
}

func newMemStore() *memStore {
	return &memStore{keys: map[string]claim{}, events: map[string]store.Event{}}
}

func (m *memStore) Put(_ context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.PutResult{}, fmt.Errorf("put: connection refused: %w", store.ErrUnavailable)
	}
	if m.fail != nil {
		return store.PutResult{}, m.fail
	}
	if err := ev.Validate(); err != nil {
		return store.PutResult{}, err
	}
	k := ev.Provider + "/" + ev.IdempotencyKey
	if c, ok := m.keys[k]; ok && (c.expires.IsZero() || !c.expires.Before(ev.ReceivedAt)) {
		return store.PutResult{Duplicate: true, ID: c.id, Status: m.events[c.id].Status}, nil
	}
	m.keys[k] = claim{id: ev.ID, expires: keyExpiresAt}
	m.events[ev.ID] = ev
	return store.PutResult{ID: ev.ID, Status: store.StatusReceived}, nil
}

func (m *memStore) Transition(_ context.Context, id string, from, to store.Status) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, store.ErrUnavailable
	}
	ev, ok := m.events[id]
	if !ok || ev.Status != from {
		return false, nil
	}
	ev.Status = to
	m.events[id] = ev
	return true, nil
}

func (m *memStore) ListByStatus(_ context.Context, s store.Status, before time.Time, limit int) ([]store.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Event
	for _, ev := range m.events {
		if ev.Status == s && ev.ReceivedAt.Before(before) && len(out) < limit {
			out = append(out, ev)
		}
	}
	return out, nil
}

func (m *memStore) all() []store.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Event
	for _, ev := range m.events {
		out = append(out, ev)
	}
	return out
}

func (m *memStore) setDown(b bool) { m.mu.Lock(); m.down = b; m.mu.Unlock() }

func (m *memStore) setFail(err error) { m.mu.Lock(); m.fail = err; m.mu.Unlock() }

// memQueue records enqueued event ids and can fail.
type memQueue struct {
	mu   sync.Mutex
	ids  []string
	down bool
	fail error // returned by Enqueue when set
}

func (q *memQueue) Enqueue(_ context.Context, id, _ string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.down {
		return fmt.Errorf("send: %w", queue.ErrUnavailable)
	}
	if q.fail != nil {
		return q.fail
	}
	q.ids = append(q.ids, id)
	return nil
}

func (q *memQueue) sent() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.ids...)
}

func (q *memQueue) setDown(b bool) { q.mu.Lock(); q.down = b; q.mu.Unlock() }
