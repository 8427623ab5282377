// Package metrics writes hookline's CloudWatch metrics as Embedded Metric
// Format (EMF) lines: one JSON object per line on the function's stdout,
// which CloudWatch Logs turns into metrics. Nothing calls an AWS API on the
// request path, and the package does no I/O of its own beyond one Write per
// line to the io.Writer it is given.
//
// Every metric of one deployment is in one namespace, the one the observers
// are given: on Lambda HOOKLINE_METRICS_NAMESPACE, which template.yaml sets
// to "hookline/<stack name>" so that two stacks in one account and region
// never feed each other's alarms (DefaultNamespace when it is unset). The
// dimensions are provider,
// destination and reason; which metric is recorded under which
// dimension sets is decided here (IngestObserver, AttemptRecord), so the
// alarms and the dashboard in template.yaml can rely on it:
//
//	ingest, one line per delivery (IngestObserver)
//	  [provider]                 received, accepted, duplicate, rejected, error,
//	                             enqueued (each 0 or 1), latency (ms)
//	  event_type is a property of the line (Logs Insights), not a dimension
//	  [provider, reason]         rejected or error (only when it is 1)
//	processor, one line per batch, provider, destination, outcome and reason
//	(AttemptBatch; AttemptRecord for one attempt)
//	  [] (no dimension),
//	  [destination],
//	  [provider, destination]    delivered, retried, failed (the attempts counted),
//	                             attempt_latency (ms, one sample per attempt)
//	  [destination, reason]      retried or failed (only when not 0)
//
// See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// DefaultNamespace is the namespace of a record that names none, and of the
// functions when HOOKLINE_METRICS_NAMESPACE is unset.
const DefaultNamespace = "hookline"

// CheckNamespace reports whether CloudWatch accepts ns as a custom
// namespace: 1 to 255 characters among letters, digits and . - _ / # : and
// space, not only spaces, and not in the "AWS/" namespaces AWS reserves.
// CloudWatch drops the EMF lines of an invalid one without a word, so the
// functions check it once at cold start.
func CheckNamespace(ns string) error {
	if ns == "" || len(ns) > 255 || strings.TrimSpace(ns) == "" {
		return fmt.Errorf("metrics: namespace %q: want 1 to 255 characters, not only spaces", ns)
	}
	for _, c := range ns {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(".-_/#: ", c)) {
			return fmt.Errorf("metrics: namespace %q: %q is not allowed (letters, digits and . - _ / # : space)", ns, c)
		}
	}
	if strings.HasPrefix(ns, "AWS/") {
		return fmt.Errorf("metrics: namespace %q: AWS/ namespaces are reserved for AWS", ns)
	}
	return nil
}

// Dimension names.
const (
	DimProvider    = "provider"
	DimEventType   = "event_type"
	DimDestination = "destination"
	DimReason      = "reason"
)

// Metric names.
const (
	Received       = "received"        // a delivery reached an ingest function
	Accepted       = "accepted"        // a new event was stored (and enqueued)
	Duplicate      = "duplicate"       // a delivery of an event already stored
	Rejected       = "rejected"        // the provider's fault: answered 4xx
	Error          = "error"           // our fault: answered 5xx, the provider retries
	Enqueued       = "enqueued"        // an event was put on the queue
	Latency        = "latency"         // ingest handler duration, ms
	Delivered      = "delivered"       // an attempt reached its destination
	Retried        = "retried"         // an attempt failed and will be tried again
	Failed         = "failed"          // an attempt failed and the destination was given up
	AttemptLatency = "attempt_latency" // one delivery attempt, ms
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units hookline uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Metric is one value, or with Values several samples of it (EMF allows
// up to MaxValues in one document; CloudWatch keeps each, so percentiles
// stay exact).
type Metric struct {
	Name   string
	Value  float64
	Values []float64
	Unit   Unit
}

// MaxValues is the most values EMF takes for one metric in one document.
const MaxValues = 100

func (m Metric) equal(o Metric) bool {
	return m.Name == o.Name && m.Value == o.Value && m.Unit == o.Unit && slices.Equal(m.Values, o.Values)
}

// Group is a set of metrics recorded under each of its dimension sets.
type Group struct {
	Dimensions [][]string
	Metrics    []Metric
}

// Record is one EMF line.
type Record struct {
	Namespace string // default DefaultNamespace
	Time      time.Time
	Dims      map[string]string // dimension values
	Groups    []Group
}

// Emit writes r to w as one EMF line (a single Write). It refuses a record
// that CloudWatch would drop: a dimension without a value, a metric declared
// twice with different values, a name used both as dimension and metric.
func Emit(w io.Writer, r Record) error {
	line, err := Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(line)
	return err
}

// Marshal returns r as one EMF line, newline included (see Emit).
func Marshal(r Record) ([]byte, error) { return marshal(r, false) }

// marshal is r's EMF line, newline included; compact as in Attrs.
func marshal(r Record, compact bool) ([]byte, error) {
	root, err := document(r, compact)
	if err != nil {
		return nil, err
	}
	line, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	return append(line, '\n'), nil
}

// Attrs returns r's EMF members (its dimension values, metric values and
// "_aws" metadata) as log attributes, in name order, leaving out those
// named in skip (which the caller's line already holds, with the same
// value). Added to a JSON log line, they make that line the EMF document:
// EMF allows any other member, so the one wide line of a delivery carries
// its metrics and no second line repeats it (CloudWatch Logs bills every
// byte).
//
// The line form is compact: a Count metric of value 0 is left out (a Sum
// over no value is 0; the template's alarms are on Sums and treat missing
// data as not breaching), and so is the Count unit (CloudWatch records
// None; nothing selects by unit).
func Attrs(r Record, skip ...string) ([]slog.Attr, error) {
	root, err := document(r, true)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(root))
	for k := range root {
		if !slices.Contains(skip, k) {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	attrs := make([]slog.Attr, len(names))
	for i, k := range names {
		attrs[i] = slog.Any(k, root[k])
	}
	return attrs, nil
}

// document is r as the EMF document's root object.
func document(r Record, compact bool) (map[string]any, error) {
	ns := r.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	root := map[string]any{}
	for k, v := range r.Dims {
		root[k] = v
	}
	declared := map[string]Metric{}
	directives := make([]directive, 0, len(r.Groups))
	for _, g := range r.Groups {
		d := directive{Namespace: ns, Dimensions: g.Dimensions, Metrics: make([]definition, 0, len(g.Metrics))}
		if d.Dimensions == nil {
			d.Dimensions = [][]string{}
		}
		for _, set := range g.Dimensions {
			for _, k := range set {
				if r.Dims[k] == "" {
					return nil, fmt.Errorf("metrics: dimension %q has no value", k)
				}
			}
		}
		for _, m := range g.Metrics {
			if m.Name == "" {
				return nil, errors.New("metrics: metric without a name")
			}
			if prev, ok := declared[m.Name]; ok && !prev.equal(m) {
				return nil, fmt.Errorf("metrics: metric %q declared twice with different values", m.Name)
			}
			if _, isDim := r.Dims[m.Name]; isDim {
				return nil, fmt.Errorf("metrics: %q is both a dimension and a metric", m.Name)
			}
			declared[m.Name] = m
			if len(m.Values) > MaxValues {
				return nil, fmt.Errorf("metrics: metric %q has %d values, EMF takes at most %d", m.Name, len(m.Values), MaxValues)
			}
			unit := string(m.Unit)
			if compact && m.Unit == Count {
				if m.Value == 0 && len(m.Values) == 0 {
					continue
				}
				unit = ""
			}
			if m.Values != nil {
				root[m.Name] = m.Values
			} else {
				root[m.Name] = m.Value
			}
			d.Metrics = append(d.Metrics, definition{Name: m.Name, Unit: unit})
		}
		if len(d.Metrics) == 0 && compact {
			continue
		}
		directives = append(directives, d)
	}
	root["_aws"] = meta{Timestamp: r.Time.UnixMilli(), CloudWatchMetrics: directives}
	return root, nil
}

// The EMF metadata, as the specification names it.
type meta struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

type directive struct {
	Namespace  string       `json:"Namespace"`
	Dimensions [][]string   `json:"Dimensions"`
	Metrics    []definition `json:"Metrics"`
}

type definition struct {
	Name string `json:"Name"`
	Unit string `json:"Unit,omitempty"`
}
