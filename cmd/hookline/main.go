// Command hookline is the local side of hookline: one binary that serves the
// webhook routes on an embedded SQLite store (serve), signs and posts sample
// deliveries (send), writes the sample events in events/ (samples), runs the
// Lambda functions without Docker (invoke), meters what an event costs on
// AWS (cost), compares builds under load (compare) and operates on stored
// events (events, replay, redrive). `hookline -h` lists every command and
// flag.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hookline:", err)
		os.Exit(1)
	}
}

// run runs the command args name. Asking for help (-h, --help, help) is
// not an error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		writeUsage(stderr)
		return errors.New("no command")
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stdout, stderr)
	case "send":
		err = send(ctx, args[1:], stdout)
	case "events":
		err = eventsCmd(ctx, args[1:], stdout)
	case "replay":
		err = replay(ctx, args[1:], stdout)
	case "redrive":
		err = redrive(ctx, args[1:], stdout)
	case "console":
		err = consoleCmd(ctx, args[1:], stdout, stderr)
	case "reverify":
		err = reverifyCmd(ctx, args[1:], stdout)
	case "transform":
		err = transformCmd(ctx, args[1:], stdout)
	case "invoke":
		err = invokeCmd(ctx, args[1:], stdout)
	case "standins":
		err = standinsCmd(ctx, args[1:], stdout)
	case "load":
		err = load(ctx, args[1:], stdout)
	case "cost":
		err = costCmd(ctx, args[1:], stdout)
	case "compare":
		err = compareCmd(ctx, args[1:], stdout)
	case "nullserver": // compare's yardstick; hidden from the usage
		err = nullServer(ctx, args[1:], stdout)
	case "samples":
		err = samplesCmd(args[1:], stdout)
	case "help", "-h", "-help", "--help":
		if len(args) > 1 {
			c, ok := lookupCommand(args[1])
			if !ok {
				return fmt.Errorf("help: no command %q", args[1])
			}
			writeCommandUsage(stdout, c)
			return nil
		}
		writeUsage(stdout)
		return nil
	default:
		writeUsage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}
