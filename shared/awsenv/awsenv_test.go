package awsenv_test

import (
	"context"
	"encoding/json"
	"net/http"
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
	"github.com/hookline/hookline/shared/awsenv/processorenv"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
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

// testSecrets are the provider secrets the functions run with here: they
// refuse the public development secrets.
var testSecrets = samples.NewSecrets()

// devSecrets are the development secrets, which the events/ samples are signed with.
var devSecrets = samples.Secrets{JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken}

// lambdaEnv sets the function environment the template sets: a config
// accepting testSecrets as a file, the table and the queue.
func lambdaEnv(t *testing.T, table, queueURL string) {
	t.Helper()
	writeConfig(t, testSecrets.ConfigYAML())
	t.Setenv(awsenv.EnvTable, table)
	t.Setenv(awsenv.EnvQueueURL, queueURL)
}

func writeConfig(t *testing.T, doc string) {
	t.Helper()
	cfgFile := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(cfgFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(awsenv.EnvConfig, cfgFile)
}

// sampleEvent reads an events/ sample of prov, re-signed with testSecrets.
func sampleEvent(t *testing.T, prov, file string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	for k, v := range e.Headers {
		hdr.Set(k, v)
	}
	out, ok, err := samples.Resign(prov, hdr, []byte(e.Body), devSecrets, testSecrets)
	if err != nil || !ok {
		t.Fatalf("%s: not signed with the development secrets: %v", file, err)
	}
	e.Headers = map[string]string{}
	for k := range out {
		e.Headers[strings.ToLower(k)] = out.Get(k)
	}
	return e
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
			e := sampleEvent(t, prov, file)
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
	env, err = awsenv.LoadScope(ctx, config.ScopeSource("leadron"))
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
	req := sampleEvent(t, "leadron", filepath.Join("..", "..", "events", "leadron", "lead.created.json"))
	if out, err := in.HandleAPIGateway(ctx, req); err != nil || out.StatusCode != 200 {
		t.Fatalf("ingest: %d %s %v", out.StatusCode, out.Body, err)
	}
	msgs, err := sqsq.New(queuetest.SQSClient(t), queueURL).ReceiveWait(ctx, 10, 30e9, 5e9)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("receive: %v, %v; want one message", msgs, err)
	}
	m := msgs[0]

	h, err := processorenv.Processor(ctx)
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

// The metrics namespace is read once, at cold start: HOOKLINE_METRICS_NAMESPACE,
// metrics.DefaultNamespace when unset; one CloudWatch would drop stops the
// function from starting.
func TestMetricsNamespace(t *testing.T) {
	for k, v := range map[string]string{
		"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
	} {
		t.Setenv(k, v)
	}
	lambdaEnv(t, "no-table-needed", "http://127.0.0.1:9/no-queue-needed")
	tests := []struct{ set, want, wantErr string }{
		{"", metrics.DefaultNamespace, ""},
		{"hookline/prod", "hookline/prod", ""},
		{"AWS/Lambda", "", "reserved"},
		{"hookline/${AWS::StackName}", "", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.set, func(t *testing.T) {
			t.Setenv(awsenv.EnvMetricsNamespace, tt.set)
			env, err := awsenv.Load(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), awsenv.EnvMetricsNamespace) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load = %v, want an error naming %s: %q", err, awsenv.EnvMetricsNamespace, tt.wantErr)
				}
				return
			}
			if err != nil || env.Namespace != tt.want {
				t.Fatalf("Load: namespace %q, %v; want %q", env.Namespace, err, tt.want)
			}
		})
	}
}

// The functions refuse the development secrets at cold start: they are
// public, and the events/ samples signed with them are valid until 2100.
// The processor and the sweeper verify no delivery, so hold no source.
func TestColdStartRefusesDevelopmentSecrets(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()
	// On the stand-ins (sam local invoke with events/env.local.json) they are
	// accepted: the events/ samples are signed with them.
	writeConfig(t, config.DevelopmentYAML)
	for _, prov := range wire.Providers {
		if _, err := awsenv.IngestHandler(ctx, prov); err != nil {
			t.Errorf("%s on the stand-ins with the development secrets: %v", prov, err)
		}
	}
	// Deployed, nothing overrides the AWS endpoints. No AWS call is made
	// before the refusal (the config is a file).
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	for _, doc := range []string{
		config.DevelopmentYAML,
		// One of them among your own, as during a rotation.
		"sources:\n  journeybee: { secrets: [\"" + testSecrets.JourneyBee + "\", \"" + config.DevJourneyBeeSecret + "\"] }\n" +
			"  leadron: { secrets: [\"" + testSecrets.Leadron + "\", \"" + config.DevLeadronSecret + "\"] }\n" +
			"  tomba: { secrets: [\"" + config.DevTombaToken + "\"] }\n",
	} {
		writeConfig(t, doc)
		for _, prov := range wire.Providers {
			_, err := awsenv.IngestHandler(ctx, prov)
			if err == nil || !strings.Contains(err.Error(), "development secrets are public") || !strings.Contains(err.Error(), "sources."+prov+".secrets[") {
				t.Errorf("%s with a development secret: %v", prov, err)
			}
			for _, s := range []string{config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken} {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("the error shows a secret: %v", err)
				}
			}
		}
		if _, err := processorenv.Processor(ctx); err != nil {
			t.Errorf("processor: %v", err)
		}
		if _, _, err := awsenv.Sweeper(ctx); err != nil {
			t.Errorf("sweeper: %v", err)
		}
	}
}

// Against moto: a destination secret the ingest functions may not read
// (here: one that does not exist, so reading it fails as AccessDenied
// would) stops the processor only, and names the reference, not a value;
// a config without a Tomba source stops only the Tomba function.
func TestColdStartResolvesOnlyWhatItUses(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
	}), BaseEndpoint: aws.String(os.Getenv("AWS_ENDPOINT_URL"))}
	name := "hookline-test-" + strings.ToLower(queuetest.EventID())
	if _, err := secretsmanager.NewFromConfig(cfg).CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(testSecrets.Leadron),
	}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKLINE_LEADRON_SECRET", "secretsmanager:"+name)
	writeConfig(t, "sources:\n  leadron: { secrets: [\"${HOOKLINE_LEADRON_SECRET}\"] }\n"+
		"  journeybee: { secrets: [\"${HOOKLINE_JOURNEYBEE_SECRET}\"] }\n"+ // set in the JourneyBee function only
		"destinations:\n  - { name: crm, type: http, url: \"https://crm.example.com\", secret: \"secretsmanager:"+name+"-crm\" }\n")

	if _, err := awsenv.IngestHandler(ctx, "leadron"); err != nil {
		t.Errorf("leadron: %v", err)
	}
	if _, _, err := awsenv.Sweeper(ctx); err != nil {
		t.Errorf("sweeper: %v", err)
	}
	_, err := processorenv.Processor(ctx)
	if err == nil || !strings.Contains(err.Error(), "destinations[0].secret: secretsmanager:"+name+"-crm") {
		t.Errorf("processor with an unreadable destination secret: %v", err)
	}
	_, err = awsenv.IngestHandler(ctx, "tomba")
	if err == nil || !strings.Contains(err.Error(), "sources.tomba has no secret") {
		t.Errorf("tomba without a source: %v", err)
	}
	_, err = awsenv.IngestHandler(ctx, "journeybee")
	if err == nil || !strings.Contains(err.Error(), "HOOKLINE_JOURNEYBEE_SECRET is not set") {
		t.Errorf("journeybee without its variable: %v", err)
	}
}

// The development secrets are accepted only where every AWS endpoint is a
// local stand-in.
func TestOnStandIns(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want bool
	}{
		{"deployed: no override", nil, false},
		{"deployed: overrides declared empty", map[string]string{"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": ""}, false},
		{"moto on loopback", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, true},
		{"sam's container", map[string]string{"AWS_ENDPOINT_URL": "http://host.docker.internal:5000", "AWS_ENDPOINT_URL_DYNAMODB": "http://host.docker.internal:8000"}, true},
		{"IPv6 loopback", map[string]string{"AWS_ENDPOINT_URL": "http://[::1]:5000"}, true},
		{"only DynamoDB overridden", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}, false},
		{"one service on AWS", map[string]string{"AWS_ENDPOINT_URL": "http://localhost:5000", "AWS_ENDPOINT_URL_SSM": "https://ssm.us-east-1.amazonaws.com"}, false},
		{"a private address is not a stand-in", map[string]string{"AWS_ENDPOINT_URL": "http://10.0.0.5:5000"}, false},
		{"a lookalike host", map[string]string{"AWS_ENDPOINT_URL": "http://localhost.example.com:5000"}, false},
		{"not a URL", map[string]string{"AWS_ENDPOINT_URL": "127.0.0.1:5000"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SSM"} {
				t.Setenv(k, tt.env[k])
			}
			if got := awsenv.OnStandIns(); got != tt.want {
				t.Errorf("OnStandIns() = %v, want %v", got, tt.want)
			}
		})
	}
}
