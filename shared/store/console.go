package store

import (
	"fmt"
	"path"
	"time"
)

// What the operator console (shared/console) asks of a store beyond the
// contract above. Store/sqlite implements it, and store/dynamo's Console:
//
//	ListEvents(ctx, q EventQuery) (EventPage, error)
//	    The events q selects, newest first (by receive time, then id),
//	    at most q.Limit of them, without Raw, Normalized and Meta (a list
//	    never copies bodies); Next is the cursor of the following page, ""
//	    after the last. Refuses a query that fails Validate with ErrInvalid.
//	    A page may hold fewer than q.Limit and still have a Next: store/dynamo
//	    bounds the events one page reads for a rare filter.
//	Stats(ctx, since time.Time) (WindowStats, error)
//	    Events accepted per provider, and attempts per destination, since.

// EventQuery selects events for the console's list. Every set field must
// match (and); the zero query selects every event.
type EventQuery struct {
	Provider    string    // exactly
	TypeGlob    string    // the canonical type, with path.Match globs: leadron.lead.*
	Status      Status    // the event's status
	Destination string    // routed to this destination (it has delivery state)
	Since       time.Time // received at or after
	Until       time.Time // received before
	// Text matches the event id exactly, or the start of the entity id or
	// of the tenant (case-sensitive; a whole id is a start too).
	Text string
	// Cursor is a page's Next; "" starts from the newest event.
	Cursor string
	Limit  int // 1 to MaxEventPage
}

// MaxEventPage bounds EventQuery.Limit; MaxQueryText the length of its
// strings.
const (
	MaxEventPage = 500
	MaxQueryText = 256
)

// Validate reports whether q can be run: Limit in 1..MaxEventPage, a
// TypeGlob that path.Match accepts, a Status that is one of the four (or
// empty), strings of at most MaxQueryText bytes, times in range. The error
// wraps ErrInvalid and names the field.
func (q EventQuery) Validate() error {
	if q.Limit < 1 || q.Limit > MaxEventPage {
		return fmt.Errorf("%w: limit %d, want 1 to %d", ErrInvalid, q.Limit, MaxEventPage)
	}
	for name, v := range map[string]string{"provider": q.Provider, "type": q.TypeGlob, "destination": q.Destination,
		"q": q.Text, "cursor": q.Cursor} {
		if len(v) > MaxQueryText {
			return fmt.Errorf("%w: %s is over %d bytes", ErrInvalid, name, MaxQueryText)
		}
	}
	if q.TypeGlob != "" {
		if _, err := path.Match(q.TypeGlob, ""); err != nil {
			return fmt.Errorf("%w: type %q is not a glob", ErrInvalid, q.TypeGlob)
		}
	}
	if q.Status != "" && !q.Status.Valid() {
		return fmt.Errorf("%w: status %q", ErrInvalid, q.Status)
	}
	for _, t := range []time.Time{q.Since, q.Until} {
		if err := CheckTime(t); err != nil {
			return err
		}
	}
	return nil
}

// EventPage is one page of ListEvents.
type EventPage struct {
	Events []Event
	Next   string
}

// WindowStats counts what happened since a time.
type WindowStats struct {
	Since        time.Time
	Accepted     map[string]int              // new events per provider
	Destinations map[string]DestinationStats // attempts per destination name
	// Sampled: Destinations count the attempts of only the newest of the
	// window's events (a store that cannot count them all cheaply: dynamo).
	Sampled bool
}

// DestinationStats are one destination's attempts in a window.
type DestinationStats struct {
	Attempts  int // every attempt
	Delivered int // attempts that succeeded
	Retried   int // transient failures, tried again later
	Failed    int // attempts after which the delivery was given up
	// P50 and P99 are the attempt durations' percentiles (nearest rank).
	P50, P99 time.Duration
}
