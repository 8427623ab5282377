package storetest

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// BenchBodySize is the body size of the benchmark events: a typical lead
// webhook (a few KiB of JSON).
const BenchBodySize = 2 << 10

// BenchPut measures Put of new events, one after another: each Put is one
// durable commit.
func BenchPut(b *testing.B, s Store) {
	benchPut(b, s, 1, false)
}

// BenchPutParallel measures Put of new events from about goroutines
// concurrent callers (the serve path's concurrency), rounded to a multiple of
// GOMAXPROCS.
func BenchPutParallel(b *testing.B, s Store, goroutines int) {
	benchPut(b, s, goroutines, false)
}

// BenchIngestParallel measures what ingest asks of the store per new
// delivery, Put then Transition(received→queued), from about goroutines
// concurrent callers.
func BenchIngestParallel(b *testing.B, s Store, goroutines int) {
	benchPut(b, s, goroutines, true)
}

func benchPut(b *testing.B, s Store, goroutines int, transition bool) {
	ctx := context.Background()
	at := time.Now().UTC()
	body := make([]byte, BenchBodySize)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	var n atomic.Int64
	one := func() {
		i := n.Add(1)
		ev := NewEvent("leadron", fmt.Sprintf("evt_bench_%d_%d", at.UnixNano(), i), at)
		ev.Raw = body
		res, err := s.Put(ctx, ev, at.Add(KeyWindow))
		if err != nil {
			b.Error(err)
			return
		}
		if res.Duplicate {
			b.Errorf("Put %d: duplicate", i)
		}
		if transition {
			if ok, err := s.Transition(ctx, ev.ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
				b.Errorf("Transition %d = %v, %v", i, ok, err)
			}
		}
	}
	b.SetBytes(BenchBodySize)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if goroutines <= 1 {
		for b.Loop() {
			one()
		}
	} else {
		b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				one()
			}
		})
	}
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "events/s")
}
