package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/template"
)

// consoleStore is what the suite seeds a backend's store with.
type consoleStore interface {
	Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
	RecordAttempt(ctx context.Context, a store.Attempt) error
	Get(ctx context.Context, id string) (store.Event, error)
}

// consoleBackend is one console under test, as its command wires it:
// serve's (SQLite + the embedded queue) or console --aws's (DynamoDB Local +
// moto's SQS queue and dead-letter queue).
type consoleBackend struct {
	name string
	url  string // http://127.0.0.1:PORT
	st   consoleStore
	// deadLetter puts a message for the event on the dead-letter queue.
	deadLetter func(t *testing.T, eventID, typ string)
	// received takes the event ids on the queue (and removes them).
	received func(t *testing.T) []string
}

func devConsoleFlags(addr, token string) *consoleFlags {
	return &consoleFlags{addr: &addr, tok: &token}
}

// serveConsoleBackend is serve's console: cf.console over a real SQLite file
// and the embedded queue in it.
func serveConsoleBackend(t *testing.T, cf *consoleFlags) *consoleBackend {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	q, err := embedded.New(st.DB(), embedded.WithMaxReceives(1))
	if err != nil {
		t.Fatal(err)
	}
	con, err := cf.console(config.Development(), st, q, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	b := &consoleBackend{name: "sqlite", st: st, url: runConsole(t, con)}
	b.deadLetter = func(t *testing.T, id, typ string) {
		ctx := t.Context()
		if err := q.Enqueue(ctx, id, typ); err != nil {
			t.Fatal(err)
		}
		// Received once (the most it may be), then the next receive
		// dead-letters it.
		for range 2 {
			if _, err := q.Receive(ctx, 10, 0); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := q.CountDead(ctx, id); n == 0 {
			t.Fatalf("the message of %s was not dead-lettered", id)
		}
	}
	b.received = func(t *testing.T) []string {
		msgs, err := q.Receive(t.Context(), 10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, m := range msgs {
			ids = append(ids, m.EventID)
			_ = q.Delete(t.Context(), m.Receipt)
		}
		return ids
	}
	return b
}

// awsEnv points the default AWS config at DynamoDB Local and moto.
func awsEnv(t *testing.T) (ddb, moto string) {
	ddb, moto = storetest.DynamoEndpoint(t), queuetest.MotoEndpoint(t)
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": moto, "AWS_ENDPOINT_URL_DYNAMODB": ddb, "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	return ddb, moto
}

// newStackResources makes a table and a queue with its dead-letter queue.
func newStackResources(t *testing.T, ddb string) stackResources {
	table := "hookline-console-" + strings.ToLower(queuetest.EventID())
	if err := dynamo.CreateTable(t.Context(), storetest.NewDynamoClient(ddb), table); err != nil {
		t.Fatal(err)
	}
	url, dlq := queuetest.NewSQSQueue(t, queuetest.SQSClient(t), true)
	return stackResources{table: table, queueURL: url, dlqURL: dlq}
}

// awsConsoleBackend is console --aws's console: awsConsole with the default
// AWS config, on DynamoDB Local and moto.
func awsConsoleBackend(t *testing.T, cf *consoleFlags) *consoleBackend {
	ddb, _ := awsEnv(t)
	res := newStackResources(t, ddb)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	con, err := awsConsole(cfg, res, cf, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	client := queuetest.SQSClient(t)
	b := &consoleBackend{name: "dynamodb", st: dynamo.New(storetest.NewDynamoClient(ddb), res.table), url: runConsole(t, con)}
	b.deadLetter = func(t *testing.T, id, typ string) {
		if err := sqsq.New(client, res.dlqURL).Enqueue(t.Context(), id, typ); err != nil {
			t.Fatal(err)
		}
	}
	b.received = func(t *testing.T) []string {
		var ids []string
		for {
			out, err := client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{QueueUrl: aws.String(res.queueURL),
				MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageAttributeNames: []string{"All"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				return ids
			}
			for _, m := range out.Messages {
				ids = append(ids, sqsq.FromSQS(m).EventID)
				_, _ = client.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(res.queueURL), ReceiptHandle: m.ReceiptHandle})
			}
		}
	}
	return b
}

// runConsole serves con on its own listener until the test ends.
func runConsole(t *testing.T, con *console.Console) string {
	ln, err := con.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- con.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })
	return "http://" + ln.Addr().String()
}

type apiAnswer struct {
	status int
	header http.Header
	body   []byte
}

func (b *consoleBackend) do(t *testing.T, method, path, body string, header ...string) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, strings.NewReader(body))
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
	out, _ := io.ReadAll(resp.Body)
	return apiAnswer{resp.StatusCode, resp.Header, out}
}

func (b *consoleBackend) get(t *testing.T, path string, v any) {
	t.Helper()
	a := b.do(t, "GET", path, "")
	if a.status != 200 {
		t.Fatalf("%s: GET %s = %d %s", b.name, path, a.status, a.body)
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("%s: GET %s: %v in %s", b.name, path, err, a.body)
	}
}

func (b *consoleBackend) put(t *testing.T, provider, key string, at time.Time) store.Event {
	t.Helper()
	ev := storetest.NewEvent(provider, key, at)
	if _, err := b.st.Put(t.Context(), ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return ev
}

type listed struct {
	Events []struct {
		ID         string `json:"id"`
		Provider   string `json:"provider"`
		Type       string `json:"type"`
		Status     string `json:"status"`
		EntityID   string `json:"entity_id"`
		Tenant     string `json:"tenant"`
		Deliveries []struct {
			Destination string `json:"destination"`
			State       string `json:"state"`
			Attempts    int    `json:"attempts"`
		} `json:"deliveries"`
	} `json:"events"`
	Next string `json:"next"`
}

func (l listed) ids() []string {
	var out []string
	for _, e := range l.Events {
		out = append(out, e.ID)
	}
	return out
}

// bothConsoles runs fn against serve's console and console --aws's.
func bothConsoles(t *testing.T, cf func() *consoleFlags, fn func(t *testing.T, b *consoleBackend)) {
	for _, c := range []struct {
		name string
		new  func(*testing.T, *consoleFlags) *consoleBackend
	}{{"sqlite", serveConsoleBackend}, {"dynamodb", awsConsoleBackend}} {
		t.Run(c.name, func(t *testing.T) { fn(t, c.new(t, cf())) })
	}
}

func loopbackFlags() *consoleFlags { return devConsoleFlags("127.0.0.1:0", "") }

// The contract API answers the same on both stores: the list with every
// filter and its pages, the detail with the attempt history, replay, stats.
func TestConsoleAPIOnBothStores(t *testing.T) {
	bothConsoles(t, loopbackFlags, func(t *testing.T, b *consoleBackend) {
		ctx := t.Context()
		at := time.Now().UTC().Add(-time.Hour)
		var ids []string
		for i, p := range []string{"leadron", "tomba", "leadron", "journeybee", "leadron"} {
			ids = append(ids, b.put(t, p, "key_"+string(rune('a'+i)), at.Add(time.Duration(i)*time.Second)).ID)
		}
		rev := slices.Clone(ids)
		slices.Reverse(rev)

		var l listed
		b.get(t, "/api/events", &l)
		if !slices.Equal(l.ids(), rev) || l.Next != "" {
			t.Fatalf("list = %v next %q, want %v newest first and no next page", l.ids(), l.Next, rev)
		}
		if e := l.Events[0]; e.Provider != "leadron" || e.Type != "leadron.lead.created" || e.Status != "received" ||
			e.EntityID != "lead_key_e" || e.Tenant != "tenant-1" || e.Deliveries == nil {
			t.Errorf("entry = %+v", e)
		}

		// Pages, unfiltered and by provider, end with an empty next.
		var all []string
		cursor := ""
		for range 5 {
			b.get(t, "/api/events?limit=2&cursor="+url.QueryEscape(cursor), &l)
			all = append(all, l.ids()...)
			if cursor = l.Next; cursor == "" {
				break
			}
		}
		if !slices.Equal(all, rev) {
			t.Errorf("paged = %v, want %v", all, rev)
		}
		b.get(t, "/api/events?provider=leadron&limit=2", &l)
		if !slices.Equal(l.ids(), []string{ids[4], ids[2]}) || l.Next == "" {
			t.Fatalf("leadron page 1 = %v next %q", l.ids(), l.Next)
		}
		b.get(t, "/api/events?provider=leadron&limit=2&cursor="+url.QueryEscape(l.Next), &l)
		if !slices.Equal(l.ids(), []string{ids[0]}) || l.Next != "" {
			t.Fatalf("leadron page 2 = %v next %q", l.ids(), l.Next)
		}

		// State for the status and destination filters.
		if ok, err := b.st.SaveDeliveries(ctx, ids[3], 0, []store.Delivery{{Destination: "crm", Attempts: 1, DeliveredAt: at}},
			store.StatusDelivered); !ok || err != nil {
			t.Fatal(ok, err)
		}
		if ok, err := b.st.SaveDeliveries(ctx, ids[1], 0, []store.Delivery{{Destination: "slack", Attempts: 3, LastStatusCode: 400,
			LastClass: "http_400", FailedAt: at}}, store.StatusFailed); !ok || err != nil {
			t.Fatal(ok, err)
		}

		for _, c := range []struct {
			query string
			want  []string
		}{
			{"type=tomba.*&since=2h&q=lead_key", []string{ids[1]}},
			{"since=30m", nil},
			{"until=" + url.QueryEscape(at.Add(time.Second).Format(time.RFC3339Nano)), []string{ids[0]}},
			{"status=delivered", []string{ids[3]}},
			{"status=failed", []string{ids[1]}},
			{"status=received&provider=leadron", []string{ids[4], ids[2], ids[0]}},
			{"status=received&provider=tomba", nil},
			{"destination=crm", []string{ids[3]}},
			{"destination=slack&status=failed", []string{ids[1]}},
			{"q=" + ids[2], []string{ids[2]}},
			{"q=lead_key_c", []string{ids[2]}},
			{"q=tenant-", rev},
			{"q=nobody", nil},
			{"type=leadron.lead.*&limit=1", []string{ids[4]}},
		} {
			b.get(t, "/api/events?"+c.query, &l)
			if !slices.Equal(l.ids(), c.want) {
				t.Errorf("%s: %v, want %v", c.query, l.ids(), c.want)
			}
		}
		for _, bad := range []string{"limit=0", "limit=501", "type=[", "status=lost", "cursor=x", "since=yesterday"} {
			if a := b.do(t, "GET", "/api/events?"+bad, ""); a.status != 400 {
				t.Errorf("%s: %d %s, want 400", bad, a.status, a.body)
			}
		}

		// Detail with the attempt history; 404 for an unknown id.
		for _, a := range []store.Attempt{
			{EventID: ids[4], Destination: "crm", Number: 1, At: time.Now().Add(-time.Minute), Outcome: "retry", StatusCode: 503,
				Error: "http_503", Duration: 10 * time.Millisecond, Response: `{"busy":true}`},
			{EventID: ids[4], Destination: "crm", Number: 2, At: time.Now().Add(-30 * time.Second), Outcome: "delivered",
				StatusCode: 200, Duration: 20 * time.Millisecond, Response: "ok"},
		} {
			if err := b.st.RecordAttempt(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		var d struct {
			ID         string         `json:"id"`
			Body       map[string]any `json:"body"`
			CloudEvent map[string]any `json:"cloudevent"`
			Deliveries []struct {
				Destination string `json:"destination"`
				History     []struct {
					Attempt    int     `json:"attempt"`
					Outcome    string  `json:"outcome"`
					StatusCode int     `json:"status_code"`
					DurationMS float64 `json:"duration_ms"`
					Response   string  `json:"response"`
				} `json:"history"`
			} `json:"deliveries"`
		}
		b.get(t, "/api/events/"+ids[4], &d)
		if d.ID != ids[4] || d.Body["id"] != "key_e" || d.CloudEvent["id"] != ids[4] || len(d.Deliveries) != 1 ||
			len(d.Deliveries[0].History) != 2 || d.Deliveries[0].History[0].Response != `{"busy":true}` ||
			d.Deliveries[0].History[1].Outcome != "delivered" || d.Deliveries[0].History[1].DurationMS != 20 {
			t.Errorf("detail = %+v", d)
		}
		if a := b.do(t, "GET", "/api/events/01NOSUCHEVENT0000000000000", ""); a.status != 404 || !strings.Contains(string(a.body), "not_found") {
			t.Errorf("unknown id = %d %s", a.status, a.body)
		}

		// Stats: accepted per provider in the window, the attempts' figures.
		var s struct {
			Providers map[string]struct {
				Accepted int `json:"accepted"`
			} `json:"providers"`
			Destinations map[string]struct {
				Attempts  int     `json:"attempts"`
				Delivered int     `json:"delivered"`
				Retried   int     `json:"retried"`
				P50MS     float64 `json:"p50_ms"`
				P99MS     float64 `json:"p99_ms"`
			} `json:"destinations"`
		}
		b.get(t, "/api/stats?window=2h", &s)
		if s.Providers["leadron"].Accepted != 3 || s.Providers["tomba"].Accepted != 1 || s.Providers["journeybee"].Accepted != 1 {
			t.Errorf("accepted = %+v", s.Providers)
		}
		if c := s.Destinations["crm"]; c.Attempts != 2 || c.Delivered != 1 || c.Retried != 1 || c.P50MS != 10 || c.P99MS != 20 {
			t.Errorf("crm = %+v", c)
		}
		b.get(t, "/api/stats?window=30m", &s)
		if s.Providers["leadron"].Accepted != 0 {
			t.Errorf("30m window: %+v, want none accepted", s.Providers)
		}

		// Charts: the events in the minute they were received, the
		// attempts in theirs, summed over the window.
		var m struct {
			Sampled bool `json:"sampled"`
			Minutes []struct {
				At        time.Time `json:"at"`
				Providers map[string]struct {
					Accepted int `json:"accepted"`
				} `json:"providers"`
				Destinations map[string]struct {
					Attempts  int `json:"attempts"`
					Delivered int `json:"delivered"`
				} `json:"destinations"`
			} `json:"minutes"`
		}
		b.get(t, "/api/stats/minutes?window=2h", &m)
		accepted, attempts, delivered := map[string]int{}, 0, 0
		for _, mm := range m.Minutes {
			for p, n := range mm.Providers {
				if n.Accepted > 0 && (at.Before(mm.At.Add(-time.Minute)) || at.After(mm.At.Add(time.Minute))) {
					t.Errorf("minutes: %d %s events in the bucket of %s, received at %s", n.Accepted, p, mm.At, at)
				}
				accepted[p] += n.Accepted
			}
			attempts += mm.Destinations["crm"].Attempts
			delivered += mm.Destinations["crm"].Delivered
		}
		if m.Sampled || accepted["leadron"] != 3 || accepted["tomba"] != 1 || accepted["journeybee"] != 1 || attempts != 2 || delivered != 1 {
			t.Errorf("minutes: accepted %v, crm attempts %d delivered %d, sampled %v", accepted, attempts, delivered, m.Sampled)
		}

		// Replay: the event is queued again and on the queue.
		if a := b.do(t, "POST", "/api/events/"+ids[1]+"/replay", "", console.HeaderConsole, "1"); a.status != 202 {
			t.Fatalf("replay = %d %s", a.status, a.body)
		}
		if got, _ := b.st.Get(ctx, ids[1]); got.Status != store.StatusQueued || len(got.Deliveries) != 0 {
			t.Errorf("after replay: %s %+v", got.Status, got.Deliveries)
		}
		if got := b.received(t); !slices.Equal(got, []string{ids[1]}) {
			t.Errorf("queue after replay = %v, want %s", got, ids[1])
		}
	})
}

type deadList struct {
	Available   bool `json:"available"`
	DeadLetters []struct {
		EventID      string     `json:"event_id"`
		Provider     string     `json:"provider"`
		Type         string     `json:"type"`
		At           *time.Time `json:"at"`
		ReceiveCount int        `json:"receive_count"`
		Reason       string     `json:"reason"`
		Status       string     `json:"status"`
	} `json:"dead_letters"`
}

// Dead letters are listed with what the store says of their event, counted
// by a dry run, and redriven one event's or all, on both queues.
func TestDeadLettersOnBothStores(t *testing.T) {
	bothConsoles(t, loopbackFlags, func(t *testing.T, b *consoleBackend) {
		ctx := t.Context()
		at := time.Now().UTC().Add(-time.Minute)
		failed := b.put(t, "leadron", "evt_dead", at)
		if ok, err := b.st.SaveDeliveries(ctx, failed.ID, 0, []store.Delivery{{Destination: "crm", Attempts: 5,
			LastStatusCode: 503, LastClass: "http_503", LastAttemptAt: at, NextAttemptAt: at.Add(time.Minute)}}, store.StatusQueued); !ok || err != nil {
			t.Fatal(ok, err)
		}
		other := b.put(t, "tomba", "tb_dead", at)
		b.deadLetter(t, failed.ID, failed.Type)
		b.deadLetter(t, other.ID, other.Type)
		b.deadLetter(t, "01GONE00000000000000000000", "journeybee.lead_created")

		var l deadList
		b.get(t, "/api/deadletters", &l)
		if !l.Available || len(l.DeadLetters) != 3 {
			t.Fatalf("dead letters = %+v", l)
		}
		byID := map[string]int{}
		for i, d := range l.DeadLetters {
			byID[d.EventID] = i
			if d.At == nil || d.At.Before(time.Now().Add(-time.Hour)) || d.ReceiveCount < 1 {
				t.Errorf("%s: at %v, receive count %d", d.EventID, d.At, d.ReceiveCount)
			}
		}
		if d := l.DeadLetters[byID[failed.ID]]; d.Provider != "leadron" || d.Type != "leadron.lead.created" || d.Status != "queued" ||
			!strings.Contains(d.Reason, "crm: pending after 5 attempts (http_503)") {
			t.Errorf("failed one = %+v", d)
		}
		if d := l.DeadLetters[byID["01GONE00000000000000000000"]]; d.Provider != "journeybee" || !strings.Contains(d.Reason, "not in the store") {
			t.Errorf("gone one = %+v", d)
		}

		post := func(body string) map[string]any {
			a := b.do(t, "POST", "/api/deadletters/redrive", body, console.HeaderConsole, "1")
			if a.status != 200 && a.status != 202 {
				t.Fatalf("redrive %s = %d %s", body, a.status, a.body)
			}
			var v map[string]any
			_ = json.Unmarshal(a.body, &v)
			return v
		}
		if v := post(`{"dry_run":true}`); v["count"] != 3.0 {
			t.Errorf("dry run all = %v, want 3", v)
		}
		if v := post(`{"event_id":"` + failed.ID + `","dry_run":true}`); v["count"] != 1.0 {
			t.Errorf("dry run one = %v, want 1", v)
		}
		if got := b.received(t); len(got) != 0 {
			t.Fatalf("a dry run moved %v", got)
		}
		if v := post(`{"event_id":"` + failed.ID + `"}`); v["redriven"] != 1.0 {
			t.Errorf("redrive one = %v", v)
		}
		if got := b.received(t); !slices.Equal(got, []string{failed.ID}) {
			t.Errorf("queue after redriving one = %v", got)
		}
		b.get(t, "/api/deadletters", &l)
		if len(l.DeadLetters) != 2 {
			t.Errorf("left after redriving one: %+v", l.DeadLetters)
		}
		if v := post(``); v["redriven"] != 2.0 {
			t.Errorf("redrive all = %v", v)
		}
		got := b.received(t)
		slices.Sort(got)
		want := []string{"01GONE00000000000000000000", other.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("queue after redriving all = %v, want %v", got, want)
		}
		b.get(t, "/api/deadletters", &l)
		if len(l.DeadLetters) != 0 {
			t.Errorf("left after redriving all: %+v", l.DeadLetters)
		}
		for _, bad := range []string{`{"id":"x"}`, `nope`} {
			if a := b.do(t, "POST", "/api/deadletters/redrive", bad, console.HeaderConsole, "1"); a.status != 400 {
				t.Errorf("redrive %s = %d, want 400", bad, a.status)
			}
		}
	})
}

// The console's guards hold on both: Host pinning, same-origin POSTs, no
// CORS, and the token.
func TestConsoleGuardsOnBothStores(t *testing.T) {
	bothConsoles(t, func() *consoleFlags { return devConsoleFlags("127.0.0.1:0", "s3cret-token") }, func(t *testing.T, b *consoleBackend) {
		auth := []string{"Authorization", "Bearer s3cret-token"}
		host := strings.TrimPrefix(b.url, "http://")
		for _, c := range []struct {
			name, method, path string
			header             []string
			status             int
		}{
			{"own host with the token", "GET", "/api/events", auth, 200},
			{"no token", "GET", "/api/events", nil, 401},
			{"wrong token", "GET", "/api/events", []string{"Authorization", "Bearer s3cret-tokem"}, 401},
			{"rebinding host", "GET", "/api/events", append([]string{"Host", "evil.example:" + strings.Split(host, ":")[1]}, auth...), 403},
			{"cross-site fetch", "GET", "/api/deadletters", append([]string{"Sec-Fetch-Site", "cross-site"}, auth...), 403},
			{"cross-origin redrive", "POST", "/api/deadletters/redrive", append([]string{"Origin", "https://evil.example"}, auth...), 403},
			{"redrive without origin or header", "POST", "/api/deadletters/redrive", auth, 403},
			{"same-origin redrive", "POST", "/api/deadletters/redrive", append([]string{"Origin", b.url}, auth...), 202},
			{"page", "GET", "/", nil, 200},
		} {
			body := ""
			if c.name == "same-origin redrive" {
				body = `{"dry_run":false}`
			}
			a := b.do(t, c.method, c.path, body, c.header...)
			if a.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, a.status, a.body, c.status)
			}
			for k := range a.header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("%s: CORS header %s", c.name, k)
				}
			}
		}
	})
}

// console --aws refuses a non-loopback address without a token, before it
// touches AWS, and needs a stack or the environment.
func TestConsoleAWSRefuses(t *testing.T) {
	t.Setenv("HOOKLINE_TABLE", "")
	t.Setenv("HOOKLINE_QUEUE_URL", "")
	t.Setenv(EnvConsoleToken, "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "needs --aws"},
		{[]string{"--aws", "--console-addr", "0.0.0.0:0"}, "needs --console-token"},
		{[]string{"--aws", "--console-addr", "127.0.0.1:0"}, "needs --stack NAME, or HOOKLINE_TABLE"},
	} {
		err := consoleCmd(t.Context(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("console %v: %v, want %q", c.args, err, c.want)
		}
	}
}

// console --aws --stack reads the table and queues from the stack's outputs
// (a stack moto deploys: a template whose outputs name the test's table and
// queues) and serves their console; the output names are template.yaml's.
func TestConsoleAWSStack(t *testing.T) {
	ddb, _ := awsEnv(t)
	res := newStackResources(t, ddb)
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	cf := cloudformation.NewFromConfig(cfg)
	name := "hookline-console-" + strings.ToLower(queuetest.EventID())
	tmpl, _ := json.Marshal(map[string]any{
		"Resources": map[string]any{"Marker": map[string]any{"Type": "AWS::SQS::Queue", "Properties": map[string]any{"QueueName": name + "-marker"}}},
		"Outputs": map[string]any{
			OutputTable:    map[string]any{"Value": res.table},
			OutputQueueURL: map[string]any{"Value": res.queueURL},
			OutputDLQURL:   map[string]any{"Value": res.dlqURL},
		},
	})
	if _, err := cf.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(tmpl))}); err != nil {
		t.Fatalf("moto create-stack: %v", err)
	}
	t.Cleanup(func() {
		_, _ = cf.DeleteStack(context.Background(), &cloudformation.DeleteStackInput{StackName: aws.String(name)})
	})

	got, err := fromStack(t.Context(), cf, name)
	if err != nil || got != res {
		t.Fatalf("fromStack = %+v, %v, want %+v", got, err, res)
	}
	if _, err := fromStack(t.Context(), cf, name+"-missing"); err == nil {
		t.Error("a missing stack was read")
	}

	// The whole command: it prints its address and serves the stack's table.
	st := dynamo.New(storetest.NewDynamoClient(ddb), res.table)
	ev := storetest.NewEvent("tomba", "tb_stack", time.Now().Add(-time.Minute))
	if _, err := st.Put(t.Context(), ev, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKLINE_TABLE", "")
	t.Setenv("HOOKLINE_QUEUE_URL", "")
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- consoleCmd(ctx, []string{"--aws", "--stack", name, "--console-addr", "127.0.0.1:0"}, io.Discard, stderr)
	}()
	defer func() { cancel(); <-done }()
	var base string
	for deadline := time.Now().Add(15 * time.Second); base == ""; {
		if m := consoleLine.FindStringSubmatch(stderr.String()); m != nil {
			base = strings.TrimSuffix(m[1], "/")
		}
		if time.Now().After(deadline) {
			t.Fatalf("console --aws --stack did not start: %s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := &consoleBackend{name: "stack", url: base}
	var l listed
	b.get(t, "/api/events", &l)
	if !slices.Equal(l.ids(), []string{ev.ID}) {
		t.Errorf("console of the stack lists %v, want %s", l.ids(), ev.ID)
	}
	var dl deadList
	b.get(t, "/api/deadletters", &dl)
	if !dl.Available {
		t.Error("the stack's DLQ output was not used")
	}

	// The outputs read are the ones template.yaml declares.
	tmplYAML := repoTemplateOutputs(t)
	for _, o := range []string{OutputTable, OutputQueueURL, OutputDLQURL} {
		if !tmplYAML[o] {
			t.Errorf("template.yaml has no output %s", o)
		}
	}
}

// repoTemplateOutputs are the output names of the repository's template.yaml.
func repoTemplateOutputs(t *testing.T) map[string]bool {
	tmpl, err := template.Load(filepath.Join("..", "..", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for k := range tmpl.Outputs {
		out[k] = true
	}
	return out
}

// hookline redrive shares the console's Redrive: one event's dead letters
// or all, and a dry run that moves nothing.
func TestRedriveCommandOneOrAll(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := embedded.New(st.DB(), embedded.WithMaxReceives(1))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, id := range []string{"01DEADA0000000000000000000", "01DEADB0000000000000000000"} {
		if err := q.Enqueue(ctx, id, "tomba.save_lead"); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 {
		if _, err := q.Receive(ctx, 10, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
		dead int
	}{
		{[]string{"--id", "01DEADA0000000000000000000", "--dry-run"}, "would redrive 1 messages", 2},
		{[]string{"--dry-run"}, "would redrive 2 messages", 2},
		{[]string{"--id", "01DEADA0000000000000000000"}, "redrove 1 messages", 1},
		{[]string{"--id", "01DEADA0000000000000000000"}, "redrove 0 messages", 1},
		{nil, "redrove 1 messages", 0},
	} {
		var out strings.Builder
		if err := redrive(ctx, append([]string{"--data", dir}, c.args...), &out); err != nil || !strings.Contains(out.String(), c.want) {
			t.Errorf("redrive %v: %v %q, want %q", c.args, err, out.String(), c.want)
		}
		if n, _ := q.CountDead(ctx, ""); n != c.dead {
			t.Errorf("after redrive %v: %d dead letters, want %d", c.args, n, c.dead)
		}
	}
}
