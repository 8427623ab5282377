package dynamo

// The compact event item: what Put writes for every event whose fields,
// Raw and Normalized, deflated together, fit in the item (every usual
// webhook). Only what DynamoDB itself reads stays an attribute:
//
//	pk, sk          "EVT#<id>", "EVT"
//	ttl             N  ExpiresAt in Unix seconds, rounded up (absent: kept)
//	by_provider_pk  S  "<provider>#<shard>"
//	received_sk     S  "<ReceivedAt, fixed-width RFC 3339, 9 decimals>" (the
//	                   index keys hold pk, so the id; lists order ties by id)
//	z               B  one raw DEFLATE stream (RFC 1951, best compression,
//	                   with the preset dictionary compact.dict) of
//	                   uvarint(len(head)) head uvarint(len(Raw)) Raw Normalized,
//	                   head being the small fields as JSON (compactHead)
//
// compact.dict holds the canonical event types as "provider.event", the
// providers' names and event names as "name", then
// JSON member names as "name": (those of every sample body of the three
// providers, of the canonical record and of compactHead, rarest first):
// what every payload of a provider repeats, never a value of a payload. It is frozen: every stored z was
// compressed with it. A new dictionary needs a new attribute name.
//
// The small fields repeat values of Raw (the tenant, the entity id, the
// claims in Meta), so inside the stream they cost a fraction of their size
// as attributes: a JourneyBee lead_created (2,075-byte body, 834-byte
// record) is a ~0.95 KB item, one write unit, instead of ~1.5 KB as
// attributes beside a compressed body. An event that does not fit this way
// is written as before (see Item size in the package doc).

import (
	"bytes"
	"compress/flate"
	_ "embed"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/shared/store"
)

//go:embed compact.dict
var compactDict []byte

// compactHead is the small fields of an event in its compact item; times
// in Unix nanoseconds, 0 for a zero time.
type compactHead struct {
	Provider   string            `json:"p,omitempty"` // "": by_provider_pk's
	Type       string            `json:"t,omitempty"`
	Key        string            `json:"k"`
	Entity     string            `json:"e,omitempty"`
	Tenant     string            `json:"n,omitempty"`
	ReceivedAt int64             `json:"r,omitempty"` // 0: received_sk's
	OccurredAt int64             `json:"o,omitempty"`
	UpdatedAt  *int64            `json:"u,omitempty"` // nil: ReceivedAt
	ExpiresAt  *int64            `json:"x,omitempty"` // after ReceivedAt; nil: none
	Meta       map[string]string `json:"m,omitempty"`
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// compactItem is ev's compact item built from full (the item with every
// attribute), or nil if it would not fit eventBudget.
func compactItem(ev store.Event, full map[string]types.AttributeValue) (map[string]types.AttributeValue, error) {
	if len(ev.Raw)+len(ev.Normalized) > eventBudget {
		return nil, nil // not worth compressing to find out
	}
	head, err := json.Marshal(compactHead{Type: ev.Type, Key: ev.IdempotencyKey,
		Entity: ev.EntityID, Tenant: ev.Tenant, OccurredAt: nanos(ev.OccurredAt),
		UpdatedAt: updatedNanos(ev), ExpiresAt: expiresAfter(ev), Meta: ev.Meta})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", store.ErrInvalid, err)
	}
	var buf bytes.Buffer
	w, err := flate.NewWriterDict(&buf, flate.BestCompression, compactDict)
	if err != nil {
		return nil, err
	}
	for _, p := range [][]byte{binary.AppendUvarint(nil, uint64(len(head))), head,
		binary.AppendUvarint(nil, uint64(len(ev.Raw))), ev.Raw, ev.Normalized} {
		if _, err := w.Write(p); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	z := buf.Bytes()
	item := map[string]types.AttributeValue{attrEvent: &types.AttributeValueMemberB{Value: z}}
	for _, a := range []string{attrPK, attrSK, attrTTL, attrByProviderPK, attrReceivedSK} {
		if v, ok := full[a]; ok {
			item[a] = v
		}
	}
	if itemSize(item) > eventBudget {
		return nil, nil
	}
	return item, nil
}

// decodeCompact decodes a compact event item.
func decodeCompact(item map[string]types.AttributeValue) (store.Event, int, error) {
	d := decoder{item: item}
	id := strings.TrimPrefix(d.str(attrPK), "EVT#")
	z, _ := item[attrEvent].(*types.AttributeValueMemberB)
	fail := func(err error) (store.Event, int, error) {
		return store.Event{}, 0, fmt.Errorf("dynamo: event item %s: %s: %w", id, attrEvent, err)
	}
	if z == nil || d.err != nil {
		return fail(fmt.Errorf("not binary (%v)", d.err))
	}
	b, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(z.Value), compactDict))
	if err != nil {
		return fail(err)
	}
	r := bytes.NewReader(b)
	n, err := binary.ReadUvarint(r)
	if err != nil || n > uint64(r.Len()) {
		return fail(fmt.Errorf("head length: %v", err))
	}
	rest := b[len(b)-r.Len():]
	var h compactHead
	if err := json.Unmarshal(rest[:n], &h); err != nil {
		return fail(err)
	}
	r = bytes.NewReader(rest[n:])
	rawLen, err := binary.ReadUvarint(r)
	if err != nil || rawLen > uint64(r.Len()) {
		return fail(fmt.Errorf("raw length: %v", err))
	}
	body := rest[len(rest)-r.Len():]
	received, err := time.Parse(sortLayout, d.str(attrReceivedSK))
	if err != nil || d.err != nil {
		return fail(fmt.Errorf("%s: %v %v", attrReceivedSK, err, d.err))
	}
	h.ReceivedAt = received.UnixNano()
	var expires time.Time
	if h.ExpiresAt != nil {
		expires = time.Unix(0, h.ReceivedAt+*h.ExpiresAt).UTC()
	}
	if h.Provider == "" {
		h.Provider, _, _ = strings.Cut(d.str(attrByProviderPK), "#")
	}
	ev := store.Event{
		ID: id, Provider: h.Provider, Type: h.Type, IdempotencyKey: h.Key, EntityID: h.Entity, Tenant: h.Tenant,
		ReceivedAt: fromNanos(h.ReceivedAt), OccurredAt: fromNanos(h.OccurredAt), UpdatedAt: fromNanos(h.ReceivedAt),
		ExpiresAt: expires, Meta: h.Meta, Status: store.StatusReceived,
		Raw: nonEmpty(body[:rawLen:rawLen]), Normalized: nonEmpty(body[rawLen:]),
	}
	if h.UpdatedAt != nil {
		ev.UpdatedAt = fromNanos(*h.UpdatedAt)
	}
	return ev, 0, nil
}

// expiresAfter is ExpiresAt in the head: after ReceivedAt (the retention,
// a round number: a few bytes compressed instead of nineteen digits), nil
// for none.
func expiresAfter(ev store.Event) *int64 {
	if ev.ExpiresAt.IsZero() {
		return nil
	}
	n := ev.ExpiresAt.UnixNano() - ev.ReceivedAt.UnixNano()
	return &n
}

// updatedNanos is UpdatedAt in the head: nil when it is ReceivedAt (Put's
// usual event), so the head does not repeat it.
func updatedNanos(ev store.Event) *int64 {
	if ev.UpdatedAt.Equal(ev.ReceivedAt) {
		return nil
	}
	n := nanos(ev.UpdatedAt)
	return &n
}
