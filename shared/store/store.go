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
//	Get(ctx, id string) (Event, error)                       // ErrNotFound
//	Transition(ctx, id string, from, to Status) (bool, error) // false if not in from
//	ListByStatus(ctx, s Status, receivedBefore time.Time, limit int) ([]Event, error)
//	ListByProvider(ctx, provider string, from, to time.Time, limit int) ([]Event, error)
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
//     Empty Raw, Normalized and Meta come back nil.
package store

import (
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
)

// Additions shared by the adapters: the rules every store checks before it
// writes anything, so both answer a bad call the same way.

// ErrInvalid wraps every refusal of a call that breaks one of the rules below
// (an event that fails Validate, a limit under 1, a status no store lists).
// Nothing was written. It is the caller's bug, never the backend's: it does
// not wrap ErrUnavailable.
var ErrInvalid = errors.New("store: invalid")

// MaxIdempotencyKeyLen bounds Event.IdempotencyKey in bytes. Provider keys are
// at most 128 bytes; the bound keeps the DynamoDB key item well under its
// 2,048-byte partition key limit.
const MaxIdempotencyKeyLen = 1024

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
		"IdempotencyKey": ev.IdempotencyKey, "EntityID": ev.EntityID, "Tenant": ev.Tenant} {
		if !utf8.ValidString(v) {
			return fmt.Errorf("%w: event %q: %s is not UTF-8", ErrInvalid, ev.ID, name)
		}
	}
	for k, v := range ev.Meta {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return fmt.Errorf("%w: event %s: Meta is not UTF-8", ErrInvalid, ev.ID)
		}
	}
	for _, t := range []time.Time{ev.ReceivedAt, ev.OccurredAt, ev.UpdatedAt, ev.ExpiresAt} {
		if err := CheckTime(t); err != nil {
			return fmt.Errorf("event %s: %w", ev.ID, err)
		}
	}
	return nil
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
