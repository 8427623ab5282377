// Package processorenv builds the processor function's handler at cold
// start, on top of awsenv's common wiring (config, store, queue, logger).
//
// It is a package of its own so that only the processor links what
// delivering needs: shared/deliver, the EventBridge client and the SQS
// destination code. The ingest functions and the sweeper import awsenv
// alone, and a package's initialisation is linked into every binary that
// imports it, used or not (the EventBridge client's schemas alone are
// ~200 KB of init code).
package processorenv

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/metrics"
)

// Processor builds the processor function's handler: every configured
// destination (http and log as deliver.DefaultBuilders builds them,
// eventbridge and sqs through clients built once here), the DynamoDB store,
// and the SQS queue whose messages it hides while their destinations back
// off. It resolves the destinations only.
func Processor(ctx context.Context) (*deliver.SQSHandler, error) {
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
		return nil, fmt.Errorf("processorenv: %w", err)
	}
	// One EMF line per attempt: delivered / retry / failed per destination,
	// what the dashboard and the "deliveries given up" alarm use.
	obs := metrics.AttemptObserver(os.Stdout, env.Namespace)
	p.Observe = func(a deliver.Attempt) {
		obs(metrics.Attempt{Provider: a.Provider, EventType: a.EventType, Destination: a.Destination,
			Outcome: a.Outcome, Reason: a.Class, Latency: a.Duration})
	}
	return &deliver.SQSHandler{Processor: p, Queue: env.Queue, Log: env.Log}, nil
}
