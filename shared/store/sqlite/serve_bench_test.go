package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/store/storetest"
)

// BenchmarkServeWrites is the store and queue work of `hookline serve` per
// accepted event, wired as serve wires them (the queue in the store's file,
// writing through its group commit): 50 ingest goroutines each put a new
// event with its queue message in one write (PutWith + EnqueueTx), while 4
// processor workers receive batches of 10 and, per message, Get the event,
// save its delivery state as delivered, record the attempt and delete the
// message. One op is one event through both sides. Besides ns/op it reports
// the process's CPU time per event (cpu-us/event, user + system, from
// getrusage), which a busy shared machine disturbs far less than wall time:
//
//	go test -run '^$' -bench ServeWrites -count 6 ./shared/store/sqlite
func BenchmarkServeWrites(b *testing.B) {
	s, err := sqlite.Open(filepath.Join(b.TempDir(), "hookline.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	q, err := embedded.New(s.DB(), embedded.WithWriter(s.Write))
	if err != nil {
		b.Fatal(err)
	}
	defer q.Close()
	ctx := context.Background()
	at := time.Now().UTC()
	body := make([]byte, 2048) // about a JourneyBee lead_created
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}

	var processed atomic.Int64
	stop := make(chan struct{})
	var workers sync.WaitGroup
	for range 4 {
		workers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				msgs, err := q.ReceiveWait(ctx, 10, time.Minute, 20*time.Millisecond)
				if err != nil {
					b.Error(err)
					return
				}
				for _, m := range msgs {
					ev, err := s.Get(ctx, m.EventID)
					if err != nil {
						b.Error(err)
						return
					}
					now := time.Now().UTC()
					if ok, err := s.SaveDeliveries(ctx, ev.ID, ev.Version, storetest.NewDeliveries(now, "log"), store.StatusDelivered); err != nil || !ok {
						b.Errorf("SaveDeliveries = %v, %v", ok, err)
						return
					}
					if err := s.RecordAttempt(ctx, store.Attempt{EventID: ev.ID, Destination: "log", Number: 1, At: now,
						Outcome: "delivered", Duration: time.Microsecond}); err != nil {
						b.Error(err)
						return
					}
					if err := q.Delete(ctx, m.Receipt); err != nil {
						b.Error(err)
						return
					}
					processed.Add(1)
				}
			}
		})
	}

	var n atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	b.SetParallelism(50)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			ev := storetest.NewEvent("journeybee", fmt.Sprintf("jb:bench_%d_%d", at.UnixNano(), i), time.Now().UTC())
			ev.Raw = body
			ev.EntityID = fmt.Sprintf("lead_%d_%d", at.UnixNano(), i)
			_, err := s.PutWith(ctx, ev, ev.ReceivedAt.Add(storetest.KeyWindow), store.StatusQueued,
				func(tx *sql.Tx, r store.PutResult) error { return q.EnqueueTx(tx, r.ID, ev.Type) })
			if err != nil {
				b.Error(err)
				return
			}
			q.Wake()
		}
	})
	for processed.Load() < n.Load() && !b.Failed() {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	close(stop)
	workers.Wait()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/event")
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
