package deliver_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store/storetest"
)

// countingQueue counts Deletes and closes done at the target.
type countingQueue struct {
	*recordingQueue
	deleted atomic.Int64
	target  int64
	done    chan struct{}
}

func (q *countingQueue) Delete(ctx context.Context, receipt string) error {
	err := q.Queue.Delete(ctx, receipt)
	if q.deleted.Add(1) == q.target {
		close(q.done)
	}
	return err
}

// BenchmarkRunnerToHTTPSink measures forwarding from the embedded queue to
// a local HTTP receiver, as hookline serve runs it: b.N events (2 KiB
// bodies) stored and queued beforehand in a SQLite file, then the runner
// with N workers delivers each one (load, signed cloudevents POST, save the
// delivery state, delete the message). Run with -benchtime=5000x or so.
func BenchmarkRunnerToHTTPSink(b *testing.B) {
	for _, workers := range []int{8, 16, 32, 64} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			var got atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.Add(1)
				w.WriteHeader(http.StatusNoContent)
			}))
			defer srv.Close()

			e := newEmbedded(b, 10)
			fill(b, e, b.N)
			q := &countingQueue{recordingQueue: e.q, target: int64(b.N), done: make(chan struct{})}
			d := httpDest("sink", srv.URL, "cloudevents")
			p := &deliver.Processor{Store: e.st, Routes: []deliver.Route{{Config: d, Dest: newHTTP(b, d)}}}
			r := &deliver.Runner{Queue: q, Processor: p, Workers: workers, Visibility: p.Lease()}
			ctx, cancel := context.WithCancel(context.Background())
			stopped := make(chan struct{})

			b.ResetTimer()
			start := time.Now()
			go func() { defer close(stopped); r.Run(ctx) }()
			select {
			case <-q.done:
			case <-time.After(5 * time.Minute):
				b.Fatalf("only %d of %d delivered", q.deleted.Load(), b.N)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-stopped
			if got.Load() != int64(b.N) {
				b.Fatalf("sink got %d requests for %d events", got.Load(), b.N)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
		})
	}
}

// fill stores and enqueues n events concurrently (group commits).
func fill(b *testing.B, e embeddedSetup, n int) {
	b.Helper()
	body := make([]byte, storetest.BenchBodySize)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	at := time.Now().UTC()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				ev := storetest.NewEvent("leadron", fmt.Sprintf("evt_bench_%d_%d", at.UnixNano(), i), at)
				ev.ID = ulid.Make().String()
				ev.Raw = append([]byte(`{"pad":"`), append(body, `"}`...)...)
				if _, err := e.st.Put(context.Background(), ev, at.Add(time.Hour)); err != nil {
					b.Error(err)
					return
				}
				if err := e.q.Enqueue(context.Background(), ev.ID, ev.Type); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkHTTPDeliver measures one signed cloudevents POST to a local
// receiver, from parallel goroutines: the destination's own ceiling.
func BenchmarkHTTPDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	h := newHTTP(b, httpDest("sink", srv.URL, "cloudevents"))
	ev := testEvent("01JBENCH")
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if o := h.Deliver(context.Background(), ev, 1); !o.OK {
				b.Error(o)
			}
		}
	})
}
