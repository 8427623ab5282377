package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/wire"
)

// transformCmd is a dry run of one destination for one event: whether its
// filter passes, and the exact body and headers (or EventBridge entry, or
// SQS message) it would send, signed as they would be. The event is a
// stored one (--event, from --data or --aws) or a body at hand (--file,
// with --provider and --type: validated and normalized by the provider's
// own code, its signature not checked). A filter or transform error is the
// command's error (exit code 1).
type transformFlags struct {
	backend                                             backendFlags
	config, destination, event, file, prov, typ, tenant *string
	document                                            *bool
}

func newTransformFlags() (*flag.FlagSet, transformFlags) {
	fs := flag.NewFlagSet("transform", flag.ContinueOnError)
	return fs, transformFlags{
		backend:     addBackendFlags(fs, false),
		config:      fs.String("config", "", "config `file`, or ssm:<parameter> (default hookline.yaml if present, else the built-in development config)"),
		destination: fs.String("destination", "", "the destination `name` to try (required)"),
		event:       fs.String("event", "", "a stored event's `id` (from --data DIR or --aws)"),
		file:        fs.String("file", "", "a provider body (JSON `file`) to try instead of a stored event; needs --provider and --type"),
		prov:        fs.String("provider", "", "with --file: journeybee, leadron or tomba"),
		typ:         fs.String("type", "", "with --file: the event, e.g. lead_created or journeybee.lead_created"),
		tenant:      fs.String("tenant", "", "with --file --provider journeybee: the token's company_uuid (the event's tenant)"),
		document:    fs.Bool("document", false, "also print the event document the filter and transform read"),
	}
}

func transformCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newTransformFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	bf, cfgFile, destName, eventID, file, prov, typ, tenant, showDoc := f.backend, f.config, f.destination, f.event, f.file, f.prov, f.typ, f.tenant, f.document
	if *destName == "" || (*eventID == "") == (*file == "") || len(args) > 0 {
		return errors.New("usage: hookline transform --destination NAME (--event ID [--data DIR | --aws] | --file BODY.json --provider P --type T) (hookline transform -h)")
	}
	cfg, err := loadTransformConfig(ctx, *cfgFile)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(cfg.Destinations, func(d config.Destination) bool { return d.Name == *destName })
	if i < 0 {
		var names []string
		for _, d := range cfg.Destinations {
			names = append(names, d.Name)
		}
		return fmt.Errorf("no destination %q in the config (have: %s)", *destName, strings.Join(names, ", "))
	}
	routes, err := deliver.NewRoutes(cfg.Destinations[i:i+1], previewBuilders())
	if err != nil {
		return err
	}
	r := routes[0]

	var ev store.Event
	var from string
	if *file != "" {
		if ev, err = fileEvent(*file, *prov, *typ, *tenant); err != nil {
			return err
		}
		from = *file + ", not stored"
	} else {
		b, err := bf.open(ctx)
		if err != nil {
			return err
		}
		defer b.close()
		if ev, err = b.store.Get(ctx, *eventID); err != nil {
			return fmt.Errorf("event %s: %w", *eventID, err)
		}
		from = "the store"
	}

	fmt.Fprintf(stdout, "destination  %s (%s)\n", r.Config.Name, r.Config.Type)
	fmt.Fprintf(stdout, "event        %s %s (%s)\n", ev.ID, ev.Type, from)
	if *showDoc {
		doc, err := deliver.DocumentJSON(ev)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "document     %s\n", doc)
	}
	pv, err := deliver.PreviewRoute(ctx, r, ev)
	if pv.Matches {
		fmt.Fprintf(stdout, "events       match\n")
	} else {
		fmt.Fprintf(stdout, "events       %q do not match %s: the processor would not route it here\n", r.Config.Events, ev.Type)
	}
	if err != nil {
		var perr *deliver.ProgramError
		if errors.As(err, &perr) {
			fmt.Fprintf(stdout, "%-12s error: a permanent failure, class %s\n", perr.Kind, perr.Class())
		}
		return fmt.Errorf("destination %s: %w", r.Config.Name, err)
	}
	switch {
	case pv.Filter == nil:
		fmt.Fprintf(stdout, "filter       none\n")
	case *pv.Filter:
		fmt.Fprintf(stdout, "filter       true: delivered\n")
	default:
		fmt.Fprintf(stdout, "filter       false: filtered out, nothing is sent\n")
		return nil
	}
	if pv.Transformed {
		fmt.Fprintf(stdout, "transform    the body below\n")
	} else {
		fmt.Fprintf(stdout, "transform    none (format %s)\n", r.Config.Format)
	}
	fmt.Fprintln(stdout)
	return printPreview(stdout, pv)
}

// printPreview prints what would be sent, the body last and exactly.
func printPreview(w io.Writer, pv deliver.Preview) error {
	switch {
	case pv.Request != nil:
		req := pv.Request
		fmt.Fprintf(w, "%s %s\n", req.Method, req.URL)
		names := make([]string, 0, len(req.Header))
		for k := range req.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			for _, v := range req.Header[k] {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
		fmt.Fprintf(w, "Content-Length: %d\n\n", len(pv.Body))
	case pv.Entry != nil:
		e := pv.Entry
		fmt.Fprintf(w, "PutEvents entry\nEventBusName: %s\nSource: %s\nDetailType: %s\nTime: %s\nDetail:\n",
			aws.ToString(e.EventBusName), aws.ToString(e.Source), aws.ToString(e.DetailType), aws.ToTime(e.Time).Format(time.RFC3339))
	case pv.Message != nil:
		m := pv.Message
		fmt.Fprintf(w, "SendMessage\nQueueUrl: %s\n", aws.ToString(m.QueueUrl))
		if m.MessageGroupId != nil {
			fmt.Fprintf(w, "MessageGroupId: %s\nMessageDeduplicationId: %s\n", aws.ToString(m.MessageGroupId), aws.ToString(m.MessageDeduplicationId))
		}
		names := make([]string, 0, len(m.MessageAttributes))
		for k := range m.MessageAttributes {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(w, "MessageAttribute %s: %s\n", k, aws.ToString(m.MessageAttributes[k].StringValue))
		}
		fmt.Fprintf(w, "MessageBody:\n")
	default:
		fmt.Fprintf(w, "log: one summary line (event id, type, provider, destination); no body\n")
		return nil
	}
	if _, err := w.Write(pv.Body); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w)
	return err
}

// previewBuilders build every destination type without a client: a
// preview sends nothing.
func previewBuilders() deliver.Builders {
	b := deliver.DefaultBuilders(nil, deliver.NewHTTPClient())
	b["eventbridge"] = func(d config.Destination) (deliver.Destination, error) { return deliver.NewEventBridge(nil, d), nil }
	b["sqs"] = func(d config.Destination) (deliver.Destination, error) { return deliver.NewSQS(nil, d), nil }
	return b
}

// loadTransformConfig is serve's config (--config FILE, else hookline.yaml,
// else the development config), or an SSM parameter's (ssm:<name>), as the
// Lambda functions read it.
func loadTransformConfig(ctx context.Context, file string) (*config.Config, error) {
	if name, ok := strings.CutPrefix(file, "ssm:"); ok {
		doc, err := lazyAWSResolver().Resolve(ctx, "ssm", name)
		if err != nil {
			return nil, fmt.Errorf("config parameter %s: %w", name, err)
		}
		return config.Parse(ctx, []byte(doc), os.LookupEnv, lazyAWSResolver())
	}
	cfg, _, err := loadLocalConfig(ctx, file)
	return cfg, err
}

// fileEvent makes the event a body would be once accepted: validated and
// normalized by the provider's own code (samples.Parse signs it with a
// throwaway secret; nothing is verified), with a new id, not stored.
func fileEvent(file, prov, typ, tenant string) (store.Event, error) {
	if !slices.Contains(wire.Providers, prov) {
		return store.Event{}, fmt.Errorf("--file needs --provider: one of %s", strings.Join(wire.Providers, ", "))
	}
	event := strings.TrimPrefix(typ, prov+".")
	if event == "" {
		return store.Event{}, errors.New("--file needs --type, e.g. lead_created or journeybee.lead_created")
	}
	if tenant != "" && prov != "journeybee" {
		return store.Event{}, errors.New("--tenant is for journeybee (the token's company_uuid); the others carry none")
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return store.Event{}, err
	}
	now := time.Now()
	tok := samples.DefaultToken(now)
	if tenant != "" {
		tok.CompanyUUID = tenant
	}
	d, err := samples.Parse(prov, event, body, tok)
	if err != nil {
		return store.Event{}, fmt.Errorf("%s: the %s body is not valid: %w", file, prov, err)
	}
	if want := prov + "." + event; d.Type != want && prov != "journeybee" {
		return store.Event{}, fmt.Errorf("%s is a %s event, not --type %s", file, d.Type, want)
	}
	return ingest.NewEvent(d, now, time.Hour)
}
