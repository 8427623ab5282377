package store

import (
	"fmt"
	"path"
	"slices"
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
//	    Events accepted per provider, and attempts per destination, since;
//	    duplicates and rejections per provider from the flushed minute
//	    counts (AddMinuteCounts) of the minutes from since's on.
//	Series(ctx, q SeriesQuery) (Series, error)
//	    The same figures per bucket of q.Step (the console's charts):
//	    q.Buckets buckets from q.Since. Refuses a q that fails Validate
//	    with ErrInvalid.
//
// and, written by `hookline serve` only (the console counts duplicates and
// rejections in memory and flushes them once a minute, one write for every
// provider together):
//
//	AddMinuteCounts(ctx, cs []MinuteCount) error
//	    Adds each count to its (minute, provider) row: one small write,
//	    whatever the number of rows; adding twice counts twice.

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
	// FailedSince, with Destination, selects the events whose delivery to
	// Destination was given up (FailedAt) at or after it: "recover failed
	// since T". Zero: no such condition.
	FailedSince time.Time
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
	for _, t := range []time.Time{q.Since, q.Until, q.FailedSince} {
		if err := CheckTime(t); err != nil {
			return err
		}
	}
	if !q.FailedSince.IsZero() && q.Destination == "" {
		return fmt.Errorf("%w: failed_since needs a destination", ErrInvalid)
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
	Duplicate    map[string]int              // flushed duplicate counts per provider (may be nil)
	Rejected     map[string]int              // flushed rejection counts per provider (may be nil)
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
	// Filtered counts the events its filter turned away: recorded in the
	// history, but not attempts (not in Attempts, nor the percentiles).
	Filtered int
	// P50 and P99 are the attempt durations' percentiles (nearest rank).
	P50, P99 time.Duration
}

// SeriesQuery asks for Buckets consecutive buckets of Step from Since.
type SeriesQuery struct {
	Since   time.Time // whole minute
	Step    time.Duration
	Buckets int
}

// MaxBuckets bounds SeriesQuery.Buckets.
const MaxBuckets = 1440

// Validate reports whether q can be run: Since set, in range and on a whole
// minute, Step a whole number of minutes, Buckets 1 to MaxBuckets. The
// error wraps ErrInvalid.
func (q SeriesQuery) Validate() error {
	switch {
	case q.Since.IsZero() || q.Since.Truncate(time.Minute) != q.Since:
		return fmt.Errorf("%w: series since must be a whole minute", ErrInvalid)
	case q.Step < time.Minute || q.Step%time.Minute != 0:
		return fmt.Errorf("%w: series step %s is not a whole number of minutes", ErrInvalid, q.Step)
	case q.Buckets < 1 || q.Buckets > MaxBuckets:
		return fmt.Errorf("%w: %d series buckets, want 1 to %d", ErrInvalid, q.Buckets, MaxBuckets)
	}
	if err := CheckTime(q.Since); err != nil {
		return err
	}
	return CheckTime(q.End())
}

// End is the end of q's last bucket.
func (q SeriesQuery) End() time.Time { return q.Since.Add(time.Duration(q.Buckets) * q.Step) }

// NewSeries is q's answer with nothing counted yet: q.Buckets buckets of
// q.Step from q.Since, with empty (not nil) maps.
func (q SeriesQuery) NewSeries() Series {
	out := Series{Step: q.Step, Buckets: make([]Bucket, q.Buckets)}
	for i := range out.Buckets {
		out.Buckets[i] = Bucket{Start: q.Since.Add(time.Duration(i) * q.Step).UTC(),
			Providers: map[string]IngestCounts{}, Destinations: map[string]DestinationStats{}}
	}
	return out
}

// Series is the answer to a SeriesQuery: exactly q.Buckets buckets, the
// first starting at q.Since.
type Series struct {
	Step    time.Duration
	Buckets []Bucket
	// Sampled: the store counted only part of the window (DynamoDB reads
	// at most a bounded number of keys per call; see store/dynamo).
	Sampled bool
}

// Bucket is one step of a Series. Its maps are never nil.
type Bucket struct {
	Start        time.Time
	Providers    map[string]IngestCounts     // what ingest did per provider
	Destinations map[string]DestinationStats // attempts per destination (percentiles of this bucket)
}

// IngestCounts are the outcomes of the deliveries of one provider:
// Accepted are new events (the events table), Duplicate and Rejected the
// flushed minute counts.
type IngestCounts struct {
	Accepted, Duplicate, Rejected int
}

// MinuteCount is what a console counted in memory for one provider in one
// minute, flushed with AddMinuteCounts.
type MinuteCount struct {
	Minute    time.Time // truncated to the minute
	Provider  string
	Duplicate int
	Rejected  int
}

// Validate reports whether c can be added: Minute set and whole, in range,
// Provider 1 to MaxProviderLen bytes, counts not negative.
func (c MinuteCount) Validate() error {
	switch {
	case c.Minute.IsZero() || c.Minute.Truncate(time.Minute) != c.Minute:
		return fmt.Errorf("%w: minute count needs a whole minute", ErrInvalid)
	case c.Provider == "" || len(c.Provider) > MaxProviderLen:
		return fmt.Errorf("%w: minute count provider", ErrInvalid)
	case c.Duplicate < 0 || c.Rejected < 0:
		return fmt.Errorf("%w: negative minute count", ErrInvalid)
	}
	return CheckTime(c.Minute)
}

// Tally turns attempts into DestinationStats per destination: the one way
// every store's Stats and Series count them. A filtered attempt counts as
// Filtered only (no attempt was made, no latency); the others as Attempts
// and by outcome, their durations giving P50 and P99 (nearest rank). The
// zero Tally is ready; it is not safe for concurrent use.
type Tally struct {
	stats     map[string]DestinationStats
	durations map[string][]time.Duration
}

// Add counts one attempt to dest with outcome (delivered, retry, failed or
// filtered) that took d.
func (t *Tally) Add(dest, outcome string, d time.Duration) {
	if t.stats == nil {
		t.stats, t.durations = map[string]DestinationStats{}, map[string][]time.Duration{}
	}
	s := t.stats[dest]
	defer func() { t.stats[dest] = s }()
	if outcome == "filtered" {
		s.Filtered++
		return
	}
	s.Attempts++
	switch outcome {
	case "delivered":
		s.Delivered++
	case "retry":
		s.Retried++
	case "failed":
		s.Failed++
	}
	t.durations[dest] = append(t.durations[dest], d)
}

// Stats is what was counted, per destination, with the percentiles (never
// nil).
func (t *Tally) Stats() map[string]DestinationStats {
	out := make(map[string]DestinationStats, len(t.stats))
	for dest, s := range t.stats {
		if ds := t.durations[dest]; len(ds) > 0 {
			slices.Sort(ds)
			s.P50, s.P99 = nearestRank(ds, 50), nearestRank(ds, 99)
		}
		out[dest] = s
	}
	return out
}

// nearestRank is the nearest-rank percentile p of the sorted, non-empty ds.
func nearestRank(ds []time.Duration, p int) time.Duration {
	i := (p*len(ds)+99)/100 - 1
	return ds[max(0, min(i, len(ds)-1))]
}
