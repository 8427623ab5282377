// Package awsenv builds, once per Lambda cold start, what hookline's
// functions need on AWS: the config (from the file or SSM parameter named by
// HOOKLINE_CONFIG, secrets resolved from Secrets Manager / SSM), the
// DynamoDB store (HOOKLINE_TABLE) and the SQS queue (HOOKLINE_QUEUE_URL).
// The SDK's default chain supplies credentials, region and endpoints (so
// AWS_ENDPOINT_URL_* point it at local stand-ins in tests).
package awsenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/config/awsref"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/wire"
)

// Environment variables every function reads (set by template.yaml).
const (
	EnvConfig   = "HOOKLINE_CONFIG"    // path of a YAML file, or ssm:<parameter name>
	EnvTable    = "HOOKLINE_TABLE"     // DynamoDB table name
	EnvQueueURL = "HOOKLINE_QUEUE_URL" // SQS queue URL
)

// Env is what the functions share.
type Env struct {
	AWS    aws.Config
	Config *config.Config
	Store  *dynamo.Store
	Queue  *sqs.Queue
	Log    *slog.Logger
}

// Load reads the environment and builds clients once.
func Load(ctx context.Context) (*Env, error) {
	var missing []string
	for _, k := range []string{EnvConfig, EnvTable, EnvQueueURL} {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("awsenv: %s not set", strings.Join(missing, ", "))
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsenv: AWS config: %w", err)
	}
	res := awsref.New(awsCfg)
	cfg, err := loadConfig(ctx, os.Getenv(EnvConfig), res)
	if err != nil {
		return nil, err
	}
	return &Env{
		AWS:    awsCfg,
		Config: cfg,
		Store:  dynamo.New(dynamodb.NewFromConfig(awsCfg), os.Getenv(EnvTable)),
		Queue:  sqs.New(awssqs.NewFromConfig(awsCfg), os.Getenv(EnvQueueURL)),
		Log:    wire.Logger(os.Stdout),
	}, nil
}

func loadConfig(ctx context.Context, ref string, res *awsref.Resolver) (*config.Config, error) {
	if name, ok := strings.CutPrefix(ref, "ssm:"); ok {
		doc, err := res.Resolve(ctx, "ssm", name)
		if err != nil {
			return nil, fmt.Errorf("awsenv: config parameter %s: %w", name, err)
		}
		return config.Parse(ctx, []byte(doc), os.LookupEnv, res)
	}
	return config.Load(ctx, ref, res)
}

// IngestHandler builds the ingest handler of one provider's function. It
// fails when that provider has no secret configured (never fails open).
func IngestHandler(ctx context.Context, provider string) (*ingest.Handler, error) {
	env, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	h, err := wire.Handler(env.Config, provider, env.Store, env.Queue, env.Log)
	if err != nil {
		return nil, fmt.Errorf("awsenv: %w", err)
	}
	// One CloudWatch EMF line per delivery on stdout: the metrics the
	// template's alarms and dashboard use, without an API call.
	h.Observe = metrics.IngestObserver(os.Stdout)
	return h, nil
}

// Sweeper builds the sweeper function's value.
func Sweeper(ctx context.Context) (*ingest.Sweeper, *slog.Logger, error) {
	env, err := Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &ingest.Sweeper{Store: env.Store, Queue: env.Queue, After: env.Config.Ingest.SweepAfter.D()}, env.Log, nil
}

// The processor function's handler is built by awsenv/processor, so that
// the functions above link nothing only delivery needs.

// Fatal logs a cold-start failure as one JSON line (no secret can be in
// err: config errors name references, never values) and exits, so Lambda
// reports an init error and never serves with a half-built function.
func Fatal(err error) {
	wire.Logger(os.Stderr).Error("cold start failed", slog.String("error", err.Error()))
	os.Exit(1)
}
