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
package store

import (
	"errors"
	"time"
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
