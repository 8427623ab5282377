package deliver_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// awsSetup is the processor Lambda's world on the stand-ins: a DynamoDB
// Local table and a moto SQS queue.
type awsSetup struct {
	st        *dynamo.Store
	ddb       *dynamodb.Client
	table     string
	client    *awssqs.Client
	url, dlq  string
	queue     *sqsq.Queue
	handler   *deliver.SQSHandler
	processor *deliver.Processor
}

func newAWS(t *testing.T, withDLQ bool, backoff time.Duration) *awsSetup {
	t.Helper()
	ddb := storetest.DynamoClient(t)
	client := queuetest.SQSClient(t)
	table := "hookline-deliver-" + strings.ToLower(ulid.Make().String())
	if err := dynamo.CreateTable(t.Context(), ddb, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = ddb.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	a := &awsSetup{st: dynamo.New(ddb, table), ddb: ddb, table: table, client: client}
	a.url, a.dlq = queuetest.NewSQSQueue(t, client, withDLQ)
	a.queue = sqsq.New(client, a.url)
	a.processor = &deliver.Processor{Store: a.st, Backoff: deliver.Backoff{Base: backoff, Cap: backoff, Jitter: noJitter}}
	a.handler = &deliver.SQSHandler{Processor: a.processor, Queue: a.queue}
	return a
}

func (a *awsSetup) route(t *testing.T, d config.Destination) {
	t.Helper()
	a.processor.Routes = append(a.processor.Routes, deliver.Route{Config: d, Dest: newHTTP(t, d)})
}

// enqueue stores ev and sends its message, as the ingest function does.
// The event's retention ends a day from now: DynamoDB Local deletes expired
// items by the wall clock, as DynamoDB's TTL does.
func (a *awsSetup) enqueue(t *testing.T, ev store.Event) {
	t.Helper()
	ev.ExpiresAt = time.Now().Add(24 * time.Hour)
	if _, err := a.st.Put(t.Context(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := a.queue.Enqueue(t.Context(), ev.ID, ev.Type); err != nil {
		t.Fatal(err)
	}
}

// receive gets want messages from url the way the Lambda event source
// does (the queue's own visibility, every attribute), as Lambda records,
// waiting up to within (all of it when want is 0).
func (a *awsSetup) receive(t *testing.T, url string, want int, within time.Duration) []events.SQSMessage {
	t.Helper()
	var out []events.SQSMessage
	deadline := time.Now().Add(within)
	for (want == 0 || len(out) < want) && time.Now().Before(deadline) {
		res, err := a.client.ReceiveMessage(t.Context(), &awssqs.ReceiveMessageInput{
			QueueUrl:                    &url,
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			out = append(out, lambdaRecord(m))
		}
	}
	if len(out) != want {
		t.Fatalf("received %d messages from %s within %v, want %d", len(out), url, within, want)
	}
	return out
}

// lambdaRecord is m as the SQS event source hands it to a function.
func lambdaRecord(m sqstypes.Message) events.SQSMessage {
	rec := events.SQSMessage{
		MessageId:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Attributes:        m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
		EventSource:       "aws:sqs",
	}
	for k, v := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{StringValue: v.StringValue, DataType: aws.ToString(v.DataType)}
	}
	return rec
}

// handle runs the handler on a batch and, as the Lambda service does,
// deletes the messages it did not report as failed.
func (a *awsSetup) handle(t *testing.T, batch []events.SQSMessage) []string {
	t.Helper()
	resp, err := a.handler.Handle(t.Context(), events.SQSEvent{Records: batch})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	for _, m := range batch {
		if !slices.Contains(failed, m.MessageId) {
			if _, err := a.client.DeleteMessage(t.Context(), &awssqs.DeleteMessageInput{QueueUrl: &a.url, ReceiptHandle: &m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return failed
}

func (a *awsSetup) event(t *testing.T, id string) store.Event {
	t.Helper()
	ev, err := a.st.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestLambdaPartialBatchFailure: in a batch of two, the message whose
// destination fails transiently is the one batch item failure, hidden for
// the backoff (2 s, not the queue's 30 s), and delivered when it is back.
func TestLambdaPartialBatchFailure(t *testing.T) {
	a := newAWS(t, false, 2*time.Second)
	good := newSink(t, nil, secretA)
	flaky := newSink(t, answerStatus(1, http.StatusServiceUnavailable), secretA)
	a.route(t, httpDest("good", good.url(), "cloudevents", "leadron.*"))
	a.route(t, httpDest("flaky", flaky.url(), "cloudevents", "tomba.*"))

	evA := testEvent(ulid.Make().String())
	evB := testEvent(ulid.Make().String())
	evB.Provider, evB.Type, evB.IdempotencyKey = "tomba", "tomba.save_lead", "sha256:"+evB.ID
	a.enqueue(t, evA)
	a.enqueue(t, evB)

	batch := a.receive(t, a.url, 2, 10*time.Second)
	var idB string
	for _, m := range batch {
		if m.Body == evB.ID {
			idB = m.MessageId
		}
	}
	if failed := a.handle(t, batch); !slices.Equal(failed, []string{idB}) {
		t.Fatalf("batch item failures %v, want exactly [%s] (the message of %s)", failed, idB, evB.ID)
	}
	if got := a.event(t, evA.ID); got.Status != store.StatusDelivered || good.count(evA.ID) != 1 {
		t.Fatalf("event A %q after %d deliveries, want delivered after 1", got.Status, good.count(evA.ID))
	}
	if d := delivery(t, a.event(t, evB.ID), "flaky"); d.Attempts != 1 || d.LastStatusCode != 503 || d.Settled() {
		t.Fatalf("event B delivery %+v, want one 503, pending", d)
	}

	// Back after the 2 s backoff (the queue's own visibility is 30 s).
	again := a.receive(t, a.url, 1, 10*time.Second)
	if again[0].Body != evB.ID || again[0].Attributes["ApproximateReceiveCount"] != "2" {
		t.Fatalf("redelivered %s (receive count %s), want %s for the second time", again[0].Body, again[0].Attributes["ApproximateReceiveCount"], evB.ID)
	}
	if failed := a.handle(t, again); len(failed) != 0 {
		t.Fatalf("second batch failures %v, want none", failed)
	}
	if got := a.event(t, evB.ID); got.Status != store.StatusDelivered || flaky.count(evB.ID) != 2 || good.count(evA.ID) != 1 {
		t.Fatalf("event B %q after %d attempts (A got %d), want delivered after 2 (A 1)", got.Status, flaky.count(evB.ID), good.count(evA.ID))
	}
}

// TestLambdaExhaustedToDLQ: a message still failing transiently after the
// queue's maxReceiveCount receives lands in the dead-letter queue, its
// attempts recorded with the event.
func TestLambdaExhaustedToDLQ(t *testing.T) {
	a := newAWS(t, true, time.Second)
	down := newSink(t, answerStatus(100, http.StatusServiceUnavailable), secretA)
	a.route(t, httpDest("down", down.url(), "raw"))
	ev := testEvent(ulid.Make().String())
	a.enqueue(t, ev)

	for n := 1; n <= queuetest.SQSMaxReceives; n++ {
		batch := a.receive(t, a.url, 1, 10*time.Second)
		if failed := a.handle(t, batch); len(failed) != 1 {
			t.Fatalf("receive %d: failures %v, want the message", n, failed)
		}
	}
	// The receive after the last one allowed moves it (the backoff was 1 s).
	time.Sleep(1500 * time.Millisecond)
	if more := a.receive(t, a.url, 0, 2*time.Second); len(more) != 0 {
		t.Fatalf("received %d more messages after maxReceiveCount", len(more))
	}
	dead := a.receive(t, a.dlq, 1, 10*time.Second)
	if dead[0].Body != ev.ID {
		t.Fatalf("dead letter %q, want %s", dead[0].Body, ev.ID)
	}
	got := a.event(t, ev.ID)
	d := delivery(t, got, "down")
	if d.Attempts != queuetest.SQSMaxReceives || got.Status != store.StatusQueued || down.count(ev.ID) != queuetest.SQSMaxReceives {
		t.Fatalf("event %q, delivery %+v, %d requests; want every attempt recorded, still queued", got.Status, d, down.count(ev.ID))
	}
}
