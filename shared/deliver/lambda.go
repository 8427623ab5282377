package deliver

import (
	"context"
	"log/slog"
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
// the sum of max_attempts of the destinations an event can match.
type SQSHandler struct {
	Processor EventProcessor
	Queue     Visibility
	// Parallel bounds how many messages of a batch are processed at once
	// (default 10).
	Parallel int
	Log      *slog.Logger
}

// Handle processes one batch. It never fails the whole batch: every
// message's fate is in the response.
func (h *SQSHandler) Handle(ctx context.Context, e events.SQSEvent) (events.SQSEventResponse, error) {
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
			retry[i] = h.handle(ctx, rec)
		})
	}
	wg.Wait()
	var resp events.SQSEventResponse
	for i, rec := range e.Records {
		if retry[i] {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rec.MessageId})
		}
	}
	return resp, nil
}

// handle processes one message and reports whether it must come back.
func (h *SQSHandler) handle(ctx context.Context, rec events.SQSMessage) bool {
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
	if err := h.Queue.ChangeVisibility(ctx, m.Receipt, hide); err != nil {
		// The message still comes back, after the queue's own visibility.
		h.logError(ctx, "change_visibility", m.EventID, err)
	}
	return true
}

func (h *SQSHandler) logError(ctx context.Context, op, eventID string, err error) {
	logProcessorError(ctx, h.Log, op, eventID, err)
}
