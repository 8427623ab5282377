package console

// Dead letters: the messages the queue gave up on (the embedded queue's dead
// state for `hookline serve`, the SQS dead-letter queue for `hookline
// console --aws`), listed with what the store says of their event, and
// redriven back to the queue (one event's, or all) with a dry-run count.
// `hookline redrive` calls the same Redrive.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/store"
)

// DeadLetterQueue is what the console needs of a dead-letter queue
// (queue/embedded's Queue, queue/sqs's DeadLetters).
type DeadLetterQueue interface {
	ListDead(ctx context.Context, limit int) ([]queue.DeadLetter, error)
	// CountDead and RedriveDead work on the dead letters of one event id,
	// or of every event when it is "".
	CountDead(ctx context.Context, eventID string) (int, error)
	RedriveDead(ctx context.Context, eventID string) (int, error)
}

// Redrive moves the dead letters of eventID (all when "") back to the
// queue, or with dryRun only counts them; it says how many.
func Redrive(ctx context.Context, dq DeadLetterQueue, eventID string, dryRun bool) (int, error) {
	if dryRun {
		return dq.CountDead(ctx, eventID)
	}
	return dq.RedriveDead(ctx, eventID)
}

// Dead-letter list bounds.
const (
	DefaultDeadLetters = 50
	MaxDeadLetters     = 200
)

type deadLetterView struct {
	EventID      string     `json:"event_id"`
	Provider     string     `json:"provider"`
	Type         string     `json:"type"`
	At           *time.Time `json:"at"` // dead-lettered (serve) or first sent (SQS)
	ReceiveCount int        `json:"receive_count"`
	// Reason is what the event's delivery state says went wrong, or why
	// there is none.
	Reason string `json:"reason"`
	// Status is the event's status in the store ("" when it is not there).
	Status string `json:"status"`
}

func (c *Console) deadLetters(w http.ResponseWriter, r *http.Request) {
	if c.o.DeadLetters == nil {
		writeJSON(w, http.StatusOK, map[string]any{"available": false, "dead_letters": []deadLetterView{},
			"message": "no dead-letter queue is configured (console --aws: HOOKLINE_DLQ_URL or --stack)"})
		return
	}
	limit := DefaultDeadLetters
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDeadLetters {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("limit must be 1 to %d", MaxDeadLetters))
			return
		}
		limit = n
	}
	ds, err := c.o.DeadLetters.ListDead(r.Context(), limit)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	// Newest first on both queues (SQS answers in its own order).
	slices.SortStableFunc(ds, func(a, b queue.DeadLetter) int { return b.At.Compare(a.At) })
	out := make([]deadLetterView, 0, len(ds))
	for _, d := range ds {
		v := deadLetterView{EventID: d.EventID, Type: d.Type, At: timePtr(d.At), ReceiveCount: d.ReceiveCount}
		v.Provider, _, _ = strings.Cut(d.Type, ".")
		ev, err := c.st.Get(r.Context(), d.EventID)
		switch {
		case err == nil:
			v.Provider, v.Type, v.Status = ev.Provider, ev.Type, string(ev.Status)
			v.Reason = reasonOf(ev)
		case errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid):
			v.Reason = "the event is not in the store (past its retention, or never stored): a redrive delivers nothing"
		default:
			c.storeError(w, r, err)
			return
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"available": true, "dead_letters": out})
}

// reasonOf says why an event's deliveries did not finish, from its state.
func reasonOf(ev store.Event) string {
	var parts []string
	for _, d := range ev.Deliveries {
		if d.Delivered() || d.Filtered() {
			continue
		}
		what := d.LastClass
		if what == "" && d.LastStatusCode != 0 {
			what = "HTTP " + strconv.Itoa(d.LastStatusCode)
		}
		if what == "" {
			what = "no attempt recorded"
		}
		state := "pending"
		if d.Settled() {
			state = "failed"
		}
		parts = append(parts, fmt.Sprintf("%s: %s after %d attempts (%s)", d.Destination, state, d.Attempts, what))
	}
	if len(parts) == 0 {
		if len(ev.Deliveries) == 0 {
			return "no delivery was recorded: the processor never finished a receive of it (a crash, a timeout, or the store was unavailable)"
		}
		return "every destination has it: the processor could not finish the message (e.g. saving the state failed)"
	}
	return strings.Join(parts, "; ")
}

func (c *Console) redriveDead(w http.ResponseWriter, r *http.Request) {
	if c.o.DeadLetters == nil {
		writeError(w, http.StatusNotFound, "no_dead_letter_queue", "no dead-letter queue is configured")
		return
	}
	var req struct {
		EventID string `json:"event_id"`
		DryRun  bool   `json:"dry_run"`
	}
	const want = `want {"event_id": "<id, or empty for all>", "dry_run": <bool>} or no body`
	if !readBody(w, r, &req, want) {
		return
	}
	if len(req.EventID) > store.MaxQueryText {
		writeError(w, http.StatusBadRequest, "bad_request", want)
		return
	}
	n, err := Redrive(r.Context(), c.o.DeadLetters, req.EventID, req.DryRun)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	if req.DryRun {
		writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "count": n})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"redriven": n})
}
