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
