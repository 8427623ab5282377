package deliver

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/queue/sqs"
)

// Visibility is what the SQS handler needs of the queue its messages come
// from (queue/sqs).
type Visibility interface {
	ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error
}

// SQSHandler is the processor Lambda: it processes a batch of SQS messages
// (one event id each) and reports partial batch failures. The event source
// mapping must enable ReportBatchItemFailures.
//
// A message whose event is Done is reported as a success (Lambda deletes
// it), also when a destination was given up: the event is marked failed in
// the store, where the failure is visible and replayable. A message whose
// event still has a pending destination is hidden until that destination's
// next attempt is due (ChangeMessageVisibility to Result.RetryIn) and its
// MessageId is returned in BatchItemFailures; so is a message whose
// processing failed (the store was unavailable), hidden for a short backoff
// by receive count. After the queue's maxReceiveCount receives, SQS's
// redrive policy moves such a message to the dead-letter queue: set it above
// the sum of max_attempts of the destinations an event can match (a message
// the invocation had no time left for also comes back, at once, and counts
// a receive).
//
// SQS's ceiling: a message stays hidden at most 12 h (MaxVisibility) from
// the receive that gave its receipt, the time it has already been in flight
// included; SQS refuses a ChangeMessageVisibility past that, and the message
// then comes back after the queue's own visibility timeout, early, burning a
// receive. Every hide is therefore clamped to what is left of the 12 h, less
// VisibilityMargin (clock skew and SQS's whole seconds). The event source
// does not say when it received the message, so the 12 h are counted from
// the earliest the receive can have been: MaxHold before the invocation
// started (earlier, and the receipt would have expired before the
// invocation), or the message's ApproximateFirstReceiveTimestamp if that is
// later (it is, on a first receive, where it is the receive itself). config.MaxBackoffCap keeps every wait short enough that the
// clamp does not shorten it in practice.
type SQSHandler struct {
	Processor EventProcessor
	Queue     Visibility
	// Parallel bounds how many messages of a batch are processed at once
	// (default 10).
	Parallel int
	// MaxHold is the longest the event source can hold a received message
	// before the invocation starts: at most the queue's visibility timeout
	// (default DefaultMaxHold; a template test checks the queue's).
	MaxHold time.Duration
	Log     *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AfterBatch, if set, runs once a batch is processed, before Handle
	// returns (the processor Lambda writes the batch's metrics there).
	AfterBatch func(ctx context.Context)
}

// SQS's visibility ceiling (see SQSHandler).
const (
	// MaxVisibility is the longest SQS hides a message, from its receive.
	MaxVisibility = 12 * time.Hour
	// VisibilityMargin is kept below the ceiling.
	VisibilityMargin = time.Minute
	// DefaultMaxHold bounds the time between the event source's receive
	// and the invocation: the queue's visibility timeout, 366 s in
	// template.yaml, rounded up.
	DefaultMaxHold = 10 * time.Minute
)

// VisibilityLeft is the longest visibility SQS accepts at now for a message
// received at receivedAt, less VisibilityMargin; never negative.
func VisibilityLeft(receivedAt, now time.Time) time.Duration {
	return max(MaxVisibility-now.Sub(receivedAt)-VisibilityMargin, 0)
}

// EarliestReceive is the earliest the message rec of an invocation that
// started at start can have been received (see SQSHandler): start less
// maxHold, or its first receive if later (and not after start).
func EarliestReceive(rec events.SQSMessage, start time.Time, maxHold time.Duration) time.Time {
	at := start.Add(-maxHold)
	if ms, err := strconv.ParseInt(rec.Attributes["ApproximateFirstReceiveTimestamp"], 10, 64); err == nil {
		first := time.UnixMilli(ms)
		if first.After(start) {
			first = start // SQS's clock may run ahead of ours
		}
		if first.After(at) {
			at = first
		}
	}
	return at
}

// Handle processes one batch. It never fails the whole batch: every
// message's fate is in the response.
func (h *SQSHandler) Handle(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
	start := h.now()
	parallel := h.Parallel
	if parallel <= 0 {
		parallel = 10
	}
	sem := make(chan struct{}, parallel)
	retry := make([]bool, len(e.Records))
	var wg sync.WaitGroup
	for i, rec := range e.Records {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			retry[i] = h.handle(ctx, rec, start)
		})
	}
	wg.Wait()
	if h.AfterBatch != nil {
		h.AfterBatch(ctx)
	}
	var resp events.SQSEventResponse
	for i, rec := range e.Records {
		if retry[i] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// handle processes one message of an invocation that started at start and
// reports whether it must come back.
func (h *SQSHandler) handle(ctx context.Context, rec events.SQSMessage, start time.Time) bool {
	m := sqs.FromLambda(rec)
	res, err := h.Processor.Process(ctx, m.EventID)
	var hide time.Duration
	switch {
	case err != nil:
		h.logError(ctx, "process", m.EventID, err)
		hide = errorBackoff.Delay(max(m.ReceiveCount, 1), 0)
	case res.Done:
		return false
	default:
		hide = res.RetryIn
	}
	maxHold := h.MaxHold
	if maxHold <= 0 {
		maxHold = DefaultMaxHold
	}
	hide = min(hide, VisibilityLeft(EarliestReceive(rec, start, maxHold), h.now()))
	if err := h.Queue.ChangeVisibility(ctx, m.Receipt, hide); err != nil {
		// The message still comes back, after the queue's own visibility.
		h.logError(ctx, "change_visibility", m.EventID, err)
	}
	return true
}

func (h *SQSHandler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *SQSHandler) logError(ctx context.Context, op, eventID string, err error) {
	logProcessorError(ctx, h.Log, op, eventID, err)
}
