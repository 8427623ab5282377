// Package dynamo is the event store on Amazon DynamoDB, with the semantics of
// package store, checked by store/storetest against DynamoDB Local.
//
// # Table design (single table)
//
// Partition key pk (S), sort key sk (S); billing PAY_PER_REQUEST; TTL on the
// attribute ttl. The item types below; the event item as Put writes it
// for every usual event is the compact one (compact.go), the delivery state
// is in state items (state.go), the attempt items are in console.go. The
// full event item below is what Put writes when the compact one would not
// fit, and what items written before the compact layout look like (their
// status, version and deliveries attributes are read as version 0..n of the
// state; by_status_pk, only on those items, leaves by_status with them).
//
// Idempotency key item, one per (provider, key):
//
//	pk          "KEY#<provider>#<idempotency key>"  (providers contain no '#')
//	sk          "KEY"
//	event_id    S  the event that claimed the key
//	expires_at  N  end of the claim, Unix nanoseconds (max int64: never)
//	ttl         N  the same in Unix seconds, rounded up (absent: never)
//	claimed_at        N  the claiming event's ReceivedAt, Unix nanoseconds
//	event_expires_at  N  the claiming event's ExpiresAt (max int64: never);
//	                     with claimed_at, what a retry needs to tell a Put
//	                     that stopped before its event item from an event
//	                     deleted by retention (absent on claims written by
//	                     a transaction before these existed)
//
// Event item:
//
//	pk          "EVT#<id>"
//	sk          "EVT"
//	id, provider, type, idem_key, entity_id, tenant, status   S
//	received_at, occurred_at, updated_at, expires_at          N  Unix nanoseconds; a zero time is absent
//	body, raw_len  B, N  Raw followed by Normalized, compressed as one raw DEFLATE
//	                     stream (RFC 1951, best compression), and len(Raw): the
//	                     usual form, whenever it is smaller than the two as they
//	                     are and fits (Normalized repeats most of Raw's values,
//	                     so it adds little; a 2,075-byte JourneyBee lead_created
//	                     and its 834-byte record take 878 bytes)
//	raw, normalized                                           B  instead of body: the bytes as given (absent when empty),
//	                                                             when compressing does not make them smaller
//	raw_gz, normalized_gz                                     B  instead of raw/normalized, gzipped, only
//	                                                             for an event that would not fit otherwise
//	normalized_parts  N  instead of normalized(_gz): Normalized is in that many
//	                     part items (see Item size)
//	meta        S  JSON object (absent when empty)
//	version     N  the optimistic lock: 0 at Put, +1 on every Transition and
//	               SaveDeliveries (absent on items written before it existed: 0)
//	deliveries  S  the delivery state, store.MarshalDeliveries JSON (absent: none)
//	ttl         N  ExpiresAt in Unix seconds, rounded up: retention (absent: kept)
//	by_status_pk    S  "<status>#<shard>", only while the status is received,
//	                   queued or failed: the by_status index is sparse, a
//	                   delivered event leaves it
//	by_provider_pk  S  "<provider>#<shard>"
//	received_sk     S  "<ReceivedAt, UTC, fixed-width RFC 3339 with 9 decimals>#<id>"
//
// Normalized part item, only for an event whose Normalized does not fit
// beside its Raw (see Item size):
//
//	pk          "EVT#<id>"  (the event's partition)
//	sk          "NRM#<n>"   n = 000, 001, ... in order
//	data        B  the n-th slice of Normalized gzipped
//	ttl         N  the event's
//
// Credential binding item, one per (provider, credential digest), written
// only when a delivery's Credential is set (store.Credential):
//
//	pk          "CRD#<provider>#<credential id>"
//	sk          "CRD"
//	idem_key    S  the idempotency key the credential is bound to
//	event_id    S  the event that bound it
//	expires_at  N  end of the binding (the credential's expiry), Unix nanoseconds (max int64: never)
//	ttl         N  the same in Unix seconds, rounded up (absent: never)
//
// Global secondary indexes, both KEYS_ONLY (a list reads the events
// themselves, so a 256 KiB body is never copied into an index):
//
//	by_status    by_status_pk / received_sk     state items in queued or failed (state.go; items from before it: events)
//	by_provider  by_provider_pk / received_sk   events of a provider by receive time
//
// <shard> is 00 to 15, the FNV-1a (32-bit) hash of the event id modulo 16,
// written with two digits; the same for both indexes. A status or a provider is
// spread over 16 index partitions, so a burst of one provider (thousands of
// events per second, each written to "received" and moved out again) never
// exceeds one partition's 1,000 writes per second.
//
// # Put
//
// The usual Put (no credential to bind, no part items) is two plain
// PutItems, not a transaction, which DynamoDB bills at twice the write units
// of its items:
//
//  1. The key item, on the condition attribute_not_exists(pk) OR
//     expires_at < :now (see below for :now and why), returning the old
//     item on failure. This one conditional write is the idempotency
//     claim: a failure is a duplicate, the returned item names the first
//     event, and one GetItem of that event gives its status. Nothing is
//     checked first.
//  2. The event item, on attribute_not_exists(pk). Should its id be taken
//     by another event (an id reused by the caller: ErrInvalid), the key
//     item is deleted again, on the condition that it is still this
//     event's claim.
//
// Between the two, Put can stop (a timeout, a crash, DynamoDB failing the
// second write): it then returns an error, never a result, so the caller
// answers 5xx and the provider retries. The retry's claim fails on the key
// item, and the first event is missing: if the claim is older than
// repairAfter (30 s: longer than an ingest function runs) and the event's
// retention (event_expires_at) has not passed, the retry stores its own
// event (the same delivery: same provider and key) under the first event's
// id and reports a duplicate in status received, which the caller enqueues.
// A younger claim may belong to a Put still writing: the retry waits for
// its event a moment and otherwise fails with ErrUnavailable (and the
// provider retries later). A missing event past its retention is reported
// as a duplicate with an empty status, as before. So a 2xx never answers an
// event that is not stored, and no event is stored twice.
//
// With a Credential to bind, or with normalized part items, Put is one
// TransactWriteItems instead: Put the key item on the condition
// attribute_not_exists(pk) OR expires_at < :now (the new event's receive
// time: DynamoDB's TTL deletes expired items late — AWS says typically
// within a few days — so an expired claim may still be there and must count
// as absent), returning the old item on failure; Put the event item on
// attribute_not_exists(pk); Put its normalized part items, if any; and, with
// a Credential, Put the credential item on attribute_not_exists(pk) OR
// expires_at < :now OR idem_key = :key (the same TTL lag). A duplicate is
// recognized from the cancellation reasons (ConditionalCheckFailed on the
// key item, whose returned item names the first event), never by reading
// first; one GetItem of the first event then gives its status. A failed
// credential condition is ErrCredentialReused; on a duplicate whose
// credential item DynamoDB did not report as failed, one GetItem of the
// credential item decides (nothing was written either way). A transaction
// cancelled by a concurrent one on the same key (TransactionConflict) is
// retried after a short backoff: the retry then sees the winner's claim.
//
// # Transition and SaveDeliveries
//
// The event item is written once. Transition, SaveDeliveries and the
// processor's SaveState each write the event's next state item (state.go):
// one PutItem of a small item on attribute_not_exists(pk), the version in
// its sort key being the optimistic lock. Transition and SaveDeliveries
// read the event first (one Query) to check its status or version;
// SaveState, given the event as the processor read it, does not.
//
// # Lists
//
// ListByProvider queries by_provider's 16 shards in parallel, each for its
// oldest limit keys in the range, merges them (receive time, then id),
// keeps the oldest limit, and reads those events (one strongly consistent
// Query of each partition, a few at once). ListByStatus: see state.go.
//
// # Item size
//
// A DynamoDB item holds at most 400 KB. Put keeps store.MaxDeliveriesBytes
// (32 KiB) of the event item free for the delivery state, so SaveDeliveries
// always fits, and a fixed reserve (fixedReserve, 12 KiB) for the small
// fields, whose sizes store.Validate bounds. What is left, MaxBodyBytes
// (363,510 bytes), is the largest Raw that always fits, even incompressible:
// the config refuses an ingest.max_body_bytes above it on AWS.
//
// Raw always lives in the event item. Normalized (derived from Raw, and up
// to several times its size: JSON escaping) lives there too when it fits;
// Raw and Normalized are gzipped where that makes them smaller (JSON shrinks
// several times). When Normalized still does not fit beside Raw, it is
// gzipped and split into part items (at most maxParts of partBytes each,
// 3 MiB: a transaction carries at most 4 MB) written in the same
// transaction; Get and the lists read them back with one Query. An event
// over these limits is refused with ErrTooLarge (it wraps store.ErrTooLarge
// and store.ErrInvalid), before anything is written. Should an update still
// exceed the limit (an item written before the reserve existed), DynamoDB
// refuses it and SaveDeliveries returns ErrTooLarge.
//
// # Errors
//
// Every failure of DynamoDB or of the network (throttling, timeouts, a
// missing table, ...) wraps store.ErrUnavailable.
package dynamo

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/shared/store"
)

// Attribute and index names.
const (
	attrPK           = "pk"
	attrSK           = "sk"
	attrEventID      = "event_id"
	attrExpiresAt    = "expires_at"
	attrTTL          = "ttl"
	attrID           = "id"
	attrProvider     = "provider"
	attrType         = "type"
	attrIdemKey      = "idem_key"
	attrEntityID     = "entity_id"
	attrTenant       = "tenant"
	attrStatus       = "status"
	attrReceivedAt   = "received_at"
	attrOccurredAt   = "occurred_at"
	attrUpdatedAt    = "updated_at"
	attrRaw          = "raw"
	attrRawGz        = "raw_gz"
	attrMeta         = "meta"
	attrNormalized   = "normalized"
	attrNormalizedGz = "normalized_gz"
	attrByStatusPK   = "by_status_pk"
	attrByProviderPK = "by_provider_pk"
	attrReceivedSK   = "received_sk"
	attrVersion      = "version"
	attrDeliveries   = "deliveries"
	attrParts        = "normalized_parts"
	attrData         = "data"
	attrEventExpires = "event_expires_at"
	attrBody         = "body"
	attrRawLen       = "raw_len"
	attrClaimedAt    = "claimed_at"
	attrEvent        = "z"

	// IndexByStatus and IndexByProvider are the table's two global
	// secondary indexes.
	IndexByStatus   = "by_status"
	IndexByProvider = "by_provider"

	skKey        = "KEY"
	skEvent      = "EVT"
	skCredential = "CRD"
	skPartPrefix = "NRM#"

	// Shards is how many index partitions one status or provider spreads over.
	Shards = 16

	// MaxItemSize is DynamoDB's item size limit (400 KB); events are kept a
	// little under it.
	MaxItemSize = 400 * 1024
	itemMargin  = 1024
	// deliveriesReserve is the room Put leaves for the delivery state.
	deliveriesReserve = store.MaxDeliveriesBytes + len(attrDeliveries)
	// fixedReserve bounds every attribute of an event item but raw and
	// normalized: names, keys, numbers, and the small fields at their
	// store.Validate bounds (TestWorstCaseItemFits checks it).
	fixedReserve = 12 << 10
	// eventBudget is what itemSize may give an event item at Put.
	eventBudget = MaxItemSize - itemMargin - deliveriesReserve
	// MaxBodyBytes is the largest Raw an event item always holds, however
	// incompressible, beside the biggest small fields.
	MaxBodyBytes = eventBudget - fixedReserve

	// partBytes is the Normalized slice in one part item; maxParts bounds
	// the parts of one event, so a Put transaction stays under 4 MB.
	partBytes = 384 << 10
	maxParts  = 8

	// repairAfter: a key claim older than this whose event item is
	// missing was left by a Put that stopped between its two writes (the
	// ingest function's timeout is 10 s): a retry of the delivery stores
	// the event in its place.
	repairAfter = 30 * time.Second

	// conflictRetries bounds the retries of a transaction cancelled by a
	// concurrent one.
	conflictRetries = 8
)

// ErrTooLarge: the event does not fit, even compressed: a Raw over
// MaxBodyBytes, or a Normalized over maxParts part items. Nothing was
// written. It wraps store.ErrTooLarge (and so store.ErrInvalid).
var ErrTooLarge = fmt.Errorf("%w for a DynamoDB item", store.ErrTooLarge)

// Store is the DynamoDB event store. It is safe for concurrent use.
type Store struct {
	db    *dynamodb.Client
	table string
}

// New returns a store on table (created by CreateTable or the SAM template),
// using client, which the caller builds and configures once.
func New(client *dynamodb.Client, table string) *Store {
	return &Store{db: client, table: table}
}

// Put claims ev's idempotency key and stores ev in one transaction (see the
// package doc and package store).
func (s *Store) Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error) {
	if err := ev.Validate(); err != nil {
		return store.PutResult{}, err
	}
	if err := store.CheckTime(keyExpiresAt); err != nil {
		return store.PutResult{}, fmt.Errorf("keyExpiresAt: %w", err)
	}
	evItem, parts, err := eventItem(ev)
	if err != nil {
		return store.PutResult{}, err
	}
	keyItem := claimItem(keyPK(ev.Provider, ev.IdempotencyKey), skKey, ev.ID, keyExpiresAt)
	keyItem[attrEventExpires] = num(math.MaxInt64)
	keyItem[attrClaimedAt] = num(ev.ReceivedAt.UnixNano())
	if !ev.ExpiresAt.IsZero() {
		keyItem[attrEventExpires] = num(ev.ExpiresAt.UnixNano())
	}
	now := num(ev.ReceivedAt.UnixNano())
	bound := ev.Credential.ID != ""
	if !bound && len(parts) == 0 {
		return s.putTwo(ctx, ev, evItem, keyItem)
	}

	for attempt := 0; ; attempt++ {
		// A fresh input each time: the SDK stores its idempotency token in
		// the input, and a retry after a cancellation must not replay it.
		items := []types.TransactWriteItem{
			{Put: &types.Put{
				TableName:                           &s.table,
				Item:                                keyItem,
				ConditionExpression:                 aws.String("attribute_not_exists(pk) OR expires_at < :now"),
				ExpressionAttributeValues:           map[string]types.AttributeValue{":now": now},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Put: &types.Put{
				TableName:           &s.table,
				Item:                evItem,
				ConditionExpression: aws.String("attribute_not_exists(pk)"),
			}},
		}
		if bound {
			cred := claimItem(credentialPK(ev.Provider, ev.Credential.ID), skCredential, ev.ID, ev.Credential.ExpiresAt)
			cred[attrIdemKey] = str(ev.IdempotencyKey)
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName:           &s.table,
				Item:                cred,
				ConditionExpression: aws.String("attribute_not_exists(pk) OR expires_at < :now OR idem_key = :key"),
				ExpressionAttributeValues: map[string]types.AttributeValue{
					":now": now, ":key": str(ev.IdempotencyKey),
				},
			}})
		}
		for i, p := range parts {
			items = append(items, types.TransactWriteItem{Put: &types.Put{TableName: &s.table, Item: partItem(ev, i, p)}})
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return store.PutResult{ID: ev.ID, Status: store.StatusReceived}, nil
		}
		outcome, first := putFailure(err, bound)
		if outcome == duplicate && bound {
			// DynamoDB may not report the credential's condition when the
			// key's failed: read the binding (nothing was written).
			reused, err := s.boundElsewhere(ctx, ev)
			if err != nil {
				return store.PutResult{}, err
			}
			if reused {
				outcome = credentialReused
			}
		}
		switch {
		case outcome == idTaken:
			return store.PutResult{}, fmt.Errorf("%w: an event with id %s already exists", store.ErrInvalid, ev.ID)
		case outcome == credentialReused:
			return store.PutResult{}, fmt.Errorf("%w: provider %s", store.ErrCredentialReused, ev.Provider)
		case outcome == duplicate:
			st, err := s.status(ctx, first)
			if err != nil {
				return store.PutResult{}, err
			}
			return store.PutResult{Duplicate: true, ID: first, Status: st}, nil
		case outcome == conflict && attempt < conflictRetries:
			if err := backoff(ctx, attempt); err != nil {
				return store.PutResult{}, unavailable("put", err)
			}
		default:
			return store.PutResult{}, unavailable("put", err)
		}
	}
}

// putTwo is Put of an event without a credential to bind and without part
// items: two plain conditional PutItems instead of a transaction (which
// costs twice the write units): the key claim, then the event item. See
// "Put" in the package doc for the crash between the two.
func (s *Store) putTwo(ctx context.Context, ev store.Event, evItem, keyItem map[string]types.AttributeValue) (store.PutResult, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                keyItem,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR expires_at < :now"),
		ExpressionAttributeValues:           map[string]types.AttributeValue{":now": num(ev.ReceivedAt.UnixNano())},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &ccf):
		return s.duplicate(ctx, ev, ccf.Item)
	case err != nil:
		return store.PutResult{}, unavailable("put key", err)
	}
	written, err := s.putEvent(ctx, ev, evItem)
	if err != nil {
		return store.PutResult{}, err
	}
	if !written {
		// The id belongs to another event: give the key back, so that the
		// caller's next try (with a fresh id) claims it again.
		if _, derr := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName:                 &s.table,
			Key:                       map[string]types.AttributeValue{attrPK: keyItem[attrPK], attrSK: keyItem[attrSK]},
			ConditionExpression:       aws.String(attrEventID + " = :id"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":id": str(ev.ID)},
		}); derr != nil && !errors.As(derr, &ccf) {
			return store.PutResult{}, unavailable("release key", derr)
		}
		return store.PutResult{}, fmt.Errorf("%w: an event with id %s already exists", store.ErrInvalid, ev.ID)
	}
	return store.PutResult{ID: ev.ID, Status: store.StatusReceived}, nil
}

// putEvent writes the event item of ev on the condition that its id is
// free. It reports false if another event has the id; a repair of the same
// delivery (same provider and key, see duplicate) that got there first
// counts as written.
func (s *Store) putEvent(ctx context.Context, ev store.Event, evItem map[string]types.AttributeValue) (bool, error) {
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           &s.table,
		Item:                                evItem,
		ConditionExpression:                 aws.String("attribute_not_exists(pk)"),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		d := decoder{item: ccf.Item}
		return d.str(attrProvider) == ev.Provider && d.str(attrIdemKey) == ev.IdempotencyKey, nil
	default:
		return false, unavailable("put event", err)
	}
}

// duplicate answers a Put whose key claim failed: keyItem (the claim as it
// stands) names the first event. If that event is missing although its
// retention has not passed, the first Put stopped between its claim and its
// event item (and answered an error, so the provider retries): ev, a retry
// of the same delivery, is stored under the first event's id, and the
// result says received so that the caller enqueues it.
func (s *Store) duplicate(ctx context.Context, ev store.Event, keyItem map[string]types.AttributeValue) (store.PutResult, error) {
	d := decoder{item: keyItem}
	first := d.str(attrEventID)
	_, layout := keyItem[attrEventExpires]
	until := d.int(attrEventExpires)
	if d.err != nil || first == "" {
		return store.PutResult{}, unavailable("put key", fmt.Errorf("key item without its event: %v", d.err))
	}
	st, err := s.status(ctx, first)
	if err != nil {
		return store.PutResult{}, err
	}
	if st == "" && layout && until >= ev.ReceivedAt.UnixNano() {
		// A claim younger than repairAfter may belong to a Put still on
		// its way to the event item: wait for it a moment, and never write
		// in its place.
		if ev.ReceivedAt.UnixNano()-d.int(attrClaimedAt) < int64(repairAfter) {
			for attempt := 0; attempt < conflictRetries; attempt++ {
				if err := backoff(ctx, attempt); err != nil {
					return store.PutResult{}, unavailable("put", err)
				}
				if st, err = s.status(ctx, first); err != nil || st != "" {
					return store.PutResult{Duplicate: true, ID: first, Status: st}, err
				}
			}
			return store.PutResult{}, unavailable("put", fmt.Errorf("event %s claimed its key but is not stored yet", first))
		}
		ev.ID = first
		item, parts, err := eventItem(ev)
		if err != nil {
			return store.PutResult{}, err
		}
		if len(parts) > 0 { // the first Put fitted without parts: not the same delivery
			return store.PutResult{}, unavailable("repair", fmt.Errorf("event %s needs part items", first))
		}
		if _, err := s.putEvent(ctx, ev, item); err != nil {
			return store.PutResult{}, err
		}
		if st, err = s.status(ctx, first); err != nil {
			return store.PutResult{}, err
		}
	}
	return store.PutResult{Duplicate: true, ID: first, Status: st}, nil
}

// claimItem is a key or credential item: pk/sk, the event that claimed it,
// and its expiry (zero: never) as expires_at and ttl.
func claimItem(pk, sk, eventID string, expiresAt time.Time) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK:        str(pk),
		attrSK:        str(sk),
		attrEventID:   str(eventID),
		attrExpiresAt: num(math.MaxInt64),
	}
	if !expiresAt.IsZero() {
		item[attrExpiresAt] = num(expiresAt.UnixNano())
		item[attrTTL] = num(ttlSeconds(expiresAt))
	}
	return item
}

// boundElsewhere reports whether ev's credential is bound, unexpired, to
// another idempotency key.
func (s *Store) boundElsewhere(ctx context.Context, ev store.Event) (bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            map[string]types.AttributeValue{attrPK: str(credentialPK(ev.Provider, ev.Credential.ID)), attrSK: str(skCredential)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return false, unavailable("get credential", err)
	}
	if out.Item == nil {
		return false, nil
	}
	d := decoder{item: out.Item}
	key, exp := d.str(attrIdemKey), d.int(attrExpiresAt)
	if d.err != nil {
		return false, fmt.Errorf("dynamo: credential item: %w", d.err)
	}
	return key != ev.IdempotencyKey && exp >= ev.ReceivedAt.UnixNano(), nil
}

// What a failed Put transaction means.
const (
	failed           = iota // DynamoDB or the network failed
	duplicate               // the key is claimed: first names the event
	idTaken                 // an event with the id exists
	conflict                // a concurrent transaction on the same items: retry
	credentialReused        // the credential is bound to another key
)

// putFailure reads the error of Put's TransactWriteItems from its
// cancellation reasons, one per item: [key item, event item, credential
// item if bound, part items...].
func putFailure(err error, bound bool) (outcome int, first string) {
	var tce *types.TransactionCanceledException
	want := 2
	if bound {
		want = 3
	}
	if !errors.As(err, &tce) || len(tce.CancellationReasons) < want {
		return failed, ""
	}
	rs := tce.CancellationReasons
	code := func(r types.CancellationReason) string { return aws.ToString(r.Code) }
	keyReason, evReason := rs[0], rs[1]
	switch {
	case code(evReason) == "ConditionalCheckFailed":
		return idTaken, ""
	case bound && code(rs[2]) == "ConditionalCheckFailed":
		return credentialReused, ""
	case code(keyReason) == "ConditionalCheckFailed":
		id, ok := keyReason.Item[attrEventID].(*types.AttributeValueMemberS)
		if !ok || id.Value == "" {
			return failed, "" // not our key item: never expected
		}
		return duplicate, id.Value
	}
	for _, r := range rs {
		if code(r) == "TransactionConflict" {
			return conflict, ""
		}
	}
	return failed, ""
}

// backoff sleeps before retry attempt+1: about 5 ms, doubling, with jitter.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(5<<min(attempt, 6)) * time.Millisecond
	d = d/2 + rand.N(d)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// status reads the status of the event id; empty if it is gone (retention).
func (s *Store) status(ctx context.Context, id string) (store.Status, error) {
	ev, _, err := s.load(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return ev.Status, nil
}

// Get returns the event with id and its latest state (see state.go), or
// store.ErrNotFound: one strongly consistent Query of its partition.
func (s *Store) Get(ctx context.Context, id string) (store.Event, error) {
	if id == "" || !utf8.ValidString(id) {
		return store.Event{}, store.ErrNotFound // DynamoDB would refuse the key
	}
	ev, _, err := s.load(ctx, id)
	return ev, err
}

// Transition moves the event id from status from to status to and sets its
// UpdatedAt, on the condition that it is in from: it reads the event and
// writes its next state item (see state.go), reading again if another
// writer saved in between. It returns false if the event is missing or not
// in from.
func (s *Store) Transition(ctx context.Context, id string, from, to store.Status) (bool, error) {
	if id == "" || !utf8.ValidString(id) {
		return false, nil // no such event
	}
	for range conflictRetries {
		ev, _, err := s.load(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if ev.Status != from {
			return false, nil
		}
		b, err := store.MarshalDeliveries(ev.Deliveries)
		if err != nil {
			return false, err
		}
		ok, err := s.putState(ctx, ev, b, to, nil)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, unavailable("transition", fmt.Errorf("event %s changed by others on every try", id))
}

// SaveDeliveries replaces the delivery state of the event id, sets its
// status (an empty st keeps it) and UpdatedAt, and adds 1 to its Version, on
// the condition that the Version is still version (see the package doc and
// package store): it reads the event and writes its next state item. It
// returns false if the event is missing or its Version moved. The processor
// uses SaveState, which needs no read.
func (s *Store) SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, st store.Status) (bool, error) {
	b, err := store.EncodeDeliveries(ds, st)
	if err != nil {
		return false, err
	}
	if id == "" || !utf8.ValidString(id) {
		return false, nil // no such event
	}
	ev, _, err := s.load(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if ev.Version != version {
		return false, nil
	}
	if st == "" {
		st = ev.Status
	}
	return s.putState(ctx, ev, b, st, nil)
}

// itemTooLarge reports DynamoDB's refusal of an update that would make the
// item exceed its size limit.
func itemTooLarge(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "ValidationException" &&
		strings.Contains(strings.ToLower(api.ErrorMessage()), "item size")
}

// ListByStatus returns up to limit events in status st received before
// receivedBefore, oldest first. st must be store.Listable. Received events
// are found from the by_provider index and a checkpoint, queued and failed
// ones from the by_status index of state items (see state.go). The indexes
// are eventually consistent: events whose status has changed since are left
// out, so fewer than limit events does not prove there are no more.
func (s *Store) ListByStatus(ctx context.Context, st store.Status, receivedBefore time.Time, limit int) ([]store.Event, error) {
	if !store.Listable(st) {
		return nil, fmt.Errorf("%w: status %q is not listable", store.ErrInvalid, st)
	}
	if err := store.CheckList(limit, receivedBefore); err != nil {
		return nil, err
	}
	if st == store.StatusReceived {
		return s.listReceived(ctx, receivedBefore, limit)
	}
	// An event has a by_status entry per queued or failed state item it
	// ever had: ask for more than limit, then keep those still in st.
	evs, err := s.list(ctx, IndexByStatus, attrByStatusPK, string(st),
		"#sk < :hi", map[string]types.AttributeValue{":hi": str(sortTime(receivedBefore))}, 4*limit+16)
	if err != nil {
		return nil, err
	}
	evs = slices.DeleteFunc(evs, func(ev store.Event) bool { return ev.Status != st })
	return evs[:min(len(evs), limit)], nil
}

// ListByProvider returns up to limit events of provider received in
// [from, to), oldest first, from the by_provider index.
func (s *Store) ListByProvider(ctx context.Context, provider string, from, to time.Time, limit int) ([]store.Event, error) {
	if err := store.CheckList(limit, from, to); err != nil {
		return nil, err
	}
	if provider == "" || strings.Contains(provider, "#") || !from.Before(to) {
		return nil, nil // no event has such a provider, or the range is empty
	}
	// received_sk is "<time>#<id>": every key of a time t is above the bare
	// "<t>" and below the bare "<to>" if t < to, so BETWEEN on the bare
	// bounds is exactly from <= t < to.
	return s.list(ctx, IndexByProvider, attrByProviderPK, provider,
		"#sk BETWEEN :lo AND :hi", map[string]types.AttributeValue{
			":lo": str(sortTime(from)),
			":hi": str(sortBefore(to)),
		}, limit)
}

// indexed is one key read from an index.
type indexed struct{ sk, id string }

// list queries the Shards partitions "<value>#<shard>" of index in parallel
// (each for its oldest limit keys matching skCond), merges them, and reads
// the oldest limit events, in order.
func (s *Store) list(ctx context.Context, index, pkAttr, value, skCond string, values map[string]types.AttributeValue, limit int) ([]store.Event, error) {
	var (
		mu       sync.Mutex
		all      []indexed
		firstErr error
		wg       sync.WaitGroup
	)
	for shard := range Shards {
		wg.Go(func() {
			keys, err := s.queryShard(ctx, index, pkAttr, shardValue(value, shard), skCond, values, limit)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			all = append(all, keys...)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	slices.SortFunc(all, compareIndexed)
	if len(all) > limit {
		all = all[:limit]
	}
	ids := make([]string, 0, len(all))
	seen := make(map[string]bool, len(all))
	for _, k := range all {
		if !seen[k.id] { // by_status: one entry per state item
			seen[k.id] = true
			ids = append(ids, k.id)
		}
	}
	return s.getMany(ctx, ids)
}

func (s *Store) queryShard(ctx context.Context, index, pkAttr, pk, skCond string, values map[string]types.AttributeValue, limit int) ([]indexed, error) {
	vals := make(map[string]types.AttributeValue, len(values)+1)
	for k, v := range values {
		vals[k] = v
	}
	vals[":pk"] = str(pk)
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 &index,
		KeyConditionExpression:    aws.String("#pk = :pk AND " + skCond),
		ExpressionAttributeNames:  map[string]string{"#pk": pkAttr, "#sk": attrReceivedSK},
		ExpressionAttributeValues: vals,
		Limit:                     aws.Int32(int32(min(limit, math.MaxInt32))),
	}
	var out []indexed
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("query "+index, err)
		}
		for _, item := range page.Items {
			sk, _ := item[attrReceivedSK].(*types.AttributeValueMemberS)
			p, _ := item[attrPK].(*types.AttributeValueMemberS)
			if sk == nil || p == nil || !strings.HasPrefix(p.Value, "EVT#") {
				continue
			}
			out = append(out, indexed{sk: sk.Value, id: strings.TrimPrefix(p.Value, "EVT#")})
		}
		if len(out) >= limit || page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

// unavailable wraps an error of DynamoDB or the network.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: dynamodb %s: %w", store.ErrUnavailable, op, err)
}

func keyPK(provider, key string) string { return "KEY#" + provider + "#" + key }

func credentialPK(provider, id string) string { return "CRD#" + provider + "#" + id }

func partItem(ev store.Event, i int, data []byte) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrPK:   str("EVT#" + ev.ID),
		attrSK:   str(fmt.Sprintf("%s%03d", skPartPrefix, i)),
		attrData: &types.AttributeValueMemberB{Value: data},
	}
	if !ev.ExpiresAt.IsZero() {
		item[attrTTL] = num(ttlSeconds(ev.ExpiresAt))
	}
	return item
}

func eventKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str("EVT#" + id), attrSK: str(skEvent)}
}

// shard spreads ids over the index partitions.
func shard(id string) int {
	h := fnv.New32a()
	_, _ = io.WriteString(h, id)
	return int(h.Sum32() % Shards)
}

func shardValue(value string, shard int) string { return fmt.Sprintf("%s#%02d", value, shard) }

func shardKey(value, id string) string { return shardValue(value, shard(id)) }

// sortBefore is the largest received_sk of a time before t: BETWEEN :lo AND
// sortBefore(to) is from <= time < to, for the bare "<time>" of the
// current items and the "<time>#<id>" of older ones ('~' sorts after '#').
func sortBefore(t time.Time) string { return sortTime(t.Add(-1)) + "~" }

// compareIndexed orders index keys as events are listed: receive time, then
// id (received_sk is "<time>", or "<time>#<id>" on items written before the
// compact layout).
func compareIndexed(a, b indexed) int {
	at, _, _ := strings.Cut(a.sk, "#")
	bt, _, _ := strings.Cut(b.sk, "#")
	if c := strings.Compare(at, bt); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// sortTime formats t so that strings sort as times do (UTC, fixed width:
// store.CheckTime keeps years to four digits).
func sortTime(t time.Time) string { return t.UTC().Format(sortLayout) }

const sortLayout = "2006-01-02T15:04:05.000000000Z"

func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++ // never before the time itself
	}
	return s
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// eventItem encodes ev as its item, compressing Raw and Normalized if that is
// what it takes to fit, and moving Normalized, gzipped, to part items if even
// that does not fit (see Item size). parts are the part items' data, in order.
func eventItem(ev store.Event) (item map[string]types.AttributeValue, parts [][]byte, err error) {
	item = map[string]types.AttributeValue{
		attrPK:           str("EVT#" + ev.ID),
		attrSK:           str(skEvent),
		attrProvider:     str(ev.Provider),
		attrType:         str(ev.Type),
		attrIdemKey:      str(ev.IdempotencyKey),
		attrEntityID:     str(ev.EntityID),
		attrTenant:       str(ev.Tenant),
		attrReceivedAt:   num(ev.ReceivedAt.UnixNano()),
		attrByProviderPK: str(shardKey(ev.Provider, ev.ID)),
		attrReceivedSK:   str(sortTime(ev.ReceivedAt)),
	}
	for name, t := range map[string]time.Time{attrOccurredAt: ev.OccurredAt, attrUpdatedAt: ev.UpdatedAt, attrExpiresAt: ev.ExpiresAt} {
		if !t.IsZero() {
			item[name] = num(t.UnixNano())
		}
	}
	if !ev.ExpiresAt.IsZero() {
		item[attrTTL] = num(ttlSeconds(ev.ExpiresAt))
	}
	if len(ev.Meta) > 0 {
		b, err := json.Marshal(ev.Meta)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: meta: %w", store.ErrInvalid, err)
		}
		item[attrMeta] = str(string(b))
	}
	if c, err := compactItem(ev, item); err != nil {
		return nil, nil, err
	} else if c != nil {
		return c, nil, nil
	}
	if len(ev.Raw)+len(ev.Normalized) > 0 {
		// Raw and Normalized deflated as one stream: Normalized repeats
		// most of Raw's values, so it costs little on top of Raw.
		z, err := deflateBytes(ev.Raw, ev.Normalized)
		if err != nil {
			return nil, nil, err
		}
		if len(z)+len(attrBody)+len(attrRawLen)+21 < len(ev.Raw)+len(ev.Normalized) {
			item[attrBody] = &types.AttributeValueMemberB{Value: z}
			item[attrRawLen] = num(int64(len(ev.Raw)))
			if itemSize(item) <= eventBudget {
				return item, nil, nil
			}
			delete(item, attrBody)
			delete(item, attrRawLen)
		}
	}
	if len(ev.Raw) > 0 {
		item[attrRaw] = &types.AttributeValueMemberB{Value: ev.Raw}
	}
	if len(ev.Normalized) > 0 {
		item[attrNormalized] = &types.AttributeValueMemberB{Value: ev.Normalized}
	}
	if itemSize(item) <= eventBudget {
		return item, nil, nil
	}
	var normGz []byte
	for _, a := range []struct{ plain, gz string }{{attrRaw, attrRawGz}, {attrNormalized, attrNormalizedGz}} {
		b, ok := item[a.plain].(*types.AttributeValueMemberB)
		if !ok {
			continue
		}
		z, err := gzipBytes(b.Value)
		if err != nil {
			return nil, nil, err
		}
		if a.plain == attrNormalized {
			normGz = z
		}
		if len(z) < len(b.Value) {
			delete(item, a.plain)
			item[a.gz] = &types.AttributeValueMemberB{Value: z}
		}
	}
	if itemSize(item) <= eventBudget {
		return item, nil, nil
	}
	// Raw alone, then Normalized gzipped in part items.
	delete(item, attrNormalized)
	delete(item, attrNormalizedGz)
	if n := itemSize(item); n > eventBudget {
		return nil, nil, fmt.Errorf("%w: event %s is %d bytes without its normalized record, over %d", ErrTooLarge, ev.ID, n, eventBudget)
	}
	if normGz == nil {
		return item, nil, nil // no Normalized: cannot happen, Raw alone fits
	}
	for len(normGz) > 0 {
		n := min(len(normGz), partBytes)
		parts = append(parts, normGz[:n])
		normGz = normGz[n:]
	}
	if len(parts) > maxParts {
		return nil, nil, fmt.Errorf("%w: event %s: normalized record is %d parts gzipped, over %d", ErrTooLarge, ev.ID, len(parts), maxParts)
	}
	item[attrParts] = num(int64(len(parts)))
	return item, parts, nil
}

// itemSize is an upper bound of DynamoDB's size of item: names plus values,
// numbers counted at their maximum of 21 bytes.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for name, v := range item {
		n += len(name)
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			n += len(v.Value)
		case *types.AttributeValueMemberB:
			n += len(v.Value)
		case *types.AttributeValueMemberN:
			n += 21
		default:
			n += 64 * 1024 // not produced by eventItem
		}
	}
	return n
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(b); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// deflateBytes compresses the concatenation of parts as one raw DEFLATE
// stream (RFC 1951: no gzip header, which is 18 bytes of every small item).
func deflateBytes(parts ...[]byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func gunzip(b []byte) ([]byte, error) {
	r, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// decodeEvent decodes an event item. parts is the number of its normalized
// part items (Normalized is then left for readParts).
func decodeEvent(item map[string]types.AttributeValue) (ev store.Event, parts int, err error) {
	if _, ok := item[attrEvent]; ok {
		return decodeCompact(item)
	}
	d := decoder{item: item}
	ev = store.Event{
		ID:             d.str(attrID),
		Provider:       d.str(attrProvider),
		Type:           d.str(attrType),
		IdempotencyKey: d.str(attrIdemKey),
		EntityID:       d.str(attrEntityID),
		Tenant:         d.str(attrTenant),
		Status:         store.Status(d.str(attrStatus)),
		ReceivedAt:     d.time(attrReceivedAt),
		OccurredAt:     d.time(attrOccurredAt),
		UpdatedAt:      d.time(attrUpdatedAt),
		ExpiresAt:      d.time(attrExpiresAt),
		Raw:            d.bytes(attrRaw, attrRawGz),
		Normalized:     d.bytes(attrNormalized, attrNormalizedGz),
		Version:        d.int(attrVersion),
	}
	if ev.ID == "" { // not stored since the state items: the key has it
		ev.ID = strings.TrimPrefix(d.str(attrPK), "EVT#")
	}
	if ev.Status == "" { // written once by Put: its state items say more
		ev.Status = store.StatusReceived
	}
	if z, ok := item[attrBody].(*types.AttributeValueMemberB); ok && d.err == nil {
		ev.Raw, ev.Normalized, d.err = splitBody(z.Value, d.int(attrRawLen))
	}
	if m := d.str(attrMeta); m != "" && d.err == nil {
		if err := json.Unmarshal([]byte(m), &ev.Meta); err != nil {
			d.err = fmt.Errorf("%s: %w", attrMeta, err)
		}
	}
	if ds := d.str(attrDeliveries); ds != "" && d.err == nil {
		ev.Deliveries, d.err = store.UnmarshalDeliveries([]byte(ds))
	}
	n := d.int(attrParts)
	if d.err == nil && (n < 0 || n > maxParts) {
		d.err = fmt.Errorf("%s: %d", attrParts, n)
	}
	if d.err != nil {
		return store.Event{}, 0, fmt.Errorf("dynamo: event item %s: %w", ev.ID, d.err)
	}
	return ev, int(n), nil
}

// splitBody inflates an event item's body and splits it into Raw (its
// first rawLen bytes) and Normalized.
func splitBody(z []byte, rawLen int64) (raw, norm []byte, err error) {
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", attrBody, err)
	}
	if rawLen < 0 || rawLen > int64(len(b)) {
		return nil, nil, fmt.Errorf("%s %d of a %d-byte %s", attrRawLen, rawLen, len(b), attrBody)
	}
	return nonEmpty(b[:rawLen:rawLen]), nonEmpty(b[rawLen:]), nil
}

// decoder reads typed attributes, keeping the first error.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) str(name string) string {
	switch v := d.item[name].(type) {
	case nil:
		return ""
	case *types.AttributeValueMemberS:
		return v.Value
	default:
		d.fail(name, v)
		return ""
	}
}

// int reads a number attribute; absent is 0.
func (d *decoder) int(name string) int64 {
	switch v := d.item[name].(type) {
	case nil:
		return 0
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			d.fail(name, v)
		}
		return n
	default:
		d.fail(name, v)
		return 0
	}
}

func (d *decoder) time(name string) time.Time {
	switch v := d.item[name].(type) {
	case nil:
		return time.Time{}
	case *types.AttributeValueMemberN:
		n, err := strconv.ParseInt(v.Value, 10, 64)
		if err != nil {
			d.fail(name, v)
			return time.Time{}
		}
		return time.Unix(0, n).UTC()
	default:
		d.fail(name, v)
		return time.Time{}
	}
}

func (d *decoder) bytes(plain, gz string) []byte {
	if v, ok := d.item[gz].(*types.AttributeValueMemberB); ok {
		b, err := gunzip(v.Value)
		if err != nil && d.err == nil {
			d.err = fmt.Errorf("%s: %w", gz, err)
		}
		return nonEmpty(b)
	}
	switch v := d.item[plain].(type) {
	case nil:
		return nil
	case *types.AttributeValueMemberB:
		return nonEmpty(v.Value)
	default:
		d.fail(plain, v)
		return nil
	}
}

func (d *decoder) fail(name string, v types.AttributeValue) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s has type %T", name, v)
	}
}

func nonEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
