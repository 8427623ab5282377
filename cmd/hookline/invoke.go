package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/lambdaemu"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/template"
)

const invokeDoc = `Runs one function of template.yaml like "sam local invoke", without Docker:
builds its bootstrap for this machine with the template's build method (or
uses --bootstrap), starts it under a Lambda Runtime API emulator with the
function's environment and log format (LoggingConfig) from the template,
feeds it the event ("-": stdin) and prints the function's log lines, the
response, and the init and invoke durations.

Values the template only knows once deployed (the table name, the queue URL)
must be given: --env-file (the JSON of "sam local invoke --env-vars", e.g.
events/env.local.json) or --env, or --local: events/env.local.json with its
endpoints replaced by DynamoDB Local's and moto's (HOOKLINE_TEST_DYNAMODB and
HOOKLINE_TEST_MOTO, as .ci/dynamodb-local and .ci/moto print them), after
doing what "hookline standins" does. AWS_* variables of this shell
(credentials, region, endpoints) are passed on; without --local and with no
access key among them, the credentials this shell's profile resolves to are
passed as AWS_ACCESS_KEY_ID etc., as sam does (the functions read
credentials from their environment only). A variable the template
declares takes this shell's value if it has one (as with sam); --local, then
--env-file, then --env override them. A variable of --env-file that the
template does not declare for the function gets a note: sam local invoke
would not set it.
`

type invokeFlags struct {
	template, envFile, bootstrap *string
	times                        *int
	timeout                      *time.Duration
	local                        *bool
	env                          *envFlags
}

func newInvokeFlags() (*flag.FlagSet, invokeFlags) {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	f := invokeFlags{
		template:  fs.String("template", "template.yaml", "the SAM template `file`"),
		envFile:   fs.String("env-file", "", `JSON environment overrides `+"`file`"+`: {"Parameters": {...every function}, "<LogicalId>": {...}}`),
		bootstrap: fs.String("bootstrap", "", "run this bootstrap `file` instead of building one"),
		times:     fs.Int("times", 1, "invoke `N` times in the same process (the 2nd and later are warm)"),
		timeout:   fs.Duration("timeout", 0, "the function's timeout (default: the template's)"),
		local:     fs.Bool("local", false, "run against DynamoDB Local and moto (see above)"),
		env:       &envFlags{},
	}
	fs.Var(f.env, "env", "`KEY=VALUE` to set in the function's environment (repeatable; wins over --env-file)")
	return fs, f
}

// invokeCmd is `hookline invoke`.
func invokeCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newInvokeFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	tmplFile, envFile, bootstrap, times, timeout, local, envs := f.template, f.envFile, f.bootstrap, f.times, f.timeout, f.local, *f.env
	if len(args) != 2 || *times < 1 {
		return errors.New("invoke: want a function's logical id and an event file (hookline invoke -h)")
	}
	id, eventFile := args[0], args[1]

	tmpl, err := template.Load(*tmplFile)
	if err != nil {
		return err
	}
	fn, err := tmpl.Function(id)
	if err != nil {
		return err
	}
	event, err := readEvent(eventFile)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "hookline-invoke-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var base map[string]string
	if *local {
		ddb, moto := os.Getenv("HOOKLINE_TEST_DYNAMODB"), os.Getenv("HOOKLINE_TEST_MOTO")
		if ddb == "" || moto == "" {
			return errors.New(`invoke: --local needs HOOKLINE_TEST_DYNAMODB and HOOKLINE_TEST_MOTO: eval "$(.ci/dynamodb-local start)"; eval "$(.ci/moto start)"`)
		}
		if _, err := setUpStandIns(ctx, ddb, moto); err != nil {
			return err
		}
		base = localFunctionEnv(id, ddb, moto)
	}
	env, notes, err := functionEnv(tmpl, fn, base, *envFile, envs)
	if err != nil {
		return err
	}
	if !*local {
		var more []string
		if env, more, err = lambdaCredentials(ctx, env); err != nil {
			return err
		}
		notes = append(notes, more...)
	}
	for _, n := range notes {
		fmt.Fprintln(stdout, "note:", n)
	}

	bin := *bootstrap
	if bin == "" {
		begin := time.Now()
		if bin, err = buildBootstrap(ctx, filepath.Dir(*tmplFile), fn, dir, runtime.GOOS, runtime.GOARCH); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "built %s for %s/%s in %s (%s)\n", id, runtime.GOOS, runtime.GOARCH,
			time.Since(begin).Round(time.Millisecond), sizeOf(bin))
	}
	if *timeout == 0 {
		*timeout = fn.Timeout()
	}
	return runInvocations(ctx, stdout, lambdaemu.Function{
		Name: id, Bootstrap: bin, Env: env, MemoryMB: fn.MemoryMB(), Timeout: *timeout,
		LogFormat: fn.LogFormat(), LogLevel: fn.ApplicationLogLevel(),
	}, event, *times)
}

// runInvocations starts the function and invokes it times times, printing
// its log lines, Lambda-style START/END/REPORT lines and each response.
func runInvocations(ctx context.Context, stdout io.Writer, fn lambdaemu.Function, event []byte, times int) error {
	// The function's stdout and stderr go to one file: everything it wrote
	// before answering is in the file when the answer arrives, in order.
	logFile, err := os.CreateTemp("", "hookline-invoke-*.log")
	if err != nil {
		return err
	}
	defer os.Remove(logFile.Name())
	defer logFile.Close()
	fn.Stdout, fn.Stderr = logFile, logFile
	logs := &logTail{file: logFile.Name()}

	rt, err := lambdaemu.Start(ctx, fn)
	logs.copyTo(stdout, err != nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "INIT %s\tInit Duration: %s\n", fn.Name, millis(rt.InitDuration()))
	var failed error
	for i := 0; i < times && failed == nil; i++ {
		res, err := rt.Invoke(ctx, event)
		if err != nil {
			failed = err
			break
		}
		fmt.Fprintf(stdout, "START RequestId: %s\n", res.RequestID)
		logs.copyTo(stdout, false)
		fmt.Fprintf(stdout, "END RequestId: %s\n", res.RequestID)
		fmt.Fprintf(stdout, "REPORT RequestId: %s\tDuration: %s\tBilled Duration: %d ms\tMemory Size: %d MB\n",
			res.RequestID, millis(res.Duration), res.BilledDuration().Milliseconds(), fn.MemoryMB)
		if res.Error {
			fmt.Fprintf(stdout, "ERROR %s\n", res.Payload)
			failed = fmt.Errorf("invoke: %s returned an error", fn.Name)
		} else {
			fmt.Fprintf(stdout, "RESPONSE %s\n", res.Payload)
		}
	}
	rss, _ := rt.Close()
	logs.copyTo(stdout, true)
	if logs.badEMF > 0 && failed == nil {
		failed = fmt.Errorf("invoke: %s wrote %d invalid EMF line(s)", fn.Name, logs.badEMF)
	}
	if rss > 0 {
		fmt.Fprintf(stdout, "Max Memory Used: %d MB\n", (rss+(1<<20)-1)>>20)
	}
	return failed
}

// logTail copies the lines the function wrote since the last call (and,
// when final, an unfinished last line), checking the EMF lines among them.
type logTail struct {
	file   string
	offset int64
	badEMF int
}

func (l *logTail) copyTo(w io.Writer, final bool) {
	f, err := os.Open(l.file)
	if err != nil {
		return
	}
	defer f.Close()
	if _, err := f.Seek(l.offset, io.SeekStart); err != nil {
		return
	}
	data, _ := io.ReadAll(f)
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 && !final {
		data = data[:i+1] // a line still being written waits for its end
	}
	l.offset += int64(len(data))
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		fmt.Fprintf(w, "%s\n", line)
		if !metrics.IsEMF(line) {
			continue
		}
		if rec, err := metrics.Parse(line); err != nil {
			l.badEMF++
			fmt.Fprintf(w, "EMF INVALID: %v\n", err)
		} else {
			fmt.Fprintf(w, "METRICS %s\n", describe(rec))
		}
	}
}

// describe lists a record's namespace and non-zero metrics, e.g.
// "hookline/prod: accepted=1 enqueued=1 latency=3.2 (provider=leadron)".
func describe(r metrics.Record) string {
	var parts []string
	seen := map[string]bool{}
	for _, g := range r.Groups {
		for _, m := range g.Metrics {
			if m.Value != 0 && !seen[m.Name] {
				seen[m.Name] = true
				parts = append(parts, fmt.Sprintf("%s=%g", m.Name, m.Value))
			}
		}
	}
	var dims []string
	for k, v := range r.Dims {
		dims = append(dims, k+"="+v)
	}
	sort.Strings(dims)
	return fmt.Sprintf("%s: %s (%s)", r.Namespace, strings.Join(parts, " "), strings.Join(dims, " "))
}

// functionEnv is the function's environment, put together the way sam
// local invoke does it, plus what a machine without Docker needs: AWS_*,
// HOME and PATH of this shell (credentials, region, endpoints, profiles);
// then every variable the template declares for the function, with this
// shell's value if it has one (as sam), else the template's; then the
// overrides: local (--local), the env file's (Parameters, then the
// function's section) and --env. A template value known only once deployed
// is left out with a note, unless an override sets it. So is a variable of
// the env file the template does not declare for the function: sam local
// invoke would not set it, so it gets a note (this does set it).
func functionEnv(t *template.Template, fn *template.Function, local map[string]string, envFile string, envs envFlags) (env []string, notes []string, err error) {
	vars := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if (strings.HasPrefix(k, "AWS_") && !strings.HasPrefix(k, "AWS_LAMBDA_")) || k == "HOME" || k == "PATH" {
			vars[k] = v
		}
	}
	declared := fn.Env()
	overrides := maps.Clone(local)
	if overrides == nil {
		overrides = map[string]string{}
	}
	if envFile != "" {
		data, err := os.ReadFile(envFile)
		if err != nil {
			return nil, nil, err
		}
		var file map[string]map[string]string
		if err := json.Unmarshal(data, &file); err != nil {
			return nil, nil, fmt.Errorf("invoke: %s: want {\"Parameters\": {...}, \"<LogicalId>\": {...}} of strings: %w", envFile, err)
		}
		for _, section := range []string{"Parameters", fn.LogicalID} {
			for k, v := range file[section] {
				overrides[k] = v
				if _, ok := declared[k]; !ok {
					notes = append(notes, fmt.Sprintf("%s (%s, %q) is not declared for %s in the template: sam local invoke would not set it",
						k, envFile, section, fn.LogicalID))
				}
			}
		}
	}
	for _, kv := range envs {
		k, v, _ := strings.Cut(kv, "=")
		overrides[k] = v
	}
	params := map[string]string{}
	if r := cmp.Or(overrides["AWS_REGION"], vars["AWS_REGION"]); r != "" {
		params["AWS::Region"] = r
	}
	for k, raw := range declared {
		if _, ok := overrides[k]; ok {
			continue
		}
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
			continue
		}
		v, err := t.Resolve(raw, params)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s is left unset: %v (set it with --env %s=... or --env-file)", k, err, k))
			continue
		}
		vars[k] = v
	}
	for k, v := range overrides {
		vars[k] = v
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	sort.Strings(notes)
	return env, notes, nil
}

// buildBootstrap builds the function's bootstrap for goos/goarch into dir
// the way `sam build` builds it: for BuildMethod makefile, make
// build-<LogicalId> in CodeUri with ARTIFACTS_DIR (and LAMBDA_GOOS,
// LAMBDA_GOARCH for the platform); for go1.x, go build in CodeUri.
func buildBootstrap(ctx context.Context, root string, fn *template.Function, dir, goos, goarch string) (string, error) {
	src := filepath.Join(root, fn.CodeURI())
	var cmd *exec.Cmd
	switch fn.BuildMethod() {
	case "makefile":
		cmd = exec.CommandContext(ctx, "make", "--no-print-directory", "build-"+fn.LogicalID,
			"ARTIFACTS_DIR="+dir, "LAMBDA_GOOS="+goos, "LAMBDA_GOARCH="+goarch)
	case "go1.x":
		cmd = exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w",
			"-o", filepath.Join(dir, "bootstrap"), ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	default:
		return "", fmt.Errorf("invoke: %s: build method %q is not supported here; build it and pass --bootstrap", fn.LogicalID, fn.BuildMethod())
	}
	cmd.Dir = src
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("invoke: build %s: %v\n%s", fn.LogicalID, err, out)
	}
	bin := filepath.Join(dir, "bootstrap")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("invoke: build %s made no bootstrap: %w", fn.LogicalID, err)
	}
	return bin, nil
}

func readEvent(file string) ([]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("invoke: %s is not JSON", file)
	}
	return data, nil
}

func sizeOf(file string) string {
	st, err := os.Stat(file)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(st.Size())/(1<<20))
}

func millis(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

// envFlags collects repeated --env KEY=VALUE flags.
type envFlags []string

func (e *envFlags) String() string { return strings.Join(*e, " ") }

func (e *envFlags) Set(kv string) error {
	if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
		return fmt.Errorf("want KEY=VALUE, got %q", kv)
	}
	*e = append(*e, kv)
	return nil
}
