package awsenv_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/awsenv/processor"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/wire"
)

// awsStandIns points the default AWS chain at DynamoDB Local and moto and
// returns a fresh table and queue.
func awsStandIns(t *testing.T) (table, queueURL string) {
	t.Helper()
	ddb := storetest.DynamoEndpoint(t)
	moto := queuetest.MotoEndpoint(t)
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_ENDPOINT_URL": moto, "AWS_ENDPOINT_URL_DYNAMODB": ddb,
		"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
		"AWS_CONFIG_FILE":                  "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	table = "hookline-" + strings.ToLower(queuetest.EventID())
	if err := dynamo.CreateTable(context.Background(), storetest.NewDynamoClient(ddb), table); err != nil {
		t.Fatal(err)
	}
	queueURL, _ = queuetest.NewSQSQueue(t, queuetest.SQSClient(t), false)
	return table, queueURL
}

// lambdaEnv sets the function environment the template sets: the
// development config as a file, the table and the queue.
func lambdaEnv(t *testing.T, table, queueURL string) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(config.DevelopmentYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(awsenv.EnvConfig, cfgFile)
	t.Setenv(awsenv.EnvTable, table)
	t.Setenv(awsenv.EnvQueueURL, queueURL)
}

// TestLambdaHandlersOnSamples runs every events/ sample through the real
// Lambda handler of its provider, built by awsenv exactly as at cold start,
// against DynamoDB Local and moto's SQS.
func TestLambdaHandlersOnSamples(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)

	ctx := context.Background()
	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, prov := range wire.Providers {
		h, err := awsenv.IngestHandler(ctx, prov)
		if err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", "events", prov, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no %s samples", prov)
		}
		for _, file := range files {
			data, _ := os.ReadFile(file)
			var e events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatal(err)
			}
			var first string
			for i, want := range []string{"accepted", "duplicate"} {
				out, err := h.HandleAPIGateway(ctx, e)
				var a struct {
					Status  string `json:"status"`
					EventID string `json:"event_id"`
				}
				_ = json.Unmarshal([]byte(out.Body), &a)
				if err != nil || out.StatusCode != 200 || a.Status != want {
					t.Fatalf("%s delivery %d: %d %s %v", file, i+1, out.StatusCode, out.Body, err)
				}
				if i == 0 {
					first = a.EventID
				} else if a.EventID != first {
					t.Fatalf("%s: duplicate named %s, first %s", file, a.EventID, first)
				}
			}
			ev, err := env.Store.Get(ctx, first)
			if err != nil || ev.Status != store.StatusQueued || ev.Provider != prov {
				t.Fatalf("%s: stored %+v %v", file, ev.Status, err)
			}
			sent++
		}
	}
	// Exactly one message per unique event reached SQS.
	q := sqsq.New(queuetest.SQSClient(t), queueURL)
	seen := map[string]bool{}
	for len(seen) < sent {
		msgs, err := q.Receive(ctx, 10, 30e9)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if seen[m.EventID] {
				t.Errorf("event %s enqueued twice", m.EventID)
			}
			seen[m.EventID] = true
		}
	}
	if len(seen) != sent {
		t.Fatalf("%d messages on SQS, want %d", len(seen), sent)
	}
}

// TestConfigFromSSMWithSecretsManagerReference loads the config the way the
// template wires it: a YAML document in an SSM parameter, whose secret is a
// Secrets Manager reference.
func TestConfigFromSSMWithSecretsManagerReference(t *testing.T) {
	table, queueURL := awsStandIns(t)
	ctx := context.Background()
	env, err := awsenv.Load(ctx) // fails: nothing set yet
	if err == nil || env != nil || !strings.Contains(err.Error(), awsenv.EnvConfig) {
		t.Fatalf("Load without environment: %v", err)
	}
	t.Setenv(awsenv.EnvTable, table)
	t.Setenv(awsenv.EnvQueueURL, queueURL)

	cfg := aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
	}), BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL"))}
	name := "hookline-test-" + strings.ToLower(queuetest.EventID())
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String("leadron-from-secrets-manager"),
	}); err != nil {
		t.Fatal(err)
	}
	doc := "sources:\n  leadron: { secrets: [\"secretsmanager:" + name + "\"] }\n"
	if _, err := ssm.NewFromConfig(cfg).PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String("/" + name + "/config"), Value: aws.String(doc), Type: ssmtypes.ParameterTypeSecureString,
	}); err != nil {
		t.Fatal(err)
	}
	t.Setenv(awsenv.EnvConfig, "ssm:/"+name+"/config")
	env, err = awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := env.Config.Sources.Leadron.Secrets; len(got) != 1 || got[0] != "leadron-from-secrets-manager" {
		t.Fatalf("leadron secrets = %q", got)
	}
	// A provider without a secret refuses to start: never fail open.
	if _, err := awsenv.IngestHandler(ctx, "journeybee"); err == nil || !strings.Contains(err.Error(), "no secret") {
		t.Fatalf("journeybee without a secret: %v", err)
	}
}

// TestProcessorDeliversFromSQS runs one sample through the ingest function
// and then the processor function, both built by awsenv as at cold start:
// the development config's log destination gets it, the event is delivered.
func TestProcessorDeliversFromSQS(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()

	in, err := awsenv.IngestHandler(ctx, "leadron")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "events", "leadron", "lead.created.json"))
	if err != nil {
		t.Fatal(err)
	}
	var req events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	if out, err := in.HandleAPIGateway(ctx, req); err != nil || out.StatusCode != 200 {
		t.Fatalf("ingest: %d %s %v", out.StatusCode, out.Body, err)
	}
	msgs, err := sqsq.New(queuetest.SQSClient(t), queueURL).ReceiveWait(ctx, 10, 30e9, 5e9)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v, %v; want one message", msgs, err)
	}
	m := msgs[0]

	h, err := processor.Handler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := h.Handle(ctx, events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "m-1", ReceiptHandle: m.Receipt, Body: m.EventID,
		Attributes: map[string]string{"ApproximateReceiveCount": "1"},
	}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("processor: %+v, %v; want no failures", resp, err)
	}
	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := env.Store.Get(ctx, m.EventID)
	if err != nil || ev.Status != store.StatusDelivered || len(ev.Deliveries) != 1 || !ev.Deliveries[0].Delivered() {
		t.Fatalf("event after processing: %q %+v %v; want delivered to log", ev.Status, ev.Deliveries, err)
	}
}
