package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
)

// countingSink is an HTTP destination that counts each webhook-id it gets,
// answering 200, or 422 while refuse is set.
type countingSink struct {
	mu     sync.Mutex
	got    map[string]int
	refuse atomic.Bool
	url    string
}

func newCountingSink(t *testing.T) *countingSink {
	s := &countingSink{got: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.refuse.Load() {
			w.WriteHeader(http.StatusUnprocessableEntity)
			return
		}
		s.mu.Lock()
		s.got[r.Header.Get("webhook-id")]++
		s.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

func (s *countingSink) counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for k, v := range s.got {
		out[k] = v
	}
	return out
}

// count is how many times the sink got the event id.
func (s *countingSink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[id]
}

// total is how many deliveries the sink got.
func (s *countingSink) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.got {
		n += c
	}
	return n
}

// waitCounts waits until the sink's counts are want, then checks they stay
// so for a moment (nothing more arrives).
func (s *countingSink) waitCounts(t *testing.T, name string, want map[string]int) {
	t.Helper()
	equal := func(got map[string]int) bool {
		if len(got) != len(want) {
			return false
		}
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(20 * time.Second)
	for !equal(s.counts()) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the sink got %v, want %v", name, s.counts(), want)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(700 * time.Millisecond)
	if got := s.counts(); !equal(got) {
		t.Fatalf("%s: the sink got %v after settling, want %v", name, got, want)
	}
}

// consolePost posts body to the console's API path and decodes the answer.
func consolePost(t *testing.T, s *consoleServe, path, body string, v any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.consoleURL+path, bytes.NewReader([]byte(body)))
	req.Header.Set("X-Hookline-Console", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return resp.StatusCode
}

type bulkJob struct {
	ID                  string
	State               string
	Total, Done, Failed int
}

func waitBulkJob(t *testing.T, s *consoleServe, id string) bulkJob {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var j bulkJob
		if code := getJSON(t, s.consoleURL+"api/replay/"+id, &j); code != 200 {
			t.Fatalf("GET job %s: %d", id, code)
		}
		if j.State != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %+v still running", j)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestServeBulkReplay: against a real hookline serve and real HTTP
// destinations, a bulk replay of the leadron events sends exactly those
// once more (and nothing else), and "recover failed since" re-sends the
// events a destination refused, once the destination is fixed, to it only.
func TestServeBulkReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	crm, partner := newCountingSink(t), newCountingSink(t)
	partner.refuse.Store(true)
	yaml := fmt.Sprintf(`sources:
  journeybee: { secrets: [%q] }
  leadron:    { secrets: [%q] }
  tomba:      { header: X-Tomba-Token, secrets: [%q] }
destinations:
  - name: crm
    type: http
    url: %s
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
  - name: partner
    type: http
    url: %s
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    events: ["tomba.*"]
`, config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken, crm.url, partner.url)
	cfg := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startConsoleServe(t, "--config", cfg)

	ids := map[string][]string{}
	for i, p := range []string{"leadron", "tomba", "leadron", "tomba", "leadron"} {
		body, hdr := delivery(t, p, i)
		code, id, err := post(s.url+"/webhooks/"+p, body, hdr)
		if code != 200 && code != 202 || err != nil {
			t.Fatalf("post %s: %d %v", p, code, err)
		}
		ids[p] = append(ids[p], id)
	}
	want := map[string]int{}
	for _, id := range append(append([]string{}, ids["leadron"]...), ids["tomba"]...) {
		want[id] = 1
	}
	crm.waitCounts(t, "first delivery", want)

	// Bulk replay: the dry run counts the leadron events; the run sends
	// each of them once more to crm, nothing else.
	var sel struct {
		Count int    `json:"count"`
		Query string `json:"query"`
	}
	if code := consolePost(t, s, "api/replay?provider=leadron", `{"dry_run": true}`, &sel); code != 200 || sel.Count != 3 {
		t.Fatalf("dry run = %d %+v, want 3", code, sel)
	}
	var j bulkJob
	if code := consolePost(t, s, "api/replay?"+sel.Query, `{}`, &j); code != 202 {
		t.Fatalf("replay = %d %+v", code, j)
	}
	if j = waitBulkJob(t, s, j.ID); j.State != "done" || j.Total != 3 || j.Done != 3 {
		t.Fatalf("job = %+v", j)
	}
	for _, id := range ids["leadron"] {
		want[id] = 2
	}
	crm.waitCounts(t, "bulk replay", want)

	// partner refused both tomba events (422: given up). Fixed, recover
	// sends them to partner only.
	var rec struct {
		Count int `json:"count"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for rec.Count != 2 {
		if code := consolePost(t, s, "api/recover", `{"destination": "partner", "since": "1h", "dry_run": true}`, &rec); code != 200 {
			t.Fatalf("recover dry run = %d", code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("recover dry run counts %d, want the 2 tomba events", rec.Count)
		}
		time.Sleep(100 * time.Millisecond)
	}
	partner.refuse.Store(false)
	if code := consolePost(t, s, "api/recover", `{"destination": "partner", "since": "1h"}`, &j); code != 202 {
		t.Fatalf("recover = %d", code)
	}
	if j = waitBulkJob(t, s, j.ID); j.State != "done" || j.Done != 2 {
		t.Fatalf("recover job = %+v", j)
	}
	partner.waitCounts(t, "recover", map[string]int{ids["tomba"][0]: 1, ids["tomba"][1]: 1})
	crm.waitCounts(t, "crm after recover", want) // untouched
	if code := consolePost(t, s, "api/recover", `{"destination": "partner", "since": "1h", "dry_run": true}`, &rec); code != 200 || rec.Count != 0 {
		t.Errorf("after recovery, %d still failed (%d)", rec.Count, code)
	}
}

// TestServeKeepsIngestCounts: duplicates and rejections counted by serve
// are stored when it stops (SIGINT), so a restarted serve on the same data
// still reports them in its stats and charts.
func TestServeKeepsIngestCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	s := startConsoleServe(t, "--data", dir)
	body, hdr := delivery(t, "leadron", 1)
	for range 2 { // accepted, then a duplicate
		if code, _, err := post(s.url+"/webhooks/leadron", body, hdr); code != 200 && code != 202 || err != nil {
			t.Fatalf("post: %d %v", code, err)
		}
	}
	hdr.Set("X-Leadron-Signature", "sha256="+strings.Repeat("0", 64))
	if code, _, _ := post(s.url+"/webhooks/leadron", body, hdr); code != 401 {
		t.Fatalf("forged: %d", code)
	}
	type counts struct {
		Providers map[string]struct {
			Accepted  int `json:"accepted"`
			Duplicate int `json:"duplicate"`
			Rejected  int `json:"rejected"`
		} `json:"providers"`
		Durable bool `json:"durable"`
	}
	check := func(name string, s *consoleServe) {
		t.Helper()
		var st counts
		if code := getJSON(t, s.consoleURL+"api/stats?window=1h", &st); code != 200 || !st.Durable {
			t.Fatalf("%s: stats %d durable=%v", name, code, st.Durable)
		}
		if p := st.Providers["leadron"]; p.Accepted != 1 || p.Duplicate != 1 || p.Rejected != 1 {
			t.Errorf("%s: leadron %+v, want 1 accepted, 1 duplicate, 1 rejected", name, p)
		}
		var m struct {
			Minutes []struct {
				Providers map[string]struct {
					Duplicate int `json:"duplicate"`
					Rejected  int `json:"rejected"`
				} `json:"providers"`
			} `json:"minutes"`
		}
		getJSON(t, s.consoleURL+"api/stats/minutes?window=15m", &m)
		dup, rej := 0, 0
		for _, b := range m.Minutes {
			dup += b.Providers["leadron"].Duplicate
			rej += b.Providers["leadron"].Rejected
		}
		if dup != 1 || rej != 1 {
			t.Errorf("%s: the minutes count %d duplicate, %d rejected; want 1 and 1", name, dup, rej)
		}
	}
	check("before the restart", s)
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGINT: %v\n%s", err, s.logs)
	}
	check("after the restart", startConsoleServe(t, "--data", dir))
}
