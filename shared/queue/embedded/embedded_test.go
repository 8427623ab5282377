package embedded_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/queue/queuetest"
)

// openDB opens a SQLite file the way the embedded store does.
func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newQueue(t testing.TB, opts ...embedded.Option) (*embedded.Queue, *sql.DB) {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "hookline.db"))
	q, err := embedded.New(db, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return q, db
}

// clock is a hand-driven clock for WithClock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestContract(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		q, _ := newQueue(t, embedded.WithMaxReceives(2))
		return q
	})
}

// hookline serve gives the queue the store's write pool, which has a single
// connection: nothing may hold one connection while it waits for another.
func TestContractSingleConnection(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		db := openDB(t, filepath.Join(t.TempDir(), "hookline.db"))
		db.SetMaxOpenConns(1)
		q, err := embedded.New(db, embedded.WithMaxReceives(2))
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

func TestNewValidates(t *testing.T) {
	if _, err := embedded.New(nil); err == nil {
		t.Error("New(nil) succeeded")
	}
	db := openDB(t, filepath.Join(t.TempDir(), "q.db"))
	if _, err := embedded.New(db, embedded.WithMaxReceives(0)); err == nil {
		t.Error("New with max receives 0 succeeded")
	}
	if _, err := embedded.New(db, embedded.WithClock(nil)); err == nil {
		t.Error("New with a nil clock succeeded")
	}
}

// The queue survives closing and reopening the file, and New is idempotent
// on a database that already has the table and other tables.
func TestDurableAndIdempotentSchema(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hookline.db")
	db := openDB(t, path)
	if _, err := db.Exec(`CREATE TABLE events (id TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	q, err := embedded.New(db)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Enqueue(ctx, "01EVENT", "tomba.save_lead"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, path)
	q, err = embedded.New(db)
	if err != nil {
		t.Fatalf("New on an existing database: %v", err)
	}
	if _, err := db.Exec(`INSERT INTO events (id) VALUES ('x')`); err != nil {
		t.Errorf("the store's table is gone: %v", err)
	}
	msgs, err := q.Receive(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != "01EVENT" || msgs[0].Type != "tomba.save_lead" {
		t.Fatalf("after reopening: %v, %v; want the enqueued message", msgs, err)
	}
}

func TestReceiptErrors(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	q, _ := newQueue(t, embedded.WithClock(c.Now))
	if err := q.Enqueue(ctx, "01A", "leadron.lead.created"); err != nil {
		t.Fatal(err)
	}
	first := mustReceive(t, q, time.Second)
	c.Add(2 * time.Second) // the visibility ran out ...
	second := mustReceive(t, q, time.Minute)

	for _, tc := range []struct {
		name, receipt string
	}{
		{"stale", first.Receipt},
		{"malformed", "not-a-receipt"},
		{"empty", ""},
		{"unknown row", "999999." + "abcdef"},
		{"wrong token", second.Receipt[:len(second.Receipt)-1] + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := q.Delete(ctx, tc.receipt); !errors.Is(err, queue.ErrInvalidReceipt) || errors.Is(err, queue.ErrUnavailable) {
				t.Errorf("Delete: %v, want queue.ErrInvalidReceipt", err)
			}
			if err := q.ChangeVisibility(ctx, tc.receipt, 0); !errors.Is(err, queue.ErrInvalidReceipt) {
				t.Errorf("ChangeVisibility: %v, want queue.ErrInvalidReceipt", err)
			}
		})
	}
	if v, f, d := stats(t, q); v != 0 || f != 1 || d != 0 {
		t.Fatalf("after stale receipts: visible %d, in flight %d, dead %d; want 0 1 0", v, f, d)
	}
	if err := q.Delete(ctx, second.Receipt); err != nil {
		t.Fatalf("Delete with the current receipt: %v", err)
	}
	if err := q.Delete(ctx, second.Receipt); !errors.Is(err, queue.ErrInvalidReceipt) {
		t.Errorf("second Delete: %v, want queue.ErrInvalidReceipt", err)
	}
}

// A receipt stays valid after its visibility ran out, until the message is
// received again (as on SQS).
func TestReceiptValidUntilReceivedAgain(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	q, _ := newQueue(t, embedded.WithClock(c.Now))
	if err := q.Enqueue(ctx, "01A", "leadron.lead.created"); err != nil {
		t.Fatal(err)
	}
	m := mustReceive(t, q, time.Second)
	c.Add(5 * time.Second)
	if err := q.Delete(ctx, m.Receipt); err != nil {
		t.Fatalf("Delete after the visibility ran out: %v", err)
	}
	if v, f, d := stats(t, q); v+f+d != 0 {
		t.Errorf("after Delete: %d %d %d messages left", v, f, d)
	}
}

func TestDeadLetterAfterDefaultMaxReceives(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	q, _ := newQueue(t, embedded.WithClock(c.Now))
	if q.MaxReceives() != embedded.DefaultMaxReceives || embedded.DefaultMaxReceives != 10 {
		t.Fatalf("MaxReceives = %d, want the default 10", q.MaxReceives())
	}
	if err := q.Enqueue(ctx, "01DEAD", "leadron.lead.created"); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 10; i++ {
		m := mustReceive(t, q, time.Second)
		if m.EventID != "01DEAD" || m.ReceiveCount != i {
			t.Fatalf("receive %d: %s with count %d", i, m.EventID, m.ReceiveCount)
		}
		c.Add(time.Second)
	}
	// Visible at the same time as 01DEAD, and behind it.
	if err := q.Enqueue(ctx, "01LIVE", "tomba.save_lead"); err != nil {
		t.Fatal(err)
	}
	// The 11th receive dead-letters 01DEAD and returns the next message.
	msgs, err := q.Receive(ctx, 1, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != "01LIVE" {
		t.Fatalf("11th receive: %v, %v; want only 01LIVE", msgs, err)
	}
	if v, f, d := stats(t, q); v != 0 || f != 1 || d != 1 {
		t.Errorf("stats: visible %d, in flight %d, dead %d; want 0 1 1", v, f, d)
	}
	dead, err := q.DeadLetters(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].EventID != "01DEAD" || dead[0].ReceiveCount != 10 || dead[0].Receipt != "" {
		t.Fatalf("DeadLetters: %v, %v; want 01DEAD with ReceiveCount 10 and no receipt", dead, err)
	}
	n, err := q.Redrive(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Redrive: %d, %v", n, err)
	}
	if n, err := q.Redrive(ctx); err != nil || n != 0 {
		t.Errorf("second Redrive: %d, %v; want 0", n, err)
	}
	m := mustReceive(t, q, time.Minute)
	if m.EventID != "01DEAD" || m.ReceiveCount != 1 {
		t.Errorf("after Redrive: %s with count %d, want 01DEAD with 1", m.EventID, m.ReceiveCount)
	}
}

func TestStatsAndVisibilityClock(t *testing.T) {
	ctx := t.Context()
	c := newClock()
	q, _ := newQueue(t, embedded.WithClock(c.Now))
	for i := range 3 {
		if err := q.Enqueue(ctx, fmt.Sprintf("01E%d", i), "tomba.save_lead"); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := q.Receive(ctx, 2, 10*time.Second)
	if err != nil || len(msgs) != 2 || msgs[0].EventID != "01E0" || msgs[1].EventID != "01E1" {
		t.Fatalf("Receive(2): %v, %v; want 01E0 and 01E1 in order", msgs, err)
	}
	if v, f, d := stats(t, q); v != 1 || f != 2 || d != 0 {
		t.Errorf("stats: %d %d %d, want 1 2 0", v, f, d)
	}
	if err := q.ChangeVisibility(ctx, msgs[0].Receipt, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	c.Add(3 * time.Second) // msgs[0] is visible again, msgs[1] is not
	if v, f, _ := stats(t, q); v != 2 || f != 1 {
		t.Errorf("stats after 3 s: visible %d, in flight %d; want 2 1", v, f)
	}
	c.Add(7 * time.Second)
	if v, f, _ := stats(t, q); v != 3 || f != 0 {
		t.Errorf("stats after 10 s: visible %d, in flight %d; want 3 0", v, f)
	}
	if _, err := q.Receive(ctx, 0, time.Second); err == nil {
		t.Error("Receive(max 0) succeeded")
	}
	if _, err := q.Receive(ctx, 1, -time.Second); err == nil {
		t.Error("Receive with a negative visibility succeeded")
	}
}

// ReceiveWait is woken by Enqueue at once, not by its 1 s re-check.
func TestReceiveWaitWokenByEnqueue(t *testing.T) {
	ctx := t.Context()
	q, _ := newQueue(t)
	for range 3 {
		got := make(chan time.Time, 1)
		go func() {
			msgs, err := q.ReceiveWait(ctx, 1, time.Minute, 5*time.Second)
			if err != nil || len(msgs) != 1 {
				t.Errorf("ReceiveWait: %v, %v", msgs, err)
			}
			got <- time.Now()
		}()
		time.Sleep(100 * time.Millisecond)
		if err := q.Enqueue(ctx, queuetest.EventID(), "tomba.save_lead"); err != nil {
			t.Fatal(err)
		}
		sent := time.Now() // Enqueue signals before it returns
		if lag := (<-got).Sub(sent); lag > 500*time.Millisecond {
			t.Errorf("ReceiveWait returned %v after the enqueue", lag)
		}
	}
}

// ReceiveWait wakes when an in-flight message's visibility runs out.
func TestReceiveWaitWokenByVisibility(t *testing.T) {
	ctx := t.Context()
	q, _ := newQueue(t)
	if err := q.Enqueue(ctx, "01A", "tomba.save_lead"); err != nil {
		t.Fatal(err)
	}
	mustReceive(t, q, 400*time.Millisecond)
	start := time.Now()
	msgs, err := q.ReceiveWait(ctx, 1, time.Minute, 5*time.Second)
	took := time.Since(start)
	if err != nil || len(msgs) != 1 || msgs[0].ReceiveCount != 2 {
		t.Fatalf("ReceiveWait: %v, %v", msgs, err)
	}
	if took < 300*time.Millisecond || took > 900*time.Millisecond { // the re-check would take 1 s
		t.Errorf("ReceiveWait took %v, want about the 400 ms visibility", took)
	}
}

// A message written through another *sql.DB (another process, such as
// `hookline redrive`) is seen by the 1 s re-check.
func TestReceiveWaitSeesOtherWriters(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hookline.db")
	q1, err := embedded.New(openDB(t, path))
	if err != nil {
		t.Fatal(err)
	}
	q2, err := embedded.New(openDB(t, path))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(200 * time.Millisecond)
		if err := q2.Enqueue(ctx, "01OTHER", "tomba.save_lead"); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	msgs, err := q1.ReceiveWait(ctx, 1, time.Minute, 5*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != "01OTHER" {
		t.Fatalf("ReceiveWait: %v, %v", msgs, err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("ReceiveWait took %v, want at most about 1 s", took)
	}
}

func TestReceiveWaitCancelled(t *testing.T) {
	q, _ := newQueue(t)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	msgs, err := q.ReceiveWait(ctx, 1, time.Minute, 10*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || len(msgs) != 0 {
		t.Fatalf("ReceiveWait with an ending context: %v, %v; want context.DeadlineExceeded", msgs, err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("ReceiveWait returned %v after its context ended", took)
	}
}

// Concurrent receivers, through two *sql.DB on one file, never get the same
// message while it is in flight.
func TestConcurrentReceiversClaimOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hookline.db")
	q1, err := embedded.New(openDB(t, path))
	if err != nil {
		t.Fatal(err)
	}
	q2, err := embedded.New(openDB(t, path))
	if err != nil {
		t.Fatal(err)
	}
	const total = 300
	for i := range total {
		if err := q1.Enqueue(ctx, fmt.Sprintf("01E%04d", i), "tomba.save_lead"); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 6 {
		q := q1
		if w%2 == 1 {
			q = q2
		}
		wg.Go(func() {
			for {
				msgs, err := q.Receive(ctx, 7, time.Hour)
				if err != nil {
					t.Errorf("Receive: %v", err)
					return
				}
				if len(msgs) == 0 {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[m.EventID]++
				}
				mu.Unlock()
				for _, m := range msgs[:len(msgs)/2] { // delete some, leave the rest in flight
					if err := q.Delete(ctx, m.Receipt); err != nil {
						t.Errorf("Delete: %v", err)
					}
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != total {
		t.Errorf("received %d distinct messages, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times while in flight", id, n)
		}
	}
}

// Concurrent Enqueues (group commit) each commit their own message, once.
func TestConcurrentEnqueue(t *testing.T) {
	ctx := t.Context()
	q, _ := newQueue(t)
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := q.Enqueue(ctx, fmt.Sprintf("01E%04d", i), "tomba.save_lead"); err != nil {
				t.Errorf("Enqueue: %v", err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for {
		msgs, err := q.Receive(ctx, 50, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if seen[m.EventID] {
				t.Errorf("%s enqueued twice", m.EventID)
			}
			seen[m.EventID] = true
		}
	}
	if len(seen) != n {
		t.Errorf("%d messages in the queue, want %d", len(seen), n)
	}
}

// Concurrent Enqueues on a failing database all get the error; none hangs.
func TestConcurrentEnqueueFailure(t *testing.T) {
	q, db := newQueue(t)
	db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if err := q.Enqueue(ctx, fmt.Sprintf("01E%04d", i), "tomba.save_lead"); !errors.Is(err, queue.ErrUnavailable) {
				t.Errorf("Enqueue on a closed database: %v, want queue.ErrUnavailable", err)
			}
		})
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		t.Fatal("concurrent Enqueues on a closed database hung")
	}
	// The queue still works for later calls (no batch left leaderless).
	if err := q.Enqueue(context.Background(), "01LATE", "x"); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("later Enqueue: %v", err)
	}
}

func TestClosedDatabaseIsUnavailable(t *testing.T) {
	ctx := t.Context()
	q, db := newQueue(t)
	if err := q.Enqueue(ctx, "01A", "tomba.save_lead"); err != nil {
		t.Fatal(err)
	}
	m := mustReceive(t, q, time.Minute)
	db.Close()
	checks := map[string]error{
		"Enqueue":          q.Enqueue(ctx, "01B", "tomba.save_lead"),
		"Delete":           q.Delete(ctx, m.Receipt),
		"ChangeVisibility": q.ChangeVisibility(ctx, m.Receipt, 0),
	}
	_, checks["Receive"] = q.Receive(ctx, 1, time.Minute)
	_, checks["ReceiveWait"] = q.ReceiveWait(ctx, 1, time.Minute, time.Second)
	_, checks["DeadLetters"] = q.DeadLetters(ctx, 1)
	_, checks["Redrive"] = q.Redrive(ctx)
	_, _, _, checks["Stats"] = q.Stats(ctx)
	for op, err := range checks {
		if !errors.Is(err, queue.ErrUnavailable) {
			t.Errorf("%s on a closed database: %v, want queue.ErrUnavailable", op, err)
		}
	}
}

func mustReceive(t testing.TB, q *embedded.Queue, vis time.Duration) queue.Message {
	t.Helper()
	msgs, err := q.Receive(context.Background(), 1, vis)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive: %v, %v; want one message", msgs, err)
	}
	return msgs[0]
}

func stats(t testing.TB, q *embedded.Queue) (visible, inFlight, dead int) {
	t.Helper()
	v, f, d, err := q.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return v, f, d
}
