package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
)

// loadN is the deliveries a load or fault test sends: def in make test,
// HOOKLINE_LOAD_N in make loadtest.
func loadN(def int) int {
	if v, err := strconv.Atoi(os.Getenv("HOOKLINE_LOAD_N")); err == nil && v > 0 {
		return v
	}
	return def
}

// verifyingSink is a destination that checks every delivery's Standard
// Webhooks signature with the reference library and counts deliveries per
// webhook-id.
type verifyingSink struct {
	wh    *standardwebhooks.Webhook
	mu    sync.Mutex
	count map[string]int    // webhook-id → deliveries
	types map[string]string // webhook-id → CloudEvent type
	bad   int               // deliveries whose signature or envelope failed
}

func newVerifyingSink(t testing.TB, secret string) *verifyingSink {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return &verifyingSink{wh: wh, count: map[string]int{}, types: map[string]string{}}
}

func (s *verifyingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ce struct {
		ID, Type    string
		SpecVersion string          `json:"specversion"`
		Data        json.RawMessage `json:"data"`
	}
	err := s.wh.Verify(body, r.Header)
	if err == nil {
		err = json.Unmarshal(body, &ce)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.Header.Get("webhook-id")
	if err != nil || ce.ID != id || ce.SpecVersion != "1.0" || len(ce.Data) == 0 || ce.Data[0] != '{' {
		s.bad++
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	s.count[id]++
	s.types[id] = ce.Type
}

func (s *verifyingSink) snapshot() (distinct, total, bad int, types map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	types = make(map[string]string, len(s.types))
	for id, n := range s.count {
		total += n
		types[id] = s.types[id]
	}
	return len(s.count), total, s.bad, types
}

// TestLoadWithSinks is the load test (issue 6): a real hookline serve with
// two HTTP destinations whose sinks verify signatures independently and
// count webhook-ids; deliveries across all three providers and every sample
// event, 20% exact redeliveries (JourneyBee re-signed), concurrency 50.
// Pass: every unique event accepted exactly once, every redelivery answered
// with the first id, each sink received every matching event, no bad
// signature. Redundant deliveries are reported. make test runs 2,000
// deliveries; make loadtest 20,000 (HOOKLINE_LOAD_N).
func TestLoadWithSinks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hookline serve under load")
	}
	n := loadN(2000)
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	all, partners := newVerifyingSink(t, secret), newVerifyingSink(t, secret)
	partnerGlobs := []string{"journeybee.partner_*", "leadron.partner.*", "leadron.commission.*"}
	srvAll, srvPartners := httptest.NewServer(all), httptest.NewServer(partners)
	defer srvAll.Close()
	defer srvPartners.Close()
	globs, _ := json.Marshal(partnerGlobs)
	doc := config.DevelopmentYAML +
		"  - { name: crm, type: http, url: " + srvAll.URL + ", secret: " + secret + ", events: [\"*\"] }\n" +
		"  - { name: partners, type: http, url: " + srvPartners.URL + ", secret: " + secret + ", events: " + string(globs) + " }\n"
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, t.TempDir(), "--config", cfgFile)

	ds, unique, err := buildLoad(n, 0.2, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, 42)
	if err != nil {
		t.Fatal(err)
	}
	r := runLoad(t.Context(), s.url, ds, unique, 50)
	if err := r.ok(); err != nil {
		t.Fatal(err)
	}

	// Every unique event reaches the catch-all sink; the partner sink gets
	// exactly those whose type matches its globs.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		d, _, _, _ := all.snapshot()
		if d >= unique || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	distinct, total, bad, types := all.snapshot()
	if bad != 0 {
		t.Fatalf("%d deliveries failed signature or envelope checks", bad)
	}
	if distinct != unique {
		t.Fatalf("catch-all sink saw %d distinct webhook-ids, want %d unique events", distinct, unique)
	}
	for i, id := range r.IDs {
		if _, ok := types[id]; !ok {
			t.Fatalf("unique event %d (%s) never reached the sink", i, id)
		}
	}
	want := 0
	for _, typ := range types {
		for _, g := range partnerGlobs {
			if ok, _ := path.Match(g, typ); ok {
				want++
				break
			}
		}
	}
	for {
		d, _, _, _ := partners.snapshot()
		if d >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	pd, ptotal, pbad, _ := partners.snapshot()
	if pbad != 0 || pd != want || want == 0 {
		t.Fatalf("partner sink: %d distinct (want %d), %d bad", pd, want, pbad)
	}
	t.Logf("%d deliveries (%d unique, %d redeliveries) at %.0f/s, p99 %v; catch-all sink %d distinct / %d received, partner sink %d / %d: %d redundant deliveries",
		r.Sent, unique, r.Duplicates, float64(r.Sent)/r.Elapsed.Seconds(), r.P99, distinct, total, pd, ptotal, total-distinct+ptotal-pd)
}

// TestKill9MidLoad kills hookline serve with SIGKILL in the middle of a
// load, restarts it on the same data, and checks that every delivery that
// got a 2xx is stored and reaches the sink: deliveries in flight at the
// kill are resumed once their lease runs out (destination timeout + 30 s).
func TestKill9MidLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hookline serve under load")
	}
	const secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
	sink := newVerifyingSink(t, secret)
	srv := httptest.NewServer(sink)
	defer srv.Close()
	doc := config.DevelopmentYAML +
		"  - { name: crm, type: http, url: " + srv.URL + ", secret: " + secret + ", timeout: 1s, events: [\"*\"] }\n"
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	s := startServe(t, data, "--config", cfgFile)

	ds, unique, err := buildLoad(loadN(6000), 0.2, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, 7)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan loadResult)
	go func() { done <- runLoad(t.Context(), s.url, ds, unique, 50) }()
	time.Sleep(700 * time.Millisecond)
	if err := s.cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
	r := <-done
	var acked []string
	for _, id := range r.IDs {
		if id != "" {
			acked = append(acked, id)
		}
	}
	if len(acked) == 0 || r.Errors == 0 {
		t.Fatalf("the kill did not land mid-load: %d acknowledged, %d errors", len(acked), r.Errors)
	}
	if r.Mismatched != 0 {
		t.Fatalf("%d redeliveries answered with another event id", r.Mismatched)
	}

	startServe(t, data, "--config", cfgFile)
	deadline := time.Now().Add(3 * time.Minute)
	var missing []string
	for {
		_, _, bad, types := sink.snapshot()
		if bad != 0 {
			t.Fatalf("%d deliveries failed signature checks", bad)
		}
		missing = missing[:0]
		for _, id := range acked {
			if _, ok := types[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d acknowledged events never reached the sink after restart (first %s)", len(missing), len(acked), missing[0])
	}
	distinct, total, _, _ := sink.snapshot()
	t.Logf("killed after %d acknowledged events (%d requests failed at the kill); after restart all %d reached the sink: %d distinct, %d received, %d redundant",
		len(acked), r.Errors+r.Non2xx, len(acked), distinct, total, total-distinct)
}
