package sqs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
)

// suiteQueue is an SQS queue with a dead-letter queue, as the contract suite
// sees it.
type suiteQueue struct {
	*sqsq.Queue
	dlq    *sqsq.Queue
	dlqURL string
}

func (s suiteQueue) MaxReceives() int { return queuetest.SQSMaxReceives }

// DeadLetters receives from the DLQ and makes what it got visible again at
// once, so it looks without moving anything.
func (s suiteQueue) DeadLetters(ctx context.Context, limit int) ([]queue.Message, error) {
	msgs, err := s.dlq.Receive(ctx, limit, time.Second)
	for _, m := range msgs {
		if err := s.dlq.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
			return nil, err
		}
	}
	return msgs, err
}

func (s suiteQueue) Redrive(ctx context.Context) (int, error) { return s.Queue.Redrive(ctx, s.dlqURL) }

func (s suiteQueue) StaleReceiptsUnfenced() string {
	return "SQS documents that a Delete with an old receipt succeeds but the message \"might not be deleted\", and moto deletes it"
}

func TestContract(t *testing.T) {
	client := queuetest.SQSClient(t)
	queuetest.Run(t, func(t *testing.T) queuetest.Queue {
		url, dlqURL := queuetest.NewSQSQueue(t, client, true)
		return suiteQueue{Queue: sqsq.New(client, url), dlq: sqsq.New(client, dlqURL), dlqURL: dlqURL}
	})
}

// The message on the wire: body = event id, String attributes event_id and
// event_type, and nothing else.
func TestEnqueueMessageShape(t *testing.T) {
	ctx := t.Context()
	client := queuetest.SQSClient(t)
	url, _ := queuetest.NewSQSQueue(t, client, false)
	q := sqsq.New(client, url)
	if q.URL() != url {
		t.Errorf("URL() = %q, want %q", q.URL(), url)
	}
	id := queuetest.EventID()
	if err := q.Enqueue(ctx, id, "journeybee.lead_created"); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(url),
		MessageAttributeNames: []string{"All"},
		WaitTimeSeconds:       1,
	})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %v, %v", out, err)
	}
	m := out.Messages[0]
	if aws.ToString(m.Body) != id {
		t.Errorf("body = %q, want the event id %q", aws.ToString(m.Body), id)
	}
	want := map[string]string{"event_id": id, "event_type": "journeybee.lead_created"}
	if len(m.MessageAttributes) != len(want) {
		t.Errorf("message attributes %v, want exactly %v", keys(m.MessageAttributes), want)
	}
	for k, v := range want {
		a := m.MessageAttributes[k]
		if aws.ToString(a.DataType) != "String" || aws.ToString(a.StringValue) != v {
			t.Errorf("attribute %s = (%s, %q), want (String, %q)", k, aws.ToString(a.DataType), aws.ToString(a.StringValue), v)
		}
	}

	if err := q.Enqueue(ctx, "", "x"); err == nil {
		t.Error("Enqueue with an empty event id succeeded")
	}
	// An empty type is left out rather than refused by SQS.
	if err := q.Enqueue(ctx, "01NOTYPE", ""); err != nil {
		t.Errorf("Enqueue with an empty type: %v", err)
	}
}

// Receive asks SQS for at most 10 messages whatever max it is given.
func TestReceiveClampsMax(t *testing.T) {
	ctx := t.Context()
	client := queuetest.SQSClient(t)
	url, _ := queuetest.NewSQSQueue(t, client, false)
	q := sqsq.New(client, url)
	for range 12 {
		if err := q.Enqueue(ctx, queuetest.EventID(), "tomba.save_lead"); err != nil {
			t.Fatal(err)
		}
	}
	msgs, err := q.Receive(ctx, 50, time.Minute)
	if err != nil {
		t.Fatalf("Receive(max 50): %v", err)
	}
	if len(msgs) != 10 {
		t.Errorf("Receive(max 50) got %d messages, want SQS's 10", len(msgs))
	}
	if _, err := q.Receive(ctx, 0, time.Minute); err == nil {
		t.Error("Receive(max 0) succeeded")
	}
}

// Redrive moves more than one batch, keeping each message's attributes.
func TestRedriveManyMessages(t *testing.T) {
	ctx := t.Context()
	client := queuetest.SQSClient(t)
	url, dlqURL := queuetest.NewSQSQueue(t, client, true)
	q, dlq := sqsq.New(client, url), sqsq.New(client, dlqURL)
	var want []string
	for i := range 25 {
		id := queuetest.EventID()
		want = append(want, id+" "+fmt.Sprintf("tomba.t%d", i))
		if err := dlq.Enqueue(ctx, id, fmt.Sprintf("tomba.t%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := q.Redrive(ctx, dlqURL)
	if err != nil || n != 25 {
		t.Fatalf("Redrive: %d, %v; want 25, nil", n, err)
	}
	var got []string
	for len(got) < 25 {
		msgs, err := q.ReceiveWait(ctx, 10, time.Minute, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			got = append(got, m.EventID+" "+m.Type)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("after Redrive the queue holds %d messages %v,\nwant %d %v", len(got), got, len(want), want)
	}
	if left, err := dlq.Receive(ctx, 10, time.Minute); err != nil || len(left) != 0 {
		t.Errorf("dead-letter queue after Redrive: %v, %v; want empty", left, err)
	}
	if n, err := q.Redrive(ctx, dlqURL); err != nil || n != 0 {
		t.Errorf("Redrive of an empty DLQ: %d, %v; want 0, nil", n, err)
	}
	if _, err := q.Redrive(ctx, url); err == nil {
		t.Error("Redrive from the queue into itself succeeded")
	}
}

// Errors from a real answer of the service that say the request was wrong
// are not ErrUnavailable; a rejected receipt is ErrInvalidReceipt.
func TestRequestErrors(t *testing.T) {
	ctx := t.Context()
	client := queuetest.SQSClient(t)
	url, _ := queuetest.NewSQSQueue(t, client, false)
	q := sqsq.New(client, url)

	err := sqsq.New(client, url+"-missing").Enqueue(ctx, "01A", "tomba.save_lead")
	if err == nil || errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Enqueue to a queue that does not exist: %v; want an error that is not queue.ErrUnavailable", err)
	}
	if err := q.Delete(ctx, "not-a-receipt"); !errors.Is(err, queue.ErrInvalidReceipt) || errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Delete with a bad receipt: %v; want queue.ErrInvalidReceipt", err)
	}
	if err := q.ChangeVisibility(ctx, "not-a-receipt", 0); !errors.Is(err, queue.ErrInvalidReceipt) {
		t.Errorf("ChangeVisibility with a bad receipt: %v; want queue.ErrInvalidReceipt", err)
	}
}

// An endpoint where nothing listens: every call fails fast with
// queue.ErrUnavailable.
func TestUnreachableEndpointIsUnavailable(t *testing.T) {
	ctx := t.Context()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	q := sqsq.New(offlineClient("http://"+addr), "http://"+addr+"/123456789012/hookline")

	start := time.Now()
	err = q.Enqueue(ctx, "01A", "tomba.save_lead")
	if !errors.Is(err, queue.ErrUnavailable) {
		t.Fatalf("Enqueue to a closed port: %v; want queue.ErrUnavailable", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Enqueue took %v to fail", took)
	}
	if _, err := q.Receive(ctx, 1, time.Second); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Receive: %v; want queue.ErrUnavailable", err)
	}
	if err := q.Delete(ctx, "r"); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Delete: %v; want queue.ErrUnavailable", err)
	}
	if err := q.ChangeVisibility(ctx, "r", time.Second); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("ChangeVisibility: %v; want queue.ErrUnavailable", err)
	}
	if _, err := q.Redrive(ctx, "http://"+addr+"/123456789012/hookline-dlq"); !errors.Is(err, queue.ErrUnavailable) {
		t.Errorf("Redrive: %v; want queue.ErrUnavailable", err)
	}
}

// What the service answers decides ErrUnavailable: 5xx, 429 and throttling
// are; a client error is not. A small HTTP server plays SQS's error answers
// (moto cannot be made to throttle); the SDK runs unchanged.
func TestServiceErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		queryError  string // x-amzn-query-error header, as SQS sends
		body        string
		unavailable bool
	}{
		{"500 internal error", 500, "", `{"__type":"com.amazonaws.sqs#InternalError","message":"We encountered an internal error."}`, true},
		{"503 from a proxy, not JSON", 503, "", `<html>Service Unavailable</html>`, true},
		{"429", 429, "", `{"__type":"com.amazonaws.sqs#TooManyRequestsException","message":"slow down"}`, true},
		{"throttling", 400, "", `{"__type":"com.amazon.coral.availability#ThrottlingException","message":"Rate exceeded"}`, true},
		{"request throttled", 400, "AWS.SimpleQueueService.RequestThrottled;Sender", `{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Request is throttled."}`, true},
		{"KMS throttled", 400, "KMS.ThrottlingException;Sender", `{"__type":"com.amazonaws.sqs#KmsThrottled","message":"throttled"}`, true},
		{"invalid address", 400, "", `{"__type":"com.amazonaws.sqs#InvalidAddress","message":"The address is not valid."}`, false},
		{"access denied", 403, "", `{"__type":"com.amazon.coral.service#AccessDeniedException","message":"denied"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.queryError != "" {
					w.Header().Set("x-amzn-query-error", tc.queryError)
				}
				w.Header().Set("Content-Type", "application/x-amz-json-1.0")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			q := sqsq.New(offlineClient(srv.URL), srv.URL+"/123456789012/hookline")
			err := q.Enqueue(t.Context(), "01A", "tomba.save_lead")
			if err == nil {
				t.Fatal("Enqueue succeeded against an error answer")
			}
			if got := errors.Is(err, queue.ErrUnavailable); got != tc.unavailable {
				t.Errorf("errors.Is(%v, queue.ErrUnavailable) = %v, want %v", err, got, tc.unavailable)
			}
			if got := sqsq.Unavailable(err); got != tc.unavailable {
				t.Errorf("Unavailable = %v, want %v", got, tc.unavailable)
			}
		})
	}
	if sqsq.Unavailable(nil) {
		t.Error("Unavailable(nil) = true")
	}
}

func TestFromLambda(t *testing.T) {
	raw, err := os.ReadFile("testdata/sqs_event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	want := []queue.Message{
		{EventID: "01JQ3Z8YJ6M7X1V5Q2B4N9K0TA", Type: "leadron.opportunity.won", Receipt: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a", ReceiveCount: 3},
		// No attributes (sent by hand): the id is the body, the type unknown.
		{EventID: "01JQ3Z9A00000000000000BODY", Receipt: "AQEBzWwaftRI0KuVm4tP+/7q1rGgNqicHq", ReceiveCount: 1},
	}
	if len(ev.Records) != len(want) {
		t.Fatalf("%d records in the fixture", len(ev.Records))
	}
	for i, r := range ev.Records {
		if got := sqsq.FromLambda(r); got != want[i] {
			t.Errorf("record %d: FromLambda = %+v, want %+v", i, got, want[i])
		}
	}
}

// FromLambda and FromSQS read a message sent by Enqueue the same way.
func TestFromSQSMatchesFromLambda(t *testing.T) {
	ctx := t.Context()
	client := queuetest.SQSClient(t)
	url, _ := queuetest.NewSQSQueue(t, client, false)
	id := queuetest.EventID()
	if err := sqsq.New(client, url).Enqueue(ctx, id, "leadron.lead.created"); err != nil {
		t.Fatal(err)
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(url),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		WaitTimeSeconds:             1,
	})
	if err != nil || len(out.Messages) != 1 {
		t.Fatalf("ReceiveMessage: %v, %v", out, err)
	}
	m := out.Messages[0]
	rec := events.SQSMessage{
		MessageId:         aws.ToString(m.MessageId),
		ReceiptHandle:     aws.ToString(m.ReceiptHandle),
		Body:              aws.ToString(m.Body),
		Attributes:        m.Attributes,
		MessageAttributes: map[string]events.SQSMessageAttribute{},
	}
	for k, v := range m.MessageAttributes {
		rec.MessageAttributes[k] = events.SQSMessageAttribute{DataType: aws.ToString(v.DataType), StringValue: v.StringValue}
	}
	want := queue.Message{EventID: id, Type: "leadron.lead.created", Receipt: aws.ToString(m.ReceiptHandle), ReceiveCount: 1}
	if got := sqsq.FromSQS(m); got != want {
		t.Errorf("FromSQS = %+v, want %+v", got, want)
	}
	if got := sqsq.FromLambda(rec); got != want {
		t.Errorf("FromLambda = %+v, want %+v", got, want)
	}
}

// BenchmarkEnqueueMoto measures SendMessage through the adapter against
// moto_server (report only: moto is not SQS). The queue is purged every 200
// messages because moto's SendMessage slows down as a queue grows.
func BenchmarkEnqueueMoto(b *testing.B) {
	client := queuetest.SQSClient(b)
	url, _ := queuetest.NewSQSQueue(b, client, false)
	q := sqsq.New(client, url)
	ctx := b.Context()
	for i := 0; i < b.N; i++ {
		if i > 0 && i%200 == 0 {
			b.StopTimer()
			if _, err := client.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if err := q.Enqueue(ctx, "01JQ3Z8YJ6M7X1V5Q2B4N9K0TA", "leadron.lead.created"); err != nil {
			b.Fatal(err)
		}
	}
}

// offlineClient is an SQS client for endpoint with retries off and a short
// timeout, for tests of failures.
func offlineClient(endpoint string) *sqs.Client {
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer:      aws.NopRetryer{},
		HTTPClient:   awshttp.NewBuildableClient().WithTimeout(2 * time.Second),
	})
}

func keys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
