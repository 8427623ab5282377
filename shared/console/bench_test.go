package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

// BenchmarkEventsPage100k: the console's first page (GET /api/events, 50
// events, JSON) over a real SQLite file holding 100,000 events, each with
// the delivery state of two destinations; and the same with filters. The
// target is ≤ 100 ms for the first page.
//
//	go test -run '^$' -bench EventsPage100k -benchtime 200x ./shared/console
func BenchmarkEventsPage100k(b *testing.B) {
	const n = 100_000
	s := newSetup(b, console.Options{})
	fill(b, s, n)
	h := s.c.Handler("127.0.0.1:8081")
	for _, c := range []struct{ name, query string }{
		{"first", ""},
		{"provider", "?provider=tomba"},
		{"type", "?type=leadron.opportunity.*"},
		{"status", "?status=failed"},
		{"search", "?q=lead_00099999"},
		{"since", "?since=24h"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "http://127.0.0.1:8081/api/events"+c.query, nil)
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
	// The dry runs of a bulk replay and of a recovery (100 failed events
	// among the 100,000: every page walked), and the charts' data over a
	// day (about 14,000 events and their attempts in it).
	for _, c := range []struct{ name, method, path, body string }{
		{"replay-dry-run-failed", "POST", "/api/replay?status=failed", `{"dry_run": true}`},
		{"recover-dry-run", "POST", "/api/recover", `{"destination": "slack", "since": "7d", "dry_run": true}`},
		{"minutes-24h", "GET", "/api/stats/minutes?window=24h", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(c.method, "http://127.0.0.1:8081"+c.path, strings.NewReader(c.body))
				req.Header.Set(console.HeaderConsole, "1")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || (c.method == "POST" && !strings.Contains(rec.Body.String(), `"count":100`)) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// fill stores n events of the three providers (one in 1,000 failed), each
// with two destinations' delivery state, as the processor leaves them.
func fill(b *testing.B, s *setup, n int) {
	b.Helper()
	start := time.Now()
	types := []struct{ provider, typ string }{
		{"leadron", "leadron.lead.created"}, {"leadron", "leadron.opportunity.won"},
		{"tomba", "tomba.save_lead"}, {"journeybee", "journeybee.lead_created"},
	}
	at := time.Now().Add(-48 * time.Hour)
	var wg sync.WaitGroup
	work := make(chan int)
	errs := make(chan error, 1)
	for range 64 {
		wg.Go(func() {
			for i := range work {
				t := types[i%len(types)]
				ev := storetest.NewEvent(t.provider, fmt.Sprintf("key_%08d", i), at.Add(time.Duration(i)*time.Second))
				ev.Type, ev.EntityID = t.typ, fmt.Sprintf("lead_%08d", i)
				if _, err := s.st.Put(context.Background(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
				ds := storetest.NewDeliveries(ev.ReceivedAt, "crm", "slack")
				status := store.StatusFailed
				if i%1000 != 0 {
					ds[1].FailedAt, ds[1].DeliveredAt, ds[1].LastClass = time.Time{}, ev.ReceivedAt, ""
					status = store.StatusDelivered
				}
				if _, err := s.st.SaveDeliveries(context.Background(), ev.ID, 0, ds, status); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			b.Fatal(err)
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	b.Logf("stored %d events in %v", n, time.Since(start).Round(time.Millisecond))
}
