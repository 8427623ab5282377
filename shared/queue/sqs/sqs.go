// Package sqs is the queue adapter for Amazon SQS (aws-sdk-go-v2).
//
// A message's body is the event id, and it carries two String message
// attributes, event_id and event_type (the canonical type). In production the
// processor Lambda gets its messages from the SQS event source (FromLambda
// reads one); Receive, Delete and ChangeVisibility serve `hookline redrive`,
// tools and tests, with the same meaning as in queue/embedded, checked by the
// same contract suite (queue/queuetest). Where SQS differs:
//
//   - Durations are whole seconds: visibilities and waits are rounded up, a
//     receive's visibility is at least 1 s (the SDK does not send a zero
//     VisibilityTimeout on ReceiveMessage) and at most SQS's 12 hours.
//   - Receive does not ask for a wait time, so it uses the queue's
//     ReceiveMessageWaitTimeSeconds (0 unless the queue sets it); ReceiveWait
//     long-polls for up to 20 s.
//   - Dead-lettering is the queue's RedrivePolicy (maxReceiveCount) and the
//     dead letters sit in another queue: Redrive(ctx, dlqURL) moves them back.
//   - SQS does not promise that a stale receipt (the message was received
//     again since) cannot delete the message: its documentation says the
//     request succeeds but the message "might not be deleted", and moto
//     deletes it. A receipt SQS rejects gives queue.ErrInvalidReceipt.
//
// Errors: a failure of the service itself (no answer, connection refused, a
// timeout, an HTTP 5xx, throttling) wraps queue.ErrUnavailable, so ingest
// answers 503 and the provider retries. Errors that say the request was wrong
// (a queue that does not exist, bad parameters, denied access) do not.
package sqs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/shared/queue"
)

// Message attribute names set by Enqueue.
const (
	AttrEventID   = "event_id"
	AttrEventType = "event_type"
)

// SQS limits.
const (
	maxBatch      = 10               // messages per receive or batch call
	maxWait       = 20 * time.Second // longest long poll
	maxVisibility = 12 * time.Hour   // longest visibility timeout
	redriveHide   = 60 * time.Second // how long Redrive hides a DLQ message it is moving
	redriveWait   = 1 * time.Second  // long poll that tells Redrive the DLQ is empty
	redriveMaxRun = 1_000_000        // messages one Redrive call moves at most
	attrString    = "String"         // message attribute data type
	receiveCount  = "ApproximateReceiveCount"
)

// Queue is one SQS queue.
type Queue struct {
	client *sqs.Client
	url    string
}

// New returns the queue at queueURL, used through client (built once by the
// caller, e.g. from config.LoadDefaultConfig).
func New(client *sqs.Client, queueURL string) *Queue {
	return &Queue{client: client, url: queueURL}
}

// URL returns the queue's URL.
func (q *Queue) URL() string { return q.url }

// Enqueue sends one message for the event: body = eventID, attributes
// event_id and event_type. An empty eventType is left out (SQS refuses empty
// attribute values).
func (q *Queue) Enqueue(ctx context.Context, eventID, eventType string) error {
	if eventID == "" {
		return errors.New("sqs queue: enqueue: empty event id")
	}
	attrs := map[string]types.MessageAttributeValue{
		AttrEventID: {DataType: aws.String(attrString), StringValue: aws.String(eventID)},
	}
	if eventType != "" {
		attrs[AttrEventType] = types.MessageAttributeValue{DataType: aws.String(attrString), StringValue: aws.String(eventType)}
	}
	_, err := q.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:          aws.String(q.url),
		MessageBody:       aws.String(eventID),
		MessageAttributes: attrs,
	})
	if err != nil {
		return wrap("enqueue", err)
	}
	return nil
}

// Receive receives up to maxMsgs messages (at most 10) and hides them for
// visibility (whole seconds, at least 1 s). With nothing visible it returns
// no messages and no error.
func (q *Queue) Receive(ctx context.Context, maxMsgs int, visibility time.Duration) ([]queue.Message, error) {
	return q.receive(ctx, maxMsgs, visibility, 0)
}

// ReceiveWait is Receive that long-polls for up to wait (rounded up to whole
// seconds, at most 20 s): it returns as soon as a message is there, or with
// none and no error when the wait ran out.
func (q *Queue) ReceiveWait(ctx context.Context, maxMsgs int, visibility, wait time.Duration) ([]queue.Message, error) {
	if wait <= 0 {
		wait = time.Second // the SDK cannot ask for 0; 1 s is the shortest long poll
	}
	return q.receive(ctx, maxMsgs, visibility, wait)
}

func (q *Queue) receive(ctx context.Context, maxMsgs int, visibility, wait time.Duration) ([]queue.Message, error) {
	if maxMsgs < 1 {
		return nil, fmt.Errorf("sqs queue: receive: max must be at least 1, got %d", maxMsgs)
	}
	if visibility < 0 {
		return nil, fmt.Errorf("sqs queue: receive: negative visibility %v", visibility)
	}
	out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(min(maxMsgs, maxBatch)),
		VisibilityTimeout:           seconds(max(visibility, time.Second), maxVisibility),
		WaitTimeSeconds:             seconds(wait, maxWait),
		MessageAttributeNames:       []string{AttrEventID, AttrEventType},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
	})
	if err != nil {
		return nil, wrap("receive", err)
	}
	msgs := make([]queue.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, FromSQS(m))
	}
	return msgs, nil
}

// Delete deletes the message received with receipt. A receipt SQS rejects
// gives queue.ErrInvalidReceipt (see the package doc on stale receipts).
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	_, err := q.client.DeleteMessage(ctx, &sqs.DeleteMessageInput{
		QueueUrl:      aws.String(q.url),
		ReceiptHandle: aws.String(receipt),
	})
	if err != nil {
		return wrapReceipt("delete", err)
	}
	return nil
}

// ChangeVisibility makes the message received with receipt visible again
// after d (rounded up to whole seconds; 0: at once), counted from now. A
// receipt SQS rejects, or a message no longer in flight, gives
// queue.ErrInvalidReceipt.
func (q *Queue) ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("sqs queue: change visibility: negative duration %v", d)
	}
	_, err := q.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(q.url),
		ReceiptHandle:     aws.String(receipt),
		VisibilityTimeout: seconds(d, maxVisibility),
	})
	if err != nil {
		return wrapReceipt("change visibility", err)
	}
	return nil
}

// Redrive moves every message from the dead-letter queue at dlqURL back to
// this queue and says how many it moved. Each message is received from the
// DLQ, sent here with the same body and message attributes (a new message:
// its receive count starts again) and then deleted from the DLQ, ten at a
// time. It stops when a 1 s long poll of the DLQ finds nothing. A crash
// between send and delete leaves a copy in the DLQ (moved twice later): the
// processor dedupes per destination. SQS delivers at least once: a message
// received again during one Redrive (same MessageId) is only deleted, not
// sent and counted twice. It uses receive/send/delete rather than
// StartMessageMoveTask because that works on every SQS implementation
// (moto has no StartMessageMoveTask) and finishes before Redrive returns.
func (q *Queue) Redrive(ctx context.Context, dlqURL string) (int, error) {
	if dlqURL == "" || dlqURL == q.url {
		return 0, fmt.Errorf("sqs queue: redrive: the dead-letter queue %q must be another queue", dlqURL)
	}
	moved := 0
	sent := map[string]bool{} // MessageIds sent by this run
	for moved < redriveMaxRun {
		out, err := q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:              aws.String(dlqURL),
			MaxNumberOfMessages:   maxBatch,
			VisibilityTimeout:     seconds(redriveHide, maxVisibility),
			WaitTimeSeconds:       seconds(redriveWait, maxWait),
			MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			return moved, wrap("redrive: receive", err)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		n, err := q.moveBatch(ctx, dlqURL, out.Messages, sent)
		moved += n
		if err != nil {
			return moved, err
		}
	}
	return moved, nil
}

// moveBatch sends msgs (received from dlqURL) to q and deletes from dlqURL
// those that were sent, and those already sent by this run (in sent, which
// it adds to).
func (q *Queue) moveBatch(ctx context.Context, dlqURL string, msgs []types.Message, sent map[string]bool) (int, error) {
	var (
		entries []types.SendMessageBatchRequestEntry
		dels    []types.DeleteMessageBatchRequestEntry
	)
	for i, m := range msgs {
		id := aws.String(strconv.Itoa(i))
		if sent[aws.ToString(m.MessageId)] {
			dels = append(dels, types.DeleteMessageBatchRequestEntry{Id: id, ReceiptHandle: m.ReceiptHandle})
			continue
		}
		entries = append(entries, types.SendMessageBatchRequestEntry{
			Id:                id,
			MessageBody:       m.Body,
			MessageAttributes: m.MessageAttributes,
		})
	}
	var failed error
	moved := 0
	if len(entries) > 0 {
		out, err := q.client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		if err != nil {
			return 0, wrap("redrive: send", err)
		}
		for _, f := range out.Failed {
			failed = errors.Join(failed, fmt.Errorf("message %s: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
		for _, s := range out.Successful {
			i, err := strconv.Atoi(aws.ToString(s.Id))
			if err != nil || i < 0 || i >= len(msgs) {
				return 0, fmt.Errorf("sqs queue: redrive: send answered an unknown entry id %q", aws.ToString(s.Id))
			}
			sent[aws.ToString(msgs[i].MessageId)] = true
			dels = append(dels, types.DeleteMessageBatchRequestEntry{Id: s.Id, ReceiptHandle: msgs[i].ReceiptHandle})
			moved++
		}
	}
	if len(dels) > 0 {
		del, err := q.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(dlqURL), Entries: dels})
		if err != nil {
			return moved, wrap("redrive: delete from dead-letter queue", err)
		}
		for _, f := range del.Failed {
			failed = errors.Join(failed, fmt.Errorf("delete %s from dead-letter queue: %s: %s", aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if failed != nil {
		return moved, fmt.Errorf("sqs queue: redrive: %w", failed)
	}
	return moved, nil
}

// FromSQS reads a message received with the SDK: the event id from the
// event_id attribute (the body if it is missing), the type from event_type,
// the receive count from the ApproximateReceiveCount system attribute (0 if
// it was not asked for).
func FromSQS(m types.Message) queue.Message {
	msg := queue.Message{
		EventID: aws.ToString(m.Body),
		Receipt: aws.ToString(m.ReceiptHandle),
	}
	if v, ok := m.MessageAttributes[AttrEventID]; ok && aws.ToString(v.StringValue) != "" {
		msg.EventID = aws.ToString(v.StringValue)
	}
	if v, ok := m.MessageAttributes[AttrEventType]; ok {
		msg.Type = aws.ToString(v.StringValue)
	}
	msg.ReceiveCount, _ = strconv.Atoi(m.Attributes[receiveCount])
	return msg
}

// FromLambda reads one record of an SQS event delivered to a Lambda function,
// like FromSQS. The Lambda event source always includes the receive count.
// The record's MessageId (for a partial batch failure report) stays on the
// record.
func FromLambda(m events.SQSMessage) queue.Message {
	msg := queue.Message{
		EventID: m.Body,
		Receipt: m.ReceiptHandle,
	}
	if v, ok := m.MessageAttributes[AttrEventID]; ok && v.StringValue != nil && *v.StringValue != "" {
		msg.EventID = *v.StringValue
	}
	if v, ok := m.MessageAttributes[AttrEventType]; ok && v.StringValue != nil {
		msg.Type = *v.StringValue
	}
	msg.ReceiveCount, _ = strconv.Atoi(m.Attributes[receiveCount])
	return msg
}

// seconds rounds d up to whole seconds, capped at limit.
func seconds(d, limit time.Duration) int32 {
	d = min(max(d, 0), limit)
	return int32((d + time.Second - 1) / time.Second)
}

// wrapReceipt is wrap, with the errors SQS gives for a bad or stale receipt
// mapped to queue.ErrInvalidReceipt.
func wrapReceipt(op string, err error) error {
	var bad *types.ReceiptHandleIsInvalid
	var notInFlight *types.MessageNotInflight
	if errors.As(err, &bad) || errors.As(err, &notInFlight) {
		return fmt.Errorf("sqs queue: %s: %w: %w", op, queue.ErrInvalidReceipt, err)
	}
	return wrap(op, err)
}

// wrap adds queue.ErrUnavailable when err is a failure of the service.
func wrap(op string, err error) error {
	if Unavailable(err) {
		return fmt.Errorf("sqs queue: %s: %w: %w", op, queue.ErrUnavailable, err)
	}
	return fmt.Errorf("sqs queue: %s: %w", op, err)
}

// sqsThrottles are SQS's own throttling codes that the SDK's default list
// lacks.
var sqsThrottles = map[string]bool{"KmsThrottled": true, "OverLimit": true}

// Unavailable reports whether an error from an SQS call is a failure of the
// service rather than of the request: no HTTP answer at all (connection
// refused, DNS, timeouts, a cancelled context), an HTTP 5xx or 429, a
// server-fault error, or throttling.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) && (throttled(err, api.ErrorCode()) || api.ErrorFault() == smithy.FaultServer) {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) {
		s := status.HTTPStatusCode()
		return s == 0 || s >= 500 || s == 429 // 0: the request was never answered
	}
	// An API error without an HTTP status is the service's answer all the
	// same; anything else never got one.
	return api == nil
}

// throttled reports a throttling error. SQS sends the query-compatible code
// (x-amzn-query-error), such as AWS.SimpleQueueService.RequestThrottled or
// KMS.ThrottlingException: the part after the last dot is the plain code.
func throttled(err error, code string) bool {
	var rt *types.RequestThrottled
	var kt *types.KmsThrottled
	var ol *types.OverLimit
	if errors.As(err, &rt) || errors.As(err, &kt) || errors.As(err, &ol) {
		return true
	}
	for _, c := range []string{code, code[strings.LastIndex(code, ".")+1:]} {
		if _, ok := retry.DefaultThrottleErrorCodes[c]; ok || sqsThrottles[c] {
			return true
		}
	}
	return false
}
