package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/lambdaemu"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// sink is a real HTTP destination that counts the requests per webhook-id.
// With hangFirst, its first request hangs until the caller gives up.
type sink struct {
	srv       *httptest.Server
	hangFirst bool
	mu        sync.Mutex
	got       map[string]int
}

func newSink(t *testing.T, hangFirst bool) *sink {
	t.Helper()
	s := &sink{hangFirst: hangFirst, got: map[string]int{}}
	done := make(chan struct{})
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.got[r.Header.Get("webhook-id")]++
		first := s.hangFirst
		s.hangFirst = false
		s.mu.Unlock()
		if first {
			select {
			case <-r.Context().Done(): // the processor gave up
			case <-done:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(func() { close(done); s.srv.Close() })
	return s
}

func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[id]
}

// TestDeadlineUnderTheRuntime: the processor's real bootstrap under the
// Lambda runtime emulator, on DynamoDB Local and moto. An invocation whose
// deadline is 8 s away (the function's timeout is the template's 60 s)
// gets a message whose event matches a healthy destination and one that
// hangs (timeout 30 s, allowed: under config.MaxDestinationTimeout). The
// processor cuts the hanging attempt in time to save: the invocation
// answers before its deadline (the emulator would kill it, as Lambda
// does), the healthy destination's success is stored, the message is a
// batch item failure that comes back at once, and on its return the
// hanging destination is delivered and the healthy one is not sent again.
// The cut attempt is not counted against max_attempts.
func TestDeadlineUnderTheRuntime(t *testing.T) {
	ddbURL := storetest.DynamoEndpoint(t)
	motoURL := queuetest.MotoEndpoint(t)
	ctx := context.Background()

	bin := filepath.Join(t.TempDir(), "bootstrap")
	if out, err := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build the processor: %v\n%s", err, out)
	}

	table := "hookline-deadline-" + strings.ToLower(queuetest.EventID())
	ddb := storetest.NewDynamoClient(ddbURL)
	if err := dynamo.CreateTable(ctx, ddb, table); err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(ddb, table)
	client := queuetest.SQSClient(t)
	queueURL, _ := queuetest.NewSQSQueue(t, client, false)

	healthy, hanging := newSink(t, false), newSink(t, true)
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cfg := "sources:\n  leadron: { secrets: [\"test-leadron-secret\"] }\ndestinations:\n" +
		"  - { name: healthy, type: http, url: " + healthy.srv.URL + ", secret: " + secret + ", events: [\"*\"] }\n" +
		"  - { name: hanging, type: http, url: " + hanging.srv.URL + ", secret: " + secret + ", timeout: 30s, events: [\"*\"] }\n"
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	ev := storetest.NewEvent("leadron", "evt_deadline_"+queuetest.EventID(), time.Now().UTC())
	ev.Status = store.StatusQueued
	ev.ExpiresAt = time.Now().Add(24 * time.Hour) // DynamoDB Local's TTL runs on the wall clock
	if _, err := st.Put(ctx, ev, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := sqsq.New(client, queueURL).Enqueue(ctx, ev.ID, ev.Type); err != nil {
		t.Fatal(err)
	}

	logs := &bytes.Buffer{}
	var logMu sync.Mutex
	out := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) })
	rt, err := lambdaemu.Start(ctx, lambdaemu.Function{
		Name: "ProcessorFunction", Bootstrap: bin, Timeout: config.ProcessorFunctionTimeout, Stdout: out, Stderr: out,
		LogFormat: "JSON", // as the template's LoggingConfig
		Env: []string{
			"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
			"AWS_ENDPOINT_URL=" + motoURL, "AWS_ENDPOINT_URL_DYNAMODB=" + ddbURL,
			"AWS_RESPONSE_CHECKSUM_VALIDATION=when_required",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
			"HOOKLINE_CONFIG=" + cfgFile, "HOOKLINE_TABLE=" + table, "HOOKLINE_QUEUE_URL=" + queueURL,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rt.Close() })
	fail := func(format string, args ...any) {
		t.Helper()
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf(format+"\nfunction output:\n%s", append(args, logs.String())...)
	}

	// First invocation: 8 s to the deadline, 5 s of it kept for saving.
	batch := receive(t, client, queueURL)
	res, err := rt.InvokeUntil(ctx, batch.payload, time.Now().Add(8*time.Second))
	if err != nil {
		fail("short invocation: %v (killed at the deadline: the state was not saved)", err)
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || res.Error {
		fail("answer %s: %v", res.Payload, err)
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != batch.messageID {
		fail("batch item failures %+v, want the message %s", resp.BatchItemFailures, batch.messageID)
	}
	got, err := st.Get(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := find(got, "healthy"); !d.Delivered() || d.Attempts != 1 {
		fail("healthy destination after the short invocation: %+v, want delivered (saved before the deadline)", d)
	}
	if d := find(got, "hanging"); d.Attempts != 0 || d.Settled() || got.Status != store.StatusQueued {
		fail("hanging destination %+v, event %s: want no counted attempt, still queued", d, got.Status)
	}
	if healthy.count(ev.ID) != 1 || hanging.count(ev.ID) != 1 {
		fail("requests: healthy %d, hanging %d; want 1 each", healthy.count(ev.ID), hanging.count(ev.ID))
	}

	// The message is back at once (visibility 0), for its second receive.
	again := receive(t, client, queueURL)
	if again.receiveCount != "2" {
		fail("message back with receive count %s, want 2", again.receiveCount)
	}
	res, err = rt.Invoke(ctx, again.payload)
	if err != nil {
		fail("second invocation: %v", err)
	}
	resp = events.SQSEventResponse{}
	if err := json.Unmarshal(res.Payload, &resp); err != nil || res.Error || len(resp.BatchItemFailures) != 0 {
		fail("second answer %s: %v, want no batch item failure", res.Payload, err)
	}
	got, err = st.Get(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := find(got, "hanging"); !d.Delivered() || d.Attempts != 1 || got.Status != store.StatusDelivered {
		fail("hanging destination %+v, event %s: want delivered on its first counted attempt", d, got.Status)
	}
	if healthy.count(ev.ID) != 1 {
		fail("healthy destination got %d requests, want 1: sent twice", healthy.count(ev.ID))
	}
	logMu.Lock()
	cut := strings.Contains(logs.String(), `"class":"`+deliver.ClassDeadline+`"`)
	logMu.Unlock()
	if !cut {
		fail("no delivery_attempt line with class %q", deliver.ClassDeadline)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func find(ev store.Event, name string) store.Delivery {
	for _, d := range ev.Deliveries {
		if d.Destination == name {
			return d
		}
	}
	return store.Delivery{Destination: name}
}

// received is one message as the SQS event source hands it to the function.
type received struct {
	payload                 []byte
	messageID, receiveCount string
}

// receive gets the one message of the queue the way the event source does
// (every attribute) and makes it an SQS event, waiting up to 10 s.
func receive(t *testing.T, client *awssqs.Client, url string) received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := client.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: &url, MaxNumberOfMessages: 1, WaitTimeSeconds: 1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			continue
		}
		m := out.Messages[0]
		rec := events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource: "aws:sqs", AWSRegion: "us-east-1",
		}
		for k, v := range m.MessageAttributes {
			rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
		}
		payload, err := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{rec}})
		if err != nil {
			t.Fatal(err)
		}
		return received{payload: payload, messageID: rec.MessageId, receiveCount: m.Attributes["ApproximateReceiveCount"]}
	}
	t.Fatalf("no message on %s within 10 s", url)
	return received{}
}
