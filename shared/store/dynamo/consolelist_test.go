package dynamo_test

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// ListEvents pages through events spread over every provider's 16 index
// partitions newest first, each filter giving exactly the events it
// selects, in order, page after page, with no event twice or missing.
func TestListEventsPages(t *testing.T) {
	s := newStore(t)
	c := dynamo.NewConsole(s, []string{"journeybee", "leadron", "tomba"})
	ctx := t.Context()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var all []store.Event // newest first
	for i := range 60 {
		p := []string{"journeybee", "leadron", "tomba"}[i%3]
		ev := storetest.NewEvent(p, fmt.Sprintf("k%02d", i), base.Add(time.Duration(i)*time.Second))
		ev.Tenant = fmt.Sprintf("tenant-%d", i%4)
		if i%7 == 0 {
			ev.Type = p + ".deal.won"
		}
		if _, err := s.Put(ctx, ev, base.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		switch i % 5 {
		case 1:
			ev.Status = store.StatusDelivered
			ev.Deliveries = []store.Delivery{{Destination: "crm", Attempts: 1, DeliveredAt: base}}
		case 2:
			ev.Status = store.StatusFailed
			ev.Deliveries = []store.Delivery{{Destination: "slack", Attempts: 2, FailedAt: base}}
		}
		if ev.Status != store.StatusReceived {
			if ok, err := s.SaveDeliveries(ctx, ev.ID, 0, ev.Deliveries, ev.Status); !ok || err != nil {
				t.Fatal(ok, err)
			}
		}
		all = append([]store.Event{ev}, all...)
	}
	ids := func(evs []store.Event, keep func(store.Event) bool) []string {
		var out []string
		for _, ev := range evs {
			if keep(ev) {
				out = append(out, ev.ID)
			}
		}
		return out
	}
	walk := func(t *testing.T, q store.EventQuery) (got []string, pages int) {
		for pages = 1; ; pages++ {
			page, err := c.ListEvents(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Events) > q.Limit {
				t.Fatalf("page %d has %d events, limit %d", pages, len(page.Events), q.Limit)
			}
			for _, ev := range page.Events {
				got = append(got, ev.ID)
				if ev.Raw != nil || ev.Normalized != nil {
					t.Fatalf("a list copied the body of %s", ev.ID)
				}
			}
			if page.Next == "" || pages > 100 {
				return got, pages
			}
			q.Cursor = page.Next
		}
	}
	for _, c := range []struct {
		name string
		q    store.EventQuery
		keep func(store.Event) bool
	}{
		{"all", store.EventQuery{}, func(store.Event) bool { return true }},
		{"provider", store.EventQuery{Provider: "leadron"}, func(ev store.Event) bool { return ev.Provider == "leadron" }},
		{"status failed (by_status)", store.EventQuery{Status: store.StatusFailed}, func(ev store.Event) bool { return ev.Status == store.StatusFailed }},
		{"status received of a provider", store.EventQuery{Status: store.StatusReceived, Provider: "tomba"},
			func(ev store.Event) bool { return ev.Status == store.StatusReceived && ev.Provider == "tomba" }},
		{"status delivered (walked)", store.EventQuery{Status: store.StatusDelivered}, func(ev store.Event) bool { return ev.Status == store.StatusDelivered }},
		{"type glob", store.EventQuery{TypeGlob: "*.deal.*"}, func(ev store.Event) bool { ok, _ := path.Match("*.deal.*", ev.Type); return ok }},
		{"destination", store.EventQuery{Destination: "slack"}, func(ev store.Event) bool { return len(ev.Deliveries) > 0 && ev.Deliveries[0].Destination == "slack" }},
		{"tenant prefix", store.EventQuery{Text: "tenant-3"}, func(ev store.Event) bool { return ev.Tenant == "tenant-3" }},
		{"time range", store.EventQuery{Since: base.Add(10 * time.Second), Until: base.Add(40 * time.Second)},
			func(ev store.Event) bool {
				return !ev.ReceivedAt.Before(base.Add(10*time.Second)) && ev.ReceivedAt.Before(base.Add(40*time.Second))
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := ids(all, c.keep)
			for _, limit := range []int{7, 50, 500} {
				q := c.q
				q.Limit = limit
				got, pages := walk(t, q)
				if !slices.Equal(got, want) {
					t.Fatalf("limit %d: %d events in %d pages:\n got %v\nwant %v", limit, len(got), pages, got, want)
				}
				if max := (len(want)+limit-1)/limit + 1; pages > max {
					t.Errorf("limit %d: %d pages for %d events", limit, pages, len(want))
				}
			}
		})
	}

	// An event id is one GetItem: the event alone, whatever its age.
	page, err := c.ListEvents(ctx, store.EventQuery{Text: all[59].ID, Limit: 10})
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != all[59].ID || page.Next != "" {
		t.Fatalf("q=<id>: %+v, %v", page, err)
	}

	// A rare filter stops at the walk's bound with a cursor to go on: the
	// oldest deal is found after a few short pages, not by a longer walk.
	dynamo.SetMaxExamined(t, 10)
	got, pages := walk(t, store.EventQuery{TypeGlob: "*.deal.*", Limit: 50})
	if want := ids(all, func(ev store.Event) bool { return strings.Contains(ev.Type, ".deal.") }); !slices.Equal(got, want) || pages < 6 {
		t.Fatalf("bounded walk: %v in %d pages, want %v in at least 6", got, pages, want)
	}

	for _, bad := range []string{"x", "AAAA", "MjAyNi0xMi0wMQ"} {
		if _, err := c.ListEvents(ctx, store.EventQuery{Cursor: bad, Limit: 5}); err == nil {
			t.Errorf("cursor %q accepted", bad)
		}
	}
}

// The list reads each event's latest state item: an event queued several
// times is listed once under queued, one that moved on is not listed under
// its old status (its by_status entry stays until its TTL), one with no
// state item is received. Events of the very same receive time (40 of 80,
// so some share an index partition) page newest first by id, whatever the
// page size, none twice or missing. Stats count the attempts the state
// items carry.
func TestListEventsLatestState(t *testing.T) {
	s := newStore(t)
	c := dynamo.NewConsole(s, []string{"journeybee", "leadron", "tomba"})
	ctx := t.Context()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	crm := func(st store.Status) []store.Delivery {
		d := store.Delivery{Destination: "crm", Attempts: 1, LastAttemptAt: base}
		switch st {
		case store.StatusDelivered:
			d.DeliveredAt = base
		case store.StatusFailed:
			d.FailedAt = base
		}
		return []store.Delivery{d}
	}
	var all []store.Event
	attempts := 0
	for i := range 80 {
		at := base // 40 events at the same nanosecond
		if i >= 40 {
			at = base.Add(time.Duration(i) * time.Millisecond)
		}
		ev := storetest.NewEvent("journeybee", fmt.Sprintf("tie-%02d", i), at)
		if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var steps []store.Status
		switch i % 4 {
		case 1:
			steps = []store.Status{store.StatusQueued, store.StatusQueued, store.StatusQueued}
		case 2:
			steps = []store.Status{store.StatusQueued, store.StatusDelivered}
		case 3:
			steps = []store.Status{store.StatusFailed, store.StatusQueued}
		}
		for _, st := range steps {
			a := storetest.NewAttempt(ev, "crm", int(ev.Version)+1, at.Add(time.Second))
			ok, err := s.SaveState(ctx, ev, crm(st), st, []store.Attempt{a})
			if !ok || err != nil {
				t.Fatal(ok, err)
			}
			attempts++
			ev.Version++
			ev.Status, ev.Deliveries = st, crm(st)
		}
		all = append(all, ev)
	}
	slices.SortFunc(all, func(a, b store.Event) int { // newest first, then id
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	for _, st := range []store.Status{"", store.StatusReceived, store.StatusQueued, store.StatusFailed, store.StatusDelivered} {
		var want []store.Event
		for _, ev := range all {
			if st == "" || ev.Status == st {
				want = append(want, ev)
			}
		}
		for _, limit := range []int{1, 3, 7, 50} {
			q := store.EventQuery{Status: st, Limit: limit}
			var got []store.Event
			for pages := 0; ; pages++ {
				if pages > len(want)+1 {
					t.Fatalf("status %q, limit %d: more than %d pages", st, limit, pages)
				}
				page, err := c.ListEvents(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page.Events...)
				if page.Next == "" {
					break
				}
				q.Cursor = page.Next
			}
			if len(got) != len(want) {
				t.Fatalf("status %q, limit %d: %d events, want %d", st, limit, len(got), len(want))
			}
			for i, ev := range got {
				w := want[i]
				if ev.ID != w.ID || ev.Status != w.Status || ev.Version != w.Version || !slices.Equal(ev.Deliveries, w.Deliveries) {
					t.Fatalf("status %q, limit %d: event %d is %s %s v%d %v, want %s %s v%d %v", st, limit, i,
						ev.ID, ev.Status, ev.Version, ev.Deliveries, w.ID, w.Status, w.Version, w.Deliveries)
				}
			}
		}
	}

	ws, err := c.Stats(ctx, base.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Accepted["journeybee"] != 80 || ws.Destinations["crm"].Attempts != attempts || ws.Destinations["crm"].Retried != attempts {
		t.Fatalf("stats: accepted %v, crm %+v, want 80 and %d attempts (retries)", ws.Accepted, ws.Destinations["crm"], attempts)
	}
}

// Status received walks by_provider from the sweeper's checkpoint on: the
// events received before it have left received, so a page neither reads
// them nor offers a cursor into them.
func TestListEventsReceivedFromCheckpoint(t *testing.T) {
	s := newStore(t)
	c := dynamo.NewConsole(s, []string{"journeybee", "leadron", "tomba"})
	ctx := t.Context()
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var received []string // newest first
	for i := range 45 {
		p := []string{"journeybee", "leadron", "tomba"}[i%3]
		ev := storetest.NewEvent(p, fmt.Sprintf("cp-%02d", i), base.Add(time.Duration(i)*time.Second))
		if _, err := s.Put(ctx, ev, base.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if i >= 30 && i < 35 {
			received = append([]string{ev.ID}, received...)
			continue
		}
		ds := []store.Delivery{{Destination: "crm", Attempts: 1, DeliveredAt: base}}
		if ok, err := s.SaveDeliveries(ctx, ev.ID, 0, ds, store.StatusDelivered); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	list := func() store.EventPage {
		t.Helper()
		page, err := c.ListEvents(ctx, store.EventQuery{Status: store.StatusReceived, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		return page
	}
	dynamo.SetMaxExamined(t, 15) // the 10 newer delivered events and the 5 received
	if page := list(); page.Next == "" {
		t.Fatalf("without a checkpoint the walk stops at its bound with a cursor, got %d events and none", len(page.Events))
	}
	// The sweeper's pass moves the checkpoint up to the oldest received.
	evs, err := s.ListByStatus(ctx, store.StatusReceived, time.Now(), 100)
	if err != nil || len(evs) != 5 {
		t.Fatalf("ListByStatus(received) = %d events, %v", len(evs), err)
	}
	page := list()
	var got []string
	for _, ev := range page.Events {
		got = append(got, ev.ID)
	}
	if !slices.Equal(got, received) || page.Next != "" {
		t.Fatalf("after the checkpoint: %v next %q, want %v and no cursor", got, page.Next, received)
	}
}
