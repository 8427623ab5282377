package deliver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store"
)

// bodyDest is a fakeDest that also takes a transformed body (a
// deliver.BodySender) of at most max bytes.
type bodyDest struct {
	*fakeDest
	max int

	bmu    sync.Mutex
	bodies [][]byte
}

func (b *bodyDest) DeliverBody(ctx context.Context, ev store.Event, attempt int, body []byte) deliver.Outcome {
	b.bmu.Lock()
	b.bodies = append(b.bodies, body)
	b.bmu.Unlock()
	return b.Deliver(ctx, ev, attempt)
}

func (b *bodyDest) MaxBodyBytes() int { return b.max }

// programRoute is route() with a compiled filter and transform.
func programRoute(t *testing.T, dest deliver.Destination, maxAttempts int, filter, transform string) deliver.Route {
	t.Helper()
	r := route(dest, maxAttempts)
	r.Config.Filter, r.Config.Transform = filter, transform
	ps, err := deliver.CompilePrograms(r.Config)
	if err != nil {
		t.Fatal(err)
	}
	r.Programs = ps
	return r
}

// An event the filter turns away is no failure and no attempt: the
// destination's state says filtered, the destination is never called, and
// the event is delivered once the others are.
func TestFilteredIsNotAnAttempt(t *testing.T) {
	ev := testEvent("01JFILTERED")
	st := newMemStore(ev)
	hot := &bodyDest{fakeDest: &fakeDest{name: "hot", script: []deliver.Outcome{ok200}}, max: 1 << 20}
	all := &fakeDest{name: "all", script: []deliver.Outcome{ok200}}
	c := newClock()
	p := newProcessor(st, c,
		programRoute(t, hot, 10, `.tenant == "globex"`, `{text: .data.data.name}`),
		programRoute(t, all, 10, `.tenant == "acme"`, ""))
	var buf bytes.Buffer
	var seen []deliver.Attempt
	p.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	p.Observe = func(a deliver.Attempt) { seen = append(seen, a) }

	if runs := drain(t, p, c, ev.ID); runs != 1 {
		t.Errorf("done after %d runs, want 1", runs)
	}
	got := st.event(ev.ID)
	if got.Status != store.StatusDelivered {
		t.Errorf("status %q, want delivered", got.Status)
	}
	h := delivery(t, got, "hot")
	if !h.Filtered() || !h.Settled() || h.Delivered() || h.Attempts != 0 || !h.FailedAt.IsZero() || h.LastClass != "" ||
		!h.FilteredAt.Equal(c.Now()) {
		t.Errorf("hot = %+v, want filtered at %v with no attempt", h, c.Now())
	}
	if len(hot.attempts()) != 0 || len(hot.bodies) != 0 {
		t.Errorf("the filtered destination was called: %v", hot.attempts())
	}
	if a := delivery(t, got, "all"); !a.Delivered() || a.Attempts != 1 || len(all.attempts()) != 1 {
		t.Errorf("all = %+v, want delivered after one attempt", a)
	}
	if len(seen) != 1 || seen[0].Destination != "all" {
		t.Errorf("observed %+v, want the one attempt at all", seen)
	}
	logs := buf.String()
	if strings.Count(logs, `"msg":"delivery_attempt"`) != 1 || !strings.Contains(logs, `"msg":"delivery_filtered"`) ||
		!strings.Contains(logs, `"destination":"hot","outcome":"filtered"`) {
		t.Errorf("logs = %s", logs)
	}
	// Settled: a duplicate message does not run the filter again.
	if res := process(t, p, ev.ID); !res.Done || st.saves != 1 {
		t.Errorf("run after done = %+v with %d saves", res, st.saves)
	}

	// Every destination filtering the event out: delivered, nothing sent.
	ev2 := testEvent("01JFILTEREDALL")
	st2 := newMemStore(ev2)
	none := &fakeDest{name: "none", script: []deliver.Outcome{ok200}}
	p2 := newProcessor(st2, c, programRoute(t, none, 10, `.type | startswith("tomba.")`, ""))
	if res := process(t, p2, ev2.ID); !res.Done || res.Status != store.StatusDelivered || len(none.attempts()) != 0 {
		t.Errorf("all filtered = %+v, %d calls; want done, delivered, none", res, len(none.attempts()))
	}
}

// A filter or transform that fails at run time is a permanent failure: one
// attempt, the class, the message on the delivery, never retried, and
// never in a log line.
func TestProgramFailureIsPermanent(t *testing.T) {
	for _, c := range []struct {
		name, filter, transform string
		max                     int // the destination's body limit
		class, msg              string
	}{
		{"filter not boolean", `.data.data.email`, "", 1 << 20, "filter_error", "filter: produced a string, not true or false"},
		{"filter error", `.data.data.email | test(2)`, "", 1 << 20, "filter_error", "filter: test(2; null) cannot be applied to: string"},
		{"filter two values", `true, true`, "", 1 << 20, "filter_error", "filter: produced more than one value"},
		{"transform error", "", `.data.data.email + 1`, 1 << 20, "transform_error", `transform: cannot add: string ("zoe@example.com") and number (1)`},
		{"transform raises", "", `error("no owner for \(.id)")`, 1 << 20, "transform_error", "transform: error: no owner for 01JPERMANENT"},
		{"transform no value", `true`, `.data.nothing[]?`, 1 << 20, "transform_error", "transform: produced no value"},
		{"transform runs forever", "", `def f: f; f`, 1 << 20, "transform_error", "transform: stopped after running for its bound"},
		{"filter runs forever", `last(range(infinite)) > 0`, "", 1 << 20, "filter_error", "filter: stopped after running for its bound"},
		{"transform over the limit", "", `{text: .data.data.name * 10}`, 64, "transform_error", "transform: output is over the destination's limit of 64 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ev := testEvent("01JPERMANENT")
			st := newMemStore(ev)
			dest := &bodyDest{fakeDest: &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}, max: c.max}
			clk := newClock()
			p := newProcessor(st, clk, programRoute(t, dest, 10, c.filter, c.transform))
			var buf bytes.Buffer
			p.Log = slog.New(slog.NewJSONHandler(&buf, nil))

			if runs := drain(t, p, clk, ev.ID); runs != 1 {
				t.Errorf("done after %d runs, want 1", runs)
			}
			got := st.event(ev.ID)
			d := delivery(t, got, "crm")
			if got.Status != store.StatusFailed || d.Attempts != 1 || d.FailedAt.IsZero() || d.Filtered() ||
				d.LastClass != c.class || !strings.HasPrefix(d.LastError, c.msg) {
				t.Errorf("status %q, delivery %+v; want failed after 1 attempt, class %s, error %q", got.Status, d, c.class, c.msg)
			}
			if n := len(dest.attempts()); n != 0 {
				t.Errorf("the destination was called %d times", n)
			}
			// A duplicate message changes nothing.
			if res := process(t, p, ev.ID); !res.Done || delivery(t, st.event(ev.ID), "crm").Attempts != 1 {
				t.Errorf("run after failure = %+v", res)
			}
			logs := buf.String()
			if !strings.Contains(logs, `"class":"`+c.class+`"`) || !strings.Contains(logs, `"outcome":"failed"`) {
				t.Errorf("log = %s", logs)
			}
			for _, leak := range []string{"zoe@example.com", "Zoë", d.LastError} {
				if strings.Contains(logs, leak) {
					t.Errorf("a log line contains %q: %s", leak, logs)
				}
			}
		})
	}
}

// The processor stopping in the middle of a program is not the program's
// fault: no attempt is recorded, and the delivery stays pending.
func TestProgramCutShortIsNotRecorded(t *testing.T) {
	ev := testEvent("01JCUTSHORT")
	st := newMemStore(ev)
	dest := &bodyDest{fakeDest: &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}, max: 1 << 20}
	p := newProcessor(st, newClock(), programRoute(t, dest, 10, "", `def f: f; f`))
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res, err := p.Process(ctx, ev.ID)
	if err != nil || res.Done {
		t.Fatalf("Process = %+v, %v; want not done", res, err)
	}
	if ds := st.event(ev.ID).Deliveries; len(ds) != 0 {
		t.Errorf("deliveries = %+v, want none recorded", ds)
	}
}

// With a transform, an http destination posts the transform's output,
// signed (the sink verifies webhook-signature over the body it got), as
// application/json or the configured content_type.
func TestTransformedHTTPBody(t *testing.T) {
	s := newSink(t, nil, secretA, secretB)
	ev := testEvent("01JTRANSFORMHTTP")
	st := newMemStore(ev)
	plain := httpDest("plain", s.url(), "")
	plain.Transform = `{text: "New lead: \(.data.data.name) <\(.normalized.lead.email)>", tenant}`
	plain.ContentType = config.DefaultTransformContentType
	plain.Secrets = []string{secretB}
	typed := httpDest("typed", s.url(), "")
	typed.Transform = `[.id, .data.id]`
	typed.ContentType = "application/vnd.crm+json; charset=utf-8"
	typed.Secrets = []string{secretB}
	routes, err := deliver.NewRoutes([]config.Destination{plain, typed}, deliver.DefaultBuilders(nil, deliver.NewHTTPClient()))
	if err != nil {
		t.Fatal(err)
	}
	p := newProcessor(st, newClock(), routes...)
	if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusDelivered {
		t.Fatalf("Process = %+v", res)
	}
	want := map[string]struct{ body, ct string }{
		"New": {`{"tenant":"acme","text":"New lead: Zoë <Q> & co <zoe@example.com>"}`, "application/json"},
		`["`:  {`["01JTRANSFORMHTTP","evt_1"]`, "application/vnd.crm+json; charset=utf-8"},
	}
	if s.total() != 2 {
		t.Fatalf("sink got %d requests, want 2", s.total())
	}
	for _, r := range s.reqs {
		var w struct{ body, ct string }
		for k, v := range want {
			if strings.Contains(string(r.body), k) {
				w = v
			}
		}
		if string(r.body) != w.body || r.header.Get("Content-Type") != w.ct {
			t.Errorf("request %s (%s), want %s (%s)", r.body, r.header.Get("Content-Type"), w.body, w.ct)
		}
		if r.header.Get("webhook-id") != ev.ID || r.header.Get("X-Team") != "growth" {
			t.Errorf("headers = %v", r.header)
		}
	}
	// Signed with both secrets (the sink checked each).
	for _, r := range s.reqs {
		if strings.Count(r.header.Get("webhook-signature"), "v1,") != 2 {
			t.Errorf("webhook-signature %q, want one per secret", r.header.Get("webhook-signature"))
		}
	}
}

// NewRoutes compiles every program: a syntax error refuses the config,
// naming the destination and the position; a transform needs a
// destination that sends a body.
func TestNewRoutesRefuses(t *testing.T) {
	cfg, err := config.Parse(t.Context(), []byte(`
sources:
  leadron: { secrets: [s] }
destinations:
  - name: ok
    type: log
    filter: .type == "leadron.lead.created"
  - name: slack-hot-leads
    type: http
    url: https://hooks.slack.com/services/x
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    transform: |
      {text: "New lead",
       blocks: [.data | {type: "section" ]}
`), func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = deliver.NewProcessor(cfg, newMemStore(), deliver.DefaultBuilders(nil, deliver.NewHTTPClient()), nil)
	if err == nil || !strings.Contains(err.Error(), `destination slack-hot-leads: transform: syntax error at line 2, column 36: unexpected token "]"`) {
		t.Errorf("NewProcessor = %v", err)
	}

	d := config.Destination{Name: "plain", Type: "custom", Transform: "{}"}
	_, err = deliver.NewRoutes([]config.Destination{d}, deliver.Builders{"custom": func(config.Destination) (deliver.Destination, error) {
		return &fakeDest{name: "plain"}, nil
	}})
	if err == nil || !strings.Contains(err.Error(), "destination plain: a transform needs a destination that sends a body") {
		t.Errorf("NewRoutes with a transform on a destination without bodies = %v", err)
	}
}

// On EventBridge the transform's output is the entry's detail (a rule
// matches on it), on SQS the message body.
func TestTransformEventBridgeAndSQS(t *testing.T) {
	eb := awsEventBridgeClient(t)
	sqsc := queuetest.SQSClient(t)
	ev := awsTestEvent("leadron", "leadron.lead.created", "acct_1", `{"id":"evt_1","type":"lead.created","data":{"email":"a@example.com","n":1.50}}`)
	st := newMemStore(ev)
	bus := ebNewBus(t, eb)
	ruleQueue := ebRouteToQueue(t, eb, sqsc, bus.name, ev.ID)
	directQueue, _ := queuetest.NewSQSQueue(t, sqsc, false)

	builders := deliver.Builders{
		"eventbridge": func(d config.Destination) (deliver.Destination, error) { return deliver.NewEventBridge(eb, d), nil },
		"sqs":         func(d config.Destination) (deliver.Destination, error) { return deliver.NewSQS(sqsc, d), nil },
	}
	routes, err := deliver.NewRoutes([]config.Destination{
		{Name: "bus", Type: "eventbridge", EventBus: bus.name, Transform: `{id, email: .data.data.email, n: .data.data.n}`},
		{Name: "queue", Type: "sqs", QueueURL: directQueue, Transform: `[.tenant, .data.data.email]`},
		{Name: "array-detail", Type: "eventbridge", EventBus: bus.name, Transform: `[.id]`},
	}, builders)
	if err != nil {
		t.Fatal(err)
	}
	p := newProcessor(st, newClock(), routes...)
	if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusFailed {
		t.Fatalf("Process = %+v, want done and failed (the array detail)", res)
	}
	msgs := awsReceiveAll(t, sqsc, ruleQueue, 1)
	if len(msgs) != 1 {
		t.Fatalf("the rule's queue got %d messages", len(msgs))
	}
	var env ebEnvelope
	if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &env); err != nil {
		t.Fatal(err)
	}
	if !awsJSONEqual(t, env.Detail, []byte(`{"id":"`+ev.ID+`","email":"a@example.com","n":1.50}`)) || env.DetailType != ev.Type {
		t.Errorf("EventBridge detail = %s (%s)", env.Detail, env.DetailType)
	}
	msgs = awsReceiveAll(t, sqsc, directQueue, 1)
	if len(msgs) != 1 || aws.ToString(msgs[0].Body) != `["acct_1","a@example.com"]` {
		t.Fatalf("SQS messages = %+v", msgs)
	}
	if v, _ := sqsdAttr(msgs[0], deliver.SQSAttrContentType); v != "application/json" {
		t.Errorf("content-type attribute = %q", v)
	}
	if v, _ := sqsdAttr(msgs[0], deliver.SQSAttrEventID); v != ev.ID {
		t.Errorf("event_id attribute = %q", v)
	}
	d := delivery(t, st.event(ev.ID), "array-detail")
	if d.LastClass != "transform_error" || d.Attempts != 1 || !strings.Contains(d.LastError, "JSON object") {
		t.Errorf("array detail = %+v, want a permanent transform_error", d)
	}
}

// A destination timeout shorter than EvalTimeout ends a runaway program
// first: that is the attempt's deadline, a transient timeout, retried
// until max_attempts like any other.
func TestProgramPastTheAttemptTimeout(t *testing.T) {
	ev := testEvent("01JSHORTTIMEOUT")
	st := newMemStore(ev)
	dest := &bodyDest{fakeDest: &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}, max: 1 << 20}
	r := programRoute(t, dest, 2, "", `def f: f; f`)
	r.Config.Timeout = config.Duration(50 * time.Millisecond)
	c := newClock()
	p := newProcessor(st, c, r)
	if runs := drain(t, p, c, ev.ID); runs != 2 {
		t.Errorf("done after %d runs, want 2", runs)
	}
	d := delivery(t, st.event(ev.ID), "crm")
	if d.Attempts != 2 || d.LastClass != "timeout" || d.FailedAt.IsZero() || d.LastError != "" {
		t.Errorf("delivery = %+v, want 2 timeouts, then failed", d)
	}
}
