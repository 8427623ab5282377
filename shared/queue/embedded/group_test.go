package embedded

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/store/sqlite"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestGroupCommitStaleReceipts commits one group of Deletes,
// ChangeVisibilities and an Enqueue, some with stale receipts, in one
// transaction, with the queue's own transactions and through the store's
// group commit (WithWriter): each call gets its own answer, a stale receipt
// gives queue.ErrInvalidReceipt and changes nothing, and the rest commits.
func TestGroupCommitStaleReceipts(t *testing.T) {
	for _, mode := range []string{"own", "writer"} {
		t.Run(mode, func(t *testing.T) {
			clock := &testClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			path := filepath.Join(t.TempDir(), "hookline.db")
			var q *Queue
			if mode == "own" {
				db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if q, err = New(db, WithClock(clock.Now)); err != nil {
					t.Fatal(err)
				}
			} else {
				st, err := sqlite.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				if q, err = New(st.DB(), WithClock(clock.Now), WithWriter(st.Write)); err != nil {
					t.Fatal(err)
				}
			}
			ctx := t.Context()
			for _, id := range []string{"e1", "e2", "e3", "e4"} {
				if err := q.Enqueue(ctx, id, "t"); err != nil {
					t.Fatal(err)
				}
			}
			first, err := q.Receive(ctx, 4, time.Minute)
			if err != nil || len(first) != 4 {
				t.Fatalf("Receive = %v, %v", first, err)
			}
			clock.Add(2 * time.Minute) // every lease ran out
			second, err := q.Receive(ctx, 2, time.Minute)
			if err != nil || len(second) != 2 || second[0].EventID != "e1" || second[1].EventID != "e2" {
				t.Fatalf("second Receive = %v, %v; want e1 and e2", second, err)
			}

			rcpt := func(r string) (int64, string) {
				id, lease, err := parseReceipt(r)
				if err != nil {
					t.Fatal(err)
				}
				return id, lease
			}
			del := func(r string) *op {
				id, lease := rcpt(r)
				return &op{kind: opDelete, id: id, lease: lease}
			}
			hide := func(r string) *op {
				id, lease := rcpt(r)
				return &op{kind: opChangeVisibility, id: id, lease: lease, visibleAt: clock.Now().UnixMilli()}
			}
			batch := []*op{
				del(first[0].Receipt),  // stale: e1 was received again
				del(first[2].Receipt),  // e3: current
				hide(first[1].Receipt), // stale: e2 was received again
				hide(first[3].Receipt), // e4: current, visible at once
				del(second[0].Receipt), // e1: current
				{kind: opEnqueue, eventID: "e5", eventType: "t"},
				del(first[2].Receipt), // e3 again: deleted earlier in the group
			}
			want := []error{queue.ErrInvalidReceipt, nil, queue.ErrInvalidReceipt, nil, nil, nil, queue.ErrInvalidReceipt}
			for _, o := range batch {
				o.done = make(chan error, 1)
			}
			q.bmu.Lock()
			q.pending = append(q.pending, batch...)
			q.flushing = true
			q.bmu.Unlock()
			q.flush(ctx)
			for i, o := range batch {
				got := <-o.done
				if (want[i] == nil) != (got == nil) || (want[i] != nil && !errors.Is(got, want[i])) {
					t.Errorf("op %d (%s): %v, want %v", i, opNames[o.kind], got, want[i])
				}
			}
			if q.flushing {
				t.Error("still flushing after the last group")
			}

			// e1 and e3 are gone, e2 is still in flight under its second
			// receipt, e4 and e5 are visible.
			visible, inFlight, dead, err := q.Stats(ctx)
			if err != nil || visible != 2 || inFlight != 1 || dead != 0 {
				t.Errorf("Stats = %d visible, %d in flight, %d dead, %v; want 2, 1, 0", visible, inFlight, dead, err)
			}
			got, err := q.Receive(ctx, 10, time.Minute)
			if err != nil || len(got) != 2 || got[0].EventID != "e4" || got[1].EventID != "e5" {
				t.Errorf("Receive = %v, %v; want e4 and e5", got, err)
			}
			if err := q.Delete(ctx, second[1].Receipt); err != nil {
				t.Errorf("Delete with e2's current receipt: %v", err)
			}
		})
	}
}

// A database error fails every call of the group, and nothing of it commits.
func TestGroupCommitDatabaseErrorFailsAll(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "q.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q, err := New(db)
	if err != nil {
		t.Fatal(err)
	}
	// A trigger that refuses one event id makes its insert fail.
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON queue_messages
		WHEN NEW.event_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	batch := []*op{
		{kind: opEnqueue, eventID: "ok", eventType: "t", done: make(chan error, 1)},
		{kind: opEnqueue, eventID: "bad", eventType: "t", done: make(chan error, 1)},
	}
	q.pending, q.flushing = append([]*op(nil), batch...), true
	q.flush(context.Background())
	for i, o := range batch {
		if err := <-o.done; !errors.Is(err, queue.ErrUnavailable) {
			t.Errorf("op %d: %v, want ErrUnavailable", i, err)
		}
	}
	if visible, _, _, err := q.Stats(context.Background()); err != nil || visible != 0 {
		t.Errorf("visible = %d, %v; want 0", visible, err)
	}
}
