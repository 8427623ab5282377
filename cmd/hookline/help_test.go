package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// flagNames lists the flags of fs.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// `hookline <command> -h` (and --help, and `hookline help <command>`)
// prints the command's usage with each of its flags to stdout and is not
// an error, also after positional arguments; hidden commands too.
func TestHelpForEveryCommand(t *testing.T) {
	if len(commands) < 12 {
		t.Fatalf("%d commands", len(commands))
	}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}, {c.name, "x", "y", "-h"}} {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			if err != nil {
				t.Errorf("hookline %s: %v", strings.Join(args, " "), err)
				continue
			}
			out := stdout.String()
			if !strings.HasPrefix(out, "usage: hookline "+c.name+" ") || !strings.Contains(out, c.summary) || stderr.Len() != 0 {
				t.Errorf("hookline %s printed\n%s\nand on stderr %q", strings.Join(args, " "), out, stderr.String())
				continue
			}
			names := flagNames(c.flags())
			if len(names) == 0 {
				t.Errorf("%s has no flags", c.name)
			}
			for _, name := range names {
				if !strings.Contains(out, "\n  --"+name+" ") && !strings.Contains(out, "\n  --"+name+"\n") {
					t.Errorf("hookline %s: --%s is not explained", strings.Join(args, " "), name)
				}
			}
		}
	}
	// The command's own function answers -h with flag.ErrHelp (run makes it exit 0).
	var out bytes.Buffer
	if err := invokeCmd(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) || !strings.Contains(out.String(), "sam local invoke") {
		t.Errorf("invokeCmd -h = %v\n%s", err, out.String())
	}
	out.Reset()
	if err := nullServer(context.Background(), []string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) ||
		!strings.HasPrefix(out.String(), "usage: hookline nullserver [--addr ADDRESS]") {
		t.Errorf("nullServer -h = %v\n%s", err, out.String())
	}
}

// visibleCommands are the commands `hookline -h` lists.
func visibleCommands() []command {
	var out []command
	for _, c := range commands {
		if !c.hidden {
			out = append(out, c)
		}
	}
	return out
}

// The top-level usage lists every flag of every command's flag set, and no
// flag a command lacks; a hidden command is not in it at all.
func TestTopLevelUsageListsEveryFlag(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stdout, &stderr); err != nil || stderr.Len() != 0 {
		t.Fatalf("hookline -h: %v %q", err, stderr.String())
	}
	usage := stdout.String()
	visible := visibleCommands()
	if c, ok := lookupCommand("nullserver"); !ok || !c.hidden {
		t.Errorf("nullserver: %+v, want a hidden command", c)
	}
	for _, c := range commands {
		if c.hidden && strings.Contains(usage, "hookline "+c.name) {
			t.Errorf("hookline -h lists the hidden command %s:\n%s", c.name, usage)
		}
	}
	// Each command's block starts with "  hookline <name>" and runs to the next.
	blocks := regexp.MustCompile(`(?m)^  hookline ([a-z]+)`).FindAllStringSubmatchIndex(usage, -1)
	if len(blocks) != len(visible) {
		t.Fatalf("%d command blocks in the usage, want %d:\n%s", len(blocks), len(visible), usage)
	}
	flagRef := regexp.MustCompile(`\[--([a-z-]+)[ \]]`)
	total := 0
	for i, b := range blocks {
		end := len(usage)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		name := usage[b[2]:b[3]]
		c, ok := lookupCommand(name)
		if !ok || c.name != visible[i].name {
			t.Fatalf("block %d is %q, want %q", i, name, visible[i].name)
		}
		var listed []string
		for _, m := range flagRef.FindAllStringSubmatch(usage[b[0]:end], -1) {
			listed = append(listed, m[1])
		}
		slices.Sort(listed)
		has := flagNames(c.flags()) // VisitAll: sorted
		if !slices.Equal(listed, has) {
			t.Errorf("hookline -h lists %s %v; its flag set has %v", name, listed, has)
		}
		total += len(listed)
	}
	if total < 40 {
		t.Fatalf("found %d flags in the usage: is the parse broken?\n%s", total, usage)
	}

	// Without a command: the usage on stderr, and an error.
	stdout.Reset()
	stderr.Reset()
	if err := run(context.Background(), nil, &stdout, &stderr); err == nil || stdout.Len() != 0 || stderr.String() != usage {
		t.Errorf("hookline without a command: %v, stdout %q", err, stdout.String())
	}
}

// Flags may follow the positional arguments; "--" ends the flags, and a lone
// "-" is an argument.
func TestParseArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		pos  []string
		s    string
		b    bool
		err  string
	}{
		{"flags first", []string{"--s", "v", "a", "b"}, []string{"a", "b"}, "v", false, ""},
		{"flags last", []string{"a", "b", "--s", "v", "--b"}, []string{"a", "b"}, "v", true, ""},
		{"flags between", []string{"a", "--s=v", "b"}, []string{"a", "b"}, "v", false, ""},
		{"dashes end the flags", []string{"a", "--", "--s", "-b"}, []string{"a", "--s", "-b"}, "", false, ""},
		{"dashes first", []string{"--", "-a"}, []string{"-a"}, "", false, ""},
		{"dashes after a bool flag", []string{"--b", "--", "--s"}, []string{"--s"}, "", true, ""},
		{"dashes as a flag's value", []string{"--s", "--", "a", "--b"}, []string{"a"}, "--", true, ""},
		{"a lone dash is an argument", []string{"x", "-", "--s", "v"}, []string{"x", "-"}, "v", false, ""},
		{"unknown flag after arguments", []string{"a", "--nope"}, nil, "", false, "t: flag provided but not defined: -nope (hookline t -h lists its flags)"},
		{"help after arguments", []string{"a", "-h"}, nil, "", false, flag.ErrHelp.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			s := fs.String("s", "", "")
			b := fs.Bool("b", false, "")
			pos, err := parseArgs(fs, tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(pos, tt.pos) || *s != tt.s || *b != tt.b {
				t.Fatalf("parseArgs(%q) = %q %v, -s %q -b %v; want %q, -s %q -b %v", tt.args, pos, err, *s, *b, tt.pos, tt.s, tt.b)
			}
		})
	}
}

// The commands take their flags after their arguments.
func TestCommandsTakeFlagsAfterArguments(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		_, _ = io.WriteString(w, `{"status":"accepted","event_id":"x"}`)
	}))
	defer srv.Close()
	ctx := context.Background()
	var out bytes.Buffer
	if err := run(ctx, []string{"send", "leadron", "lead.created", "--url", srv.URL}, &out, io.Discard); err != nil {
		t.Fatalf("send with --url last: %v", err)
	}
	mu.Lock()
	if !slices.Equal(paths, []string{"/webhooks/leadron"}) {
		t.Errorf("the sink saw %v", paths)
	}
	mu.Unlock()

	dir := t.TempDir()
	err := run(ctx, []string{"events", "show", "01KDVDNA00FEH2E0W38SCQYN9Y", "--data", dir}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "no local store at "+filepath.Join(dir, "hookline.db")) {
		t.Errorf("events show <id> --data DIR: %v", err)
	}
	// invoke's event "-" (stdin) is an argument; the --env after it is a flag.
	err = run(ctx, []string{"invoke", "--template", templatePath, "TombaFunction", "-", "--env", "NOT_KEY_VALUE"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "want KEY=VALUE") {
		t.Errorf("invoke <fn> - --env BAD: %v", err)
	}
	err = run(ctx, []string{"send", "leadron", "lead.created", "extra"}, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "usage: hookline send") {
		t.Errorf("send with three arguments: %v", err)
	}
}
