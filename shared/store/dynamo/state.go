package dynamo

// Delivery state items: the event item is written once, by Put, and never
// rewritten. Every change of an event's status or delivery state after that
// (the processor's save, Transition, SaveDeliveries) is one new small item
// in the event's partition, which also carries the attempts that led to it:
//
//	pk           "EVT#<event id>"
//	sk           "ATT#v<version, 10 digits>"  1, 2, ... in order
//	status       S  the event's status from this version on
//	deliveries   S  store.MarshalDeliveries JSON (absent: none)
//	updated_at   N  Unix nanoseconds
//	attempts     L  the attempts this save records (maps with the attempt
//	                item's attributes below; absent: none)
//	ttl          N  the event's ExpiresAt in Unix seconds, rounded up
//	                (absent: kept)
//	by_status_pk, received_sk  S  only while the status is queued or failed:
//	                the by_status index holds state items, not events (a
//	                delivered event never enters it)
//
// The version is the optimistic lock: a save writes version n+1 on the
// condition attribute_not_exists(pk), so of two processors that read
// version n only one writes n+1; the other reloads and merges. The latest
// version is the event's state (Event.Version, Status, Deliveries,
// UpdatedAt); an event with none is received (or, for an item written
// before this layout, what its own status, version and deliveries say).
//
// Get, and every list, read the event's whole partition with one strongly
// consistent Query (event item, state items, normalized parts): for an
// event delivered at the first attempt that is the ~1 KB event item and one
// ~0.4 KB state item, one read unit.
//
// Status lists. ListByStatus(received) does not use by_status: it reads the
// keys of by_provider (written once, at Put) from a checkpoint on, for each
// provider in Providers (in rounds: see listReceived), asks (BatchGetItem, eventually consistent) which
// have a state item version 1, and reads the others. The checkpoint (item
// pk "SWEEP", sk "received", attribute from) moves up to the oldest event
// still received, never closer than sweepLag to the store's clock (a Put
// writes its event within seconds of its ReceivedAt), so each event is read
// about once by the sweeper. Queued and failed are listed from by_status
// (state items) and checked against the event's latest state, since an
// older state item stays in the index until its TTL.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/shared/store"
)

const (
	skStatePrefix = "ATT#v"
	attrAttempts  = "attempts"
	attrFrom      = "from"

	pkSweep = "SWEEP"
	skSweep = "received"

	// sweepLag: the received checkpoint stays this far behind the store's
	// clock, so an event whose Put is still on its way is never skipped.
	sweepLag = time.Minute
	// getWorkers bounds the concurrent partition reads of one list.
	getWorkers = 8
)

// Providers are the providers whose events ListByStatus(received) looks
// for in the by_provider index: every source hookline has.
var Providers = []string{"journeybee", "leadron", "tomba"}

func stateSK(version int64) string { return fmt.Sprintf("%s%010d", skStatePrefix, version) }

// state is a decoded state item.
type state struct {
	version    int64
	status     store.Status
	deliveries []store.Delivery
	updatedAt  time.Time
}

func decodeState(item map[string]types.AttributeValue) (state, error) {
	d := decoder{item: item}
	sk := d.str(attrSK)
	v, err := strconv.ParseInt(strings.TrimPrefix(sk, skStatePrefix), 10, 64)
	if err != nil {
		return state{}, fmt.Errorf("dynamo: state item %q: %w", sk, err)
	}
	st := state{version: v, status: store.Status(d.str(attrStatus)), updatedAt: d.time(attrUpdatedAt)}
	if ds := d.str(attrDeliveries); ds != "" && d.err == nil {
		st.deliveries, d.err = store.UnmarshalDeliveries([]byte(ds))
	}
	if d.err != nil {
		return state{}, fmt.Errorf("dynamo: state item %q: %w", sk, d.err)
	}
	return st, nil
}

// load reads the event id with its latest state: one strongly consistent
// Query of its partition.
func (s *Store) load(ctx context.Context, id string) (store.Event, []map[string]types.AttributeValue, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str("EVT#" + id)},
		ConsistentRead:            aws.Bool(true),
	}
	var (
		evItem  map[string]types.AttributeValue
		latest  map[string]types.AttributeValue
		states  []map[string]types.AttributeValue
		partsGz []byte
		nparts  int
	)
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return store.Event{}, nil, unavailable("get", err)
		}
		for _, item := range page.Items { // in sk order: ATT#..., EVT, NRM#...
			sk, _ := item[attrSK].(*types.AttributeValueMemberS)
			if sk == nil {
				continue
			}
			switch {
			case sk.Value == skEvent:
				evItem = item
			case strings.HasPrefix(sk.Value, skStatePrefix):
				latest = item // versions sort in order
				states = append(states, item)
			case strings.HasPrefix(sk.Value, skPartPrefix):
				b, ok := item[attrData].(*types.AttributeValueMemberB)
				if !ok {
					return store.Event{}, nil, fmt.Errorf("dynamo: event %s: part without data", id)
				}
				partsGz = append(partsGz, b.Value...)
				nparts++
			}
		}
		if page.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
	if evItem == nil {
		return store.Event{}, nil, store.ErrNotFound
	}
	ev, want, err := decodeEvent(evItem)
	if err != nil {
		return store.Event{}, nil, err
	}
	if want > 0 {
		if nparts != want {
			return store.Event{}, nil, fmt.Errorf("dynamo: event %s: %d normalized parts, want %d", id, nparts, want)
		}
		b, err := gunzip(partsGz)
		if err != nil {
			return store.Event{}, nil, fmt.Errorf("dynamo: event %s: normalized parts: %w", id, err)
		}
		ev.Normalized = nonEmpty(b)
	}
	if latest != nil {
		st, err := decodeState(latest)
		if err != nil {
			return store.Event{}, nil, err
		}
		if st.version > ev.Version {
			ev.Version, ev.Status, ev.Deliveries, ev.UpdatedAt = st.version, st.status, st.deliveries, st.updatedAt
		}
	}
	return ev, states, nil
}

// putState writes version ev.Version+1 of the event's state: status st,
// deliveries ds (b, their JSON) and the attempts that made it. It reports
// false when that version exists (another writer saved since ev was read).
func (s *Store) putState(ctx context.Context, ev store.Event, b []byte, st store.Status, attempts []store.Attempt) (bool, error) {
	item := map[string]types.AttributeValue{
		attrPK:        str("EVT#" + ev.ID),
		attrSK:        str(stateSK(ev.Version + 1)),
		attrStatus:    str(string(st)),
		attrUpdatedAt: num(time.Now().UnixNano()),
	}
	if b != nil {
		item[attrDeliveries] = str(string(b))
	}
	if !ev.ExpiresAt.IsZero() {
		item[attrTTL] = num(ttlSeconds(ev.ExpiresAt))
	}
	if st == store.StatusQueued || st == store.StatusFailed {
		item[attrByStatusPK] = str(shardKey(string(st), ev.ID))
		item[attrReceivedSK] = str(sortTime(ev.ReceivedAt))
	}
	if len(attempts) > 0 {
		l := make([]types.AttributeValue, len(attempts))
		for i, a := range attempts {
			l[i] = &types.AttributeValueMemberM{Value: attemptAttrs(a)}
		}
		item[attrAttempts] = &types.AttributeValueMemberL{Value: l}
	}
	_, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           &s.table,
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	})
	var ccf *types.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	case itemTooLarge(err):
		return false, fmt.Errorf("%w: event %s with its delivery state", ErrTooLarge, ev.ID)
	default:
		return false, unavailable("save state", err)
	}
}

// SaveState is the processor's save (deliver.StateSaver): SaveDeliveries of
// ev (as read: its ID, Version, ReceivedAt, ExpiresAt), recording attempts
// in the same write, without reading the event again. One PutItem of one
// small item. It returns false if the event's Version moved since the read.
func (s *Store) SaveState(ctx context.Context, ev store.Event, ds []store.Delivery, st store.Status, attempts []store.Attempt) (bool, error) {
	b, err := store.EncodeDeliveries(ds, st)
	if err != nil {
		return false, err
	}
	for _, a := range attempts {
		if err := a.Validate(); err != nil {
			return false, err
		}
	}
	if st == "" {
		st = ev.Status
	}
	return s.putState(ctx, ev, b, st, attempts)
}

// getMany reads the events ids (each with its state), in the order given,
// leaving out those that no longer exist.
func (s *Store) getMany(ctx context.Context, ids []string) ([]store.Event, error) {
	out := make([]store.Event, len(ids))
	found := make([]bool, len(ids))
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan int)
	)
	for range min(getWorkers, len(ids)) {
		wg.Go(func() {
			for i := range next {
				ev, _, err := s.load(ctx, ids[i])
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				out[i], found[i] = ev, true
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	evs := out[:0]
	for i, ev := range out {
		if found[i] {
			evs = append(evs, ev)
		}
	}
	return evs, nil
}

// listReceived is ListByStatus(received): see the top of this file. The
// keys are read in rounds of at most scanPage per shard (a backlog, or the
// first pass over a table without a checkpoint, never holds every key at
// once); each round covers the range up to the oldest last key of a shard
// that had more.
func (s *Store) listReceived(ctx context.Context, before time.Time, limit int) ([]store.Event, error) {
	from, err := s.sweepFrom(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Event
	start := from // everything before it has been looked at
	for round := 0; round < scanRounds && len(out) < limit && start.Before(before); round++ {
		keys, horizon, err := s.scanProvider(ctx, start, before)
		if err != nil {
			return nil, err
		}
		for i := 0; i < len(keys) && len(out) < limit; i += 100 {
			chunk := keys[i:min(i+100, len(keys))]
			saved, err := s.haveState(ctx, chunk)
			if err != nil {
				return nil, err
			}
			var ids []string
			for _, k := range chunk {
				if !saved[k.id] {
					ids = append(ids, k.id)
				}
			}
			evs, err := s.getMany(ctx, ids)
			if err != nil {
				return nil, err
			}
			for _, ev := range evs {
				if ev.Status == store.StatusReceived && len(out) < limit {
					out = append(out, ev)
				}
			}
		}
		start = horizon
	}
	// Everything before the oldest event still received, and before where
	// the scan stopped, has left received for good (only Put writes
	// received).
	to := min(before.UnixNano(), time.Now().Add(-sweepLag).UnixNano(), start.UnixNano())
	if len(out) > 0 {
		to = min(to, out[0].ReceivedAt.UnixNano())
	}
	if to > from.UnixNano() {
		if err := s.advanceSweep(ctx, to); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Rounds of listReceived: scanPage keys per provider shard per round,
// scanRounds rounds per call (variables for the tests).
var scanPage, scanRounds = 1000, 20

// scanProvider reads the by_provider keys of every provider received in
// [from, before), at most scanPage per shard, in order. When a shard had
// more, the keys are cut before the oldest of those shards' last receive
// times, horizon: keys holds every key in [from, horizon); horizon is
// before when nothing was cut.
func (s *Store) scanProvider(ctx context.Context, from, before time.Time) (keys []indexed, horizon time.Time, err error) {
	var (
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		cut      string // the oldest last time of a shard that had more
	)
	vals := map[string]types.AttributeValue{":lo": str(sortTime(from)), ":hi": str(sortBefore(before))}
	for _, p := range Providers {
		for shard := range Shards {
			wg.Go(func() {
				k, err := s.queryShard(ctx, IndexByProvider, attrByProviderPK, shardValue(p, shard),
					"#sk BETWEEN :lo AND :hi", vals, scanPage)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				if len(k) >= scanPage {
					if last := sortPart(k[len(k)-1].sk); cut == "" || last < cut {
						cut = last
					}
				}
				keys = append(keys, k...)
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return nil, time.Time{}, firstErr
	}
	slices.SortFunc(keys, compareIndexed)
	if cut == "" {
		return keys, before, nil
	}
	horizon, err = time.Parse(sortLayout, cut)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("dynamo: by_provider key %q: %w", cut, err)
	}
	if !horizon.After(from) {
		// More than scanPage events of one shard at the very same
		// nanosecond: take them, and go on after it.
		horizon = from.Add(1)
		cut = sortTime(horizon)
	}
	n, _ := slices.BinarySearchFunc(keys, cut, func(k indexed, t string) int { return strings.Compare(sortPart(k.sk), t) })
	return keys[:n], horizon, nil
}

// sortPart is the receive time of a received_sk ("<time>" or "<time>#<id>").
func sortPart(sk string) string {
	t, _, _ := strings.Cut(sk, "#")
	return t
}

// haveState reports which of the events keys have a state item version 1
// (BatchGetItem, eventually consistent: a state written a moment ago may be
// missed, and the event is then read and checked).
func (s *Store) haveState(ctx context.Context, keys []indexed) (map[string]bool, error) {
	req := make([]map[string]types.AttributeValue, len(keys))
	for i, k := range keys {
		req[i] = map[string]types.AttributeValue{attrPK: str("EVT#" + k.id), attrSK: str(stateSK(1))}
	}
	out := make(map[string]bool, len(keys))
	ask := map[string]types.KeysAndAttributes{s.table: {Keys: req, ProjectionExpression: aws.String("pk")}}
	for attempt := 0; len(ask) > 0; attempt++ {
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: ask})
		if err != nil {
			return nil, unavailable("batch get state", err)
		}
		for _, item := range res.Responses[s.table] {
			if p, ok := item[attrPK].(*types.AttributeValueMemberS); ok {
				out[strings.TrimPrefix(p.Value, "EVT#")] = true
			}
		}
		ask = res.UnprocessedKeys
		if len(ask) > 0 && attempt > 0 {
			if attempt >= conflictRetries {
				return nil, unavailable("batch get state", fmt.Errorf("%d keys still unprocessed", len(ask[s.table].Keys)))
			}
			if err := backoff(ctx, attempt); err != nil {
				return nil, unavailable("batch get state", err)
			}
		}
	}
	return out, nil
}

func sweepKey() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrPK: str(pkSweep), attrSK: str(skSweep)}
}

// sweepFrom reads the received checkpoint (zero: none yet).
func (s *Store) sweepFrom(ctx context.Context) (time.Time, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.table, Key: sweepKey(), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return time.Time{}, unavailable("get sweep checkpoint", err)
	}
	d := decoder{item: out.Item}
	t := d.time(attrFrom)
	if d.err != nil {
		return time.Time{}, fmt.Errorf("dynamo: sweep checkpoint: %w", d.err)
	}
	return t, nil
}

// advanceSweep moves the received checkpoint up to to (never back).
func (s *Store) advanceSweep(ctx context.Context, to int64) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       sweepKey(),
		UpdateExpression:          aws.String("SET #f = :to"),
		ConditionExpression:       aws.String("attribute_not_exists(#f) OR #f < :to"),
		ExpressionAttributeNames:  map[string]string{"#f": attrFrom},
		ExpressionAttributeValues: map[string]types.AttributeValue{":to": num(to)},
	})
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return unavailable("advance sweep checkpoint", err)
	}
	return nil
}

// attemptAttrs is an attempt as the attributes of its item (or of a map in
// a state item's attempts).
func attemptAttrs(a store.Attempt) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{
		attrDestination: str(a.Destination),
		attrAttempt:     num(int64(a.Number)),
		attrAt:          num(a.At.UnixNano()),
		attrOutcome:     str(a.Outcome),
		attrDurationNs:  num(int64(a.Duration)),
	}
	if a.StatusCode != 0 {
		m[attrStatusCode] = num(int64(a.StatusCode))
	}
	if a.Error != "" {
		m[attrError] = str(a.Error)
	}
	if a.Response != "" {
		m[attrResponse] = str(a.Response)
	}
	return m
}

// stateAttempts decodes the attempts a state item records.
func stateAttempts(id string, item map[string]types.AttributeValue) ([]store.Attempt, error) {
	l, _ := item[attrAttempts].(*types.AttributeValueMemberL)
	if l == nil {
		return nil, nil
	}
	out := make([]store.Attempt, 0, len(l.Value))
	for _, v := range l.Value {
		m, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			return nil, fmt.Errorf("dynamo: state item of %s: attempt of type %T", id, v)
		}
		a, err := decodeAttempt(id, m.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
