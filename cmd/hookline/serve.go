package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/wire"
)

type serveFlags struct {
	addr, data, config *string
	sweepEvery         *time.Duration
	console            *consoleFlags
}

func newServeFlags() (*flag.FlagSet, serveFlags) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	return fs, serveFlags{
		addr:       fs.String("addr", "127.0.0.1:8080", "listen `address`"),
		data:       fs.String("data", "./.hookline", "`directory` of the embedded SQLite store"),
		config:     fs.String("config", "", "config `file` (default hookline.yaml if present, else the built-in development config)"),
		sweepEvery: fs.Duration("sweep-every", 15*time.Second, "how often to re-enqueue events stuck unqueued"),
		console:    addConsoleFlags(fs),
	}
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, f := newServeFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	addr, data, cfgFile, sweepEvery, cf := f.addr, f.data, f.config, f.sweepEvery, f.console
	log := wire.Logger(stdout)
	if err := cf.check(); err != nil { // before anything starts: a refused console is a refused start
		return err
	}

	cfg, dev, err := loadLocalConfig(ctx, *cfgFile)
	if err != nil {
		return err
	}
	if err := devOnLoopbackOnly(*addr, cfg, dev); err != nil {
		return err
	}
	if dev {
		fmt.Fprintf(stderr, "hookline: no hookline.yaml: using the built-in development config. Development secrets:\n"+
			"  journeybee integration UUID: %s\n  leadron signing secret:      %s\n  tomba header X-Tomba-Token:  %s\n",
			config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken)
	}

	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	stack, err := openLocalStack(filepath.Join(*data, "hookline.db"), cfg)
	if err != nil {
		return err
	}
	defer stack.Close()
	st, q, ls := stack.st, stack.q, stack.ls

	// The processor runs in-process on the embedded queue (started below);
	// the console previews events at its routes.
	proc, err := deliver.NewProcessor(cfg, st, deliver.DefaultBuilders(log, deliver.NewHTTPClient()), log)
	if err != nil {
		return err
	}
	con, err := cf.console(cfg, st, q, proc.Routes, log)
	if err != nil {
		return err
	}
	// Duplicate and rejection counts, per minute, into the store: one
	// write a minute; the last one when serve stops, before the store closes.
	flushCtx, stopFlush := context.WithCancel(ctx)
	flushDone := make(chan struct{})
	go func() { defer close(flushDone); con.RunFlusher(flushCtx, st, time.Minute) }()
	defer func() { stopFlush(); <-flushDone }()

	mux := http.NewServeMux()
	handlers := map[string]*ingest.Handler{}
	for _, name := range cfg.Providers() {
		h, err := wire.Handler(cfg, name, ls, q, log)
		if err != nil {
			return err
		}
		h.Observe = con.ObserveIngest
		h.Rejections = st                             // the console's recent rejections
		h.Quarantine = wire.Quarantine(cfg, name, st) // nil unless ingest.quarantine
		handlers[name] = h
		mux.Handle("/webhooks/"+name, h)
	}
	if cfg.Ingest.Quarantine != nil {
		con.SetReverify(reverifier(handlers))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`)
	})

	// The processor is stopped (after the messages in hand) before the
	// store closes.
	proc.History = con.Recorder(st)
	runner := &deliver.Runner{Queue: q, Processor: proc, Workers: cfg.Processor.Workers, Visibility: proc.Lease(), Log: log}
	runCtx, stopRunner := context.WithCancel(ctx)
	runnerDone := make(chan struct{})
	go func() { defer close(runnerDone); runner.Run(runCtx) }()
	defer func() { stopRunner(); <-runnerDone }()

	sweeper := &ingest.Sweeper{Store: st, Queue: q, After: cfg.Ingest.SweepAfter.D()}
	go sweeper.Run(ctx, *sweepEvery, func(n int, err error) {
		if err != nil {
			log.Error("sweep", slog.String("error", err.Error()))
			return
		}
		log.Info("sweep", slog.Int("requeued", n))
	})
	// Retention: expired keys and events leave the file, as DynamoDB's TTL
	// removes them on AWS.
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			if n, err := st.Purge(ctx, time.Now()); err != nil {
				log.Error("purge", slog.String("error", err.Error()))
			} else if n > 0 {
				log.Info("purge", slog.Int64("events", n))
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("serving", slog.String("addr", "http://"+ln.Addr().String()),
		slog.String("data", *data), slog.Any("providers", cfg.Providers()))
	// The console on its own listener, never on the webhook one.
	cln, err := con.Listen()
	if err != nil {
		return err
	}
	consoleURL := "http://" + cln.Addr().String() + "/"
	log.Info("console", slog.String("addr", consoleURL), slog.Bool("token", cf.token() != ""))
	fmt.Fprintf(stderr, "hookline: console on %s\n", consoleURL)
	consoleCtx, stopConsole := context.WithCancel(ctx)
	consoleDone := make(chan error, 1)
	go func() { consoleDone <- con.Serve(consoleCtx, cln) }()
	defer func() { stopConsole(); <-consoleDone }()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// reverifier re-verifies a quarantined delivery with the handler of its
// provider (built from the config serve runs with now).
func reverifier(handlers map[string]*ingest.Handler) console.Reverify {
	return func(ctx context.Context, q store.Quarantined) (console.Reverified, error) {
		h := handlers[q.Provider]
		if h == nil {
			return console.Reverified{Status: "rejected", Reason: "provider_not_served"}, nil
		}
		res, err := h.Reverify(ctx, q)
		return console.Reverified{Status: res.Status, EventID: res.EventID, Reason: res.Reason}, err
	}
}

// routedBy says whether any destination of cfg takes events of a type: the
// processor's routing (deliver.Processor matches each destination's globs
// against the event's canonical type), done at ingest.
func routedBy(cfg *config.Config) func(eventType string) bool {
	dests := cfg.Destinations
	return func(eventType string) bool {
		for i := range dests {
			if dests[i].Matches(eventType) {
				return true
			}
		}
		return false
	}
}

// devConfigHowTo is how serve's refusal to use the development secrets on
// a non-loopback address says what to do instead.
const devConfigHowTo = `Write a hookline.yaml with your own secrets (or pass --config FILE); for example:

  sources:
    journeybee: { secrets: ["${JOURNEYBEE_INTEGRATION_UUID}"] }
    leadron:    { secrets: ["${LEADRON_SIGNING_SECRET}"] }
    tomba:      { header: X-Tomba-Token, secrets: ["${TOMBA_TOKEN}"] }
  destinations:
    - { name: log, type: log }

A provider without a secret is not served. See "Configuration" in README.md.
Or listen on a loopback address only: --addr 127.0.0.1:8080 (what make run does).`

// devOnLoopbackOnly refuses the development secrets (the built-in config, or
// a config file that uses them) on an address other machines can reach: they
// are public, and the events/ samples signed with them stay valid until 2100.
func devOnLoopbackOnly(addr string, cfg *config.Config, dev bool) error {
	if loopback(addr) {
		return nil
	}
	if dev {
		return fmt.Errorf("serve: --addr %s is not a loopback address, and without a config file serve would use the "+
			"built-in development config, whose secrets are public.\n%s", addr, devConfigHowTo)
	}
	if d := cfg.DevelopmentSecrets(); len(d) > 0 {
		return fmt.Errorf("serve: --addr %s is not a loopback address, and the config uses the public development secrets (%s).\n%s",
			addr, strings.Join(d, ", "), devConfigHowTo)
	}
	return nil
}

// loopback reports whether addr (host:port) listens on a loopback address
// only: "localhost" or a loopback IP. An empty host listens on every
// interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// receiveMargin is how many receives of a message, beyond one per delivery
// attempt, maxReceives allows: receives that attempt nothing, such as a
// failed Process (store busy or unavailable: the message backs off and comes
// back) or a lease that ran out while its processor was still working.
const receiveMargin = 10

// maxReceives is the embedded queue's dead-letter threshold for cfg. The
// processor, not the queue, decides when a message is given up: it makes at
// most max_attempts attempts per destination and every receive attempts at
// least one due destination, so a message is received at most the sum of
// every destination's max_attempts times before its event is delivered or
// marked failed (and the message deleted). The queue's dead-lettering is a
// backstop for messages that keep failing outside the processor's control;
// with the default 10 it would dead-letter an event whose destinations still
// had attempts left (two destinations of 10 attempts already need up to 20
// receives), leaving it neither delivered nor marked failed.
func maxReceives(cfg *config.Config) int {
	n := receiveMargin
	for _, d := range cfg.Destinations {
		attempts := d.MaxAttempts
		if attempts <= 0 { // config.Parse sets the default; a Config built in code may not
			attempts = config.DefaultMaxAttempts
		}
		n += attempts
	}
	return n
}

// loadLocalConfig reads --config, else ./hookline.yaml, else the built-in
// development config (dev = true).
func loadLocalConfig(ctx context.Context, file string) (cfg *config.Config, dev bool, err error) {
	if file == "" {
		if _, err := os.Stat("hookline.yaml"); err == nil {
			file = "hookline.yaml"
		}
	}
	if file == "" {
		return config.Development(), true, nil
	}
	cfg, err = config.Load(ctx, file, lazyAWSResolver())
	return cfg, false, err
}
