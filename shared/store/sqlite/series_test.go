package sqlite

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

// FailedSince selects the events whose delivery to the destination was
// given up at or after the time, whatever their receive time, and nothing
// delivered, pending, filtered or failed at another destination.
func TestListEventsFailedSince(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	cut := now.Add(-30 * time.Minute)
	failed := func(at time.Time) store.Delivery {
		return store.Delivery{Destination: "crm", Attempts: 3, FailedAt: at, LastClass: "http_503"}
	}
	old := putAt(t, s, "leadron", "leadron.lead.created", "k_old", now.Add(-48*time.Hour), failed(now.Add(-10*time.Minute)))
	recent := putAt(t, s, "tomba", "tomba.save_lead", "k_recent", now.Add(-20*time.Minute),
		failed(cut.Add(123456789*time.Nanosecond)), store.Delivery{Destination: "slack", DeliveredAt: now})
	putAt(t, s, "leadron", "leadron.lead.created", "k_before", now.Add(-2*time.Hour), failed(cut.Add(-time.Millisecond)))
	putAt(t, s, "leadron", "leadron.lead.created", "k_other", now.Add(-time.Minute),
		store.Delivery{Destination: "slack", FailedAt: now}, store.Delivery{Destination: "crm", DeliveredAt: now})
	putAt(t, s, "leadron", "leadron.lead.created", "k_filtered", now.Add(-time.Minute), store.Delivery{Destination: "crm", FilteredAt: now})
	putAt(t, s, "leadron", "leadron.lead.created", "k_pending", now.Add(-time.Minute), store.Delivery{Destination: "crm", Attempts: 1, NextAttemptAt: now})

	page, err := s.ListEvents(t.Context(), store.EventQuery{Destination: "crm", FailedSince: cut, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range page.Events {
		ids = append(ids, ev.ID)
	}
	if want := []string{recent.ID, old.ID}; !slices.Equal(ids, want) {
		t.Fatalf("failed since %s = %v, want %v (newest first)", cut, ids, want)
	}
	for _, q := range []store.EventQuery{
		{Destination: "crm", FailedSince: cut, Limit: 50},
		{Destination: "crm", FailedSince: cut, Limit: 50, Status: store.StatusFailed, Since: now.Add(-24 * time.Hour)},
	} {
		if plan, err := s.explainList(q); err != nil || !strings.Contains(plan, "events_open") {
			t.Errorf("plan of %+v: %s (%v), want the partial index events_open", q, plan, err)
		}
	}
	if _, err := s.ListEvents(t.Context(), store.EventQuery{FailedSince: cut, Limit: 50}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("FailedSince without a destination: %v, want ErrInvalid", err)
	}
}

// The minute counts add up (two flushes of one minute sum), Stats and
// Series read them, and Series buckets accepted events and attempts.
func TestSeriesAndMinuteCounts(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	since := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Minute)
	m := func(i int) time.Time { return since.Add(time.Duration(i) * time.Minute) }
	for _, cs := range [][]store.MinuteCount{
		{{Minute: m(1), Provider: "leadron", Duplicate: 2, Rejected: 1}, {Minute: m(1), Provider: "tomba", Rejected: 4}},
		{{Minute: m(1), Provider: "leadron", Duplicate: 1}, {Minute: m(7), Provider: "leadron", Rejected: 5}},
	} {
		if err := s.AddMinuteCounts(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddMinuteCounts(ctx, []store.MinuteCount{{Minute: m(1).Add(time.Second), Provider: "leadron"}}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("a minute count off the minute: %v, want ErrInvalid", err)
	}
	ev1 := putAt(t, s, "leadron", "leadron.lead.created", "k1", m(1).Add(5*time.Second))
	putAt(t, s, "leadron", "leadron.lead.created", "k2", m(1).Add(50*time.Second))
	putAt(t, s, "tomba", "tomba.save_lead", "k3", m(8))
	putAt(t, s, "tomba", "tomba.save_lead", "k_before", since.Add(-time.Second))
	for i, d := range []time.Duration{10, 20, 30, 400} {
		a := storetest.NewAttempt(ev1, "crm", i+1, m(2).Add(time.Duration(i)*time.Second))
		a.Duration = d * time.Millisecond
		if err := s.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}

	filtered := storetest.NewAttempt(ev1, "crm", 1, m(2))
	filtered.Outcome, filtered.StatusCode, filtered.Error, filtered.Duration = "filtered", 0, "", 0
	if err := s.RecordAttempt(ctx, filtered); err != nil {
		t.Fatal(err)
	}

	sr, err := s.Series(ctx, store.SeriesQuery{Since: since, Step: time.Minute, Buckets: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(sr.Buckets) != 10 || !sr.Buckets[3].Start.Equal(m(3)) {
		t.Fatalf("%d buckets, the 4th from %v", len(sr.Buckets), sr.Buckets[3].Start)
	}
	if got := sr.Buckets[1].Providers["leadron"]; got != (store.IngestCounts{Accepted: 2, Duplicate: 3, Rejected: 1}) {
		t.Errorf("minute 1 leadron = %+v", got)
	}
	if got := sr.Buckets[1].Providers["tomba"]; got != (store.IngestCounts{Rejected: 4}) {
		t.Errorf("minute 1 tomba = %+v", got)
	}
	if got := sr.Buckets[8].Providers["tomba"]; got != (store.IngestCounts{Accepted: 1}) {
		t.Errorf("minute 8 tomba = %+v", got)
	}
	if got := sr.Buckets[7].Providers["leadron"]; got != (store.IngestCounts{Rejected: 5}) {
		t.Errorf("minute 7 leadron = %+v", got)
	}
	crm := sr.Buckets[2].Destinations["crm"]
	if crm.Attempts != 4 || crm.Filtered != 1 || crm.P50 != 20*time.Millisecond || crm.P99 != 400*time.Millisecond {
		t.Errorf("minute 2 crm = %+v", crm)
	}
	total := 0
	for _, b := range sr.Buckets {
		for _, c := range b.Providers {
			total += c.Accepted
		}
	}
	if total != 3 {
		t.Errorf("%d accepted in the series, want 3 (not the event before it)", total)
	}

	// Five-minute steps: minutes 0-4 and 5-9.
	sr, err = s.Series(ctx, store.SeriesQuery{Since: since, Step: 5 * time.Minute, Buckets: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := sr.Buckets[1].Providers["leadron"]; got != (store.IngestCounts{Rejected: 5}) {
		t.Errorf("5m bucket 1 leadron = %+v", got)
	}
	if got := sr.Buckets[0].Providers["leadron"]; got.Accepted != 2 || got.Duplicate != 3 {
		t.Errorf("5m bucket 0 leadron = %+v", got)
	}

	st, err := s.Stats(ctx, since)
	if err != nil {
		t.Fatal(err)
	}
	if st.Duplicate["leadron"] != 3 || st.Rejected["leadron"] != 6 || st.Rejected["tomba"] != 4 {
		t.Errorf("Stats duplicate %v rejected %v", st.Duplicate, st.Rejected)
	}
	if crm := st.Destinations["crm"]; crm.Attempts != 4 || crm.Filtered != 1 || crm.P50 != 20*time.Millisecond {
		t.Errorf("Stats crm = %+v: a filtered event is not an attempt", crm)
	}
	for _, bad := range []store.SeriesQuery{
		{Since: since.Add(time.Second), Step: time.Minute, Buckets: 1},
		{Since: since, Step: 90 * time.Second, Buckets: 1},
		{Since: since, Step: time.Minute, Buckets: store.MaxBuckets + 1},
		{Step: time.Minute, Buckets: 1},
	} {
		if _, err := s.Series(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("Series(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}
