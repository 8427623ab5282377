package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// meter asks DynamoDB (Local) for the consumed capacity of every call and
// keeps it per operation, table and indexes together.
type meter struct {
	mu    sync.Mutex
	calls []string
	write float64
	read  float64
}

func (m *meter) add(op string, cs ...types.ConsumedCapacity) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range cs {
		w, r := aws.ToFloat64(c.WriteCapacityUnits), aws.ToFloat64(c.ReadCapacityUnits)
		if w == 0 && r == 0 { // some answers only give the total
			if op == "GetItem" || op == "Query" || op == "BatchGetItem" {
				r = aws.ToFloat64(c.CapacityUnits)
			} else {
				w = aws.ToFloat64(c.CapacityUnits)
			}
		}
		m.write += w
		m.read += r
		m.calls = append(m.calls, fmt.Sprintf("%s %gW %gR", op, w, r))
	}
}

func (m *meter) reset() (calls []string, write, read float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	calls, write, read = m.calls, m.write, m.read
	m.calls, m.write, m.read = nil, 0, 0
	return calls, write, read
}

func (m *meter) middleware(st *middleware.Stack) error {
	total := types.ReturnConsumedCapacityTotal
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("meter", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		switch v := in.Parameters.(type) {
		case *dynamodb.PutItemInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.UpdateItemInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.DeleteItemInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.GetItemInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.QueryInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.BatchGetItemInput:
			v.ReturnConsumedCapacity = total
		case *dynamodb.TransactWriteItemsInput:
			v.ReturnConsumedCapacity = total
		}
		out, md, err := next.HandleInitialize(ctx, in)
		switch r := out.Result.(type) {
		case *dynamodb.PutItemOutput:
			m.add("PutItem", deref(r.ConsumedCapacity)...)
		case *dynamodb.UpdateItemOutput:
			m.add("UpdateItem", deref(r.ConsumedCapacity)...)
		case *dynamodb.DeleteItemOutput:
			m.add("DeleteItem", deref(r.ConsumedCapacity)...)
		case *dynamodb.GetItemOutput:
			m.add("GetItem", deref(r.ConsumedCapacity)...)
		case *dynamodb.QueryOutput:
			m.add("Query", deref(r.ConsumedCapacity)...)
		case *dynamodb.BatchGetItemOutput:
			m.add("BatchGetItem", r.ConsumedCapacity...)
		case *dynamodb.TransactWriteItemsOutput:
			m.add("TransactWriteItems", r.ConsumedCapacity...)
		}
		return out, md, err
	}), middleware.After)
}

func deref(c *types.ConsumedCapacity) []types.ConsumedCapacity {
	if c == nil {
		return nil
	}
	return []types.ConsumedCapacity{*c}
}

// TestWriteUnitsPerEvent meters, on DynamoDB Local with
// ReturnConsumedCapacity, the store calls one event costs on the AWS path
// (ingest's Put: key claim, event item, its by_provider entry; the
// processor's Get and SaveState of one delivered destination with its
// attempt: one state item) for the samples the cost meter uses, and holds the budget the
// README's Storage section states.
func TestWriteUnitsPerEvent(t *testing.T) {
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

	sec := samples.NewSecrets()
	jb, err := journeybee.New([]string{sec.JourneyBee})
	if err != nil {
		t.Fatal(err)
	}
	lr, err := leadron.New([]string{sec.Leadron})
	if err != nil {
		t.Fatal(err)
	}
	type verifier interface {
		Verify([]byte, http.Header) (provider.Delivery, error)
	}
	for _, c := range []struct {
		prov, event string
		v           verifier
		put, proc   float64 // write units budget
	}{
		{"journeybee", "lead_created", jb, 3, 1},
		{"leadron", "lead.created", lr, 3, 1},
	} {
		body, err := samples.Body(c.prov, c.event)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		h, err := samples.Headers(c.prov, c.event, body, sec, samples.DefaultToken(now))
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.v.Verify(body, h)
		if err != nil {
			t.Fatal(err)
		}
		norm, err := json.Marshal(d.Normalized)
		if err != nil {
			t.Fatal(err)
		}
		ev := store.Event{ID: ulid.Make().String(), Provider: d.Provider, Type: d.Type, IdempotencyKey: d.IdempotencyKey,
			EntityID: d.EntityID, Tenant: d.Tenant, ReceivedAt: now, OccurredAt: d.OccurredAt, Raw: body, Meta: d.Meta,
			Normalized: norm, UpdatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
		m.reset()
		if res, err := s.Put(ctx, ev, now.Add(7*24*time.Hour)); err != nil || res.Duplicate {
			t.Fatalf("%s: Put = %+v, %v", c.prov, res, err)
		}
		putCalls, putW, putR := m.reset()
		got, err := s.Get(ctx, ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC()
		ds := []store.Delivery{{Destination: "crm", Attempts: 1, LastStatusCode: 200, LastAttemptAt: at, DeliveredAt: at}}
		att := []store.Attempt{{EventID: ev.ID, Destination: "crm", Number: 1, At: at, Outcome: "delivered",
			StatusCode: 204, Duration: 12 * time.Millisecond, ExpiresAt: ev.ExpiresAt}}
		if ok, err := s.SaveState(ctx, got, ds, store.StatusDelivered, att); err != nil || !ok {
			t.Fatalf("%s: SaveState = %v, %v", c.prov, ok, err)
		}
		procCalls, procW, procR := m.reset()
		t.Logf("%s %s (%d-byte body): ingest %v = %g WRU %g RRU; processor %v = %g WRU %g RRU",
			c.prov, c.event, len(body), putCalls, putW, putR, procCalls, procW, procR)
		if putW > c.put || procW > c.proc || procR > 1 {
			t.Errorf("%s: %g + %g WRU, %g RRU; budget %g + %g WRU, 1 RRU", c.prov, putW, procW, procR, c.put, c.proc)
		}
		if putW == 0 || procW == 0 {
			t.Errorf("%s: no capacity reported (%g, %g): the meter is broken", c.prov, putW, procW)
		}
	}
}
