// Command hookline is the local side of hookline: one binary that serves the
// webhook routes on an embedded SQLite store (serve), signs and posts sample
// deliveries (send), and writes the sample events in events/ (samples).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `hookline receives JourneyBee, Leadron and Tomba.io webhooks.

Usage:
  hookline serve   [--addr 127.0.0.1:8080] [--data ./.hookline] [--config hookline.yaml]
  hookline send    [--url http://127.0.0.1:8080] [--config FILE] <provider> <event>
  hookline load    [--url URL] [--n 20000] [--concurrency 50] [--dup 0.2]
                                       signed load with redeliveries; prints a table
  hookline samples [--out events]      write the API Gateway sample events
  hookline invoke  [--local | --env-file FILE] [--env K=V] [--times N] <FunctionLogicalId> <event.json>
                                       run a Lambda's real bootstrap on an event (sam local invoke without Docker)
  hookline events  [--data DIR | --aws] [--provider P] [--type GLOB] [--status S] [--since 24h] [--json]
  hookline events  [--data DIR | --aws] show <id>
  hookline replay  [--data DIR | --aws] (--id ID | --provider P | --type GLOB | --status S | --since D)
                   [--destination NAME] [--dry-run]
  hookline redrive [--data DIR | --aws --dlq-url URL]
  hookline transform --destination NAME [--config FILE] [--document]
                   (--event ID [--data DIR | --aws] | --file BODY.json --provider P --type T [--tenant ID])
                                       dry run of a destination's filter and transform: what it would send
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], os.Stdout, os.Stderr)
	case "send":
		return send(ctx, args[1:], os.Stdout)
	case "events":
		return eventsCmd(ctx, args[1:], os.Stdout)
	case "replay":
		return replay(ctx, args[1:], os.Stdout)
	case "redrive":
		return redrive(ctx, args[1:], os.Stdout)
	case "transform":
		return transformCmd(ctx, args[1:], os.Stdout)
	case "invoke":
		return invokeCmd(ctx, args[1:], os.Stdout)
	case "load":
		return load(ctx, args[1:], os.Stdout)
	case "samples":
		return samplesCmd(args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
