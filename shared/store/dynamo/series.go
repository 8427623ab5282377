package dynamo

import (
	"context"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// maxSeriesEvents bounds the by_provider keys one Series reads per provider
// (keys only: about 100 keys per read unit).
const maxSeriesEvents = 20000

// Series answers the console's charts (console --aws) from what the table
// indexes, without a scan: accepted per bucket and provider from the
// by_provider keys in the window, newest first, at most maxSeriesEvents per
// provider; attempts and their latency from the state and attempt items of
// the window's newest maxStatsEvents events, as Stats does. Either bound hit
// sets Sampled. Duplicate and rejected counts are not kept in the table on
// AWS (they are the CloudWatch metrics Duplicate and Rejected): zero here.
func (c *Console) Series(ctx context.Context, q store.SeriesQuery) (store.Series, error) {
	if err := q.Validate(); err != nil {
		return store.Series{}, err
	}
	out := q.NewSeries()
	end := q.End()
	lo, hi := sortTime(q.Since), position{t: sortTime(end)}
	bucket := func(t time.Time) int {
		return min(max(0, int(t.Sub(q.Since)/q.Step)), q.Buckets-1)
	}
	skTime := func(sk string) (time.Time, bool) {
		if len(sk) < len(sortTimeLayout) {
			return time.Time{}, false
		}
		t, err := time.Parse(sortTimeLayout, sk[:len(sortTimeLayout)])
		return t, err == nil
	}

	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for _, p := range c.providers {
		wg.Go(func() {
			m := &merge{c: c, lo: lo, hi: hi, chunk: 1000}
			m.add(IndexByProvider, attrByProviderPK, p)
			keys, err := m.take(ctx, maxSeriesEvents)
			more := false
			if err == nil {
				more, err = m.more(ctx)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmpOr(firstErr, err)
				return
			}
			out.Sampled = out.Sampled || more
			for _, k := range keys {
				if t, ok := skTime(k.sk); ok {
					b := &out.Buckets[bucket(t)]
					n := b.Providers[p]
					n.Accepted++
					b.Providers[p] = n
				}
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return store.Series{}, firstErr
	}

	tallies := make([]store.Tally, len(out.Buckets))
	sampled, err := c.recentAttempts(ctx, lo, hi, q.Since, func(a store.Attempt) {
		if a.At.Before(end) {
			tallies[bucket(a.At)].Add(a.Destination, a.Outcome, a.Duration)
		}
	})
	if err != nil {
		return store.Series{}, err
	}
	out.Sampled = out.Sampled || sampled
	for i := range tallies {
		out.Buckets[i].Destinations = tallies[i].Stats()
	}
	return out, nil
}

// sortTimeLayout is sortTime's layout: the first part of a received_sk.
const sortTimeLayout = "2006-01-02T15:04:05.000000000Z"
