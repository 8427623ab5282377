package metrics

import (
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/ingest"
)

// IngestObserver returns an ingest.Handler Observe hook writing one EMF line
// per delivery in namespace ns to w (os.Stdout on Lambda: bare lines, not
// through the log handler, which would wrap them where CloudWatch no longer
// finds them). A metric that cannot be written is dropped: metrics never
// fail a delivery. Safe for concurrent use.
func IngestObserver(w io.Writer, ns string) func(ingest.Result) {
	return observer(w, ns, time.Now, IngestRecord)
}

// IngestAttrs returns an ingest.Handler LineAttrs hook: the EMF members
// of IngestRecord in namespace ns (see Attrs), which make the delivery's
// wide line its metrics document. A record that cannot be written adds
// nothing: metrics never fail a delivery.
func IngestAttrs(ns string) func(ingest.Result) []slog.Attr {
	return func(r ingest.Result) []slog.Attr {
		rec := IngestRecord(r, time.Now())
		rec.Namespace = ns
		attrs, _ := Attrs(rec)
		return attrs
	}
}

// AttemptAttrs is the EMF members of AttemptRecord(a) in namespace ns at
// time at (see Attrs): what the processor adds to an attempt's wide line.
func AttemptAttrs(a Attempt, ns string, at time.Time) []slog.Attr {
	rec := AttemptRecord(a, at)
	rec.Namespace = ns
	attrs, _ := Attrs(rec)
	return attrs
}

// IngestRecord is the EMF record of one delivery at time at (see the
// package doc for the dimension sets).
func IngestRecord(r ingest.Result, at time.Time) Record {
	outcome := map[string]float64{Accepted: 0, Duplicate: 0, Rejected: 0, Error: 0, Enqueued: 0}
	switch r.Outcome {
	case ingest.OutcomeNew:
		outcome[Accepted], outcome[Enqueued] = 1, 1
	case ingest.OutcomeDuplicate:
		outcome[Duplicate] = 1
	case ingest.OutcomeRequeued:
		outcome[Duplicate], outcome[Enqueued] = 1, 1
	case ingest.OutcomeRejected:
		outcome[Rejected] = 1
	case ingest.OutcomeError:
		outcome[Error] = 1
	}
	dims := map[string]string{DimProvider: r.Provider}
	byProvider := Group{
		Dimensions: [][]string{{DimProvider}},
		Metrics: []Metric{
			{Name: Received, Value: 1, Unit: Count},
			{Name: Latency, Value: ms(r.Duration), Unit: Milliseconds},
		},
	}
	for _, name := range []string{Accepted, Duplicate, Rejected, Error, Enqueued} {
		byProvider.Metrics = append(byProvider.Metrics, Metric{Name: name, Value: outcome[name], Unit: Count})
	}
	rec := Record{Time: at, Dims: dims, Groups: []Group{byProvider}}

	if r.Type != "" {
		// A property for Logs Insights, not a dimension: a metric per event
		// type would be a custom metric per type (billed per month each) and
		// ~120 bytes more of every line (CloudWatch Logs bills every byte);
		// no alarm or graph reads counts per type, and the console has them.
		dims[DimEventType] = r.Type
	}
	if r.Reason != "" && (outcome[Rejected] == 1 || outcome[Error] == 1) {
		name := Rejected
		if outcome[Error] == 1 {
			name = Error
		}
		dims[DimReason] = r.Reason
		rec.Groups = append(rec.Groups, Group{
			Dimensions: [][]string{{DimProvider, DimReason}},
			Metrics:    []Metric{{Name: name, Value: 1, Unit: Count}},
		})
	}
	return rec
}

// Attempt outcomes (as the processor names them).
const (
	OutcomeDelivered = "delivered" // the destination accepted the event
	OutcomeRetry     = "retry"     // a transient failure: tried again later
	OutcomeFailed    = "failed"    // given up: a permanent failure or the last attempt allowed
)

// Attempt is one attempt to deliver an event to a destination (processor).
type Attempt struct {
	Provider    string
	EventType   string
	Destination string
	Outcome     string        // OutcomeDelivered, OutcomeRetry or OutcomeFailed
	Reason      string        // why it did not deliver: a short stable code ("timeout", "http_5xx", …)
	Latency     time.Duration // the attempt
}

// AttemptObserver returns a hook writing one EMF line per delivery attempt
// in namespace ns to w, like IngestObserver.
func AttemptObserver(w io.Writer, ns string) func(Attempt) {
	return observer(w, ns, time.Now, AttemptRecord)
}

// AttemptRecord is the EMF record of one delivery attempt at time at (see
// the package doc for the dimension sets).
func AttemptRecord(a Attempt, at time.Time) Record {
	outcome := map[string]float64{Delivered: 0, Retried: 0, Failed: 0}
	switch a.Outcome {
	case OutcomeDelivered:
		outcome[Delivered] = 1
	case OutcomeRetry:
		outcome[Retried] = 1
	case OutcomeFailed:
		outcome[Failed] = 1
	}
	dims := map[string]string{DimProvider: a.Provider, DimDestination: a.Destination}
	if a.EventType != "" {
		dims[DimEventType] = a.EventType // a property for Logs Insights, not a dimension
	}
	rec := Record{Time: at, Dims: dims, Groups: []Group{{
		Dimensions: [][]string{{}, {DimDestination}, {DimProvider, DimDestination}},
		Metrics: []Metric{
			{Name: Delivered, Value: outcome[Delivered], Unit: Count},
			{Name: Retried, Value: outcome[Retried], Unit: Count},
			{Name: Failed, Value: outcome[Failed], Unit: Count},
			{Name: AttemptLatency, Value: ms(a.Latency), Unit: Milliseconds},
		},
	}}}
	if a.Reason != "" && outcome[Delivered] == 0 {
		byReason := Group{Dimensions: [][]string{{DimDestination, DimReason}}}
		for _, name := range []string{Retried, Failed} {
			if outcome[name] == 1 {
				byReason.Metrics = append(byReason.Metrics, Metric{Name: name, Value: 1, Unit: Count})
			}
		}
		if len(byReason.Metrics) > 0 {
			dims[DimReason] = a.Reason
			rec.Groups = append(rec.Groups, byReason)
		}
	}
	return rec
}

// AttemptBatch gathers the attempts of one processor invocation (a batch
// of SQS messages) and writes their metrics as few EMF lines as it can:
// one per provider, destination, outcome and reason, the counts summed and
// the latencies as a value array (each sample kept, so p99 stays exact),
// instead of the EMF metadata on every attempt's line (~220 bytes each:
// CloudWatch Logs bills every byte). Safe for concurrent Add.
type AttemptBatch struct {
	mu     sync.Mutex
	groups map[attemptKey][]float64 // latencies, ms
	order  []attemptKey
}

type attemptKey struct{ provider, destination, outcome, reason string }

// Add records one attempt.
func (b *AttemptBatch) Add(a Attempt) {
	k := attemptKey{a.Provider, a.Destination, a.Outcome, a.Reason}
	if a.Outcome == OutcomeDelivered {
		k.reason = "" // a delivered attempt has no reason dimension
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.groups == nil {
		b.groups = map[attemptKey][]float64{}
	}
	if _, ok := b.groups[k]; !ok {
		b.order = append(b.order, k)
	}
	b.groups[k] = append(b.groups[k], ms(a.Latency))
}

// Flush writes the gathered attempts to w in namespace ns at time at, one
// line per group (and per MaxValues attempts of it), then forgets them.
// The metrics are those of AttemptRecord, under the same dimension sets.
func (b *AttemptBatch) Flush(w io.Writer, ns string, at time.Time) error {
	b.mu.Lock()
	groups, order := b.groups, b.order
	b.groups, b.order = nil, nil
	b.mu.Unlock()
	var buf []byte
	for _, k := range order {
		lat := groups[k]
		for len(lat) > 0 {
			n := min(len(lat), MaxValues)
			rec := AttemptRecord(Attempt{Provider: k.provider, Destination: k.destination, Outcome: k.outcome, Reason: k.reason}, at)
			rec.Namespace = ns
			for gi := range rec.Groups {
				g := &rec.Groups[gi]
				for mi := range g.Metrics {
					m := &g.Metrics[mi]
					switch {
					case m.Name == AttemptLatency:
						m.Value, m.Values = 0, slices.Clone(lat[:n])
					case m.Value == 1:
						m.Value = float64(n)
					}
				}
			}
			line, err := marshal(rec, true)
			if err != nil {
				return err
			}
			buf = append(buf, line...)
			lat = lat[n:]
		}
	}
	if len(buf) == 0 {
		return nil
	}
	_, err := w.Write(buf)
	return err
}

// observer serializes writes of the records built by rec, in namespace ns.
func observer[T any](w io.Writer, ns string, now func() time.Time, rec func(T, time.Time) Record) func(T) {
	var mu sync.Mutex
	return func(v T) {
		r := rec(v, now())
		r.Namespace = ns
		line, err := Marshal(r)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		_, _ = w.Write(line)
	}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
