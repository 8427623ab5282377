package dynamo

import (
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

// TestCompactRoundTrip: every field of an event comes back from its compact
// item, also the zero and unusual values the head encodes specially (an
// UpdatedAt other than ReceivedAt or zero, no ExpiresAt, an ExpiresAt before
// ReceivedAt, no Raw, no Meta).
func TestCompactRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 1, 2, 3, 456789, time.UTC)
	base := storetest.NewEvent("journeybee", "jb:key", at)
	cases := map[string]func(*store.Event){
		"as NewEvent":                func(*store.Event) {},
		"updated later":              func(ev *store.Event) { ev.UpdatedAt = at.Add(time.Minute + 7) },
		"no updated_at":              func(ev *store.Event) { ev.UpdatedAt = time.Time{} },
		"no expiry":                  func(ev *store.Event) { ev.ExpiresAt = time.Time{} },
		"expires before received":    func(ev *store.Event) { ev.ExpiresAt = at.Add(-time.Hour - 3) },
		"no raw, no meta, no record": func(ev *store.Event) { ev.Raw, ev.Meta, ev.Normalized = nil, nil, nil },
		"no occurred_at, no entity":  func(ev *store.Event) { ev.OccurredAt, ev.EntityID, ev.Tenant = time.Time{}, "", "" },
	}
	for name, change := range cases {
		ev := base
		change(&ev)
		item, parts, err := eventItem(ev)
		if err != nil || parts != nil {
			t.Fatalf("%s: eventItem = %v parts, %v", name, len(parts), err)
		}
		if _, ok := item[attrEvent]; !ok {
			t.Fatalf("%s: not the compact item: %v", name, item)
		}
		got, n, err := decodeEvent(item)
		if err != nil || n != 0 {
			t.Fatalf("%s: decodeEvent = %d parts, %v", name, n, err)
		}
		want := ev
		want.Status, want.Version, want.Deliveries = store.StatusReceived, 0, nil
		if d := storetest.EqualEvents(got, want); d != "" {
			t.Errorf("%s: %s", name, d)
		}
	}
}
