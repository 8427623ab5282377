package sqlite

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

func TestAttemptsContract(t *testing.T) {
	storetest.RunAttempts(t, func(t *testing.T) storetest.AttemptStore { return newStore(t) })
}

// The history goes with its event: Purge deletes both.
func TestPurgeDeletesAttempts(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	old := storetest.NewEvent("leadron", "evt_att_purge", now.Add(-40*24*time.Hour))
	old.ExpiresAt = now.Add(-time.Hour)
	if _, err := s.Put(ctx, old, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(ctx, storetest.NewAttempt(old, "crm", 1, now.Add(-2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Attempts(ctx, old.ID); err != nil || len(got) != 1 {
		t.Fatalf("Attempts before purge = %v, %v", got, err)
	}
	if n, err := s.Purge(ctx, now); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if got, err := s.Attempts(ctx, old.ID); err != nil || len(got) != 0 {
		t.Fatalf("Attempts after purge = %v, %v", got, err)
	}
	// An attempt of an event that is gone is dropped, not an error.
	if err := s.RecordAttempt(ctx, storetest.NewAttempt(old, "crm", 2, now)); err != nil {
		t.Fatalf("RecordAttempt of a purged event: %v", err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM attempts`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("attempts rows = %d, %v", n, err)
	}
}

// putAt stores an event of provider/typ received at at, with deliveries.
func putAt(t *testing.T, s *Store, provider, typ, key string, at time.Time, ds ...store.Delivery) store.Event {
	t.Helper()
	ev := storetest.NewEvent(provider, key, at)
	ev.Type = typ
	if _, err := s.Put(t.Context(), ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(ds) > 0 {
		if ok, err := s.SaveDeliveries(t.Context(), ev.ID, 0, ds, store.StatusQueued); !ok || err != nil {
			t.Fatalf("SaveDeliveries: %v %v", ok, err)
		}
	}
	return ev
}

func TestListEvents(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	at := time.Now().UTC().Add(-time.Hour)
	a := putAt(t, s, "leadron", "leadron.lead.created", "evt_a", at, store.Delivery{Destination: "crm", Attempts: 1})
	b := putAt(t, s, "tomba", "tomba.save_lead", "tb_b", at.Add(time.Minute), store.Delivery{Destination: "slack"})
	c := putAt(t, s, "leadron", "leadron.opportunity.won", "evt_c", at.Add(2*time.Minute))
	d := putAt(t, s, "journeybee", "journeybee.lead_created", "jb_d", at.Add(3*time.Minute),
		store.Delivery{Destination: "crm"}, store.Delivery{Destination: "slack"})

	list := func(q store.EventQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 10
		}
		page, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatalf("ListEvents(%+v): %v", q, err)
		}
		var ids []string
		for _, ev := range page.Events {
			if ev.Raw != nil || ev.Normalized != nil || ev.Meta != nil {
				t.Errorf("ListEvents returned a body for %s", ev.ID)
			}
			ids = append(ids, ev.ID)
		}
		return ids
	}
	for _, c := range []struct {
		name string
		q    store.EventQuery
		want []string
	}{
		{"all, newest first", store.EventQuery{}, []string{d.ID, c.ID, b.ID, a.ID}},
		{"provider", store.EventQuery{Provider: "leadron"}, []string{c.ID, a.ID}},
		{"type glob", store.EventQuery{TypeGlob: "leadron.lead.*"}, []string{a.ID}},
		{"type glob over providers", store.EventQuery{TypeGlob: "*.lead_created"}, []string{d.ID}},
		{"status", store.EventQuery{Status: store.StatusReceived}, []string{c.ID}},
		{"destination", store.EventQuery{Destination: "slack"}, []string{d.ID, b.ID}},
		{"since", store.EventQuery{Since: at.Add(2 * time.Minute)}, []string{d.ID, c.ID}},
		{"until", store.EventQuery{Until: at.Add(time.Minute)}, []string{a.ID}},
		{"text: event id", store.EventQuery{Text: b.ID}, []string{b.ID}},
		{"text: entity id prefix", store.EventQuery{Text: "lead_evt_"}, []string{c.ID, a.ID}},
		{"text: whole entity id", store.EventQuery{Text: "lead_tb_b"}, []string{b.ID}},
		{"text: tenant", store.EventQuery{Text: "tenant-1"}, []string{d.ID, c.ID, b.ID, a.ID}},
		{"text: case-sensitive", store.EventQuery{Text: "LEAD_EVT_"}, nil},
		{"text: not a start", store.EventQuery{Text: "evt_a"}, nil},
		{"text: nothing", store.EventQuery{Text: "nobody"}, nil},
		{"and", store.EventQuery{Provider: "leadron", Destination: "crm"}, []string{a.ID}},
	} {
		if got := list(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}

	// Pages of two, to the end.
	var got []string
	q := store.EventQuery{Limit: 2}
	for pages := 0; ; pages++ {
		page, err := s.ListEvents(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range page.Events {
			got = append(got, ev.ID)
		}
		if page.Next == "" {
			if pages != 1 {
				t.Errorf("%d pages, want 2", pages+1)
			}
			break
		}
		q.Cursor = page.Next
	}
	if want := []string{d.ID, c.ID, b.ID, a.ID}; !slices.Equal(got, want) {
		t.Errorf("paged: %v, want %v", got, want)
	}
	// The delivery state comes with the list.
	page, _ := s.ListEvents(ctx, store.EventQuery{Limit: 1})
	if len(page.Events) != 1 || len(page.Events[0].Deliveries) != 2 || page.Events[0].Status != store.StatusQueued {
		t.Errorf("newest = %+v, want d with two deliveries, queued", page.Events)
	}

	for name, bad := range map[string]store.EventQuery{
		"limit 0":      {},
		"limit 501":    {Limit: 501},
		"bad glob":     {Limit: 1, TypeGlob: "["},
		"bad status":   {Limit: 1, Status: "lost"},
		"bad cursor":   {Limit: 1, Cursor: "abc"},
		"cursor 0":     {Limit: 1, Cursor: "0"},
		"long text":    {Limit: 1, Text: strings.Repeat("x", store.MaxQueryText+1)},
		"out of range": {Limit: 1, Since: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, err := s.ListEvents(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", name, err)
		}
	}
}

func TestStats(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	old := putAt(t, s, "leadron", "leadron.lead.created", "evt_old", now.Add(-3*time.Hour))
	ev := putAt(t, s, "leadron", "leadron.lead.created", "evt_new", now.Add(-time.Minute))
	putAt(t, s, "tomba", "tomba.save_lead", "tb_new", now.Add(-time.Minute))
	rec := func(e store.Event, dest, outcome string, at time.Time, d time.Duration) {
		a := storetest.NewAttempt(e, dest, 1, at)
		a.Outcome, a.Duration = outcome, d
		if err := s.RecordAttempt(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	rec(old, "crm", "delivered", now.Add(-3*time.Hour), time.Hour) // outside the window
	for i := 1; i <= 100; i++ {
		outcome := "delivered"
		switch {
		case i%10 == 0:
			outcome = "retry"
		case i == 99:
			outcome = "failed"
		}
		rec(ev, "crm", outcome, now.Add(-time.Minute), time.Duration(i)*time.Millisecond)
	}
	rec(ev, "slack", "delivered", now.Add(-time.Minute), 7*time.Millisecond)

	st, err := s.Stats(ctx, now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted["leadron"] != 1 || st.Accepted["tomba"] != 1 || len(st.Accepted) != 2 {
		t.Errorf("accepted = %v, want leadron 1, tomba 1", st.Accepted)
	}
	want := store.DestinationStats{Attempts: 100, Delivered: 89, Retried: 10, Failed: 1,
		P50: 50 * time.Millisecond, P99: 99 * time.Millisecond}
	if got := st.Destinations["crm"]; got != want {
		t.Errorf("crm = %+v, want %+v", got, want)
	}
	if got := st.Destinations["slack"]; got.Attempts != 1 || got.P50 != 7*time.Millisecond || got.P99 != 7*time.Millisecond {
		t.Errorf("slack = %+v", got)
	}
}

func TestListEventsQueryPlans(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		q     store.EventQuery
		index string
	}{
		{store.EventQuery{Limit: 50}, "events_received"},
		{store.EventQuery{Limit: 50, Cursor: "123.01ABC"}, "events_received"},
		{store.EventQuery{Limit: 50, Provider: "tomba"}, "events_by_provider"},
		{store.EventQuery{Limit: 50, Status: store.StatusFailed}, "events_open"},
		{store.EventQuery{Limit: 50, Since: time.Now()}, "events_received"},
		{store.EventQuery{Limit: 50, Text: "lead_1"}, "events_entity"},
		{store.EventQuery{Limit: 50, Text: "lead_1"}, "events_tenant"},
	} {
		plan, err := s.explainList(c.q)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, c.index) || (c.q.Text == "" && strings.Contains(plan, "TEMP B-TREE")) {
			t.Errorf("plan for %+v: %s; want %s (without a sort but for a search)", c.q, plan, c.index)
		}
	}
}

// explainList is the query plan of ListEvents for q.
func (s *Store) explainList(q store.EventQuery) (string, error) {
	query, args, err := listQuery(q)
	if err != nil {
		return "", err
	}
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, " | "), rows.Err()
}

func TestRejectionsBounded(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	at := time.Now().UTC()
	const n = store.RejectionsKept + 5
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := store.Rejection{At: at.Add(time.Duration(i) * time.Millisecond), Provider: "tomba", Method: "POST",
				Route: "/webhooks/tomba", Status: 401, Reason: "bad_signature", BodyBytes: i, BodySHA256: "ab",
				Headers: []string{"Content-Type", "X-Tomba-Token"}}
			if err := s.RecordRejection(ctx, r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Rejections(ctx, store.MaxRejectionsPerPage)
	if err != nil {
		t.Fatal(err)
	}
	var count int
	if err := s.DB().QueryRow(`SELECT count(*) FROM rejections`).Scan(&count); err != nil || count != store.RejectionsKept {
		t.Fatalf("%d rows kept (%v), want %d", count, err, store.RejectionsKept)
	}
	if len(got) != store.RejectionsKept {
		t.Fatalf("Rejections = %d, want %d", len(got), store.RejectionsKept)
	}
	for i := 1; i < len(got); i++ {
		a, _ := strconv.Atoi(got[i-1].ID)
		b, _ := strconv.Atoi(got[i].ID)
		if a <= b {
			t.Fatalf("not newest first at %d: %s then %s", i, got[i-1].ID, got[i].ID)
		}
	}
	if r := got[0]; r.Provider != "tomba" || r.Status != 401 || !slices.Equal(r.Headers, []string{"Content-Type", "X-Tomba-Token"}) || r.At.IsZero() {
		t.Errorf("newest = %+v", r)
	}
	one, err := s.Rejections(ctx, 1)
	if err != nil || len(one) != 1 || one[0].ID != got[0].ID {
		t.Errorf("Rejections(1) = %+v, %v", one, err)
	}
	for name, bad := range map[string]store.Rejection{
		"no provider":     {At: at},
		"no time":         {Provider: "tomba"},
		"too many names":  {At: at, Provider: "tomba", Headers: make([]string, store.MaxRejectionHeaders+1)},
		"long name":       {At: at, Provider: "tomba", Headers: []string{strings.Repeat("x", store.MaxRejectionNameLen+1)}},
		"negative status": {At: at, Provider: "tomba", Status: -1},
	} {
		if err := s.RecordRejection(ctx, bad); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.Rejections(ctx, 0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("limit 0: %v", err)
	}
}

func TestRejectionsContract(t *testing.T) {
	storetest.RunRejections(t, func(t *testing.T) storetest.RejectionStore { return newStore(t) })
}

// A quarantined delivery outlives the bound on kept rejections: forged
// deliveries cannot push it out.
func TestQuarantinedOutlivesTheRejectionBound(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now()
	body := []byte(`{"keep":"me"}`)
	if err := s.RecordQuarantined(ctx, storetest.NewRejection("leadron", body, now), storetest.NewQuarantined("leadron", body, now, time.Hour),
		store.QuarantineBounds{MaxCount: 10, MaxBytes: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	for i := range store.RejectionsKept + 3 {
		if err := s.RecordRejection(ctx, storetest.NewRejection("tomba", []byte(strconv.Itoa(i)), now)); err != nil {
			t.Fatal(err)
		}
	}
	var count int
	if err := s.DB().QueryRow(`SELECT count(*) FROM rejections`).Scan(&count); err != nil || count != store.RejectionsKept+1 {
		t.Fatalf("%d rows (%v), want %d", count, err, store.RejectionsKept+1)
	}
	if _, err := s.Quarantined(ctx, "1"); err != nil {
		t.Errorf("the quarantined delivery went: %v", err)
	}
}
