package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
)

// replay, events and redrive with --aws, against DynamoDB Local and moto.
func TestOpsOnAWS(t *testing.T) {
	ddb, moto := storetest.DynamoEndpoint(t), queuetest.MotoEndpoint(t)
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": moto, "AWS_ENDPOINT_URL_DYNAMODB": ddb, "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	table := "hookline-ops-" + strings.ToLower(queuetest.EventID())
	client := storetest.NewDynamoClient(ddb)
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	sqsClient := queuetest.SQSClient(t)
	url, dlq := queuetest.NewSQSQueue(t, sqsClient, true)
	t.Setenv(awsenv.EnvTable, table)
	t.Setenv(awsenv.EnvQueueURL, url)

	st := dynamo.New(client, table)
	ev := storetest.NewEvent("tomba", "tomba:ops-test", time.Now().Add(-time.Hour))
	if _, err := st.Put(ctx, ev, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.SaveDeliveries(ctx, ev.ID, 0, []store.Delivery{{Destination: "crm", Attempts: 1, DeliveredAt: time.Now()}}, store.StatusDelivered); !ok || err != nil {
		t.Fatalf("seed delivery state: %v %v", ok, err)
	}

	var out bytes.Buffer
	if err := eventsCmd(ctx, []string{"--aws", "--provider", "tomba", "--since", "2h"}, &out); err != nil || !strings.Contains(out.String(), ev.ID) {
		t.Fatalf("events --aws: %v\n%s", err, out.String())
	}
	if err := replay(ctx, []string{"--aws", "--id", ev.ID}, &out); err != nil {
		t.Fatal(err)
	}
	got, _ := st.Get(ctx, ev.ID)
	if got.Status != store.StatusQueued || len(got.Deliveries) != 0 {
		t.Fatalf("after replay: %s %+v", got.Status, got.Deliveries)
	}
	q := sqsq.New(sqsClient, url)
	msgs, err := q.Receive(ctx, 10, 30*time.Second)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != ev.ID {
		t.Fatalf("queue after replay: %+v %v", msgs, err)
	}

	// A message in the DLQ comes back with redrive.
	if err := sqsq.New(sqsClient, dlq).Enqueue(ctx, "01OPSDLQ000000000000000000", "tomba.save_lead"); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := redrive(ctx, []string{"--aws", "--dlq-url", dlq}, &out); err != nil || !strings.Contains(out.String(), "redrove 1") {
		t.Fatalf("redrive --aws: %v %q", err, out.String())
	}
}
