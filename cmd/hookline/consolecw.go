package main

// console --aws's duplicate and rejected counts. The table keeps no row for
// a duplicate delivery or a rejection, but every ingest function writes
// them as EMF metrics (shared/metrics): `duplicate` and `rejected` in the
// stack's namespace with the dimension set [provider], a line per delivery
// (a zero count is left out, so a Sum over missing data is 0). The console
// reads them back with one GetMetricData call per stats or chart answer,
// one query per provider and metric, Sum over the bucket step (charts) or
// the window (stats), and adds them to what the table answered. Only this
// command links the CloudWatch client; the functions never read metrics.
//
// GetMetricData costs $0.01 per 1,000 metrics requested, and a page that
// is open redraws its stats and charts as events arrive (up to about one
// stats and one chart answer a second, 12 metrics a second, $0.43 an
// hour), so a read is reused for cwReuseFor by the answers of the same
// window length and step: EMF metrics reach CloudWatch a minute or more
// late anyway.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/store"
)

// getMetricData is the one CloudWatch call the console makes.
type getMetricData interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// CountsFromCloudWatch is console.Options.CountsFrom (the API's
// counts_from) when the counts come from cwConsoleStore.
const CountsFromCloudWatch = "cloudwatch"

const (
	// cwTimeout bounds the CloudWatch read of one answer: past it the
	// counts are 0 and the page still answers.
	cwTimeout = 10 * time.Second
	// cwMaxPages bounds the NextToken pages of one read. One page holds
	// 100,800 datapoints; a read asks for at most 2 × providers ×
	// store.MaxBuckets, so one page is the rule.
	cwMaxPages = 10
	// cwMaxQueries is GetMetricData's limit of queries per call.
	cwMaxQueries = 500
	// cwMaxReads bounds the reads kept for reuse (any window is asked).
	cwMaxReads = 16
)

// cwCounts reads the duplicate and rejected counts per provider from
// the ingest functions' metrics in namespace.
type cwCounts struct {
	cw        getMetricData
	namespace string
	providers []string
	log       *slog.Logger
	now       func() time.Time
	reuseFor  time.Duration

	mu   sync.Mutex
	last map[cwKey]cwRead // the latest read per window length and period
}

// cwKey is what reads that may share an answer have in common.
type cwKey struct{ span, period time.Duration }

type cwRead struct {
	at  time.Time
	pts []cwPoint
}

// cwReuseFor is how long a read answers again (the tests that put
// datapoints between two reads set 0).
var cwReuseFor = 30 * time.Second

// cwPoint is one datapoint: the Sum of metric (metrics.Duplicate or
// metrics.Rejected) for provider over the period starting at at.
type cwPoint struct {
	at       time.Time
	provider string
	metric   string
	n        int
}

// read asks CloudWatch for the Sum of duplicate and rejected per provider
// from start to end in periods of period: one GetMetricData call (its
// NextToken pages followed), one query per provider and metric; or answers
// a read of the same span and period younger than reuseFor. The points
// have their own times: the callers place them in the current window.
func (c *cwCounts) read(ctx context.Context, start, end time.Time, period time.Duration) ([]cwPoint, error) {
	key := cwKey{end.Sub(start).Round(time.Minute), period}
	c.mu.Lock()
	last, ok := c.last[key]
	c.mu.Unlock()
	if now := c.now(); ok && !now.Before(last.at) && now.Sub(last.at) < c.reuseFor {
		return last.pts, nil
	}
	pts, err := c.get(ctx, start, end, period)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.last == nil || len(c.last) >= cwMaxReads {
		c.last = map[cwKey]cwRead{}
	}
	c.last[key] = cwRead{c.now(), pts}
	c.mu.Unlock()
	return pts, nil
}

// get is read's GetMetricData call.
func (c *cwCounts) get(ctx context.Context, start, end time.Time, period time.Duration) ([]cwPoint, error) {
	type query struct{ provider, metric string }
	var qs []cwtypes.MetricDataQuery
	byID := map[string]query{}
	for _, p := range c.providers {
		for _, m := range []string{metrics.Duplicate, metrics.Rejected} {
			id := fmt.Sprintf("q%d", len(qs))
			byID[id] = query{p, m}
			qs = append(qs, cwtypes.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(c.namespace), MetricName: aws.String(m),
						Dimensions: []cwtypes.Dimension{{Name: aws.String(metrics.DimProvider), Value: aws.String(p)}}},
					Period: aws.Int32(int32(period / time.Second)),
					Stat:   aws.String("Sum"),
				},
				ReturnData: aws.Bool(true),
			})
		}
	}
	if len(qs) == 0 {
		return nil, nil
	}
	if len(qs) > cwMaxQueries {
		return nil, fmt.Errorf("%d providers: over the %d queries of one GetMetricData call", len(c.providers), cwMaxQueries)
	}
	ctx, cancel := context.WithTimeout(ctx, cwTimeout)
	defer cancel()
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: qs,
		ScanBy: cwtypes.ScanByTimestampAscending}
	var pts []cwPoint
	for page := 0; ; page++ {
		if page == cwMaxPages {
			return nil, fmt.Errorf("GetMetricData: more than %d pages", cwMaxPages)
		}
		out, err := c.cw.GetMetricData(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("GetMetricData: %w", err)
		}
		for _, r := range out.MetricDataResults {
			q, ok := byID[aws.ToString(r.Id)]
			if !ok {
				return nil, fmt.Errorf("GetMetricData: a result for query %q, which was not asked", aws.ToString(r.Id))
			}
			if r.StatusCode == cwtypes.StatusCodeForbidden || r.StatusCode == cwtypes.StatusCodeInternalError {
				return nil, fmt.Errorf("GetMetricData: %s %s: %s", q.provider, q.metric, r.StatusCode)
			}
			if len(r.Timestamps) != len(r.Values) {
				return nil, errors.New("GetMetricData: timestamps and values differ in number")
			}
			for i, at := range r.Timestamps {
				pts = append(pts, cwPoint{at: at, provider: q.provider, metric: q.metric, n: int(math.Round(r.Values[i]))})
			}
		}
		if aws.ToString(out.NextToken) == "" {
			return pts, nil
		}
		in.NextToken = out.NextToken
	}
}

// failed logs a read that failed: the counts stay 0, the page answers.
// The SDK's error names the operation, status and request id, never the
// credentials.
func (c *cwCounts) failed(what string, err error) {
	c.log.Warn("console_cloudwatch", slog.String("read", what), slog.String("namespace", c.namespace),
		slog.String("error", err.Error()))
}

// statsPeriod is the stats window as one CloudWatch period: rounded up to
// a multiple of 60 s (300 s past 15 days back, where CloudWatch keeps
// only 5-minute data). The sum of every datapoint answered is the
// window's count.
func statsPeriod(window time.Duration) time.Duration {
	unit := time.Minute
	if window > 15*24*time.Hour {
		unit = 5 * time.Minute
	}
	return max(unit, (window+unit-1)/unit*unit)
}

// cwConsoleStore is the console's store with the duplicate and rejected
// counts of Stats and Series read from CloudWatch; everything else is the
// inner store's (awsConsoleStore).
type cwConsoleStore struct {
	console.Store
	cw *cwCounts
}

// Stats adds the window's duplicate and rejected counts per provider to
// the inner store's answer; a CloudWatch failure is logged and adds none.
func (s cwConsoleStore) Stats(ctx context.Context, since time.Time) (store.WindowStats, error) {
	ws, err := s.Store.Stats(ctx, since)
	if err != nil {
		return ws, err
	}
	end := s.cw.now()
	if !end.After(since) {
		return ws, nil
	}
	pts, err := s.cw.read(ctx, since, end, statsPeriod(end.Sub(since)))
	if err != nil {
		s.cw.failed("stats", err)
		return ws, nil
	}
	for _, pt := range pts {
		m := &ws.Duplicate
		if pt.metric == metrics.Rejected {
			m = &ws.Rejected
		}
		if *m == nil {
			*m = map[string]int{}
		}
		(*m)[pt.provider] += pt.n
	}
	return ws, nil
}

// Series adds each bucket's duplicate and rejected counts per provider to
// the inner store's answer (the bucket step is the CloudWatch period, the
// first bucket's start the StartTime, so the datapoints fall on the
// buckets); a CloudWatch failure is logged and adds none.
func (s cwConsoleStore) Series(ctx context.Context, q store.SeriesQuery) (store.Series, error) {
	sr, err := s.Store.Series(ctx, q)
	if err != nil || len(sr.Buckets) == 0 {
		return sr, err
	}
	pts, err := s.cw.read(ctx, q.Since, q.Since.Add(time.Duration(len(sr.Buckets))*q.Step), q.Step)
	if err != nil {
		s.cw.failed("series", err)
		return sr, nil
	}
	for _, pt := range pts {
		d := pt.at.Sub(q.Since)
		if d < 0 {
			continue
		}
		i := int(d / q.Step)
		if i >= len(sr.Buckets) {
			continue
		}
		b := &sr.Buckets[i]
		if b.Providers == nil {
			b.Providers = map[string]store.IngestCounts{}
		}
		n := b.Providers[pt.provider]
		if pt.metric == metrics.Rejected {
			n.Rejected += pt.n
		} else {
			n.Duplicate += pt.n
		}
		b.Providers[pt.provider] = n
	}
	return sr, nil
}

// cwClientOptions are applied to console --aws's CloudWatch client: the
// tests set the AWS query protocol there, which moto speaks (the SDK's
// default, Smithy RPC v2 CBOR, moto 5.2 answers 404).
var cwClientOptions []func(*cloudwatch.Options)

// newCWCounts reads the counts of providers in namespace
// (metrics.DefaultNamespace if empty).
func newCWCounts(cw getMetricData, namespace string, providers []string, log *slog.Logger) *cwCounts {
	if namespace == "" {
		namespace = metrics.DefaultNamespace
	}
	return &cwCounts{cw: cw, namespace: namespace, providers: providers, log: log, now: time.Now, reuseFor: cwReuseFor}
}

// defaultMetricsNamespace is --metrics-namespace's default: the functions'
// own setting, HOOKLINE_METRICS_NAMESPACE, else metrics.DefaultNamespace.
func defaultMetricsNamespace() string {
	if ns := os.Getenv(awsenv.EnvMetricsNamespace); ns != "" {
		return ns
	}
	return metrics.DefaultNamespace
}

// consoleNamespace is the namespace console --aws reads: hookline/<stack>
// with --stack (template.yaml's), unless --metrics-namespace is given on
// the command line; else flagValue (its default: defaultMetricsNamespace).
func consoleNamespace(fs *flag.FlagSet, stack, flagValue string) (string, error) {
	ns := flagValue
	if stack != "" {
		ns = "hookline/" + stack
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "metrics-namespace" {
				ns = flagValue
			}
		})
	}
	if err := metrics.CheckNamespace(ns); err != nil {
		return "", fmt.Errorf("--metrics-namespace: %w", err)
	}
	return ns, nil
}
