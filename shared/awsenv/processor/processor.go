// Package processor builds the processor Lambda's handler from awsenv's
// environment. It is apart from awsenv so that the ingest and sweeper
// Lambdas, which import awsenv, link neither shared/deliver nor what only
// delivery needs (gojq for filters and transforms: about 0.5 MiB).
package processor

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/metrics"
)

// Handler builds the processor function's handler: every configured
// destination (http and log as deliver.DefaultBuilders builds them,
// eventbridge and sqs through clients built once here), the DynamoDB store,
// and the SQS queue whose messages it hides while their destinations back
// off. It resolves the destinations only (config.ScopeProcessor).
func Handler(ctx context.Context) (*deliver.SQSHandler, error) {
	env, err := awsenv.LoadScope(ctx, config.ScopeProcessor)
	if err != nil {
		return nil, err
	}
	builders := deliver.DefaultBuilders(env.Log, deliver.NewHTTPClient())
	eb := eventbridge.NewFromConfig(env.AWS)
	sq := awssqs.NewFromConfig(env.AWS)
	builders["eventbridge"] = func(d config.Destination) (deliver.Destination, error) { return deliver.NewEventBridge(eb, d), nil }
	builders["sqs"] = func(d config.Destination) (deliver.Destination, error) { return deliver.NewSQS(sq, d), nil }
	p, err := deliver.NewProcessor(env.Config, env.Store, builders, env.Log)
	if err != nil {
		return nil, fmt.Errorf("awsenv: %w", err)
	}
	// One line per attempt (the wide "delivery_attempt" line), and the
	// metrics the dashboard and the "deliveries given up" alarm use
	// (delivered / retried / failed per destination, attempt latency) as
	// one EMF line per batch and destination and outcome: the EMF metadata
	// once per batch, not on every attempt's line (CloudWatch Logs bills
	// every byte).
	batch := &metrics.AttemptBatch{}
	p.Observe = func(a deliver.Attempt) {
		batch.Add(metrics.Attempt{Provider: a.Provider, Destination: a.Destination,
			Outcome: a.Outcome, Reason: a.Class, Latency: a.Duration})
	}
	h := &deliver.SQSHandler{Processor: p, Queue: env.Queue, Log: env.Log}
	h.AfterBatch = func(ctx context.Context) {
		if err := batch.Flush(os.Stdout, env.Namespace, time.Now()); err != nil {
			env.Log.WarnContext(ctx, "metrics not written", slog.String("error", err.Error()))
		}
	}
	return h, nil
}
