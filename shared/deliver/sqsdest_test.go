package deliver_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store"
)

// Helpers shared by the EventBridge and SQS destination tests.

// awsTestEvent is a stored event with an original body raw and a
// normalized record that differs from it, so a test can tell which one a
// destination sent.
func awsTestEvent(provider, typ, tenant, raw string) store.Event {
	id := queuetest.EventID()
	return store.Event{
		ID:             id,
		Provider:       provider,
		Type:           typ,
		IdempotencyKey: "key-" + id,
		EntityID:       "lead_42",
		Tenant:         tenant,
		ReceivedAt:     time.Date(2026, 3, 1, 10, 0, 5, 0, time.UTC),
		OccurredAt:     time.Date(2026, 3, 1, 9, 59, 0, 0, time.UTC),
		Raw:            []byte(raw),
		Normalized:     []byte(`{"kind":"normalized","entity":"lead_42"}`),
		Status:         store.StatusQueued,
	}
}

// awsTestCreds are the static credentials of every test client.
var awsTestCreds = credentials.NewStaticCredentialsProvider("test", "test", "")

// awsSQSAt is an SQS client for an arbitrary endpoint, with SDK retries
// off and a short HTTP timeout, so one Deliver is one request.
func awsSQSAt(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  awsTestCreds,
		Retryer:      aws.NopRetryer{},
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(2 * time.Second),
	})
}

// awsClosedEndpoint is the URL of a local port nothing listens on.
func awsClosedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// awsHangingEndpoint is a server that accepts requests and never answers
// (until the client gives up).
func awsHangingEndpoint(t *testing.T) string {
	t.Helper()
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	}))
	t.Cleanup(func() { close(done); srv.Close() })
	return srv.URL
}

// awsAnswer is one canned AWS answer of an awsFakeEndpoint.
type awsAnswer struct {
	status int
	header map[string]string
	body   string
}

// awsFakeEndpoint answers every request with a. It stands in for AWS
// answers moto never gives (throttling, 5xx, denied access, failed
// entries); the SDK parses them as it would AWS's.
func awsFakeEndpoint(t *testing.T, contentType string, a awsAnswer) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Amzn-Requestid", "fake-request")
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		fmt.Fprint(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// awsRandom is a short random hex string for resource names.
func awsRandom(t *testing.T) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

// awsJSONEqual reports whether two JSON documents are equal as values.
func awsJSONEqual(t *testing.T, got, want []byte) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("want is not JSON: %v: %s", err, want)
	}
	return reflect.DeepEqual(g, w)
}

// awsCheckCloudEvent checks that raw is the CloudEvent of ev with data
// wantData.
func awsCheckCloudEvent(t *testing.T, raw []byte, ev store.Event, wantData []byte) {
	t.Helper()
	var ce deliver.CloudEvent
	if err := json.Unmarshal(raw, &ce); err != nil {
		t.Fatalf("not a CloudEvent: %v: %s", err, raw)
	}
	at := ev.OccurredAt
	if at.IsZero() {
		at = ev.ReceivedAt
	}
	want := deliver.CloudEvent{
		SpecVersion: "1.0", ID: ev.ID, Source: "hookline/" + ev.Provider, Type: ev.Type,
		Time: at.UTC().Format(time.RFC3339Nano), Subject: ev.EntityID,
		DataContentType: "application/json", Tenant: ev.Tenant,
	}
	data := ce.Data
	ce.Data = nil
	if !reflect.DeepEqual(ce, want) {
		t.Errorf("CloudEvent attributes\n got %+v\nwant %+v", ce, want)
	}
	if !awsJSONEqual(t, data, wantData) {
		t.Errorf("CloudEvent data = %s, want %s", data, wantData)
	}
}

// awsReceiveAll receives from an SQS queue until want messages came or 5 s
// passed, then makes one more short receive to catch extras. Messages are
// deleted as they are received.
func awsReceiveAll(t *testing.T, client *sqs.Client, url string, want int) []sqstypes.Message {
	t.Helper()
	ctx := t.Context()
	var got []sqstypes.Message
	deadline := time.Now().Add(5 * time.Second)
	for extra := false; ; {
		out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatalf("ReceiveMessage: %v", err)
		}
		for _, m := range out.Messages {
			got = append(got, m)
			if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("DeleteMessage: %v", err)
			}
		}
		if extra {
			return got
		}
		if len(got) >= want || time.Now().After(deadline) {
			extra = true
		}
	}
}

// sqsdCreateQueue creates a uniquely named queue with attrs (a FIFO queue
// when fifo), deleted when the test ends, and returns its URL.
func sqsdCreateQueue(t *testing.T, client *sqs.Client, fifo bool, attrs map[string]string) string {
	t.Helper()
	name := "hl-dest-" + awsRandom(t)
	if fifo {
		name += ".fifo"
		if attrs == nil {
			attrs = map[string]string{}
		}
		attrs[string(sqstypes.QueueAttributeNameFifoQueue)] = "true"
	}
	out, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("CreateQueue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		if _, err := client.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Logf("DeleteQueue %s: %v", name, err)
		}
	})
	return url
}

// sqsdAttr returns a received message's String attribute and its data type.
func sqsdAttr(m sqstypes.Message, name string) (value, dataType string) {
	a, ok := m.MessageAttributes[name]
	if !ok {
		return "<missing>", ""
	}
	return aws.ToString(a.StringValue), aws.ToString(a.DataType)
}

func TestSQSDestStandardQueue(t *testing.T) {
	client := queuetest.SQSClient(t)
	leadron := awsTestEvent("leadron", "leadron.lead.created", "acct_1", `{"id":"evt_1","type":"lead.created","data":{"email":"a@example.com","n":1.50}}`)
	untyped := awsTestEvent("tomba", "", "", `{"email":"b@example.com"}`)
	untyped.OccurredAt = time.Time{}

	tests := []struct {
		name     string
		format   string
		ev       store.Event
		wantData []byte
		wantType string // the event_type attribute
	}{
		{"cloudevents", "cloudevents", leadron, leadron.Raw, "leadron.lead.created"},
		{"normalized", "normalized", leadron, leadron.Normalized, "leadron.lead.created"},
		// format raw still sends the CloudEvent, with data = the original body.
		{"raw, no type, no occurred-at", "raw", untyped, untyped.Raw, "<missing>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, _ := queuetest.NewSQSQueue(t, client, false)
			d := deliver.NewSQS(client, config.Destination{Name: "queue", Type: "sqs", QueueURL: url, Format: tc.format})
			if d.Name() != "queue" {
				t.Errorf("Name() = %q", d.Name())
			}
			if got := d.Deliver(t.Context(), tc.ev, 1); got != (deliver.Outcome{OK: true}) {
				t.Fatalf("Deliver = %+v, want OK", got)
			}

			msgs := awsReceiveAll(t, client, url, 1)
			if len(msgs) != 1 {
				t.Fatalf("queue got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			awsCheckCloudEvent(t, []byte(aws.ToString(m.Body)), tc.ev, tc.wantData)
			for name, want := range map[string]string{
				deliver.SQSAttrEventID:     tc.ev.ID,
				deliver.SQSAttrEventType:   tc.wantType,
				deliver.SQSAttrContentType: "application/cloudevents+json",
			} {
				v, typ := sqsdAttr(m, name)
				if v != want || (want != "<missing>" && typ != "String") {
					t.Errorf("attribute %s = %q (%s), want %q (String)", name, v, typ, want)
				}
			}
			wantAttrs := 3
			if tc.wantType == "<missing>" {
				wantAttrs = 2
			}
			if len(m.MessageAttributes) != wantAttrs {
				t.Errorf("message has %d attributes, want %d", len(m.MessageAttributes), wantAttrs)
			}
			if g := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; g != "" {
				t.Errorf("standard queue message has MessageGroupId %q", g)
			}
		})
	}
}

func TestSQSDestFIFODedupes(t *testing.T) {
	client := queuetest.SQSClient(t)
	url := sqsdCreateQueue(t, client, true, nil)
	d := deliver.NewSQS(client, config.Destination{Name: "fifo", Type: "sqs", QueueURL: url})

	first := awsTestEvent("leadron", "leadron.lead.created", "acct_1", `{"id":"evt_1"}`)
	second := awsTestEvent("leadron", "leadron.lead.updated", "acct_1", `{"id":"evt_2"}`)
	// first twice (a retry within the dedup window), then another event of
	// the same group: SQS keeps first once, and second after it.
	for i, ev := range []store.Event{first, first, second} {
		if got := d.Deliver(t.Context(), ev, i+1); got != (deliver.Outcome{OK: true}) {
			t.Fatalf("send %d: Deliver = %+v, want OK", i+1, got)
		}
	}
	msgs := awsReceiveAll(t, client, url, 2)
	var ids []string
	for _, m := range msgs {
		id, _ := sqsdAttr(m, deliver.SQSAttrEventID)
		ids = append(ids, id)
		if g := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; g != "leadron/acct_1" {
			t.Errorf("MessageGroupId = %q, want leadron/acct_1", g)
		}
		if dd := m.Attributes[string(sqstypes.MessageSystemAttributeNameMessageDeduplicationId)]; dd != id {
			t.Errorf("MessageDeduplicationId = %q, want the event id %q", dd, id)
		}
	}
	if want := []string{first.ID, second.ID}; fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("received event ids %v, want %v", ids, want)
	}
}

func TestSQSDestFIFOGroups(t *testing.T) {
	client := queuetest.SQSClient(t)
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	long := strings.Repeat("t", 125) // "leadron/" + 125 = 133 characters: over 128
	tests := []struct {
		name, tenant, want string
	}{
		{"no tenant", "", "leadron"},
		{"tenant", "acct_1", "leadron/acct_1"},
		{"tenant with punctuation", "team-7:eu.west", "leadron/team-7:eu.west"},
		{"tenant with a space", "Acme Inc", "leadron/" + hash("Acme Inc")},
		{"tenant not ASCII", "Zürich", "leadron/" + hash("Zürich")},
		{"tenant too long", long, "leadron/" + hash(long)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := sqsdCreateQueue(t, client, true, nil)
			d := deliver.NewSQS(client, config.Destination{Name: "fifo", Type: "sqs", QueueURL: url})
			if got := d.Deliver(t.Context(), awsTestEvent("leadron", "leadron.lead.created", tc.tenant, `{"id":"evt_1"}`), 1); got != (deliver.Outcome{OK: true}) {
				t.Fatalf("Deliver = %+v, want OK", got)
			}
			msgs := awsReceiveAll(t, client, url, 1)
			if len(msgs) != 1 {
				t.Fatalf("queue got %d messages, want 1", len(msgs))
			}
			if g := msgs[0].Attributes[string(sqstypes.MessageSystemAttributeNameMessageGroupId)]; g != tc.want {
				t.Errorf("MessageGroupId = %q, want %q", g, tc.want)
			}
		})
	}
}

func TestSQSDestMissingQueueIsPermanent(t *testing.T) {
	client := queuetest.SQSClient(t)
	// moto answers 400 with the query-compatible code
	// AWS.SimpleQueueService.NonExistentQueue (QueueDoesNotExist), as SQS does.
	url := strings.TrimSuffix(queuetest.MotoEndpoint(t), "/") + "/123456789012/hl-missing-" + awsRandom(t)
	d := deliver.NewSQS(client, config.Destination{Name: "queue", Type: "sqs", QueueURL: url})
	got := d.Deliver(t.Context(), awsTestEvent("leadron", "leadron.lead.created", "", `{"id":"evt_1"}`), 1)
	if !strings.Contains(got.Response, "NonExistentQueue") {
		t.Errorf("Response %q does not carry the SQS error", got.Response)
	}
	got.Response = ""
	if want := (deliver.Outcome{Permanent: true, StatusCode: 400, Class: "not_found"}); got != want {
		t.Errorf("Deliver = %+v, want %+v", got, want)
	}
}

// sqsdEventOfSize returns an event whose SQS message (body plus the three
// attributes' names, types and values) is exactly size bytes, computed here
// independently of the destination.
func sqsdEventOfSize(t *testing.T, size int) store.Event {
	t.Helper()
	ev := awsTestEvent("leadron", "leadron.lead.created", "acct_1", "")
	message := func(pad int) int {
		ev.Raw = []byte(`{"pad":"` + strings.Repeat("a", pad) + `"}`)
		body, err := deliver.NewCloudEvent(ev, false).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		attrs := len("event_id"+"String") + len(ev.ID) +
			len("event_type"+"String") + len(ev.Type) +
			len("content-type"+"String") + len("application/cloudevents+json")
		return len(body) + attrs
	}
	pad := size - message(0)
	if got := message(pad); got != size {
		t.Fatalf("built a message of %d bytes, want %d", got, size)
	}
	return ev
}

func TestSQSDestSizeLimit(t *testing.T) {
	client := queuetest.SQSClient(t)
	small := sqsdCreateQueue(t, client, false, map[string]string{string(sqstypes.QueueAttributeNameMaximumMessageSize): "1024"})
	big, _ := queuetest.NewSQSQueue(t, client, false)
	tests := []struct {
		name   string
		client *sqs.Client
		url    string
		size   int
		want   deliver.Outcome
	}{
		{"at the limit is sent", client, big, deliver.MaxSQSMessageBytes, deliver.Outcome{OK: true}},
		// Refused before any call: this client's endpoint is a closed port,
		// so a call would come back as "connection".
		{"one byte over is too_large", awsSQSAt(awsClosedEndpoint(t)), big, deliver.MaxSQSMessageBytes + 1, deliver.Outcome{Permanent: true, Class: "too_large"}},
		// The queue's own MaximumMessageSize refuses it: SQS (and moto)
		// answer InvalidParameterValue "… Message must be shorter than 1024 bytes."
		{"over the queue's maximum is too_large", client, small, 2048, deliver.Outcome{Permanent: true, StatusCode: 400, Class: "too_large"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := deliver.NewSQS(tc.client, config.Destination{Name: "queue", Type: "sqs", QueueURL: tc.url})
			got := d.Deliver(t.Context(), sqsdEventOfSize(t, tc.size), 1)
			if got.Response = ""; got != tc.want { // the answer's text: TestSQSDestAnswers
				t.Errorf("Deliver(message of %d bytes) = %+v, want %+v", tc.size, got, tc.want)
			}
		})
	}
}

// TestSQSDestNoAnswer covers calls that never get an answer; no moto needed.
func TestSQSDestNoAnswer(t *testing.T) {
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
		{"caller canceled", awsHangingEndpoint(t), 0, canceled, deliver.Outcome{Class: "canceled"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.endpoint + "/123456789012/hl-queue"
			d := deliver.NewSQS(awsSQSAt(tc.endpoint), config.Destination{Name: "queue", QueueURL: url, Timeout: config.Duration(tc.timeout)})
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

// TestSQSDestAnswers checks the classification of SQS answers moto does not
// give, parsed by the real SDK from a fake endpoint. SQS's JSON protocol
// names the error in __type and, query-compatibly, in x-amzn-query-error.
func TestSQSDestAnswers(t *testing.T) {
	apiErr := func(status int, typ, queryCode, msg string) awsAnswer {
		a := awsAnswer{status: status, body: fmt.Sprintf(`{"__type":"com.amazonaws.sqs#%s","message":%q}`, typ, msg)}
		if queryCode != "" {
			a.header = map[string]string{"x-amzn-query-error": queryCode}
		}
		return a
	}
	tests := []struct {
		name   string
		answer awsAnswer
		want   deliver.Outcome
	}{
		{"queue does not exist", apiErr(400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue;Sender", "The specified queue does not exist."), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "not_found"}},
		{"queue does not exist, plain code", apiErr(400, "QueueDoesNotExist", "", "The specified queue does not exist."), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "not_found"}},
		{"throttled", apiErr(400, "RequestThrottled", "RequestThrottled;Sender", "slow down"), deliver.Outcome{StatusCode: 400, Class: "throttled"}},
		{"KMS throttled", apiErr(400, "KmsThrottled", "KMS.ThrottlingException;Sender", "slow down"), deliver.Outcome{StatusCode: 400, Class: "throttled"}},
		{"KMS access denied", apiErr(400, "KmsAccessDenied", "KMS.AccessDeniedException;Sender", "no"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "access_denied"}},
		{"access denied", apiErr(403, "AccessDenied", "AccessDenied;Sender", "no"), deliver.Outcome{Permanent: true, StatusCode: 403, Class: "access_denied"}},
		{"KMS key disabled", apiErr(400, "KmsDisabled", "KMS.DisabledException;Sender", "disabled"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "rejected"}},
		{"invalid contents", apiErr(400, "InvalidMessageContents", "InvalidMessageContents;Sender", "bad chars"), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "rejected"}},
		{"over the queue's maximum", apiErr(400, "InvalidParameterValue", "InvalidParameterValue;Sender", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."), deliver.Outcome{Permanent: true, StatusCode: 400, Class: "too_large"}},
		{"internal error", apiErr(500, "InternalError", "InternalError;Receiver", "oops"), deliver.Outcome{StatusCode: 500, Class: "server_error"}},
		{"unavailable", apiErr(503, "ServiceUnavailable", "ServiceUnavailable;Receiver", "later"), deliver.Outcome{StatusCode: 503, Class: "server_error"}},
		{"expired token", apiErr(400, "ExpiredToken", "ExpiredToken;Sender", "expired"), deliver.Outcome{StatusCode: 400, Class: "credentials"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := awsFakeEndpoint(t, "application/x-amz-json-1.0", tc.answer)
			d := deliver.NewSQS(awsSQSAt(endpoint), config.Destination{Name: "queue", QueueURL: endpoint + "/123456789012/hl-queue"})
			got := d.Deliver(t.Context(), awsTestEvent("leadron", "leadron.lead.created", "", `{"id":"evt_1"}`), 1)
			if got.Response = mustHaveResponse(t, got); got != tc.want {
				t.Errorf("Deliver = %+v, want %+v", got, tc.want)
			}
		})
	}
}
