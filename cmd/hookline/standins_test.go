package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/wire"
)

// unsetenv unsets k for the test (t.Setenv restores it afterwards).
func unsetenv(t *testing.T, k string) {
	t.Setenv(k, "")
	os.Unsetenv(k)
}

// samEnvironment gives `hookline invoke` what sam passes a function itself
// besides the template's variables: this shell's credentials and --region.
func samEnvironment(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", localRegion)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	for _, k := range []string{"AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"} {
		unsetenv(t, k)
	}
}

// events/env.local.json is the file `sam local invoke --env-vars` reads,
// proven here without Docker: `hookline standins` sets up DynamoDB Local and
// moto, then every file of events/ runs through its function's real
// bootstrap with that file as --env-file and only its two endpoints
// replaced (the file names host.docker.internal, where sam's container
// finds the host). Every variable of the file must be one the template
// declares for the function, or sam would drop it.
//
// The stand-ins hold every provider sample under its stable id, so an
// ingest sample is a duplicate answered with that id (whatever ran before),
// and the processor samples deliver the events they name.
func TestEnvLocalOnEverySample(t *testing.T) {
	ddb := storetest.DynamoEndpoint(t)
	moto := queuetest.MotoEndpoint(t)
	samEnvironment(t)
	ctx := context.Background()
	tmpl := loadTemplate(t)
	envFile := filepath.Join("..", "..", "events", envLocalFile)

	fnOf := map[string]string{"processor": "ProcessorFunction", "sweeper": "SweeperFunction"}
	for _, prov := range wire.Providers {
		fnOf[prov] = routeFunction(t, tmpl, prov)
		if ingestFunction[prov] != fnOf[prov] {
			t.Fatalf("ingestFunction[%s] = %s; the template routes it to %s", prov, ingestFunction[prov], fnOf[prov])
		}
	}

	var out bytes.Buffer
	if err := standinsCmd(ctx, []string{"--dynamodb", ddb, "--moto", moto}, &out); err != nil {
		t.Fatalf("standins: %v", err)
	}
	st := dynamo.New(storetest.NewDynamoClient(ddb), localName)

	// An event stored but never queued, for the sweeper to find.
	received := time.Now().Add(-10 * time.Minute)
	stuck := store.Event{
		ID: ulid.MustNew(ulid.Timestamp(received), nil).String(), Provider: "leadron", Type: "leadron.lead.created",
		IdempotencyKey: "evt_stuck_" + queuetest.EventID(), ReceivedAt: received, Raw: []byte(`{"id":"evt_stuck"}`),
		UpdatedAt: received, ExpiresAt: received.Add(24 * time.Hour),
	}
	if _, err := st.Put(ctx, stuck, received.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	root := filepath.Join("..", "..", "events")
	total := 0
	err := filepath.WalkDir(root, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() == envLocalFile {
			return err
		}
		dir := filepath.Base(filepath.Dir(file))
		fn, ok := fnOf[dir]
		if !ok {
			t.Fatalf("%s: no function takes events/%s samples", file, dir)
		}
		res, err := invoke(t, "--bootstrap", hostBootstrap(t, fn), "--env-file", envFile,
			"--env", "AWS_ENDPOINT_URL="+moto, "--env", "AWS_ENDPOINT_URL_DYNAMODB="+ddb, fn, file)
		if err != nil || len(res.responses) != 1 || strings.Contains(res.out, "would not set") {
			t.Fatalf("%s: %v\n%s", file, err, res.out)
		}
		switch dir {
		case "processor":
			checkProcessed(t, st, file, res)
		case "sweeper":
			var answer struct{ Requeued int }
			if err := json.Unmarshal([]byte(res.responses[0]), &answer); err != nil || answer.Requeued < 1 {
				t.Fatalf("%s: %s\n%s", file, res.responses[0], res.out)
			}
			// Requeued means sent to the queue the file names, then marked queued.
			if ev, err := st.Get(ctx, stuck.ID); err != nil || ev.Status != store.StatusQueued {
				t.Fatalf("%s: the stuck event is %s, %v", file, ev.Status, err)
			}
		default:
			event := strings.TrimSuffix(filepath.Base(file), ".json")
			a := decodeAnswer(t, res.responses[0])
			if a.status != 200 || a.Status != "duplicate" || a.EventID != sampleEventID(dir, event) {
				t.Fatalf("%s: %+v, want a duplicate of %s\n%s", file, a, sampleEventID(dir, event), res.out)
			}
		}
		total++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := SampleEvents()
	if total == 0 || total != len(files)-1 {
		t.Fatalf("%d samples invoked, want every file of events/ but %s (%d)", total, envLocalFile, len(files)-1)
	}
}

// checkProcessed checks that the processor answered a batch with no
// failures and that every event it names is delivered to the log
// destination.
func checkProcessed(t *testing.T, st *dynamo.Store, file string, res invoked) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var in events.SQSEvent
	var answer events.SQSEventResponse
	if err := json.Unmarshal(data, &in); err != nil || len(in.Records) == 0 {
		t.Fatalf("%s: not an SQS event: %v", file, err)
	}
	if err := json.Unmarshal([]byte(res.responses[0]), &answer); err != nil || len(answer.BatchItemFailures) != 0 {
		t.Fatalf("%s: answer %s\n%s", file, res.responses[0], res.out)
	}
	for _, rec := range in.Records {
		m := sqsq.FromLambda(rec)
		ev, err := st.Get(context.Background(), m.EventID)
		if err != nil || ev.Status != store.StatusDelivered || len(ev.Deliveries) != 1 ||
			ev.Deliveries[0].Destination != "log" || !ev.Deliveries[0].Delivered() || ev.Type != m.Type {
			t.Fatalf("%s: event %s: %+v, %v\n%s", file, m.EventID, ev, err, res.out)
		}
	}
}

// standins stores every sample under its stable id, again without harm;
// a sample already stored under another id is reported, not papered over.
func TestSeedSamples(t *testing.T) {
	ddb := storetest.DynamoEndpoint(t)
	ctx := context.Background()
	client := storetest.NewDynamoClient(ddb)
	table := "hookline-seed-" + strings.ToLower(queuetest.EventID())
	if err := dynamo.CreateTable(ctx, client, table); err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(client, table)
	url, _ := queuetest.NewSQSQueue(t, queuetest.SQSClient(t), false)
	q := sqsq.New(queuetest.SQSClient(t), url)

	want := 0
	for _, p := range wire.Providers {
		want += len(samples.Events(p))
	}
	for run := 1; run <= 2; run++ {
		n, err := seedSamples(ctx, st, q)
		if err != nil || n != want {
			t.Fatalf("run %d: %d seeded, %v; want %d", run, n, err, want)
		}
	}
	for _, s := range processorSamples {
		ev, err := st.Get(ctx, sampleEventID(s[0], s[1]))
		if err != nil || ev.Provider != s[0] || ev.Status != store.StatusQueued {
			t.Fatalf("%s/%s: %+v %v", s[0], s[1], ev.Status, err)
		}
	}

	// A fresh table where the Tomba sample was delivered first, as its own
	// function would store it (a new random id).
	table2 := table + "-b"
	if err := dynamo.CreateTable(ctx, client, table2); err != nil {
		t.Fatal(err)
	}
	st2 := dynamo.New(client, table2)
	h, err := wire.Handler(config.Development(), "tomba", st2, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := apiGatewaySamples()
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(files[filepath.Join("tomba", "save_lead.json")], &e); err != nil {
		t.Fatal(err)
	}
	if out, err := h.HandleAPIGateway(ctx, e); err != nil || out.StatusCode != 200 {
		t.Fatalf("delivery: %d %v", out.StatusCode, err)
	}
	_, err = seedSamples(ctx, st2, q)
	if err == nil || !strings.Contains(err.Error(), "sample tomba/save_lead is already stored as event") {
		t.Fatalf("seeding over a stored sample: %v", err)
	}
}

// The stable ids are the same on every run, distinct, and ULIDs.
func TestSampleEventIDs(t *testing.T) {
	seen := map[string]string{}
	for _, prov := range wire.Providers {
		for _, event := range samples.Events(prov) {
			id := sampleEventID(prov, event)
			if _, err := ulid.ParseStrict(id); err != nil || id != sampleEventID(prov, event) {
				t.Fatalf("%s/%s: %q %v", prov, event, id, err)
			}
			if other, dup := seen[id]; dup {
				t.Fatalf("%s/%s and %s share id %s", prov, event, other, id)
			}
			seen[id] = prov + "/" + event
		}
	}
}
