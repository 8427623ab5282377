package dynamo

// The operator console's reads over DynamoDB (`hookline console --aws`):
// the event list and the stats window, answered from the two indexes the
// table already has. No new index, so an event's write costs what it did.
//
// # The list (ListEvents)
//
// Newest first by receive time, then id (received_sk is the bare "<time>"
// on every current item: the id comes from the index key's pk), from one of
// the KEYS_ONLY indexes, each sharded over Shards partitions:
//
//   - status queued or failed: by_status, "<status>#<shard>", 16
//     partitions. It holds state items (state.go): an event has one entry
//     per queued or failed save, and an older entry stays until its TTL
//     after the event has moved on, so the merge gives each event once and
//     the status is checked on the event's latest state;
//   - status received: there is no index entry for it (no state item yet),
//     so by_provider is walked, from the sweeper's checkpoint on (every
//     event received before it has left received), the status checked on
//     the events read;
//   - otherwise: by_provider, "<provider>#<shard>", 16 partitions for one
//     provider, 16 per provider (48) for all of them.
//
// Each partition is queried backwards (ScanIndexForward false) with
// received_sk BETWEEN since and until (or the cursor), a few keys at a time;
// the partitions are merged newest first (keys of one time that a query may
// have cut are held back until the next query shows them all, then ordered
// by id), and the chosen events are read each with its latest state: one
// eventually consistent Query of its partition, backwards over sk BETWEEN
// "ATT#v" and "EVT", Limit 2, that reads the event item and its newest state
// item and nothing else (readListed). since, until and provider are key
// conditions; every other filter (type glob, the statuses, destination, the
// text) is checked on the events read. So a page costs, in read units: the
// index queries (keys of ~100 bytes: 0.5 RCU per 4 KB read per partition,
// about 24 for the 48 partitions of an unfiltered first page) and 0.5 RCU
// per event read (a compact event item and a state item are ~1.4 KB; the
// body of a full event item is not returned, though DynamoDB bills it). A
// filter walks further: a page stops after maxExamined events read (about
// 1,000 RCU) and answers what it found, maybe fewer than the limit, with a
// cursor to go on (the page's "next"), never a Scan of the table.
//
// The text q: an event id is one Get (a Query of its partition); when no
// event has that id, the events are walked as above for an entity id or
// tenant that starts with q (bounded the same way). An index on entity id
// or tenant would make that a Query, but it would cost every event write
// one more index write, so there is none.
//
// The cursor is the last event shown's "<time>#<id>", base64url.
//
// # Stats
//
// Accepted per provider: a Select COUNT Query over each by_provider
// partition for received_sk >= since (keys only: about 40 keys per 0.5 RCU;
// a million events in the window is about 12,500 RCU). Attempts per
// destination: the attempts at or after since of the newest maxStatsEvents
// events received in the window, those the state items carry and the
// attempt items (ATT#<at>…), one Query per event (0.5 RCU): an
// attempt of an older event (a late retry) is not counted, and in a window
// with more events the destinations' figures are those of the newest
// maxStatsEvents (WindowStats.Sampled says so). An index over attempt items
// would count every attempt, at one more index write per attempt.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/shared/store"
)

// maxExamined bounds the events one list page reads (a variable for the
// tests).
var maxExamined = 2000

const (
	// maxStatsEvents bounds the events whose attempts Stats reads.
	maxStatsEvents = 1000
	// statsWorkers is how many attempt queries Stats runs at once.
	statsWorkers = 8
	// skTop is above every received_sk ("<digits>…"), skBottom below.
	skTop, skBottom = "~", "0"
)

// Console is the console's view of a Store: the list and stats of
// store.Console (see the top of this file) over the providers it is given,
// plus everything Store does.
type Console struct {
	*Store
	providers []string
}

// NewConsole returns the console reader of s; providers are every provider
// name events can have (wire.Providers), the partitions an unfiltered list
// walks.
func NewConsole(s *Store, providers []string) *Console {
	return &Console{Store: s, providers: slices.Clone(providers)}
}

// ListEvents returns one page of the events q selects, newest first.
func (c *Console) ListEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	if err := q.Validate(); err != nil {
		return store.EventPage{}, err
	}
	lo, hi := skBottom, position{t: skTop}
	if !q.Since.IsZero() {
		lo = sortTime(q.Since)
	}
	if !q.Until.IsZero() {
		hi = position{t: sortTime(q.Until)} // every event of that time is at or above it
	}
	if q.Cursor != "" {
		cur, err := decodeCursor(q.Cursor)
		if err != nil {
			return store.EventPage{}, err
		}
		if cur.before(hi) {
			hi = cur
		}
	}
	if q.Text != "" && q.Cursor == "" {
		ev, err := c.Get(ctx, q.Text)
		switch {
		case err == nil:
			if sortTime(ev.ReceivedAt) >= lo && eventPosition(ev).before(hi) && matches(q, ev) {
				ev.Raw, ev.Normalized, ev.Meta = nil, nil, nil
				return store.EventPage{Events: []store.Event{ev}}, nil
			}
		case errors.Is(err, store.ErrUnavailable):
			return store.EventPage{}, err
		}
	}
	if q.Status == store.StatusReceived {
		// Every event received before the sweeper's checkpoint has left
		// received for good (state.go): the walk starts there.
		from, err := c.sweepFrom(ctx)
		if err != nil {
			return store.EventPage{}, err
		}
		if !from.IsZero() {
			lo = max(lo, sortTime(from))
		}
	}
	if lo >= hi.t+"~" {
		return store.EventPage{}, nil
	}

	m := &merge{c: c, lo: lo, hi: hi, chunk: q.Limit + 1}
	byStatus := q.Status == store.StatusQueued || q.Status == store.StatusFailed
	switch {
	case byStatus:
		m.add(IndexByStatus, attrByStatusPK, string(q.Status))
	case q.Provider != "":
		if strings.Contains(q.Provider, "#") {
			return store.EventPage{}, nil
		}
		m.add(IndexByProvider, attrByProviderPK, q.Provider)
	default:
		for _, p := range c.providers {
			m.add(IndexByProvider, attrByProviderPK, p)
		}
		m.chunk = max(2*q.Limit/Shards+1, 10)
	}
	// filtered: some filter is checked on the events read, so a batch may
	// match fewer than it holds. That includes the by_status walk: an
	// older queued or failed state item stays in the index after the
	// event has moved on.
	filtered := q.TypeGlob != "" || q.Destination != "" || q.Text != "" || q.Status != "" ||
		(q.Provider != "" && byStatus)

	var page store.EventPage
	examined := 0
	var last position
	for examined < maxExamined {
		n := q.Limit - len(page.Events)
		if filtered {
			n = min(max(2*n, 10), 100, maxExamined-examined)
		}
		keys, err := m.take(ctx, n)
		if err != nil {
			return store.EventPage{}, err
		}
		if len(keys) == 0 {
			return page, nil // every partition is read out: no next page
		}
		evs, err := c.readListed(ctx, keys)
		if err != nil {
			return store.EventPage{}, err
		}
		for i, k := range keys {
			examined++
			last = k.position()
			ev, ok := evs[k.id]
			if !ok || !matches(q, ev) {
				continue
			}
			if len(page.Events) == q.Limit {
				// One more match: there is a next page.
				page.Next = encodeCursor(eventPosition(page.Events[len(page.Events)-1]))
				return page, nil
			}
			page.Events = append(page.Events, ev)
			if len(page.Events) == q.Limit && i == len(keys)-1 {
				more, err := m.more(ctx)
				if err != nil {
					return store.EventPage{}, err
				}
				if more {
					page.Next = encodeCursor(k.position())
				}
				return page, nil
			}
		}
		if len(page.Events) == q.Limit {
			// The rest of the batch did not match: go on after the last
			// event shown if any partition has more.
			more, err := m.more(ctx)
			if err != nil {
				return store.EventPage{}, err
			}
			if more {
				page.Next = encodeCursor(eventPosition(page.Events[len(page.Events)-1]))
			}
			return page, nil
		}
	}
	// The walk's bound: answer what was found, and go on from there.
	if more, err := m.more(ctx); err != nil {
		return store.EventPage{}, err
	} else if more {
		page.Next = encodeCursor(last)
	}
	return page, nil
}

// matches checks the filters that are not key conditions (and those that
// the index answered but may lag on: the status).
func matches(q store.EventQuery, ev store.Event) bool {
	if q.Provider != "" && ev.Provider != q.Provider {
		return false
	}
	if q.Status != "" && ev.Status != q.Status {
		return false
	}
	if q.TypeGlob != "" {
		if ok, _ := path.Match(q.TypeGlob, ev.Type); !ok {
			return false
		}
	}
	if q.Destination != "" && !slices.ContainsFunc(ev.Deliveries, func(d store.Delivery) bool { return d.Destination == q.Destination }) {
		return false
	}
	if q.Text != "" && ev.ID != q.Text && !strings.HasPrefix(ev.EntityID, q.Text) && !strings.HasPrefix(ev.Tenant, q.Text) {
		return false
	}
	return true
}

// position is a place in the list's order, newest first: receive time
// (sortTime), then id, both descending. As an upper bound it is exclusive;
// the id "" is below every id, so {t, ""} is "before time t".
type position struct{ t, id string }

// before reports whether p comes after o in the list (is older).
func (p position) before(o position) bool {
	return p.t < o.t || (p.t == o.t && p.id < o.id)
}

func (k indexed) position() position { return position{t: sortPart(k.sk), id: k.id} }

func eventPosition(ev store.Event) position { return position{t: sortTime(ev.ReceivedAt), id: ev.ID} }

// encodeCursor: "<fixed-width time>#<id>", base64url.
func encodeCursor(p position) string {
	return base64.RawURLEncoding.EncodeToString([]byte(p.t + "#" + p.id))
}

// decodeCursor reads a cursor: "<fixed-width time>#<id>".
func decodeCursor(c string) (position, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	t, id, ok := strings.Cut(string(b), "#")
	if err != nil || !ok || id == "" {
		return position{}, fmt.Errorf("%w: cursor %q", store.ErrInvalid, c)
	}
	if _, err := time.Parse(sortLayout, t); err != nil || len(t) != len(sortLayout) {
		return position{}, fmt.Errorf("%w: cursor %q", store.ErrInvalid, c)
	}
	return position{t: t, id: id}, nil
}

// listedAttrs are what a list reads of an event's event item and latest
// state item: everything but the bodies of a full event item (a compact
// one holds its body in attrEvent, with the small fields).
var listedAttrs = []string{attrPK, attrSK, attrEvent, attrID, attrProvider, attrType, attrEntityID,
	attrTenant, attrStatus, attrReceivedAt, attrOccurredAt, attrUpdatedAt, attrExpiresAt, attrVersion,
	attrDeliveries, attrByProviderPK, attrReceivedSK}

// listWorkers bounds the concurrent event reads of one list page.
const listWorkers = 16

// readListed reads the events keys name, each with its latest state, by id;
// events that no longer exist are missing. Per event, one eventually
// consistent Query of its partition, backwards over sk BETWEEN "ATT#v" and
// "EVT" with Limit 2: the event item and its newest state item, and no
// other item of the partition (older state items, attempt items "ATT#<time>"
// and normalized parts "NRM#" are outside the range or past the limit). The
// two are ~1.4 KB for a delivered event: 0.5 read units, what reading the
// event item alone costs. A BatchGetItem cannot do it: the latest state
// item's key (its version) is not known before it is read, and reading
// the event item and then the state item would be two reads per event.
func (c *Console) readListed(ctx context.Context, keys []indexed) (map[string]store.Event, error) {
	names := map[string]string{}
	proj := make([]string, len(listedAttrs))
	for i, a := range listedAttrs {
		names["#"+a] = a
		proj[i] = "#" + a
	}
	projection := strings.Join(proj, ", ")
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
		out      = make(map[string]store.Event, len(keys))
		work     = make(chan string)
	)
	for range min(listWorkers, len(keys)) {
		wg.Go(func() {
			for id := range work {
				ev, ok, err := c.readLatest(ctx, id, projection, names)
				mu.Lock()
				firstErr = cmpOr(firstErr, err)
				if ok {
					out[id] = ev
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		work <- k.id
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// readLatest is readListed's read of one event (ok false: no such event).
func (c *Console) readLatest(ctx context.Context, id, projection string, names map[string]string) (store.Event, bool, error) {
	res, err := c.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &c.table,
		KeyConditionExpression: aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		// names is shared by the workers: the SDK only reads it.
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("EVT#" + id), ":lo": str(skStatePrefix), ":hi": str(skEvent),
		},
		ProjectionExpression: aws.String(projection),
		ScanIndexForward:     aws.Bool(false),
		Limit:                aws.Int32(2),
	})
	if err != nil {
		return store.Event{}, false, unavailable("query event", err)
	}
	if len(res.Items) == 0 {
		return store.Event{}, false, nil
	}
	if sk, _ := res.Items[0][attrSK].(*types.AttributeValueMemberS); sk == nil || sk.Value != skEvent {
		return store.Event{}, false, nil // state items without their event: it expired
	}
	ev, _, err := decodeEvent(res.Items[0])
	if err != nil {
		return store.Event{}, false, err
	}
	if len(res.Items) > 1 {
		st, err := decodeState(res.Items[1])
		if err != nil {
			return store.Event{}, false, err
		}
		if st.version > ev.Version {
			ev.Version, ev.Status, ev.Deliveries, ev.UpdatedAt = st.version, st.status, st.deliveries, st.updatedAt
		}
	}
	ev.Raw, ev.Normalized, ev.Meta = nil, nil, nil
	return ev, true, nil
}

// merge walks index partitions newest first, merged by position. An
// event's by_status entries (one per queued or failed state item it had)
// share its position and its partition: the merge gives each event once.
type merge struct {
	c     *Console
	lo    string   // lo <= received_sk
	hi    position // positions before hi
	chunk int      // keys per query
	parts []*partition
	last  position // the last key taken
}

// partition is one index partition being walked backwards.
type partition struct {
	index, attr, pk string
	buf             []indexed // newest first, by position
	start           map[string]types.AttributeValue
	done            bool // no more keys beyond buf
}

// ready is how many of p's first keys may be taken: all when p is read
// out, else those newer than the last key read (keys of the same time may
// follow in the next query, in any order of id).
func (p *partition) ready() int {
	if p.done || len(p.buf) == 0 {
		return len(p.buf)
	}
	t := sortPart(p.buf[len(p.buf)-1].sk)
	n := 0
	for n < len(p.buf) && sortPart(p.buf[n].sk) > t {
		n++
	}
	return n
}

// add walks the Shards partitions of value in index.
func (m *merge) add(index, attr, value string) {
	for sh := range Shards {
		m.parts = append(m.parts, &partition{index: index, attr: attr, pk: shardValue(value, sh)})
	}
}

// fill queries, in parallel, every partition that has more keys and none
// ready, until each has some ready or is read out.
func (m *merge) fill(ctx context.Context) error {
	for {
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			firstErr error
			queried  bool
		)
		for _, p := range m.parts {
			if p.done || p.ready() > 0 {
				continue
			}
			queried = true
			wg.Go(func() {
				if err := m.query(ctx, p); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if firstErr != nil || !queried {
			return firstErr
		}
	}
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// query reads p's next keys, newest first.
func (m *merge) query(ctx context.Context, p *partition) error {
	out, err := m.c.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                &m.c.table,
		IndexName:                aws.String(p.index),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :lo AND :hi"),
		ExpressionAttributeNames: map[string]string{"#pk": p.attr, "#sk": attrReceivedSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			// "<t>~" is above "<t>" and the "<t>#<id>" of older items.
			":pk": str(p.pk), ":lo": str(m.lo), ":hi": str(m.hi.t + "~"),
		},
		ScanIndexForward:  aws.Bool(false),
		Limit:             aws.Int32(int32(m.chunk)),
		ExclusiveStartKey: p.start,
	})
	if err != nil {
		return unavailable("query "+p.index, err)
	}
	for _, item := range out.Items {
		sk, _ := item[attrReceivedSK].(*types.AttributeValueMemberS)
		pk, _ := item[attrPK].(*types.AttributeValueMemberS)
		if sk == nil || pk == nil || !strings.HasPrefix(pk.Value, "EVT#") {
			continue
		}
		k := indexed{sk: sk.Value, id: strings.TrimPrefix(pk.Value, "EVT#")}
		if !k.position().before(m.hi) {
			continue // the cursor's event and those shown before it
		}
		p.buf = append(p.buf, k)
	}
	slices.SortStableFunc(p.buf, func(a, b indexed) int { return -compareIndexed(a, b) })
	p.start = out.LastEvaluatedKey
	p.done = out.LastEvaluatedKey == nil
	return nil
}

// dropTaken drops, from the head of every buffer, the keys of the event
// taken last (its other by_status entries).
func (m *merge) dropTaken() {
	for _, p := range m.parts {
		for len(p.buf) > 0 && p.buf[0].position() == m.last {
			p.buf = p.buf[1:]
		}
	}
}

// take returns the next n events' keys of the merge, newest first (fewer
// at the end).
func (m *merge) take(ctx context.Context, n int) ([]indexed, error) {
	var out []indexed
	for len(out) < n {
		if err := m.fill(ctx); err != nil {
			return nil, err
		}
		m.dropTaken()
		if slices.ContainsFunc(m.parts, func(p *partition) bool { return !p.done && p.ready() == 0 }) {
			continue // keys of the event taken last only: read on
		}
		var best *partition
		for _, p := range m.parts {
			if p.ready() > 0 && (best == nil || compareIndexed(p.buf[0], best.buf[0]) > 0) {
				best = p
			}
		}
		if best == nil {
			return out, nil // every partition is read out
		}
		k := best.buf[0]
		best.buf = best.buf[1:]
		out = append(out, k)
		m.last = k.position()
	}
	return out, nil
}

func (m *merge) anyOpen() bool {
	return slices.ContainsFunc(m.parts, func(p *partition) bool { return len(p.buf) > 0 || !p.done })
}

// more reports whether any partition has a key of another event left.
func (m *merge) more(ctx context.Context) (bool, error) {
	for {
		m.dropTaken()
		if slices.ContainsFunc(m.parts, func(p *partition) bool { return len(p.buf) > 0 }) {
			return true, nil
		}
		if !m.anyOpen() {
			return false, nil
		}
		if err := m.fill(ctx); err != nil {
			return false, err
		}
	}
}

// Stats counts the events accepted per provider since since, and the
// attempts of the newest maxStatsEvents of them (see the top of this file).
func (c *Console) Stats(ctx context.Context, since time.Time) (store.WindowStats, error) {
	if err := store.CheckTime(since); err != nil {
		return store.WindowStats{}, err
	}
	out := store.WindowStats{Since: since.UTC(), Accepted: map[string]int{}, Destinations: map[string]store.DestinationStats{}}
	lo := sortTime(since)
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	for _, p := range c.providers {
		for sh := range Shards {
			wg.Go(func() {
				n, err := c.count(ctx, shardValue(p, sh), lo)
				mu.Lock()
				defer mu.Unlock()
				firstErr = cmpOr(firstErr, err)
				out.Accepted[p] += n
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		return store.WindowStats{}, firstErr
	}
	for p, n := range out.Accepted {
		if n == 0 {
			delete(out.Accepted, p)
		}
	}

	var tally store.Tally
	sampled, err := c.recentAttempts(ctx, lo, position{t: skTop}, since, func(a store.Attempt) {
		tally.Add(a.Destination, a.Outcome, a.Duration)
	})
	if err != nil {
		return store.WindowStats{}, err
	}
	out.Sampled = out.Sampled || sampled
	out.Destinations = tally.Stats()
	return out, nil
}

// recentAttempts calls fn (one call at a time) with each attempt at or
// after since of the newest maxStatsEvents events received in [lo, hi),
// and says whether the window held more events than that (sampled).
func (c *Console) recentAttempts(ctx context.Context, lo string, hi position, since time.Time, fn func(store.Attempt)) (sampled bool, err error) {
	m := &merge{c: c, lo: lo, hi: hi, chunk: 100}
	for _, p := range c.providers {
		m.add(IndexByProvider, attrByProviderPK, p)
	}
	keys, err := m.take(ctx, maxStatsEvents)
	if err != nil {
		return false, err
	}
	if sampled, err = m.more(ctx); err != nil {
		return false, err
	}
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	work := make(chan string)
	for range statsWorkers {
		wg.Go(func() {
			for id := range work {
				as, err := c.attemptsSince(ctx, id, since)
				mu.Lock()
				firstErr = cmpOr(firstErr, err)
				for _, a := range as {
					fn(a)
				}
				mu.Unlock()
			}
		})
	}
	for _, k := range keys {
		work <- k.id
	}
	close(work)
	wg.Wait()
	return sampled, firstErr
}

// count counts the keys of one by_provider partition at or after lo.
func (c *Console) count(ctx context.Context, pk, lo string) (int, error) {
	in := &dynamodb.QueryInput{
		TableName:                &c.table,
		IndexName:                aws.String(IndexByProvider),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk >= :lo"),
		ExpressionAttributeNames: map[string]string{"#pk": attrByProviderPK, "#sk": attrReceivedSK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str(pk), ":lo": str(lo),
		},
		Select: types.SelectCount,
	}
	n := 0
	for {
		out, err := c.db.Query(ctx, in)
		if err != nil {
			return 0, unavailable("count "+IndexByProvider, err)
		}
		n += int(out.Count)
		if out.LastEvaluatedKey == nil {
			return n, nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
}

// attemptsSince reads the attempts of event id at or after since: those of
// its state items (the processor's saves, sk "ATT#v<version>", above every
// "ATT#<time>": each is read and its attempts checked against since) and
// its attempt items, whose sort keys start with their time.
func (c *Console) attemptsSince(ctx context.Context, id string, since time.Time) ([]store.Attempt, error) {
	in := &dynamodb.QueryInput{
		TableName:              &c.table,
		KeyConditionExpression: aws.String("pk = :pk AND sk BETWEEN :lo AND :hi"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": str("EVT#" + id),
			":lo": str(skAttemptPrefix + sortTime(since)),
			":hi": str(skAttemptPrefix + skTop),
		},
	}
	var out []store.Attempt
	for {
		page, err := c.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("query attempts", err)
		}
		for _, item := range page.Items {
			if sk, _ := item[attrSK].(*types.AttributeValueMemberS); sk != nil && strings.HasPrefix(sk.Value, skStatePrefix) {
				as, err := stateAttempts(id, item)
				if err != nil {
					return nil, err
				}
				for _, a := range as {
					if !a.At.Before(since) {
						out = append(out, a)
					}
				}
				continue
			}
			a, err := decodeAttempt(id, item)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		if page.LastEvaluatedKey == nil {
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}
