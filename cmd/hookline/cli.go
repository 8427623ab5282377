package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// command describes one hookline command for the usage texts. Its flags
// come from the same constructor the command parses its arguments with, so
// neither `hookline -h` nor `hookline <command> -h` can list a flag the
// command lacks or miss one it has.
type command struct {
	name    string
	args    string // the positional arguments, e.g. "<provider> <event>"
	summary string // one line for the top-level usage
	doc     string // more text for `hookline <command> -h`, if any
	flags   func() *flag.FlagSet
	hidden  bool // left out of `hookline -h` (a helper of another command); -h still explains it
}

// flagsOf adapts a command's flag constructor to command.flags.
func flagsOf[T any](newFlags func() (*flag.FlagSet, T)) func() *flag.FlagSet {
	return func() *flag.FlagSet { fs, _ := newFlags(); return fs }
}

// commands is every command, in the order the usage lists them. run
// dispatches each by name (a test checks that every one is reachable).
var commands = []command{
	{name: "serve", summary: "the webhook routes and the processor on an embedded SQLite store",
		flags: flagsOf(newServeFlags)},
	{name: "send", args: "<provider> <event>", summary: "sign a sample delivery with the configured secret and POST it",
		flags: flagsOf(newSendFlags)},
	{name: "load", summary: "signed load with redeliveries against a running hookline; prints a table",
		flags: flagsOf(newLoadFlags)},
	{name: "compare", summary: "two builds' serve and a null server side by side under the same load (make bench-compare)",
		doc: compareDoc, flags: flagsOf(newCompareFlags)},
	{name: "samples", summary: "write the sample events under events/ (API Gateway, SQS, scheduled) and events/env.local.json",
		flags: flagsOf(newSamplesFlags)},
	{name: "standins", summary: "make what events/env.local.json names in DynamoDB Local and moto; store every sample event",
		doc: standinsDoc, flags: flagsOf(newStandinsFlags)},
	{name: "invoke", args: "<FunctionLogicalId> <event.json | ->",
		summary: "run a Lambda's real bootstrap on an event (sam local invoke without Docker)",
		doc:     invokeDoc, flags: flagsOf(newInvokeFlags)},
	{name: "cost", summary: "what one accepted event costs on AWS, in $ per million events (DynamoDB Local + moto)",
		doc: costDoc, flags: flagsOf(newCostFlags)},
	{name: "events", args: "[show <id>]", summary: "list stored events with each destination's state, or show one",
		flags: flagsOf(newEventsFlags)},
	{name: "replay", summary: "re-deliver the selected events (same webhook-id: receivers dedupe)",
		flags: flagsOf(newReplayFlags)},
	{name: "redrive", summary: "move dead-lettered messages back onto the queue (all, or one event's; --dry-run counts)",
		flags: flagsOf(newRedriveFlags)},
	{name: "console", summary: "the operator console of a deployed stack (its table, queue and DLQ), on this machine",
		doc: consoleDoc, flags: flagsOf(newConsoleFlags)},
	{name: "reverify", args: "[rejection id ...]", summary: "verify quarantined deliveries again with the config's secrets, at their receive time; ingest those that pass",
		flags: flagsOf(newReverifyFlags)},
	{name: "transform", summary: "dry run of a destination's filter and transform: whether it passes, and the exact signed body and headers it would send",
		flags: flagsOf(newTransformFlags)},
	{name: "nullserver", summary: "a null net/http webhook receiver, compare's yardstick",
		doc: nullServerDoc, flags: flagsOf(newNullServerFlags), hidden: true},
}

func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

const flagPlacement = `Flags may come before or after the arguments; an argument that starts
with "-" (other than "-" alone) goes after "--".`

// writeUsage writes the top-level usage: every command with every flag it
// has, but for the hidden ones.
func writeUsage(w io.Writer) {
	fmt.Fprintf(w, "hookline receives JourneyBee, Leadron and Tomba.io webhooks.\n\n")
	fmt.Fprintf(w, "Usage: hookline <command> [flags] [arguments]\n\n")
	for _, c := range commands {
		if c.hidden {
			continue
		}
		fmt.Fprintf(w, "  %s\n", wrap(append([]string{"hookline", c.name}, synopsis(c.flags(), c.args)...), 100, "      "))
		fmt.Fprintf(w, "      %s\n", c.summary)
	}
	fmt.Fprintf(w, "\n%s\n`hookline <command> -h` (or `hookline help <command>`) explains a command's flags.\n", flagPlacement)
}

// writeCommandUsage writes `hookline <command> -h`.
func writeCommandUsage(w io.Writer, c command) {
	fs := c.flags()
	fmt.Fprintf(w, "usage: %s\n\n%s.\n", wrap(append([]string{"hookline", c.name}, synopsis(fs, c.args)...), 100, "         "), c.summary)
	if c.doc != "" {
		fmt.Fprintf(w, "\n%s", c.doc)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		name, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if name != "" {
			fmt.Fprintf(w, " %s", strings.ToUpper(name))
		}
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" &&
			!strings.Contains(usage, "(default") {
			if fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
				fmt.Fprintf(w, " (default %q)", f.DefValue)
			} else {
				fmt.Fprintf(w, " (default %s)", f.DefValue)
			}
		}
		fmt.Fprintln(w)
	})
	fmt.Fprintf(w, "\n%s\n", flagPlacement)
}

// synopsis is "[--name VALUE]" for every flag of fs, in alphabetical order
// (the order of flag.VisitAll), then the positional arguments.
func synopsis(fs *flag.FlagSet, args string) []string {
	var parts []string
	fs.VisitAll(func(f *flag.Flag) {
		if name, _ := flag.UnquoteUsage(f); name != "" {
			parts = append(parts, "[--"+f.Name+" "+strings.ToUpper(name)+"]")
		} else {
			parts = append(parts, "[--"+f.Name+"]")
		}
	})
	if args != "" {
		parts = append(parts, args)
	}
	return parts
}

// wrap joins parts with spaces into lines of at most width, indenting the
// continuation lines (a part longer than width keeps its own line).
func wrap(parts []string, width int, indent string) string {
	var b strings.Builder
	line := 0
	for i, part := range parts {
		if i > 0 && line+1+len(part) > width {
			b.WriteString("\n" + indent)
			line = len(indent)
		} else if i > 0 {
			b.WriteByte(' ')
			line++
		}
		b.WriteString(part)
		line += len(part)
	}
	return b.String()
}

// parseArgs parses a command's arguments: flags may come before, between or
// after the positional arguments, which it returns in order. Everything
// after "--" is positional, and so is a lone "-" (invoke's stdin). -h or
// --help prints the command's usage to stdout and returns flag.ErrHelp,
// which run turns into exit status 0; other flag errors name the command
// and where its usage is, and print nothing.
// parseNoArgs is parseArgs for a command that takes no positional
// arguments: any is an error naming the command.
func parseNoArgs(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	rest, err := parseArgs(fs, args, stdout)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("%s takes no arguments, got %q", fs.Name(), rest)
	}
	return err
}

func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			if c, ok := lookupCommand(fs.Name()); ok {
				writeCommandUsage(stdout, c)
			}
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w (hookline %s -h lists its flags)", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if endedByDashes(fs, args[:len(args)-len(rest)]) {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// endedByDashes reports whether flag parsing of consumed (the arguments
// fs.Parse used) stopped at a "--" terminator rather than at a positional
// argument. It walks the flags the way package flag does, so a "--" that is
// the value of "--name value" is not taken for the terminator.
func endedByDashes(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		arg := consumed[i]
		if arg == "--" {
			return true
		}
		name := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		f := fs.Lookup(name)
		if f == nil {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		i++ // the next argument is this flag's value
	}
	return false
}
