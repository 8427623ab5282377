// Package awsenv builds, once per Lambda cold start, what hookline's
// functions need on AWS: the config (from the file or SSM parameter named by
// HOOKLINE_CONFIG, secrets resolved from Secrets Manager / SSM), the
// DynamoDB store (HOOKLINE_TABLE), the SQS queue (HOOKLINE_QUEUE_URL), the
// CloudWatch namespace of the metrics (HOOKLINE_METRICS_NAMESPACE) and the
// logger. Credentials, region and endpoints are read from the environment
// as Lambda sets it (sdkconfig.go: not through aws-sdk-go-v2/config, whose
// credential chain is ~1.9 MB of each bootstrap); AWS_ENDPOINT_URL
// and AWS_ENDPOINT_URL_<SERVICE> point the functions at local stand-ins.
//
// Logs are in Lambda's own format (Logger: aws-lambda-go's lambdacontext
// handler); metrics are EMF lines written to stdout beside them, never
// through the log handler.
//
// It holds the common cold start and the ingest and sweeper wiring; the
// processor's wiring (shared/deliver, the EventBridge client, the SQS
// destination) is in awsenv/processor, so that the functions that do not
// deliver do not link it: every package a binary imports is linked with its
// initialisation, used or not.
package awsenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
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
	// EnvMetricsNamespace is the CloudWatch namespace of the EMF metrics:
	// the template sets "hookline/<stack name>", the namespace its alarms
	// and dashboard read; unset, metrics.DefaultNamespace.
	EnvMetricsNamespace = "HOOKLINE_METRICS_NAMESPACE"
)

// Env is what the functions share.
type Env struct {
	AWS    aws.Config
	Config *config.Config
	Store  *dynamo.Store
	Queue  *sqs.Queue
	Log    *slog.Logger
	// Namespace is the CloudWatch namespace every metric line is written in.
	Namespace string
}

// Load reads the environment and builds clients once, with the config's
// settings but none of its sources or destinations (config.ScopeNone: what
// the sweeper uses).
func Load(ctx context.Context) (*Env, error) { return LoadScope(ctx, config.ScopeNone) }

// LoadScope is Load with the part of the config scope names resolved: a
// function asks only for the secrets it uses, which are the ones its role
// may read. The development secrets are refused (they are public), except
// on local stand-ins (onStandIns).
func LoadScope(ctx context.Context, scope config.Scope) (*Env, error) {
	var missing []string
	for _, k := range []string{EnvConfig, EnvTable, EnvQueueURL} {
		if os.Getenv(k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("awsenv: %s not set", strings.Join(missing, ", "))
	}
	ns := os.Getenv(EnvMetricsNamespace)
	if ns == "" {
		ns = metrics.DefaultNamespace
	}
	if err := metrics.CheckNamespace(ns); err != nil {
		return nil, fmt.Errorf("awsenv: %s: %w", EnvMetricsNamespace, err)
	}
	awsCfg, err := sdkConfig()
	if err != nil {
		return nil, fmt.Errorf("awsenv: AWS config: %w", err)
	}
	res := awsref.New(awsCfg)
	cfg, err := loadConfig(ctx, os.Getenv(EnvConfig), scope, res)
	if err != nil {
		return nil, err
	}
	if dev := cfg.DevelopmentSecrets(); len(dev) > 0 && !onStandIns(os.LookupEnv) {
		return nil, fmt.Errorf("awsenv: %s: hookline's development secrets are public and the events/ samples signed with them stay valid until 2100; store your own", strings.Join(dev, ", "))
	}
	// A verified body the table cannot hold would be a 5xx on every retry.
	if err := cfg.CheckMaxBody("DynamoDB", int64(dynamo.MaxBodyBytes)); err != nil {
		return nil, fmt.Errorf("awsenv: %w", err)
	}
	return &Env{
		AWS:       awsCfg,
		Config:    cfg,
		Store:     dynamo.New(dynamodb.NewFromConfig(awsCfg), os.Getenv(EnvTable)),
		Queue:     sqs.New(awssqs.NewFromConfig(awsCfg), os.Getenv(EnvQueueURL)),
		Log:       Logger(),
		Namespace: ns,
	}, nil
}

// Logger is the functions' logger: aws-lambda-go's lambdacontext handler,
// which writes Lambda's own log format to stdout. It honours
// AWS_LAMBDA_LOG_FORMAT (JSON, as the template's LoggingConfig sets it, else
// text) and AWS_LAMBDA_LOG_LEVEL (the template's ApplicationLogLevel), names
// the keys "timestamp" and "message" as Lambda does, and adds the
// invocation's "requestId" to every line logged with the invocation's
// context, so everything a handler logs goes through LogAttrs(ctx, …) or
// slog's …Context methods. (hookline serve keeps wire.Logger.)
func Logger() *slog.Logger {
	return lambdacontext.NewLogger()
}

func loadConfig(ctx context.Context, ref string, scope config.Scope, res *awsref.Resolver) (*config.Config, error) {
	if name, ok := strings.CutPrefix(ref, "ssm:"); ok {
		doc, err := res.Resolve(ctx, "ssm", name)
		if err != nil {
			return nil, fmt.Errorf("awsenv: config parameter %s: %w", name, err)
		}
		return config.ParseScope(ctx, []byte(doc), scope, os.LookupEnv, res)
	}
	return config.LoadScope(ctx, ref, scope, res)
}

// IngestHandler builds the ingest handler of one provider's function; it
// resolves that provider's source only. It fails when that provider has no
// secret configured (never fails open).
func IngestHandler(ctx context.Context, provider string) (*ingest.Handler, error) {
	env, err := LoadScope(ctx, config.ScopeSource(provider))
	if err != nil {
		return nil, err
	}
	h, err := wire.Handler(env.Config, provider, env.Store, env.Queue, env.Log)
	if err != nil {
		return nil, fmt.Errorf("awsenv: %w", err)
	}
	// The processor's first save moves the event out of received: no
	// received→queued rewrite of the event item (see LeaveReceived).
	h.LeaveReceived = true
	// One line per delivery: the wide "delivery" line is also the
	// CloudWatch EMF document of the metrics the template's alarms and
	// dashboard use (no API call, and no second line: CloudWatch Logs
	// bills every byte).
	h.LineAttrs = metrics.IngestAttrs(env.Namespace)
	// Rejections cost a write each: recorded only when the config asks
	// (one small item, 24 h TTL); ingest.quarantine keeps the deliveries
	// refused for their credentials, with their rejections. A failure to
	// record is logged and never changes the answer.
	if env.Config.Ingest.RecordRejections {
		h.Rejections = env.Store
	}
	h.Quarantine = wire.Quarantine(env.Config, provider, env.Store)
	return h, nil
}

// Sweeper builds the sweeper function's value; it resolves no source and no
// destination.
func Sweeper(ctx context.Context) (*ingest.Sweeper, *slog.Logger, error) {
	env, err := Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	return &ingest.Sweeper{Store: env.Store, Queue: env.Queue, After: env.Config.Ingest.SweepAfter.D()}, env.Log, nil
}

// The processor function's handler is built by awsenv/processor, so that
// the functions above link nothing only delivery needs.

// Fatal logs a cold-start failure as one line in Lambda's format (no secret
// can be in err: config errors name references, never values) and exits, so
// Lambda reports an init error and never serves with a half-built function.
func Fatal(err error) {
	Logger().Error("cold start failed", slog.String("error", err.Error()))
	os.Exit(1)
}

// onStandIns reports whether the function talks to local stand-ins rather
// than AWS: AWS_ENDPOINT_URL is set, and it and every service's
// AWS_ENDPOINT_URL_<SERVICE> that is set name a loopback address or
// host.docker.internal (DynamoDB Local and moto under `sam local invoke`
// or `hookline invoke`). Only there are the development secrets accepted,
// so that events/ samples, signed with them, work with events/env.local.json.
// A deployed function has no endpoint override (the template declares them
// empty), so it refuses them.
func onStandIns(lookup func(string) (string, bool)) bool {
	generic, _ := lookup("AWS_ENDPOINT_URL")
	if !standInURL(generic) {
		return false
	}
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "AWS_ENDPOINT_URL_") {
			continue
		}
		if v, _ := lookup(k); v != "" && !standInURL(v) {
			return false
		}
	}
	return true
}

// standInURL reports whether u is an http(s) URL whose host is loopback,
// localhost or host.docker.internal.
func standInURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") {
		return false
	}
	switch h := p.Hostname(); h {
	case "localhost", "host.docker.internal":
		return true
	default:
		ip := net.ParseIP(h)
		return ip != nil && ip.IsLoopback()
	}
}
