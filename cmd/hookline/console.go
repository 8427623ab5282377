package main

import (
	"flag"
	"log/slog"
	"os"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// EnvConsoleToken is read when --console-token is not given, so the token
// need not appear in the process list.
const EnvConsoleToken = "HOOKLINE_CONSOLE_TOKEN"

// consoleFlags are serve's console flags.
type consoleFlags struct {
	addr, tok *string
	hosts     []string
}

func addConsoleFlags(fs *flag.FlagSet) *consoleFlags {
	f := &consoleFlags{
		addr: fs.String("console-addr", console.DefaultAddr, "the operator console's listen address (its own listener, never the webhook one)"),
		tok: fs.String("console-token", "", "bearer token for the console's API; required when --console-addr is not loopback (default $"+
			EnvConsoleToken+")"),
	}
	fs.Func("console-host", "a name the console answers to in the Host header, besides 127.0.0.1 and localhost (repeatable)",
		func(v string) error { f.hosts = append(f.hosts, v); return nil })
	return f
}

func (f *consoleFlags) token() string {
	if *f.tok != "" {
		return *f.tok
	}
	return os.Getenv(EnvConsoleToken)
}

// check refuses a non-loopback console without a token.
func (f *consoleFlags) check() error {
	_, err := console.New(nil, nil, console.Options{Addr: *f.addr, Token: f.token()})
	return err
}

// console builds the console of serve's store and queue.
func (f *consoleFlags) console(cfg *config.Config, st *sqlite.Store, q *embedded.Queue, routes []deliver.Route, log *slog.Logger) (*console.Console, error) {
	backoff := deliver.BackoffFrom(cfg.Processor)
	schedules := map[string]time.Duration{}
	var names []string
	for _, d := range cfg.Destinations {
		names = append(names, d.Name)
		schedules[d.Name] = schedule(d, backoff)
	}
	return console.New(st, q.Enqueue, console.Options{
		Addr:         *f.addr,
		Token:        f.token(),
		Hosts:        f.hosts,
		Providers:    cfg.Providers(),
		Destinations: names,
		Routes:       routes,
		Schedule:     func(dest string) time.Duration { return schedules[dest] },
		Log:          log,
		DeadLetters:  q,
	})
}

// schedule is the longest a delivery to d can stay pending without a
// Retry-After: every attempt's timeout plus every backoff ceiling between.
func schedule(d config.Destination, b deliver.Backoff) time.Duration {
	attempts := d.MaxAttempts
	if attempts <= 0 {
		attempts = config.DefaultMaxAttempts
	}
	timeout := d.Timeout.D()
	if timeout <= 0 {
		timeout = config.DefaultHTTPTimeout
	}
	total := time.Duration(attempts) * timeout
	for n := 1; n < attempts; n++ {
		total += b.Ceiling(n)
	}
	return total
}
