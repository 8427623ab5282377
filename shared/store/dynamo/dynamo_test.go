package dynamo_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// newTable creates a table with a unique name on DynamoDB Local and deletes
// it after the test.
func newTable(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	client := storetest.DynamoClient(t)
	table := "hookline-test-" + ulid.Make().String()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table})
	})
	return client, table
}

func newStore(t testing.TB) *dynamo.Store {
	t.Helper()
	client, table := newTable(t)
	return dynamo.New(client, table)
}

func TestContract(t *testing.T) {
	storetest.DynamoEndpoint(t) // skip (or fail) once, not per case
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

func TestCreateTable(t *testing.T) {
	client, table := newTable(t)
	ctx := t.Context()
	// Again: an existing table is fine.
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatalf("second CreateTable: %v", err)
	}
	d, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if m := d.Table.BillingModeSummary; m == nil || m.BillingMode != types.BillingModePayPerRequest {
		t.Errorf("billing mode %+v, want PAY_PER_REQUEST", m)
	}
	indexes := map[string]string{}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		var keys []string
		for _, k := range g.KeySchema {
			keys = append(keys, aws.ToString(k.AttributeName))
		}
		indexes[aws.ToString(g.IndexName)] = strings.Join(keys, ",") + " " + string(g.Projection.ProjectionType)
	}
	for name, want := range map[string]string{
		dynamo.IndexByStatus:   "by_status_pk,received_sk KEYS_ONLY",
		dynamo.IndexByProvider: "by_provider_pk,received_sk KEYS_ONLY",
	} {
		if indexes[name] != want {
			t.Errorf("index %s = %q, want %q", name, indexes[name], want)
		}
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	if d := ttl.TimeToLiveDescription; d == nil || d.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.AttributeName) != "ttl" {
		t.Errorf("TTL = %+v, want enabled on ttl", d)
	}
}

func getItem(t *testing.T, client *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      &table,
		ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: pk},
			"sk": &types.AttributeValueMemberS{Value: sk},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

func attrS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func attrN(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberN); ok {
		return v.Value
	}
	return ""
}

// TestItemLayout checks the items against the design in the package doc.
func TestItemLayout(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Date(2025, 11, 25, 14, 3, 7, 5, time.UTC)
	ev := storetest.NewEvent("leadron", "evt_layout", at)
	ev.ExpiresAt = at.Add(30 * 24 * time.Hour)
	keyExp := at.Add(7 * 24 * time.Hour)
	if _, err := s.Put(ctx, ev, keyExp); err != nil {
		t.Fatal(err)
	}

	key := getItem(t, client, table, "KEY#leadron#evt_layout", "KEY")
	if attrS(key, "event_id") != ev.ID || attrN(key, "expires_at") != "1764684187000000005" || attrN(key, "ttl") != "1764684188" {
		t.Errorf("key item = %v", key)
	}
	item := getItem(t, client, table, "EVT#"+ev.ID, "EVT")
	h := fnv.New32a()
	h.Write([]byte(ev.ID))
	shard := fmt.Sprintf("#%02d", h.Sum32()%16)
	var names []string
	for name := range item {
		names = append(names, name)
	}
	slices.Sort(names)
	// The compact item: only what DynamoDB reads is an attribute.
	if want := []string{"by_provider_pk", "pk", "received_sk", "sk", "ttl", "z"}; !slices.Equal(names, want) {
		t.Errorf("event item attributes %v, want %v", names, want)
	}
	if bp := attrS(item, "by_provider_pk"); bp != "leadron"+shard {
		t.Errorf("by_provider_pk = %q, want %q", bp, "leadron"+shard)
	}
	if sk := attrS(item, "received_sk"); sk != "2025-11-25T14:03:07.000000005Z" {
		t.Errorf("received_sk = %q", sk)
	}
	if attrN(item, "ttl") != "1766671388" {
		t.Errorf("event item ttl = %v", item["ttl"])
	}
	if attrN(key, "claimed_at") != "1764079387000000005" || attrN(key, "event_expires_at") != "1766671387000000005" {
		t.Errorf("key item claimed_at/event_expires_at = %v / %v", key["claimed_at"], key["event_expires_at"])
	}
	if got, err := s.Get(ctx, ev.ID); err != nil || storetest.EqualEvents(got, ev) != "" {
		t.Fatalf("Get = %v: %s", err, storetest.EqualEvents(got, ev))
	}

	// Every change is a new state item; the event item stays as Put wrote
	// it. Queued and failed state items are in by_status, delivered not.
	for i, step := range []struct {
		from, to store.Status
		want     string
	}{{store.StatusReceived, store.StatusQueued, "queued" + shard}, {store.StatusQueued, store.StatusDelivered, ""}} {
		if ok, err := s.Transition(ctx, ev.ID, step.from, step.to); err != nil || !ok {
			t.Fatalf("Transition: %v, %v", ok, err)
		}
		st := getItem(t, client, table, "EVT#"+ev.ID, fmt.Sprintf("ATT#v%010d", i+1))
		if attrS(st, "status") != string(step.to) || attrS(st, "by_status_pk") != step.want || attrN(st, "ttl") != "1766671388" {
			t.Errorf("state item %d = %v", i+1, st)
		}
		if step.want != "" && attrS(st, "received_sk") != "2025-11-25T14:03:07.000000005Z" {
			t.Errorf("state item %d received_sk = %v", i+1, st["received_sk"])
		}
		if again := getItem(t, client, table, "EVT#"+ev.ID, "EVT"); !reflect.DeepEqual(again, item) {
			t.Errorf("event item changed by a Transition")
		}
	}
	if got, err := s.Get(ctx, ev.ID); err != nil || got.Status != store.StatusDelivered || got.Version != 2 {
		t.Errorf("Get after two transitions = %v %d, %v", got.Status, got.Version, err)
	}
	// The queued state item stays in by_status (until its TTL); the lists
	// check the event's latest state.
	if list, err := s.ListByStatus(ctx, store.StatusQueued, at.Add(time.Hour), 10); err != nil || len(list) != 0 {
		t.Errorf("ListByStatus(queued) after delivery = %d events, %v", len(list), err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestLargeEvents(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC()

	// A full, incompressible body and a large but compressible Normalized:
	// over 400 KB as is, stored with Normalized gzipped.
	big := storetest.NewEvent("tomba", "sha256:big", at)
	big.Raw = randomBytes(storetest.MaxBody)
	big.Normalized = bytes.Repeat([]byte(`{"kind":"note","action":"created","note":{"body":"lorem ipsum dolor"}},`), 3000)
	if res, err := s.Put(ctx, big, at.Add(time.Hour)); err != nil || res.Duplicate {
		t.Fatalf("Put(big) = %+v, %v", res, err)
	}
	got, err := s.Get(ctx, big.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.EqualEvents(got, big); d != "" {
		t.Fatal(d)
	}
	item := getItem(t, client, table, "EVT#"+big.ID, "EVT")
	if _, ok := item["body"]; !ok || item["raw"] != nil || item["raw_gz"] != nil {
		t.Errorf("big event: attributes %v; want raw and normalized deflated into body", keys(item))
	}
	lst, err := s.ListByProvider(ctx, "tomba", at.Add(-time.Second), at.Add(time.Second), 10)
	if err != nil || len(lst) != 1 || !bytes.Equal(lst[0].Normalized, big.Normalized) {
		t.Fatalf("ListByProvider = %d events, %v", len(lst), err)
	}

	// Incompressible Raw and Normalized, together over 400 KB even gzipped
	// (what an incompressible body copied into the canonical record gives):
	// Normalized goes to part items, and the event comes back whole.
	huge := storetest.NewEvent("leadron", "evt_huge", at)
	huge.Raw = randomBytes(storetest.MaxBody)
	huge.Normalized = randomBytes(600 << 10) // two parts
	if res, err := s.Put(ctx, huge, at.Add(time.Hour)); err != nil || res.Duplicate {
		t.Fatalf("Put(huge) = %+v, %v", res, err)
	}
	item = getItem(t, client, table, "EVT#"+huge.ID, "EVT")
	if attrN(item, "normalized_parts") != "2" || item["normalized"] != nil || item["normalized_gz"] != nil || item["raw"] == nil {
		t.Errorf("huge event item attributes %v, normalized_parts %s; want raw here, normalized in 2 parts", keys(item), attrN(item, "normalized_parts"))
	}
	part := getItem(t, client, table, "EVT#"+huge.ID, "NRM#001")
	if attrN(part, "ttl") != attrN(item, "ttl") || part["data"] == nil {
		t.Errorf("part item = %v", keys(part))
	}
	got, err = s.Get(ctx, huge.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.EqualEvents(got, huge); d != "" {
		t.Fatal(d)
	}
	lst, err = s.ListByProvider(ctx, "leadron", at.Add(-time.Second), at.Add(time.Second), 10)
	if err != nil || len(lst) != 1 || storetest.EqualEvents(lst[0], huge) != "" {
		t.Fatalf("ListByProvider(leadron) = %d events, %v", len(lst), err)
	}
	// Its state saves as for any event (the reserve is on the event item).
	ds := storetest.NewDeliveries(at, "crm", "lake")
	if ok, err := s.SaveDeliveries(ctx, huge.ID, 0, ds, store.StatusDelivered); err != nil || !ok {
		t.Fatalf("SaveDeliveries(huge) = %v, %v", ok, err)
	}
	if got, err := s.Get(ctx, huge.ID); err != nil || !bytes.Equal(got.Normalized, huge.Normalized) || len(got.Deliveries) != 2 {
		t.Fatalf("Get after SaveDeliveries: %d bytes normalized, %d deliveries, %v", len(got.Normalized), len(got.Deliveries), err)
	}
	if res, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_huge", at), at.Add(time.Hour)); err != nil || !res.Duplicate || res.ID != huge.ID {
		t.Fatalf("redelivery of huge = %+v, %v; want its duplicate", res, err)
	}

	// A Raw over MaxBodyBytes, incompressible: refused before anything is
	// written (the config keeps ingest's limit under it).
	over := storetest.NewEvent("tomba", "sha256:over", at)
	over.Raw = randomBytes(dynamo.MaxBodyBytes + 16<<10) // beyond the fixed reserve too
	over.Normalized = nil
	_, err = s.Put(ctx, over, at.Add(time.Hour))
	if !errors.Is(err, dynamo.ErrTooLarge) || !errors.Is(err, store.ErrTooLarge) || !errors.Is(err, store.ErrInvalid) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put(over) = %v, want ErrTooLarge", err)
	}
	if _, err := s.Get(ctx, over.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(over) = %v, want ErrNotFound", err)
	}
	small := storetest.NewEvent("tomba", "sha256:over", at)
	if res, err := s.Put(ctx, small, at.Add(time.Hour)); err != nil || res.Duplicate {
		t.Fatalf("Put after refusal = %+v, %v; want new", res, err)
	}
}

// TestWorstCaseItemFits stores the biggest event the limits allow: a Raw of
// MaxBodyBytes, incompressible; every small field at its store bound; Meta
// at MaxMetaBytes; and a Normalized six times the body (JSON escapes a
// character into at most six), incompressible. Then the biggest delivery
// state on top. This is what makes MaxBodyBytes a limit the config can
// check a body limit against.
func TestWorstCaseItemFits(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC()
	long := func(n int) string { return strings.Repeat("é", n/2) } // 2 bytes each
	ev := storetest.NewEvent(strings.Repeat("p", store.MaxProviderLen), strings.Repeat("k", store.MaxIdempotencyKeyLen), at)
	ev.ID = strings.Repeat("I", store.MaxIDLen)
	ev.Type, ev.EntityID, ev.Tenant = long(store.MaxFieldLen), long(store.MaxFieldLen), long(store.MaxFieldLen)
	ev.Meta = map[string]string{}
	for i := 0; store.MetaSize(ev.Meta) < store.MaxMetaBytes-200; i++ {
		ev.Meta[fmt.Sprintf("k%03d", i)] = strings.Repeat("<", 16) // escaped to 96 bytes
	}
	if err := ev.Validate(); err != nil {
		t.Fatalf("worst-case event invalid: %v", err)
	}
	ev.Raw = randomBytes(dynamo.MaxBodyBytes)
	ev.Normalized = randomBytes(6 * storetest.MaxBody)
	if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
		t.Fatalf("Put(worst case) = %v", err)
	}
	ds := make([]store.Delivery, 0, store.MaxDeliveries)
	for i := range store.MaxDeliveries {
		ds = append(ds, store.Delivery{Destination: fmt.Sprintf("%0*d", store.MaxDestinationLen, i), Attempts: 99,
			LastStatusCode: 503, LastClass: strings.Repeat("c", store.MaxClassLen), LastAttemptAt: at, NextAttemptAt: at})
	}
	for len(ds) > 0 {
		if _, err := store.MarshalDeliveries(ds); err == nil {
			break
		}
		ds = ds[:len(ds)-1]
	}
	if ok, err := s.SaveDeliveries(ctx, ev.ID, 0, ds, store.StatusQueued); err != nil || !ok {
		t.Fatalf("SaveDeliveries(%d deliveries on the worst case) = %v, %v", len(ds), ok, err)
	}
	got, err := s.Get(ctx, ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	ev.Version, ev.Deliveries, ev.Status, ev.UpdatedAt = 1, ds, store.StatusQueued, got.UpdatedAt
	if d := storetest.EqualEvents(got, ev); d != "" {
		t.Fatal(d)
	}
}

// TestTTLLag: DynamoDB's TTL deletes expired items late (days, on a busy
// table), and DynamoDB Local not at all. A key or credential item whose
// expires_at has passed but that is still in the table counts as absent:
// the next delivery claims it again.
func TestTTLLag(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	now := time.Now().UTC()
	put := func(item map[string]types.AttributeValue) {
		t.Helper()
		if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	expired := now.Add(-time.Hour)
	n := func(v int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }
	sv := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	// Left behind by an event whose window ended an hour ago (and by a
	// token that expired then), not yet deleted by TTL.
	put(map[string]types.AttributeValue{"pk": sv("KEY#tomba#sha256:lagging"), "sk": sv("KEY"), "event_id": sv("01OLD"),
		"expires_at": n(expired.UnixNano()), "ttl": n(expired.Unix())})
	put(map[string]types.AttributeValue{"pk": sv("CRD#journeybee#tok"), "sk": sv("CRD"), "event_id": sv("01OLD"),
		"idem_key": sv("jb:a"), "expires_at": n(expired.UnixNano()), "ttl": n(expired.Unix())})

	ev := storetest.NewEvent("tomba", "sha256:lagging", now)
	if res, err := s.Put(ctx, ev, now.Add(24*time.Hour)); err != nil || res.Duplicate || res.ID != ev.ID {
		t.Fatalf("Put over a lagging key item = %+v, %v; want new", res, err)
	}
	if key := getItem(t, client, table, "KEY#tomba#sha256:lagging", "KEY"); attrS(key, "event_id") != ev.ID {
		t.Errorf("key item names %q, want the new event %s", attrS(key, "event_id"), ev.ID)
	}
	jb := storetest.NewEvent("journeybee", "jb:b", now)
	jb.Credential = store.Credential{ID: "tok", ExpiresAt: now.Add(time.Hour)}
	if res, err := s.Put(ctx, jb, now.Add(24*time.Hour)); err != nil || res.Duplicate {
		t.Fatalf("Put over a lagging credential item = %+v, %v; want new", res, err)
	}
	if cred := getItem(t, client, table, "CRD#journeybee#tok", "CRD"); attrS(cred, "idem_key") != "jb:b" || attrS(cred, "event_id") != jb.ID {
		t.Errorf("credential item = %v", cred)
	}
}

func keys(item map[string]types.AttributeValue) []string {
	var out []string
	for k := range item {
		out = append(out, k)
	}
	return out
}

// closedEndpoint returns the URL of a local port nothing listens on.
func closedEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// TestUnreachableIsUnavailable needs no DynamoDB: it points a client at a
// closed port, with retries off and a short timeout.
func TestUnreachableIsUnavailable(t *testing.T) {
	client := storetest.NewDynamoClient(closedEndpoint(t), func(o *dynamodb.Options) {
		o.Retryer = aws.NopRetryer{}
		o.HTTPClient = &http.Client{Timeout: 2 * time.Second}
	})
	s := dynamo.New(client, "events")
	ctx := t.Context()
	ev := storetest.NewEvent("leadron", "evt_down", time.Now().UTC())
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s: %v, want ErrUnavailable", op, err)
		}
	}
	_, err := s.Put(ctx, ev, time.Now().Add(time.Hour))
	check("Put", err)
	_, err = s.Get(ctx, ev.ID)
	check("Get", err)
	_, err = s.Transition(ctx, ev.ID, store.StatusReceived, store.StatusQueued)
	check("Transition", err)
	_, err = s.ListByStatus(ctx, store.StatusReceived, time.Now(), 10)
	check("ListByStatus", err)
	_, err = s.ListByProvider(ctx, "leadron", time.Now().Add(-time.Hour), time.Now(), 10)
	check("ListByProvider", err)
	check("CreateTable", dynamo.CreateTable(ctx, client, "events"))
}

func TestMissingTableIsUnavailable(t *testing.T) {
	s := dynamo.New(storetest.DynamoClient(t), "hookline-test-missing-"+ulid.Make().String())
	ctx := t.Context()
	_, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_no_table", time.Now().UTC()), time.Now().Add(time.Hour))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Put: %v, want ErrUnavailable", err)
	}
	if _, err := s.Get(ctx, ulid.Make().String()); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Get: %v, want ErrUnavailable", err)
	}
}

func TestCanceledContextIsUnavailable(t *testing.T) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_cancel", time.Now().UTC()), time.Now().Add(time.Hour))
	if !errors.Is(err, store.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Put: %v, want ErrUnavailable and context.Canceled", err)
	}
}

func BenchmarkPut(b *testing.B) {
	storetest.BenchPut(b, newStore(b))
}

func BenchmarkPutParallel50(b *testing.B) {
	storetest.BenchPutParallel(b, newStore(b), 50)
}

func BenchmarkIngestParallel50(b *testing.B) {
	storetest.BenchIngestParallel(b, newStore(b), 50)
}

func BenchmarkPutDuplicate(b *testing.B) {
	s := newStore(b)
	at := time.Now().UTC()
	if _, err := s.Put(b.Context(), storetest.NewEvent("leadron", "evt_dup_bench", at), at.Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := s.Put(b.Context(), storetest.NewEvent("leadron", "evt_dup_bench", at), at.Add(time.Hour))
		if err != nil || !res.Duplicate {
			b.Fatalf("Put = %+v, %v", res, err)
		}
	}
}

// TestListByStatusSkipsStaleIndex simulates the by_status index lagging
// behind the table (it is eventually consistent on AWS): an event whose item
// says queued while the index still files it under received is not listed as
// received.
func TestListByStatusSkipsStaleIndex(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC().Add(-time.Hour)
	stale := storetest.NewEvent("leadron", "evt_stale", at)
	fresh := storetest.NewEvent("leadron", "evt_fresh", at.Add(time.Second))
	for _, ev := range []store.Event{stale, fresh} {
		if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// A state item written directly: stale has left received, which the
	// by_provider index (written once, at Put) does not show.
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &table,
		Item: map[string]types.AttributeValue{
			"pk":     &types.AttributeValueMemberS{Value: "EVT#" + stale.ID},
			"sk":     &types.AttributeValueMemberS{Value: "ATT#v0000000001"},
			"status": &types.AttributeValueMemberS{Value: "queued"},
		},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ListByStatus(ctx, store.StatusReceived, time.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ev := range got {
		ids = append(ids, ev.ID)
	}
	if len(ids) != 1 || ids[0] != fresh.ID {
		t.Fatalf("ListByStatus(received) = %v, want only %s", ids, fresh.ID)
	}
}

// TestDeliveriesLayout checks the state items SaveDeliveries writes, and
// an event item of the layout before them (status, version and deliveries
// in the event item), which Get reads and SaveDeliveries continues.
func TestDeliveriesLayout(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC()
	ev := storetest.NewEvent("leadron", "evt_deliveries_layout", at)
	if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ds := storetest.NewDeliveries(at, "crm", "log")
	if ok, err := s.SaveDeliveries(ctx, ev.ID, 1, ds, ""); ok || err != nil {
		t.Fatalf("SaveDeliveries(v1) of a new event = %v, %v; want false", ok, err)
	}
	if ok, err := s.SaveDeliveries(ctx, ev.ID, 0, ds, store.StatusDelivered); !ok || err != nil {
		t.Fatalf("SaveDeliveries(v0) = %v, %v; want true", ok, err)
	}
	st := getItem(t, client, table, "EVT#"+ev.ID, "ATT#v0000000001")
	if !strings.HasPrefix(attrS(st, "deliveries"), `[{"destination":"crm"`) || attrS(st, "status") != "delivered" || st["by_status_pk"] != nil {
		t.Fatalf("state item 1 = %v", st)
	}
	if ok, err := s.SaveDeliveries(ctx, ev.ID, 1, nil, ""); !ok || err != nil {
		t.Fatalf("SaveDeliveries(v1, none) = %v, %v", ok, err)
	}
	if st = getItem(t, client, table, "EVT#"+ev.ID, "ATT#v0000000002"); st["deliveries"] != nil || attrS(st, "status") != "delivered" {
		t.Fatalf("state item 2 = %v; want no deliveries, status kept", st)
	}

	// An event item of the earlier layout, at version 3 with its deliveries.
	old := storetest.NewEvent("leadron", "evt_old_layout", at)
	b, err := store.MarshalDeliveries(ds)
	if err != nil {
		t.Fatal(err)
	}
	s2 := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue { return &types.AttributeValueMemberN{Value: fmt.Sprint(v)} }
	if _, err := client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: map[string]types.AttributeValue{
		"pk": s2("EVT#" + old.ID), "sk": s2("EVT"), "id": s2(old.ID), "provider": s2("leadron"), "type": s2(old.Type),
		"idem_key": s2(old.IdempotencyKey), "status": s2("failed"), "received_at": n(at.UnixNano()),
		"updated_at": n(at.UnixNano()), "raw": &types.AttributeValueMemberB{Value: old.Raw}, "version": n(3),
		"deliveries": s2(string(b)), "by_provider_pk": s2("leadron#00"), "received_sk": s2(at.Format("2006-01-02T15:04:05.000000000Z") + "#" + old.ID),
	}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, old.ID)
	if err != nil || got.Version != 3 || got.Status != store.StatusFailed || len(got.Deliveries) != 2 || !bytes.Equal(got.Raw, old.Raw) {
		t.Fatalf("Get(old layout) = %+v, %v", got, err)
	}
	if ok, err := s.SaveDeliveries(ctx, old.ID, 3, nil, store.StatusQueued); !ok || err != nil {
		t.Fatalf("SaveDeliveries(v3) of an old item = %v, %v", ok, err)
	}
	if got, err = s.Get(ctx, old.ID); err != nil || got.Version != 4 || got.Status != store.StatusQueued || got.Deliveries != nil {
		t.Fatalf("Get(old layout) after a save = %+v, %v", got, err)
	}
	// Listed by provider in order with the new layout's events.
	list, err := s.ListByProvider(ctx, "leadron", at, at.Add(time.Second), 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListByProvider = %d events, %v", len(list), err)
	}
	if first, second := list[0].ID, list[1].ID; !(first < second) {
		t.Errorf("ListByProvider of two events at the same time: %s before %s, want id order", first, second)
	}
}

// TestPutRepairsAMissingEvent: Put claims the key, then writes the event
// item. A Put that stopped in between answered an error, so the provider
// retries: the retry finds the claim without its event and stores itself
// under the claimed id (once the claim is older than a Put can take), so
// the retry's 2xx is never for an event that is not stored.
func TestPutRepairsAMissingEvent(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC()
	drop := func(id string) {
		t.Helper()
		if _, err := client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &table, Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "EVT#" + id}, "sk": &types.AttributeValueMemberS{Value: "EVT"}}}); err != nil {
			t.Fatal(err)
		}
	}
	first := storetest.NewEvent("leadron", "evt_half_put", at)
	if _, err := s.Put(ctx, first, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	drop(first.ID) // as if the Put had stopped after its claim

	// A retry a moment later: the first Put may still be writing.
	soon := storetest.NewEvent("leadron", "evt_half_put", at.Add(time.Second))
	if res, err := s.Put(ctx, soon, at.Add(time.Hour)); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("retry 1 s after a claim without event = %+v, %v; want ErrUnavailable", res, err)
	}
	wantMissing := func(id string) {
		t.Helper()
		if _, err := s.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Get(%s) = %v, want ErrNotFound", id, err)
		}
	}
	wantMissing(first.ID)
	wantMissing(soon.ID)

	// A minute later: the retry is stored under the claimed id.
	later := storetest.NewEvent("leadron", "evt_half_put", at.Add(time.Minute))
	res, err := s.Put(ctx, later, at.Add(time.Hour))
	if err != nil || res != (store.PutResult{Duplicate: true, ID: first.ID, Status: store.StatusReceived}) {
		t.Fatalf("retry after a minute = %+v, %v; want a received duplicate of %s", res, err, first.ID)
	}
	got, err := s.Get(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := later
	want.ID = first.ID
	if d := storetest.EqualEvents(got, want); d != "" {
		t.Fatalf("repaired event: %s", d)
	}
	wantMissing(later.ID)
	// Once stored, a redelivery is a plain duplicate.
	if res, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_half_put", at.Add(2*time.Minute)), at.Add(time.Hour)); err != nil || res.ID != first.ID || !res.Duplicate {
		t.Fatalf("redelivery after repair = %+v, %v", res, err)
	}

	// An event gone after its retention is not brought back: the duplicate
	// says so with an empty status.
	old := storetest.NewEvent("tomba", "sha256:retained", at)
	old.ExpiresAt = at.Add(time.Minute)
	if _, err := s.Put(ctx, old, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	drop(old.ID)
	res, err = s.Put(ctx, storetest.NewEvent("tomba", "sha256:retained", at.Add(2*time.Minute)), at.Add(time.Hour))
	if err != nil || res != (store.PutResult{Duplicate: true, ID: old.ID}) {
		t.Fatalf("duplicate of an event past its retention = %+v, %v; want an empty status", res, err)
	}
	wantMissing(old.ID)
}
