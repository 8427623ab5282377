package deliver_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
)

// sqsCeiling is SQS's visibility ceiling, which moto does not enforce: a
// ChangeMessageVisibility is refused when the new visibility (whole seconds,
// rounded up as queue/sqs sends it) would end more than 12 h after the
// receive that gave the receipt. It knows each receipt's true receive time,
// which the handler does not.
type sqsCeiling struct {
	now func() time.Time

	mu       sync.Mutex
	received map[string]time.Time // receipt → receive
	hidden   map[string]time.Duration
	refused  []string
}

var errCeiling = errors.New("InvalidParameterValue: total VisibilityTimeout for the message is beyond the limit [43200 seconds]")

func (q *sqsCeiling) ChangeVisibility(_ context.Context, receipt string, d time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	secs := (d + time.Second - 1) / time.Second * time.Second
	if q.now().Add(secs).After(q.received[receipt].Add(12 * time.Hour)) {
		q.refused = append(q.refused, receipt)
		return fmt.Errorf("change visibility %v: %w", secs, errCeiling)
	}
	q.hidden[receipt] = secs
	return nil
}

// waitingProcessor is an EventProcessor whose every event waits retryIn
// for its next attempt; each Process takes run on the clock.
type waitingProcessor struct {
	clock   *clock
	run     time.Duration
	retryIn time.Duration
}

func (w *waitingProcessor) Process(context.Context, string) (deliver.Result, error) {
	w.clock.Add(w.run)
	return deliver.Result{RetryIn: w.retryIn}, nil
}

// TestVisibilityFitsSQSCeiling: whatever the wait a processor asks for, and
// however long the message was in flight before and during the invocation
// (up to the queue's visibility timeout before it, the function's whole
// timeout during it), the visibility the handler asks for is one SQS
// accepts; and a wait up to MaxRetryAfter (the longest backoff or
// Retry-After) is never shortened, so the message does not come back early
// and burn a receive.
func TestVisibilityFitsSQSCeiling(t *testing.T) {
	const templateQueueVisibility = 366 * time.Second
	for _, hold := range []time.Duration{0, time.Second, templateQueueVisibility, deliver.DefaultMaxHold} {
		for _, run := range []time.Duration{0, config.ProcessorFunctionTimeout} {
			for _, count := range []int{1, 4} {
				for _, wait := range []time.Duration{time.Minute, deliver.MaxRetryAfter, 12 * time.Hour, 30 * time.Hour} {
					name := fmt.Sprintf("held %v, ran %v, receive %d, wait %v", hold, run, count, wait)
					c := newClock()
					q := &sqsCeiling{now: c.Now, received: map[string]time.Time{}, hidden: map[string]time.Duration{}}
					receive := c.Now()
					first := receive
					if count > 1 {
						first = receive.Add(-3 * 24 * time.Hour) // SQS's attribute names the first receive only
					}
					q.received["rh-1"] = receive
					c.Add(hold) // the event source holds the message before invoking
					h := &deliver.SQSHandler{Processor: &waitingProcessor{clock: c, run: run, retryIn: wait}, Queue: q, Now: c.Now}
					resp, err := h.Handle(t.Context(), events.SQSEvent{Records: []events.SQSMessage{{
						MessageId: "m-1", ReceiptHandle: "rh-1", Body: "01JWAIT",
						Attributes: map[string]string{
							"ApproximateReceiveCount":          strconv.Itoa(count),
							"ApproximateFirstReceiveTimestamp": strconv.FormatInt(first.UnixMilli(), 10),
						},
					}}})
					if err != nil || len(resp.BatchItemFailures) != 1 {
						t.Fatalf("%s: Handle = %+v, %v; want the message back", name, resp, err)
					}
					if len(q.refused) > 0 {
						t.Fatalf("%s: SQS refused the visibility", name)
					}
					got := q.hidden["rh-1"]
					if wait <= deliver.MaxRetryAfter && got != wait {
						t.Errorf("%s: hidden %v, want the whole wait %v", name, got, wait)
					}
					if wait > deliver.MaxRetryAfter && got < deliver.MaxRetryAfter {
						t.Errorf("%s: hidden %v, want at least %v", name, got, deliver.MaxRetryAfter)
					}
				}
			}
		}
	}
}

// TestSQSCeilingModel: the model refuses what SQS refuses, so the test
// above can fail: 12 h asked one second after the receive is refused.
func TestSQSCeilingModel(t *testing.T) {
	c := newClock()
	q := &sqsCeiling{now: c.Now, received: map[string]time.Time{"rh": c.Now()}, hidden: map[string]time.Duration{}}
	c.Add(time.Second)
	if err := q.ChangeVisibility(t.Context(), "rh", 12*time.Hour); !errors.Is(err, errCeiling) {
		t.Fatalf("12h a second after the receive: %v, want refused", err)
	}
	if err := q.ChangeVisibility(t.Context(), "rh", 12*time.Hour-time.Second); err != nil {
		t.Fatalf("12h less a second: %v", err)
	}
}

// TestVisibilityLeft: what is left of SQS's 12 h, and when the receive is
// taken to be.
func TestVisibilityLeft(t *testing.T) {
	start := time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)
	ms := func(t time.Time) map[string]string {
		return map[string]string{"ApproximateFirstReceiveTimestamp": strconv.FormatInt(t.UnixMilli(), 10)}
	}
	for _, c := range []struct {
		name  string
		attrs map[string]string
		want  time.Time
	}{
		{"first receive: its timestamp", ms(start.Add(-2 * time.Second)), start.Add(-2 * time.Second)},
		{"later receive: the longest hold", ms(start.Add(-48 * time.Hour)), start.Add(-deliver.DefaultMaxHold)},
		{"no attribute", nil, start.Add(-deliver.DefaultMaxHold)},
		{"SQS's clock ahead of ours", ms(start.Add(3 * time.Second)), start},
		{"garbage", map[string]string{"ApproximateFirstReceiveTimestamp": "soon"}, start.Add(-deliver.DefaultMaxHold)},
	} {
		if got := deliver.EarliestReceive(events.SQSMessage{Attributes: c.attrs}, start, deliver.DefaultMaxHold); !got.Equal(c.want) {
			t.Errorf("%s: EarliestReceive = %v, want %v", c.name, got, c.want)
		}
	}
	if got := deliver.VisibilityLeft(start, start.Add(time.Hour)); got != 11*time.Hour-deliver.VisibilityMargin {
		t.Errorf("an hour after the receive: %v left", got)
	}
	if got := deliver.VisibilityLeft(start, start.Add(13*time.Hour)); got != 0 {
		t.Errorf("13 h after the receive: %v left, want 0", got)
	}
}
