package deliver

import (
	"context"
	"log/slog"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// AttemptRecorder keeps the attempt history (store.Attempt): store/sqlite
// and store/dynamo implement it, and so can a wrapper that also tells the
// console about each attempt. It is optional: a processor whose Store does
// not implement it, and whose History is nil, records no history.
type AttemptRecorder interface {
	RecordAttempt(ctx context.Context, a store.Attempt) error
}

// historyTimeout bounds the history writes of one Process.
const historyTimeout = 10 * time.Second

// recordHistory writes one history entry per attempt made, after the
// delivery state was saved (or failed to be), so the history never shows an
// attempt before the state that counts it. An attempt whose state could not
// be saved is recorded too: it was made. A failed write is logged and
// otherwise ignored: the history informs the operator, it never holds up a
// delivery.
func (p *Processor) recordHistory(ctx context.Context, ev store.Event, routes []Route, attempts []attempt) {
	rec := p.History
	if rec == nil {
		rec, _ = p.Store.(AttemptRecorder)
	}
	if rec == nil || len(attempts) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), historyTimeout)
	defer cancel()
	for _, a := range attempts {
		h := historyEntry(ev, routes, a)
		if err := rec.RecordAttempt(ctx, h); err != nil && p.Log != nil {
			p.Log.LogAttrs(ctx, slog.LevelWarn, "attempt_history",
				slog.String("event_id", ev.ID), slog.String("destination", h.Destination),
				slog.Int("attempt", h.Number), slog.String("error", err.Error()))
		}
	}
}

func historyEntry(ev store.Event, routes []Route, a attempt) store.Attempt {
	return store.Attempt{
		EventID:     ev.ID,
		Destination: routes[a.route].Config.Name,
		Number:      a.number,
		At:          a.start,
		Outcome:     a.outcome,
		StatusCode:  a.out.StatusCode,
		Error:       a.out.Class,
		Duration:    a.took,
		Response:    store.ResponseExcerpt([]byte(a.out.Response)),
		ExpiresAt:   ev.ExpiresAt,
	}
}

// StateSaver is a Store that saves the delivery state together with the
// attempts that made it, in one write and without reading the event again
// (store/dynamo: one small item per save instead of an event rewrite plus
// an attempt item). With it, and no History, the processor records the
// history through SaveState; attempts it could not save that way are
// recorded with RecordAttempt as before.
type StateSaver interface {
	// SaveState is SaveDeliveries of ev as read (ID, Version, ReceivedAt,
	// ExpiresAt), recording attempts in the same write.
	SaveState(ctx context.Context, ev store.Event, ds []store.Delivery, st store.Status, attempts []store.Attempt) (bool, error)
}

// historyOf is the history of attempts as SaveState records it: entries
// that fail Validate are left out (and never hold up the save).
func (p *Processor) historyOf(ev store.Event, routes []Route, attempts []attempt) []store.Attempt {
	var out []store.Attempt
	for _, a := range attempts {
		if h := historyEntry(ev, routes, a); h.Validate() == nil {
			out = append(out, h)
		}
	}
	return out
}
