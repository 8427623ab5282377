package dynamo_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// TestConsoleReadUnits meters, on DynamoDB Local with
// ReturnConsumedCapacity, what the console's reads cost over 300 events
// with a real sample body, each delivered by the processor (one state item
// with its attempt), and holds the figures the README states: an
// unfiltered first page of 50 and a provider's page well under 100 read
// units, a rare filter stopped by the walk bound, the stats of an hour.
func TestConsoleReadUnits(t *testing.T) {
	m := &meter{}
	client := storetest.NewDynamoClient(storetest.DynamoEndpoint(t), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, m.middleware)
	})
	table := "hookline-test-" + ulid.Make().String()
	ctx := t.Context()
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &table}) })
	s := dynamo.New(client, table)
	c := dynamo.NewConsole(s, []string{"journeybee", "leadron", "tomba"})
	body, err := samples.Body("journeybee", "lead_created")
	if err != nil {
		t.Fatal(err)
	}
	base := time.Now().UTC().Add(-30 * time.Minute)
	for i := range 300 {
		p := []string{"journeybee", "leadron", "tomba"}[i%3]
		ev := storetest.NewEvent(p, fmt.Sprintf("cost-%03d", i), base.Add(time.Duration(i)*time.Second))
		ev.Raw = body
		if _, err := s.Put(ctx, ev, base.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// The processor's save: one state item with the delivery and the
		// attempt that made it.
		a := store.Attempt{EventID: ev.ID, Destination: "crm", Number: 1, At: ev.ReceivedAt,
			Outcome: "delivered", StatusCode: 200, Duration: time.Millisecond, Response: `{"ok":true}`}
		ds := []store.Delivery{{Destination: "crm", Attempts: 1, LastStatusCode: 200, LastAttemptAt: a.At, DeliveredAt: a.At}}
		if ok, err := s.SaveState(ctx, ev, ds, store.StatusDelivered, []store.Attempt{a}); !ok || err != nil {
			t.Fatal(ok, err)
		}
	}
	dynamo.SetMaxExamined(t, 200) // the rare filter's walk, smaller than the table
	for _, q := range []struct {
		name   string
		run    func() error
		budget float64
	}{
		{"first page of 50, all providers", func() error {
			_, err := c.ListEvents(ctx, store.EventQuery{Limit: 50})
			return err
		}, 60},
		{"first page of 50, one provider", func() error {
			_, err := c.ListEvents(ctx, store.EventQuery{Provider: "leadron", Limit: 50})
			return err
		}, 60},
		{"a type glob nothing matches (walk bound 200)", func() error {
			p, err := c.ListEvents(ctx, store.EventQuery{TypeGlob: "*.deal.*", Limit: 50})
			if err == nil && p.Next == "" {
				err = fmt.Errorf("the bounded walk gave no cursor")
			}
			return err
		}, 150},
		{"event id", func() error {
			_, err := c.ListEvents(ctx, store.EventQuery{Text: "01NOSUCHID0000000000000000", Limit: 50})
			return err
		}, 400},
		{"stats, 1h (300 events, 300 attempts)", func() error {
			_, err := c.Stats(ctx, time.Now().Add(-time.Hour))
			return err
		}, 400},
	} {
		m.reset()
		if err := q.run(); err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		calls, _, read := m.reset()
		t.Logf("%s: %g RRU in %d calls", q.name, read, len(calls))
		if read == 0 || read > q.budget {
			t.Errorf("%s: %g RRU, budget %g", q.name, read, q.budget)
		}
	}
}
