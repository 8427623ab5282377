package embedded_test

import (
	"testing"
	"time"
)

// BenchmarkEnqueue is one webhook's enqueue at a time: one committed (and,
// with synchronous=FULL, fsynced) transaction per message.
func BenchmarkEnqueue(b *testing.B) {
	q, _ := newQueue(b)
	ctx := b.Context()
	for b.Loop() {
		if err := q.Enqueue(ctx, "01JQ3Z8YJ6M7X1V5Q2B4N9K0TA", "leadron.lead.created"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
}

// BenchmarkEnqueueParallel is many webhooks at once (GOMAXPROCS x 16
// goroutines), as hookline serve's HTTP handlers enqueue: group commit puts
// many messages in one fsync.
func BenchmarkEnqueueParallel(b *testing.B) {
	q, _ := newQueue(b)
	ctx := b.Context()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := q.Enqueue(ctx, "01JQ3Z8YJ6M7X1V5Q2B4N9K0TA", "leadron.lead.created"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
}

// BenchmarkReceiveDelete is the processor's loop per message: receive a
// batch of 10, delete each. One op is one message.
func BenchmarkReceiveDelete(b *testing.B) {
	q, db := newQueue(b)
	ctx := b.Context()
	// Fill the queue in one transaction: Enqueue's own cost is measured above.
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UnixMilli()
	for range b.N {
		if _, err := tx.Exec(`INSERT INTO queue_messages (event_id, event_type, visible_at, enqueued_at) VALUES (?, ?, ?, ?)`,
			"01JQ3Z8YJ6M7X1V5Q2B4N9K0TA", "leadron.lead.created", now, now); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for done := 0; done < b.N; {
		msgs, err := q.Receive(ctx, 10, time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		if len(msgs) == 0 {
			b.Fatalf("queue empty after %d of %d", done, b.N)
		}
		for _, m := range msgs {
			if err := q.Delete(ctx, m.Receipt); err != nil {
				b.Fatal(err)
			}
		}
		done += len(msgs)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
