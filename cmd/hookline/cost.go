package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/costmeter"
	"github.com/hookline/hookline/shared/lambdaemu"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/template"
)

const costDoc = `For a JourneyBee lead_created and a Leadron lead.created delivery, each
delivered to one HTTP destination (a local server), it runs the real Lambda
bootstraps (built for this machine like "hookline invoke") under the Lambda
emulator against DynamoDB Local and moto, each behind a recording proxy: the
proxy in front of DynamoDB Local asks every call for its
ReturnConsumedCapacity (TOTAL) and sums it; the one in front of moto counts
the SQS requests. The table, queues and config parameter are made as
"hookline standins" makes its own, under a fresh name, and the functions get
the environment "hookline invoke --local" gives them (the development
secrets, accepted because every endpoint is a local stand-in). The meter
plays the SQS event source: it receives the message the ingest function
sent, invokes the processor with it and deletes it. It counts the Lambda
invocations and their billed milliseconds (the emulator's durations, rounded
up to 1 ms; memory from template.yaml), one API Gateway request per
delivery, and the CloudWatch Logs bytes: what the functions write to stdout
and stderr, the START/END/REPORT lines Lambda adds (unless the template's
SystemLogLevel is WARN), and the API access-log line of the template's
format. Prices: us-east-1 list prices (a dated table
in shared/costmeter); the output gives each part's share.

Needs HOOKLINE_TEST_DYNAMODB and HOOKLINE_TEST_MOTO:
  eval "$(.ci/dynamodb-local start)"; eval "$(.ci/moto start)"
`

// costKind is one kind of event the meter sends.
type costKind struct{ prov, event string }

// costKinds are the two examples.
var costKinds = []costKind{{"journeybee", "lead_created"}, {"leadron", "lead.created"}}

type costFlags struct {
	template *string
	events   *int
}

func newCostFlags() (*flag.FlagSet, costFlags) {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	return fs, costFlags{
		template: fs.String("template", "template.yaml", "the SAM template `file`"),
		events:   fs.Int("events", 10, "accepted `events` to meter per kind (after one to warm up), processed in batches of the template's BatchSize"),
	}
}

// costCmd is `hookline cost`.
func costCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newCostFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	tmplFile, n := f.template, f.events
	if len(args) != 0 || *n < 1 {
		return errors.New("cost: no arguments; --events at least 1 (hookline cost -h)")
	}
	tmpl, err := template.Load(*tmplFile)
	if err != nil {
		return err
	}
	reports, err := meterCost(ctx, costOptions{Template: tmpl, Root: filepath.Dir(*tmplFile), Events: *n, Kinds: costKinds})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "## Cost per event on AWS (hookline cost, %d events each)\n\n", *n)
	for _, r := range reports {
		r.Markdown(stdout)
	}
	costmeter.PriceTable(stdout)
	fmt.Fprintln(stdout, "Not counted: cold starts (init, config and secret reads), the sweeper's schedule, the event source's idle")
	fmt.Fprintln(stdout, "polling, X-Ray traces, storage, data transfer. The event source is metered at the template's BatchSize: the")
	fmt.Fprintln(stdout, "processor is invoked once per batch of messages, received (10 a request) and deleted (one DeleteMessageBatch)")
	fmt.Fprintln(stdout, "together. Durations are this machine's against local stand-ins.")
	fmt.Fprintln(stdout)
	for _, r := range reports {
		fmt.Fprintln(stdout, r.Summary())
	}
	return nil
}

// costOptions is what meterCost runs.
type costOptions struct {
	Template   *template.Template
	Root       string            // the directory of template.yaml, to build bootstraps
	Bootstraps map[string]string // logical id → bootstrap already built for this machine
	Events     int               // measured per kind, after one warm-up event
	Kinds      []costKind
}

// meterCost meters each kind of event (see costDoc).
func meterCost(ctx context.Context, o costOptions) ([]costmeter.Report, error) {
	ddb, moto := os.Getenv("HOOKLINE_TEST_DYNAMODB"), os.Getenv("HOOKLINE_TEST_MOTO")
	if ddb == "" || moto == "" {
		return nil, errors.New(`cost: needs HOOKLINE_TEST_DYNAMODB and HOOKLINE_TEST_MOTO: eval "$(.ci/dynamodb-local start)"; eval "$(.ci/moto start)"`)
	}
	rec := &costmeter.Recorder{}
	rec.SetPhase("setup")
	ddbProxy, err := costmeter.Proxy(ddb, rec)
	if err != nil {
		return nil, err
	}
	motoProxy, err := costmeter.Proxy(moto, rec)
	if err != nil {
		return nil, err
	}
	ddbURL, stopDDB, err := serveLocal(ddbProxy)
	if err != nil {
		return nil, err
	}
	defer stopDDB()
	motoURL, stopMoto, err := serveLocal(motoProxy)
	if err != nil {
		return nil, err
	}
	defer stopMoto()

	// The HTTP destination: answers 204 and counts what it received.
	var received atomic.Int64
	destURL, stopDest, err := serveLocal(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Header.Get("webhook-id") != "" && r.Header.Get("webhook-signature") != "" {
			received.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	if err != nil {
		return nil, err
	}
	defer stopDest()

	dir, err := os.MkdirTemp("", "hookline-cost-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The stand-ins as `hookline standins` makes them, under a fresh name and
	// with the meter's config; made directly, not metered.
	name := "hookline-cost-" + strings.ToLower(ulid.Make().String())
	set := standInSet{name: name, configParam: "/hookline/cost/" + name + "/config", config: costConfig(destURL)}
	if _, _, err := makeStandIns(ctx, ddb, moto, set); err != nil {
		return nil, fmt.Errorf("cost: %w", err)
	}
	queueURL := set.queueURL(motoURL)
	esm := awssqs.New(awssqs.Options{Region: localRegion, BaseEndpoint: &motoURL,
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})

	// One warm process per function, as Lambda keeps them between events.
	fns := map[string]*costFunction{}
	ids := []string{"ProcessorFunction"}
	for _, k := range o.Kinds {
		id, ok := ingestFunction[k.prov]
		if !ok {
			return nil, fmt.Errorf("cost: no function for provider %q", k.prov)
		}
		ids = append(ids, id)
	}
	defer func() {
		for _, f := range fns {
			f.close()
		}
	}()
	for _, id := range ids {
		if fns[id] != nil {
			continue
		}
		// The functions reach the stand-ins through the proxies, which are on
		// loopback too: they accept the development secrets there.
		f, err := startCostFunction(ctx, o, id, set.functionEnv(id, ddbURL, motoURL), dir)
		if err != nil {
			return nil, err
		}
		fns[id] = f
	}
	access, err := accessLogFormat(o.Template)
	if err != nil {
		return nil, err
	}
	batchSize, err := queueBatchSize(o.Template)
	if err != nil {
		return nil, err
	}

	var reports []costmeter.Report
	for _, k := range o.Kinds {
		m := &costRun{kind: k, ingest: fns[ingestFunction[k.prov]], processor: fns["ProcessorFunction"], rec: rec, esm: esm,
			queueURL: queueURL, received: &received, accessFormat: access}
		if _, err := m.batch(ctx, 0, 1); err != nil { // warms the connections; not counted
			return nil, fmt.Errorf("cost: %s.%s warm-up: %w", k.prov, k.event, err)
		}
		rec.Reset()
		r := costmeter.Report{Event: k.prov + "." + k.event, Events: o.Events, Batch: batchSize}
		before := received.Load()
		for i := 1; i <= o.Events; i += batchSize {
			ev, err := m.batch(ctx, i, min(batchSize, o.Events-i+1))
			if err != nil {
				return nil, fmt.Errorf("cost: %s.%s: %w", k.prov, k.event, err)
			}
			r.BodyBytes = ev.bodyBytes
			r.Lambda = append(r.Lambda, ev.invocations...)
			r.APIRequests += ev.apiRequests
			r.AccessLogBytes += ev.accessLogBytes
		}
		r.Calls = rec.Calls()
		r.Destination = int(received.Load() - before)
		reports = append(reports, r)
	}
	// Lambda's REPORT line carries the peak memory: known once the process ends.
	for _, f := range fns {
		f.close()
	}
	for i := range reports {
		for j, inv := range reports[i].Lambda {
			if fns[inv.Function].systemLogs {
				reports[i].Lambda[j].SystemLogBytes = len(systemLogLines(inv, fns[inv.Function].peakMB))
			}
		}
	}
	return reports, nil
}

// costConfig is the functions' config: every provider with the secret of
// its environment variable, every event to one HTTP destination.
func costConfig(destURL string) string {
	return `# hookline cost
sources:
  journeybee: { secrets: ["${HOOKLINE_JOURNEYBEE_SECRET}"] }
  leadron:    { secrets: ["${HOOKLINE_LEADRON_SECRET}"] }
  tomba:      { header: X-Tomba-Token, secrets: ["${HOOKLINE_TOMBA_SECRET}"] }
destinations:
  - name: crm
    type: http
    url: ` + destURL + `/hooks
    secret: whsec_aG9va2xpbmUtY29zdC1tZXRlci1zZWNyZXQ=
    format: cloudevents
    events: ["*"]
`
}

// serveLocal serves h on a free port of 127.0.0.1.
func serveLocal(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// costFunction is one started function and the file its output goes to.
type costFunction struct {
	id       string
	memoryMB int
	rt       *lambdaemu.Runtime
	log      *os.File
	peakMB   int
	closed   bool
	// systemLogs: Lambda sends its START and REPORT lines (the template's
	// SystemLogLevel is INFO or DEBUG, or unset); with WARN it does not:
	// https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
	systemLogs bool
}

func startCostFunction(ctx context.Context, o costOptions, id string, base map[string]string, dir string) (*costFunction, error) {
	fn, err := o.Template.Function(id)
	if err != nil {
		return nil, err
	}
	env, _, err := functionEnv(o.Template, fn, base, "", nil)
	if err != nil {
		return nil, err
	}
	bin := o.Bootstraps[id]
	if bin == "" {
		if bin, err = buildBootstrap(ctx, o.Root, fn, filepath.Join(dir, id), runtime.GOOS, runtime.GOARCH); err != nil {
			return nil, err
		}
	}
	log, err := os.Create(filepath.Join(dir, id+".log"))
	if err != nil {
		return nil, err
	}
	rt, err := lambdaemu.Start(ctx, lambdaemu.Function{Name: id, Bootstrap: bin, Env: env, MemoryMB: fn.MemoryMB(),
		Timeout: fn.Timeout(), Stdout: log, Stderr: log})
	if err != nil {
		log.Close()
		data, _ := os.ReadFile(log.Name())
		return nil, fmt.Errorf("cost: start %s: %w\n%s", id, err, data)
	}
	return &costFunction{id: id, memoryMB: fn.MemoryMB(), rt: rt, log: log, systemLogs: fn.SystemLogLevel() != "WARN"}, nil
}

// invoke runs one invocation and measures it.
func (f *costFunction) invoke(ctx context.Context, phase string, event []byte) (lambdaemu.Result, costmeter.Invocation, error) {
	before := f.logSize()
	res, err := f.rt.Invoke(ctx, event)
	if err != nil {
		return res, costmeter.Invocation{}, err
	}
	if res.Error {
		return res, costmeter.Invocation{}, fmt.Errorf("%s returned an error: %s", f.id, res.Payload)
	}
	return res, costmeter.Invocation{Phase: phase, Function: f.id, MemoryMB: f.memoryMB,
		Duration: res.Duration, Billed: res.BilledDuration(), LogBytes: int(f.logSize() - before)}, nil
}

func (f *costFunction) logSize() int64 {
	st, err := f.log.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

// tail is the end of the function's output, for errors.
func (f *costFunction) tail() string {
	data, _ := os.ReadFile(f.log.Name())
	return string(data[max(0, len(data)-2000):])
}

func (f *costFunction) close() {
	if f.closed {
		return
	}
	f.closed = true
	rss, _ := f.rt.Close()
	f.peakMB = int((rss + (1 << 20) - 1) >> 20)
	f.log.Close()
}

// systemLogLines are the lines Lambda writes to the function's log stream
// for one invocation (text format).
func systemLogLines(i costmeter.Invocation, peakMB int) string {
	id := "00000000-0000-4000-a000-000000000000" // a request id's length
	return fmt.Sprintf("START RequestId: %s Version: $LATEST\nEND RequestId: %s\n"+
		"REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB\t\n",
		id, id, id, float64(i.Duration.Microseconds())/1000, i.Billed.Milliseconds(), i.MemoryMB, peakMB)
}

// costRun meters events of one kind.
type costRun struct {
	kind              costKind
	ingest, processor *costFunction
	rec               *costmeter.Recorder
	esm               *awssqs.Client
	queueURL          string
	received          *atomic.Int64
	accessFormat      string
}

// meteredEvent is what a batch of events did outside the proxies.
type meteredEvent struct {
	bodyBytes      int
	invocations    []costmeter.Invocation
	apiRequests    int
	accessLogBytes int
}

// batch sends n unique deliveries of the kind, numbered from first, each
// through the ingest function; then, as the SQS event source does with the
// template's BatchSize, receives their messages (up to 10 a request),
// invokes the processor once with them all and deletes them with one
// DeleteMessageBatch.
func (m *costRun) batch(ctx context.Context, first, n int) (meteredEvent, error) {
	var out meteredEvent
	want := map[string]bool{}
	for i := first; i < first+n; i++ {
		id, err := m.ingestOne(ctx, i, &out)
		if err != nil {
			return out, err
		}
		want[id] = true
	}

	m.rec.SetPhase("event source")
	var msgs []sqstypes.Message
	for tries := 0; len(msgs) < n && tries < 20; tries++ {
		recv, err := m.esm.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{QueueUrl: &m.queueURL, MaxNumberOfMessages: int32(min(10, n-len(msgs))),
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			return out, fmt.Errorf("receive: %w", err)
		}
		for _, msg := range recv.Messages {
			if !want[aws.ToString(msg.Body)] {
				return out, fmt.Errorf("received a message for %s, not one of this batch", aws.ToString(msg.Body))
			}
			msgs = append(msgs, msg)
		}
	}
	if len(msgs) != n {
		return out, fmt.Errorf("received %d messages, want %d", len(msgs), n)
	}
	records := make([]events.SQSMessage, len(msgs))
	for i, msg := range msgs {
		records[i] = lambdaSQSMessage(msg, m.queueURL)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: records})

	m.rec.SetPhase("processor")
	before := m.received.Load()
	res, inv, err := m.processor.invoke(ctx, "processor", batch)
	if err != nil {
		return out, fmt.Errorf("%w\n%s", err, m.processor.tail())
	}
	out.invocations = append(out.invocations, inv)
	var done events.SQSEventResponse
	if json.Unmarshal(res.Payload, &done) != nil || len(done.BatchItemFailures) != 0 || m.received.Load() != before+int64(n) {
		return out, fmt.Errorf("processor answered %s, destination got %d requests for %d events\n%s", res.Payload, m.received.Load()-before, n, m.processor.tail())
	}

	m.rec.SetPhase("event source")
	entries := make([]sqstypes.DeleteMessageBatchRequestEntry, len(msgs))
	for i, msg := range msgs {
		entries[i] = sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle}
	}
	del, err := m.esm.DeleteMessageBatch(ctx, &awssqs.DeleteMessageBatchInput{QueueUrl: &m.queueURL, Entries: entries})
	if err != nil {
		return out, fmt.Errorf("delete: %w", err)
	}
	if len(del.Failed) != 0 {
		return out, fmt.Errorf("delete: %d failed", len(del.Failed))
	}
	return out, nil
}

// ingestOne sends the n-th unique delivery of the kind through the ingest
// function and returns the accepted event's id.
func (m *costRun) ingestOne(ctx context.Context, n int, out *meteredEvent) (string, error) {
	body, err := samples.Body(m.kind.prov, m.kind.event)
	if err != nil {
		return "", err
	}
	now := time.Now()
	tok := samples.DefaultToken(now)
	// A new event each time without changing the body's size: Leadron's
	// envelope id, JourneyBee's company (part of its idempotency key).
	tok.CompanyUUID = fmt.Sprintf("company_12345678-1234-5678-9012-%012d", n)
	if m.kind.prov == "leadron" {
		body = []byte(strings.Replace(string(body), `"id":"evt_01JX3K`, fmt.Sprintf(`"id":"evt_%06d`, n), 1))
	}
	hdr, err := samples.Headers(m.kind.prov, m.kind.event, body, secretsOf(config.Development()), tok)
	if err != nil {
		return "", err
	}
	out.bodyBytes = len(body)
	req := apiGatewayEvent(m.kind.prov, hdr, body)
	req.RequestContext.RequestID = apiRequestID()
	req.RequestContext.TimeEpoch = now.UnixMilli()
	event, _ := json.Marshal(req)

	m.rec.SetPhase("ingest")
	res, inv, err := m.ingest.invoke(ctx, "ingest", event)
	if err != nil {
		return "", fmt.Errorf("%w\n%s", err, m.ingest.tail())
	}
	out.invocations = append(out.invocations, inv)
	var answer events.APIGatewayV2HTTPResponse
	var accepted struct {
		Status  string `json:"status"`
		EventID string `json:"event_id"`
	}
	if json.Unmarshal(res.Payload, &answer) != nil || json.Unmarshal([]byte(answer.Body), &accepted) != nil ||
		answer.StatusCode != http.StatusOK || accepted.Status != "accepted" {
		return "", fmt.Errorf("ingest answered %s\n%s", res.Payload, m.ingest.tail())
	}
	out.apiRequests++
	out.accessLogBytes += len(accessLogLine(m.accessFormat, req, answer, res.Duration))
	return accepted.EventID, nil
}

// queueBatchSize is the BatchSize of the processor's SQS event source in
// template.yaml (SAM's default, 10, if it does not say).
func queueBatchSize(t *template.Template) (int, error) {
	fn, err := t.Function("ProcessorFunction")
	if err != nil {
		return 0, err
	}
	for _, e := range fn.Events() {
		if e.Type != "SQS" {
			continue
		}
		switch v := e.Properties["BatchSize"].(type) {
		case nil:
			return 10, nil
		case int:
			return v, nil
		case float64:
			return int(v), nil
		default:
			return 0, fmt.Errorf("cost: ProcessorFunction's SQS BatchSize is %v", v)
		}
	}
	return 0, errors.New("cost: ProcessorFunction has no SQS event source in template.yaml")
}

// lambdaSQSMessage is a received message as the SQS event source hands it
// to a function.
func lambdaSQSMessage(m sqstypes.Message, queueURL string) events.SQSMessage {
	out := events.SQSMessage{
		MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
		Md5OfBody: aws.ToString(m.MD5OfBody), Md5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:" + localRegion + ":" + localAccount + ":" + filepath.Base(queueURL),
		AWSRegion: localRegion,
	}
	for k, v := range m.MessageAttributes {
		out.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
	}
	return out
}

// apiRequestID is shaped like API Gateway's request ids ("Uj6ylg_GIAMEVdw=").
func apiRequestID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b) + "="
}

// accessLogFormat is the HTTP API's access-log format in template.yaml.
func accessLogFormat(t *template.Template) (string, error) {
	for _, r := range t.Resources {
		if r.Type != "AWS::Serverless::HttpApi" {
			continue
		}
		settings, _ := r.Properties["AccessLogSettings"].(map[string]any)
		if f, ok := settings["Format"].(string); ok {
			return f, nil
		}
	}
	return "", errors.New("cost: template.yaml has no HttpApi with AccessLogSettings.Format")
}

var contextVar = regexp.MustCompile(`\$context\.[A-Za-z.]+`)

// accessLogLine is the access-log line API Gateway would write for one
// delivery: the format's $context variables filled from the request, the
// answer and the function's duration ("-" for what is empty, as API
// Gateway writes it).
func accessLogLine(format string, req events.APIGatewayV2HTTPRequest, answer events.APIGatewayV2HTTPResponse, d time.Duration) string {
	ms := strconv.FormatInt(d.Milliseconds()+1, 10)
	vals := map[string]string{
		"$context.requestId":          req.RequestContext.RequestID,
		"$context.requestTimeEpoch":   strconv.FormatInt(req.RequestContext.TimeEpoch, 10),
		"$context.identity.sourceIp":  req.RequestContext.HTTP.SourceIP,
		"$context.identity.userAgent": req.RequestContext.HTTP.UserAgent,
		"$context.routeKey":           req.RouteKey,
		"$context.status":             strconv.Itoa(answer.StatusCode),
		"$context.protocol":           req.RequestContext.HTTP.Protocol,
		"$context.requestLength":      strconv.Itoa(len(req.Body)),
		"$context.responseLength":     strconv.Itoa(len(answer.Body)),
		"$context.responseLatency":    ms,
		"$context.integrationStatus":  strconv.Itoa(http.StatusOK),
		"$context.integrationLatency": ms,
	}
	return contextVar.ReplaceAllStringFunc(format, func(v string) string {
		if s := vals[v]; s != "" {
			return s
		}
		return "-"
	}) + "\n"
}
