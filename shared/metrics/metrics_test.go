package metrics_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/metrics"
)

var at = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// values flattens a record to "metric{dim=value,...}" → value, one entry per
// metric and dimension set, which is what CloudWatch will store.
func values(r metrics.Record) map[string]float64 {
	out := map[string]float64{}
	for _, g := range r.Groups {
		for _, set := range g.Dimensions {
			var dims []string
			for _, k := range set {
				dims = append(dims, k+"="+r.Dims[k])
			}
			for _, m := range g.Metrics {
				out[m.Name+"{"+strings.Join(dims, ",")+"}"] = m.Value
			}
		}
	}
	return out
}

func TestIngestRecord(t *testing.T) {
	const p = "{provider=leadron}"
	zero := map[string]float64{
		"received" + p: 1, "latency" + p: 12.5,
		"accepted" + p: 0, "duplicate" + p: 0, "rejected" + p: 0, "error" + p: 0, "enqueued" + p: 0,
	}
	with := func(extra map[string]float64) map[string]float64 {
		m := map[string]float64{}
		for k, v := range zero {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		result ingest.Result
		want   map[string]float64
	}{
		{"new", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeNew, Status: 200},
			with(map[string]float64{"accepted" + p: 1, "enqueued" + p: 1})},
		{"new, marking it queued failed", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeNew, Reason: "mark_queued_failed", Status: 200},
			with(map[string]float64{"accepted" + p: 1, "enqueued" + p: 1})},
		{"duplicate", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeDuplicate, Status: 200},
			with(map[string]float64{"duplicate" + p: 1})},
		{"duplicate re-enqueued", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeRequeued, Status: 200},
			with(map[string]float64{"duplicate" + p: 1, "enqueued" + p: 1})},
		{"rejected before verification", ingest.Result{Outcome: ingest.OutcomeRejected, Reason: "bad_signature", Status: 401},
			with(map[string]float64{"rejected" + p: 1, "rejected{provider=leadron,reason=bad_signature}": 1})},
		{"rejected payload of a known type", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeRejected, Reason: "invalid_payload", Status: 400},
			with(map[string]float64{"rejected" + p: 1, "rejected{provider=leadron,reason=invalid_payload}": 1})},
		{"our failure", ingest.Result{Type: "leadron.lead.created", Outcome: ingest.OutcomeError, Reason: "queue_unavailable", Status: 503},
			with(map[string]float64{"error" + p: 1, "error{provider=leadron,reason=queue_unavailable}": 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.result.Provider = "leadron"
			tt.result.Duration = 12500 * time.Microsecond
			rec := metrics.IngestRecord(tt.result, at)
			if got := values(rec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics:\n got %v\nwant %v", got, tt.want)
			}
			// What is written parses back to the same metrics.
			line, err := metrics.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			back, err := metrics.Parse(line)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			if got := values(back); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parsed back:\n got %v\nwant %v", got, tt.want)
			}
			if back.Namespace != "hookline" || !back.Time.Equal(at) {
				t.Errorf("namespace %q, time %v", back.Namespace, back.Time)
			}
		})
	}
}

func TestAttemptRecord(t *testing.T) {
	counts := func(delivered, retried, failed, latency float64) map[string]float64 {
		m := map[string]float64{}
		for _, dims := range []string{"{}", "{destination=crm}", "{provider=tomba,destination=crm}"} {
			m["delivered"+dims], m["retried"+dims], m["failed"+dims], m["attempt_latency"+dims] = delivered, retried, failed, latency
		}
		return m
	}
	with := func(m map[string]float64, k string, v float64) map[string]float64 { m[k] = v; return m }
	tests := []struct {
		name    string
		attempt metrics.Attempt
		want    map[string]float64
	}{
		{"delivered", metrics.Attempt{Outcome: metrics.OutcomeDelivered, Latency: 80 * time.Millisecond}, counts(1, 0, 0, 80)},
		{"retried", metrics.Attempt{Outcome: metrics.OutcomeRetry, Reason: "http_5xx", Latency: time.Second},
			with(counts(0, 1, 0, 1000), "retried{destination=crm,reason=http_5xx}", 1)},
		{"given up", metrics.Attempt{Outcome: metrics.OutcomeFailed, Reason: "http_4xx", Latency: 5 * time.Millisecond},
			with(counts(0, 0, 1, 5), "failed{destination=crm,reason=http_4xx}", 1)},
		{"failed without a reason", metrics.Attempt{Outcome: metrics.OutcomeFailed}, counts(0, 0, 1, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.attempt.Provider, tt.attempt.Destination, tt.attempt.EventType = "tomba", "crm", "tomba.save_lead"
			var buf bytes.Buffer
			metrics.AttemptObserver(&buf, "hookline/prod")(tt.attempt)
			rec, err := metrics.Parse(buf.Bytes())
			if err != nil {
				t.Fatalf("%s: %v", buf.Bytes(), err)
			}
			if got := values(rec); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("metrics:\n got %v\nwant %v", got, tt.want)
			}
			if rec.Namespace != "hookline/prod" {
				t.Errorf("namespace %q, want the observer's hookline/prod", rec.Namespace)
			}
			// The event type rides along as a plain property.
			var root map[string]any
			_ = json.Unmarshal(buf.Bytes(), &root)
			if root["event_type"] != "tomba.save_lead" {
				t.Errorf("event_type property = %v", root["event_type"])
			}
		})
	}
}

func TestMarshalRefusesWhatCloudWatchDrops(t *testing.T) {
	count := func(name string, v float64) metrics.Metric {
		return metrics.Metric{Name: name, Value: v, Unit: metrics.Count}
	}
	tests := []struct {
		name string
		rec  metrics.Record
		want string
	}{
		{"dimension without a value", metrics.Record{Dims: map[string]string{"provider": ""},
			Groups: []metrics.Group{{Dimensions: [][]string{{"provider"}}, Metrics: []metrics.Metric{count("received", 1)}}}},
			`dimension "provider" has no value`},
		{"dimension missing", metrics.Record{
			Groups: []metrics.Group{{Dimensions: [][]string{{"destination"}}, Metrics: []metrics.Metric{count("received", 1)}}}},
			`dimension "destination" has no value`},
		{"metric declared twice with different values", metrics.Record{Dims: map[string]string{"provider": "tomba"},
			Groups: []metrics.Group{
				{Dimensions: [][]string{{"provider"}}, Metrics: []metrics.Metric{count("received", 1)}},
				{Dimensions: [][]string{{"provider"}}, Metrics: []metrics.Metric{count("received", 2)}},
			}},
			"declared twice"},
		{"name both dimension and metric", metrics.Record{Dims: map[string]string{"provider": "tomba"},
			Groups: []metrics.Group{{Dimensions: [][]string{{"provider"}}, Metrics: []metrics.Metric{count("provider", 1)}}}},
			"both a dimension and a metric"},
		{"metric without a name", metrics.Record{
			Groups: []metrics.Group{{Metrics: []metrics.Metric{count("", 1)}}}},
			"without a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := metrics.Emit(&buf, tt.rec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Emit = %v, want an error containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q for a refused record", buf.String())
			}
		})
	}
}

func TestParseChecksTheSpecification(t *testing.T) {
	valid := `{"_aws":{"Timestamp":1777636800000,"CloudWatchMetrics":[{"Namespace":"hookline",` +
		`"Dimensions":[["provider"]],"Metrics":[{"Name":"received","Unit":"Count"}]}]},"provider":"tomba","received":1}`
	if _, err := metrics.Parse([]byte(valid)); err != nil {
		t.Fatalf("valid line: %v", err)
	}
	tests := []struct {
		name, line, want string
	}{
		{"not JSON", `received=1`, "not a JSON object"},
		{"no _aws", `{"provider":"tomba","received":1}`, "no _aws"},
		{"no timestamp", strings.Replace(valid, `"Timestamp":1777636800000,`, "", 1), "Timestamp"},
		{"fractional timestamp", strings.Replace(valid, `1777636800000`, `1777636800000.5`, 1), "Timestamp"},
		{"no directive", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`, "declares no metrics"},
		{"no namespace", strings.Replace(valid, `"Namespace":"hookline",`, "", 1), "Namespace"},
		{"reserved namespace", strings.Replace(valid, `"Namespace":"hookline"`, `"Namespace":"AWS/Lambda"`, 1), "reserved"},
		{"no dimensions array", strings.Replace(valid, `"Dimensions":[["provider"]],`, "", 1), "no Dimensions"},
		{"no metrics", strings.Replace(valid, `[{"Name":"received","Unit":"Count"}]`, `[]`, 1), "0 metrics"},
		{"dimension value missing", strings.Replace(valid, `"provider":"tomba",`, "", 1), `dimension "provider" has no value`},
		{"dimension value not a string", strings.Replace(valid, `"provider":"tomba"`, `"provider":3`, 1), "not a string"},
		{"dimension value empty", strings.Replace(valid, `"provider":"tomba"`, `"provider":""`, 1), "1 to 1024"},
		{"metric value missing", strings.Replace(valid, `,"received":1`, "", 1), `metric "received" has no value`},
		{"metric value not a number", strings.Replace(valid, `"received":1`, `"received":"1"`, 1), "not a number"},
		{"bad unit", strings.Replace(valid, `"Unit":"Count"`, `"Unit":"Requests"`, 1), "not a CloudWatch unit"},
		{"bad storage resolution", strings.Replace(valid, `"Unit":"Count"`, `"Unit":"Count","StorageResolution":5`, 1), "StorageResolution"},
		{"two namespaces", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[` +
			`{"Namespace":"a","Dimensions":[],"Metrics":[{"Name":"x"}]},` +
			`{"Namespace":"b","Dimensions":[],"Metrics":[{"Name":"x"}]}]},"x":1}`, "namespaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := metrics.Parse([]byte(tt.line))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want an error containing %q", err, tt.want)
			}
		})
	}
	// An array of values is allowed; its first value is reported.
	rec, err := metrics.Parse([]byte(strings.Replace(valid, `"received":1`, `"received":[3,4]`, 1)))
	if err != nil || rec.Groups[0].Metrics[0].Value != 3 {
		t.Fatalf("array value: %+v %v", rec, err)
	}
}

// One line per delivery, each a single Write, even from many goroutines.
func TestIngestObserverWritesWholeLines(t *testing.T) {
	var buf bytes.Buffer
	observe := metrics.IngestObserver(&buf, "hookline/dev-stack")
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			observe(ingest.Result{Provider: "journeybee", Type: "journeybee.lead_created", Outcome: ingest.OutcomeNew, Status: 200})
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if len(lines) != 50 {
		t.Fatalf("%d lines, want 50", len(lines))
	}
	for _, l := range lines {
		if !metrics.IsEMF([]byte(l)) {
			t.Fatalf("not an EMF line: %q", l)
		}
		if rec, err := metrics.Parse([]byte(l)); err != nil || rec.Namespace != "hookline/dev-stack" {
			t.Fatalf("%q: namespace %q, %v; want the observer's hookline/dev-stack", l, rec.Namespace, err)
		}
	}
	// A delivery without a provider cannot be recorded: nothing is written.
	buf.Reset()
	observe(ingest.Result{Outcome: ingest.OutcomeRejected})
	if buf.Len() != 0 {
		t.Fatalf("wrote %q", buf.String())
	}
}

// The namespaces CloudWatch takes for custom metrics, and those it refuses
// (an EMF line in one of those is dropped without a word).
func TestCheckNamespace(t *testing.T) {
	for _, ns := range []string{"hookline", "hookline/prod", "hookline/my-stack-2", "Team.App_1#x:y", "a b", strings.Repeat("n", 255)} {
		if err := metrics.CheckNamespace(ns); err != nil {
			t.Errorf("CheckNamespace(%q) = %v", ns, err)
		}
	}
	for ns, want := range map[string]string{
		"":                       "1 to 255",
		"   ":                    "not only spaces",
		strings.Repeat("n", 256): "1 to 255",
		"AWS/Lambda":             "reserved",
		"hookline/${Stack}":      `'$' is not allowed`,
		"hookline\nprod":         `'\n' is not allowed`,
		"hookline/prod\u00e9":    `'é' is not allowed`,
	} {
		if err := metrics.CheckNamespace(ns); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckNamespace(%q) = %v, want an error containing %q", ns, err, want)
		}
	}
}

// TestWideLineIsTheEMFDocument: the EMF members Attrs gives, added to a
// JSON log line that already has some of them (provider), make that line an
// EMF document with the same metrics as the record's own line.
func TestWideLineIsTheEMFDocument(t *testing.T) {
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	res := ingest.Result{Provider: "journeybee", Type: "journeybee.lead_created", EventID: "01X", Outcome: ingest.OutcomeNew,
		Status: 200, Duration: 12 * time.Millisecond}
	rec := metrics.IngestRecord(res, at)
	rec.Namespace = "hookline/test"
	attrs, err := metrics.Attrs(rec, "provider")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	log.LogAttrs(t.Context(), slog.LevelInfo, "delivery", append([]slog.Attr{slog.String("provider", "journeybee"),
		slog.String("event_id", "01X"), slog.Int("status", 200)}, attrs...)...)
	line := bytes.TrimSpace(buf.Bytes())
	if !metrics.IsEMF(line) || bytes.Count(line, []byte(`"provider":`)) != 1 {
		t.Fatalf("wide line %s: not EMF, or provider twice", line)
	}
	got, err := metrics.Parse(line)
	if err != nil {
		t.Fatalf("Parse(%s): %v", line, err)
	}
	own, err := metrics.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := metrics.Parse(own)
	if err != nil {
		t.Fatal(err)
	}
	// The same values, but for the zero counts the line leaves out.
	w := values(want)
	for k, v := range w {
		if v == 0 && !strings.HasPrefix(k, "latency") {
			delete(w, k)
		}
	}
	if g := values(got); !reflect.DeepEqual(g, w) || len(w) == 0 {
		t.Errorf("wide line's metrics %v, want %v", g, w)
	}
	if strings.Contains(string(line), `"Count"`) || !strings.Contains(string(line), `"Milliseconds"`) {
		t.Errorf("wide line's units: %s", line)
	}
	if !strings.Contains(string(line), `"event_id":"01X"`) || !strings.Contains(string(line), `"msg":"delivery"`) {
		t.Errorf("wide line lost its own fields: %s", line)
	}
}

// An invocation's attempts are written as one EMF line per provider,
// destination, outcome and reason: counts summed, every latency kept as a
// sample, the dimension sets of AttemptRecord; more than MaxValues
// attempts of one group take several lines; nothing gathered, no line.
func TestAttemptBatch(t *testing.T) {
	var b metrics.AttemptBatch
	var buf bytes.Buffer
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if err := b.Flush(&buf, "hookline/prod", at); err != nil || buf.Len() != 0 {
		t.Fatalf("empty flush wrote %q, %v", buf.String(), err)
	}
	for i := range 3 {
		b.Add(metrics.Attempt{Provider: "journeybee", Destination: "crm", Outcome: metrics.OutcomeDelivered, Latency: time.Duration(10+i) * time.Millisecond})
	}
	b.Add(metrics.Attempt{Provider: "journeybee", Destination: "crm", Outcome: metrics.OutcomeRetry, Reason: "http_503", Latency: 30 * time.Millisecond})
	b.Add(metrics.Attempt{Provider: "leadron", Destination: "crm", Outcome: metrics.OutcomeFailed, Reason: "http_400", Latency: 5 * time.Millisecond})
	for range 150 {
		b.Add(metrics.Attempt{Provider: "tomba", Destination: "slack", Outcome: metrics.OutcomeDelivered, Latency: time.Millisecond})
	}
	if err := b.Flush(&buf, "hookline/prod", at); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 5 {
		t.Fatalf("%d lines, want 5 (delivered, retry, failed, 2×tomba):\n%s", len(lines), buf.String())
	}
	sum := map[string]float64{}
	samples := map[string]int{}
	for _, l := range lines {
		rec, err := metrics.Parse([]byte(l))
		if err != nil {
			t.Fatalf("Parse(%s): %v", l, err)
		}
		if rec.Namespace != "hookline/prod" || !rec.Time.Equal(at) {
			t.Errorf("namespace %q time %v", rec.Namespace, rec.Time)
		}
		for _, g := range rec.Groups {
			for _, set := range g.Dimensions {
				key := ""
				for _, d := range set {
					key += "," + d + "=" + rec.Dims[d]
				}
				for _, m := range g.Metrics {
					if m.Name == metrics.AttemptLatency {
						samples[m.Name+"{"+key+"}"] += len(m.Values)
						continue
					}
					sum[m.Name+"{"+key+"}"] += m.Value
				}
			}
		}
	}
	for k, want := range map[string]float64{
		"delivered{}": 153, "retried{}": 1, "failed{}": 1,
		"delivered{,destination=crm}": 3, "delivered{,provider=journeybee,destination=crm}": 3,
		"delivered{,provider=tomba,destination=slack}": 150,
		"retried{,destination=crm,reason=http_503}":    1, "failed{,destination=crm,reason=http_400}": 1,
	} {
		if sum[k] != want {
			t.Errorf("%s = %v, want %v (all: %v)", k, sum[k], want, sum)
		}
	}
	if samples["attempt_latency{}"] != 155 || samples["attempt_latency{,destination=slack}"] != 150 {
		t.Errorf("latency samples %v, want 155 in all and 150 for slack", samples)
	}
	buf.Reset()
	if err := b.Flush(&buf, "hookline/prod", at); err != nil || buf.Len() != 0 {
		t.Errorf("a second flush wrote %q, %v", buf.String(), err)
	}
}
