package deliver_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

// watchedStore is a Store that records how it was called: loads, saves,
// and whether any save ran after the invocation's deadline (on Lambda, the
// process is frozen or killed then: the save never happens).
type watchedStore struct {
	deliver.Store
	deadline        time.Time // of the invocation
	mu              sync.Mutex
	gets, saves     int
	lateSave        bool
	lastSaveHadTime time.Duration // time left to the invocation's deadline
}

func (w *watchedStore) Get(ctx context.Context, id string) (store.Event, error) {
	w.mu.Lock()
	w.gets++
	w.mu.Unlock()
	return w.Store.Get(ctx, id)
}

func (w *watchedStore) SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error) {
	w.mu.Lock()
	w.saves++
	if !w.deadline.IsZero() {
		w.lastSaveHadTime = time.Until(w.deadline)
		w.lateSave = w.lateSave || w.lastSaveHadTime <= 0
	}
	w.mu.Unlock()
	return w.Store.SaveDeliveries(ctx, id, version, ds, s)
}

// longRoute is route with a destination timeout longer than the test's
// invocation.
func longRoute(dest deliver.Destination, timeout time.Duration) deliver.Route {
	r := route(dest, 3)
	r.Config.Timeout = config.Duration(timeout)
	return r
}

// TestDeadlineBoundsAttempts: in an invocation with 2 s left (500 ms kept
// for saving), a destination that hangs (timeout 10 s) is cut when the
// invocation's time for attempts runs out, while a healthy one is
// delivered. The result is saved before the deadline; the cut attempt is
// not counted (the destination has no recorded attempt and stays due), so
// the message is retried at once; the next run delivers it and does not
// send to the healthy one again.
func TestDeadlineBoundsAttempts(t *testing.T) {
	mem := newMemStore(testEvent("01JDEADLINE"))
	st := &watchedStore{Store: mem}
	healthy := &fakeDest{name: "healthy", script: []deliver.Outcome{ok200}}
	hanging := &fakeDest{name: "hanging", script: []deliver.Outcome{ok200}, block: make(chan struct{})}
	c := newClock()
	p := newProcessor(st, c, longRoute(healthy, 10*time.Second), longRoute(hanging, 10*time.Second))
	p.SaveMargin = 500 * time.Millisecond
	var seen []deliver.Attempt
	var mu sync.Mutex
	p.Observe = func(a deliver.Attempt) { mu.Lock(); seen = append(seen, a); mu.Unlock() }

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	st.deadline, _ = ctx.Deadline()
	res, err := p.Process(ctx, "01JDEADLINE")
	if err != nil {
		t.Fatal(err)
	}
	if res.Done || res.RetryIn != 0 || res.Status != store.StatusQueued {
		t.Fatalf("result %+v, want not done, retry at once, queued", res)
	}
	if st.saves != 1 || st.lateSave {
		t.Fatalf("%d saves, late %v (%v left): want one save before the deadline", st.saves, st.lateSave, st.lastSaveHadTime)
	}
	ev := mem.event("01JDEADLINE")
	if d := delivery(t, ev, "healthy"); !d.Delivered() || d.Attempts != 1 {
		t.Fatalf("healthy %+v, want delivered after 1 attempt", d)
	}
	for _, d := range ev.Deliveries {
		if d.Destination == "hanging" {
			t.Fatalf("the cut attempt was recorded: %+v", d)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("observed %+v, want 2 attempts", seen)
	}
	for _, a := range seen {
		if a.Destination == "hanging" && (a.Class != deliver.ClassDeadline || a.Outcome != deliver.OutcomeRetry || a.RetryIn != 0) {
			t.Errorf("cut attempt observed as %+v, want class deadline, retry at once", a)
		}
	}

	// The message comes back to an invocation with time: the hanging
	// destination answers now, the healthy one is not sent again.
	close(hanging.block)
	res = process(t, p, "01JDEADLINE")
	if !res.Done || res.Status != store.StatusDelivered {
		t.Fatalf("second run %+v, want delivered", res)
	}
	if d := delivery(t, mem.event("01JDEADLINE"), "hanging"); !d.Delivered() || d.Attempts != 1 {
		t.Fatalf("hanging %+v, want delivered on its first counted attempt", d)
	}
	if got := healthy.attempts(); len(got) != 1 {
		t.Fatalf("healthy destination called %v, want once", got)
	}
}

// TestDeadlineTooCloseToStart: with less than MinAttemptTime left before
// the time kept for saving, nothing is attempted, loaded or saved, and the
// message is retried at once.
func TestDeadlineTooCloseToStart(t *testing.T) {
	mem := newMemStore(testEvent("01JLATE"))
	st := &watchedStore{Store: mem}
	dest := &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}
	p := newProcessor(st, newClock(), route(dest, 3))
	p.SaveMargin = time.Second
	ctx, cancel := context.WithTimeout(t.Context(), p.SaveMargin+deliver.MinAttemptTime/2)
	defer cancel()
	res, err := p.Process(ctx, "01JLATE")
	if err != nil || res.Done || res.RetryIn != 0 {
		t.Fatalf("Process = %+v, %v; want not done, retry at once", res, err)
	}
	if st.gets != 0 || st.saves != 0 || len(dest.attempts()) != 0 {
		t.Fatalf("%d loads, %d saves, attempts %v: want nothing done", st.gets, st.saves, dest.attempts())
	}
}

// TestDeadlineLeavesOwnTimeoutsCounted: an attempt that ends by its own
// timeout (shorter than what the invocation leaves), or answers a
// transient failure in time, is a failure of the destination and counts.
func TestDeadlineLeavesOwnTimeoutsCounted(t *testing.T) {
	mem := newMemStore(testEvent("01JOWN"))
	slow := &fakeDest{name: "slow", script: []deliver.Outcome{ok200}, block: make(chan struct{})}
	down := &fakeDest{name: "down", script: []deliver.Outcome{unavailable}}
	p := newProcessor(mem, newClock(), longRoute(slow, 300*time.Millisecond), longRoute(down, 10*time.Second))
	p.SaveMargin = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	res, err := p.Process(ctx, "01JOWN")
	if err != nil || res.Done {
		t.Fatalf("Process = %+v, %v", res, err)
	}
	ev := mem.event("01JOWN")
	if d := delivery(t, ev, "slow"); d.Attempts != 1 || d.LastClass == deliver.ClassDeadline {
		t.Errorf("slow %+v, want its own timeout counted", d)
	}
	// down's attempt was bounded by the invocation (10 s > 2.5 s left) but
	// answered 503 in time: counted.
	if d := delivery(t, ev, "down"); d.Attempts != 1 || d.LastStatusCode != 503 {
		t.Errorf("down %+v, want one counted 503", d)
	}
	close(slow.block)
}

// TestNoDeadlineNoBound: without a deadline (hookline serve), attempts run
// to their own timeout.
func TestNoDeadlineNoBound(t *testing.T) {
	mem := newMemStore(testEvent("01JSERVE"))
	slow := &fakeDest{name: "slow", script: []deliver.Outcome{ok200}, block: make(chan struct{})}
	p := newProcessor(mem, newClock(), longRoute(slow, 30*time.Second))
	go func() { time.Sleep(200 * time.Millisecond); close(slow.block) }()
	if res := process(t, p, "01JSERVE"); !res.Done {
		t.Fatalf("Process = %+v, want delivered", res)
	}
}
