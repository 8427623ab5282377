package sqs

// The dead-letter queue as the console sees it: list, count and redrive
// one event's messages or all.
//
// SQS has no way to look at a message without receiving it. ListDead,
// CountDead and RedriveDead receive the dead-letter queue's messages ten at
// a time, hidden for peekHide so that one pass sees each once, and make
// those they leave visible again at once (ChangeMessageVisibilityBatch to
// 0) before they return. Each look adds one to a dead letter's
// ApproximateReceiveCount (the dead-letter queue has no redrive policy of
// its own, so nothing else follows from it), and a consumer of the
// dead-letter queue running at the same time would not see the messages
// while they are looked at. A pass stops at maxPeek messages.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/hookline/hookline/shared/queue"
)

const (
	peekHide = 30 * time.Second
	maxPeek  = 10_000
)

// DeadLetters is the dead-letter queue of a Queue.
type DeadLetters struct {
	q   *Queue
	url string
}

// DeadLetters returns the dead-letter queue at dlqURL, whose messages go
// back to q.
func (q *Queue) DeadLetters(dlqURL string) *DeadLetters { return &DeadLetters{q: q, url: dlqURL} }

// ListDead returns up to limit dead letters (SQS's order, roughly oldest
// first).
func (d *DeadLetters) ListDead(ctx context.Context, limit int) ([]queue.DeadLetter, error) {
	var out []queue.DeadLetter
	_, err := d.pass(ctx, func(m types.Message) (bool, bool) {
		out = append(out, deadLetter(m))
		return false, len(out) >= limit
	})
	return out, err
}

// CountDead counts the dead letters of eventID (of every event when "").
func (d *DeadLetters) CountDead(ctx context.Context, eventID string) (int, error) {
	n := 0
	_, err := d.pass(ctx, func(m types.Message) (bool, bool) {
		if eventID == "" || FromSQS(m).EventID == eventID {
			n++
		}
		return false, false
	})
	return n, err
}

// RedriveDead moves the dead letters of eventID back to the queue (every
// dead letter when "": Queue.Redrive) and says how many it moved.
func (d *DeadLetters) RedriveDead(ctx context.Context, eventID string) (int, error) {
	if eventID == "" {
		return d.q.Redrive(ctx, d.url)
	}
	return d.pass(ctx, func(m types.Message) (bool, bool) { return FromSQS(m).EventID == eventID, false })
}

// pass receives the dead-letter queue's messages until it is empty, visit
// says stop, or maxPeek: the messages visit picks are moved to the queue,
// the others made visible again. It says how many it moved.
func (d *DeadLetters) pass(ctx context.Context, visit func(types.Message) (move, stop bool)) (moved int, err error) {
	if d.url == "" || d.url == d.q.url {
		return 0, fmt.Errorf("sqs queue: dead letters: the dead-letter queue %q must be another queue", d.url)
	}
	var (
		keep []types.Message
		seen = map[string]bool{}
	)
	defer func() {
		err = errors.Join(err, d.release(context.WithoutCancel(ctx), keep))
	}()
	for len(seen) < maxPeek {
		out, rerr := d.q.client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(d.url),
			MaxNumberOfMessages:         maxBatch,
			VisibilityTimeout:           seconds(peekHide, maxVisibility),
			WaitTimeSeconds:             seconds(redriveWait, maxWait),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if rerr != nil {
			return moved, wrap("dead letters: receive", rerr)
		}
		if len(out.Messages) == 0 {
			return moved, nil
		}
		var move []types.Message
		stop := false
		for _, m := range out.Messages {
			id := aws.ToString(m.MessageId)
			if seen[id] || stop {
				keep = append(keep, m)
				continue
			}
			seen[id] = true
			var mv bool
			mv, stop = visit(m)
			if mv {
				move = append(move, m)
			} else {
				keep = append(keep, m)
			}
		}
		if len(move) > 0 {
			n, merr := d.q.moveBatch(ctx, d.url, move, map[string]bool{})
			moved += n
			if merr != nil {
				return moved, merr
			}
		}
		if stop {
			return moved, nil
		}
	}
	return moved, nil
}

// release makes msgs visible again at once.
func (d *DeadLetters) release(ctx context.Context, msgs []types.Message) error {
	var failed error
	for start := 0; start < len(msgs); start += maxBatch {
		batch := msgs[start:min(start+maxBatch, len(msgs))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(batch))
		for i, m := range batch {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)),
				ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}
		}
		out, err := d.q.client.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{
			QueueUrl: aws.String(d.url), Entries: entries})
		if err != nil {
			failed = errors.Join(failed, wrap("dead letters: release", err))
			continue
		}
		for _, f := range out.Failed {
			failed = errors.Join(failed, fmt.Errorf("sqs queue: dead letters: release %s: %s", aws.ToString(f.Id), aws.ToString(f.Message)))
		}
	}
	return failed
}

// deadLetter reads a message received from the dead-letter queue.
func deadLetter(m types.Message) queue.DeadLetter {
	msg := FromSQS(m)
	d := queue.DeadLetter{EventID: msg.EventID, Type: msg.Type, ReceiveCount: msg.ReceiveCount}
	if ms, err := strconv.ParseInt(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)], 10, 64); err == nil {
		d.At = time.UnixMilli(ms).UTC()
	}
	return d
}
