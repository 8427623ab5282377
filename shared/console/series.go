package console

// The charts' data (GET /api/stats/minutes) and the durable ingest counts.
//
// Accepted events are counted from the events table (received_at);
// duplicates and rejections leave no row, so the hub counts them in memory
// per minute and provider, and RunFlusher adds the finished minutes to the
// store once a minute: one write for every provider together, none per
// event or delivery. Readers add what is not flushed yet; flushMu keeps a
// flush from being counted twice or not at all by a read running beside it.
// A crash loses at most the unflushed minute.

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// MinuteWriter is where RunFlusher puts the minute counts (store/sqlite).
type MinuteWriter interface {
	AddMinuteCounts(ctx context.Context, cs []store.MinuteCount) error
}

// RunFlusher adds the finished minutes' duplicate and rejection counts to
// w every interval until ctx ends, then the rest (the current minute too).
func (c *Console) RunFlusher(ctx context.Context, w MinuteWriter, every time.Duration) {
	c.durable.Store(true)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := c.Flush(final, w, true); err != nil {
				c.o.Log.Error("console_flush", slog.String("error", err.Error()))
			}
			return
		case <-t.C:
			if err := c.Flush(ctx, w, false); err != nil {
				c.o.Log.Error("console_flush", slog.String("error", err.Error()))
			}
		}
	}
}

// Flush adds the counted minutes before the current one (all of them with
// all) to w in one call, and forgets them once w has them.
func (c *Console) Flush(ctx context.Context, w MinuteWriter, all bool) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	before := c.o.Now().Unix()/60 + 1
	if !all {
		before--
	}
	cs := c.hub.pending(before)
	if len(cs) == 0 {
		return nil
	}
	if err := w.AddMinuteCounts(ctx, cs); err != nil {
		return err // kept for the next flush
	}
	c.hub.subtract(cs)
	return nil
}

// windowSteps are the steps the charts use: the finest that keeps a window
// within maxPoints buckets.
var windowSteps = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

const (
	maxPoints    = 180
	maxChartSpan = 7 * 24 * time.Hour
)

type minuteView struct {
	At           time.Time                   `json:"at"`
	Providers    map[string]providerStats    `json:"providers"`
	Destinations map[string]destinationStats `json:"destinations"`
}

// minutes: GET /api/stats/minutes?window=1h → per bucket (a minute for
// windows up to 3 h, then 5 min, 15 min, 1 h) accepted/duplicate/rejected
// per provider and attempts with p50/p99 per destination, oldest first,
// the last bucket holding now.
func (c *Console) minutes(w http.ResponseWriter, r *http.Request) {
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 5*time.Minute || d > maxChartSpan {
			writeError(w, http.StatusBadRequest, "bad_request", "window must be a duration from 5m to 7d, e.g. 1h or 24h")
			return
		}
		window = d
	}
	step := windowSteps[len(windowSteps)-1]
	for _, s := range windowSteps {
		if window/s <= maxPoints {
			step = s
			break
		}
	}
	buckets := int((window + step - 1) / step)
	now := c.o.Now().UTC()
	end := now.Truncate(step).Add(step)
	q := store.SeriesQuery{Since: end.Add(-time.Duration(buckets) * step), Step: step, Buckets: buckets}

	c.flushMu.RLock()
	sr, err := c.st.Series(r.Context(), q)
	mem := c.hub.minutes(q.Since.Unix()/60, end.Unix()/60)
	c.flushMu.RUnlock()
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	out := struct {
		Window       string       `json:"window"`
		Step         string       `json:"step"`
		StepSeconds  int          `json:"step_seconds"`
		Since        time.Time    `json:"since"`
		Providers    []string     `json:"providers"`
		Destinations []string     `json:"destinations"`
		Durable      bool         `json:"durable"`     // duplicate and rejected survive a restart
		Sampled      bool         `json:"sampled"`     // the store counted only the window's newest events
		CountsFrom   string       `json:"counts_from"` // where duplicate and rejected come from (countsFrom)
		Minutes      []minuteView `json:"minutes"`
	}{Window: window.String(), Step: step.String(), StepSeconds: int(step / time.Second), Since: q.Since,
		Providers: nonNil(c.o.Providers), Destinations: nonNil(c.o.Destinations), Durable: c.durable.Load(), Sampled: sr.Sampled,
		CountsFrom: c.countsFrom(),
		Minutes:    make([]minuteView, len(sr.Buckets))}
	providers, dests := slices.Clone(out.Providers), slices.Clone(out.Destinations)
	for i, b := range sr.Buckets {
		m := minuteView{At: b.Start, Providers: map[string]providerStats{}, Destinations: map[string]destinationStats{}}
		for _, p := range c.o.Providers {
			m.Providers[p] = providerStats{}
		}
		for p, n := range b.Providers {
			m.Providers[p] = providerStats{Accepted: n.Accepted, Duplicate: n.Duplicate, Rejected: n.Rejected}
			if !slices.Contains(providers, p) {
				providers = append(providers, p)
			}
		}
		for d, s := range b.Destinations {
			m.Destinations[d] = viewDestination(s)
			if !slices.Contains(dests, d) {
				dests = append(dests, d)
			}
		}
		out.Minutes[i] = m
	}
	for minute, byProvider := range mem {
		i := int((time.Unix(minute*60, 0).Sub(q.Since)) / step)
		if i < 0 || i >= len(out.Minutes) {
			continue
		}
		for p, n := range byProvider {
			s := out.Minutes[i].Providers[p]
			s.Duplicate += n.duplicate
			s.Rejected += n.rejected
			out.Minutes[i].Providers[p] = s
			if !slices.Contains(providers, p) {
				providers = append(providers, p)
			}
		}
	}
	out.Providers, out.Destinations = providers, dests
	writeJSON(w, http.StatusOK, out)
}

// countsFrom says where the duplicate and rejected counts come from:
// Options.CountsFrom ("cloudwatch"), else "store" (flushed per minute by
// RunFlusher) or "memory" (this console's, since it started).
func (c *Console) countsFrom() string {
	switch {
	case c.o.CountsFrom != "":
		return c.o.CountsFrom
	case c.durable.Load():
		return "store"
	}
	return "memory"
}

func viewDestination(d store.DestinationStats) destinationStats {
	s := destinationStats{Attempts: d.Attempts, Delivered: d.Delivered, Retried: d.Retried, Failed: d.Failed, Filtered: d.Filtered,
		P50MS: ms(d.P50), P99MS: ms(d.P99)}
	if d.Attempts > 0 {
		s.SuccessRate = float64(d.Delivered) / float64(d.Attempts)
	}
	return s
}
