package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
)

// The null server reads the body and answers what hookline answers for an
// accepted event.
func TestNullHandler(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(nullHandler))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/webhooks/journeybee", "application/json", strings.NewReader(strings.Repeat("x", 1<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct{ Status, EventID string }
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 || a.Status != "accepted" ||
		resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %+v %v", resp.StatusCode, a, err)
	}
}

// One small round of the side-by-side run, this build against itself: a
// row per load and server, the ratios on the new build's rows, no
// failures.
func TestCompareRound(t *testing.T) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = compareCmd(context.Background(), []string{"--base", bin, "--new", bin, "--null", bin, "--new-label", "again",
		"--rounds", "1", "--n", "300", "--concurrency", "10"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// load | server | deliveries/s | p99 | peak RSS | non-2xx | new/baseline | new/null
	rows := map[string][]string{}
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| load") {
			continue
		}
		cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) == 8 {
			rows[cells[0]+"/"+cells[1]] = cells
		}
	}
	if len(rows) != 6 || strings.Contains(out.String(), "Load checks that failed") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, load := range []string{"JourneyBee only", "mixed"} {
		for _, s := range []string{"baseline", "again", "null net/http"} {
			r := rows[load+"/"+s]
			if r == nil || r[5] != "0" || !strings.HasSuffix(r[4], " MiB") || r[4] == "0 MiB" || r[2] == "0" ||
				(s == "again") != (r[6] != "" && r[7] != "") {
				t.Errorf("%s/%s: row %q", load, s, r)
			}
		}
	}
}

func TestSpreadAndMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median %v", m)
	}
	if s := spread([]float64{1.1, 0.9, 1.0}, "%.2f"); s != "1.00 (0.90–1.10)" {
		t.Errorf("spread %q", s)
	}
	if s := spread([]float64{1234.4}, "%.0f"); s != "1234" {
		t.Errorf("spread %q", s)
	}
	r := compareRun{res: loadResult{Sent: 1000, Elapsed: 500 * time.Millisecond}}
	if r.rate() != 2000 {
		t.Errorf("rate %v", r.rate())
	}
}

func TestLoadProviders(t *testing.T) {
	ds, unique, err := buildLoadFor(200, 0.2, secretsOf(config.Development()), 1, []string{"journeybee"})
	if err != nil || len(ds) != 200 || unique == 0 {
		t.Fatalf("%d deliveries, %d unique, %v", len(ds), unique, err)
	}
	for _, d := range ds {
		if d.prov != "journeybee" {
			t.Fatalf("a %s delivery in a JourneyBee load", d.prov)
		}
	}
	if _, _, err := buildLoadFor(10, 0, secretsOf(config.Development()), 1, []string{"nobody"}); err == nil {
		t.Error("a load of an unknown provider was built")
	}
	if got := splitList(" journeybee, ,leadron,"); strings.Join(got, "|") != "journeybee|leadron" {
		t.Errorf("splitList %q", got)
	}
}
