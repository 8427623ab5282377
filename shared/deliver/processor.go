package deliver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// Store is what the processor needs of an event store (store/dynamo,
// store/sqlite): read an event, and save its delivery state on the
// condition that nobody else did since the read.
type Store interface {
	Get(ctx context.Context, id string) (store.Event, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
}

// Outcomes of an attempt, as logged and observed.
const (
	OutcomeDelivered = "delivered" // the destination accepted the event
	OutcomeRetry     = "retry"     // a transient failure: another attempt is scheduled
	OutcomeFailed    = "failed"    // a permanent failure, or the last attempt allowed: given up
	OutcomeFiltered  = "filtered"  // the destination's filter turned the event away: no attempt
)

// Attempt is one delivery attempt, as logged and passed to Observe.
type Attempt struct {
	EventID     string
	EventType   string
	Provider    string
	Destination string
	Number      int // 1 for the first attempt at this destination
	StatusCode  int // HTTP status where there is one
	Class       string
	Permanent   bool
	Outcome     string        // OutcomeDelivered, OutcomeRetry or OutcomeFailed
	Duration    time.Duration // the Deliver call
	RetryIn     time.Duration // with OutcomeRetry: the wait before the next attempt
}

// Result says what is left of an event's work after Process.
type Result struct {
	// Done: every matching destination is settled (delivered or given up),
	// or the event no longer exists. The message can be deleted.
	Done bool
	// RetryIn, when not Done, is when the next attempt is due: hide the
	// message for that long.
	RetryIn time.Duration
	// Status is the event's status after processing.
	Status store.Status
}

// Processor delivers stored events to their destinations. Process is safe
// for concurrent use, also for one event id at once (see Process).
//
// The state of each destination lives with the event (store.Delivery):
//
//   - The destinations are those of Routes whose event globs match the
//     event's canonical type. One that succeeded (DeliveredAt) or was given
//     up (FailedAt) is settled and never attempted again, whichever message
//     or processor comes next. A pending one is due when its NextAttemptAt
//     has come; due ones are attempted at once, concurrently, each bounded by
//     its timeout.
//   - An attempt's Outcome decides: OK settles it as delivered; Permanent
//     (e.g. HTTP 400, 404, 410, a redirect) settles it as failed after one
//     attempt; a transient failure schedules the next attempt after
//     Backoff.Delay (honouring Retry-After), unless that was attempt
//     max_attempts, which settles it as failed.
//   - A destination with a filter or transform runs them first (see
//     transform.go): an event its filter turns away is settled as filtered
//     without an attempt; a program that fails is a permanent failure.
//   - The event's status follows: delivered once every matching destination
//     succeeded or filtered the event out (also when none matches), failed once every one is settled
//     and at least one was given up, queued while any is pending. So a
//     failed event is finished, and can be replayed as it stands.
//   - The new state is saved with store SaveDeliveries on the version read.
//     If another processor saved in between (a duplicate message), the
//     processor reloads, applies its own attempts to what it finds (a
//     success recorded by the other stands) and saves again.
//
// Deadline: when ctx has a deadline (the Lambda invocation's), each
// attempt ends by the smaller of its destination's timeout and that
// deadline less SaveMargin (default DefaultSaveMargin), so the results are
// always saved before Lambda ends the invocation. A destination with less
// than MinAttemptTime left (or its own timeout, if shorter) is not
// attempted: it stays due, and the Result says retry at once. An attempt
// cut short by the invocation's deadline (not by its own timeout) is not
// counted against max_attempts and not recorded: it says nothing about the
// destination, which did not get its full timeout. It is logged and
// observed with class "deadline" and outcome retry, and made again when the
// message comes back. The config keeps every timeout under what a full
// invocation leaves (config.MaxDestinationTimeout), so a destination that
// always hangs still uses up its attempts: only invocations already short
// of time cut attempts.
//
// Duplicates: a destination recorded as succeeded is never sent the event
// again. Two processors that handle the same event at the same moment can
// both attempt a pending destination (within one Processor, concurrent
// calls for one event id share one run instead); receivers dedupe on
// webhook-id, the event id, which is the same on every attempt. An attempt
// whose result could not be saved (the store failed) is not counted and is
// made again.
type Processor struct {
	Store   Store
	Routes  []Route
	Backoff Backoff
	// Log gets one line per attempt ("delivery_attempt": event id, type,
	// provider, destination, attempt, status code, class, outcome,
	// duration); never a body, header or secret. Nil: no logging.
	Log *slog.Logger
	// Observe, if set, is called once per attempt (metrics).
	Observe func(Attempt)
	// LineAttrs, if set, adds attributes to an attempt's line, except
	// those it already has (the Lambda: the CloudWatch EMF members of its
	// metrics, so that the one line is also the metrics document).
	LineAttrs func(Attempt) []slog.Attr
	// History, if set, records every attempt (see history.go); nil: the
	// Store, if it is an AttemptRecorder.
	History AttemptRecorder
	// Now is the clock (default time.Now). Deadlines are on the wall clock.
	Now func() time.Time
	// SaveMargin is kept free before ctx's deadline to save the results
	// (default DefaultSaveMargin).
	SaveMargin time.Duration

	mu      sync.Mutex
	flights map[string]*flight
}

// flight is one running Process of an event id, shared by concurrent calls.
type flight struct {
	done chan struct{}
	res  Result
	err  error
}

// Deadline handling (see Processor).
const (
	// DefaultSaveMargin is the time kept at the end of an invocation for
	// SaveDeliveries (a reload and save again if another processor saved)
	// and the message's ChangeMessageVisibility. It is part of
	// config.ProcessorReserve.
	DefaultSaveMargin = 5 * time.Second
	// MinAttemptTime is the least time an attempt is started with (or its
	// destination's timeout, if shorter).
	MinAttemptTime = time.Second
	// ClassDeadline is the class of an attempt cut by the invocation's
	// deadline: retried, not counted.
	ClassDeadline = "deadline"
)

// maxSaves bounds how often Process reloads and saves again when other
// processors keep saving the same event.
const maxSaves = 8

// errContended: other processors kept changing the event.
var errContended = errors.New("deliver: event changed by others on every save")

// NewProcessor builds the processor of a config: a Route for every
// destination (built by b), the config's backoff, logging to log.
func NewProcessor(cfg *config.Config, st Store, b Builders, log *slog.Logger) (*Processor, error) {
	routes, err := NewRoutes(cfg.Destinations, b)
	if err != nil {
		return nil, fmt.Errorf("deliver: %w", err)
	}
	if len(routes) > store.MaxDeliveries {
		return nil, fmt.Errorf("deliver: %d destinations, at most %d", len(routes), store.MaxDeliveries)
	}
	return &Processor{Store: st, Routes: routes, Backoff: BackoffFrom(cfg.Processor), Log: log}, nil
}

// Lease is how long one Process can take: the longest destination timeout
// (destinations are attempted concurrently) plus 30 s for the store. A
// queue's visibility while a message is processed must be at least this.
func (p *Processor) Lease() time.Duration {
	longest := time.Duration(0)
	for _, r := range p.Routes {
		longest = max(longest, timeoutOf(r))
	}
	return longest + 30*time.Second
}

// Process loads the event eventID, attempts every matching destination that
// is due, saves the new delivery state and status, and says what is left.
// A missing event (deleted by retention, or an id that never existed) is
// Done. An error means the store failed: the work is unchanged, retry the
// message later. Concurrent calls for the same id wait for the running one
// and share its result.
func (p *Processor) Process(ctx context.Context, eventID string) (Result, error) {
	p.mu.Lock()
	if f, ok := p.flights[eventID]; ok {
		p.mu.Unlock()
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	if p.flights == nil {
		p.flights = make(map[string]*flight)
	}
	f := &flight{done: make(chan struct{})}
	p.flights[eventID] = f
	p.mu.Unlock()

	f.res, f.err = p.process(ctx, eventID)

	p.mu.Lock()
	delete(p.flights, eventID)
	p.mu.Unlock()
	close(f.done)
	return f.res, f.err
}

func (p *Processor) process(ctx context.Context, id string) (Result, error) {
	if end, ok := p.attemptsEnd(ctx); ok && time.Until(end) < MinAttemptTime {
		// Too late in the invocation to load, attempt and save: leave the
		// event as it is and retry the message at once.
		p.logDeferred(ctx, id, "", time.Until(end))
		return Result{}, nil
	}
	ev, err := p.Store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		p.logMissing(ctx, id)
		return Result{Done: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	routes := p.matching(ev.Type)
	attempts := p.attemptDue(ctx, ev, routes)
	p.report(ctx, ev, routes, attempts)
	saver, _ := p.Store.(StateSaver)
	if p.History != nil {
		saver = nil
	}
	var history []store.Attempt
	if saver != nil {
		history = p.historyOf(ev, routes, attempts)
	}
	historySaved := false
	defer func() { // after the save below
		if !historySaved {
			p.recordHistory(ctx, ev, routes, attempts)
		}
	}()

	// Save even when the caller's context ended during the attempts: a
	// success that is not recorded would be sent again.
	sctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
	}
	for save := 1; ; save++ {
		ds, changed := p.merge(ev.Deliveries, routes, attempts, p.now())
		status := statusOf(ds, routes)
		if !changed && status == ev.Status {
			break
		}
		var ok bool
		if saver != nil {
			ok, err = saver.SaveState(sctx, ev, ds, status, history)
		} else {
			ok, err = p.Store.SaveDeliveries(sctx, id, ev.Version, ds, status)
		}
		if err != nil {
			return Result{}, err
		}
		if ok {
			ev.Deliveries, ev.Status = ds, status
			historySaved = saver != nil
			break
		}
		if save == maxSaves {
			return Result{}, errContended
		}
		// Another processor saved since the read: apply ours to its state.
		if ev, err = p.Store.Get(sctx, id); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Result{Done: true}, nil
			}
			return Result{}, err
		}
	}
	return p.result(ev, routes, p.now()), nil
}

// matching returns the routes whose globs match the canonical type.
func (p *Processor) matching(eventType string) []Route {
	var out []Route
	for _, r := range p.Routes {
		if r.Config.Matches(eventType) {
			out = append(out, r)
		}
	}
	return out
}

// attempt is one attempt made by this Process.
type attempt struct {
	route      int // index in the matching routes
	number     int
	bounded    bool // the invocation ends it before the destination's timeout would
	cut        bool // cut by the invocation's deadline: not counted
	out        Outcome
	start, end time.Time // on the processor's clock
	took       time.Duration
	outcome    string
	delay      time.Duration // with OutcomeRetry
	filtered   bool          // the filter turned the event away: no attempt
}

// attemptsEnd is when attempts must be over: SaveMargin before ctx's
// deadline. ok is false when ctx has no deadline (hookline serve).
func (p *Processor) attemptsEnd(ctx context.Context) (end time.Time, ok bool) {
	dl, ok := ctx.Deadline()
	if !ok {
		return time.Time{}, false
	}
	margin := p.SaveMargin
	if margin <= 0 {
		margin = DefaultSaveMargin
	}
	return dl.Add(-margin), true
}

// attemptDue attempts every due destination, concurrently, and classifies
// the results. An attempt cut short because ctx ended is dropped: it says
// nothing about the destination. Neither is one cut by the invocation's
// deadline, which is kept (to be reported) but marked cut.
func (p *Processor) attemptDue(ctx context.Context, ev store.Event, routes []Route) []attempt {
	now := p.now()
	end, bounded := p.attemptsEnd(ctx)
	left := time.Until(end)
	var due []attempt
	doc := &lazyDocument{ev: ev}
	for i, r := range routes {
		d, _ := find(ev.Deliveries, r.Config.Name)
		if d.Settled() || d.NextAttemptAt.After(now) || d.Attempts >= maxAttemptsOf(r) {
			continue
		}
		a := attempt{route: i, number: d.Attempts + 1}
		if timeout := timeoutOf(r); bounded && left < timeout {
			if left < min(timeout, MinAttemptTime) {
				p.logDeferred(ctx, ev.ID, r.Config.Name, left)
				continue // stays due: the message comes back at once
			}
			a.bounded = true
		}
		due = append(due, a)
	}
	run := func(a *attempt) {
		r := routes[a.route]
		var actx context.Context
		var cancel context.CancelFunc
		if a.bounded {
			actx, cancel = context.WithDeadline(ctx, end)
		} else {
			actx, cancel = context.WithTimeout(ctx, timeoutOf(r))
		}
		defer cancel()
		a.start = p.now()
		began := time.Now()
		a.out, a.filtered = attemptRoute(actx, r, ev, doc, a.number)
		a.took = time.Since(began)
		a.end = p.now()
		a.out.Class = normalizeClass(a.out)
		switch {
		case a.filtered:
			a.outcome = OutcomeFiltered
		case a.bounded && !a.out.OK && actx.Err() != nil:
			// The invocation's deadline, not the destination's timeout,
			// ended it: not the destination's failure.
			a.cut, a.out.Permanent = true, false
			a.outcome, a.out.Class = OutcomeRetry, ClassDeadline
		case a.out.OK:
			a.outcome = OutcomeDelivered
		case a.out.Permanent || a.number >= maxAttemptsOf(r):
			a.outcome = OutcomeFailed
		default:
			a.outcome = OutcomeRetry
			a.delay = p.Backoff.Delay(a.number, a.out.RetryAfter)
		}
	}
	if len(due) == 1 {
		run(&due[0])
	} else {
		var wg sync.WaitGroup
		for i := range due {
			wg.Go(func() { run(&due[i]) })
		}
		wg.Wait()
	}
	if ctx.Err() == nil {
		return due
	}
	kept := due[:0]
	for _, a := range due {
		if a.out.OK || a.filtered {
			kept = append(kept, a)
		}
	}
	return kept
}

// merge applies the attempts to the delivery state cur (of the event as
// read or reloaded) and settles pending deliveries that reached their
// max_attempts. It returns a new slice and whether anything changed.
func (p *Processor) merge(cur []store.Delivery, routes []Route, attempts []attempt, now time.Time) ([]store.Delivery, bool) {
	out := append([]store.Delivery(nil), cur...)
	changed := false
	for _, a := range attempts {
		if a.cut {
			continue // not counted: the destination stays as it was, due
		}
		r := routes[a.route]
		i := indexOf(out, r.Config.Name)
		if i < 0 {
			out = append(out, store.Delivery{Destination: r.Config.Name})
			i = len(out) - 1
		}
		d, ok := record(out[i], a)
		out[i] = d
		changed = changed || ok
	}
	for _, r := range routes {
		i := indexOf(out, r.Config.Name)
		if i >= 0 && !out[i].Settled() && out[i].Attempts >= maxAttemptsOf(r) {
			out[i].FailedAt, out[i].NextAttemptAt = now, time.Time{}
			changed = true
		}
	}
	return out, changed
}

// record applies one attempt to a destination's state. A success recorded
// by another processor stands; a destination already given up only changes
// if this attempt succeeded after all.
func record(d store.Delivery, a attempt) (store.Delivery, bool) {
	if d.Delivered() || (!d.FailedAt.IsZero() && !a.out.OK) {
		return d, false
	}
	if a.filtered {
		if d.Settled() {
			return d, false
		}
		d.FilteredAt, d.NextAttemptAt = a.end, time.Time{}
		return d, true
	}
	d.Attempts++
	d.LastError = cut(a.out.Error, store.MaxErrorLen)
	d.LastAttemptAt = a.start
	d.LastStatusCode = a.out.StatusCode
	d.LastClass = a.out.Class
	d.NextAttemptAt = time.Time{}
	switch a.outcome {
	case OutcomeDelivered:
		d.DeliveredAt, d.FailedAt = a.end, time.Time{}
	case OutcomeFailed:
		d.FailedAt = a.end
	default:
		d.NextAttemptAt = a.end.Add(a.delay)
	}
	return d, true
}

// statusOf derives the event's status from the state of its matching
// destinations.
func statusOf(ds []store.Delivery, routes []Route) store.Status {
	pending, failed := false, false
	for _, r := range routes {
		d, ok := find(ds, r.Config.Name)
		switch {
		case !ok || !d.Settled():
			pending = true
		case !d.Delivered() && !d.Filtered():
			failed = true
		}
	}
	switch {
	case pending:
		return store.StatusQueued
	case failed:
		return store.StatusFailed
	}
	return store.StatusDelivered
}

// result says what is left: the earliest next attempt of a pending
// destination, or Done.
func (p *Processor) result(ev store.Event, routes []Route, now time.Time) Result {
	res := Result{Done: true, Status: ev.Status}
	var next time.Time
	for _, r := range routes {
		d, ok := find(ev.Deliveries, r.Config.Name)
		if ok && d.Settled() {
			continue
		}
		at := d.NextAttemptAt // zero for an attempt dropped above: due at once
		if res.Done || at.Before(next) {
			next = at
		}
		res.Done = false
	}
	if !res.Done {
		res.RetryIn = max(next.Sub(now), 0)
	}
	return res
}

// report logs and observes each attempt.
func (p *Processor) report(ctx context.Context, ev store.Event, routes []Route, attempts []attempt) {
	for _, a := range attempts {
		if a.filtered {
			p.logFiltered(ctx, ev, routes[a.route].Config.Name)
			continue
		}
		at := Attempt{
			EventID:     ev.ID,
			EventType:   ev.Type,
			Provider:    ev.Provider,
			Destination: routes[a.route].Config.Name,
			Number:      a.number,
			StatusCode:  a.out.StatusCode,
			Class:       a.out.Class,
			Permanent:   a.out.Permanent && !a.out.OK,
			Outcome:     a.outcome,
			Duration:    a.took,
			RetryIn:     a.delay,
		}
		if p.Log != nil {
			level := slog.LevelInfo
			switch at.Outcome {
			case OutcomeRetry:
				level = slog.LevelWarn
			case OutcomeFailed:
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("event_id", at.EventID),
				slog.String("type", at.EventType),
				slog.String("provider", at.Provider),
				slog.String("destination", at.Destination),
				slog.Int("attempt", at.Number),
				slog.Int("status_code", at.StatusCode),
				slog.String("class", at.Class),
				slog.String("outcome", at.Outcome),
				slog.Float64("duration_ms", float64(at.Duration.Microseconds())/1000),
				slog.Float64("retry_in_s", at.RetryIn.Seconds()),
			}
			// What is empty or zero is left out (CloudWatch Logs bills
			// every byte).
			attrs = slices.DeleteFunc(attrs, func(a slog.Attr) bool {
				return a.Key == "class" && at.Class == "" || a.Key == "retry_in_s" && at.RetryIn == 0
			})
			if p.LineAttrs != nil {
				// The line is also the metrics document: attempt_latency is
				// duration_ms.
				attrs = slices.DeleteFunc(attrs, func(a slog.Attr) bool { return a.Key == "duration_ms" })
				n := len(attrs)
				for _, a := range p.LineAttrs(at) {
					if !slices.ContainsFunc(attrs[:n], func(b slog.Attr) bool { return b.Key == a.Key }) {
						attrs = append(attrs, a)
					}
				}
			}
			p.Log.LogAttrs(ctx, level, "delivery_attempt", attrs...)
		}
		if p.Observe != nil {
			p.Observe(at)
		}
	}
}

// logDeferred logs a destination (or, with dest "", a whole event) not
// attempted because the invocation had too little time left.
func (p *Processor) logDeferred(ctx context.Context, id, dest string, left time.Duration) {
	if p.Log != nil {
		p.Log.LogAttrs(ctx, slog.LevelWarn, "delivery_deferred", slog.String("event_id", id),
			slog.String("destination", dest), slog.String("class", ClassDeadline),
			slog.Float64("left_ms", float64(left.Microseconds())/1000))
	}
}

// logFiltered logs an event a destination's filter turned away: not an
// attempt, so not observed.
func (p *Processor) logFiltered(ctx context.Context, ev store.Event, dest string) {
	if p.Log != nil {
		p.Log.LogAttrs(ctx, slog.LevelInfo, "delivery_filtered",
			slog.String("event_id", ev.ID),
			slog.String("type", ev.Type),
			slog.String("provider", ev.Provider),
			slog.String("destination", dest),
			slog.String("outcome", OutcomeFiltered),
		)
	}
}

func (p *Processor) logMissing(ctx context.Context, id string) {
	if p.Log != nil {
		p.Log.LogAttrs(ctx, slog.LevelWarn, "event_missing", slog.String("event_id", id),
			slog.String("outcome", "dropped"))
	}
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// normalizeClass gives every failure a class that fits the store's limit.
func normalizeClass(o Outcome) string {
	switch {
	case o.OK:
		return ""
	case o.Class == "":
		return "error"
	case len(o.Class) > store.MaxClassLen:
		return strings.ToValidUTF8(o.Class[:store.MaxClassLen], "")
	}
	return o.Class
}

func maxAttemptsOf(r Route) int {
	if r.Config.MaxAttempts > 0 {
		return r.Config.MaxAttempts
	}
	return config.DefaultMaxAttempts
}

func timeoutOf(r Route) time.Duration {
	if t := r.Config.Timeout.D(); t > 0 {
		return t
	}
	return config.DefaultHTTPTimeout
}

func indexOf(ds []store.Delivery, name string) int {
	for i, d := range ds {
		if d.Destination == name {
			return i
		}
	}
	return -1
}

func find(ds []store.Delivery, name string) (store.Delivery, bool) {
	if i := indexOf(ds, name); i >= 0 {
		return ds[i], true
	}
	return store.Delivery{}, false
}
