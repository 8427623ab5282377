package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// opsStore is what the operations commands need of a store.
type opsStore interface {
	Get(ctx context.Context, id string) (store.Event, error)
	ListByStatus(ctx context.Context, s store.Status, receivedBefore time.Time, limit int) ([]store.Event, error)
	ListByProvider(ctx context.Context, provider string, from, to time.Time, limit int) ([]store.Event, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
}

// backend is the store and queue an operation works on: the local SQLite
// file (--data) or AWS (--aws: HOOKLINE_TABLE, HOOKLINE_QUEUE_URL and the
// default AWS credentials).
type backend struct {
	store   opsStore
	enqueue func(ctx context.Context, id, typ string) error
	// dead is the dead-letter queue (nil on AWS without a DLQ URL).
	dead  console.DeadLetterQueue
	close func()
}

type backendFlags struct {
	data, dlq *string
	aws       *bool
}

// addBackendFlags defines --data and --aws, and for redrive (withDLQ) --dlq-url.
func addBackendFlags(fs *flag.FlagSet, withDLQ bool) backendFlags {
	f := backendFlags{
		data: fs.String("data", "./.hookline", "`directory` of the local store (hookline serve's --data)"),
		aws:  fs.Bool("aws", false, "work on AWS: HOOKLINE_TABLE, HOOKLINE_QUEUE_URL and the default AWS credentials"),
		dlq:  new(string),
	}
	if withDLQ {
		f.dlq = fs.String("dlq-url", os.Getenv("HOOKLINE_DLQ_URL"), "with --aws: the dead-letter queue's `URL` (default $HOOKLINE_DLQ_URL)")
	}
	return f
}

func (f backendFlags) open(ctx context.Context) (*backend, error) {
	if *f.aws {
		table, url := os.Getenv(awsenv.EnvTable), os.Getenv(awsenv.EnvQueueURL)
		if table == "" || url == "" {
			return nil, fmt.Errorf("--aws needs %s and %s", awsenv.EnvTable, awsenv.EnvQueueURL)
		}
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		q := sqs.New(awssqs.NewFromConfig(cfg), url)
		b := &backend{
			store:   dynamo.New(dynamodb.NewFromConfig(cfg), table),
			enqueue: q.Enqueue,
			close:   func() {},
		}
		if *f.dlq != "" {
			b.dead = q.DeadLetters(*f.dlq)
		}
		return b, nil
	}
	file := filepath.Join(*f.data, "hookline.db")
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("no local store at %s (start hookline serve --data %s first)", file, *f.data)
	}
	st, err := sqlite.Open(file)
	if err != nil {
		return nil, err
	}
	q, err := embedded.New(st.DB())
	if err != nil {
		st.Close()
		return nil, err
	}
	return &backend{store: st, enqueue: q.Enqueue, dead: q, close: func() { st.Close() }}, nil
}

// selection picks stored events: by id, or by provider, type glob, time
// range and status.
type selection struct {
	ids                []string
	provider, typeGlob string
	status             string
	from, to           time.Time
	limit              int
}

func addSelectionFlags(fs *flag.FlagSet) *selection {
	s := &selection{}
	fs.Func("id", "an event `id` (repeatable)", func(v string) error { s.ids = append(s.ids, v); return nil })
	fs.StringVar(&s.provider, "provider", "", "`provider`: journeybee, leadron or tomba (default all)")
	fs.StringVar(&s.typeGlob, "type", "", "canonical type `glob`, e.g. 'leadron.lead.*'")
	fs.StringVar(&s.status, "status", "", "`status`: received, queued, delivered or failed")
	fs.Func("since", "only events received in this last `duration` (e.g. 24h)", func(v string) error {
		d, err := time.ParseDuration(v)
		s.from = time.Now().Add(-d)
		return err
	})
	fs.Func("from", "received at or after this `time` (RFC 3339)", func(v string) (err error) { s.from, err = time.Parse(time.RFC3339, v); return })
	fs.Func("to", "received before this `time` (RFC 3339)", func(v string) (err error) { s.to, err = time.Parse(time.RFC3339, v); return })
	fs.IntVar(&s.limit, "limit", 1000, "at most `N` events")
	return s
}

func (s *selection) events(ctx context.Context, st opsStore) ([]store.Event, error) {
	if len(s.ids) > 0 {
		var out []store.Event
		for _, id := range s.ids {
			ev, err := st.Get(ctx, id)
			if err != nil {
				return nil, fmt.Errorf("event %s: %w", id, err)
			}
			out = append(out, ev)
		}
		return out, nil
	}
	if s.typeGlob != "" {
		if _, err := path.Match(s.typeGlob, ""); err != nil {
			return nil, fmt.Errorf("--type %q is not a glob", s.typeGlob)
		}
	}
	from, to := s.from, s.to
	if from.IsZero() {
		from = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC) // before any event
	}
	if to.IsZero() {
		to = time.Now().Add(time.Minute)
	}
	provs := wire.Providers
	if s.provider != "" {
		if !slices.Contains(wire.Providers, s.provider) {
			return nil, fmt.Errorf("--provider %q: use one of %s", s.provider, strings.Join(wire.Providers, ", "))
		}
		provs = []string{s.provider}
	}
	var out []store.Event
	for _, p := range provs {
		evs, err := st.ListByProvider(ctx, p, from, to, s.limit)
		if err != nil {
			return nil, err
		}
		for _, ev := range evs {
			if s.status != "" && string(ev.Status) != s.status {
				continue
			}
			if s.typeGlob != "" {
				if ok, _ := path.Match(s.typeGlob, ev.Type); !ok {
					continue
				}
			}
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(a, b store.Event) int { return strings.Compare(a.ID, b.ID) })
	if len(out) > s.limit {
		out = out[:s.limit]
	}
	return out, nil
}

type eventsFlags struct {
	backend backendFlags
	sel     *selection
	json    *bool
}

func newEventsFlags() (*flag.FlagSet, eventsFlags) {
	fs := flag.NewFlagSet("events", flag.ContinueOnError)
	return fs, eventsFlags{
		backend: addBackendFlags(fs, false),
		sel:     addSelectionFlags(fs),
		json:    fs.Bool("json", false, "one JSON object per event (without bodies)"),
	}
}

// eventsCmd lists stored events with their delivery state, or shows one.
func eventsCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newEventsFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	bf, sel, asJSON := f.backend, f.sel, f.json
	if len(args) == 2 && args[0] == "show" {
		sel.ids = []string{args[1]}
		*asJSON = true
	} else if len(args) > 0 {
		return errors.New("usage: hookline events [flags] | hookline events [flags] show <id>")
	}
	b, err := bf.open(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	evs, err := sel.events(ctx, b.store)
	if err != nil {
		return err
	}
	for _, ev := range evs {
		if *asJSON {
			out, _ := json.Marshal(eventView(ev))
			fmt.Fprintf(stdout, "%s\n", out)
			continue
		}
		var ds []string
		for _, d := range ev.Deliveries {
			state := "pending"
			switch {
			case d.Delivered():
				state = "delivered"
			case d.Filtered():
				state = "filtered"
			case d.Settled():
				state = "failed"
			}
			ds = append(ds, fmt.Sprintf("%s:%s/%d", d.Destination, state, d.Attempts))
		}
		fmt.Fprintf(stdout, "%s  %-9s  %-34s  %s  %s\n", ev.ID, ev.Status, ev.Type,
			ev.ReceivedAt.UTC().Format(time.RFC3339), strings.Join(ds, " "))
	}
	return nil
}

// eventView is what `events --json` prints: everything but the bodies.
func eventView(ev store.Event) map[string]any {
	return map[string]any{
		"id": ev.ID, "provider": ev.Provider, "type": ev.Type, "status": ev.Status,
		"entity_id": ev.EntityID, "tenant": ev.Tenant, "received_at": ev.ReceivedAt, "occurred_at": ev.OccurredAt,
		"body_bytes": len(ev.Raw), "deliveries": ev.Deliveries, "version": ev.Version,
	}
}

type replayFlags struct {
	backend     backendFlags
	sel         *selection
	destination *string
	dryRun      *bool
}

func newReplayFlags() (*flag.FlagSet, replayFlags) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	return fs, replayFlags{
		backend:     addBackendFlags(fs, false),
		sel:         addSelectionFlags(fs),
		destination: fs.String("destination", "", "re-deliver to this destination `name` only"),
		dryRun:      fs.Bool("dry-run", false, "list what would be replayed and change nothing"),
	}
}

// replay re-delivers stored events: it clears the selected destinations'
// delivery state (all of them without --destination), sets the event back
// to queued and enqueues it. Deliveries carry the same webhook-id (the event
// id), so receivers dedupe.
func replay(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newReplayFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("replay takes no arguments, got %q (select events with --id, --provider, --type, --status, --since)", args)
	}
	bf, sel, dest, dry := f.backend, f.sel, f.destination, f.dryRun
	if len(sel.ids) == 0 && sel.provider == "" && sel.typeGlob == "" && sel.status == "" && sel.from.IsZero() {
		return errors.New("replay needs a selection: --id, --provider, --type, --status, --since or --from")
	}
	b, err := bf.open(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	evs, err := sel.events(ctx, b.store)
	if err != nil {
		return err
	}
	n := 0
	for _, ev := range evs {
		if *dry {
			fmt.Fprintf(stdout, "would replay %s %s (%s)\n", ev.ID, ev.Type, ev.Status)
			continue
		}
		if err := replayOne(ctx, b, ev, *dest); err != nil {
			return fmt.Errorf("replay %s: %w (%d replayed before it)", ev.ID, err, n)
		}
		n++
		fmt.Fprintf(stdout, "replayed %s %s\n", ev.ID, ev.Type)
	}
	fmt.Fprintf(stdout, "%d events %s\n", len(evs), map[bool]string{true: "selected (dry run: nothing changed)", false: "replayed"}[*dry])
	return nil
}

func replayOne(ctx context.Context, b *backend, ev store.Event, dest string) error {
	return console.Replay(ctx, b.store, b.enqueue, ev, dest)
}

type redriveFlags struct {
	backend backendFlags
	id      *string
	dryRun  *bool
}

func newRedriveFlags() (*flag.FlagSet, redriveFlags) {
	fs := flag.NewFlagSet("redrive", flag.ContinueOnError)
	return fs, redriveFlags{
		backend: addBackendFlags(fs, true),
		id:      fs.String("id", "", "redrive only the dead letters of this event `id` (default every dead letter)"),
		dryRun:  fs.Bool("dry-run", false, "count what would be redriven and move nothing"),
	}
}

// redrive moves dead-lettered messages back to the queue: the console's
// Redrive (POST /api/deadletters/redrive).
func redrive(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newRedriveFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	b, err := f.backend.open(ctx)
	if err != nil {
		return err
	}
	defer b.close()
	if b.dead == nil {
		return errors.New("redrive --aws needs --dlq-url or HOOKLINE_DLQ_URL")
	}
	n, err := console.Redrive(ctx, b.dead, *f.id, *f.dryRun)
	if err != nil {
		return err
	}
	if *f.dryRun {
		fmt.Fprintf(stdout, "would redrive %d messages (dry run: nothing moved)\n", n)
		return nil
	}
	fmt.Fprintf(stdout, "redrove %d messages\n", n)
	return nil
}
