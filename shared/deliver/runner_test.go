package deliver_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// recordingQueue is the real embedded queue, noting what the runner asks
// of it.
type recordingQueue struct {
	*embedded.Queue
	mu       sync.Mutex
	hides    []time.Duration // ChangeVisibility durations
	received []queue.Message
	deletes  int
}

func (q *recordingQueue) ReceiveWait(ctx context.Context, n int, vis, wait time.Duration) ([]queue.Message, error) {
	msgs, err := q.Queue.ReceiveWait(ctx, n, vis, wait)
	q.mu.Lock()
	q.received = append(q.received, msgs...)
	q.mu.Unlock()
	return msgs, err
}

func (q *recordingQueue) ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	q.hides = append(q.hides, d)
	q.mu.Unlock()
	return q.Queue.ChangeVisibility(ctx, receipt, d)
}

func (q *recordingQueue) Delete(ctx context.Context, receipt string) error {
	q.mu.Lock()
	q.deletes++
	q.mu.Unlock()
	return q.Queue.Delete(ctx, receipt)
}

// embeddedSetup is a SQLite file with the embedded queue in it, as in
// hookline serve.
type embeddedSetup struct {
	st *sqlite.Store
	q  *recordingQueue
}

func newEmbedded(t testing.TB, maxReceives int) embeddedSetup {
	t.Helper()
	st := openSQLite(t)
	q, err := embedded.New(st.DB(), embedded.WithMaxReceives(maxReceives))
	if err != nil {
		t.Fatal(err)
	}
	return embeddedSetup{st: st, q: &recordingQueue{Queue: q}}
}

// enqueue stores ev (once) and puts a message for it on the queue.
func (e embeddedSetup) enqueue(t testing.TB, ev store.Event) {
	t.Helper()
	if _, err := e.st.Put(context.Background(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := e.q.Enqueue(context.Background(), ev.ID, ev.Type); err != nil {
		t.Fatal(err)
	}
}

// run starts a runner over the HTTP destinations and stops it (waiting for
// it) when the test ends.
func (e embeddedSetup) run(t *testing.T, backoff time.Duration, dests ...config.Destination) {
	t.Helper()
	p := &deliver.Processor{Store: e.st, Backoff: deliver.Backoff{Base: backoff, Cap: backoff, Jitter: noJitter}}
	for _, d := range dests {
		p.Routes = append(p.Routes, deliver.Route{Config: d, Dest: newHTTP(t, d)})
	}
	r := &deliver.Runner{Queue: e.q, Processor: p, Workers: 8, Visibility: p.Lease()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitFor polls cond until it holds, failing the test after 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e embeddedSetup) status(t *testing.T, id string) store.Event {
	t.Helper()
	ev, err := e.st.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// empty reports whether the queue holds no message at all.
func (e embeddedSetup) empty(t *testing.T) bool {
	t.Helper()
	v, f, d, err := e.q.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v+f+d == 0
}

func TestRunnerDelivers(t *testing.T) {
	e := newEmbedded(t, 10)
	s := newSink(t, nil, secretA)
	ev := testEvent("01JRUNNER")
	e.enqueue(t, ev)
	e.run(t, time.Second, httpDest("crm", s.url(), "cloudevents"))
	waitFor(t, "the message to be deleted", func() bool { return e.empty(t) })
	if got := e.status(t, ev.ID); got.Status != store.StatusDelivered || s.count(ev.ID) != 1 {
		t.Fatalf("status %q after %d deliveries, want delivered after 1", got.Status, s.count(ev.ID))
	}
	checkCloudEvent(t, s.last(), ev, ev.Raw)
}

// TestRunnerBacksOff: a transient failure hides the message for the
// backoff; it is received again after that, and delivered.
func TestRunnerBacksOff(t *testing.T) {
	const backoff = 300 * time.Millisecond
	e := newEmbedded(t, 10)
	var mu sync.Mutex
	var at []time.Time
	s := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		answerStatus(1, http.StatusServiceUnavailable)(n, w, r)
	}, secretA)
	ev := testEvent("01JBACKOFF")
	e.enqueue(t, ev)
	e.run(t, backoff, httpDest("crm", s.url(), "raw"))
	waitFor(t, "delivery", func() bool { return e.status(t, ev.ID).Status == store.StatusDelivered })
	waitFor(t, "the message to be deleted", func() bool { return e.empty(t) })

	e.q.mu.Lock()
	hides, received, deletes := e.q.hides, e.q.received, e.q.deletes
	e.q.mu.Unlock()
	if len(hides) != 1 || hides[0] <= 0 || hides[0] > backoff {
		t.Errorf("ChangeVisibility calls %v, want one hiding the message for the backoff (up to %v)", hides, backoff)
	}
	if len(received) != 2 || received[1].ReceiveCount != 2 || deletes != 1 {
		t.Errorf("received %+v, %d deletes; want the message twice, then deleted", received, deletes)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap < backoff {
		t.Errorf("second attempt %v after the first, before the %v backoff", gap, backoff)
	}
	d := delivery(t, e.status(t, ev.ID), "crm")
	if d.Attempts != 2 || !d.Delivered() {
		t.Errorf("delivery %+v, want delivered on attempt 2", d)
	}
}

// TestRunnerMaxAttempts: after max_attempts transient failures the event is
// failed in the store and its message deleted (not dead-lettered: the
// failure is recorded with the event, and replayable from there).
func TestRunnerMaxAttempts(t *testing.T) {
	e := newEmbedded(t, 10)
	s := newSink(t, answerStatus(100, http.StatusBadGateway), secretA)
	ev := testEvent("01JMAXATTEMPTS")
	e.enqueue(t, ev)
	d := httpDest("crm", s.url(), "raw")
	d.MaxAttempts = 3
	e.run(t, 20*time.Millisecond, d)
	waitFor(t, "the event to fail", func() bool { return e.status(t, ev.ID).Status == store.StatusFailed })
	waitFor(t, "the message to be deleted", func() bool { return e.empty(t) })
	dead, err := e.q.DeadLetters(context.Background(), 10)
	if err != nil || len(dead) != 0 {
		t.Fatalf("dead letters %v, %v; want none", dead, err)
	}
	got := delivery(t, e.status(t, ev.ID), "crm")
	if s.count(ev.ID) != 3 || got.Attempts != 3 || got.FailedAt.IsZero() || got.LastStatusCode != 502 {
		t.Fatalf("%d requests, delivery %+v; want 3 attempts, failed with 502", s.count(ev.ID), got)
	}
}

// TestRunnerDuplicateMessages: several messages for one event, at once and
// after its delivery, never send it twice to a destination that succeeded.
func TestRunnerDuplicateMessages(t *testing.T) {
	e := newEmbedded(t, 10)
	a := newSink(t, nil, secretA)
	b := newSink(t, answerStatus(1, http.StatusTooManyRequests), secretA)
	ev := testEvent("01JDUPLICATES")
	e.enqueue(t, ev)
	for range 3 {
		if err := e.q.Enqueue(context.Background(), ev.ID, ev.Type); err != nil {
			t.Fatal(err)
		}
	}
	e.run(t, 50*time.Millisecond, httpDest("a", a.url(), "raw"), httpDest("b", b.url(), "cloudevents"))
	waitFor(t, "delivery", func() bool { return e.status(t, ev.ID).Status == store.StatusDelivered })
	waitFor(t, "the messages to be deleted", func() bool { return e.empty(t) })
	// Later duplicates (a sweeper re-enqueue, an SQS redelivery).
	for range 2 {
		if err := e.q.Enqueue(context.Background(), ev.ID, ev.Type); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the late duplicates to be deleted", func() bool { return e.empty(t) })
	if a.count(ev.ID) != 1 || b.count(ev.ID) != 2 {
		t.Fatalf("a got %d deliveries, b %d; want 1, and 2 (one 429, one success)", a.count(ev.ID), b.count(ev.ID))
	}
}
