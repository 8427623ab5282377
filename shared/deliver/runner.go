package deliver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue"
)

// EventProcessor processes the event of one message (Processor).
type EventProcessor interface {
	Process(ctx context.Context, eventID string) (Result, error)
}

// Queue is what the Runner needs of a queue (queue/embedded in hookline
// serve).
type Queue interface {
	ReceiveWait(ctx context.Context, maxMsgs int, visibility, wait time.Duration) ([]queue.Message, error)
	Delete(ctx context.Context, receipt string) error
	ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error
}

// Defaults of Runner and SQSHandler.
const (
	DefaultVisibility = time.Minute // how long a message is hidden while processed
	receiveBatch      = 32          // most messages one receive claims
	receiveWait       = 5 * time.Second
)

// errorBackoff spaces the retries of a message whose processing failed (the
// store or queue was unavailable), by its receive count.
var errorBackoff = Backoff{Base: time.Second, Cap: time.Minute}

// Runner is the processor loop of hookline serve: Workers goroutines
// deliver the events of the messages on an embedded queue, as the processor
// Lambda does with SQS. A message is received hidden for Visibility; after
// Process it is deleted when its event is Done (delivered, or given up and
// marked failed in the store: the failure is visible there and replayable,
// not in the dead letters), or hidden again for Result.RetryIn, the backoff
// of its next due attempt. A message whose processing failed is hidden for
// a short backoff by receive count; the queue dead-letters it after its
// MaxReceives, as SQS's redrive policy does.
//
// Neither of the SQS handler's AWS bounds applies here: the embedded queue
// has no visibility ceiling (SQS's 12 h from the receive), and processing
// has no invocation deadline (the context has none), so every attempt runs
// to its destination's timeout. Waits are still at most MaxRetryAfter.
type Runner struct {
	Queue     Queue
	Processor EventProcessor
	// Workers is how many messages are processed at once (default
	// config.DefaultWorkers).
	Workers int
	// Visibility hides a message while it is processed; it must exceed
	// Processor.Lease (default DefaultVisibility).
	Visibility time.Duration
	// Log gets the queue's failures (the processor logs the attempts).
	Log *slog.Logger
}

// Run receives and processes messages until ctx ends, then waits for the
// messages in hand: their processing runs to its end (bounded by the
// destination timeouts) so that every attempt made is recorded.
func (r *Runner) Run(ctx context.Context) {
	workers := r.Workers
	if workers <= 0 {
		workers = config.DefaultWorkers
	}
	visibility := r.Visibility
	if visibility <= 0 {
		visibility = DefaultVisibility
	}
	free := make(chan struct{}, workers)
	for range workers {
		free <- struct{}{}
	}
	work := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-free:
		case <-ctx.Done():
			return
		}
		n := 1
	more:
		for n < min(workers, receiveBatch) {
			select {
			case <-free:
				n++
			default:
				break more
			}
		}
		msgs, err := r.Queue.ReceiveWait(ctx, n, visibility, receiveWait)
		for range n - len(msgs) {
			free <- struct{}{}
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.logError(ctx, "receive", "", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		for _, m := range msgs {
			wg.Go(func() {
				defer func() { free <- struct{}{} }()
				r.handle(work, m)
			})
		}
	}
}

// handle processes one message and deletes or hides it.
func (r *Runner) handle(ctx context.Context, m queue.Message) {
	res, err := r.Processor.Process(ctx, m.EventID)
	switch {
	case err != nil:
		r.logError(ctx, "process", m.EventID, err)
		err = r.Queue.ChangeVisibility(ctx, m.Receipt, errorBackoff.Delay(max(m.ReceiveCount, 1), 0))
		r.logQueue(ctx, "change_visibility", m.EventID, err)
	case res.Done:
		r.logQueue(ctx, "delete", m.EventID, r.Queue.Delete(ctx, m.Receipt))
	default:
		r.logQueue(ctx, "change_visibility", m.EventID, r.Queue.ChangeVisibility(ctx, m.Receipt, res.RetryIn))
	}
}

// logQueue logs a failed Delete or ChangeVisibility. The message then
// comes back when its visibility runs out; the event's state makes that
// harmless.
func (r *Runner) logQueue(ctx context.Context, op, eventID string, err error) {
	if err != nil {
		r.logError(ctx, op, eventID, err)
	}
}

func (r *Runner) logError(ctx context.Context, op, eventID string, err error) {
	logProcessorError(ctx, r.Log, op, eventID, err)
}

// logProcessorError logs a failure of the store or the queue around
// processing. Their errors name operations and ids, never bodies or secrets.
func logProcessorError(ctx context.Context, log *slog.Logger, op, eventID string, err error) {
	if log == nil {
		return
	}
	log.LogAttrs(ctx, slog.LevelError, "processor_error",
		slog.String("op", op), slog.String("event_id", eventID), slog.String("error", err.Error()))
}
