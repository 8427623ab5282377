package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

func TestAttemptsContract(t *testing.T) {
	storetest.DynamoEndpoint(t) // skip (or fail) once, not per case
	storetest.RunAttempts(t, func(t *testing.T) storetest.AttemptStore { return newStore(t) })
}

// An attempt item expires with its event (ttl), stays out of both indexes,
// and never shows in a list.
func TestAttemptItem(t *testing.T) {
	client, table := newTable(t)
	s := dynamo.New(client, table)
	ctx := t.Context()
	at := time.Now().UTC()
	ev := storetest.NewEvent("leadron", "evt_att_item", at)
	if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(ctx, storetest.NewAttempt(ev, "crm", 1, at)); err != nil {
		t.Fatal(err)
	}
	out, err := client.Query(ctx, &dynamodb.QueryInput{
		TableName:              &table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :att)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "EVT#" + ev.ID}, ":att": &types.AttributeValueMemberS{Value: "ATT#"},
		},
	})
	if err != nil || len(out.Items) != 1 {
		t.Fatalf("attempt items = %v, %v", out, err)
	}
	item := out.Items[0]
	ttl, _ := item["ttl"].(*types.AttributeValueMemberN)
	if want := fmt.Sprint(ev.ExpiresAt.Unix() + 1); ttl == nil || ttl.Value != want {
		t.Errorf("ttl = %v, want %s (ExpiresAt %v rounded up)", item["ttl"], want, ev.ExpiresAt)
	}
	for _, a := range []string{"by_status_pk", "by_provider_pk", "received_sk"} {
		if _, ok := item[a]; ok {
			t.Errorf("attempt item has index attribute %s", a)
		}
	}
	evs, err := s.ListByProvider(ctx, "leadron", at.Add(-time.Minute), at.Add(time.Minute), 10)
	if err != nil || len(evs) != 1 || evs[0].ID != ev.ID {
		t.Fatalf("ListByProvider = %v, %v", evs, err)
	}
	got, err := s.Get(ctx, ev.ID)
	if err != nil || got.ID != ev.ID {
		t.Fatalf("Get = %v, %v", got, err)
	}
}
