package embedded_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// The contract holds when the queue writes through the embedded store's
// group commit, as hookline serve runs it.
func TestContractStoreWriter(t *testing.T) {
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		q, err := embedded.New(st.DB(), embedded.WithMaxReceives(2), embedded.WithWriter(st.Write))
		if err != nil {
			t.Fatal(err)
		}
		return q
	})
}

// A message written with EnqueueTx exists once its transaction commits, not
// before, and never if it rolls back.
func TestEnqueueTx(t *testing.T) {
	q, db := newQueue(t)
	ctx := t.Context()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.EnqueueTx(tx, "evt_tx", "lead.created"); err != nil {
		t.Fatal(err)
	}
	// Another connection does not see the uncommitted message.
	if visible, inFlight, dead, err := q.Stats(ctx); err != nil || visible+inFlight+dead != 0 {
		t.Errorf("before commit: Stats = %d, %d, %d, %v; want nothing", visible, inFlight, dead, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	q.Wake()
	msgs, err := q.Receive(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != "evt_tx" || msgs[0].Type != "lead.created" || msgs[0].ReceiveCount != 1 {
		t.Fatalf("after commit: Receive = %+v, %v", msgs, err)
	}
	if err := q.Delete(ctx, msgs[0].Receipt); err != nil {
		t.Fatal(err)
	}

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.EnqueueTx(tx, "evt_rolled_back", "lead.created"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if msgs, err := q.Receive(ctx, 10, time.Minute); err != nil || len(msgs) != 0 {
		t.Errorf("after rollback: Receive = %+v, %v; want nothing", msgs, err)
	}

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := q.EnqueueTx(tx, "", "lead.created"); err == nil {
		t.Error("EnqueueTx with an empty event id succeeded")
	}
}

// Wake ends a ReceiveWait that is waiting, which then finds the message
// committed with EnqueueTx.
func TestWakeAfterEnqueueTx(t *testing.T) {
	q, db := newQueue(t)
	ctx := t.Context()
	got := make(chan []queue.Message, 1)
	go func() {
		msgs, err := q.ReceiveWait(ctx, 1, time.Minute, time.Hour)
		if err != nil {
			t.Error(err)
		}
		got <- msgs
	}()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.EnqueueTx(tx, "evt_wake", "t"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	q.Wake()
	if msgs := <-got; len(msgs) != 1 || msgs[0].EventID != "evt_wake" {
		t.Errorf("ReceiveWait = %+v, want evt_wake", msgs)
	}
}

// Concurrent Deletes, grouped, with a mix of current and stale receipts:
// every current one deletes its message, every stale one gets
// ErrInvalidReceipt and leaves its message (received again) alone.
func TestConcurrentDeletesStaleReceipts(t *testing.T) {
	for _, mode := range []string{"own", "writer"} {
		t.Run(mode, func(t *testing.T) {
			c := newClock()
			var q *embedded.Queue
			if mode == "own" {
				q, _ = newQueue(t, embedded.WithClock(c.Now))
			} else {
				st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				if q, err = embedded.New(st.DB(), embedded.WithClock(c.Now), embedded.WithWriter(st.Write)); err != nil {
					t.Fatal(err)
				}
			}
			ctx := t.Context()
			const n = 64
			for i := range n {
				if err := q.Enqueue(ctx, fmt.Sprintf("evt_%02d", i), "t"); err != nil {
					t.Fatal(err)
				}
			}
			old, err := q.Receive(ctx, n, time.Minute)
			if err != nil || len(old) != n {
				t.Fatalf("Receive = %d messages, %v", len(old), err)
			}
			c.Add(2 * time.Minute)
			again, err := q.Receive(ctx, n/2, time.Minute) // the first half, received again
			if err != nil || len(again) != n/2 {
				t.Fatalf("Receive again = %d messages, %v", len(again), err)
			}
			receipts := append([]queue.Message{}, old...) // n/2 stale, n/2 current
			receipts = append(receipts, again...)         // n/2 current
			errs := make([]error, len(receipts))
			var wg sync.WaitGroup
			for i, m := range receipts {
				wg.Go(func() { errs[i] = q.Delete(ctx, m.Receipt) })
			}
			wg.Wait()
			for i, err := range errs {
				stale := i < n/2
				if stale && !errors.Is(err, queue.ErrInvalidReceipt) {
					t.Errorf("stale receipt %d: %v, want ErrInvalidReceipt", i, err)
				}
				if !stale && err != nil {
					t.Errorf("current receipt %d: %v", i, err)
				}
			}
			if visible, inFlight, dead, err := q.Stats(ctx); err != nil || visible+inFlight+dead != 0 {
				t.Errorf("Stats = %d, %d, %d, %v; want every message deleted", visible, inFlight, dead, err)
			}
		})
	}
}
