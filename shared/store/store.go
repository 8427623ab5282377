// Package store defines the stored event and the errors every store adapter
// returns. The adapters (store/dynamo for AWS, store/sqlite for the embedded
// mode) return concrete types; the packages that use a store (ingest, deliver)
// declare the small interface they need.
//
// Every adapter implements the same semantics, checked by one contract suite
// (store/storetest):
//
//	Put(ctx, ev Event, keyExpiresAt time.Time) (PutResult, error)
//	    One atomic step: claim ev.IdempotencyKey (scoped by ev.Provider) and
//	    store ev with status received. If the key is already claimed and has
//	    not expired, nothing is written and the result names the first event
//	    (Duplicate, its ID and current Status). Never check-then-write.
//	    An adapter may store the claim and the event in two writes (store/
//	    dynamo does, for cost) if a Put that stopped between them returns
//	    an error, and a later Put of the same key (the provider's retry)
//	    then stores its event under the claimed ID and reports a Duplicate
//	    in status received, so the caller enqueues it.
//	    If ev.Credential.ID is set, the same step also binds that credential
//	    to ev.IdempotencyKey (see Credential): a credential bound to another
//	    key fails the whole step with ErrCredentialReused.
//	Get(ctx, id string) (Event, error)                       // ErrNotFound
//	Transition(ctx, id string, from, to Status) (bool, error) // false if not in from
//	ListByStatus(ctx, s Status, receivedBefore time.Time, limit int) ([]Event, error)
//	ListByProvider(ctx, provider string, from, to time.Time, limit int) ([]Event, error)
//	SaveDeliveries(ctx, id string, version int64, ds []Delivery, s Status) (bool, error)
//	    // false if the event is missing or its Version is no longer version
//
// Any failure of the backend itself (connection refused, timeout, throttling,
// a closed database) wraps ErrUnavailable so the HTTP layer answers 503 and
// the provider retries.
//
// The details every adapter follows (and storetest checks):
//
//   - Put refuses an event that fails Event.Validate with an error wrapping
//     ErrInvalid and writes nothing. It stores ev with Status received
//     whatever ev.Status says; the other fields are stored as given.
//   - A claimed key counts as expired when its keyExpiresAt is before the new
//     event's ReceivedAt (the receive time of the delivery, so the caller's
//     clock decides, not the backend's). An expired key is claimed again by
//     the new event. A zero keyExpiresAt never expires.
//   - On a duplicate, PutResult.Status is the first event's current status,
//     or empty if that event was already deleted by retention.
//   - Transition sets UpdatedAt to the store's clock. A missing id gives
//     false and no error, like an event in another status.
//   - ListByStatus serves the statuses Listable accepts, else ErrInvalid. It
//     returns events in s with ReceivedAt before receivedBefore;
//     ListByProvider those of provider with from <= ReceivedAt < to. Both
//     are oldest first (ReceivedAt, then ID) and return at most limit events;
//     limit must be at least 1 (else ErrInvalid). On DynamoDB the indexes are
//     eventually consistent: a list may miss an event written a moment ago,
//     so fewer than limit events does not prove there are no more.
//   - Times come back in UTC, to the nanosecond; a zero time stays zero.
//     Empty Raw, Normalized, Meta and Deliveries come back nil.
//   - Every event that passes Validate is stored whole, up to a Raw of the
//     adapter's limit (store/dynamo: dynamo.MaxBodyBytes; SQLite: none
//     below the ingest limit). The small fields are bounded (MaxIDLen,
//     MaxProviderLen, MaxFieldLen, MaxIdempotencyKeyLen, MaxMetaBytes) so
//     that this limit is a fixed number an operator can check the config
//     against.
//
// # Credential binding
//
// A credential that does not sign the body (JourneyBee's bearer JWT) can be
// presented again with another body. Put can refuse that: with
// ev.Credential.ID set (a digest of the credential, never the credential),
// Put also records "this credential came with ev.IdempotencyKey" until
// ev.Credential.ExpiresAt (zero: never), in the same atomic step as the key
// claim and the event:
//
//   - A credential not bound yet, or bound with an expiry before the new
//     event's ReceivedAt, or bound to this same IdempotencyKey, is fine:
//     Put goes on as without it, and binds it if (and only if) it stores a
//     new event. A duplicate binds nothing.
//   - A credential bound, unexpired, to another IdempotencyKey fails Put
//     with ErrCredentialReused and nothing is written, even if the key is
//     also claimed (the reuse is what the caller must hear about).
//   - Bindings are scoped by Provider, like keys.

// # Delivery state and versions
//
// The processor keeps each destination's delivery state with the event
// (Event.Deliveries) and updates it with an optimistic lock, so that two
// processors handling the same event at once (SQS delivers at least once;
// the sweeper may enqueue an event twice) never overwrite each other's
// record:
//
//   - Every event has a Version. Put stores Version 0 and no Deliveries,
//     whatever ev says (like Status).
//   - SaveDeliveries(ctx, id, version, ds, s) replaces the event's whole
//     Deliveries with ds, sets its Status to s (an empty s keeps the status),
//     sets UpdatedAt to the store's clock and increments Version, all in one
//     conditional write that succeeds only if the event's Version is still
//     version. It returns false, and writes nothing, if the event is missing
//     or its Version moved: the caller reloads, merges its own results into
//     what it finds, and tries again. Nothing else changes.
//   - Transition increments Version too, so a SaveDeliveries based on a read
//     from before a status change (a replay, say) is refused and redone.
//   - SaveDeliveries refuses, with ErrInvalid and before writing anything, a
//     Status that is not one of the four, and deliveries that fail
//     ValidateDeliveries or encode to more than MaxDeliveriesBytes. It does not check the move between statuses: the
//     version check is the guard. The processor moves received or queued to
//     delivered or failed; a replay may move an event back to queued.
//   - Deliveries come back in the order saved, times in UTC to the
//     nanosecond; an empty ds is stored as none (Get gives nil).
package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where an event is in its life.
type Status string

const (
	StatusReceived  Status = "received"  // stored, not yet on the queue
	StatusQueued    Status = "queued"    // on the queue, waiting for the processor
	StatusDelivered Status = "delivered" // every matching destination succeeded
	StatusFailed    Status = "failed"    // at least one destination gave up
)

// Event is one accepted delivery as stored.
type Event struct {
	ID             string // ULID: sortable by receive time
	Provider       string // journeybee, leadron, tomba
	Type           string // canonical type, e.g. journeybee.lead_created
	IdempotencyKey string // provider.Delivery.IdempotencyKey
	EntityID       string
	Tenant         string
	ReceivedAt     time.Time
	OccurredAt     time.Time         // zero if the provider does not say
	Raw            []byte            // the body exactly as received
	Meta           map[string]string // verified, non-secret facts (claims)
	Normalized     []byte            // JSON of canonical.Record
	Status         Status
	UpdatedAt      time.Time
	ExpiresAt      time.Time // retention: the event may be deleted after this

	// Version counts the event's updates (Transition, SaveDeliveries); Put
	// stores 0. SaveDeliveries writes only if it is unchanged since the read.
	Version int64
	// Deliveries is the delivery state of each destination the event was
	// routed to, in the order the processor saved it.
	Deliveries []Delivery

	// Credential, when its ID is set, is bound to IdempotencyKey by Put (see
	// "Credential binding" in the package doc). It is a claim, not a field
	// of the stored event: Get and the lists return it empty.
	Credential Credential
}

// Credential identifies the credential one delivery carried.
type Credential struct {
	// ID is a digest of the credential (e.g. hex SHA-256 of a token), never
	// the credential itself. Empty: no binding.
	ID string
	// ExpiresAt is when the credential stops being accepted; the binding
	// lasts until then. Zero: never.
	ExpiresAt time.Time
}

// Delivery is one destination's delivery state for one event. A delivery
// is settled when DeliveredAt, FailedAt or FilteredAt is set, and pending
// otherwise.
type Delivery struct {
	Destination    string    `json:"destination"` // the configured destination name
	Attempts       int       `json:"attempts"`    // attempts made so far
	LastStatusCode int       `json:"last_status_code,omitzero"`
	LastClass      string    `json:"last_class,omitzero"` // the last failure's error class; empty after a success
	LastAttemptAt  time.Time `json:"last_attempt_at,omitzero"`
	NextAttemptAt  time.Time `json:"next_attempt_at,omitzero"` // when a pending delivery is due again
	DeliveredAt    time.Time `json:"delivered_at,omitzero"`    // set once an attempt succeeded
	FailedAt       time.Time `json:"failed_at,omitzero"`       // set once the processor gave up
	// FilteredAt is set when the destination's filter turned the event
	// away: settled without an attempt (Attempts does not count it).
	FilteredAt time.Time `json:"filtered_at,omitzero"`
	// LastError is the last failure's message where a class says too
	// little (a filter or transform error: the jq message, see
	// deliver.Program), at most MaxErrorLen bytes; empty after a success.
	LastError string `json:"last_error,omitzero"`
}

// Delivered reports whether an attempt succeeded.
func (d Delivery) Delivered() bool { return !d.DeliveredAt.IsZero() }

// Filtered reports whether the destination's filter turned the event away.
func (d Delivery) Filtered() bool { return !d.FilteredAt.IsZero() }

// Settled reports whether the delivery needs no more attempts: it succeeded,
// the processor gave up, or the filter turned the event away.
func (d Delivery) Settled() bool {
	return !d.DeliveredAt.IsZero() || !d.FailedAt.IsZero() || !d.FilteredAt.IsZero()
}

// PutResult says what Put did.
type PutResult struct {
	Duplicate bool   // the key was already claimed: nothing was written
	ID        string // the new event's id, or the first event's id on a duplicate
	Status    Status // received for a new event; the first event's status on a duplicate
}

var (
	// ErrNotFound: no event with that id.
	ErrNotFound = errors.New("store: not found")
	// ErrUnavailable wraps every failure of the backend itself.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrCredentialReused: Put refused an event whose Credential is bound,
	// unexpired, to another idempotency key. Nothing was written. It is the
	// delivery's fault, neither the caller's bug nor the backend's.
	ErrCredentialReused = errors.New("store: credential already used with another body")
)

// Additions shared by the adapters: the rules every store checks before it
// writes anything, so both answer a bad call the same way.

// ErrInvalid wraps every refusal of a call that breaks one of the rules below
// (an event that fails Validate, a limit under 1, a status no store lists).
// Nothing was written. It is the caller's bug, never the backend's: it does
// not wrap ErrUnavailable.
var ErrInvalid = errors.New("store: invalid")

// ErrTooLarge wraps an adapter's refusal of an event too big for it
// (store/dynamo: a Raw over dynamo.MaxBodyBytes). Nothing was written. It
// wraps ErrInvalid: the caller must keep bodies under the adapter's limit.
var ErrTooLarge = fmt.Errorf("%w: too large", ErrInvalid)

// MaxIdempotencyKeyLen bounds Event.IdempotencyKey in bytes. Provider keys are
// at most 128 bytes; the bound keeps the DynamoDB key item well under its
// 2,048-byte partition key limit.
const MaxIdempotencyKeyLen = 1024

// Bounds of the other small fields, in bytes, so that an event's size is
// its Raw and Normalized plus at most a few KiB (store/dynamo computes its
// body limit from them). Type, EntityID and Tenant come from the provider's
// body or token: ingest refuses a delivery over these as an invalid payload
// before it reaches a store (CheckSizes).
const (
	MaxIDLen       = 128  // ID (ingest makes 26-byte ULIDs)
	MaxProviderLen = 64   // Provider
	MaxFieldLen    = 1024 // Type, EntityID, Tenant, Credential.ID
	// MaxMetaBytes bounds Meta as JSON (what the adapters store).
	MaxMetaBytes = 4096
)

// Time limits: every non-zero time of an Event must lie strictly between
// these (the range of int64 Unix nanoseconds, years 1678 to 2262), so stores
// keep times to the nanosecond.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

// Validate reports whether ev can be stored: ID, Provider, IdempotencyKey
// and ReceivedAt are set, Provider contains no '#' (DynamoDB keys use it as a
// separator), IdempotencyKey is at most MaxIdempotencyKeyLen bytes, every
// string (Meta too) is valid UTF-8 (DynamoDB strings must be), and every
// non-zero time is in the range stores keep to the nanosecond. Raw and
// Normalized are bytes and may hold anything. The error wraps ErrInvalid.
func (ev Event) Validate() error {
	switch {
	case ev.ID == "":
		return fmt.Errorf("%w: event has no ID", ErrInvalid)
	case ev.Provider == "":
		return fmt.Errorf("%w: event %s has no Provider", ErrInvalid, ev.ID)
	case strings.Contains(ev.Provider, "#"):
		return fmt.Errorf("%w: event %s: Provider contains '#'", ErrInvalid, ev.ID)
	case ev.IdempotencyKey == "":
		return fmt.Errorf("%w: event %s has no IdempotencyKey", ErrInvalid, ev.ID)
	case len(ev.IdempotencyKey) > MaxIdempotencyKeyLen:
		return fmt.Errorf("%w: event %s: IdempotencyKey is %d bytes, over %d", ErrInvalid, ev.ID, len(ev.IdempotencyKey), MaxIdempotencyKeyLen)
	case ev.ReceivedAt.IsZero():
		return fmt.Errorf("%w: event %s has no ReceivedAt", ErrInvalid, ev.ID)
	}
	for name, v := range map[string]string{"ID": ev.ID, "Provider": ev.Provider, "Type": ev.Type,
		"IdempotencyKey": ev.IdempotencyKey, "EntityID": ev.EntityID, "Tenant": ev.Tenant,
		"Credential.ID": ev.Credential.ID} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: event %q: %s is not UTF-8", ErrInvalid, ev.ID, name)
		}
	}
	for k, v := range ev.Meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: event %s: Meta is not UTF-8", ErrInvalid, ev.ID)
		}
	}
	if err := CheckSizes(ev); err != nil {
		return fmt.Errorf("event %s: %w", ev.ID, err)
	}
	for _, t := range []time.Time{ev.ReceivedAt, ev.OccurredAt, ev.UpdatedAt, ev.ExpiresAt, ev.Credential.ExpiresAt} {
		if err := CheckTime(t); err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
	}
	return nil
}

// CheckSizes reports whether ev's small fields are within their bounds
// (MaxIDLen, MaxProviderLen, MaxFieldLen, MaxMetaBytes; the key's is checked
// by Validate). The error wraps ErrInvalid and names the field, never its
// value. Validate calls it.
func CheckSizes(ev Event) error {
	if field, size, limit := Oversized(ev); field != "" {
		return fmt.Errorf("%w: %s is %d bytes, over %d", ErrInvalid, field, size, limit)
	}
	return nil
}

// Oversized returns the first of ev's small fields over its bound (see
// CheckSizes), its size and the bound; "" if none is. Ingest calls it to
// answer a delivery whose body or token makes a field too long with a 400
// before it reaches a store.
func Oversized(ev Event) (field string, size, limit int) {
	for _, f := range []struct {
		name string
		v    string
		max  int
	}{
		{"ID", ev.ID, MaxIDLen}, {"Provider", ev.Provider, MaxProviderLen}, {"Type", ev.Type, MaxFieldLen},
		{"EntityID", ev.EntityID, MaxFieldLen}, {"Tenant", ev.Tenant, MaxFieldLen},
		{"Credential.ID", ev.Credential.ID, MaxFieldLen},
	} {
		if len(f.v) > f.max {
			return f.name, len(f.v), f.max
		}
	}
	if n := MetaSize(ev.Meta); n > MaxMetaBytes {
		return "Meta", n, MaxMetaBytes
	}
	return "", 0, 0
}

// MetaSize bounds the size of m as the adapters store it (JSON): 0 for an
// empty m, else the exact size or, when that is cheaper and still at most
// MaxMetaBytes, an upper bound of it.
func MetaSize(m map[string]string) int {
	if len(m) == 0 {
		return 0
	}
	// A cheap bound first: JSON at most multiplies a string's length by 6
	// (\u00XX), plus quotes, colon and comma.
	n := 1
	for k, v := range m {
		n += 6*(len(k)+len(v)) + 6
	}
	if n <= MaxMetaBytes {
		return n
	}
	b, err := json.Marshal(m)
	if err != nil {
		return math.MaxInt
	}
	return len(b)
}

// CheckTime reports whether t is zero or in the range stores keep to the
// nanosecond (years 1678 to 2262). The error wraps ErrInvalid.
func CheckTime(t time.Time) error {
	if t.IsZero() || (t.After(minTime) && t.Before(maxTime)) {
		return nil
	}
	return fmt.Errorf("%w: time %s out of range", ErrInvalid, t.Format(time.RFC3339))
}

// Listable reports whether ListByStatus serves s: the open statuses
// received, queued and failed. Delivered is the terminal state of nearly
// every event; the stores do not index it (DynamoDB's by_status index is
// sparse), so listing it is refused with ErrInvalid. Browse delivered events
// with ListByProvider.
func Listable(s Status) bool {
	return s == StatusReceived || s == StatusQueued || s == StatusFailed
}

// Limits of the delivery state, so that it always fits beside a full event
// in one DynamoDB item (see store/dynamo).
const (
	// MaxDeliveries bounds how many destinations one event records.
	MaxDeliveries = 64
	// MaxDestinationLen bounds Delivery.Destination, and MaxClassLen
	// Delivery.LastClass, in bytes.
	MaxDestinationLen = 128
	MaxClassLen       = 64
	// MaxErrorLen bounds Delivery.LastError in bytes.
	MaxErrorLen = 256
	// MaxDeliveriesBytes bounds the encoded delivery state
	// (MarshalDeliveries): about a hundred destinations of typical names.
	MaxDeliveriesBytes = 32 << 10
)

// Valid reports whether s is one of the four statuses.
func (s Status) Valid() bool {
	switch s {
	case StatusReceived, StatusQueued, StatusDelivered, StatusFailed:
		return true
	}
	return false
}

// ValidateDeliveries reports whether ds can be saved: at most MaxDeliveries
// entries, each with a non-empty, unique Destination of at most
// MaxDestinationLen bytes, a LastClass of at most MaxClassLen bytes and a
// LastError of at most MaxErrorLen bytes, all UTF-8, Attempts and LastStatusCode not negative, and every non-zero time
// in range (CheckTime). The error wraps ErrInvalid.
func ValidateDeliveries(ds []Delivery) error {
	if len(ds) > MaxDeliveries {
		return fmt.Errorf("%w: %d deliveries, over %d", ErrInvalid, len(ds), MaxDeliveries)
	}
	seen := make(map[string]bool, len(ds))
	for i, d := range ds {
		switch {
		case d.Destination == "" || len(d.Destination) > MaxDestinationLen || !utf8.ValidString(d.Destination):
			return fmt.Errorf("%w: delivery %d: Destination must be 1 to %d bytes of UTF-8", ErrInvalid, i, MaxDestinationLen)
		case seen[d.Destination]:
			return fmt.Errorf("%w: delivery %d: destination %q listed twice", ErrInvalid, i, d.Destination)
		case len(d.LastClass) > MaxClassLen || !utf8.ValidString(d.LastClass):
			return fmt.Errorf("%w: delivery %d: LastClass must be at most %d bytes of UTF-8", ErrInvalid, i, MaxClassLen)
		case len(d.LastError) > MaxErrorLen || !utf8.ValidString(d.LastError):
			return fmt.Errorf("%w: delivery %d: LastError must be at most %d bytes of UTF-8", ErrInvalid, i, MaxErrorLen)
		case d.Attempts < 0 || d.LastStatusCode < 0:
			return fmt.Errorf("%w: delivery %d: negative Attempts or LastStatusCode", ErrInvalid, i)
		}
		seen[d.Destination] = true
		for _, t := range []time.Time{d.LastAttemptAt, d.NextAttemptAt, d.DeliveredAt, d.FailedAt, d.FilteredAt} {
			if err := CheckTime(t); err != nil {
				return fmt.Errorf("delivery %d: %w", i, err)
			}
		}
	}
	return nil
}

// MarshalDeliveries encodes ds as the adapters store it: a JSON array of
// objects (the Delivery field tags), times in UTC, zero times left out;
// nil for an empty ds. It refuses, with ErrInvalid, an encoding over
// MaxDeliveriesBytes; it does not otherwise validate.
func MarshalDeliveries(ds []Delivery) ([]byte, error) {
	if len(ds) == 0 {
		return nil, nil
	}
	utc := make([]Delivery, len(ds))
	for i, d := range ds {
		d.LastAttemptAt, d.NextAttemptAt = d.LastAttemptAt.UTC(), d.NextAttemptAt.UTC()
		d.DeliveredAt, d.FailedAt, d.FilteredAt = d.DeliveredAt.UTC(), d.FailedAt.UTC(), d.FilteredAt.UTC()
		utc[i] = d
	}
	b, err := json.Marshal(utc)
	if err != nil {
		return nil, fmt.Errorf("%w: deliveries: %w", ErrInvalid, err)
	}
	if len(b) > MaxDeliveriesBytes {
		return nil, fmt.Errorf("%w: deliveries encode to %d bytes, over %d", ErrInvalid, len(b), MaxDeliveriesBytes)
	}
	return b, nil
}

// UnmarshalDeliveries decodes what MarshalDeliveries encoded: nil for empty
// input, times in UTC.
func UnmarshalDeliveries(b []byte) ([]Delivery, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var ds []Delivery
	if err := json.Unmarshal(b, &ds); err != nil {
		return nil, fmt.Errorf("deliveries: %w", err)
	}
	for i := range ds {
		d := &ds[i]
		for _, t := range []*time.Time{&d.LastAttemptAt, &d.NextAttemptAt, &d.DeliveredAt, &d.FailedAt, &d.FilteredAt} {
			if !t.IsZero() {
				*t = t.UTC()
			}
		}
	}
	if len(ds) == 0 {
		return nil, nil
	}
	return ds, nil
}

// CheckList validates a list call's arguments, the same for every adapter:
// limit at least 1 and every time bound set and in range.
func CheckList(limit int, times ...time.Time) error {
	if limit < 1 {
		return fmt.Errorf("%w: limit %d, want at least 1", ErrInvalid, limit)
	}
	for _, t := range times {
		if t.IsZero() {
			return fmt.Errorf("%w: zero time bound", ErrInvalid)
		}
		if err := CheckTime(t); err != nil {
			return err
		}
	}
	return nil
}

// EncodeDeliveries checks a SaveDeliveries call's arguments, the same for
// every adapter (st empty or a valid status, ds valid), and returns ds as
// the JSON the adapters store.
func EncodeDeliveries(ds []Delivery, st Status) ([]byte, error) {
	if st != "" && !st.Valid() {
		return nil, fmt.Errorf("%w: status %q", ErrInvalid, st)
	}
	if err := ValidateDeliveries(ds); err != nil {
		return nil, err
	}
	return MarshalDeliveries(ds)
}
