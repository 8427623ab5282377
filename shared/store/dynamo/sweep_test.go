package dynamo

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

// TestListReceivedInRounds: with two keys per shard and round, the received
// list still finds every event still received, oldest first, across rounds
// and providers, skips those with a state item, and moves the checkpoint
// only up to the oldest one still received; a later list starts there.
func TestListReceivedInRounds(t *testing.T) {
	defer func(n, r int) { scanPage, scanRounds = n, r }(scanPage, scanRounds)
	scanPage, scanRounds = 2, 100 // each round takes at least one key
	client := storetest.DynamoClient(t)
	table := "hookline-test-" + ulid.Make().String()
	ctx := t.Context()
	if err := CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	s := New(client, table)

	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var evs []store.Event
	for i := range 40 {
		ev := storetest.NewEvent(Providers[i%len(Providers)], fmt.Sprintf("evt_round_%02d", i), at.Add(time.Duration(i)*time.Second))
		if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	// Every event but 7, 23 and 38 leaves received.
	var want []string
	for i, ev := range evs {
		if i == 7 || i == 23 || i == 38 {
			want = append(want, ev.ID)
			continue
		}
		if ok, err := s.Transition(ctx, ev.ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
			t.Fatalf("Transition: %v, %v", ok, err)
		}
	}
	// Two keys per shard: 40 events over 48 shards put more in one, so
	// the first round stops short and the list takes several.
	if _, horizon, err := s.scanProvider(ctx, time.Time{}, at.Add(time.Hour)); err != nil || !horizon.Before(at.Add(time.Hour)) {
		t.Fatalf("first round up to %v, %v: not cut, the test shows nothing", horizon, err)
	}
	ids := func(l []store.Event) []string {
		var out []string
		for _, ev := range l {
			out = append(out, ev.ID)
		}
		return out
	}
	got, err := s.ListByStatus(ctx, store.StatusReceived, at.Add(time.Hour), 10)
	if err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(want) {
		t.Fatalf("ListByStatus(received) = %v, %v; want %v", ids(got), err, want)
	}
	from, err := s.sweepFrom(ctx)
	if err != nil || !from.Equal(evs[7].ReceivedAt) {
		t.Fatalf("checkpoint %v, %v; want %v (the oldest still received)", from, err, evs[7].ReceivedAt)
	}
	// The first two: the limit holds.
	if got, err = s.ListByStatus(ctx, store.StatusReceived, at.Add(time.Hour), 2); err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(want[:2]) {
		t.Fatalf("ListByStatus(received, 2) = %v, %v", ids(got), err)
	}
	// Once 7 leaves received, the checkpoint moves on to 23.
	if ok, err := s.Transition(ctx, evs[7].ID, store.StatusReceived, store.StatusQueued); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if got, err = s.ListByStatus(ctx, store.StatusReceived, at.Add(time.Hour), 10); err != nil || fmt.Sprint(ids(got)) != fmt.Sprint(want[1:]) {
		t.Fatalf("ListByStatus(received) after 7 = %v, %v", ids(got), err)
	}
	if from, err = s.sweepFrom(ctx); err != nil || !from.Equal(evs[23].ReceivedAt) {
		t.Fatalf("checkpoint %v, %v; want %v", from, err, evs[23].ReceivedAt)
	}
}
