package deliver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store"
)

// awsEventBridgeClient is an EventBridge client for moto_server (skips or
// fails like queuetest.MotoEndpoint when it is not running).
func awsEventBridgeClient(t *testing.T) *eventbridge.Client {
	t.Helper()
	return eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(queuetest.MotoEndpoint(t)),
		Credentials:  awsTestCreds,
	})
}

// awsEventBridgeAt is awsSQSAt for EventBridge.
func awsEventBridgeAt(endpoint string) *eventbridge.Client {
	return eventbridge.New(eventbridge.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  awsTestCreds,
		Retryer:      aws.NopRetryer{},
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(2 * time.Second),
	})
}

// ebBus is an event bus created for one test.
type ebBus struct {
	name string
	arn  string
}

// ebNewBus creates a uniquely named event bus, deleted when the test ends.
func ebNewBus(t *testing.T, client *eventbridge.Client) ebBus {
	t.Helper()
	name := "hl-bus-" + awsRandom(t)
	out, err := client.CreateEventBus(t.Context(), &eventbridge.CreateEventBusInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateEventBus: %v", err)
	}
	t.Cleanup(func() {
		if _, err := client.DeleteEventBus(context.Background(), &eventbridge.DeleteEventBusInput{Name: aws.String(name)}); err != nil {
			t.Logf("DeleteEventBus %s: %v", name, err)
		}
	})
	return ebBus{name: name, arn: aws.ToString(out.EventBusArn)}
}

// ebRouteToQueue puts a rule on bus (a name, "" for the default bus) that
// sends the event with hookline id eventID to a new SQS queue, and returns
// the queue's URL. Matching on detail.id keeps tests that share the default
// bus apart.
func ebRouteToQueue(t *testing.T, eb *eventbridge.Client, sqsc *sqs.Client, bus, eventID string) string {
	t.Helper()
	ctx := t.Context()
	url, _ := queuetest.NewSQSQueue(t, sqsc, false)
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	pattern, err := json.Marshal(map[string]any{"detail": map[string]any{"id": []string{eventID}}})
	if err != nil {
		t.Fatal(err)
	}
	rule := "hl-rule-" + awsRandom(t)
	var busName *string
	if bus != "" {
		busName = aws.String(bus)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String(rule), EventBusName: busName, EventPattern: aws.String(string(pattern)),
	}); err != nil {
		t.Fatalf("PutRule: %v", err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String(rule), EventBusName: busName,
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}},
	}); err != nil {
		t.Fatalf("PutTargets: %v", err)
	}
	t.Cleanup(func() { // before the bus's own cleanup, which was registered earlier
		ctx := context.Background()
		if _, err := eb.RemoveTargets(ctx, &eventbridge.RemoveTargetsInput{Rule: aws.String(rule), EventBusName: busName, Ids: []string{"queue"}}); err != nil {
			t.Logf("RemoveTargets %s: %v", rule, err)
		}
		if _, err := eb.DeleteRule(ctx, &eventbridge.DeleteRuleInput{Name: aws.String(rule), EventBusName: busName}); err != nil {
			t.Logf("DeleteRule %s: %v", rule, err)
		}
	})
	return url
}

// ebEnvelope is the EventBridge event a rule sends to an SQS target.
type ebEnvelope struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Time       string          `json:"time"`
	Detail     json.RawMessage `json:"detail"`
}

func TestEventBridgeDeliversToRuleTarget(t *testing.T) {
	eb := awsEventBridgeClient(t)
	sqsc := queuetest.SQSClient(t)
	custom := ebNewBus(t, eb)

	leadron := awsTestEvent("leadron", "leadron.lead.created", "acct_1", `{"id":"evt_1","type":"lead.created","data":{"email":"a@example.com","n":1.50}}`)
	noOccurred := awsTestEvent("tomba", "tomba.save_lead", "", `{"email":"b@example.com"}`)
	noOccurred.OccurredAt = time.Time{}

	tests := []struct {
		name     string
		bus      string // the destination's event_bus: a name, an ARN, or "" (unset)
		ruleBus  string // where the test's rule lives: a bus name, "" for default
		format   string
		ev       store.Event
		wantData []byte
		wantTime time.Time // the entry's Time
	}{
		{"custom bus, cloudevents", custom.name, custom.name, "cloudevents", leadron, leadron.Raw, leadron.OccurredAt},
		{"custom bus by ARN, normalized", custom.arn, custom.name, "normalized", leadron, leadron.Normalized, leadron.OccurredAt},
		{"default bus named", "default", "", "cloudevents", leadron, leadron.Raw, leadron.OccurredAt},
		// format raw still sends the CloudEvent, with data = the original body.
		{"unset bus is the default bus, no occurred-at", "", "", "raw", noOccurred, noOccurred.Raw, noOccurred.ReceivedAt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev := tc.ev
			ev.ID = queuetest.EventID() // each case its own rule and queue
			queueURL := ebRouteToQueue(t, eb, sqsc, tc.ruleBus, ev.ID)
			d := deliver.NewEventBridge(eb, config.Destination{Name: "bus", Type: "eventbridge", EventBus: tc.bus, Format: tc.format})
			if d.Name() != "bus" {
				t.Errorf("Name() = %q", d.Name())
			}

			if got := d.Deliver(t.Context(), ev, 1); got != (deliver.Outcome{OK: true}) {
				t.Fatalf("Deliver = %+v, want OK", got)
			}

			msgs := awsReceiveAll(t, sqsc, queueURL, 1)
			if len(msgs) != 1 {
				t.Fatalf("the rule's queue got %d messages, want 1", len(msgs))
			}
			var env ebEnvelope
			if err := json.Unmarshal([]byte(aws.ToString(msgs[0].Body)), &env); err != nil {
				t.Fatalf("target message is not an EventBridge event: %v", err)
			}
			if env.Source != "hookline."+ev.Provider || env.DetailType != ev.Type {
				t.Errorf("source, detail-type = %q, %q; want %q, %q", env.Source, env.DetailType, "hookline."+ev.Provider, ev.Type)
			}
			if at, err := time.Parse(time.RFC3339, env.Time); err != nil || !at.Equal(tc.wantTime) {
				t.Errorf("time = %q (%v), want %s", env.Time, err, tc.wantTime.Format(time.RFC3339))
			}
			awsCheckCloudEvent(t, env.Detail, ev, tc.wantData)
		})
	}
}

func TestEventBridgeMissingBusIsPermanent(t *testing.T) {
	eb := awsEventBridgeClient(t)
	// moto answers a PutEvents to a bus that does not exist with the whole
	// call failing: 400 ResourceNotFoundException ("Event bus … does not
	// exist."), as AWS does. Retrying cannot create the bus: permanent.
	d := deliver.NewEventBridge(eb, config.Destination{Name: "bus", Type: "eventbridge", EventBus: "hl-missing-" + awsRandom(t)})
	got := d.Deliver(t.Context(), awsTestEvent("leadron", "leadron.lead.created", "", `{"id":"evt_1"}`), 1)
	want := deliver.Outcome{Permanent: true, StatusCode: 400, Class: "not_found"}
	if !strings.Contains(got.Response, "does not exist") {
		t.Errorf("Response %q does not carry EventBridge's message", got.Response)
	}
	if got.Response = ""; got != want {
		t.Errorf("Deliver = %+v, want %+v", got, want)
	}
}

// ebEventOfEntrySize returns an event whose PutEvents entry is exactly size
// bytes as EventBridge counts them (14 for Time, plus Source, DetailType and
// Detail), computed here independently of the destination.
func ebEventOfEntrySize(t *testing.T, size int) store.Event {
	t.Helper()
	ev := awsTestEvent("leadron", "leadron.lead.created", "acct_1", "")
	entry := func(pad int) int {
		ev.Raw = []byte(`{"pad":"` + strings.Repeat("a", pad) + `"}`)
		detail, err := deliver.NewCloudEvent(ev, false).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return 14 + len("hookline.leadron") + len(ev.Type) + len(detail)
	}
	pad := size - entry(0)
	if got := entry(pad); got != size {
		t.Fatalf("built an entry of %d bytes, want %d", got, size)
	}
	return ev
}

func TestEventBridgeSizeLimit(t *testing.T) {
	eb := awsEventBridgeClient(t)
	bus := ebNewBus(t, eb) // no rules: nothing is forwarded
	tests := []struct {
		name   string
		client *eventbridge.Client
		size   int
		want   deliver.Outcome
	}{
		{"at the limit is sent", eb, deliver.MaxEventBridgeEntryBytes, deliver.Outcome{OK: true}},
		// Refused before any call: this client's endpoint is a closed port,
		// so a call would come back as "connection".
		{"one byte over is too_large", awsEventBridgeAt(awsClosedEndpoint(t)), deliver.MaxEventBridgeEntryBytes + 1, deliver.Outcome{Permanent: true, Class: "too_large"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := deliver.NewEventBridge(tc.client, config.Destination{Name: "bus", Type: "eventbridge", EventBus: bus.name})
			if got := d.Deliver(t.Context(), ebEventOfEntrySize(t, tc.size), 1); got != tc.want {
				t.Errorf("Deliver(entry of %d bytes) = %+v, want %+v", tc.size, got, tc.want)
			}
		})
	}
}

func TestEventBridgeBadStoredEventIsPermanent(t *testing.T) {
	ev := awsTestEvent("leadron", "leadron.lead.created", "", `{"truncated":`)
	d := deliver.NewEventBridge(awsEventBridgeAt(awsClosedEndpoint(t)), config.Destination{Name: "bus", EventBus: "default"})
	if got, want := d.Deliver(t.Context(), ev, 1), (deliver.Outcome{Permanent: true, Class: "bad_event"}); got != want {
		t.Errorf("Deliver(corrupt Raw) = %+v, want %+v", got, want)
	}
}

// TestEventBridgeNoAnswer covers calls that never get an answer; no moto
// needed.
func TestEventBridgeNoAnswer(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		endpoint string
		timeout  time.Duration
		ctx      context.Context
		want     deliver.Outcome
	}{
		{"closed port", awsClosedEndpoint(t), 0, context.Background(), deliver.Outcome{Class: "connection"}},
		{"destination timeout", awsHangingEndpoint(t), 200 * time.Millisecond, context.Background(), deliver.Outcome{Class: "timeout"}},
		{"HTTP client timeout", awsHangingEndpoint(t), 0, context.Background(), deliver.Outcome{Class: "timeout"}},
		{"caller canceled", awsHangingEndpoint(t), 0, canceled, deliver.Outcome{Class: "canceled"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := deliver.NewEventBridge(awsEventBridgeAt(tc.endpoint), config.Destination{
				Name: "bus", EventBus: "default", Timeout: config.Duration(tc.timeout),
			})
			start := time.Now()
			got := d.Deliver(tc.ctx, awsTestEvent("leadron", "leadron.lead.created", "", `{"id":"evt_1"}`), 1)
			if got.Response = mustHaveResponse(t, got); got != tc.want {
				t.Errorf("Deliver = %+v, want %+v", got, tc.want)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Deliver took %v", took)
			}
		})
	}
}

// TestEventBridgeAnswers checks the classification of AWS answers moto does
// not give, parsed by the real SDK from a fake endpoint: whole-call errors
// and failed entries.
func TestEventBridgeAnswers(t *testing.T) {
	apiErr := func(status int, code, msg string) awsAnswer {
		return awsAnswer{status: status, body: fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)}
	}
	entry := func(code string) awsAnswer {
		return awsAnswer{status: 200, body: fmt.Sprintf(`{"FailedEntryCount":1,"Entries":[{"ErrorCode":%q,"ErrorMessage":"secret detail must not leak"}]}`, code)}
	}
	tests := []struct {
		name   string
		answer awsAnswer
		want   deliver.Outcome
	}{
		{"accepted", awsAnswer{status: 200, body: `{"FailedEntryCount":0,"Entries":[{"EventId":"11710aed-b79e-4468-a20b-bb3c0c3b4860"}]}`}, deliver.Outcome{OK: true}},

		{"entry throttled", entry("ThrottlingException"), deliver.Outcome{Class: "throttled"}},
		{"entry internal failure", entry("InternalFailure"), deliver.Outcome{Class: "server_error"}},
		{"entry access denied", entry("AccessDeniedException"), deliver.Outcome{Permanent: true, Class: "access_denied"}},
		{"entry source not authorized", entry("NotAuthorizedForSourceException"), deliver.Outcome{Permanent: true, Class: "access_denied"}},
		{"entry malformed detail", entry("MalformedDetail"), deliver.Outcome{Permanent: true, Class: "rejected"}},
		{"entry invalid argument", entry("InvalidArgument"), deliver.Outcome{Permanent: true, Class: "rejected"}},
		{"entry unknown code", entry("SomethingNewException"), deliver.Outcome{Class: "aws_error"}},
		{"count without code", awsAnswer{status: 200, body: `{"FailedEntryCount":1,"Entries":[{}]}`}, deliver.Outcome{Class: "aws_error"}},

		{"throttled", apiErr(400, "ThrottlingException", "Rate exceeded"), deliver.Outcome{StatusCode: 400, Class: "throttled"}},
		{"429 unmodeled", apiErr(429, "SlowDownPlease", "slow down"), deliver.Outcome{StatusCode: 429, Class: "throttled"}},
		{"internal", apiErr(500, "InternalException", "oops"), deliver.Outcome{StatusCode: 500, Class: "server_error"}},
		{"unavailable", apiErr(503, "ServiceUnavailable", "later"), deliver.Outcome{StatusCode: 503, Class: "server_error"}},
		{"expired token", apiErr(400, "ExpiredTokenException", "expired"), deliver.Outcome{StatusCode: 400, Class: "credentials"}},
		{"access denied", apiErr(400, "AccessDeniedException", "no"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "access_denied"}},
		{"unknown key", apiErr(400, "UnrecognizedClientException", "who"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "access_denied"}},
		{"bus not found", apiErr(400, "ResourceNotFoundException", "Event bus x does not exist."), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "not_found"}},
		{"validation", apiErr(400, "ValidationException", "1 validation error detected"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "rejected"}},
		{"over the size limit", apiErr(400, "ValidationException", "Total size of the entries in the request is over the limit."), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "too_large"}},
		{"other 4xx", apiErr(400, "OperationDisabledException", "disabled"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "rejected"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := awsFakeEndpoint(t, "application/x-amz-json-1.1", tc.answer)
			d := deliver.NewEventBridge(awsEventBridgeAt(endpoint), config.Destination{Name: "bus", EventBus: "default"})
			got := d.Deliver(t.Context(), awsTestEvent("leadron", "leadron.lead.created", "", `{"id":"evt_1"}`), 1)
			if got.Response = mustHaveResponse(t, got); got != tc.want {
				t.Errorf("Deliver = %+v, want %+v", got, tc.want)
			}
		})
	}
}
