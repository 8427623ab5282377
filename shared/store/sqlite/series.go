package sqlite

// The console's charts: per-minute figures.
//
//	ingest_minutes(minute, provider) → duplicate, rejected: what the
//	    console counted in memory (duplicates and rejections leave no row of
//	    their own), added by AddMinuteCounts, one write a minute for every
//	    provider together. Rows older than minutesKept go in the same write.
//
// Accepted events are not counted there: the events table has them
// (received_at), exactly and without a write. Attempt latency comes from
// the attempts table.

import (
	"context"
	"time"

	"github.com/hookline/hookline/shared/store"
)

const seriesSchema = `
	CREATE TABLE IF NOT EXISTS ingest_minutes (
		minute    INTEGER NOT NULL,
		provider  TEXT    NOT NULL,
		duplicate INTEGER NOT NULL,
		rejected  INTEGER NOT NULL,
		PRIMARY KEY (minute, provider)
	) WITHOUT ROWID;`

// minutesKept is how long the minute counts are kept.
const minutesKept = 31 * 24 * time.Hour

// AddMinuteCounts adds cs to their (minute, provider) rows in one write of
// the group commit, and deletes the rows older than minutesKept.
func (s *Store) AddMinuteCounts(ctx context.Context, cs []store.MinuteCount) error {
	for _, c := range cs {
		if err := c.Validate(); err != nil {
			return err
		}
	}
	if len(cs) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *groupTx) error {
		for _, c := range cs {
			if _, err := tx.Exec(`INSERT INTO ingest_minutes (minute, provider, duplicate, rejected) VALUES (?, ?, ?, ?)
				ON CONFLICT (minute, provider) DO UPDATE SET duplicate = duplicate + excluded.duplicate,
					rejected = rejected + excluded.rejected`,
				c.Minute.Unix()/60, c.Provider, c.Duplicate, c.Rejected); err != nil {
				return unavailable("add minute counts", err)
			}
		}
		if _, err := tx.Exec(`DELETE FROM ingest_minutes WHERE minute < ?`,
			time.Now().Add(-minutesKept).Unix()/60); err != nil {
			return unavailable("add minute counts", err)
		}
		return nil
	}, true)
}

// minuteTotals sums the minute counts from since's minute on, per provider.
func (s *Store) minuteTotals(ctx context.Context, since time.Time) (dup, rej map[string]int, err error) {
	rows, err := s.r.QueryContext(ctx, `SELECT provider, sum(duplicate), sum(rejected) FROM ingest_minutes
		WHERE minute >= ? GROUP BY provider`, floorMinute(since))
	if err != nil {
		return nil, nil, unavailable("stats", err)
	}
	defer rows.Close()
	dup, rej = map[string]int{}, map[string]int{}
	for rows.Next() {
		var (
			p    string
			d, r int
		)
		if err := rows.Scan(&p, &d, &r); err != nil {
			return nil, nil, unavailable("stats", err)
		}
		dup[p], rej[p] = d, r
	}
	if err := rows.Err(); err != nil {
		return nil, nil, unavailable("stats", err)
	}
	return dup, rej, nil
}

// floorMinute is t's Unix minute, rounded down.
func floorMinute(t time.Time) int64 {
	m := t.Unix() / 60
	if t.Unix() < 0 && t.Unix()%60 != 0 {
		m--
	}
	return m
}

// Series returns q's buckets: accepted events per provider (events by
// received_at), duplicates and rejections (the minute counts), attempts per
// destination with their p50/p99 (the attempts table; at most
// maxStatsAttempts of the newest attempts in the range).
func (s *Store) Series(ctx context.Context, q store.SeriesQuery) (store.Series, error) {
	if err := q.Validate(); err != nil {
		return store.Series{}, err
	}
	out := q.NewSeries()
	from, to := q.Since.UnixNano(), q.End().UnixNano()
	step := int64(q.Step)
	bucket := func(ns int64) int { return int((ns - from) / step) }

	// Accepted: per minute and provider, read off the index on received_at.
	rows, err := s.r.QueryContext(ctx, `SELECT received_at / 60000000000, provider, count(*) FROM events
		WHERE received_at >= ? AND received_at < ? GROUP BY 1, 2`, from, to)
	if err != nil {
		return store.Series{}, unavailable("series", err)
	}
	for rows.Next() {
		var (
			minute int64
			p      string
			n      int
		)
		if err := rows.Scan(&minute, &p, &n); err != nil {
			rows.Close()
			return store.Series{}, unavailable("series", err)
		}
		b := &out.Buckets[max(0, bucket(minute*int64(time.Minute)))]
		c := b.Providers[p]
		c.Accepted += n
		b.Providers[p] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Series{}, unavailable("series", err)
	}

	rows, err = s.r.QueryContext(ctx, `SELECT minute, provider, duplicate, rejected FROM ingest_minutes
		WHERE minute >= ? AND minute < ?`, from/int64(time.Minute), to/int64(time.Minute))
	if err != nil {
		return store.Series{}, unavailable("series", err)
	}
	for rows.Next() {
		var (
			minute int64
			p      string
			d, r   int
		)
		if err := rows.Scan(&minute, &p, &d, &r); err != nil {
			rows.Close()
			return store.Series{}, unavailable("series", err)
		}
		b := &out.Buckets[bucket(minute*int64(time.Minute))]
		c := b.Providers[p]
		c.Duplicate += d
		c.Rejected += r
		b.Providers[p] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.Series{}, unavailable("series", err)
	}

	rows, err = s.r.QueryContext(ctx, `SELECT at, destination, outcome, duration_ns FROM attempts
		WHERE at >= ? AND at < ? ORDER BY at DESC LIMIT ?`, from, to, maxStatsAttempts)
	if err != nil {
		return store.Series{}, unavailable("series", err)
	}
	defer rows.Close()
	tallies := make([]store.Tally, len(out.Buckets))
	for rows.Next() {
		var (
			at, dur       int64
			dest, outcome string
		)
		if err := rows.Scan(&at, &dest, &outcome, &dur); err != nil {
			return store.Series{}, unavailable("series", err)
		}
		tallies[bucket(at)].Add(dest, outcome, time.Duration(dur))
	}
	if err := rows.Err(); err != nil {
		return store.Series{}, unavailable("series", err)
	}
	for i := range tallies {
		out.Buckets[i].Destinations = tallies[i].Stats()
	}
	return out, nil
}
