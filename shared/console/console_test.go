package console_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/store/storetest"
)

// queue records what the console enqueued.
type queue struct {
	mu  sync.Mutex
	ids []string
}

func (q *queue) Enqueue(_ context.Context, id, _ string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ids = append(q.ids, id)
	return nil
}

func (q *queue) enqueued() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.ids...)
}

type setup struct {
	c    *console.Console
	st   *sqlite.Store
	q    *queue
	url  string // http://127.0.0.1:PORT
	port string
}

// newSetup runs a console on a real SQLite file on 127.0.0.1 (a free port).
func newSetup(t testing.TB, o console.Options) *setup {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr == "" {
		o.Addr = ln.Addr().String()
	}
	if o.Destinations == nil {
		o.Destinations = []string{"crm", "slack"}
	}
	if o.Providers == nil {
		o.Providers = []string{"journeybee", "leadron", "tomba"}
	}
	q := &queue{}
	c, err := console.New(st, q.Enqueue, o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(c.Handler(ln.Addr().String()))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return &setup{c: c, st: st, q: q, url: srv.URL, port: port}
}

// put stores an event of provider received at at.
func (s *setup) put(t testing.TB, provider, key string, at time.Time) store.Event {
	t.Helper()
	ev := storetest.NewEvent(provider, key, at)
	if _, err := s.st.Put(context.Background(), ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return ev
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header values are set as given (Host too).
func (s *setup) do(t testing.TB, method, path string, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func decode[T any](t testing.TB, a answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatalf("answer %d %s: %v", a.status, a.body, err)
	}
	return v
}

type listAnswer struct {
	Events []struct {
		ID          string     `json:"id"`
		Provider    string     `json:"provider"`
		Type        string     `json:"type"`
		Status      string     `json:"status"`
		ReceivedAt  time.Time  `json:"received_at"`
		OccurredAt  *time.Time `json:"occurred_at"`
		EntityID    string     `json:"entity_id"`
		Tenant      string     `json:"tenant"`
		Stuck       bool       `json:"stuck"`
		StuckReason string     `json:"stuck_reason"`
		Deliveries  []struct {
			Destination string `json:"destination"`
			State       string `json:"state"`
			Attempts    int    `json:"attempts"`
			Overdue     bool   `json:"overdue"`
		} `json:"deliveries"`
	} `json:"events"`
	Next string `json:"next"`
}

type detailAnswer struct {
	ID          string            `json:"id"`
	Status      string            `json:"status"`
	Meta        map[string]string `json:"meta"`
	Body        jsontext.Value    `json:"body"`
	Normalized  jsontext.Value    `json:"normalized"`
	CloudEvent  map[string]any    `json:"cloudevent"`
	Stuck       bool              `json:"stuck"`
	StuckReason string            `json:"stuck_reason"`
	Deliveries  []struct {
		Destination string `json:"destination"`
		State       string `json:"state"`
		Attempts    int    `json:"attempts"`
		Stuck       bool   `json:"stuck"`
		History     []struct {
			Attempt    int       `json:"attempt"`
			At         time.Time `json:"at"`
			Outcome    string    `json:"outcome"`
			StatusCode int       `json:"status_code"`
			Error      string    `json:"error"`
			DurationMS float64   `json:"duration_ms"`
			Response   string    `json:"response"`
		} `json:"history"`
	} `json:"deliveries"`
}

func TestListEvents(t *testing.T) {
	s := newSetup(t, console.Options{})
	at := time.Now().UTC().Add(-time.Hour)
	var ids []string
	for i, p := range []string{"leadron", "tomba", "leadron", "journeybee", "leadron"} {
		ids = append(ids, s.put(t, p, "key_"+string(rune('a'+i)), at.Add(time.Duration(i)*time.Second)).ID)
	}
	a := s.do(t, "GET", "/api/events", "")
	if a.status != 200 || a.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/events = %d %s", a.status, a.body)
	}
	got := decode[listAnswer](t, a)
	if len(got.Events) != 5 || got.Events[0].ID != ids[4] || got.Events[4].ID != ids[0] || got.Next != "" {
		t.Fatalf("list = %+v, want the 5 events newest first, no next page", got)
	}
	e := got.Events[0]
	if e.Provider != "leadron" || e.Type != "leadron.lead.created" || e.Status != "received" || e.EntityID != "lead_key_e" ||
		e.Tenant != "tenant-1" || e.OccurredAt == nil || e.Deliveries == nil {
		t.Errorf("entry = %+v", e)
	}

	// Filters and pages are passed through to the store.
	got = decode[listAnswer](t, s.do(t, "GET", "/api/events?provider=leadron&limit=2", ""))
	if len(got.Events) != 2 || got.Events[0].ID != ids[4] || got.Events[1].ID != ids[2] || got.Next == "" {
		t.Fatalf("page 1 = %+v", got)
	}
	got = decode[listAnswer](t, s.do(t, "GET", "/api/events?provider=leadron&limit=2&cursor="+got.Next, ""))
	if len(got.Events) != 1 || got.Events[0].ID != ids[0] || got.Next != "" {
		t.Fatalf("page 2 = %+v", got)
	}
	got = decode[listAnswer](t, s.do(t, "GET", "/api/events?type=tomba.*&since=2h&q=lead_key", ""))
	if len(got.Events) != 1 || got.Events[0].ID != ids[1] {
		t.Fatalf("type+since+q = %+v", got)
	}
	got = decode[listAnswer](t, s.do(t, "GET", "/api/events?since=30m", ""))
	if len(got.Events) != 0 {
		t.Fatalf("since=30m = %+v, want none", got)
	}
	got = decode[listAnswer](t, s.do(t, "GET", "/api/events?until="+at.Add(time.Second).Format(time.RFC3339Nano), ""))
	if len(got.Events) != 1 || got.Events[0].ID != ids[0] {
		t.Fatalf("until = %+v", got)
	}

	for _, bad := range []string{"limit=0", "limit=x", "limit=501", "type=[", "status=lost", "cursor=x", "since=yesterday"} {
		a := s.do(t, "GET", "/api/events?"+bad, "")
		if a.status != 400 || decode[map[string]string](t, a)["error"] != "bad_request" {
			t.Errorf("%s: %d %s, want 400 bad_request", bad, a.status, a.body)
		}
	}
}

func TestEventDetail(t *testing.T) {
	s := newSetup(t, console.Options{})
	at := time.Now().UTC().Add(-time.Minute)
	ev := s.put(t, "leadron", "evt_detail", at)
	ds := []store.Delivery{
		{Destination: "crm", Attempts: 1, LastStatusCode: 200, LastAttemptAt: at, DeliveredAt: at},
		{Destination: "slack", Attempts: 2, LastStatusCode: 503, LastClass: "http_503", LastAttemptAt: at,
			NextAttemptAt: time.Now().Add(time.Minute)},
	}
	if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, ds, store.StatusQueued); !ok || err != nil {
		t.Fatal(ok, err)
	}
	for _, a := range []store.Attempt{
		{EventID: ev.ID, Destination: "crm", Number: 1, At: at, Outcome: "delivered", StatusCode: 200, Duration: 3 * time.Millisecond, Response: "ok"},
		{EventID: ev.ID, Destination: "slack", Number: 1, At: at, Outcome: "retry", StatusCode: 503, Error: "http_503", Response: `{"busy":true}`},
		{EventID: ev.ID, Destination: "slack", Number: 2, At: at.Add(time.Second), Outcome: "retry", StatusCode: 503, Error: "http_503"},
	} {
		if err := s.st.RecordAttempt(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	a := s.do(t, "GET", "/api/events/"+ev.ID, "")
	if a.status != 200 {
		t.Fatalf("detail = %d %s", a.status, a.body)
	}
	d := decode[detailAnswer](t, a)
	if d.ID != ev.ID || d.Status != "queued" || d.Meta["secret_index"] != "0" || d.Stuck {
		t.Errorf("detail = %+v", d)
	}
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil || body["id"] != "evt_detail" {
		t.Errorf("body = %s (%v), want the provider's JSON", d.Body, err)
	}
	if !strings.Contains(string(d.Normalized), `"kind":"lead"`) || d.CloudEvent["id"] != ev.ID || d.CloudEvent["specversion"] != "1.0" {
		t.Errorf("normalized %s, cloudevent %v", d.Normalized, d.CloudEvent)
	}
	if len(d.Deliveries) != 2 {
		t.Fatalf("deliveries = %+v", d.Deliveries)
	}
	crm, slack := d.Deliveries[0], d.Deliveries[1]
	if crm.State != "delivered" || len(crm.History) != 1 || crm.History[0].Response != "ok" || crm.History[0].DurationMS != 3 {
		t.Errorf("crm = %+v", crm)
	}
	if slack.State != "pending" || slack.Attempts != 2 || len(slack.History) != 2 || slack.History[0].StatusCode != 503 ||
		slack.History[0].Error != "http_503" || slack.History[0].Response != `{"busy":true}` || slack.History[1].Attempt != 2 {
		t.Errorf("slack = %+v", slack)
	}

	a = s.do(t, "GET", "/api/events/01NOSUCHEVENT", "")
	if a.status != 404 || decode[map[string]string](t, a)["error"] != "not_found" {
		t.Errorf("unknown id = %d %s, want 404 not_found", a.status, a.body)
	}
}

// An event nobody works on is flagged: a due attempt long past (overdue),
// an open event with no attempt, and a delivery pending longer than its
// schedule.
func TestStuckFlags(t *testing.T) {
	now := time.Now().UTC()
	s := newSetup(t, console.Options{Grace: time.Minute, Now: func() time.Time { return now },
		Schedule: func(string) time.Duration { return 10 * time.Minute }})
	waiting := s.put(t, "tomba", "tb_waiting", now.Add(-5*time.Minute))
	fresh := s.put(t, "tomba", "tb_fresh", now.Add(-10*time.Second))
	overdue := s.put(t, "leadron", "evt_overdue", now.Add(-time.Hour))
	long := s.put(t, "leadron", "evt_long", now.Add(-time.Hour))
	for _, ev := range []store.Event{overdue, long} {
		next := now.Add(-5 * time.Minute)
		if ev.ID == long.ID {
			next = now.Add(time.Minute)
		}
		ds := []store.Delivery{{Destination: "crm", Attempts: 3, LastClass: "http_503", LastAttemptAt: now.Add(-10 * time.Minute), NextAttemptAt: next}}
		if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, ds, store.StatusQueued); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if err := s.st.RecordAttempt(t.Context(), store.Attempt{EventID: ev.ID, Destination: "crm", Number: 1,
			At: now.Add(-50 * time.Minute), Outcome: "retry", Error: "http_503"}); err != nil {
			t.Fatal(err)
		}
	}
	list := decode[listAnswer](t, s.do(t, "GET", "/api/events", ""))
	stuck := map[string]bool{}
	for _, e := range list.Events {
		stuck[e.ID] = e.Stuck
		if e.ID == overdue.ID && (!e.Deliveries[0].Overdue || !strings.Contains(e.StuckReason, "next attempt was due")) {
			t.Errorf("overdue entry = %+v", e)
		}
	}
	if !stuck[waiting.ID] || stuck[fresh.ID] || !stuck[overdue.ID] || stuck[long.ID] {
		t.Errorf("stuck in the list = %v, want waiting and overdue only (%s, %s)", stuck, waiting.ID, overdue.ID)
	}
	d := decode[detailAnswer](t, s.do(t, "GET", "/api/events/"+long.ID, ""))
	if !d.Stuck || !d.Deliveries[0].Stuck || !strings.Contains(d.StuckReason, "retry schedule") {
		t.Errorf("detail of a delivery pending 50 min with a 10 min schedule = %+v", d)
	}
}

func TestReplay(t *testing.T) {
	s := newSetup(t, console.Options{})
	at := time.Now().UTC().Add(-time.Minute)
	ev := s.put(t, "leadron", "evt_replay", at)
	ds := []store.Delivery{
		{Destination: "crm", Attempts: 1, DeliveredAt: at},
		{Destination: "slack", Attempts: 1, LastStatusCode: 400, LastClass: "http_400", FailedAt: at},
	}
	if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, ds, store.StatusFailed); !ok || err != nil {
		t.Fatal(ok, err)
	}
	same := []string{"Origin", s.url}

	a := s.do(t, "POST", "/api/events/"+ev.ID+"/replay", `{"destination":"slack"}`, same...)
	if a.status != 202 || string(a.body) != `{"replayed":1}` {
		t.Fatalf("replay = %d %s", a.status, a.body)
	}
	got, _ := s.st.Get(t.Context(), ev.ID)
	if got.Status != store.StatusQueued || len(got.Deliveries) != 1 || got.Deliveries[0].Destination != "crm" {
		t.Fatalf("after replaying slack: %q %+v, want queued with crm's state only", got.Status, got.Deliveries)
	}
	// Every destination, with the custom header instead of Origin.
	a = s.do(t, "POST", "/api/events/"+ev.ID+"/replay", "", console.HeaderConsole, "1")
	if a.status != 202 {
		t.Fatalf("replay all = %d %s", a.status, a.body)
	}
	got, _ = s.st.Get(t.Context(), ev.ID)
	if got.Status != store.StatusQueued || len(got.Deliveries) != 0 {
		t.Fatalf("after replaying all: %q %+v", got.Status, got.Deliveries)
	}
	if q := s.q.enqueued(); len(q) != 2 || q[0] != ev.ID || q[1] != ev.ID {
		t.Fatalf("enqueued %v, want the event twice", q)
	}

	for _, c := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/api/events/01NOSUCH/replay", "", 404, "not_found"},
		{"/api/events/" + ev.ID + "/replay", `{"destination":"nowhere"}`, 400, "unknown_destination"},
		{"/api/events/" + ev.ID + "/replay", `{"dest":"crm"}`, 400, "bad_request"},
		{"/api/events/" + ev.ID + "/replay", `not json`, 400, "bad_request"},
		{"/api/events/" + ev.ID + "/replay", strings.Repeat(" ", 5000), 413, "too_large"},
	} {
		a := s.do(t, "POST", c.path, c.body, same...)
		if a.status != c.status || decode[map[string]string](t, a)["error"] != c.code {
			t.Errorf("POST %s %.20q = %d %s, want %d %s", c.path, c.body, a.status, a.body, c.status, c.code)
		}
	}
	if a := s.do(t, "GET", "/api/events/"+ev.ID+"/replay", ""); a.status != 404 {
		t.Errorf("GET replay = %d, want 404", a.status)
	}
	if len(s.q.enqueued()) != 2 {
		t.Errorf("refused replays enqueued: %v", s.q.enqueued())
	}
}

func TestStats(t *testing.T) {
	s := newSetup(t, console.Options{})
	now := time.Now().UTC()
	ev := s.put(t, "leadron", "evt_stats", now.Add(-time.Minute))
	s.put(t, "leadron", "evt_stats_old", now.Add(-2*time.Hour))
	for i, outcome := range []string{"retry", "delivered"} {
		if err := s.st.RecordAttempt(t.Context(), store.Attempt{EventID: ev.ID, Destination: "crm", Number: i + 1,
			At: now.Add(-time.Minute), Outcome: outcome, Duration: time.Duration(i+1) * 10 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	s.c.ObserveIngest(ingest.Result{Provider: "leadron", Outcome: ingest.OutcomeDuplicate})
	s.c.ObserveIngest(ingest.Result{Provider: "tomba", Outcome: ingest.OutcomeRejected, Status: 401, Reason: "bad_token"})

	type stats struct {
		Providers map[string]struct {
			Accepted  int `json:"accepted"`
			Duplicate int `json:"duplicate"`
			Rejected  int `json:"rejected"`
		} `json:"providers"`
		Destinations map[string]struct {
			Attempts    int     `json:"attempts"`
			Delivered   int     `json:"delivered"`
			Retried     int     `json:"retried"`
			Failed      int     `json:"failed"`
			SuccessRate float64 `json:"success_rate"`
			P50MS       float64 `json:"p50_ms"`
			P99MS       float64 `json:"p99_ms"`
		} `json:"destinations"`
	}
	got := decode[stats](t, s.do(t, "GET", "/api/stats?window=1h", ""))
	if p := got.Providers["leadron"]; p.Accepted != 1 || p.Duplicate != 1 || p.Rejected != 0 {
		t.Errorf("leadron = %+v, want 1 accepted in the hour, 1 duplicate", p)
	}
	if p := got.Providers["tomba"]; p.Rejected != 1 {
		t.Errorf("tomba = %+v, want 1 rejected", p)
	}
	if _, ok := got.Providers["journeybee"]; !ok {
		t.Error("a configured provider without traffic is missing")
	}
	crm := got.Destinations["crm"]
	if crm.Attempts != 2 || crm.Delivered != 1 || crm.Retried != 1 || crm.SuccessRate != 0.5 || crm.P50MS != 10 || crm.P99MS != 20 {
		t.Errorf("crm = %+v", crm)
	}
	if _, ok := got.Destinations["slack"]; !ok {
		t.Error("a configured destination without attempts is missing")
	}
	got = decode[stats](t, s.do(t, "GET", "/api/stats?window=3h", ""))
	if got.Providers["leadron"].Accepted != 2 {
		t.Errorf("3h window: leadron %+v, want 2 accepted", got.Providers["leadron"])
	}
	for _, bad := range []string{"x", "30s", "31d", "-1h"} {
		if a := s.do(t, "GET", "/api/stats?window="+bad, ""); a.status != 400 {
			t.Errorf("window=%s: %d, want 400", bad, a.status)
		}
	}
}

// TestStream: new events, rejections and attempts arrive as server-sent
// events, in order.
func TestStream(t *testing.T) {
	s := newSetup(t, console.Options{})
	ev := s.put(t, "leadron", "evt_stream", time.Now().UTC())
	resp, err := http.Get(s.url + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	read := readEvents(resp.Body)
	<-read // the opening comment: subscribed

	s.c.ObserveIngest(ingest.Result{Provider: "leadron", Type: "leadron.lead.created", EventID: ev.ID, Outcome: ingest.OutcomeNew, Status: 200})
	s.c.ObserveIngest(ingest.Result{Provider: "tomba", Outcome: ingest.OutcomeRejected, Status: 401, Reason: "bad_token"})
	s.c.ObserveIngest(ingest.Result{Provider: "leadron", EventID: ev.ID, Outcome: ingest.OutcomeDuplicate, Status: 200}) // not streamed
	rec := s.c.Recorder(s.st)
	if err := rec.RecordAttempt(t.Context(), store.Attempt{EventID: ev.ID, Destination: "crm", Number: 1, At: time.Now(),
		Outcome: "delivered", StatusCode: 204, Response: "secret-ish answer"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`event: event` + "\n" + `data: {"id":"` + ev.ID + `","provider":"leadron","type":"leadron.lead.created","outcome":"new","status":200}`,
		`event: rejection` + "\n" + `data: {"provider":"tomba","outcome":"rejected","status":401,"reason":"bad_token"}`,
		`event: attempt`,
	}
	for i, w := range want {
		select {
		case got := <-read:
			if !strings.HasPrefix(got, w) {
				t.Errorf("message %d = %q, want %q", i, got, w)
			}
			if i == 2 && (!strings.Contains(got, `"event_id":"`+ev.ID+`"`) || strings.Contains(got, "secret-ish")) {
				t.Errorf("attempt message = %q: want the event id, never the response", got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never came", i)
		}
	}
	// The attempt was stored before it was announced.
	if h, _ := s.st.Attempts(t.Context(), ev.ID); len(h) != 1 {
		t.Errorf("history = %+v", h)
	}
}

// readEvents sends each blank-line-separated block of r.
func readEvents(r io.Reader) <-chan string {
	out := make(chan string, 16)
	go func() {
		defer close(out)
		buf := make([]byte, 4096)
		var acc string
		for {
			n, err := r.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.Index(acc, "\n\n")
				if i < 0 {
					break
				}
				out <- acc[:i]
				acc = acc[i+2:]
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// TestSecurity: DNS rebinding, cross-site requests, CORS and the token.
func TestSecurity(t *testing.T) {
	s := newSetup(t, console.Options{Hosts: []string{"console.internal"}})
	ev := s.put(t, "leadron", "evt_sec", time.Now().UTC())
	replay := "/api/events/" + ev.ID + "/replay"
	for _, c := range []struct {
		name, method, path string
		header             []string
		status             int
	}{
		{"own address", "GET", "/api/events", nil, 200},
		{"localhost", "GET", "/api/events", []string{"Host", "localhost:" + s.port}, 200},
		{"configured name", "GET", "/api/events", []string{"Host", "console.internal:" + s.port}, 200},
		{"LOCALHOST in capitals", "GET", "/api/events", []string{"Host", "LOCALHOST:" + s.port}, 200},
		{"rebinding: another name", "GET", "/api/events", []string{"Host", "evil.example:" + s.port}, 403},
		{"rebinding: the page too", "GET", "/", []string{"Host", "evil.example:" + s.port}, 403},
		{"rebinding: another port", "GET", "/api/events", []string{"Host", "127.0.0.1:1"}, 403},
		{"rebinding: no port", "GET", "/api/events", []string{"Host", "localhost"}, 403},
		{"cross-site fetch", "GET", "/api/events", []string{"Sec-Fetch-Site", "cross-site"}, 403},
		{"same-site fetch (another localhost port)", "GET", "/api/events", []string{"Sec-Fetch-Site", "same-site"}, 403},
		{"same-origin fetch", "GET", "/api/events", []string{"Sec-Fetch-Site", "same-origin"}, 200},
		{"cross-site POST (a form)", "POST", replay, []string{"Origin", "https://evil.example"}, 403},
		{"cross-site POST with the header", "POST", replay, []string{"Origin", "https://evil.example", console.HeaderConsole, "1"}, 403},
		{"POST from another localhost port", "POST", replay, []string{"Origin", "http://localhost:3000"}, 403},
		{"POST with neither Origin nor header", "POST", replay, nil, 403},
		{"POST with Origin null", "POST", replay, []string{"Origin", "null"}, 403},
		{"same-origin POST", "POST", replay, []string{"Origin", s.url}, 202},
		{"POST with the header", "POST", replay, []string{console.HeaderConsole, "1"}, 202},
		{"preflight", "OPTIONS", replay, []string{"Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, 403},
		{"same-origin OPTIONS", "OPTIONS", replay, []string{"Origin", s.url}, 405},
	} {
		a := s.do(t, c.method, c.path, "", c.header...)
		if a.status != c.status {
			t.Errorf("%s: %s %s = %d %s, want %d", c.name, c.method, c.path, a.status, a.body, c.status)
		}
		for k := range a.header {
			if strings.HasPrefix(strings.ToLower(k), "access-control-") {
				t.Errorf("%s: CORS header %s sent", c.name, k)
			}
		}
		if a.header.Get("X-Frame-Options") != "DENY" || a.header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: framing/sniffing headers missing: %v", c.name, a.header)
		}
	}
}

func TestToken(t *testing.T) {
	const token = "s3cret-t0ken"
	s := newSetup(t, console.Options{Token: token})
	ev := s.put(t, "leadron", "evt_token", time.Now().UTC())
	routes := []struct{ method, path string }{
		{"GET", "/api/events"}, {"GET", "/api/events/" + ev.ID}, {"POST", "/api/events/" + ev.ID + "/replay"},
		{"GET", "/api/stats"}, {"GET", "/api/stream"}, {"GET", "/api/config"}, {"GET", "/api/rejections"}, {"GET", "/api/nope"},
	}
	for _, r := range routes {
		for name, auth := range map[string]string{
			"none": "", "wrong": "Bearer nope", "longer": "Bearer " + token + "x", "prefix": "Bearer " + token[:5],
			"not bearer": "Basic " + token, "lower-case scheme": "bearer " + token,
		} {
			h := []string{console.HeaderConsole, "1"}
			if auth != "" {
				h = append(h, "Authorization", auth)
			}
			a := s.do(t, r.method, r.path, "", h...)
			if a.status != 401 || decode[map[string]string](t, a)["error"] != "unauthorized" ||
				!strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with %s token = %d %s, want 401", r.method, r.path, name, a.status, a.body)
			}
		}
	}
	if a := s.do(t, "GET", "/api/events", "", "Authorization", "Bearer "+token); a.status != 200 {
		t.Errorf("right token = %d %s", a.status, a.body)
	}
	if a := s.do(t, "POST", "/api/events/"+ev.ID+"/replay", "", "Authorization", "Bearer "+token, console.HeaderConsole, "1"); a.status != 202 {
		t.Errorf("replay with the token = %d %s", a.status, a.body)
	}
	// The page itself holds no data: it loads, and asks for the token.
	if a := s.do(t, "GET", "/", ""); a.status != 200 || !strings.Contains(string(a.body), "<html") {
		t.Errorf("page = %d", a.status)
	}
}

func TestNonLoopbackNeedsToken(t *testing.T) {
	for _, c := range []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:8081", "", true},
		{"localhost:8081", "", true},
		{"[::1]:8081", "", true},
		{"127.0.0.2:8081", "", true},
		{"0.0.0.0:8081", "", false},
		{":8081", "", false},
		{"192.168.1.20:8081", "", false},
		{"console.example.com:8081", "", false},
		{"0.0.0.0:8081", "t", true},
		{"nonsense", "", false},
	} {
		_, err := console.New(nil, nil, console.Options{Addr: c.addr, Token: c.token})
		if (err == nil) != c.ok {
			t.Errorf("New(%s, token %q) = %v, want ok %v", c.addr, c.token, err, c.ok)
		}
		if !c.ok && c.addr != "nonsense" && !errors.Is(err, console.ErrNeedsToken) {
			t.Errorf("New(%s) = %v, want ErrNeedsToken", c.addr, err)
		}
	}
}

func TestRejectionsAPI(t *testing.T) {
	s := newSetup(t, console.Options{})
	at := time.Now().UTC()
	for i, reason := range []string{"bad_signature", "expired", "invalid_payload"} {
		if err := s.st.RecordRejection(t.Context(), store.Rejection{At: at.Add(time.Duration(i) * time.Second), Provider: "journeybee",
			Method: "POST", Route: "/webhooks/journeybee", Status: 401, Reason: reason, BodyBytes: 10 + i, BodySHA256: "abc",
			Headers: []string{"Authorization", "Content-Type"}}); err != nil {
			t.Fatal(err)
		}
	}
	type rejections struct {
		Rejections []struct {
			ID         string    `json:"id"`
			At         time.Time `json:"at"`
			Provider   string    `json:"provider"`
			Route      string    `json:"route"`
			Status     int       `json:"status"`
			Reason     string    `json:"reason"`
			BodyBytes  int       `json:"body_bytes"`
			BodySHA256 string    `json:"body_sha256"`
			Headers    []string  `json:"headers"`
		} `json:"rejections"`
	}
	got := decode[rejections](t, s.do(t, "GET", "/api/rejections", ""))
	if len(got.Rejections) != 3 || got.Rejections[0].Reason != "invalid_payload" || got.Rejections[2].Reason != "bad_signature" {
		t.Fatalf("rejections = %+v, want 3 newest first", got)
	}
	r := got.Rejections[0]
	if r.ID == "" || r.Provider != "journeybee" || r.Route != "/webhooks/journeybee" || r.Status != 401 || r.BodyBytes != 12 ||
		r.BodySHA256 != "abc" || strings.Join(r.Headers, ",") != "Authorization,Content-Type" || !r.At.Equal(at.Add(2*time.Second)) {
		t.Errorf("newest = %+v", r)
	}
	if got := decode[rejections](t, s.do(t, "GET", "/api/rejections?limit=1", "")); len(got.Rejections) != 1 {
		t.Errorf("limit=1: %+v", got)
	}
	for _, bad := range []string{"0", "x", "1001"} {
		if a := s.do(t, "GET", "/api/rejections?limit="+bad, ""); a.status != 400 {
			t.Errorf("limit=%s: %d", bad, a.status)
		}
	}
}
