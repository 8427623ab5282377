package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// faultySink answers with fn's status; it counts requests per webhook-id.
type faultySink struct {
	mu     sync.Mutex
	status func() int
	hang   time.Duration
	seen   map[string]int
	ok     map[string]bool
}

func (f *faultySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get("webhook-id")
	f.mu.Lock()
	f.seen[id]++ // counted on arrival: a hung request is an attempt too
	f.mu.Unlock()
	if f.hang > 0 {
		select {
		case <-time.After(f.hang):
		case <-r.Context().Done():
			return
		}
	}
	code := f.status()
	if code/100 == 2 {
		f.mu.Lock()
		f.ok[id] = true
		f.mu.Unlock()
	}
	w.WriteHeader(code)
}

func (f *faultySink) counts() (requests, delivered int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.seen {
		requests += n
	}
	return requests, len(f.ok)
}

// TestDestinationFaultsUnderLoad runs hookline serve under load with four
// destinations: a healthy one, one answering 500 for 1.5 s from its first
// request, one
// answering 400 (Tomba events only) and one hanging past its timeout
// (Leadron task events only). Every event reaches the healthy and the
// recovering destination exactly as it should; the permanent failure is
// tried once; the hanging one is retried up to max_attempts; all attempts
// are recorded on the events.
func TestDestinationFaultsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hookline serve under load")
	}
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	start := time.Now()
	sink := func(status func() int, hang time.Duration) (*faultySink, string) {
		f := &faultySink{status: status, hang: hang, seen: map[string]int{}, ok: map[string]bool{}}
		srv := httptest.NewServer(f)
		t.Cleanup(srv.Close)
		return f, srv.URL
	}
	healthy, hURL := sink(func() int { return 200 }, 0)
	var firstMu sync.Mutex
	var first time.Time
	flaky, fURL := sink(func() int { // 500 for 1.5 s from its first request, then 204
		firstMu.Lock()
		defer firstMu.Unlock()
		if first.IsZero() {
			first = time.Now()
		}
		if time.Since(first) < 1500*time.Millisecond {
			return 500
		}
		return 204
	}, 0)
	reject, rURL := sink(func() int { return 400 }, 0)
	hanging, gURL := sink(func() int { return 200 }, 2*time.Second)
	dest := func(name, url, extra string) string {
		return "  - { name: " + name + ", type: http, url: " + url + ", secret: " + secret + extra + " }\n"
	}
	doc := config.DevelopmentYAML +
		dest("healthy", hURL, ", events: [\"*\"]") +
		dest("flaky", fURL, ", events: [\"*\"]") +
		dest("reject", rURL, ", events: [\"tomba.*\"]") +
		dest("hanging", gURL, ", events: [\"leadron.task.*\"], timeout: 300ms, max_attempts: 3") +
		"processor: { backoff_base: 100ms, backoff_cap: 500ms }\n"
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startServe(t, data, "--config", cfgFile)

	ds, unique, err := buildLoad(loadN(1000), 0.2, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, 3)
	if err != nil {
		t.Fatal(err)
	}
	r := runLoad(t.Context(), s.url, ds, unique, 50)
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}

	st, err := sqlite.Open(filepath.Join(data, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// Wait until no event is left queued: every destination settled.
	var evs []store.Event
	deadline := time.Now().Add(2 * time.Minute)
	for {
		evs = evs[:0]
		for _, p := range wire.Providers {
			got, err := st.ListByProvider(context.Background(), p, start.Add(-time.Minute), time.Now().Add(time.Minute), 10000)
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, got...)
		}
		pending := 0
		for _, ev := range evs {
			if ev.Status == store.StatusReceived || ev.Status == store.StatusQueued {
				pending++
			}
		}
		if (pending == 0 && len(evs) == unique) || time.Now().After(deadline) {
			if pending > 0 {
				t.Fatalf("%d of %d events still pending", pending, len(evs))
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	hReq, hOK := healthy.counts()
	if hOK != unique || hReq != unique {
		t.Errorf("healthy destination: %d requests, %d delivered; want exactly %d each", hReq, hOK, unique)
	}
	fReq, fOK := flaky.counts()
	if fOK != unique || fReq <= unique {
		t.Errorf("recovering destination: %d requests, %d delivered; want all %d delivered after some 500s", fReq, fOK, unique)
	}
	tombas, tasks := 0, 0
	for _, ev := range evs {
		byName := map[string]store.Delivery{}
		for _, d := range ev.Deliveries {
			byName[d.Destination] = d
		}
		if d := byName["healthy"]; d.Attempts != 1 || d.DeliveredAt.IsZero() {
			t.Fatalf("%s healthy: %+v", ev.ID, d)
		}
		if d := byName["flaky"]; d.DeliveredAt.IsZero() || d.Attempts < 1 {
			t.Fatalf("%s flaky: %+v", ev.ID, d)
		}
		want := store.StatusDelivered
		switch {
		case ev.Provider == "tomba":
			tombas++
			want = store.StatusFailed
			if d := byName["reject"]; d.Attempts != 1 || d.FailedAt.IsZero() || d.LastStatusCode != 400 {
				t.Fatalf("%s reject: %+v, want one attempt, failed with 400", ev.ID, d)
			}
		case strings.HasPrefix(ev.Type, "leadron.task."):
			tasks++
			want = store.StatusFailed
			if d := byName["hanging"]; d.Attempts != 3 || d.FailedAt.IsZero() || d.LastClass != "timeout" {
				t.Fatalf("%s hanging: %+v, want 3 timed-out attempts", ev.ID, d)
			}
		}
		if ev.Status != want {
			t.Fatalf("%s (%s) status %s, want %s", ev.ID, ev.Type, ev.Status, want)
		}
	}
	rReq, _ := reject.counts()
	gReq, _ := hanging.counts()
	if tombas == 0 || tasks == 0 || rReq != tombas || gReq != 3*tasks {
		t.Fatalf("reject saw %d requests for %d Tomba events; hanging saw %d for %d task events", rReq, tombas, gReq, tasks)
	}
	t.Logf("%d unique events: healthy %d requests; recovering %d requests for %d deliveries; 400 %d requests (%d events, failed); hanging %d requests (%d events × 3, failed)",
		unique, hReq, fReq, fOK, rReq, tombas, gReq, tasks)
}
