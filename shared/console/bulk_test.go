package console_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
)

type selectionAnswer struct {
	Count       int       `json:"count"`
	Destination string    `json:"destination"`
	Since       time.Time `json:"since"`
	Until       time.Time `json:"until"`
	Query       string    `json:"query"`
	DryRun      bool      `json:"dry_run"`
}

type jobAnswer struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	State       string `json:"state"`
	Destination string `json:"destination"`
	Total       int    `json:"total"`
	Done        int    `json:"done"`
	Failed      int    `json:"failed"`
	Errors      []struct {
		EventID string `json:"event_id"`
		Error   string `json:"error"`
	} `json:"errors"`
}

// waitJob polls the job until it is no longer running.
func (s *setup) waitJob(t *testing.T, id string) jobAnswer {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a := s.do(t, "GET", "/api/replay/"+id, "")
		if a.status != 200 {
			t.Fatalf("GET /api/replay/%s = %d %s", id, a.status, a.body)
		}
		j := decode[jobAnswer](t, a)
		if j.State != "running" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job still running: %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// listIDs is every id GET /api/events gives for the filters.
func (s *setup) listIDs(t *testing.T, filters string) []string {
	t.Helper()
	got := decode[listAnswer](t, s.do(t, "GET", "/api/events?limit=500&"+filters, ""))
	var ids []string
	for _, e := range got.Events {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestBulkReplay: the dry run counts exactly the events the list shows for
// the same filters (across pages); the real run enqueues each of them
// once, and only them; the job reports its progress; a cursor, an unknown
// destination, a set over the bound and a cross-site POST are refused.
func TestBulkReplay(t *testing.T) {
	s := newSetup(t, console.Options{MaxBulk: 7})
	at := time.Now().UTC().Add(-30 * time.Minute)
	for i, p := range []string{"leadron", "tomba", "leadron", "journeybee", "leadron", "leadron", "tomba"} {
		s.put(t, p, "bulk_"+string(rune('a'+i)), at.Add(time.Duration(i)*time.Second))
	}
	s.put(t, "leadron", "bulk_old", at.Add(-3*time.Hour))

	for _, c := range []struct {
		filters string
		want    int
	}{
		{"provider=leadron&since=1h", 4},
		{"provider=leadron", 5},
		{"type=tomba.*", 2},
		{"provider=journeybee&q=lead_bulk_d", 1},
		{"q=nothing-matches", 0},
	} {
		a := s.do(t, "POST", "/api/replay?"+c.filters, `{"dry_run": true}`, console.HeaderConsole, "1")
		if a.status != 200 {
			t.Fatalf("dry run %q = %d %s", c.filters, a.status, a.body)
		}
		sel := decode[selectionAnswer](t, a)
		if listed := s.listIDs(t, c.filters); sel.Count != c.want || len(listed) != c.want || !sel.DryRun || sel.Until.IsZero() {
			t.Errorf("dry run %q = %+v, list %d; want %d", c.filters, sel, len(listed), c.want)
		}
	}
	if n := len(s.q.enqueued()); n != 0 {
		t.Fatalf("a dry run enqueued %d events", n)
	}

	// The real run, with the dry run's resolved filters.
	sel := decode[selectionAnswer](t, s.do(t, "POST", "/api/replay?provider=leadron&since=1h", `{"dry_run": true}`, console.HeaderConsole, "1"))
	want := s.listIDs(t, "provider=leadron&since=1h")
	s.put(t, "leadron", "bulk_late", time.Now().UTC().Add(time.Second)) // after the dry run: not in the set
	a := s.do(t, "POST", "/api/replay?"+sel.Query, `{"destination": "crm"}`, console.HeaderConsole, "1")
	if a.status != 202 || !strings.HasPrefix(a.header.Get("Location"), "/api/replay/") {
		t.Fatalf("replay = %d %s", a.status, a.body)
	}
	j := s.waitJob(t, decode[jobAnswer](t, a).ID)
	if j.State != "done" || j.Total != 4 || j.Done != 4 || j.Failed != 0 || j.Kind != "replay" || j.Destination != "crm" {
		t.Fatalf("job = %+v", j)
	}
	got := s.q.enqueued()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("enqueued %v, want exactly %v", got, want)
	}
	for _, id := range want {
		if ev, err := s.st.Get(t.Context(), id); err != nil || ev.Status != store.StatusQueued {
			t.Errorf("event %s after the replay: %v %v", id, ev.Status, err)
		}
	}

	for _, c := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/api/replay?cursor=1.x", `{"dry_run": true}`, 400, "bad_request"},
		{"/api/replay", `{"destination": "nowhere"}`, 400, "unknown_destination"},
		{"/api/replay", `{"dry_run": "yes"}`, 400, "bad_request"},
		{"/api/replay", `{"dry_run": true}`, 422, "too_many"}, // 8 events before the dry run's until, over MaxBulk 7
		{"/api/replay?status=bogus", `{}`, 400, "bad_request"},
	} {
		a := s.do(t, "POST", c.path, c.body, console.HeaderConsole, "1")
		if a.status != c.status || !strings.Contains(string(a.body), `"error":"`+c.code+`"`) {
			t.Errorf("POST %s %s = %d %s, want %d %s", c.path, c.body, a.status, a.body, c.status, c.code)
		}
	}
	if a := s.do(t, "POST", "/api/replay", `{}`, "Origin", "http://evil.example"); a.status != 403 {
		t.Errorf("cross-site bulk replay = %d, want 403", a.status)
	}
	if a := s.do(t, "GET", "/api/replay/nope", ""); a.status != 404 {
		t.Errorf("unknown job = %d, want 404", a.status)
	}
}

// TestRecoverFailedSince: recover selects the events whose delivery to the
// destination was given up since T (not before, not another destination's,
// not a filtered or delivered one), and replays them to that destination
// only: the other destinations' state stays.
func TestRecoverFailedSince(t *testing.T) {
	s := newSetup(t, console.Options{})
	now := time.Now().UTC()
	save := func(ev store.Event, ds ...store.Delivery) {
		t.Helper()
		if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, ds, store.StatusFailed); !ok || err != nil {
			t.Fatalf("SaveDeliveries: %v %v", ok, err)
		}
	}
	slackOK := store.Delivery{Destination: "slack", Attempts: 1, DeliveredAt: now.Add(-time.Hour)}
	a := s.put(t, "leadron", "rec_a", now.Add(-3*24*time.Hour)) // received long ago, failed recently
	save(a, store.Delivery{Destination: "crm", Attempts: 10, FailedAt: now.Add(-20 * time.Minute)}, slackOK)
	b := s.put(t, "tomba", "rec_b", now.Add(-40*time.Minute))
	save(b, store.Delivery{Destination: "crm", Attempts: 10, FailedAt: now.Add(-5 * time.Minute)})
	c := s.put(t, "leadron", "rec_c", now.Add(-3*time.Hour)) // failed before T
	save(c, store.Delivery{Destination: "crm", Attempts: 10, FailedAt: now.Add(-2 * time.Hour)})
	d := s.put(t, "leadron", "rec_d", now.Add(-10*time.Minute)) // failed at slack, not crm
	save(d, store.Delivery{Destination: "slack", Attempts: 10, FailedAt: now.Add(-5 * time.Minute)},
		store.Delivery{Destination: "crm", Attempts: 1, DeliveredAt: now.Add(-9 * time.Minute)})
	e := s.put(t, "leadron", "rec_e", now.Add(-10*time.Minute)) // filtered for crm
	save(e, store.Delivery{Destination: "crm", FilteredAt: now.Add(-9 * time.Minute)})

	dry := s.do(t, "POST", "/api/recover", `{"destination": "crm", "since": "1h", "dry_run": true}`, console.HeaderConsole, "1")
	if sel := decode[selectionAnswer](t, dry); dry.status != 200 || sel.Count != 2 || sel.Destination != "crm" ||
		sel.Since.Before(now.Add(-61*time.Minute)) || sel.Since.After(now.Add(-59*time.Minute)) {
		t.Fatalf("recover dry run = %d %s", dry.status, dry.body)
	}
	run := s.do(t, "POST", "/api/recover", `{"destination": "crm", "since": "1h"}`, console.HeaderConsole, "1")
	if run.status != 202 {
		t.Fatalf("recover = %d %s", run.status, run.body)
	}
	if j := s.waitJob(t, decode[jobAnswer](t, run).ID); j.State != "done" || j.Total != 2 || j.Done != 2 || j.Kind != "recover" {
		t.Fatalf("recover job = %+v", j)
	}
	got := s.q.enqueued()
	slices.Sort(got)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("recover enqueued %v, want %v", got, want)
	}
	ev, err := s.st.Get(t.Context(), a.ID)
	if err != nil || len(ev.Deliveries) != 1 || ev.Deliveries[0].Destination != "slack" || ev.Status != store.StatusQueued {
		t.Errorf("after recover, event a = %+v, %v: want crm's state cleared, slack's kept", ev.Deliveries, err)
	}
	for _, bad := range []string{`{"since": "1h"}`, `{"destination": "crm"}`, `{"destination": "crm", "since": "yesterday"}`,
		`{"destination": "nowhere", "since": "1h"}`} {
		if a := s.do(t, "POST", "/api/recover", bad, console.HeaderConsole, "1"); a.status != 400 {
			t.Errorf("recover %s = %d %s, want 400", bad, a.status, a.body)
		}
	}
}

// TestOneJobAtATime: a second bulk replay while one runs is refused (409),
// so a double click does not replay twice.
func TestOneJobAtATime(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	s := newSetup(t, console.Options{})
	// A queue that blocks the first enqueue until released.
	blocking := func(ctx context.Context, id, typ string) error {
		<-release
		return s.q.Enqueue(ctx, id, typ)
	}
	c, err := console.New(s.st, blocking, console.Options{Addr: "127.0.0.1:" + s.port, Destinations: []string{"crm"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler("127.0.0.1:" + s.port))
	defer srv.Close()
	defer once.Do(func() { close(release) })
	s2 := &setup{c: c, st: s.st, q: s.q, url: srv.URL, port: s.port}
	s.put(t, "leadron", "one_a", time.Now().UTC().Add(-time.Minute))
	first := s2.do(t, "POST", "/api/replay", `{}`, console.HeaderConsole, "1", "Host", "127.0.0.1:"+s.port)
	if first.status != 202 {
		t.Fatalf("first = %d %s", first.status, first.body)
	}
	second := s2.do(t, "POST", "/api/replay", `{}`, console.HeaderConsole, "1", "Host", "127.0.0.1:"+s.port)
	if second.status != 409 || !strings.Contains(string(second.body), "busy") {
		t.Fatalf("second while the first runs = %d %s, want 409 busy", second.status, second.body)
	}
	once.Do(func() { close(release) })
	id := decode[jobAnswer](t, first).ID
	deadline := time.Now().Add(5 * time.Second)
	for {
		j := decode[jobAnswer](t, s2.do(t, "GET", "/api/replay/"+id, "", "Host", "127.0.0.1:"+s.port))
		if j.State == "done" && j.Done == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job = %+v", j)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }

type minutesAnswer struct {
	Window      string    `json:"window"`
	Step        string    `json:"step"`
	StepSeconds int       `json:"step_seconds"`
	Since       time.Time `json:"since"`
	Durable     bool      `json:"durable"`
	Minutes     []struct {
		At        time.Time `json:"at"`
		Providers map[string]struct {
			Accepted  int `json:"accepted"`
			Duplicate int `json:"duplicate"`
			Rejected  int `json:"rejected"`
		} `json:"providers"`
		Destinations map[string]struct {
			Attempts int     `json:"attempts"`
			Failed   int     `json:"failed"`
			P50MS    float64 `json:"p50_ms"`
			P99MS    float64 `json:"p99_ms"`
		} `json:"destinations"`
	} `json:"minutes"`
}

// TestMinutes: a known mix of accepted (stored events), duplicates and
// rejections (counted, some flushed to the store, some still in memory)
// and attempts comes back per minute; the flushed counts survive a new
// console on the same store (a restart); the window picks the step.
func TestMinutes(t *testing.T) {
	clk := &clock{t: time.Now().UTC().Truncate(time.Minute).Add(-5*time.Minute + 10*time.Second)}
	s := newSetup(t, console.Options{Now: clk.now})
	m0 := clk.now().Truncate(time.Minute) // five minutes ago
	// Minute m0: 3 leadron accepted, 2 duplicates, 1 rejected; tomba 4 rejected.
	var evs []store.Event
	for i := range 3 {
		evs = append(evs, s.put(t, "leadron", "min_"+string(rune('a'+i)), m0.Add(time.Duration(i+1)*time.Second)))
	}
	for _, r := range []ingest.Result{
		{Provider: "leadron", Outcome: ingest.OutcomeDuplicate}, {Provider: "leadron", Outcome: ingest.OutcomeRequeued},
		{Provider: "leadron", Outcome: ingest.OutcomeRejected, Status: 401, Reason: "bad_signature"},
		{Provider: "tomba", Outcome: ingest.OutcomeRejected}, {Provider: "tomba", Outcome: ingest.OutcomeRejected},
		{Provider: "tomba", Outcome: ingest.OutcomeRejected}, {Provider: "tomba", Outcome: ingest.OutcomeRejected},
	} {
		s.c.ObserveIngest(r)
	}
	for i, d := range []time.Duration{10, 30, 500} {
		a := store.Attempt{EventID: evs[i].ID, Destination: "crm", Number: 1, At: m0.Add(20 * time.Second), Outcome: "delivered",
			StatusCode: 200, Duration: d * time.Millisecond}
		if err := s.st.RecordAttempt(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	// Two minutes later: flush m0 (finished), then one more duplicate in
	// the current minute, not flushed.
	clk.set(m0.Add(2*time.Minute + 5*time.Second))
	if err := s.c.Flush(t.Context(), s.st, false); err != nil {
		t.Fatal(err)
	}
	s.c.ObserveIngest(ingest.Result{Provider: "journeybee", Outcome: ingest.OutcomeDuplicate})

	check := func(name string, c *console.Console, url string, wantJourneybee int) {
		t.Helper()
		s2 := &setup{c: c, st: s.st, url: url, port: s.port}
		a := s2.do(t, "GET", "/api/stats/minutes?window=15m", "")
		if a.status != 200 {
			t.Fatalf("%s: %d %s", name, a.status, a.body)
		}
		got := decode[minutesAnswer](t, a)
		if got.Step != "1m0s" || got.StepSeconds != 60 || len(got.Minutes) != 15 {
			t.Fatalf("%s: step %s, %d minutes", name, got.Step, len(got.Minutes))
		}
		var m0i = -1
		for i, m := range got.Minutes {
			if m.At.Equal(m0) {
				m0i = i
			}
		}
		if m0i < 0 {
			t.Fatalf("%s: no bucket at %v (since %v)", name, m0, got.Since)
		}
		m := got.Minutes[m0i]
		if p := m.Providers["leadron"]; p.Accepted != 3 || p.Duplicate != 2 || p.Rejected != 1 {
			t.Errorf("%s: leadron at m0 = %+v, want 3 accepted, 2 duplicate, 1 rejected", name, p)
		}
		if p := m.Providers["tomba"]; p.Accepted != 0 || p.Rejected != 4 {
			t.Errorf("%s: tomba at m0 = %+v, want 4 rejected", name, p)
		}
		if d := m.Destinations["crm"]; d.Attempts != 3 || d.P50MS != 30 || d.P99MS != 500 {
			t.Errorf("%s: crm at m0 = %+v", name, d)
		}
		last := got.Minutes[len(got.Minutes)-1]
		if !last.At.Equal(m0.Add(2*time.Minute)) || last.Providers["journeybee"].Duplicate != wantJourneybee {
			t.Errorf("%s: last minute %v journeybee %+v, want %d duplicate", name, last.At, last.Providers["journeybee"], wantJourneybee)
		}
		total := 0
		for _, m := range got.Minutes {
			for _, p := range m.Providers {
				total += p.Accepted + p.Duplicate + p.Rejected
			}
		}
		if total != 3+2+1+4+wantJourneybee {
			t.Errorf("%s: %d counted over the window, want %d", name, total, 10+wantJourneybee)
		}
	}
	check("this console", s.c, s.url, 1)

	// A restart: a new console on the same store has the flushed counts;
	// the unflushed duplicate is what a crash loses.
	c2, err := console.New(s.st, s.q.Enqueue, console.Options{Addr: "127.0.0.1:" + s.port, Now: clk.now,
		Providers: []string{"journeybee", "leadron", "tomba"}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	srv.Config.Handler = c2.Handler(srv.Listener.Addr().String())
	srv.Start()
	defer srv.Close()
	check("after a restart", c2, srv.URL, 0)

	// Stats' totals agree.
	st := decode[struct {
		Providers map[string]struct {
			Duplicate int `json:"duplicate"`
			Rejected  int `json:"rejected"`
		} `json:"providers"`
	}](t, s.do(t, "GET", "/api/stats?window=1h", ""))
	if st.Providers["leadron"].Duplicate != 2 || st.Providers["tomba"].Rejected != 4 || st.Providers["journeybee"].Duplicate != 1 {
		t.Errorf("stats = %+v", st.Providers)
	}

	for w, step := range map[string]string{"5m": "1m0s", "3h": "1m0s", "6h": "5m0s", "24h": "15m0s", "7d": "1h0m0s"} {
		got := decode[minutesAnswer](t, s.do(t, "GET", "/api/stats/minutes?window="+w, ""))
		if got.Step != step || len(got.Minutes) > 180 {
			t.Errorf("window %s: step %s with %d buckets, want %s", w, got.Step, len(got.Minutes), step)
		}
	}
	for _, bad := range []string{"1m", "8d", "x"} {
		if a := s.do(t, "GET", "/api/stats/minutes?window="+bad, ""); a.status != 400 {
			t.Errorf("window %s = %d, want 400", bad, a.status)
		}
	}
}

// TestFilteredAndPreview: a delivery the filter turned away is "filtered"
// in the list and the detail, and the detail previews what each
// destination would receive: the transformed body for one, filtered out
// for the other, nothing of the URL or secret.
func TestFilteredAndPreview(t *testing.T) {
	dests := []config.Destination{
		{Name: "crm", Type: "http", URL: "https://crm.example/hooks?token=sekrit", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			Events: []string{"leadron.*"}, Transform: `{email: .normalized.lead.email, provider}`},
		{Name: "slack", Type: "http", URL: "https://hooks.example/T000/sekrit", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			Events: []string{"*"}, Filter: `.provider == "tomba"`},
		{Name: "audit", Type: "log", Events: []string{"tomba.*"}},
	}
	routes, err := deliver.NewRoutes(dests, deliver.DefaultBuilders(nil, deliver.NewHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	s := newSetup(t, console.Options{Routes: routes, Destinations: []string{"crm", "slack", "audit"}})
	now := time.Now().UTC()
	ev := s.put(t, "leadron", "prev_a", now.Add(-time.Minute))
	if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, []store.Delivery{
		{Destination: "crm", Attempts: 1, DeliveredAt: now},
		{Destination: "slack", FilteredAt: now},
	}, store.StatusDelivered); !ok || err != nil {
		t.Fatal(ok, err)
	}
	list := decode[listAnswer](t, s.do(t, "GET", "/api/events", ""))
	if d := list.Events[0].Deliveries; len(d) != 2 || d[1].State != "filtered" || d[0].State != "delivered" {
		t.Fatalf("list deliveries = %+v", d)
	}
	a := s.do(t, "GET", "/api/events/"+ev.ID, "")
	if strings.Contains(string(a.body), "sekrit") || strings.Contains(string(a.body), "whsec_") {
		t.Fatalf("the detail shows a destination's URL or secret: %s", a.body)
	}
	type preview struct {
		Destination string         `json:"destination"`
		Type        string         `json:"type"`
		Matches     bool           `json:"matches"`
		Filter      *bool          `json:"filter"`
		Filtered    bool           `json:"filtered"`
		Transformed bool           `json:"transformed"`
		Error       string         `json:"error"`
		ContentType string         `json:"content_type"`
		Body        map[string]any `json:"body"`
	}
	got := decode[struct {
		Deliveries []struct {
			Destination string `json:"destination"`
			State       string `json:"state"`
		} `json:"deliveries"`
		Previews []preview `json:"previews"`
	}](t, a)
	if got.Deliveries[1].State != "filtered" {
		t.Errorf("detail slack state = %q", got.Deliveries[1].State)
	}
	if len(got.Previews) != 3 {
		t.Fatalf("previews = %+v", got.Previews)
	}
	crm, slack, audit := got.Previews[0], got.Previews[1], got.Previews[2]
	if !crm.Matches || !crm.Transformed || crm.Filter != nil || crm.Body["email"] != "ada@example.com" || crm.Body["provider"] != "leadron" ||
		crm.ContentType != "application/json" {
		t.Errorf("crm preview = %+v", crm)
	}
	if !slack.Matches || !slack.Filtered || slack.Filter == nil || *slack.Filter || slack.Body != nil {
		t.Errorf("slack preview = %+v", slack)
	}
	if audit.Matches || audit.Type != "log" {
		t.Errorf("audit preview = %+v", audit)
	}
}
