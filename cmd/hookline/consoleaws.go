package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/wire"
)

// EnvDLQURL names the dead-letter queue for --aws commands.
const EnvDLQURL = "HOOKLINE_DLQ_URL"

// The stack outputs `console --stack` reads (template.yaml's Outputs).
const (
	OutputTable    = "TableName"
	OutputQueueURL = "EventsQueueUrl"
	OutputDLQURL   = "EventsDLQUrl"
)

const consoleDoc = `Runs the operator console on this machine against a deployed stack, with
the default AWS credentials: the table, queue and dead-letter queue come from
the stack's outputs (--stack NAME: TableName, EventsQueueUrl, EventsDLQUrl),
or from HOOKLINE_TABLE, HOOKLINE_QUEUE_URL and HOOKLINE_DLQ_URL. Nothing is
exposed on API Gateway; the console listens on --console-addr only, with the
same guards as serve's (Host pinning, same-origin POSTs, no CORS, a token
off loopback). The credentials need dynamodb:Query/GetItem/PutItem (replay
writes the event's next state item) on the table and its indexes,
sqs:SendMessage on the queue,
sqs:ReceiveMessage/DeleteMessage/ChangeMessageVisibility on the dead-letter
queue, cloudwatch:GetMetricData and, with --stack,
cloudformation:DescribeStacks.

The table keeps no row for a duplicate delivery or a rejection: their
counts in the stats and charts are the ingest functions' CloudWatch metrics
(duplicate and rejected per provider, Sum), read with one GetMetricData
call per answer, reused for 30 s by answers of the same window ($0.01 per
1,000 metrics requested: 6 per call for three providers), from the
namespace hookline/<stack> with --stack (the one template.yaml sets), else
--metrics-namespace. When CloudWatch cannot be read the counts are 0 and
the console logs why.
`

type consoleCmdFlags struct {
	aws     *bool
	stack   *string
	metrics *string
	poll    *time.Duration
	config  *string
	console *consoleFlags
}

func newConsoleFlags() (*flag.FlagSet, consoleCmdFlags) {
	fs := flag.NewFlagSet("console", flag.ContinueOnError)
	return fs, consoleCmdFlags{
		aws:     fs.Bool("aws", false, "serve the console of a deployed stack (required: hookline serve runs the local one)"),
		stack:   fs.String("stack", "", "read the table and queue URLs from this CloudFormation stack's `name` (default: $HOOKLINE_TABLE, $HOOKLINE_QUEUE_URL, $HOOKLINE_DLQ_URL)"),
		metrics: fs.String("metrics-namespace", defaultMetricsNamespace(), "the CloudWatch `namespace` of the stack's metrics, for the duplicate and rejected counts (default: hookline/NAME with --stack, as template.yaml sets it, else $HOOKLINE_METRICS_NAMESPACE, else hookline)"),
		poll:    fs.Duration("poll", 5*time.Second, "while a page is open, look for new events and attempts this often, for the live list (0: never)"),
		config:  fs.String("config", "", "the stack's config `file`: with it, the page re-verifies quarantined deliveries with its secrets and lists its destinations (without it, re-verify is off: use hookline reverify --aws)"),
		console: addConsoleFlags(fs),
	}
}

// stackResources are what the console works on; namespace is the
// CloudWatch namespace of its metrics (metrics.DefaultNamespace if empty).
type stackResources struct{ table, queueURL, dlqURL, namespace string }

// describeStacks is the one CloudFormation call --stack needs.
type describeStacks interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, optFns ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// fromStack reads the resources from the stack's outputs.
func fromStack(ctx context.Context, cf describeStacks, name string) (stackResources, error) {
	out, err := cf.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		return stackResources{}, fmt.Errorf("--stack %s: %w", name, err)
	}
	if len(out.Stacks) != 1 {
		return stackResources{}, fmt.Errorf("--stack %s: %d stacks answered, want 1", name, len(out.Stacks))
	}
	outputs := map[string]string{}
	for _, o := range out.Stacks[0].Outputs {
		outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	r := stackResources{table: outputs[OutputTable], queueURL: outputs[OutputQueueURL], dlqURL: outputs[OutputDLQURL]}
	if r.table == "" || r.queueURL == "" {
		return stackResources{}, fmt.Errorf("--stack %s: the stack has no %s and %s outputs (is it a hookline stack?)", name, OutputTable, OutputQueueURL)
	}
	return r, nil
}

// fromEnv reads the resources from the environment.
func fromEnv() (stackResources, error) {
	r := stackResources{table: os.Getenv(awsenv.EnvTable), queueURL: os.Getenv(awsenv.EnvQueueURL), dlqURL: os.Getenv(EnvDLQURL)}
	if r.table == "" || r.queueURL == "" {
		return stackResources{}, fmt.Errorf("console --aws needs --stack NAME, or %s and %s (and %s for dead letters)",
			awsenv.EnvTable, awsenv.EnvQueueURL, EnvDLQURL)
	}
	return r, nil
}

// consoleCmd serves the console of a deployed stack until ctx ends.
func consoleCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newConsoleFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	if !*f.aws {
		return errors.New("console needs --aws (the local console runs with hookline serve, on --console-addr)")
	}
	if err := f.console.check(); err != nil {
		return err
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	var res stackResources
	if *f.stack != "" {
		res, err = fromStack(ctx, cloudformation.NewFromConfig(cfg), *f.stack)
	} else {
		res, err = fromEnv()
	}
	if err != nil {
		return err
	}
	if res.namespace, err = consoleNamespace(fs, *f.stack, *f.metrics); err != nil {
		return err
	}
	log := wire.Logger(stdout)
	var hc *config.Config
	if *f.config != "" {
		if hc, _, err = loadLocalConfig(ctx, *f.config); err != nil {
			return err
		}
	}
	con, err := awsConsole(cfg, res, f.console, hc, log)
	if err != nil {
		return err
	}
	ln, err := con.Listen()
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	log.Info("console", slog.String("addr", url), slog.String("table", res.table), slog.Bool("dlq", res.dlqURL != ""),
		slog.Bool("token", f.console.token() != ""))
	fmt.Fprintf(stderr, "hookline: console on %s (table %s)\n", url, res.table)
	if *f.poll > 0 {
		go con.Poll(ctx, *f.poll)
	}
	return con.Serve(ctx, ln)
}

// awsConsole builds the console over the stack's table and queues.
// With hc (the stack's config, --config), quarantined deliveries are
// re-verified with its secrets through the same ingest path as the Lambdas,
// and its destinations are listed.
func awsConsole(cfg aws.Config, res stackResources, cf *consoleFlags, hc *config.Config, log *slog.Logger) (*console.Console, error) {
	table := dynamo.New(dynamodb.NewFromConfig(cfg), res.table)
	st := cwConsoleStore{awsConsoleStore{dynamo.NewConsole(table, wire.Providers)},
		newCWCounts(cloudwatch.NewFromConfig(cfg, cwClientOptions...), res.namespace, wire.Providers, log)}
	q := sqs.New(awssqs.NewFromConfig(cfg), res.queueURL)
	o := console.Options{
		Addr:      *cf.addr,
		Token:     cf.token(),
		Hosts:     cf.hosts,
		Providers: wire.Providers,
		Log:       log,
		// duplicates and rejections: the functions' metrics (consolecw.go)
		CountsFrom: CountsFromCloudWatch,
	}
	if res.dlqURL != "" {
		o.DeadLetters = q.DeadLetters(res.dlqURL)
	}
	if hc != nil {
		handlers := map[string]*ingest.Handler{}
		for _, name := range hc.Providers() {
			h, err := wire.Handler(hc, name, table, q, log)
			if err != nil {
				return nil, err
			}
			handlers[name] = h
		}
		o.Reverify = reverifier(handlers)
		for _, d := range hc.Destinations {
			o.Destinations = append(o.Destinations, d.Name)
		}
	}
	return console.New(st, q.Enqueue, o)
}

// awsConsoleStore is the DynamoDB console reader. Recent rejections are
// recorded on AWS only by a store that has Rejections (ingest's
// record_rejections); until the table's store has it, the list is empty.
type awsConsoleStore struct{ *dynamo.Console }

func (s awsConsoleStore) Rejections(ctx context.Context, limit int) ([]store.Rejection, error) {
	if r, ok := any(s.Console.Store).(interface {
		Rejections(ctx context.Context, limit int) ([]store.Rejection, error)
	}); ok {
		return r.Rejections(ctx, limit)
	}
	return []store.Rejection{}, nil
}
