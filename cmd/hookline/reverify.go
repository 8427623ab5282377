package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/wire"
)

type reverifyFlags struct {
	backend  backendFlags
	config   *string
	provider *string
	dryRun   *bool
}

func newReverifyFlags() (*flag.FlagSet, reverifyFlags) {
	fs := flag.NewFlagSet("reverify", flag.ContinueOnError)
	return fs, reverifyFlags{
		backend:  addBackendFlags(fs, false),
		config:   fs.String("config", "", "config `file` with the fixed secrets (default hookline.yaml if present, else the development config)"),
		provider: fs.String("provider", "", "re-verify every delivery quarantined for this `provider`"),
		dryRun:   fs.Bool("dry-run", false, "list what would be re-verified and change nothing"),
	}
}

// reverify runs quarantined deliveries (by rejection id, or every one of
// --provider) through the provider's verification again, with the config's
// current secrets and the clock at each delivery's receive time, and
// ingests those that pass (the same path as hookline serve's console).
func reverifyCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newReverifyFlags()
	ids, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if (len(ids) == 0) == (*f.provider == "") {
		return errors.New("reverify needs rejection ids or --provider (not both)")
	}
	cfg, _, err := loadLocalConfig(ctx, *f.config)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	var (
		reader   store.RejectionReader
		handlers = map[string]*ingest.Handler{}
		build    func(name string) (*ingest.Handler, error)
	)
	if *f.backend.aws {
		table, url := os.Getenv(awsenv.EnvTable), os.Getenv(awsenv.EnvQueueURL)
		if table == "" || url == "" {
			return fmt.Errorf("--aws needs %s and %s", awsenv.EnvTable, awsenv.EnvQueueURL)
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return err
		}
		st, q := dynamo.New(dynamodb.NewFromConfig(ac), table), sqs.New(awssqs.NewFromConfig(ac), url)
		reader = st
		build = func(name string) (*ingest.Handler, error) { return wire.Handler(cfg, name, st, q, log) }
	} else {
		file := filepath.Join(*f.backend.data, "hookline.db")
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("no local store at %s (start hookline serve --data %s first)", file, *f.backend.data)
		}
		stack, err := openLocalStack(file, cfg)
		if err != nil {
			return err
		}
		defer stack.Close()
		st, q, ls := stack.st, stack.q, stack.ls
		reader = st
		build = func(name string) (*ingest.Handler, error) { return wire.Handler(cfg, name, ls, q, log) }
	}
	if *f.provider != "" {
		if !slices.Contains(cfg.Providers(), *f.provider) {
			return fmt.Errorf("--provider %q is not served by the config (%v)", *f.provider, cfg.Providers())
		}
		rs, err := reader.Rejections(ctx, store.MaxRejectionsPerPage)
		if err != nil {
			return err
		}
		for _, r := range slices.Backward(rs) {
			if r.Quarantined && r.Provider == *f.provider {
				ids = append(ids, r.ID)
			}
		}
	}
	counts := map[string]int{}
	for _, id := range ids {
		q, err := reader.Quarantined(ctx, id)
		if err != nil {
			return fmt.Errorf("rejection %s: %w", id, err)
		}
		if *f.dryRun {
			fmt.Fprintf(stdout, "would re-verify %s (%s, received %s)\n", id, q.Provider, q.At.Format("2006-01-02T15:04:05Z07:00"))
			continue
		}
		h := handlers[q.Provider]
		if h == nil {
			if h, err = build(q.Provider); err != nil {
				return err
			}
			handlers[q.Provider] = h
		}
		res, err := h.Reverify(ctx, q)
		if err != nil {
			return fmt.Errorf("rejection %s: %w", id, err)
		}
		counts[res.Status]++
		fmt.Fprintf(stdout, "%s %s %s%s\n", id, res.Status, res.EventID, res.Reason)
	}
	if *f.dryRun {
		fmt.Fprintf(stdout, "%d kept deliveries selected (dry run: nothing changed)\n", len(ids))
		return nil
	}
	fmt.Fprintf(stdout, "%d accepted, %d duplicate, %d rejected\n", counts["accepted"], counts["duplicate"], counts["rejected"])
	return nil
}
