package main

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/wire"
)

// The local stand-ins: what events/env.local.json names, made in DynamoDB
// Local and moto by `hookline standins` (and by `hookline invoke --local`).
const (
	localName        = "hookline-local"         // the table and the queue (its DLQ: hookline-local-dlq)
	localConfigParam = "/hookline/local/config" // the SSM parameter holding localConfig
	localRegion      = "us-east-1"
	localAccount     = "123456789012" // moto's default account
	envLocalFile     = "env.local.json"
)

// Where a function running in sam's Docker container reaches the stand-ins:
// 127.0.0.1 in the container is the container itself, and Docker Desktop
// resolves host.docker.internal to the host (on Linux, sam needs
// --add-host host.docker.internal:host-gateway). The ports are the images'
// defaults, published as they are (README).
const (
	dockerDynamoEndpoint = "http://host.docker.internal:8000"
	dockerMotoEndpoint   = "http://host.docker.internal:5000"
)

// localConfig is the stand-ins' config: the shape of the template's default
// config, each provider's secret read from the environment variable its
// function sets (the env file sets the development secrets).
const localConfig = `# hookline local stand-ins (hookline standins; events/env.local.json)
sources:
  journeybee: { secrets: ["${HOOKLINE_JOURNEYBEE_SECRET}"] }
  leadron:    { secrets: ["${HOOKLINE_LEADRON_SECRET}"] }
  tomba:      { header: X-Tomba-Token, secrets: ["${HOOKLINE_TOMBA_SECRET}"] }
destinations:
  - { name: log, type: log, events: ["*"] }
`

// standInSet names one set of stand-ins in DynamoDB Local and moto: the
// table and the queue name (its dead-letter queue name-dlq) and the SSM
// parameter configParam holding config. localStandIns is what
// events/env.local.json names; hookline cost makes its own.
type standInSet struct {
	name, configParam, config string
}

var localStandIns = standInSet{name: localName, configParam: localConfigParam, config: localConfig}

// queueURL is the set's queue URL at moto's endpoint (moto finds a queue by
// the account and name in the path, whatever the host).
func (s standInSet) queueURL(moto string) string {
	return strings.TrimRight(moto, "/") + "/" + localAccount + "/" + s.name
}

// envVars is the set's environment for the given endpoints, in `sam local
// invoke --env-vars` format: Parameters for every function, and each
// ingest function's own development secret in its own section, as the
// deployed template gives each function only its own secret. Every variable
// is one the template declares (sam sets no other).
func (s standInSet) envVars(ddb, moto string) map[string]map[string]string {
	env := map[string]map[string]string{
		"Parameters": {
			"AWS_ENDPOINT_URL":          moto,
			"AWS_ENDPOINT_URL_DYNAMODB": ddb,
			"HOOKLINE_CONFIG":           "ssm:" + s.configParam,
			"HOOKLINE_TABLE":            s.name,
			"HOOKLINE_QUEUE_URL":        s.queueURL(moto),
		},
	}
	secrets := map[string]string{
		"journeybee": config.DevJourneyBeeSecret,
		"leadron":    config.DevLeadronSecret,
		"tomba":      config.DevTombaToken,
	}
	for _, prov := range wire.Providers {
		env[ingestFunction[prov]] = map[string]string{"HOOKLINE_" + strings.ToUpper(prov) + "_SECRET": secrets[prov]}
	}
	return env
}

// localQueueURL is the local stand-in queue's URL at moto's endpoint.
func localQueueURL(moto string) string { return localStandIns.queueURL(moto) }

// localEnvVars is events/env.local.json for the given endpoints.
func localEnvVars(ddb, moto string) map[string]map[string]string {
	return localStandIns.envVars(ddb, moto)
}

// ingestFunction is each provider's function in template.yaml (a test
// checks it against the template's routes).
var ingestFunction = map[string]string{
	"journeybee": "JourneyBeeFunction",
	"leadron":    "LeadronFunction",
	"tomba":      "TombaFunction",
}

const standinsDoc = `Makes, if they are missing, what events/env.local.json names in DynamoDB
Local and moto: the table hookline-local, the queue hookline-local with its
dead-letter queue, and the SSM parameter /hookline/local/config (the config).
Then it stores every sample event of events/<provider>/ under its stable id,
through the real ingest handler, so that the events/processor/ samples name
events that exist. A sample already stored under another id (its ingest
function was invoked before standins ran) is an error: start the stand-ins
afresh.

Credentials: static test/test in us-east-1. A DynamoDB Local started without
-sharedDb keeps one database per access key and region, so run it with
-sharedDb when the functions use other credentials (sam passes this shell's).
`

type standinsFlags struct{ dynamodb, moto *string }

func newStandinsFlags() (*flag.FlagSet, standinsFlags) {
	fs := flag.NewFlagSet("standins", flag.ContinueOnError)
	return fs, standinsFlags{
		dynamodb: fs.String("dynamodb", cmpEnv("HOOKLINE_TEST_DYNAMODB", "http://127.0.0.1:8000"),
			"DynamoDB Local's `URL` (default $HOOKLINE_TEST_DYNAMODB, else http://127.0.0.1:8000)"),
		moto: fs.String("moto", cmpEnv("HOOKLINE_TEST_MOTO", "http://127.0.0.1:5000"),
			"moto's `URL` (default $HOOKLINE_TEST_MOTO, else http://127.0.0.1:5000)"),
	}
}

func cmpEnv(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// standinsCmd is `hookline standins`.
func standinsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newStandinsFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	n, err := setUpStandIns(ctx, *f.dynamodb, *f.moto)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "table %s, queue %s, parameter %s ready; %d sample events stored under their ids\n",
		localName, localQueueURL(*f.moto), localConfigParam, n)
	return nil
}

// setUpStandIns makes the local stand-ins if needed and stores every
// sample event under its stable id. It returns how many samples it stored
// (or found already stored).
func setUpStandIns(ctx context.Context, ddb, moto string) (int, error) {
	db, q, err := makeStandIns(ctx, ddb, moto, localStandIns)
	if err != nil {
		return 0, err
	}
	return seedSamples(ctx, dynamo.New(db, localName), sqs.New(q, localQueueURL(moto)))
}

// makeStandIns makes, if needed, the set's table in DynamoDB Local at ddb,
// its queue with its dead-letter queue in moto at moto, and puts its config
// into its SSM parameter there. It returns the clients it used.
func makeStandIns(ctx context.Context, ddb, moto string, s standInSet) (*dynamodb.Client, *awssqs.Client, error) {
	creds := credentials.NewStaticCredentialsProvider("test", "test", "")
	db := dynamodb.New(dynamodb.Options{Region: localRegion, BaseEndpoint: &ddb, Credentials: creds,
		DisableValidateResponseChecksum: true}) // DynamoDB Local's errors carry no checksum
	if err := dynamo.CreateTable(ctx, db, s.name); err != nil {
		return nil, nil, fmt.Errorf("standins: table %s at %s: %w", s.name, ddb, err)
	}
	q := awssqs.New(awssqs.Options{Region: localRegion, BaseEndpoint: &moto, Credentials: creds})
	dlq, err := q.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(s.name + "-dlq")})
	if err != nil {
		return nil, nil, fmt.Errorf("standins: queue %s-dlq at %s: %w", s.name, moto, err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, nil, fmt.Errorf("standins: queue %s-dlq: %w", s.name, err)
	}
	redrive, _ := json.Marshal(map[string]string{"deadLetterTargetArn": attrs.Attributes["QueueArn"], "maxReceiveCount": "30"})
	if _, err := q.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(s.name),
		Attributes: map[string]string{"RedrivePolicy": string(redrive)}}); err != nil {
		return nil, nil, fmt.Errorf("standins: queue %s: %w", s.name, err)
	}
	params := ssm.New(ssm.Options{Region: localRegion, BaseEndpoint: &moto, Credentials: creds})
	if _, err := params.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(s.configParam),
		Value: aws.String(s.config), Type: ssmtypes.ParameterTypeString, Overwrite: aws.Bool(true)}); err != nil {
		return nil, nil, fmt.Errorf("standins: parameter %s: %w", s.configParam, err)
	}
	return db, q, nil
}

// fixedID is an ingest store that stores a new event under a chosen id.
type fixedID struct {
	ingest.Store
	id string
}

func (s fixedID) Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error) {
	ev.ID = s.id
	return s.Store.Put(ctx, ev, keyExpiresAt)
}

// seedStore is what seedSamples needs of the store (store/dynamo).
type seedStore interface {
	ingest.Store
	Get(ctx context.Context, id string) (store.Event, error)
}

// seedSamples delivers every provider sample event (the bytes of
// events/<provider>/<event>.json) to the real ingest handler with the
// development secrets, the new event stored under sampleEventID. A sample
// whose event is there already is skipped (storing it again would reuse
// its id); one stored under another id is an error.
func seedSamples(ctx context.Context, st seedStore, q ingest.Queue) (int, error) {
	files, err := apiGatewaySamples()
	if err != nil {
		return 0, err
	}
	cfg := config.Development()
	n := 0
	for _, prov := range wire.Providers {
		for _, event := range samples.Events(prov) {
			id := sampleEventID(prov, event)
			if _, err := st.Get(ctx, id); err == nil {
				n++
				continue
			} else if !errors.Is(err, store.ErrNotFound) {
				return n, err
			}
			h, err := wire.Handler(cfg, prov, fixedID{Store: st, id: id}, q, wire.Logger(os.Stderr))
			if err != nil {
				return n, err
			}
			var e events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(files[filepath.Join(prov, event+".json")], &e); err != nil {
				return n, err
			}
			out, err := h.HandleAPIGateway(ctx, e)
			var answer struct {
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal([]byte(out.Body), &answer)
			switch {
			case err != nil:
				return n, err
			case out.StatusCode != 200:
				return n, fmt.Errorf("standins: sample %s/%s: %d %s", prov, event, out.StatusCode, out.Body)
			case answer.EventID != id:
				return n, fmt.Errorf("standins: sample %s/%s is already stored as event %s, not %s "+
					"(its function was invoked before standins ran): start the stand-ins afresh", prov, event, answer.EventID, id)
			}
			n++
		}
	}
	return n, nil
}

// sampleEventID is the stable event id `hookline standins` stores a sample
// event under, and the id the events/processor/ samples name: a ULID with
// the samples' issue time and entropy from the sample's name, so it is the
// same on every machine and every run.
func sampleEventID(prov, event string) string {
	sum := sha256.Sum256([]byte("hookline sample " + prov + "/" + event))
	var entropy [10]byte
	copy(entropy[:], sum[:])
	return ulid.MustNew(ulid.Timestamp(sampleIssued), bytesReader(entropy[:])).String()
}

// bytesReader reads b once (the ULID's entropy).
type bytesReader []byte

func (b bytesReader) Read(p []byte) (int, error) {
	if len(p) > len(b) {
		return 0, errors.New("bytesReader: short")
	}
	return copy(p, b), nil
}

// processorSamples names the sample events the events/processor/ samples
// deliver: one per provider, each in its own batch, and the three in one
// batch.
var processorSamples = [][2]string{
	{"journeybee", "lead_created"},
	{"leadron", "lead.created"},
	{"tomba", "save_lead"},
}

// sqsRecord is one record of an SQS event in the shape `sam local
// generate-event sqs receive-message` writes (keys in its order), with the
// message attributes queue/sqs sets.
type sqsRecord struct {
	MessageID         string                  `json:"messageId"`
	ReceiptHandle     string                  `json:"receiptHandle"`
	Body              string                  `json:"body"`
	Attributes        sqsRecordAttributes     `json:"attributes"`
	MessageAttributes map[string]sqsAttribute `json:"messageAttributes"`
	MD5OfBody         string                  `json:"md5OfBody"`
	EventSource       string                  `json:"eventSource"`
	EventSourceARN    string                  `json:"eventSourceARN"`
	AWSRegion         string                  `json:"awsRegion"`
}

type sqsRecordAttributes struct {
	ApproximateReceiveCount          string `json:"ApproximateReceiveCount"`
	SentTimestamp                    string `json:"SentTimestamp"`
	SenderID                         string `json:"SenderId"`
	ApproximateFirstReceiveTimestamp string `json:"ApproximateFirstReceiveTimestamp"`
}

type sqsAttribute struct {
	StringValue      string   `json:"stringValue"`
	StringListValues []string `json:"stringListValues"`
	BinaryListValues []string `json:"binaryListValues"`
	DataType         string   `json:"dataType"`
}

// processorEvent is an SQS event whose messages carry the given sample
// events, each as queue/sqs enqueues it: body = the event id, attributes
// event_id and event_type.
func processorEvent(which [][2]string) ([]byte, error) {
	var records []sqsRecord
	for _, s := range which {
		prov, event := s[0], s[1]
		id := sampleEventID(prov, event)
		typ, err := sampleType(prov, event)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256([]byte("hookline sample message " + id))
		sent := fmt.Sprint(sampleIssued.UnixMilli())
		records = append(records, sqsRecord{
			MessageID:     fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16]),
			ReceiptHandle: "MessageReceiptHandle",
			Body:          id,
			Attributes: sqsRecordAttributes{ApproximateReceiveCount: "1", SentTimestamp: sent, SenderID: localAccount,
				ApproximateFirstReceiveTimestamp: fmt.Sprint(sampleIssued.UnixMilli() + 1)},
			MessageAttributes: map[string]sqsAttribute{
				sqs.AttrEventID:   {StringValue: id, StringListValues: []string{}, BinaryListValues: []string{}, DataType: "String"},
				sqs.AttrEventType: {StringValue: typ, StringListValues: []string{}, BinaryListValues: []string{}, DataType: "String"},
			},
			MD5OfBody:      md5Hex(id),
			EventSource:    "aws:sqs",
			EventSourceARN: "arn:aws:sqs:" + localRegion + ":" + localAccount + ":" + localName,
			AWSRegion:      localRegion,
		})
	}
	return json.MarshalIndent(map[string][]sqsRecord{"Records": records}, "", "  ")
}

// sampleType is the canonical type of a sample event, as the provider's
// verification derives it.
func sampleType(prov, event string) (string, error) {
	cfg := config.Development()
	v, err := wire.Verifier(cfg, prov)
	if err != nil {
		return "", err
	}
	body, err := samples.Body(prov, event)
	if err != nil {
		return "", err
	}
	tok := samples.DefaultToken(sampleIssued)
	tok.ExpiresAt = sampleExpires
	hdr, err := samples.Headers(prov, event, body, secretsOf(cfg), tok)
	if err != nil {
		return "", err
	}
	d, err := v.Verify(body, hdr)
	if err != nil {
		return "", fmt.Errorf("sample %s/%s: %w", prov, event, err)
	}
	return d.Type, nil
}

// scheduledEvent is what `sam local generate-event cloudwatch
// scheduled-event` writes, for the sweeper's schedule rule.
func scheduledEvent() ([]byte, error) {
	return json.MarshalIndent(struct {
		ID         string         `json:"id"`
		DetailType string         `json:"detail-type"`
		Source     string         `json:"source"`
		Account    string         `json:"account"`
		Time       string         `json:"time"`
		Region     string         `json:"region"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}{
		ID: "cdc73f9d-aea9-11e3-9d5a-835b769c0d9c", DetailType: "Scheduled Event", Source: "aws.events",
		Account: localAccount, Time: sampleIssued.Format(time.RFC3339), Region: localRegion,
		Resources: []string{"arn:aws:events:" + localRegion + ":" + localAccount + ":rule/hookline-SweeperFunctionSweep"},
		Detail:    map[string]any{},
	}, "", "  ")
}

// localSamples renders events/processor/, events/sweeper/ and
// events/env.local.json, keyed by path under events/.
func localSamples() (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, data []byte, err error) error {
		if err != nil {
			return err
		}
		files[name] = append(data, '\n')
		return nil
	}
	for _, s := range processorSamples {
		data, err := processorEvent([][2]string{s})
		if err := add(filepath.Join("processor", s[0]+"."+s[1]+".json"), data, err); err != nil {
			return nil, err
		}
	}
	data, err := processorEvent(processorSamples)
	if err := add(filepath.Join("processor", "batch.json"), data, err); err != nil {
		return nil, err
	}
	data, err = scheduledEvent()
	if err := add(filepath.Join("sweeper", "scheduled.json"), data, err); err != nil {
		return nil, err
	}
	data, err = json.MarshalIndent(localEnvVars(dockerDynamoEndpoint, dockerMotoEndpoint), "", "  ")
	if err := add(envLocalFile, data, err); err != nil {
		return nil, err
	}
	return files, nil
}

// localFunctionEnv is the environment `hookline invoke --local` gives
// function id: events/env.local.json's variables for it with the endpoints
// given, plus what sam itself would pass (credentials and region).
func localFunctionEnv(id, ddb, moto string) map[string]string {
	return localStandIns.functionEnv(id, ddb, moto)
}

// functionEnv is the set's variables for function id with the endpoints
// given, plus what sam itself would pass (credentials and region). With
// every endpoint on a loopback address, the functions accept the
// development secrets it gives them (awsenv).
func (s standInSet) functionEnv(id, ddb, moto string) map[string]string {
	env := map[string]string{
		"AWS_REGION": localRegion, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_PROFILE": "",
	}
	file := s.envVars(ddb, moto)
	for _, section := range []string{"Parameters", id} {
		for k, v := range file[section] {
			env[k] = v
		}
	}
	return env
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
