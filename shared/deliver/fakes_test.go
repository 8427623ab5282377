package deliver_test

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

// memStore is a hand-written in-memory store with the store contract's
// Get and SaveDeliveries (a version check under one lock). beforeSave, if
// set, runs before every SaveDeliveries (to let "another processor" in),
// and down makes every call fail.
type memStore struct {
	mu         sync.Mutex
	events     map[string]store.Event
	saves      int
	down       bool
	beforeSave func(m *memStore)
}

func newMemStore(evs ...store.Event) *memStore {
	m := &memStore{events: map[string]store.Event{}}
	for _, ev := range evs {
		m.events[ev.ID] = ev
	}
	return m
}

func (m *memStore) Get(_ context.Context, id string) (store.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return store.Event{}, store.ErrUnavailable
	}
	ev, ok := m.events[id]
	if !ok {
		return store.Event{}, store.ErrNotFound
	}
	ev.Deliveries = slices.Clone(ev.Deliveries)
	return ev, nil
}

func (m *memStore) SaveDeliveries(_ context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error) {
	if m.beforeSave != nil {
		f := m.beforeSave
		m.beforeSave = nil // once
		f(m)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return false, store.ErrUnavailable
	}
	if err := store.ValidateDeliveries(ds); err != nil {
		return false, err
	}
	ev, ok := m.events[id]
	if !ok || ev.Version != version {
		return false, nil
	}
	ev.Deliveries = slices.Clone(ds)
	if s != "" {
		ev.Status = s
	}
	ev.Version++
	m.events[id] = ev
	m.saves++
	return true, nil
}

// event returns the stored event.
func (m *memStore) event(id string) store.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.events[id]
}

// fakeDest is a destination that answers from a script: outcome n (1-based)
// for the n-th call, the last one for every call after.
type fakeDest struct {
	name   string
	script []deliver.Outcome
	block  chan struct{} // if set, Deliver waits for it to close

	mu    sync.Mutex
	calls []int // attempt numbers, in call order
}

func (f *fakeDest) Name() string { return f.name }

func (f *fakeDest) Deliver(ctx context.Context, ev store.Event, attempt int) deliver.Outcome {
	if f.block != nil {
		select {
		case <-f.block:
		case <-ctx.Done():
			return deliver.Outcome{Class: "canceled"}
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, attempt)
	o := f.script[min(len(f.calls), len(f.script))-1]
	return o
}

func (f *fakeDest) attempts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Outcomes used by the scripts.
var (
	ok200       = deliver.Outcome{OK: true, StatusCode: 200}
	unavailable = deliver.Outcome{StatusCode: 503, Class: "http_503"}
	badRequest  = deliver.Outcome{StatusCode: 400, Class: "http_400", Permanent: true}
)

// noJitter makes Backoff.Delay its ceiling, so schedules are exact.
func noJitter(d time.Duration) time.Duration { return d }
