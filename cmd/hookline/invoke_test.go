package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/lambdaemu"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/template"
	"github.com/hookline/hookline/shared/wire"
)

const templatePath = "../../template.yaml"

// buildDir holds the host bootstraps the tests build, once per test binary.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookline-invoke-test-")
	if err != nil {
		panic(err)
	}
	buildDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var (
	buildsMu sync.Mutex
	builds   = map[string]func() (string, error){}
)

// hostBootstrap builds a function of template.yaml for this machine with
// the template's build method (what `hookline invoke` does), once.
func hostBootstrap(t testing.TB, id string) string {
	t.Helper()
	buildsMu.Lock()
	build, ok := builds[id]
	if !ok {
		build = sync.OnceValues(func() (string, error) {
			fn, err := loadTemplate(t).Function(id)
			if err != nil {
				return "", err
			}
			return buildBootstrap(context.Background(), "../..", fn, filepath.Join(buildDir, id), runtime.GOOS, runtime.GOARCH)
		})
		builds[id] = build
	}
	buildsMu.Unlock()
	bin, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

func loadTemplate(t testing.TB) *template.Template {
	t.Helper()
	tmpl, err := template.Load(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// routeFunction is the function template.yaml routes POST /webhooks/<provider> to.
func routeFunction(t testing.TB, tmpl *template.Template, prov string) string {
	t.Helper()
	for _, fn := range tmpl.Functions() {
		for _, e := range fn.Events() {
			if e.Type == "HttpApi" && e.Properties["Path"] == "/webhooks/"+prov && e.Properties["Method"] == http.MethodPost {
				return fn.LogicalID
			}
		}
	}
	t.Fatalf("no function for POST /webhooks/%s", prov)
	return ""
}

// reportLine is a REPORT line of hookline invoke: its duration and billed duration.
var reportLine = regexp.MustCompile(`REPORT RequestId: \S+\tDuration: ([0-9.]+) ms\tBilled Duration: ([0-9]+) ms\tMemory Size: [0-9]+ MB`)

// lambdaSecrets are the provider secrets the functions run with in these
// tests: they refuse the public development secrets.
var lambdaSecrets = samples.NewSecrets()

// resignedSample is a copy of an events/ sample (signed with the
// development secrets) re-signed with lambdaSecrets.
func resignedSample(t testing.TB, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	data, ok, err := resignEvent(data, secretsOf(config.Development()), lambdaSecrets)
	if err != nil || !ok {
		t.Fatalf("%s: not a delivery signed with the development secrets: %v", file, err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(file))
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// standIns is a fresh table in DynamoDB Local and queue in moto, and an
// --env-file pointing a function at them with a config accepting
// lambdaSecrets.
type standIns struct {
	envFile, table, queueURL string
	store                    *dynamo.Store
}

func newStandIns(t testing.TB) standIns {
	t.Helper()
	ddb := storetest.DynamoEndpoint(t)
	moto := queuetest.MotoEndpoint(t)
	table := "hookline-invoke-" + strings.ToLower(queuetest.EventID())
	client := storetest.NewDynamoClient(ddb)
	if err := dynamo.CreateTable(context.Background(), client, table); err != nil {
		t.Fatal(err)
	}
	queueURL, _ := queuetest.NewSQSQueue(t, queuetest.SQSClient(t), true)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hookline.yaml")
	if err := os.WriteFile(cfg, []byte(lambdaSecrets.ConfigYAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]map[string]string{"Parameters": {
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": moto, "AWS_ENDPOINT_URL_DYNAMODB": ddb,
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"AWS_CONFIG_FILE":                  "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
		"HOOKLINE_CONFIG": cfg, "HOOKLINE_TABLE": table, "HOOKLINE_QUEUE_URL": queueURL,
	}}
	data, _ := json.Marshal(env)
	envFile := filepath.Join(dir, "env.json")
	if err := os.WriteFile(envFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return standIns{envFile: envFile, table: table, queueURL: queueURL, store: dynamo.New(client, table)}
}

// invoked is what `hookline invoke` printed.
type invoked struct {
	out        string
	responses  []string // RESPONSE payloads, in order
	emf        [][]byte // EMF log lines, in order
	requestIDs []string // of each invocation, in order
	// The function's JSON log lines (EMF lines aside) by the request id of
	// the invocation they were written in ("" for init).
	logs map[string][]map[string]any
}

func invoke(t testing.TB, args ...string) (invoked, error) {
	t.Helper()
	var out bytes.Buffer
	err := invokeCmd(context.Background(), append([]string{"--template", templatePath}, args...), &out)
	res := invoked{out: out.String(), logs: map[string][]map[string]any{}}
	current := ""
	for _, line := range strings.Split(out.String(), "\n") {
		if p, ok := strings.CutPrefix(line, "RESPONSE "); ok {
			res.responses = append(res.responses, p)
		} else if id, ok := strings.CutPrefix(line, "START RequestId: "); ok {
			current = id
			res.requestIDs = append(res.requestIDs, id)
		} else if strings.HasPrefix(line, "END RequestId: ") {
			current = ""
		} else if strings.HasPrefix(line, "{") {
			// The wide line of a delivery or attempt is also its EMF
			// document: one line, counted as both.
			if metrics.IsEMF([]byte(line)) {
				res.emf = append(res.emf, []byte(line))
			}
			var entry map[string]any
			if json.Unmarshal([]byte(line), &entry) != nil {
				t.Fatalf("a log line that is not JSON: %s", line)
			}
			res.logs[current] = append(res.logs[current], entry)
		}
	}
	return res, err
}

// logLine returns the one line with this message the function logged in
// invocation requestID (or at init, ""), checked for Lambda's JSON format
// as lambdacontext writes it: "timestamp" (RFC 3339), "level", "message",
// slog's own "time"/"msg" gone, and the invocation's "requestId".
func logLine(t testing.TB, res invoked, requestID, message string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, e := range res.logs[requestID] {
		if e["message"] == message {
			found = append(found, e)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %q lines in invocation %q, want 1:\n%s", len(found), message, requestID, res.out)
	}
	e := found[0]
	ts, _ := e["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("%q line: timestamp %v: %v", message, e["timestamp"], err)
	}
	if _, ok := e["level"].(string); !ok {
		t.Errorf("%q line without a level: %v", message, e)
	}
	for _, k := range []string{"time", "msg"} {
		if _, ok := e[k]; ok {
			t.Errorf("%q line has slog's %q key: %v", message, k, e)
		}
	}
	if requestID != "" && e["requestId"] != requestID {
		t.Errorf("%q line: requestId %v, want the invocation's %s", message, e["requestId"], requestID)
	}
	return e
}

// metricsNamespace is the namespace template.yaml gives the functions'
// metrics, in the stack name the template resolver assumes (hookline).
func metricsNamespace(t testing.TB) string {
	t.Helper()
	tmpl := loadTemplate(t)
	fn, err := tmpl.Function("ProcessorFunction")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := tmpl.Resolve(fn.Env()[awsenv.EnvMetricsNamespace], nil)
	if err != nil || ns != "hookline/hookline" {
		t.Fatalf("%s resolves to %q, %v; want hookline/<stack name>", awsenv.EnvMetricsNamespace, ns, err)
	}
	return ns
}

// noSecretsIn fails when the output of a run shows a development secret,
// a credential header of the event, or an email address of its body.
func noSecretsIn(t testing.TB, out string, e events.APIGatewayV2HTTPRequest) {
	t.Helper()
	never := []string{config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken}
	for k, v := range e.Headers {
		if k = strings.ToLower(k); k == "authorization" || k == "x-leadron-signature" || k == "x-tomba-token" {
			never = append(never, v, strings.TrimPrefix(v, "Bearer "))
		}
	}
	never = append(never, regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`).FindAllString(e.Body, -1)...)
	for _, s := range never {
		if len(s) >= 6 && strings.Contains(out, s) {
			t.Errorf("the output shows %q", s)
		}
	}
}

// httpAnswer decodes an API Gateway response and the hookline body in it.
type httpAnswer struct {
	status                          int
	Status, EventID, Error, Message string
	contentTypeIsJSON               bool
}

func decodeAnswer(t testing.TB, payload string) httpAnswer {
	t.Helper()
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal([]byte(payload), &r); err != nil {
		t.Fatalf("response %s: %v", payload, err)
	}
	var body struct {
		Status  string `json:"status"`
		EventID string `json:"event_id"`
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	return httpAnswer{status: r.StatusCode, Status: body.Status, EventID: body.EventID, Error: body.Error,
		Message: body.Message, contentTypeIsJSON: r.Headers["Content-Type"] == "application/json"}
}

// metricValues maps "metric{dim=value,...}" to its value, for each
// dimension set of an EMF line that parses as valid EMF.
func metricValues(t testing.TB, line []byte) map[string]float64 {
	t.Helper()
	rec, err := metrics.Parse(line)
	if err != nil {
		t.Fatalf("invalid EMF line %s: %v", line, err)
	}
	if rec.Namespace != metricsNamespace(t) || len(rec.Groups) == 0 {
		t.Fatalf("EMF line %s: namespace %q, %d directives", line, rec.Namespace, len(rec.Groups))
	}
	out := map[string]float64{}
	for _, g := range rec.Groups {
		if len(g.Metrics) == 0 || len(g.Dimensions) == 0 {
			t.Fatalf("EMF line %s: a directive without metrics or dimensions", line)
		}
		for _, set := range g.Dimensions {
			var dims []string
			for _, k := range set {
				dims = append(dims, k+"="+rec.Dims[k])
			}
			for _, m := range g.Metrics {
				out[m.Name+"{"+strings.Join(dims, ",")+"}"] = m.Value
			}
		}
	}
	return out
}

// Every events/ sample, through its function's real bootstrap under the
// emulator, against DynamoDB Local and moto: accepted, then a duplicate of
// the same event, each with one valid EMF line.
func TestInvokeSamples(t *testing.T) {
	si := newStandIns(t)
	tmpl := loadTemplate(t)
	total := 0
	for _, prov := range wire.Providers {
		id := routeFunction(t, tmpl, prov)
		bin := hostBootstrap(t, id)
		files, _ := filepath.Glob(filepath.Join("..", "..", "events", prov, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no events/%s samples", prov)
		}
		for _, file := range files {
			res, err := invoke(t, "--bootstrap", bin, "--env-file", si.envFile, "--times", "2", id, resignedSample(t, file))
			if err != nil || len(res.responses) != 2 || len(res.emf) != 2 {
				t.Fatalf("%s: %v\n%s", file, err, res.out)
			}
			first, again := decodeAnswer(t, res.responses[0]), decodeAnswer(t, res.responses[1])
			if first.status != 200 || first.Status != "accepted" || again.status != 200 || again.Status != "duplicate" ||
				again.EventID != first.EventID || !first.contentTypeIsJSON {
				t.Fatalf("%s: answers %+v then %+v", file, first, again)
			}
			ev, err := si.store.Get(context.Background(), first.EventID)
			if err != nil || ev.Status != store.StatusQueued || ev.Provider != prov {
				t.Fatalf("%s: stored %+v, %v", file, ev.Status, err)
			}
			p := "{provider=" + prov + "}"
			m1, m2 := metricValues(t, res.emf[0]), metricValues(t, res.emf[1])
			if m1["received"+p] != 1 || m1["accepted"+p] != 1 || m1["enqueued"+p] != 1 || perType(m1) ||
				m2["duplicate"+p] != 1 || m2["accepted"+p] != 0 || perType(m2) {
				t.Fatalf("%s: metrics %v then %v", file, m1, m2)
			}
			if !strings.Contains(res.out, "Init Duration: ") || strings.Count(res.out, "REPORT RequestId: ") != 2 {
				t.Fatalf("%s: no durations reported:\n%s", file, res.out)
			}
			// Each REPORT line bills the duration rounded up to the next
			// millisecond (the duration is printed to 0.01 ms).
			for _, m := range reportLine.FindAllStringSubmatch(res.out, -1) {
				d, _ := strconv.ParseFloat(m[1], 64)
				billed, _ := strconv.Atoi(m[2])
				if billed < 1 || float64(billed) < d-0.01 || float64(billed) > d+1.01 {
					t.Errorf("%s: %q bills %d ms", file, m[0], billed)
				}
			}
			if n := len(reportLine.FindAllString(res.out, -1)); n != 2 {
				t.Fatalf("%s: %d REPORT lines with a billed duration:\n%s", file, n, res.out)
			}
			// The wide line of each delivery, in Lambda's format with its invocation's requestId.
			var e events.APIGatewayV2HTTPRequest
			data, _ := os.ReadFile(file)
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"accepted", "duplicate"} {
				line := logLine(t, res, res.requestIDs[i], "delivery")
				// The duplicate comes before any processor saved: it
				// enqueues the event once more (ingest.Handler.LeaveReceived).
				if line["outcome"] != map[string]string{"accepted": "new", "duplicate": "requeued"}[want] || line["event_id"] != first.EventID ||
					line["provider"] != prov || line["level"] != "INFO" || line["request_id"] != e.RequestContext.RequestID {
					t.Errorf("%s: delivery %d logged %v", file, i+1, line)
				}
			}
			noSecretsIn(t, res.out, e)
			total++
		}
	}
	if total < 39 {
		t.Fatalf("%d samples invoked", total)
	}
}

// Deliveries that must not be accepted get the contract's status codes,
// and a rejected metric with the reason.
func TestInvokeRejections(t *testing.T) {
	si := newStandIns(t)
	tmpl := loadTemplate(t)
	sample := func(prov, event string) events.APIGatewayV2HTTPRequest {
		data, err := os.ReadFile(resignedSample(t, filepath.Join("..", "..", "events", prov, event+".json")))
		if err != nil {
			t.Fatal(err)
		}
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name, prov, event string
		change            func(e *events.APIGatewayV2HTTPRequest)
		status            int
		reason            string // the rejected metric's reason; "" for an accepted delivery
	}{
		{"leadron body changed after signing", "leadron", "lead.created",
			func(e *events.APIGatewayV2HTTPRequest) { e.Body = strings.Replace(e.Body, "jane@", "mallory@", 1) },
			401, "bad_signature"},
		{"journeybee without a token", "journeybee", "lead_created",
			func(e *events.APIGatewayV2HTTPRequest) { delete(e.Headers, "authorization") },
			401, "missing_credentials"},
		{"tomba with a wrong token", "tomba", "save_lead",
			func(e *events.APIGatewayV2HTTPRequest) { e.Headers["x-tomba-token"] = "guess" },
			401, "bad_signature"},
		{"leadron with PUT", "leadron", "lead.updated",
			func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = http.MethodPut },
			405, "method_not_allowed"},
		{"leadron as text", "leadron", "lead.deleted",
			func(e *events.APIGatewayV2HTTPRequest) { e.Headers["content-type"] = "text/plain" },
			415, "unsupported_media_type"},
		{"tomba with PATCH is accepted", "tomba", "save_lead",
			func(e *events.APIGatewayV2HTTPRequest) { e.RequestContext.HTTP.Method = http.MethodPatch },
			200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := sample(tt.prov, tt.event)
			tt.change(&e)
			data, _ := json.Marshal(e)
			file := filepath.Join(t.TempDir(), "event.json")
			if err := os.WriteFile(file, data, 0o600); err != nil {
				t.Fatal(err)
			}
			id := routeFunction(t, tmpl, tt.prov)
			res, err := invoke(t, "--bootstrap", hostBootstrap(t, id), "--env-file", si.envFile, id, file)
			if err != nil || len(res.responses) != 1 || len(res.emf) != 1 {
				t.Fatalf("%v\n%s", err, res.out)
			}
			a := decodeAnswer(t, res.responses[0])
			m := metricValues(t, res.emf[0])
			if a.status != tt.status {
				t.Fatalf("status %d (%+v), want %d", a.status, a, tt.status)
			}
			if tt.reason == "" {
				if a.Status != "accepted" || m["accepted{provider="+tt.prov+"}"] != 1 {
					t.Fatalf("answer %+v, metrics %v", a, m)
				}
				return
			}
			if a.Error != tt.reason || a.Message == "" {
				t.Errorf("error body %+v, want error %q", a, tt.reason)
			}
			if m["rejected{provider="+tt.prov+"}"] != 1 || m["rejected{provider="+tt.prov+",reason="+tt.reason+"}"] != 1 {
				t.Errorf("metrics %v", m)
			}
		})
	}
}

// A function without its provider's secret refuses to start: the init
// failure and the function's own log line are reported.
func TestInvokeReportsInitFailure(t *testing.T) {
	si := newStandIns(t)
	cfg := filepath.Join(t.TempDir(), "leadron-only.yaml")
	if err := os.WriteFile(cfg, []byte("sources:\n  leadron: { secrets: [\"s\"] }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := routeFunction(t, loadTemplate(t), "journeybee")
	res, err := invoke(t, "--bootstrap", hostBootstrap(t, id), "--env-file", si.envFile, "--env", "HOOKLINE_CONFIG="+cfg,
		id, filepath.Join("..", "..", "events", "journeybee", "lead_created.json"))
	if err == nil || !strings.Contains(err.Error(), "exited during init") {
		t.Fatalf("invoke = %v\n%s", err, res.out)
	}
	if !strings.Contains(res.out, "cold start failed") || !strings.Contains(res.out, "no secret") || len(res.responses) != 0 {
		t.Fatalf("output:\n%s", res.out)
	}
	if line := logLine(t, res, "", "cold start failed"); line["level"] != "ERROR" {
		t.Fatalf("cold start failure logged %v", line)
	}
}

// The ingest functions refuse the development secrets at cold start: the
// events/ samples, signed with them and valid until 2100, never reach a
// deployed function that uses them.
func TestInvokeRefusesDevelopmentSecrets(t *testing.T) {
	si := newStandIns(t)
	cfg := filepath.Join(t.TempDir(), "development.yaml")
	if err := os.WriteFile(cfg, []byte(config.DevelopmentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	tmpl := loadTemplate(t)
	for _, prov := range wire.Providers {
		id := routeFunction(t, tmpl, prov)
		sample := filepath.Join("..", "..", "events", prov, samples.Events(prov)[0]+".json")
		res, err := invoke(t, "--bootstrap", hostBootstrap(t, id), "--env-file", si.envFile, "--env", "HOOKLINE_CONFIG="+cfg,
			// As deployed: no AWS endpoint override (on the stand-ins they are accepted, see TestEnvLocalOnEverySample).
			"--env", "AWS_ENDPOINT_URL=", "--env", "AWS_ENDPOINT_URL_DYNAMODB=", id, sample)
		if err == nil || !strings.Contains(err.Error(), "exited during init") || len(res.responses) != 0 {
			t.Fatalf("%s: invoke = %v\n%s", id, err, res.out)
		}
		if !strings.Contains(res.out, "cold start failed") || !strings.Contains(res.out, "sources."+prov+".secrets[0]: hookline's development secrets are public") {
			t.Fatalf("%s: output:\n%s", id, res.out)
		}
		for _, s := range []string{config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken} {
			if strings.Contains(res.out, s) {
				t.Errorf("%s: the output shows a secret:\n%s", id, res.out)
			}
		}
	}
}

// The sweeper re-queues an event stored but never queued.
func TestInvokeSweeper(t *testing.T) {
	si := newStandIns(t)
	ctx := context.Background()
	received := time.Now().Add(-10 * time.Minute)
	ev := store.Event{
		ID: ulid.MustNew(ulid.Timestamp(received), nil).String(), Provider: "leadron", Type: "leadron.lead.created",
		IdempotencyKey: "evt_stuck_" + queuetest.EventID(), ReceivedAt: received, Raw: []byte(`{"id":"evt_stuck"}`),
		UpdatedAt: received, ExpiresAt: received.Add(24 * time.Hour),
	}
	if _, err := si.store.Put(ctx, ev, received.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	scheduled := filepath.Join(t.TempDir(), "scheduled.json")
	if err := os.WriteFile(scheduled, []byte(`{"version":"0","id":"5b1e1b6f","detail-type":"Scheduled Event","source":"aws.events",`+
		`"account":"123456789012","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],"detail":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := invoke(t, "--bootstrap", hostBootstrap(t, "SweeperFunction"), "--env-file", si.envFile, "SweeperFunction", scheduled)
	if err != nil || len(res.responses) != 1 || res.responses[0] != `{"requeued":1}` {
		t.Fatalf("sweep: %v\n%s", err, res.out)
	}
	if line := logLine(t, res, res.requestIDs[0], "sweep"); line["requeued"] != float64(1) || line["level"] != "INFO" {
		t.Fatalf("sweep logged %v", line)
	}
	got, err := si.store.Get(ctx, ev.ID)
	if err != nil || got.Status != store.StatusQueued {
		t.Fatalf("after the sweep: %v %v", got.Status, err)
	}
	msgs, err := sqsq.New(queuetest.SQSClient(t), si.queueURL).Receive(ctx, 10, 30*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != ev.ID {
		t.Fatalf("queued messages %+v, %v", msgs, err)
	}
}

// The processor, once it exists: an event accepted by an ingest function
// is delivered (the development config logs every event) with no batch
// item failure; every events/processor sample gets a well-formed answer.
func TestInvokeProcessor(t *testing.T) {
	if _, err := os.Stat("../../functions/processor/main.go"); err != nil {
		t.Skip("functions/processor does not exist yet")
	}
	si := newStandIns(t)
	id := routeFunction(t, loadTemplate(t), "leadron")
	res, err := invoke(t, "--bootstrap", hostBootstrap(t, id), "--env-file", si.envFile, id,
		resignedSample(t, filepath.Join("..", "..", "events", "leadron", "lead.created.json")))
	if err != nil || len(res.responses) != 1 {
		t.Fatalf("ingest: %v\n%s", err, res.out)
	}
	accepted := decodeAnswer(t, res.responses[0])
	file := filepath.Join(t.TempDir(), "sqs.json")
	if err := os.WriteFile(file, sqsEvent(si.queueURL, accepted.EventID, "leadron.lead.created"), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := hostBootstrap(t, "ProcessorFunction")
	res, err = invoke(t, "--bootstrap", bin, "--env-file", si.envFile, "ProcessorFunction", file)
	var answer events.SQSEventResponse
	if err != nil || len(res.responses) != 1 || json.Unmarshal([]byte(res.responses[0]), &answer) != nil {
		t.Fatalf("process: %v\n%s", err, res.out)
	}
	if len(answer.BatchItemFailures) != 0 {
		t.Fatalf("batch item failures %+v\n%s", answer.BatchItemFailures, res.out)
	}
	// The attempt's line and the log destination's, each with the invocation's requestId.
	attempt := logLine(t, res, res.requestIDs[0], "delivery_attempt")
	if attempt["event_id"] != accepted.EventID || attempt["destination"] != "log" || attempt["outcome"] != "delivered" {
		t.Errorf("delivery_attempt logged %v", attempt)
	}
	if line := logLine(t, res, res.requestIDs[0], "event"); line["event_id"] != accepted.EventID {
		t.Errorf("the log destination logged %v", line)
	}
	// The batch's metrics: one EMF line (not one per attempt), under the
	// dimension sets the alarm and the dashboard read.
	if len(res.emf) != 1 {
		t.Fatalf("%d EMF lines from the processor, want 1 for the batch:\n%s", len(res.emf), res.out)
	}
	m := metricValues(t, res.emf[0])
	if _, ok := m["attempt_latency{destination=log}"]; !ok || m["delivered{}"] != 1 || m["delivered{destination=log}"] != 1 ||
		m["delivered{provider=leadron,destination=log}"] != 1 {
		t.Errorf("processor metrics %v", m)
	}
	// The events/processor samples name events this fresh table does not
	// hold: the processor drops such messages (no batch item failure).
	// TestEnvLocalOnEverySample delivers them on the stand-ins they are for.
	samples, _ := filepath.Glob(filepath.Join("..", "..", "events", "processor", "*.json"))
	if len(samples) == 0 {
		t.Fatal("no events/processor samples")
	}
	for _, sample := range samples {
		data, _ := os.ReadFile(sample)
		var in events.SQSEvent
		if err := json.Unmarshal(data, &in); err != nil || len(in.Records) == 0 {
			t.Fatalf("%s: not an SQS event: %v", sample, err)
		}
		res, err := invoke(t, "--bootstrap", bin, "--env-file", si.envFile, "ProcessorFunction", sample)
		var answer events.SQSEventResponse
		if err != nil || len(res.responses) != 1 || json.Unmarshal([]byte(res.responses[0]), &answer) != nil {
			t.Fatalf("%s: %v\n%s", sample, err, res.out)
		}
		for _, f := range answer.BatchItemFailures {
			if !slices.ContainsFunc(in.Records, func(r events.SQSMessage) bool { return r.MessageId == f.ItemIdentifier }) {
				t.Errorf("%s: failure for %q, not a message of the batch", sample, f.ItemIdentifier)
			}
		}
	}
}

// sqsEvent is the event the SQS event source gives the processor for one
// message as queue/sqs enqueues it.
func sqsEvent(queueURL, eventID, eventType string) []byte {
	attr := func(v string) events.SQSMessageAttribute {
		return events.SQSMessageAttribute{DataType: "String", StringValue: &v}
	}
	e := events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "0c5d2a4e-1d7b-4a8e-9f1e-" + strings.ToLower(eventID[len(eventID)-12:]), ReceiptHandle: "rh-" + eventID,
		Body:              eventID,
		Attributes:        map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
		MessageAttributes: map[string]events.SQSMessageAttribute{sqsq.AttrEventID: attr(eventID), sqsq.AttrEventType: attr(eventType)},
		EventSource:       "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:" + filepath.Base(queueURL),
		AWSRegion: "us-east-1",
	}}}
	data, _ := json.Marshal(e)
	return data
}

// Without --bootstrap, invoke builds the function with the template's build
// method (make build-<LogicalId>) for this machine.
func TestInvokeBuildsTheFunction(t *testing.T) {
	si := newStandIns(t)
	scheduled := filepath.Join(t.TempDir(), "scheduled.json")
	if err := os.WriteFile(scheduled, []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := invoke(t, "--env-file", si.envFile, "SweeperFunction", scheduled)
	if err != nil || !strings.Contains(res.out, "built SweeperFunction for "+runtime.GOOS+"/"+runtime.GOARCH) ||
		len(res.responses) != 1 || res.responses[0] != `{"requeued":0}` {
		t.Fatalf("%v\n%s", err, res.out)
	}
}

// --local sets up the stand-ins as `hookline standins` does (which stores
// every sample under its stable id) and runs with events/env.local.json's
// environment pointed at them: what `make invoke` does without ENV_FILE.
func TestInvokeLocal(t *testing.T) {
	storetest.DynamoEndpoint(t)
	queuetest.MotoEndpoint(t)
	id := routeFunction(t, loadTemplate(t), "tomba")
	for i := range 2 {
		res, err := invoke(t, "--local", "--bootstrap", hostBootstrap(t, id), id, filepath.Join("..", "..", "events", "tomba", "save_lead.json"))
		if err != nil || len(res.responses) != 1 || strings.Contains(res.out, "note:") {
			t.Fatalf("run %d: %v\n%s", i+1, err, res.out)
		}
		if a := decodeAnswer(t, res.responses[0]); a.status != 200 || a.Status != "duplicate" || a.EventID != sampleEventID("tomba", "save_lead") {
			t.Fatalf("run %d: %+v", i+1, a)
		}
	}
	t.Setenv("HOOKLINE_TEST_MOTO", "")
	_, err := invoke(t, "--local", "TombaFunction", filepath.Join("..", "..", "events", "tomba", "save_lead.json"))
	if err == nil || !strings.Contains(err.Error(), "--local needs HOOKLINE_TEST_DYNAMODB and HOOKLINE_TEST_MOTO") {
		t.Fatalf("--local without the stand-ins: %v", err)
	}
}

func TestInvokeUsageErrors(t *testing.T) {
	event := filepath.Join("..", "..", "events", "tomba", "save_lead.json")
	notJSON := filepath.Join(t.TempDir(), "event.txt")
	if err := os.WriteFile(notJSON, []byte("save_lead"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no arguments", nil, "want a function's logical id"},
		{"no event", []string{"TombaFunction"}, "want a function's logical id"},
		{"unknown function", []string{"MailFunction", event}, "no function \"MailFunction\" (functions: JourneyBeeFunction, LeadronFunction,"},
		{"not a function", []string{"EventsTable", event}, "no function \"EventsTable\""},
		{"event is not JSON", []string{"TombaFunction", notJSON}, "is not JSON"},
		{"missing event", []string{"TombaFunction", "missing.json"}, "no such file"},
		{"env without =", []string{"--env", "HOOKLINE_TABLE", "TombaFunction", event}, "want KEY=VALUE"},
		{"bad env file", []string{"--env-file", notJSON, "TombaFunction", event}, "want {\"Parameters\""},
		{"no such template", []string{"--template", "missing.yaml", "TombaFunction", event}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := invokeCmd(context.Background(), append([]string{"--template", templatePath}, tt.args...), &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("invoke %q = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
}

// The function's environment: this shell's AWS_* and HOME, the template's
// values (a declared variable the shell sets takes the shell's value, as
// with sam), then --local's, the env file's (Parameters, then the
// function's section), then --env. A value known only once deployed is left
// out with a note; so is an env file variable the template does not declare.
func TestFunctionEnv(t *testing.T) {
	tmpl := loadTemplate(t)
	fn, err := tmpl.Function("TombaFunction")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_PROFILE", "dev")
	t.Setenv("AWS_LAMBDA_FUNCTION_NAME", "leaked")
	t.Setenv("HOOKLINE_TABLE", "from-the-shell")
	// Declared empty in the template: as with sam, the shell's value wins over the template's.
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://from-the-shell:8000")
	envFile := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(envFile, []byte(`{"Parameters": {"HOOKLINE_TABLE": "t1", "HOOKLINE_QUEUE_URL": "q1", "EXTRA": "p"},
		"TombaFunction": {"HOOKLINE_QUEUE_URL": "q2"}, "LeadronFunction": {"HOOKLINE_TABLE": "not-tomba"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	local := map[string]string{"AWS_REGION": "us-east-1", "HOOKLINE_TABLE": "local", "LOCAL_ONLY": "l"}
	env, notes, err := functionEnv(tmpl, fn, local, envFile, envFlags{"EXTRA=flag", "HOOKLINE_TOMBA_SECRET=tok"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		got[k] = v
	}
	want := map[string]string{
		"AWS_REGION": "us-east-1", "AWS_PROFILE": "dev", "LOCAL_ONLY": "l",
		"HOOKLINE_TABLE": "t1", "HOOKLINE_QUEUE_URL": "q2", "EXTRA": "flag", "HOOKLINE_TOMBA_SECRET": "tok",
		"AWS_ENDPOINT_URL_DYNAMODB": "http://from-the-shell:8000",
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %q (set: %v), want %q", k, g, ok, v)
		}
	}
	// The other providers' secrets are no business of the Tomba function.
	for _, k := range []string{"HOOKLINE_JOURNEYBEE_SECRET", "HOOKLINE_LEADRON_SECRET"} {
		if v, ok := got[k]; ok {
			t.Errorf("%s = %q in the Tomba function", k, v)
		}
	}
	if _, ok := got["AWS_LAMBDA_FUNCTION_NAME"]; ok {
		t.Error("AWS_LAMBDA_* of the shell reached the function")
	}
	// HOOKLINE_CONFIG names the template's SSM parameter: known once
	// deployed. EXTRA is not declared: sam would not set it.
	if _, ok := got["HOOKLINE_CONFIG"]; ok || len(notes) != 2 || !strings.HasPrefix(notes[0], "EXTRA ("+envFile+`, "Parameters") is not declared for TombaFunction`) ||
		!strings.HasPrefix(notes[1], "HOOKLINE_CONFIG is left unset") {
		t.Errorf("HOOKLINE_CONFIG %q, notes %q", got["HOOKLINE_CONFIG"], notes)
	}
	if !sort.StringsAreSorted(env) {
		t.Error("environment not sorted")
	}
}

// uniqueDelivery is a sample delivery of prov made unique by n (a new
// idempotency key), signed with lambdaSecrets.
func uniqueDelivery(t testing.TB, prov, event, run string, n int) []byte {
	t.Helper()
	raw, err := samples.Body(prov, event)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["id"]; ok {
		body["id"] = fmt.Sprintf("evt_bench_%s_%d", run, n)
	} else {
		body["hookline_bench"] = fmt.Sprintf("%s-%d", run, n)
	}
	raw, _ = json.Marshal(body)
	hdr, err := samples.Headers(prov, event, raw, lambdaSecrets, samples.DefaultToken(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(apiGatewayEvent(prov, hdr, raw))
	return data
}

// BenchmarkLambda measures every function of template.yaml: the size in
// bytes of its real linux/arm64 bootstrap, the init duration under the emulator
// (process start to the first poll; median of 11 cold starts), the warm
// invoke duration (the emulator's Duration: event handed over to answer
// received) and the peak RSS after b.N warm invocations, against DynamoDB
// Local and moto. Init, duration and RSS are of the host build.
func BenchmarkLambda(b *testing.B) {
	tmpl := loadTemplate(b)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	for _, fn := range tmpl.Functions() {
		b.Run(fn.LogicalID, func(b *testing.B) {
			// A fresh table and queue: moto slows down as a queue grows.
			si := newStandIns(b)
			var envFile map[string]map[string]string
			data, _ := os.ReadFile(si.envFile)
			_ = json.Unmarshal(data, &envFile)
			var env []string
			for k, v := range envFile["Parameters"] {
				env = append(env, k+"="+v)
			}
			next, ok := benchEvents(b, tmpl, fn.LogicalID, env, run)
			if !ok {
				b.Skipf("no events for %s yet", fn.LogicalID)
			}
			arm, err := buildBootstrap(context.Background(), "../..", fn, b.TempDir(), "linux", "arm64")
			if err != nil {
				b.Fatal(err)
			}
			st, _ := os.Stat(arm)

			lf := lambdaemu.Function{Name: fn.LogicalID, Bootstrap: hostBootstrap(b, fn.LogicalID), Env: env,
				MemoryMB: fn.MemoryMB(), Timeout: fn.Timeout(), LogFormat: fn.LogFormat(), LogLevel: fn.ApplicationLogLevel()}
			var inits []time.Duration
			for i := 0; i < 11; i++ {
				rt, err := lambdaemu.Start(context.Background(), lf)
				if err != nil {
					b.Fatal(err)
				}
				inits = append(inits, rt.InitDuration())
				_, _ = rt.Close()
			}
			slices.Sort(inits)

			rt, err := lambdaemu.Start(context.Background(), lf)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := rt.Invoke(context.Background(), next(-1)); err != nil { // the first invocation warms the connections
				b.Fatal(err)
			}
			var total time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				res, err := rt.Invoke(context.Background(), next(i))
				if err != nil || res.Error {
					b.Fatalf("invoke: %v %s", err, res.Payload)
				}
				total += res.Duration
			}
			b.StopTimer()
			rss, _ := rt.Close()
			// After the loop: ResetTimer drops metrics reported before it.
			b.ReportMetric(float64(st.Size()), "arm64-bytes") // the budget is 12,000,000 (shared/template checks it)
			b.ReportMetric(float64(inits[len(inits)/2].Microseconds())/1000, "init-ms")
			b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "warm-ms")
			b.ReportMetric(float64(rss)/(1<<20), "rss-MiB")
		})
	}
}

// benchEvents returns the event generator for a function: a new delivery
// each time for the ingest functions, a scheduled event for the sweeper,
// a batch of 10 events accepted beforehand for the processor.
func benchEvents(b *testing.B, tmpl *template.Template, id string, env []string, run string) (func(i int) []byte, bool) {
	for _, prov := range wire.Providers {
		if routeFunction(b, tmpl, prov) == id {
			event := samples.Events(prov)[0]
			return func(i int) []byte { return uniqueDelivery(b, prov, event, run, i) }, true
		}
	}
	switch id {
	case "SweeperFunction":
		return func(int) []byte { return []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`) }, true
	case "ProcessorFunction":
		if _, err := os.Stat("../../functions/processor/main.go"); err != nil {
			return nil, false
		}
		// Accept events through the Leadron function, then hand them out in batches of 10.
		leadron := routeFunction(b, tmpl, "leadron")
		rt, err := lambdaemu.Start(context.Background(), lambdaemu.Function{Name: leadron, Bootstrap: hostBootstrap(b, leadron), Env: env, Timeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close()
		var batches [][]byte
		for i := 0; i < b.N+1; i++ {
			var records []events.SQSMessage
			for j := 0; j < 10; j++ {
				res, err := rt.Invoke(context.Background(), uniqueDelivery(b, "leadron", "lead.created", run+"p", i*10+j))
				if err != nil {
					b.Fatal(err)
				}
				a := decodeAnswer(b, string(res.Payload))
				var one events.SQSEvent
				_ = json.Unmarshal(sqsEvent("hookline-bench", a.EventID, "leadron.lead.created"), &one)
				records = append(records, one.Records...)
			}
			data, _ := json.Marshal(events.SQSEvent{Records: records})
			batches = append(batches, data)
		}
		return func(i int) []byte { return batches[i+1] }, true
	}
	return nil, false
}

// resignEvent re-signs an API Gateway event to a provider's route whose
// credentials were made with from, with to; any other event is returned as
// is. Only the headers change.
func resignEvent(event []byte, from, to samples.Secrets) ([]byte, bool, error) {
	var e struct {
		RawPath         string            `json:"rawPath"`
		Headers         map[string]string `json:"headers"`
		Body            string            `json:"body"`
		IsBase64Encoded bool              `json:"isBase64Encoded"`
	}
	if json.Unmarshal(event, &e) != nil {
		return event, false, nil
	}
	prov, ok := strings.CutPrefix(e.RawPath, "/webhooks/")
	if !ok || !slices.Contains(wire.Providers, prov) {
		return event, false, nil
	}
	body := []byte(e.Body)
	if e.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(e.Body); err != nil {
			return event, false, nil
		}
	}
	hdr := http.Header{}
	for k, v := range e.Headers {
		hdr.Set(k, v)
	}
	out, ok, err := samples.Resign(prov, hdr, body, from, to)
	if err != nil || !ok {
		return event, false, err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(event, &doc); err != nil {
		return event, false, nil
	}
	headers := map[string]string{} // as API Gateway gives them: lowercase names
	for k := range out {
		headers[strings.ToLower(k)] = out.Get(k)
	}
	if doc["headers"], err = json.Marshal(headers); err != nil {
		return event, false, err
	}
	data, err := json.Marshal(doc)
	return data, err == nil, err
}

// perType says whether any metric has the event type as a dimension (it is a
// property of the line, not a dimension: see shared/metrics).
func perType(m map[string]float64) bool {
	for k := range m {
		if strings.Contains(k, "event_type=") {
			return true
		}
	}
	return false
}
