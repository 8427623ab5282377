package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// AttemptStore is a Store that keeps the attempt history (store.Attempt).
type AttemptStore interface {
	Store
	RecordAttempt(ctx context.Context, a store.Attempt) error
	Attempts(ctx context.Context, eventID string) ([]store.Attempt, error)
}

// RunAttempts runs the attempt history's contract suite. newStore must
// return a fresh, empty store for each call.
func RunAttempts(t *testing.T, newStore func(t *testing.T) AttemptStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s AttemptStore)
	}{
		{"RoundTrip", testAttemptsRoundTrip},
		{"OldestFirstAcrossDestinations", testAttemptsOrder},
		{"ReplayAddsNewAttempts", testAttemptsReplay},
		{"Invalid", testAttemptsInvalid},
		{"UnknownEvent", testAttemptsUnknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newStore(t))
		})
	}
}

// NewAttempt returns a valid attempt of ev at destination dest.
func NewAttempt(ev store.Event, dest string, number int, at time.Time) store.Attempt {
	return store.Attempt{
		EventID:     ev.ID,
		Destination: dest,
		Number:      number,
		At:          at,
		Outcome:     "retry",
		StatusCode:  503,
		Error:       "http_503",
		Duration:    1234567 * time.Nanosecond,
		Response:    `{"error":"busy"}`,
		ExpiresAt:   ev.ExpiresAt,
	}
}

func record(t *testing.T, s AttemptStore, a store.Attempt) {
	t.Helper()
	if err := s.RecordAttempt(ctx(t), a); err != nil {
		t.Fatalf("RecordAttempt(%s #%d): %v", a.Destination, a.Number, err)
	}
}

func attempts(t *testing.T, s AttemptStore, id string) []store.Attempt {
	t.Helper()
	got, err := s.Attempts(ctx(t), id)
	if err != nil {
		t.Fatalf("Attempts(%s): %v", id, err)
	}
	return got
}

// EqualAttempts describes how got differs from want ("" if equal), times
// compared to the nanosecond, ExpiresAt ignored.
func EqualAttempts(got, want []store.Attempt) string {
	if len(got) != len(want) {
		return fmt.Sprintf("got %d attempts %+v, want %d %+v", len(got), got, len(want), want)
	}
	for i := range got {
		g, w := got[i], want[i]
		g.ExpiresAt, w.ExpiresAt = time.Time{}, time.Time{}
		if !g.At.Equal(w.At) || g.At.Location() != time.UTC {
			return fmt.Sprintf("attempt %d: At %v, want %v in UTC", i, g.At, w.At)
		}
		g.At, w.At = time.Time{}, time.Time{}
		if g != w {
			return fmt.Sprintf("attempt %d: got %+v, want %+v", i, g, w)
		}
	}
	return ""
}

func testAttemptsRoundTrip(t *testing.T, s AttemptStore) {
	ev := NewEvent("leadron", "evt_att_rt", base())
	putNew(t, s, ev)
	at := base().Add(time.Second + 123*time.Nanosecond)
	first := NewAttempt(ev, "crm", 1, at)
	second := NewAttempt(ev, "crm", 2, at.Add(5*time.Second))
	second.Outcome, second.StatusCode, second.Error = "delivered", 200, ""
	second.Response = strings.Repeat("é", store.MaxResponseBytes/2) // exactly the limit, multi-byte
	third := NewAttempt(ev, "crm", 3, at.Add(6*time.Second))
	third.StatusCode, third.Error, third.Response, third.Duration = 0, "timeout", "", 0
	for _, a := range []store.Attempt{first, second, third} {
		record(t, s, a)
	}
	if d := EqualAttempts(attempts(t, s, ev.ID), []store.Attempt{first, second, third}); d != "" {
		t.Fatal(d)
	}
	// The event itself is unchanged by its history.
	if d := EqualEvents(get(t, s, ev.ID), withStoredDefaults(ev)); d != "" {
		t.Fatalf("event changed by RecordAttempt: %s", d)
	}
}

// withStoredDefaults is ev as Put stores it.
func withStoredDefaults(ev store.Event) store.Event {
	ev.Status, ev.Version, ev.Deliveries = store.StatusReceived, 0, nil
	return ev
}

func testAttemptsOrder(t *testing.T, s AttemptStore) {
	ev := NewEvent("tomba", "tb_att_order", base())
	other := NewEvent("tomba", "tb_att_other", base())
	putNew(t, s, ev)
	putNew(t, s, other)
	at := base().Add(time.Minute)
	// Recorded out of order, over two destinations and two events.
	b1 := NewAttempt(ev, "b-sink", 1, at.Add(2*time.Second))
	a1 := NewAttempt(ev, "a-sink", 1, at)
	a2 := NewAttempt(ev, "a-sink", 2, at.Add(3*time.Second))
	o1 := NewAttempt(other, "a-sink", 1, at.Add(time.Second))
	for _, a := range []store.Attempt{b1, a2, o1, a1} {
		record(t, s, a)
	}
	if d := EqualAttempts(attempts(t, s, ev.ID), []store.Attempt{a1, b1, a2}); d != "" {
		t.Fatal(d)
	}
	if d := EqualAttempts(attempts(t, s, other.ID), []store.Attempt{o1}); d != "" {
		t.Fatal(d)
	}
}

// A replay clears the delivery state: its attempts count from 1 again, and
// show after the old ones.
func testAttemptsReplay(t *testing.T, s AttemptStore) {
	ev := NewEvent("journeybee", "jb_att_replay", base())
	putNew(t, s, ev)
	at := base().Add(time.Minute)
	first := NewAttempt(ev, "crm", 1, at)
	first.Outcome, first.StatusCode, first.Error = "failed", 400, "http_400"
	record(t, s, first)
	if !save(t, s, ev.ID, 0, NewDeliveries(at, "crm"), store.StatusFailed) {
		t.Fatal("SaveDeliveries refused")
	}
	// The replay: state cleared, back to queued.
	if !save(t, s, ev.ID, 1, nil, store.StatusQueued) {
		t.Fatal("replay's SaveDeliveries refused")
	}
	again := NewAttempt(ev, "crm", 1, at.Add(time.Hour))
	again.Outcome, again.StatusCode, again.Error, again.Response = "delivered", 200, "", "ok"
	record(t, s, again)
	if d := EqualAttempts(attempts(t, s, ev.ID), []store.Attempt{first, again}); d != "" {
		t.Fatal(d)
	}
}

func testAttemptsInvalid(t *testing.T, s AttemptStore) {
	ev := NewEvent("leadron", "evt_att_invalid", base())
	putNew(t, s, ev)
	ok := NewAttempt(ev, "crm", 1, base())
	for name, change := range map[string]func(a *store.Attempt){
		"no event id":       func(a *store.Attempt) { a.EventID = "" },
		"no destination":    func(a *store.Attempt) { a.Destination = "" },
		"long destination":  func(a *store.Attempt) { a.Destination = strings.Repeat("d", store.MaxDestinationLen+1) },
		"number 0":          func(a *store.Attempt) { a.Number = 0 },
		"no time":           func(a *store.Attempt) { a.At = time.Time{} },
		"no outcome":        func(a *store.Attempt) { a.Outcome = "" },
		"negative status":   func(a *store.Attempt) { a.StatusCode = -1 },
		"negative duration": func(a *store.Attempt) { a.Duration = -time.Second },
		"long error":        func(a *store.Attempt) { a.Error = strings.Repeat("e", store.MaxClassLen+1) },
		"long response":     func(a *store.Attempt) { a.Response = strings.Repeat("r", store.MaxResponseBytes+1) },
		"response not utf8": func(a *store.Attempt) { a.Response = "\xff" },
		"time out of range": func(a *store.Attempt) { a.At = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC) },
	} {
		a := ok
		change(&a)
		if err := s.RecordAttempt(ctx(t), a); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: RecordAttempt = %v, want ErrInvalid", name, err)
		}
	}
	if got := attempts(t, s, ev.ID); len(got) != 0 {
		t.Fatalf("refused attempts were written: %+v", got)
	}
}

func testAttemptsUnknown(t *testing.T, s AttemptStore) {
	if got := attempts(t, s, "01NOSUCHEVENT0000000000000"); len(got) != 0 {
		t.Fatalf("Attempts of an unknown event = %+v", got)
	}
}
