package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// route is a destination config (type log, so no URL is needed) with dest.
func route(dest deliver.Destination, maxAttempts int, events ...string) deliver.Route {
	return deliver.Route{
		Config: config.Destination{Name: dest.Name(), Type: "log", Events: events, MaxAttempts: maxAttempts,
			Timeout: config.Duration(time.Second)},
		Dest: dest,
	}
}

func newProcessor(st deliver.Store, c *clock, routes ...deliver.Route) *deliver.Processor {
	return &deliver.Processor{
		Store:   st,
		Routes:  routes,
		Backoff: deliver.Backoff{Base: time.Second, Cap: time.Minute, Jitter: noJitter},
		Now:     c.Now,
	}
}

func process(t *testing.T, p *deliver.Processor, id string) deliver.Result {
	t.Helper()
	res, err := p.Process(t.Context(), id)
	if err != nil {
		t.Fatalf("Process(%s): %v", id, err)
	}
	return res
}

// drain runs Process until the event is Done, moving the clock to each
// next attempt, and returns how many runs it took.
func drain(t *testing.T, p *deliver.Processor, c *clock, id string) int {
	t.Helper()
	for run := 1; run <= 50; run++ {
		res := process(t, p, id)
		if res.Done {
			return run
		}
		c.Add(res.RetryIn)
	}
	t.Fatalf("event %s not done after 50 runs", id)
	return 0
}

func delivery(t *testing.T, ev store.Event, name string) store.Delivery {
	t.Helper()
	for _, d := range ev.Deliveries {
		if d.Destination == name {
			return d
		}
	}
	t.Fatalf("event %s has no delivery state for %s: %+v", ev.ID, name, ev.Deliveries)
	return store.Delivery{}
}

func openSQLite(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func putEvent(t testing.TB, st *sqlite.Store, ev store.Event) {
	t.Helper()
	if _, err := st.Put(context.Background(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

// TestFanOutOneFailsThreeTimes: two real HTTP destinations, one answering
// 503 three times. The healthy one gets exactly one delivery, the failing
// one succeeds on attempt 4, and the stored state shows both.
func TestFanOutOneFailsThreeTimes(t *testing.T) {
	st := openSQLite(t)
	ev := testEvent("01JFANOUT")
	putEvent(t, st, ev)
	healthy := newSink(t, nil, secretA)
	flaky := newSink(t, answerStatus(3, http.StatusServiceUnavailable), secretA)
	c := newClock()
	p := newProcessor(st, c)
	for _, d := range []config.Destination{
		httpDest("healthy", healthy.url(), "cloudevents", "leadron.*"),
		httpDest("flaky", flaky.url(), "raw", "leadron.lead.*"),
		httpDest("other", healthy.url(), "raw", "tomba.*"), // does not match
	} {
		p.Routes = append(p.Routes, deliver.Route{Config: d, Dest: newHTTP(t, d)})
	}

	// First run: healthy delivered, flaky scheduled after the base backoff.
	res := process(t, p, ev.ID)
	if res.Done || res.RetryIn != time.Second || res.Status != store.StatusQueued {
		t.Fatalf("first run = %+v, want not done, retry in 1s, queued", res)
	}
	got, err := st.Get(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := delivery(t, got, "flaky")
	if f.Attempts != 1 || f.LastStatusCode != 503 || f.LastClass != "http_503" || f.Settled() ||
		!f.NextAttemptAt.Equal(c.Now().Add(time.Second)) {
		t.Fatalf("flaky after run 1 = %+v, want 1 attempt, 503, due in 1s", f)
	}

	c.Add(res.RetryIn)
	runs := 1 + drain(t, p, c, ev.ID)
	if runs != 4 {
		t.Errorf("done after %d runs, want 4", runs)
	}
	if n := healthy.count(ev.ID); n != 1 {
		t.Errorf("healthy destination got %d deliveries, want exactly 1", n)
	}
	if n := flaky.count(ev.ID); n != 4 {
		t.Errorf("flaky destination got %d deliveries, want 4", n)
	}
	got, err = st.Get(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusDelivered || len(got.Deliveries) != 2 {
		t.Fatalf("stored status %q with %+v, want delivered with two destinations", got.Status, got.Deliveries)
	}
	h, f := delivery(t, got, "healthy"), delivery(t, got, "flaky")
	if h.Attempts != 1 || !h.Delivered() || h.LastStatusCode != 204 {
		t.Errorf("healthy = %+v, want delivered on attempt 1", h)
	}
	if f.Attempts != 4 || !f.Delivered() || f.LastStatusCode != 204 || f.LastClass != "" || !f.FailedAt.IsZero() {
		t.Errorf("flaky = %+v, want delivered on attempt 4", f)
	}
	// Once done, a duplicate message sends nothing.
	if res := process(t, p, ev.ID); !res.Done {
		t.Errorf("run after delivery = %+v, want done", res)
	}
	if healthy.count(ev.ID) != 1 || flaky.count(ev.ID) != 4 {
		t.Error("a run after delivery sent again")
	}
}

// TestRetryAfterHonoured: a 429 with Retry-After: 90 puts the next attempt
// 90 s out, although the backoff alone would say 1 s.
func TestRetryAfterHonoured(t *testing.T) {
	st := openSQLite(t)
	ev := testEvent("01JRETRYAFTER")
	putEvent(t, st, ev)
	s := newSink(t, answerStatus(1, http.StatusTooManyRequests, "Retry-After", "90"), secretA)
	c := newClock()
	d := httpDest("crm", s.url(), "cloudevents")
	p := newProcessor(st, c, deliver.Route{Config: d, Dest: newHTTP(t, d)})

	res := process(t, p, ev.ID)
	if res.Done || res.RetryIn != 90*time.Second {
		t.Fatalf("after a 429 = %+v, want retry in 90s", res)
	}
	got, _ := st.Get(t.Context(), ev.ID)
	if dl := delivery(t, got, "crm"); dl.LastStatusCode != 429 || !dl.NextAttemptAt.Equal(c.Now().Add(90*time.Second)) {
		t.Fatalf("delivery = %+v, want 429, next attempt at +90s", dl)
	}
	// Not due yet: a duplicate message attempts nothing.
	c.Add(89 * time.Second)
	if res := process(t, p, ev.ID); res.Done || res.RetryIn != time.Second || s.total() != 1 {
		t.Fatalf("before Retry-After ran out = %+v with %d requests, want retry in 1s and no request", res, s.total())
	}
	c.Add(time.Second)
	if res := process(t, p, ev.ID); !res.Done || s.total() != 2 {
		t.Fatalf("after Retry-After = %+v with %d requests, want done after a second request", res, s.total())
	}
}

func TestProcessOutcomes(t *testing.T) {
	for _, c := range []struct {
		name        string
		script      []deliver.Outcome
		maxAttempts int
		wantCalls   int
		wantStatus  store.Status
		wantClass   string
		wantCode    int
	}{
		{"ok at once", []deliver.Outcome{ok200}, 10, 1, store.StatusDelivered, "", 200},
		{"permanent 400", []deliver.Outcome{badRequest}, 10, 1, store.StatusFailed, "http_400", 400},
		{"permanent 404", []deliver.Outcome{{StatusCode: 404, Class: "http_404", Permanent: true}}, 10, 1, store.StatusFailed, "http_404", 404},
		{"permanent 410", []deliver.Outcome{{StatusCode: 410, Class: "http_410", Permanent: true}}, 10, 1, store.StatusFailed, "http_410", 410},
		{"transient then ok", []deliver.Outcome{unavailable, {Class: "timeout"}, ok200}, 10, 3, store.StatusDelivered, "", 200},
		{"transient until max attempts", []deliver.Outcome{unavailable}, 4, 4, store.StatusFailed, "http_503", 503},
		{"one attempt allowed", []deliver.Outcome{{Class: "connection"}}, 1, 1, store.StatusFailed, "connection", 0},
		{"failure without a class", []deliver.Outcome{{Permanent: true}}, 10, 1, store.StatusFailed, "error", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := testEvent("01JOUTCOME")
			st := newMemStore(ev)
			dest := &fakeDest{name: "crm", script: c.script}
			clk := newClock()
			p := newProcessor(st, clk, route(dest, c.maxAttempts))
			drain(t, p, clk, ev.ID)
			if got := len(dest.attempts()); got != c.wantCalls {
				t.Errorf("%d attempts, want %d", got, c.wantCalls)
			}
			for i, n := range dest.attempts() {
				if n != i+1 {
					t.Errorf("call %d had attempt number %d", i+1, n)
				}
			}
			got := st.event(ev.ID)
			d := delivery(t, got, "crm")
			if got.Status != c.wantStatus || d.Attempts != c.wantCalls || d.LastClass != c.wantClass || d.LastStatusCode != c.wantCode {
				t.Errorf("status %q, delivery %+v; want %q, %d attempts, class %q, code %d",
					got.Status, d, c.wantStatus, c.wantCalls, c.wantClass, c.wantCode)
			}
			if (c.wantStatus == store.StatusFailed) != !d.FailedAt.IsZero() || (c.wantStatus == store.StatusDelivered) != d.Delivered() || !d.NextAttemptAt.IsZero() {
				t.Errorf("delivery %+v not settled as %s", d, c.wantStatus)
			}
		})
	}
}

// TestFailedOnlyWhenSettled: a destination given up leaves the event queued
// while another one still retries; failed comes once both are settled.
func TestFailedOnlyWhenSettled(t *testing.T) {
	ev := testEvent("01JSETTLED")
	st := newMemStore(ev)
	bad := &fakeDest{name: "bad", script: []deliver.Outcome{badRequest}}
	slow := &fakeDest{name: "slow", script: []deliver.Outcome{unavailable, ok200}}
	clk := newClock()
	p := newProcessor(st, clk, route(bad, 10), route(slow, 10))
	res := process(t, p, ev.ID)
	if res.Done || res.Status != store.StatusQueued || st.event(ev.ID).Status != store.StatusQueued {
		t.Fatalf("with one given up and one pending: %+v, stored %q; want queued", res, st.event(ev.ID).Status)
	}
	clk.Add(res.RetryIn)
	if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusFailed {
		t.Fatalf("both settled: %+v, want done and failed", res)
	}
	if len(bad.attempts()) != 1 || len(slow.attempts()) != 2 {
		t.Errorf("attempts bad %v slow %v, want 1 and 2", bad.attempts(), slow.attempts())
	}
}

func TestProcessEdges(t *testing.T) {
	t.Run("no matching destination", func(t *testing.T) {
		ev := testEvent("01JNOMATCH")
		st := newMemStore(ev)
		dest := &fakeDest{name: "tomba-only", script: []deliver.Outcome{ok200}}
		p := newProcessor(st, newClock(), route(dest, 10, "tomba.*"))
		if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusDelivered {
			t.Fatalf("Process = %+v, want done, delivered", res)
		}
		if got := st.event(ev.ID); got.Status != store.StatusDelivered || got.Deliveries != nil || len(dest.attempts()) != 0 {
			t.Fatalf("stored %q %+v, %d calls; want delivered, no state, no call", got.Status, got.Deliveries, len(dest.attempts()))
		}
	})
	t.Run("missing event", func(t *testing.T) {
		p := newProcessor(newMemStore(), newClock(), route(&fakeDest{name: "crm", script: []deliver.Outcome{ok200}}, 10))
		if res := process(t, p, "01JGONE"); !res.Done {
			t.Fatalf("Process of a missing event = %+v, want done", res)
		}
	})
	t.Run("store down", func(t *testing.T) {
		st := newMemStore(testEvent("01JDOWN"))
		st.down = true
		p := newProcessor(st, newClock(), route(&fakeDest{name: "crm", script: []deliver.Outcome{ok200}}, 10))
		if _, err := p.Process(t.Context(), "01JDOWN"); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Process with the store down = %v, want ErrUnavailable", err)
		}
	})
	t.Run("max attempts lowered", func(t *testing.T) {
		ev := testEvent("01JLOWERED")
		ev.Deliveries = []store.Delivery{{Destination: "crm", Attempts: 5, LastClass: "http_503", LastStatusCode: 503}}
		st := newMemStore(ev)
		dest := &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}
		p := newProcessor(st, newClock(), route(dest, 3))
		if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusFailed || len(dest.attempts()) != 0 {
			t.Fatalf("Process = %+v after %d calls, want failed without an attempt", res, len(dest.attempts()))
		}
	})
	t.Run("received becomes queued", func(t *testing.T) {
		ev := testEvent("01JRECEIVED")
		ev.Status = store.StatusReceived
		st := newMemStore(ev)
		p := newProcessor(st, newClock(), route(&fakeDest{name: "crm", script: []deliver.Outcome{unavailable}}, 10))
		process(t, p, ev.ID)
		if got := st.event(ev.ID).Status; got != store.StatusQueued {
			t.Fatalf("status %q with a pending destination, want queued", got)
		}
	})
}

// TestMergeAfterConcurrentSave: another processor saves between this one's
// read and its save. The other's success stands, this one's results are
// applied on top, nothing is lost.
func TestMergeAfterConcurrentSave(t *testing.T) {
	ev := testEvent("01JMERGE")
	st := newMemStore(ev)
	clk := newClock()
	other := clk.Now().Add(-time.Millisecond)
	st.beforeSave = func(m *memStore) {
		m.mu.Lock()
		defer m.mu.Unlock()
		e := m.events[ev.ID]
		e.Deliveries = []store.Delivery{{Destination: "a", Attempts: 1, LastStatusCode: 200, LastAttemptAt: other, DeliveredAt: other}}
		e.Version++
		m.events[ev.ID] = e
	}
	a := &fakeDest{name: "a", script: []deliver.Outcome{unavailable}}
	b := &fakeDest{name: "b", script: []deliver.Outcome{ok200}}
	p := newProcessor(st, clk, route(a, 10), route(b, 10))
	if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusDelivered {
		t.Fatalf("Process = %+v, want done, delivered", res)
	}
	got := st.event(ev.ID)
	da, db := delivery(t, got, "a"), delivery(t, got, "b")
	if !da.Delivered() || da.Attempts != 1 || !da.DeliveredAt.Equal(other) {
		t.Errorf("a = %+v, want the other processor's success untouched", da)
	}
	if !db.Delivered() || db.Attempts != 1 {
		t.Errorf("b = %+v, want delivered", db)
	}
	if got.Version != 2 || st.saves != 1 {
		t.Errorf("version %d after %d saves of ours, want 2 and 1", got.Version, st.saves)
	}
}

// TestConcurrentProcessSharesRun: two concurrent calls for one event in one
// Processor make one attempt and get the same result.
func TestConcurrentProcessSharesRun(t *testing.T) {
	ev := testEvent("01JSHARED")
	st := newMemStore(ev)
	dest := &fakeDest{name: "crm", script: []deliver.Outcome{ok200}, block: make(chan struct{})}
	p := newProcessor(st, newClock(), route(dest, 10))
	var wg sync.WaitGroup
	results := make([]deliver.Result, 3)
	for i := range results {
		wg.Go(func() { results[i] = process(t, p, ev.ID) })
	}
	time.Sleep(50 * time.Millisecond) // let all three calls start and meet
	close(dest.block)
	wg.Wait()
	if n := len(dest.attempts()); n != 1 {
		t.Fatalf("%d attempts for three concurrent calls, want 1", n)
	}
	for i, r := range results {
		if !r.Done {
			t.Errorf("call %d = %+v, want done", i, r)
		}
	}
}

// TestAttemptLogAndObserve: one JSON line and one Observe call per attempt,
// with the wide fields and without the body or the secret.
func TestAttemptLogAndObserve(t *testing.T) {
	st := openSQLite(t)
	ev := testEvent("01JLOGLINE")
	putEvent(t, st, ev)
	s := newSink(t, answerStatus(1, http.StatusBadGateway), secretA)
	var buf bytes.Buffer
	var seen []deliver.Attempt
	d := httpDest("crm", s.url(), "cloudevents")
	clk := newClock()
	p := newProcessor(st, clk, deliver.Route{Config: d, Dest: newHTTP(t, d)})
	p.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	p.Observe = func(a deliver.Attempt) { seen = append(seen, a) }
	drain(t, p, clk, ev.ID)

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || len(seen) != 2 {
		t.Fatalf("%d log lines and %d observations, want 2 each:\n%s", len(lines), len(seen), buf.String())
	}
	for i, want := range []struct {
		outcome string
		code    int
		class   string
	}{{"retry", 502, "http_502"}, {"delivered", 204, ""}} {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		for k, v := range map[string]any{
			"msg": "delivery_attempt", "event_id": ev.ID, "type": ev.Type, "provider": "leadron",
			"destination": "crm", "attempt": float64(i + 1), "status_code": float64(want.code),
			"class": want.class, "outcome": want.outcome,
		} {
			if k == "class" && want.class == "" {
				if _, ok := line[k]; ok {
					t.Errorf("line %d: an empty class is logged (%v), want it left out", i+1, line[k])
				}
				continue
			}
			if line[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i+1, k, line[k], v)
			}
		}
		if _, ok := line["duration_ms"].(float64); !ok {
			t.Errorf("line %d has no duration_ms", i+1)
		}
		a := seen[i]
		if a.EventID != ev.ID || a.Destination != "crm" || a.Number != i+1 || a.StatusCode != want.code ||
			a.Outcome != want.outcome || a.Class != want.class || a.Provider != "leadron" || a.Duration <= 0 {
			t.Errorf("observed %+v", a)
		}
	}
	if seen[0].RetryIn != time.Second {
		t.Errorf("observed RetryIn %v, want 1s", seen[0].RetryIn)
	}
	for _, leak := range []string{"zoe@example.com", "Zoë", "MfKQ9r8", s.url()} {
		if strings.Contains(buf.String(), leak) {
			t.Errorf("log contains %q", leak)
		}
	}
}

func TestBackoff(t *testing.T) {
	b := deliver.Backoff{Base: 2 * time.Second, Cap: time.Minute, Jitter: noJitter}
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second,
		5: 32 * time.Second, 6: time.Minute, 100: time.Minute} {
		if got := b.Ceiling(n); got != want {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, want)
		}
	}
	for _, c := range []struct {
		n          int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, 2 * time.Second},
		{1, 30 * time.Second, 30 * time.Second}, // Retry-After longer than the backoff wins
		{6, 30 * time.Second, time.Minute},      // shorter: the backoff stands
		{1, 24 * time.Hour, deliver.MaxRetryAfter},
	} {
		if got := b.Delay(c.n, c.retryAfter); got != c.want {
			t.Errorf("Delay(%d, %v) = %v, want %v", c.n, c.retryAfter, got, c.want)
		}
	}
	if deliver.MaxRetryAfter != 11*time.Hour {
		t.Fatalf("MaxRetryAfter = %v, want 11h (12 h of SQS visibility less what a message spends in flight)", deliver.MaxRetryAfter)
	}
	// A cap over the limit (a Backoff not built from a validated config)
	// still stops at MaxRetryAfter.
	if got := (deliver.Backoff{Base: time.Hour, Cap: 48 * time.Hour, Jitter: noJitter}).Delay(10, 0); got != deliver.MaxRetryAfter {
		t.Errorf("Delay with a 48h cap = %v, want %v", got, deliver.MaxRetryAfter)
	}
	// Full jitter: uniform in [0, ceiling].
	r := deliver.Backoff{Base: time.Second, Cap: 8 * time.Second}
	var low, high bool
	for range 2000 {
		d := r.Delay(4, 0)
		if d < 0 || d > 8*time.Second {
			t.Fatalf("Delay(4) = %v, outside [0, 8s]", d)
		}
		low = low || d < 2*time.Second
		high = high || d > 6*time.Second
	}
	if !low || !high {
		t.Errorf("2000 delays never below 2s (%v) or above 6s (%v): not full jitter", low, high)
	}
}
