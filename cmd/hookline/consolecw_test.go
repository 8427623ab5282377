package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// fakeCloudWatch is GetMetricData over datapoints in memory, as CloudWatch
// answers a MetricStat query: the Sum of the datapoints of the query's
// namespace, metric and dimensions per period from StartTime (while the
// period starts before EndTime), empty periods left out. It answers one
// query's result per page, so a reader that does not follow NextToken
// misses most of them.
type fakeCloudWatch struct {
	mu     sync.Mutex
	points []fakePoint
	err    error
	calls  int
}

type fakePoint struct {
	namespace, metric, provider string
	at                          time.Time
	value                       float64
}

func (f *fakeCloudWatch) count() int { f.mu.Lock(); defer f.mu.Unlock(); return f.calls }

func (f *fakeCloudWatch) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	page := 0
	if in.NextToken != nil {
		page, _ = strconv.Atoi(*in.NextToken)
	}
	if page >= len(in.MetricDataQueries) {
		return nil, errors.New("fake: NextToken past the last query")
	}
	q := in.MetricDataQueries[page]
	ms := q.MetricStat
	if ms == nil || aws.ToString(ms.Stat) != "Sum" || aws.ToInt32(ms.Period) < 60 || aws.ToInt32(ms.Period)%60 != 0 ||
		len(ms.Metric.Dimensions) != 1 || aws.ToString(ms.Metric.Dimensions[0].Name) != metrics.DimProvider {
		return nil, fmt.Errorf("fake: query %s is not a Sum per provider over whole minutes", aws.ToString(q.Id))
	}
	period := time.Duration(aws.ToInt32(ms.Period)) * time.Second
	r := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
	for start := *in.StartTime; start.Before(*in.EndTime); start = start.Add(period) {
		sum, any := 0.0, false
		for _, p := range f.points {
			if p.namespace == aws.ToString(ms.Metric.Namespace) && p.metric == aws.ToString(ms.Metric.MetricName) &&
				p.provider == aws.ToString(ms.Metric.Dimensions[0].Value) && !p.at.Before(start) && p.at.Before(start.Add(period)) {
				sum, any = sum+p.value, true
			}
		}
		if any {
			r.Timestamps, r.Values = append(r.Timestamps, start), append(r.Values, sum)
		}
	}
	out := &cloudwatch.GetMetricDataOutput{MetricDataResults: []cwtypes.MetricDataResult{r}}
	if page+1 < len(in.MetricDataQueries) {
		out.NextToken = aws.String(strconv.Itoa(page + 1))
	}
	return out, nil
}

// cwStats and cwMinutes are the parts of the two answers the tests read.
type cwStats struct {
	CountsFrom string `json:"counts_from"`
	Providers  map[string]struct {
		Accepted  int `json:"accepted"`
		Duplicate int `json:"duplicate"`
		Rejected  int `json:"rejected"`
	} `json:"providers"`
}

type cwMinutes struct {
	CountsFrom string `json:"counts_from"`
	Minutes    []struct {
		At        time.Time `json:"at"`
		Providers map[string]struct {
			Duplicate int `json:"duplicate"`
			Rejected  int `json:"rejected"`
		} `json:"providers"`
	} `json:"minutes"`
}

// ingestCount is one provider's duplicate and rejected counts.
type ingestCount struct{ duplicate, rejected int }

// perMinute is a minutes answer as counts per bucket start (Unix seconds)
// and provider (buckets without any left out).
func (m cwMinutes) perMinute() map[int64]map[string]ingestCount {
	out := map[int64]map[string]ingestCount{}
	for _, mm := range m.Minutes {
		for p, n := range mm.Providers {
			if n.Duplicate == 0 && n.Rejected == 0 {
				continue
			}
			at := mm.At.Unix()
			if out[at] == nil {
				out[at] = map[string]ingestCount{}
			}
			out[at][p] = ingestCount{n.Duplicate, n.Rejected}
		}
	}
	return out
}

// The console's duplicate and rejected counts come from the one-method
// CloudWatch reader: per provider over the stats window and per chart
// bucket, the stack's namespace only, every page of the answer; a
// CloudWatch failure leaves them at 0 and is logged, and the page answers.
// (The store is SQLite here, which counts no duplicates without a flusher;
// TestConsoleAWSCloudWatchMoto runs the same on DynamoDB Local and moto.)
func TestConsoleCloudWatchCounts(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Now().UTC()
	m10, m25 := now.Truncate(time.Minute).Add(-10*time.Minute), now.Truncate(time.Minute).Add(-25*time.Minute)
	const ns = "hookline/test-stack"
	fake := &fakeCloudWatch{points: []fakePoint{
		{ns, metrics.Duplicate, "leadron", m10.Add(5 * time.Second), 1},
		{ns, metrics.Duplicate, "leadron", m10.Add(40 * time.Second), 1},
		{ns, metrics.Rejected, "leadron", m10.Add(20 * time.Second), 1},
		{ns, metrics.Duplicate, "leadron", m25.Add(time.Second), 3},
		{ns, metrics.Rejected, "tomba", m25.Add(30 * time.Second), 4},
		{ns, metrics.Duplicate, "tomba", now.Add(-2 * time.Hour), 50},                     // before the window
		{"hookline/other-stack", metrics.Duplicate, "leadron", m10.Add(time.Second), 100}, // another stack's
		{"hookline/other-stack", metrics.Rejected, "journeybee", m25, 100},
	}}
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	addr := "127.0.0.1:0"
	counts := newCWCounts(fake, ns, wire.Providers, log)
	clk := &testClock{t: now}
	counts.now = clk.now
	con, err := console.New(cwConsoleStore{st, counts},
		func(context.Context, string, string) error { return nil },
		console.Options{Addr: addr, Providers: wire.Providers, Log: log, CountsFrom: CountsFromCloudWatch})
	if err != nil {
		t.Fatal(err)
	}
	b := &consoleBackend{name: "cloudwatch", url: runConsole(t, con)}

	var s cwStats
	b.get(t, "/api/stats?window=1h", &s)
	if fake.count() != 2*len(wire.Providers) {
		t.Errorf("stats: %d GetMetricData pages, want one per query (%d)", fake.count(), 2*len(wire.Providers))
	}
	want := map[string]ingestCount{"leadron": {5, 1}, "tomba": {0, 4}, "journeybee": {}}
	for p, w := range want {
		if got := s.Providers[p]; got.Duplicate != w.duplicate || got.Rejected != w.rejected {
			t.Errorf("stats 1h: %s %+v, want %+v", p, got, w)
		}
	}
	if s.CountsFrom != CountsFromCloudWatch {
		t.Errorf("stats: counts_from %q", s.CountsFrom)
	}
	// The same window again within cwReuseFor: the same read, no call.
	calls := fake.count()
	s = cwStats{}
	b.get(t, "/api/stats?window=1h", &s)
	if fake.count() != calls || s.Providers["leadron"].Duplicate != 5 {
		t.Errorf("stats 1h again: %d more calls, leadron %+v; want the last read's", fake.count()-calls, s.Providers["leadron"])
	}
	s = cwStats{}
	b.get(t, "/api/stats?window=15m", &s)
	if got := s.Providers["leadron"]; got.Duplicate != 2 || got.Rejected != 1 || s.Providers["tomba"].Rejected != 0 {
		t.Errorf("stats 15m: %+v, want leadron 2 duplicate 1 rejected, tomba none", s.Providers)
	}

	var m cwMinutes
	b.get(t, "/api/stats/minutes?window=1h", &m)
	if len(m.Minutes) != 60 || m.CountsFrom != CountsFromCloudWatch {
		t.Fatalf("minutes: %d buckets, counts_from %q", len(m.Minutes), m.CountsFrom)
	}
	wantMin := map[int64]map[string]ingestCount{
		m10.Unix(): {"leadron": {2, 1}},
		m25.Unix(): {"leadron": {3, 0}, "tomba": {0, 4}},
	}
	if got := m.perMinute(); fmt.Sprint(got) != fmt.Sprint(wantMin) {
		t.Errorf("minutes 1h:\n got %v\nwant %v", got, wantMin)
	}
	// A coarser step: the 25th and 10th minutes ago land in their
	// 5-minute buckets.
	m = cwMinutes{}
	b.get(t, "/api/stats/minutes?window=6h", &m)
	got6h := m.perMinute()
	if n := got6h[m10.Truncate(5*time.Minute).Unix()]["leadron"]; n != (ingestCount{2, 1}) {
		t.Errorf("minutes 6h: leadron at %v = %+v, want 2 duplicate 1 rejected (%v)", m10.Truncate(5*time.Minute), n, got6h)
	}

	// CloudWatch fails (once the reads are older than cwReuseFor): the
	// counts are 0, the page answers, the log says so.
	clk.set(now.Add(cwReuseFor))
	fake.mu.Lock()
	fake.err = errors.New("operation error CloudWatch: GetMetricData, AccessDenied")
	fake.mu.Unlock()
	s, m = cwStats{}, cwMinutes{}
	b.get(t, "/api/stats?window=1h", &s)
	b.get(t, "/api/stats/minutes?window=1h", &m)
	if s.Providers["leadron"].Duplicate != 0 || len(m.perMinute()) != 0 {
		t.Errorf("after a failure: stats %+v, minutes %v; want no counts", s.Providers, m.perMinute())
	}
	if l := logs.String(); strings.Count(l, `"msg":"console_cloudwatch"`) != 2 || !strings.Contains(l, "AccessDenied") ||
		!strings.Contains(l, ns) {
		t.Errorf("log after two failed reads:\n%s", l)
	}
}

// statsPeriod: the window in whole minutes (5 past 15 days), never 0.
func TestStatsPeriod(t *testing.T) {
	for _, c := range []struct{ window, want time.Duration }{
		{time.Minute, time.Minute},
		{time.Hour, time.Hour},
		{90 * time.Second, 2 * time.Minute},
		{7 * 24 * time.Hour, 7 * 24 * time.Hour},
		{16*24*time.Hour + time.Minute, 16*24*time.Hour + 5*time.Minute},
		{time.Second, time.Minute},
	} {
		if got := statsPeriod(c.window); got != c.want {
			t.Errorf("statsPeriod(%s) = %s, want %s", c.window, got, c.want)
		}
	}
}

// The namespace console --aws reads: template.yaml's hookline/<stack> with
// --stack, --metrics-namespace when given, else HOOKLINE_METRICS_NAMESPACE,
// else hookline; an invalid one is refused.
func TestConsoleNamespace(t *testing.T) {
	if ns, err := consoleNamespaceOf(t, []string{"--stack", "hookline"}); err != nil || ns != metricsNamespace(t) {
		t.Errorf("--stack hookline: %q, %v; want template.yaml's %q", ns, err, metricsNamespace(t))
	}
	t.Setenv(awsenv.EnvMetricsNamespace, "")
	for _, c := range []struct {
		env  string
		args []string
		want string
	}{
		{"", nil, metrics.DefaultNamespace},
		{"hookline/from-env", nil, "hookline/from-env"},
		{"hookline/from-env", []string{"--metrics-namespace", "custom/ns"}, "custom/ns"},
		{"hookline/from-env", []string{"--stack", "prod"}, "hookline/prod"},
		{"", []string{"--stack", "prod", "--metrics-namespace", "custom/ns"}, "custom/ns"},
		{"", []string{"--metrics-namespace", "AWS/Lambda"}, ""},
		{"", []string{"--metrics-namespace", "bad{ns}"}, ""},
	} {
		t.Setenv(awsenv.EnvMetricsNamespace, c.env)
		ns, err := consoleNamespaceOf(t, c.args)
		if ns != c.want || (err != nil) != (c.want == "") {
			t.Errorf("env %q, %v: %q, %v; want %q", c.env, c.args, ns, err, c.want)
		}
	}
}

func consoleNamespaceOf(t *testing.T, args []string) (string, error) {
	t.Helper()
	fs, f := newConsoleFlags()
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return consoleNamespace(fs, *f.stack, *f.metrics)
}

// console --aws on DynamoDB Local and moto reads the duplicates and
// rejections the test puts in moto's CloudWatch, in the stack's namespace,
// into its stats and charts. moto's GetMetricData does not keep
// namespaces apart for a query with dimensions (moto 5.2.1 filters by
// metric name and dimensions only), so the other-namespace check is
// TestConsoleCloudWatchCounts's; and since moto keeps every test run's
// datapoints, this one counts what the console answers after its put
// minus what it answered before.
func TestConsoleAWSCloudWatchMoto(t *testing.T) {
	ddb, _ := awsEnv(t)
	cwClientOptions, cwReuseFor = []func(*cloudwatch.Options){motoCloudWatch}, 0
	t.Cleanup(func() { cwClientOptions, cwReuseFor = nil, 30*time.Second })
	res := newStackResources(t, ddb)
	res.namespace = "hookline/cw-" + strings.ToLower(queuetest.EventID())
	cfg, err := awsconfig.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	con, err := awsConsole(cfg, res, devConsoleFlags("127.0.0.1:0", ""), nil, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	b := &consoleBackend{name: "dynamodb", url: runConsole(t, con)}
	read := func() (map[string]ingestCount, map[int64]map[string]ingestCount) {
		var s cwStats
		var m cwMinutes
		b.get(t, "/api/stats?window=1h", &s)
		b.get(t, "/api/stats/minutes?window=1h", &m)
		if s.CountsFrom != CountsFromCloudWatch || m.CountsFrom != CountsFromCloudWatch {
			t.Errorf("counts_from %q and %q, want cloudwatch", s.CountsFrom, m.CountsFrom)
		}
		stats := map[string]ingestCount{}
		for p, n := range s.Providers {
			stats[p] = ingestCount{n.Duplicate, n.Rejected}
		}
		return stats, m.perMinute()
	}
	stats0, minutes0 := read()

	now := time.Now().UTC()
	m10, m25 := now.Truncate(time.Minute).Add(-10*time.Minute), now.Truncate(time.Minute).Add(-25*time.Minute)
	cw := cloudwatch.NewFromConfig(cfg, motoCloudWatch)
	put := func(metric, provider string, at time.Time, v float64) {
		t.Helper()
		_, err := cw.PutMetricData(t.Context(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(res.namespace),
			MetricData: []cwtypes.MetricDatum{{MetricName: aws.String(metric), Timestamp: aws.Time(at), Value: aws.Float64(v),
				Unit:       cwtypes.StandardUnitCount,
				Dimensions: []cwtypes.Dimension{{Name: aws.String(metrics.DimProvider), Value: aws.String(provider)}}}}})
		if err != nil {
			t.Fatalf("moto PutMetricData: %v", err)
		}
	}
	put(metrics.Duplicate, "leadron", m10.Add(5*time.Second), 1)
	put(metrics.Duplicate, "leadron", m10.Add(40*time.Second), 1)
	put(metrics.Rejected, "leadron", m10.Add(20*time.Second), 1)
	put(metrics.Rejected, "tomba", m25.Add(30*time.Second), 4)
	put(metrics.Duplicate, "tomba", now.Add(-2*time.Hour), 50) // before the window

	stats1, minutes1 := read()
	for p, w := range map[string]ingestCount{"leadron": {2, 1}, "tomba": {0, 4}, "journeybee": {}} {
		got := ingestCount{stats1[p].duplicate - stats0[p].duplicate, stats1[p].rejected - stats0[p].rejected}
		if got != w {
			t.Errorf("stats 1h: %s added %+v, want %+v (before %+v, after %+v)", p, got, w, stats0[p], stats1[p])
		}
	}
	for at, w := range map[int64]map[string]ingestCount{m10.Unix(): {"leadron": {2, 1}}, m25.Unix(): {"tomba": {0, 4}}} {
		for p, n := range w {
			got := ingestCount{minutes1[at][p].duplicate - minutes0[at][p].duplicate, minutes1[at][p].rejected - minutes0[at][p].rejected}
			if got != n {
				t.Errorf("minutes 1h: %s at %v added %+v, want %+v", p, at, got, n)
			}
		}
	}
	if strings.Contains(logs.String(), "console_cloudwatch") {
		t.Errorf("the CloudWatch reads failed:\n%s", logs.String())
	}
}

// motoCloudWatch has the client speak the AWS query protocol, which moto
// answers (not the SDK's default, Smithy RPC v2 CBOR).
func motoCloudWatch(o *cloudwatch.Options) {
	o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
