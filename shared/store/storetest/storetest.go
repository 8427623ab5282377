// Package storetest is the one contract suite every event store adapter
// passes (store/sqlite, store/dynamo), plus the helpers their tests and the
// tests of later packages share: building events, a DynamoDB Local client,
// and Put benchmarks.
//
// An adapter's test runs the suite with a constructor that returns a fresh,
// empty store for each case:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) storetest.Store { return newTestStore(t) })
//	}
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/store"
)

// Store is the method set of an event store, as documented in package store.
type Store interface {
	Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error)
	Get(ctx context.Context, id string) (store.Event, error)
	Transition(ctx context.Context, id string, from, to store.Status) (bool, error)
	ListByStatus(ctx context.Context, s store.Status, receivedBefore time.Time, limit int) ([]store.Event, error)
	ListByProvider(ctx context.Context, provider string, from, to time.Time, limit int) ([]store.Event, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
}

// KeyWindow is the idempotency window the suite claims keys for.
const KeyWindow = 7 * 24 * time.Hour

// NewEvent returns a valid event of provider with idempotency key key,
// received at receivedAt, with a fresh ULID, a small JSON body and every
// optional field set. Tests change what they need.
func NewEvent(provider, key string, receivedAt time.Time) store.Event {
	raw := fmt.Appendf(nil, `{"id":%q,"type":"lead.created","data":{"email":"ada@example.com"}}`, key)
	return store.Event{
		ID:             ulid.Make().String(),
		Provider:       provider,
		Type:           provider + ".lead.created",
		IdempotencyKey: key,
		EntityID:       "lead_" + key,
		Tenant:         "tenant-1",
		ReceivedAt:     receivedAt,
		OccurredAt:     receivedAt.Add(-time.Second),
		Raw:            raw,
		Meta:           map[string]string{"secret_index": "0"},
		Normalized:     []byte(`{"kind":"lead","action":"created","lead":{"email":"ada@example.com"}}`),
		Status:         store.StatusReceived,
		UpdatedAt:      receivedAt,
		ExpiresAt:      receivedAt.Add(30 * 24 * time.Hour),
	}
}

// Run runs the contract suite. newStore must return a fresh, empty store for
// each call and arrange its cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s Store)
	}{
		{"PutGetRoundTrip", testRoundTrip},
		{"PutStoresStatusReceived", testPutStatusReceived},
		{"GetUnknown", testGetUnknown},
		{"Duplicate", testDuplicate},
		{"KeyScopedByProvider", testKeyScopedByProvider},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"ExpiredKeyClaimedAgain", testExpiredKey},
		{"ExpiredKeyInThePast", testExpiredKeyPast},
		{"InvalidEventWritesNothing", testInvalidEvent},
		{"ExistingIDWritesNothing", testExistingID},
		{"Transition", testTransition},
		{"ListByStatus", testListByStatus},
		{"ListByProvider", testListByProvider},
		{"ListArgumentsChecked", testListArgs},
		{"SaveDeliveries", testSaveDeliveries},
		{"SaveDeliveriesStaleVersion", testSaveDeliveriesStale},
		{"SaveDeliveriesConcurrent", testSaveDeliveriesConcurrent},
		{"SaveDeliveriesInvalid", testSaveDeliveriesInvalid},
		{"WindowPerKey", testWindowPerKey},
		{"CredentialBinding", testCredentialBinding},
		{"CredentialBoundOnlyByNewEvent", testCredentialBoundOnlyByNewEvent},
		{"CredentialReusedConcurrent", testCredentialConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.fn(t, newStore(t)) })
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// base is a receive time with sub-millisecond digits, an hour ahead so that
// DynamoDB's TTL (which deletes by the wall clock) never removes a key the
// suite still uses.
func base() time.Time {
	return time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond).Add(123456 * time.Nanosecond)
}

func put(t *testing.T, s Store, ev store.Event, keyExpiresAt time.Time) store.PutResult {
	t.Helper()
	res, err := s.Put(ctx(t), ev, keyExpiresAt)
	if err != nil {
		t.Fatalf("Put(%s): %v", ev.ID, err)
	}
	return res
}

func putNew(t *testing.T, s Store, ev store.Event) {
	t.Helper()
	res := put(t, s, ev, ev.ReceivedAt.Add(KeyWindow))
	want := store.PutResult{ID: ev.ID, Status: store.StatusReceived}
	if res != want {
		t.Fatalf("Put(%s) = %+v, want %+v", ev.ID, res, want)
	}
}

func get(t *testing.T, s Store, id string) store.Event {
	t.Helper()
	ev, err := s.Get(ctx(t), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return ev
}

func wantNotFound(t *testing.T, s Store, id string) {
	t.Helper()
	ev, err := s.Get(ctx(t), id)
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%s) = %+v, %v; want ErrNotFound", id, ev.ID, err)
	}
}

// sameTime compares to the millisecond (the contract's floor) and keeps
// zero distinct from every other time.
func sameTime(a, b time.Time) bool {
	if a.IsZero() || b.IsZero() {
		return a.IsZero() && b.IsZero()
	}
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
}

// EqualEvents reports the differences between two events, or "" if they
// match: bytes exactly, times to the millisecond, nil and empty
// Raw/Normalized/Meta/Deliveries alike, Version and Deliveries included.
func EqualEvents(got, want store.Event) string {
	var d []string
	str := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	tm := func(name string, g, w time.Time) {
		if !sameTime(g, w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	byt := func(name string, g, w []byte) {
		if !bytes.Equal(g, w) {
			d = append(d, fmt.Sprintf("%s differs: %d bytes, want %d", name, len(g), len(w)))
		}
	}
	str("ID", got.ID, want.ID)
	str("Provider", got.Provider, want.Provider)
	str("Type", got.Type, want.Type)
	str("IdempotencyKey", got.IdempotencyKey, want.IdempotencyKey)
	str("EntityID", got.EntityID, want.EntityID)
	str("Tenant", got.Tenant, want.Tenant)
	str("Status", string(got.Status), string(want.Status))
	tm("ReceivedAt", got.ReceivedAt, want.ReceivedAt)
	tm("OccurredAt", got.OccurredAt, want.OccurredAt)
	tm("UpdatedAt", got.UpdatedAt, want.UpdatedAt)
	tm("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	byt("Raw", got.Raw, want.Raw)
	byt("Normalized", got.Normalized, want.Normalized)
	if !maps.Equal(got.Meta, want.Meta) {
		d = append(d, fmt.Sprintf("Meta = %v, want %v", got.Meta, want.Meta))
	}
	if got.Version != want.Version {
		d = append(d, fmt.Sprintf("Version = %d, want %d", got.Version, want.Version))
	}
	if diff := EqualDeliveries(got.Deliveries, want.Deliveries); diff != "" {
		d = append(d, diff)
	}
	return strings.Join(d, "; ")
}

// EqualDeliveries reports the differences between two delivery lists, or ""
// if they match: same order, times to the millisecond, nil and empty alike.
func EqualDeliveries(got, want []store.Delivery) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d deliveries %+v, want %d %+v", len(got), got, len(want), want)
	}
	var d []string
	for i := range got {
		g, w := got[i], want[i]
		if g.Destination != w.Destination || g.Attempts != w.Attempts || g.LastStatusCode != w.LastStatusCode ||
			g.LastClass != w.LastClass || !sameTime(g.LastAttemptAt, w.LastAttemptAt) || !sameTime(g.NextAttemptAt, w.NextAttemptAt) ||
			!sameTime(g.DeliveredAt, w.DeliveredAt) || !sameTime(g.FailedAt, w.FailedAt) ||
			!sameTime(g.FilteredAt, w.FilteredAt) || g.LastError != w.LastError {
			d = append(d, fmt.Sprintf("delivery %d = %+v, want %+v", i, g, w))
		}
	}
	return strings.Join(d, "; ")
}

// MaxBody is the ingest body limit (256 KiB): stores must keep a Raw this big.
const MaxBody = 256 << 10

// binaryBody returns n bytes covering every byte value, including sequences
// that are not UTF-8 (0xff, lone continuation bytes, NUL).
func binaryBody(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/256)
	}
	copy(b, []byte{0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, '{'})
	return b
}

func testRoundTrip(t *testing.T, s Store) {
	at := base()
	full := NewEvent("leadron", "evt_round_trip", at)
	full.Raw = binaryBody(MaxBody)
	full.Meta = map[string]string{"kid": "1", "sub": "ünïcødé ✓", "empty": ""}
	full.Normalized = []byte(`{"kind":"lead","action":"created","lead":{"name":"Zoë \"Q\" O'Brien"}}`)
	full.OccurredAt = time.Date(2025, 11, 24, 9, 30, 15, 987654321, time.FixedZone("CET", 3600))
	full.UpdatedAt = at.Add(time.Millisecond)

	bare := store.Event{
		ID:             ulid.Make().String(),
		Provider:       "tomba",
		Type:           "tomba.save_lead",
		IdempotencyKey: "sha256:abc",
		ReceivedAt:     at,
		Raw:            []byte("{}"),
		Status:         store.StatusReceived,
	}
	for _, want := range []store.Event{full, bare} {
		putNew(t, s, want)
		got := get(t, s, want.ID)
		if d := EqualEvents(got, want); d != "" {
			t.Errorf("Get(%s): %s", want.ID, d)
		}
		if !want.OccurredAt.IsZero() && got.OccurredAt.Location() != time.UTC {
			t.Errorf("Get(%s).OccurredAt in %v, want UTC", want.ID, got.OccurredAt.Location())
		}
	}
}

func testPutStatusReceived(t *testing.T, s Store) {
	ev := NewEvent("leadron", "evt_status", base())
	ev.Status = store.StatusDelivered
	res := put(t, s, ev, ev.ReceivedAt.Add(KeyWindow))
	if res.Duplicate || res.Status != store.StatusReceived {
		t.Fatalf("Put = %+v, want new, received", res)
	}
	if got := get(t, s, ev.ID).Status; got != store.StatusReceived {
		t.Fatalf("stored status %q, want received", got)
	}
}

func testGetUnknown(t *testing.T, s Store) {
	wantNotFound(t, s, ulid.Make().String())
	putNew(t, s, NewEvent("leadron", "evt_known", base()))
	wantNotFound(t, s, ulid.Make().String())
	wantNotFound(t, s, "not-an-id")
	wantNotFound(t, s, "")
	wantNotFound(t, s, "\xff\xfe")
	for _, id := range []string{"", "\xff"} {
		if ok, err := s.Transition(ctx(t), id, store.StatusReceived, store.StatusQueued); ok || err != nil {
			t.Errorf("Transition(%q) = %v, %v; want false, nil", id, ok, err)
		}
	}
}

func testDuplicate(t *testing.T, s Store) {
	at := base()
	first := NewEvent("leadron", "evt_dup", at)
	putNew(t, s, first)

	second := NewEvent("leadron", "evt_dup", at.Add(time.Minute))
	second.Raw = []byte(`{"id":"evt_dup","retry":true}`)
	res := put(t, s, second, second.ReceivedAt.Add(KeyWindow))
	want := store.PutResult{Duplicate: true, ID: first.ID, Status: store.StatusReceived}
	if res != want {
		t.Fatalf("second Put = %+v, want %+v", res, want)
	}
	wantNotFound(t, s, second.ID)
	if d := EqualEvents(get(t, s, first.ID), first); d != "" {
		t.Fatalf("first event changed: %s", d)
	}

	// A duplicate names the first event's current status.
	for _, to := range []store.Status{store.StatusQueued, store.StatusDelivered} {
		from := store.StatusReceived
		if to == store.StatusDelivered {
			from = store.StatusQueued
		}
		if ok, err := s.Transition(ctx(t), first.ID, from, to); err != nil || !ok {
			t.Fatalf("Transition(%s→%s) = %v, %v", from, to, ok, err)
		}
		third := NewEvent("leadron", "evt_dup", at.Add(2*time.Minute))
		res = put(t, s, third, third.ReceivedAt.Add(KeyWindow))
		want = store.PutResult{Duplicate: true, ID: first.ID, Status: to}
		if res != want {
			t.Fatalf("Put after →%s = %+v, want %+v", to, res, want)
		}
		wantNotFound(t, s, third.ID)
	}
}

func testKeyScopedByProvider(t *testing.T, s Store) {
	at := base()
	a := NewEvent("leadron", "shared_key", at)
	b := NewEvent("tomba", "shared_key", at)
	putNew(t, s, a)
	putNew(t, s, b)
	// Separators must not make two different (provider, key) pairs collide.
	c := NewEvent("lead", "ron#shared_key", at)
	putNew(t, s, c)
	for _, ev := range []store.Event{a, b, c} {
		if got := get(t, s, ev.ID); got.Provider != ev.Provider {
			t.Fatalf("Get(%s).Provider = %q, want %q", ev.ID, got.Provider, ev.Provider)
		}
	}
}

func testConcurrentSameKey(t *testing.T, s Store) {
	const n = 20
	at := base()
	evs := make([]store.Event, n)
	for i := range evs {
		evs[i] = NewEvent("journeybee", "jb_concurrent", at.Add(time.Duration(i)*time.Millisecond))
	}
	results := make([]store.PutResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range evs {
		wg.Go(func() {
			<-start
			results[i], errs[i] = s.Put(ctx(t), evs[i], at.Add(KeyWindow))
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Put %d: %v", i, err)
		}
		if !results[i].Duplicate {
			if winner >= 0 {
				t.Fatalf("Puts %d and %d both new: %+v, %+v", winner, i, results[winner], results[i])
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("no Put was new: %+v", results)
	}
	for i, r := range results {
		want := store.PutResult{Duplicate: i != winner, ID: evs[winner].ID, Status: store.StatusReceived}
		if r != want {
			t.Errorf("Put %d = %+v, want %+v", i, r, want)
		}
		if i != winner {
			wantNotFound(t, s, evs[i].ID)
		}
	}
	if d := EqualEvents(get(t, s, evs[winner].ID), evs[winner]); d != "" {
		t.Fatalf("winner stored wrong: %s", d)
	}
}

func testExpiredKey(t *testing.T, s Store) {
	at := base()
	first := NewEvent("leadron", "evt_expiring", at)
	keyExpires := at.Add(time.Second)
	if res := put(t, s, first, keyExpires); res.Duplicate {
		t.Fatalf("first Put = %+v, want new", res)
	}

	// Before the key expires: a duplicate.
	early := NewEvent("leadron", "evt_expiring", at.Add(500*time.Millisecond))
	if res := put(t, s, early, early.ReceivedAt.Add(KeyWindow)); !res.Duplicate || res.ID != first.ID {
		t.Fatalf("Put before expiry = %+v, want duplicate of %s", res, first.ID)
	}
	wantNotFound(t, s, early.ID)

	// After: the key is claimed again by a new event, even though the old
	// key record may still exist (DynamoDB deletes expired items up to 48h late).
	late := NewEvent("leadron", "evt_expiring", at.Add(2*time.Second))
	res := put(t, s, late, late.ReceivedAt.Add(KeyWindow))
	if want := (store.PutResult{ID: late.ID, Status: store.StatusReceived}); res != want {
		t.Fatalf("Put after expiry = %+v, want %+v", res, want)
	}
	get(t, s, late.ID)
	get(t, s, first.ID) // the old event stays

	// The new claim holds with the new window.
	again := NewEvent("leadron", "evt_expiring", at.Add(3*time.Second))
	if res := put(t, s, again, again.ReceivedAt.Add(KeyWindow)); !res.Duplicate || res.ID != late.ID {
		t.Fatalf("Put after re-claim = %+v, want duplicate of %s", res, late.ID)
	}
}

func testExpiredKeyPast(t *testing.T, s Store) {
	now := time.Now().UTC()
	old := NewEvent("tomba", "sha256:old", now.Add(-2*time.Hour))
	putNew(t, s, old) // its key window ends in the future...
	// ...but this one's ended an hour ago.
	older := NewEvent("tomba", "sha256:expired", now.Add(-2*time.Hour))
	if res := put(t, s, older, now.Add(-time.Hour)); res.Duplicate {
		t.Fatalf("Put = %+v, want new", res)
	}
	fresh := NewEvent("tomba", "sha256:expired", now)
	if res := put(t, s, fresh, now.Add(KeyWindow)); res.Duplicate || res.ID != fresh.ID {
		t.Fatalf("Put of an expired key = %+v, want new %s", res, fresh.ID)
	}
	dup := NewEvent("tomba", "sha256:old", now)
	if res := put(t, s, dup, now.Add(KeyWindow)); !res.Duplicate || res.ID != old.ID {
		t.Fatalf("Put of a live key = %+v, want duplicate of %s", res, old.ID)
	}
}

func testInvalidEvent(t *testing.T, s Store) {
	at := base()
	cases := []struct {
		name   string
		change func(ev *store.Event)
	}{
		{"no ID", func(ev *store.Event) { ev.ID = "" }},
		{"no Provider", func(ev *store.Event) { ev.Provider = "" }},
		{"no IdempotencyKey", func(ev *store.Event) { ev.IdempotencyKey = "" }},
		{"Provider with #", func(ev *store.Event) { ev.Provider = "lead#ron" }},
		{"IdempotencyKey too long", func(ev *store.Event) {
			ev.IdempotencyKey = strings.Repeat("k", store.MaxIdempotencyKeyLen+1)
		}},
		{"no ReceivedAt", func(ev *store.Event) { ev.ReceivedAt = time.Time{} }},
		{"time out of range", func(ev *store.Event) { ev.ExpiresAt = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"Tenant not UTF-8", func(ev *store.Event) { ev.Tenant = "acme\xff" }},
		{"Meta not UTF-8", func(ev *store.Event) { ev.Meta = map[string]string{"sub": "\xc3\x28"} }},
		{"ID too long", func(ev *store.Event) { ev.ID = strings.Repeat("I", store.MaxIDLen+1) }},
		{"Provider too long", func(ev *store.Event) { ev.Provider = strings.Repeat("p", store.MaxProviderLen+1) }},
		{"Type too long", func(ev *store.Event) { ev.Type = strings.Repeat("t", store.MaxFieldLen+1) }},
		{"EntityID too long", func(ev *store.Event) { ev.EntityID = strings.Repeat("e", store.MaxFieldLen+1) }},
		{"Tenant too long", func(ev *store.Event) { ev.Tenant = strings.Repeat("t", store.MaxFieldLen+1) }},
		{"Meta too big", func(ev *store.Event) { ev.Meta = map[string]string{"id": strings.Repeat("<", store.MaxMetaBytes/6+1)} }},
		{"Credential.ID too long", func(ev *store.Event) {
			ev.Credential = store.Credential{ID: strings.Repeat("c", store.MaxFieldLen+1)}
		}},
		{"Credential.ExpiresAt out of range", func(ev *store.Event) {
			ev.Credential = store.Credential{ID: "c", ExpiresAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := NewEvent("leadron", "evt_invalid", at)
			c.change(&ev)
			res, err := s.Put(ctx(t), ev, at.Add(KeyWindow))
			if !errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Put = %+v, %v; want an error wrapping ErrInvalid only", res, err)
			}
			if ev.ID != "" {
				wantNotFound(t, s, ev.ID)
			}
		})
	}
	// Nothing was claimed: a valid event with the key is new.
	putNew(t, s, NewEvent("leadron", "evt_invalid", at))
}

func testExistingID(t *testing.T, s Store) {
	at := base()
	first := NewEvent("leadron", "evt_first", at)
	putNew(t, s, first)

	clash := NewEvent("leadron", "evt_other", at.Add(time.Second))
	clash.ID = first.ID
	clash.Raw = []byte(`{"clash":true}`)
	res, err := s.Put(ctx(t), clash, clash.ReceivedAt.Add(KeyWindow))
	if err == nil {
		t.Fatalf("Put with an existing ID = %+v, want an error", res)
	}
	if d := EqualEvents(get(t, s, first.ID), first); d != "" {
		t.Fatalf("existing event overwritten: %s", d)
	}
	// The failed Put claimed nothing: one atomic step.
	putNew(t, s, NewEvent("leadron", "evt_other", at.Add(2*time.Second)))
}

func testTransition(t *testing.T, s Store) {
	ev := NewEvent("leadron", "evt_transition", time.Now().UTC().Add(-time.Hour))
	putNew(t, s, ev)
	step := func(from, to store.Status, want bool) {
		t.Helper()
		ok, err := s.Transition(ctx(t), ev.ID, from, to)
		if err != nil || ok != want {
			t.Fatalf("Transition(%s→%s) = %v, %v; want %v, nil", from, to, ok, err, want)
		}
	}
	before := time.Now().Truncate(time.Millisecond)
	step(store.StatusReceived, store.StatusQueued, true)
	got := get(t, s, ev.ID)
	if got.Status != store.StatusQueued {
		t.Fatalf("status %q after received→queued", got.Status)
	}
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("UpdatedAt = %v, want about now (%v)", got.UpdatedAt, before)
	}
	if got.Version != ev.Version+1 {
		t.Fatalf("Version = %d after a transition, want %d", got.Version, ev.Version+1)
	}
	ev.Status, ev.UpdatedAt, ev.Version = got.Status, got.UpdatedAt, got.Version
	if d := EqualEvents(got, ev); d != "" {
		t.Fatalf("Transition changed more than status, UpdatedAt and Version: %s", d)
	}

	step(store.StatusReceived, store.StatusQueued, false) // already queued
	step(store.StatusFailed, store.StatusDelivered, false)
	if got := get(t, s, ev.ID); got.Status != store.StatusQueued || got.Version != ev.Version {
		t.Fatalf("status %q, Version %d after refused transitions, want queued, %d", got.Status, got.Version, ev.Version)
	}
	step(store.StatusQueued, store.StatusDelivered, true)
	if got := get(t, s, ev.ID).Status; got != store.StatusDelivered {
		t.Fatalf("status %q, want delivered", got)
	}
	step(store.StatusDelivered, store.StatusFailed, true)
	step(store.StatusFailed, store.StatusQueued, true) // redrive

	// A missing id: false, no error.
	ok, err := s.Transition(ctx(t), ulid.Make().String(), store.StatusReceived, store.StatusQueued)
	if err != nil || ok {
		t.Fatalf("Transition of a missing id = %v, %v; want false, nil", ok, err)
	}
}

func ids(evs []store.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.ID
	}
	return out
}

func wantIDs(t *testing.T, what string, got []store.Event, want ...store.Event) {
	t.Helper()
	g, w := strings.Join(ids(got), " "), strings.Join(ids(want), " ")
	if g != w {
		t.Fatalf("%s = [%s], want [%s]", what, g, w)
	}
	for i := range got {
		if d := EqualEvents(got[i], want[i]); d != "" {
			t.Fatalf("%s[%d]: %s", what, i, d)
		}
	}
}

func testListByStatus(t *testing.T, s Store) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var evs []store.Event
	// Inserted out of order; two share a receive time (ordered by ID then).
	for i, off := range []int{3, 0, 1, 1, 2, 5, 4} {
		ev := NewEvent([]string{"leadron", "tomba"}[i%2], fmt.Sprintf("evt_status_%d", i), at.Add(time.Duration(off)*time.Second))
		putNew(t, s, ev)
		evs = append(evs, ev)
	}
	// evs[4] (t+2) leaves received.
	if ok, err := s.Transition(ctx(t), evs[4].ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
		t.Fatalf("Transition: %v, %v", ok, err)
	}
	queued := evs[4]
	queued.Status = store.StatusQueued
	queued.UpdatedAt = get(t, s, queued.ID).UpdatedAt
	queued.Version = 1

	tie := []store.Event{evs[2], evs[3]}
	if tie[0].ID > tie[1].ID {
		tie[0], tie[1] = tie[1], tie[0]
	}
	// Received before t+4: t+0, t+1 (×2), t+3; not t+2 (queued), not t+4 (not before), not t+5.
	before := at.Add(4 * time.Second)
	got, err := s.ListByStatus(ctx(t), store.StatusReceived, before, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(received, t+4s, 10)", got, evs[1], tie[0], tie[1], evs[0])

	got, err = s.ListByStatus(ctx(t), store.StatusReceived, before, 2)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(received, t+4s, 2)", got, evs[1], tie[0])

	got, err = s.ListByStatus(ctx(t), store.StatusReceived, at, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(received, t, 10)", got)

	got, err = s.ListByStatus(ctx(t), store.StatusQueued, at.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(queued, t+1h, 10)", got, queued)

	got, err = s.ListByStatus(ctx(t), store.StatusFailed, at.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(failed, t+1h, 10)", got)
}

func testListByProvider(t *testing.T, s Store) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var lr []store.Event
	for i, off := range []int{4, 0, 2, 1, 3, 2} {
		ev := NewEvent("leadron", fmt.Sprintf("evt_prov_%d", i), at.Add(time.Duration(off)*time.Second))
		putNew(t, s, ev)
		lr = append(lr, ev)
		putNew(t, s, NewEvent("tomba", fmt.Sprintf("tb_prov_%d", i), at.Add(time.Duration(off)*time.Second)))
	}
	// Status does not matter.
	if ok, err := s.Transition(ctx(t), lr[3].ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
		t.Fatalf("Transition: %v, %v", ok, err)
	}
	lr[3] = get(t, s, lr[3].ID)
	tie := []store.Event{lr[2], lr[5]}
	if tie[0].ID > tie[1].ID {
		tie[0], tie[1] = tie[1], tie[0]
	}

	// [t+1, t+3): from is included, to is not.
	got, err := s.ListByProvider(ctx(t), "leadron", at.Add(time.Second), at.Add(3*time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByProvider(leadron, t+1s, t+3s, 10)", got, lr[3], tie[0], tie[1])

	got, err = s.ListByProvider(ctx(t), "leadron", at.Add(-time.Hour), at.Add(time.Hour), 3)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByProvider(leadron, all, 3)", got, lr[1], lr[3], tie[0])

	got, err = s.ListByProvider(ctx(t), "leadron", at.Add(-time.Hour), at.Add(time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByProvider(leadron, all, 100)", got, lr[1], lr[3], tie[0], tie[1], lr[4], lr[0])

	got, err = s.ListByProvider(ctx(t), "journeybee", at.Add(-time.Hour), at.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByProvider(journeybee)", got)
}

func testListArgs(t *testing.T, s Store) {
	now := time.Now()
	for _, limit := range []int{0, -1} {
		if evs, err := s.ListByStatus(ctx(t), store.StatusReceived, now, limit); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListByStatus(limit %d) = %d events, %v; want ErrInvalid", limit, len(evs), err)
		}
		if evs, err := s.ListByProvider(ctx(t), "leadron", now.Add(-time.Hour), now, limit); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListByProvider(limit %d) = %d events, %v; want ErrInvalid", limit, len(evs), err)
		}
	}
	for _, st := range []store.Status{store.StatusDelivered, "bogus", ""} {
		if evs, err := s.ListByStatus(ctx(t), st, now, 10); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListByStatus(%q) = %d events, %v; want ErrInvalid", st, len(evs), err)
		}
	}
}

// NewDeliveries returns delivery states for the destinations names, every
// field set (times with sub-millisecond digits, relative to at), the first
// one delivered, the last failed with an error message (if there are two or
// more), the third filtered (if there are four or more), any others pending.
func NewDeliveries(at time.Time, names ...string) []store.Delivery {
	out := make([]store.Delivery, len(names))
	for i, n := range names {
		d := store.Delivery{
			Destination:    n,
			Attempts:       i + 1,
			LastStatusCode: 503,
			LastClass:      "http_503",
			LastAttemptAt:  at.Add(time.Duration(i)*time.Second + 123456*time.Nanosecond),
			NextAttemptAt:  at.Add(time.Duration(i+1)*time.Minute + 654321*time.Nanosecond),
		}
		switch {
		case i == 0:
			d.LastStatusCode, d.LastClass, d.NextAttemptAt = 204, "", time.Time{}
			d.DeliveredAt = d.LastAttemptAt
		case i == len(names)-1:
			d.LastStatusCode, d.LastClass, d.NextAttemptAt = 410, "http_410", time.Time{}
			d.FailedAt = d.LastAttemptAt
			d.LastError = `transform: cannot add: object ({"a":"<é>"}) and number (1)`
		case i == 2:
			d.LastStatusCode, d.LastClass, d.NextAttemptAt, d.Attempts = 0, "", time.Time{}, 0
			d.FilteredAt = d.LastAttemptAt.Add(time.Second)
		}
		out[i] = d
	}
	return out
}

func save(t *testing.T, s Store, id string, version int64, ds []store.Delivery, st store.Status) bool {
	t.Helper()
	ok, err := s.SaveDeliveries(ctx(t), id, version, ds, st)
	if err != nil {
		t.Fatalf("SaveDeliveries(%s, v%d): %v", id, version, err)
	}
	return ok
}

func testSaveDeliveries(t *testing.T, s Store) {
	at := time.Now().UTC().Add(-time.Hour)
	ev := NewEvent("leadron", "evt_deliveries", at)
	ev.Deliveries = NewDeliveries(at, "ignored")
	ev.Version = 7
	putNew(t, s, ev)
	got := get(t, s, ev.ID)
	if got.Version != 0 || got.Deliveries != nil {
		t.Fatalf("after Put: Version %d, Deliveries %+v; want 0 and none whatever ev says", got.Version, got.Deliveries)
	}
	ev.Version, ev.Deliveries = 0, nil

	// Pending work: the status is kept (empty status), the state replaced.
	first := NewDeliveries(at, "crm", "slack", "sheet", "archive")
	before := time.Now().Truncate(time.Millisecond)
	if !save(t, s, ev.ID, 0, first, "") {
		t.Fatal("SaveDeliveries(v0) of a fresh event = false, want true")
	}
	got = get(t, s, ev.ID)
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("UpdatedAt = %v, want about now (%v)", got.UpdatedAt, before)
	}
	for _, d := range got.Deliveries {
		for _, tm := range []time.Time{d.LastAttemptAt, d.NextAttemptAt, d.DeliveredAt, d.FailedAt, d.FilteredAt} {
			if !tm.IsZero() && tm.Location() != time.UTC {
				t.Fatalf("delivery time %v not in UTC", tm)
			}
		}
	}
	ev.UpdatedAt, ev.Version, ev.Deliveries = got.UpdatedAt, 1, first
	if d := EqualEvents(got, ev); d != "" {
		t.Fatalf("after SaveDeliveries: %s", d)
	}
	if g, w := got.Deliveries[1].NextAttemptAt, first[1].NextAttemptAt; !g.Equal(w) {
		t.Errorf("NextAttemptAt = %v, want %v to the nanosecond", g, w)
	}

	// Settled: the status moves with the state, and leaves the listings.
	settled := NewDeliveries(at, "crm", "archive")
	if !save(t, s, ev.ID, 1, settled, store.StatusFailed) {
		t.Fatal("SaveDeliveries(v1) = false, want true")
	}
	got = get(t, s, ev.ID)
	if got.Status != store.StatusFailed || got.Version != 2 {
		t.Fatalf("status %q, Version %d; want failed, 2", got.Status, got.Version)
	}
	if d := EqualDeliveries(got.Deliveries, settled); d != "" {
		t.Fatalf("deliveries: %s", d)
	}
	list, err := s.ListByStatus(ctx(t), store.StatusFailed, at.Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(failed)", list, got)
	list, err = s.ListByStatus(ctx(t), store.StatusReceived, at.Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(received)", list)

	// A replay: back to queued with the state reset (none), then delivered.
	if !save(t, s, ev.ID, 2, nil, store.StatusQueued) {
		t.Fatal("SaveDeliveries(v2, none) = false, want true")
	}
	if got = get(t, s, ev.ID); got.Status != store.StatusQueued || got.Deliveries != nil || got.Version != 3 {
		t.Fatalf("after reset: status %q, deliveries %+v, Version %d; want queued, none, 3", got.Status, got.Deliveries, got.Version)
	}
	done := NewDeliveries(at, "crm")
	if !save(t, s, ev.ID, 3, done, store.StatusDelivered) {
		t.Fatal("SaveDeliveries(v3) = false, want true")
	}
	got = get(t, s, ev.ID)
	ev.Status, ev.UpdatedAt, ev.Version, ev.Deliveries = store.StatusDelivered, got.UpdatedAt, 4, done
	if d := EqualEvents(got, ev); d != "" {
		t.Fatalf("after delivery: %s", d)
	}
	list, err = s.ListByStatus(ctx(t), store.StatusQueued, at.Add(time.Second), 10)
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "ListByStatus(queued) after delivery", list)
}

func testSaveDeliveriesStale(t *testing.T, s Store) {
	at := base()
	ev := NewEvent("tomba", "sha256:stale_version", at)
	putNew(t, s, ev)
	ds := NewDeliveries(at, "crm", "log")
	for _, v := range []int64{1, -1, 42} {
		if save(t, s, ev.ID, v, ds, store.StatusDelivered) {
			t.Fatalf("SaveDeliveries(v%d) of an event at v0 = true, want false", v)
		}
	}
	if !save(t, s, ev.ID, 0, ds, "") {
		t.Fatal("SaveDeliveries(v0) = false, want true")
	}
	// Another writer got there first with the same read.
	if save(t, s, ev.ID, 0, NewDeliveries(at, "other"), store.StatusFailed) {
		t.Fatal("second SaveDeliveries(v0) = true, want false: the version moved")
	}
	// A transition moves the version too.
	if ok, err := s.Transition(ctx(t), ev.ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
		t.Fatalf("Transition: %v, %v", ok, err)
	}
	if save(t, s, ev.ID, 1, nil, store.StatusDelivered) {
		t.Fatal("SaveDeliveries(v1) after a transition = true, want false")
	}
	got := get(t, s, ev.ID)
	ev.Status, ev.UpdatedAt, ev.Version, ev.Deliveries = store.StatusQueued, got.UpdatedAt, 2, ds
	if d := EqualEvents(got, ev); d != "" {
		t.Fatalf("refused saves changed the event: %s", d)
	}
	// A missing or impossible id: false, no error.
	for _, id := range []string{ulid.Make().String(), "", "\xff"} {
		if ok, err := s.SaveDeliveries(ctx(t), id, 0, ds, store.StatusDelivered); ok || err != nil {
			t.Errorf("SaveDeliveries(%q) = %v, %v; want false, nil", id, ok, err)
		}
	}
}

// testSaveDeliveriesConcurrent runs writers that each add their own
// destination by read, modify, SaveDeliveries, and re-read on a refusal:
// with a working version check no addition is lost.
func testSaveDeliveriesConcurrent(t *testing.T, s Store) {
	const writers = 8
	at := base()
	ev := NewEvent("journeybee", "jb_concurrent_deliveries", at)
	putNew(t, s, ev)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() {
			mine := store.Delivery{Destination: fmt.Sprintf("dest-%d", i), Attempts: 1, DeliveredAt: at}
			for try := 0; try < 200; try++ {
				cur, err := s.Get(ctx(t), ev.ID)
				if err != nil {
					errs <- err
					return
				}
				ok, err := s.SaveDeliveries(ctx(t), ev.ID, cur.Version, append(cur.Deliveries, mine), "")
				if err != nil || ok {
					errs <- err
					return
				}
			}
			errs <- fmt.Errorf("writer %d: no save in 200 tries", i)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := get(t, s, ev.ID)
	if got.Version != writers || len(got.Deliveries) != writers {
		t.Fatalf("Version %d with %d deliveries %+v; want %d and %d: an update was lost", got.Version, len(got.Deliveries), got.Deliveries, writers, writers)
	}
}

func testSaveDeliveriesInvalid(t *testing.T, s Store) {
	at := base()
	ev := NewEvent("leadron", "evt_invalid_deliveries", at)
	putNew(t, s, ev)
	ok := NewDeliveries(at, "crm")
	long := strings.Repeat("d", store.MaxDestinationLen+1)
	many := make([]store.Delivery, store.MaxDeliveries+1)
	for i := range many {
		many[i] = store.Delivery{Destination: fmt.Sprintf("d%d", i)}
	}
	huge := make([]store.Delivery, store.MaxDeliveries)
	for i := range huge {
		huge[i] = store.Delivery{Destination: fmt.Sprintf("%0*d", store.MaxDestinationLen, i), LastClass: strings.Repeat("<", store.MaxClassLen)}
	}
	cases := []struct {
		name   string
		ds     []store.Delivery
		status store.Status
	}{
		{"unknown status", ok, "bogus"},
		{"no destination", []store.Delivery{{Attempts: 1}}, ""},
		{"destination twice", []store.Delivery{{Destination: "crm"}, {Destination: "crm"}}, ""},
		{"destination too long", []store.Delivery{{Destination: long}}, ""},
		{"destination not UTF-8", []store.Delivery{{Destination: "crm\xff"}}, ""},
		{"class too long", []store.Delivery{{Destination: "crm", LastClass: strings.Repeat("c", store.MaxClassLen+1)}}, ""},
		{"error too long", []store.Delivery{{Destination: "crm", LastError: strings.Repeat("e", store.MaxErrorLen+1)}}, ""},
		{"error not UTF-8", []store.Delivery{{Destination: "crm", LastError: "jq\xff"}}, ""},
		{"negative attempts", []store.Delivery{{Destination: "crm", Attempts: -1}}, ""},
		{"time out of range", []store.Delivery{{Destination: "crm", NextAttemptAt: time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)}}, ""},
		{"too many", many, ""},
		{"too large encoded", huge, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			saved, err := s.SaveDeliveries(ctx(t), ev.ID, 0, c.ds, c.status)
			if saved || !errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("SaveDeliveries = %v, %v; want an error wrapping ErrInvalid only", saved, err)
			}
		})
	}
	if d := EqualEvents(get(t, s, ev.ID), ev); d != "" {
		t.Fatalf("refused saves changed the event: %s", d)
	}
	if !save(t, s, ev.ID, 0, ok, store.StatusQueued) {
		t.Fatal("valid SaveDeliveries after refusals = false, want true")
	}
}

// testWindowPerKey: the caller chooses each key's window (ingest gives keys
// hashed from the body a short one and provider event ids a long one); the
// store keeps each claim until its own expiry, by the new event's receive
// time (the caller's clock).
func testWindowPerKey(t *testing.T, s Store) {
	at := base()
	const day = 24 * time.Hour
	a := NewEvent("tomba", "tomba:A", at)
	putNew := func(ev store.Event, window time.Duration) store.PutResult {
		t.Helper()
		return put(t, s, ev, ev.ReceivedAt.Add(window))
	}
	if res := putNew(a, day); res.Duplicate {
		t.Fatalf("A = %+v, want new", res)
	}
	if res := putNew(NewEvent("tomba", "tomba:A", at.Add(time.Hour)), day); !res.Duplicate || res.ID != a.ID {
		t.Fatalf("A again within its day = %+v, want duplicate of %s", res, a.ID)
	}
	if res := putNew(NewEvent("tomba", "tomba:B", at.Add(2*time.Hour)), day); res.Duplicate {
		t.Fatalf("B = %+v, want new", res)
	}
	later := NewEvent("tomba", "tomba:A", at.Add(day+time.Second))
	if res := putNew(later, day); res.Duplicate || res.ID != later.ID {
		t.Fatalf("A after its day = %+v, want new %s", res, later.ID)
	}
	// A week-long claim, written at the same time, holds past the day.
	l := NewEvent("leadron", "leadron:evt_1", at)
	putNew(l, 7*day)
	if res := putNew(NewEvent("leadron", "leadron:evt_1", at.Add(day+time.Second)), 7*day); !res.Duplicate || res.ID != l.ID {
		t.Fatalf("leadron key after a day = %+v, want duplicate of %s", res, l.ID)
	}
}

// bound returns an event of journeybee with key and credential cred, bound
// until exp.
func bound(key, cred string, at, exp time.Time) store.Event {
	ev := NewEvent("journeybee", key, at)
	ev.Credential = store.Credential{ID: cred, ExpiresAt: exp}
	return ev
}

func wantReused(t *testing.T, s Store, ev store.Event) {
	t.Helper()
	res, err := s.Put(ctx(t), ev, ev.ReceivedAt.Add(KeyWindow))
	if !errors.Is(err, store.ErrCredentialReused) || errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put(%s with a reused credential) = %+v, %v; want ErrCredentialReused", ev.IdempotencyKey, res, err)
	}
	wantNotFound(t, s, ev.ID)
}

func testCredentialBinding(t *testing.T, s Store) {
	at := base()
	exp := at.Add(time.Hour)
	first := bound("jb:A", "tok1", at, exp)
	putNew(t, s, first)

	// The same token with another body: refused, nothing written.
	wantReused(t, s, bound("jb:B", "tok1", at.Add(time.Second), exp))
	// ...and it claimed nothing: B with another token is new.
	b := bound("jb:B", "tok2", at.Add(2*time.Second), exp)
	putNew(t, s, b)
	// The same token and body again (a retry): a duplicate, as without binding.
	if res := put(t, s, bound("jb:A", "tok1", at.Add(3*time.Second), exp), at.Add(KeyWindow)); !res.Duplicate || res.ID != first.ID {
		t.Fatalf("retry of the first body = %+v, want duplicate of %s", res, first.ID)
	}
	// The token with a body whose key is claimed by another event: the reuse
	// is what counts.
	wantReused(t, s, bound("jb:B", "tok1", at.Add(4*time.Second), exp))
	// The same token id under another provider is another credential.
	other := NewEvent("tomba", "jb:B", at.Add(5*time.Second))
	other.Credential = store.Credential{ID: "tok1", ExpiresAt: exp}
	putNew(t, s, other)
	// The first body again after its key expired (a short window), within
	// the token's life: the token is bound to that key, so it is new.
	short := bound("jb:S", "tok3", at, exp)
	if res := put(t, s, short, at.Add(time.Minute)); res.Duplicate {
		t.Fatalf("short = %+v", res)
	}
	again := bound("jb:S", "tok3", at.Add(2*time.Minute), exp)
	if res := put(t, s, again, at.Add(3*time.Minute)); res.Duplicate || res.ID != again.ID {
		t.Fatalf("same token and body after the key's window = %+v, want new %s", res, again.ID)
	}
	// After the token's expiry the binding is gone (a verifier refuses the
	// token by then anyway).
	late := bound("jb:C", "tok1", exp.Add(time.Second), exp.Add(time.Hour))
	putNew(t, s, late)
	wantReused(t, s, bound("jb:D", "tok1", exp.Add(2*time.Second), exp.Add(time.Hour)))
	// A zero expiry never ends.
	forever := bound("jb:E", "tok4", at, time.Time{})
	putNew(t, s, forever)
	wantReused(t, s, bound("jb:F", "tok4", at.Add(1000*time.Hour), time.Time{}))
}

// testCredentialBoundOnlyByNewEvent: a duplicate binds nothing, so a token
// that only ever carried a duplicate is free for another body.
func testCredentialBoundOnlyByNewEvent(t *testing.T, s Store) {
	at := base()
	exp := at.Add(time.Hour)
	first := bound("jb:A", "tok1", at, exp)
	putNew(t, s, first)
	if res := put(t, s, bound("jb:A", "tok2", at.Add(time.Second), exp), at.Add(KeyWindow)); !res.Duplicate || res.ID != first.ID {
		t.Fatalf("A with another token = %+v, want duplicate of %s", res, first.ID)
	}
	putNew(t, s, bound("jb:B", "tok2", at.Add(2*time.Second), exp))
	// An event without a credential binds nothing either.
	putNew(t, s, NewEvent("journeybee", "jb:C", at))
}

// testCredentialConcurrent: one token, many bodies at once: exactly one is
// stored, every other Put is refused and writes nothing.
func testCredentialConcurrent(t *testing.T, s Store) {
	at := base()
	const n = 10
	evs := make([]store.Event, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		evs[i] = bound(fmt.Sprintf("jb:%d", i), "tok", at, at.Add(time.Hour))
		wg.Go(func() { _, errs[i] = s.Put(ctx(t), evs[i], at.Add(KeyWindow)) })
	}
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
			get(t, s, evs[i].ID)
		case errors.Is(err, store.ErrCredentialReused):
			wantNotFound(t, s, evs[i].ID)
		default:
			t.Fatalf("Put %d: %v", i, err)
		}
	}
	if winners != 1 {
		t.Fatalf("%d bodies stored with one token, want 1", winners)
	}
}
