package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
)

// BenchmarkEndToEnd measures provider POST → destination receipt through a
// real `hookline serve` (SQLite store, embedded queue, in-process
// processor) forwarding to a local HTTP sink, at a steady 500 deliveries/s
// (Leadron lead.created, each a new event). It reports p50/p99 latency.
//
//	go test -run '^$' -bench EndToEnd -benchtime 1x ./cmd/hookline
func BenchmarkEndToEnd(b *testing.B) {
	const rate, n = 500, 2500
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived[r.Header.Get("webhook-id")] = time.Now()
		mu.Unlock()
	}))
	defer sink.Close()
	cfgFile := filepath.Join(b.TempDir(), "hookline.yaml")
	doc := config.DevelopmentYAML + "  - name: sink\n    type: http\n    url: " + sink.URL +
		"\n    secret: whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n    events: [\"leadron.*\"]\n"
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		b.Fatal(err)
	}
	s := startServe(b, b.TempDir(), "--config", cfgFile)

	ds, _, err := buildLoad(n*3, 0, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, 1)
	if err != nil {
		b.Fatal(err)
	}
	var leadron []loadDelivery
	for _, d := range ds {
		if d.prov == "leadron" && len(leadron) < n {
			leadron = append(leadron, d)
		}
	}
	b.ResetTimer()
	for range b.N {
		mu.Lock()
		clear(arrived)
		mu.Unlock()
		sent := make(map[string]time.Time, len(leadron))
		var smu sync.Mutex
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / rate)
		for _, d := range leadron {
			<-tick.C
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				code, id, err := post(s.url+"/webhooks/leadron", d.body, d.hdr)
				if err != nil || code != 200 {
					b.Errorf("post: %d %v", code, err)
					return
				}
				smu.Lock()
				sent[id] = t0
				smu.Unlock()
			}()
		}
		tick.Stop()
		wg.Wait()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := len(arrived)
			mu.Unlock()
			if got >= len(sent) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		var lat []time.Duration
		mu.Lock()
		for id, t0 := range sent {
			if t1, ok := arrived[id]; ok {
				lat = append(lat, t1.Sub(t0))
			}
		}
		mu.Unlock()
		if len(lat) != len(sent) {
			b.Fatalf("%d of %d events reached the sink", len(lat), len(sent))
		}
		slices.Sort(lat)
		ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
		b.ReportMetric(ms(0.50), "p50_ms")
		b.ReportMetric(ms(0.99), "p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
		fmt.Fprintf(os.Stderr, "end to end at %d/s over %d events: p50 %.1f ms, p99 %.1f ms\n", rate, len(lat), ms(0.5), ms(0.99))
	}
}
