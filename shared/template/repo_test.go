package template_test

// Checks of the repository's template.yaml against the code it deploys.

import (
	"context"
	"debug/buildinfo"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/metrics"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/template"
	"github.com/hookline/hookline/shared/wire"
)

const (
	root   = "../.."
	module = "github.com/hookline/hookline"
)

func repoTemplate(t *testing.T) *template.Template {
	t.Helper()
	tmpl, err := template.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

// mainPackage is the Go package of a function: functions/<name> for
// <Name>Function (the Makefile's build-<LogicalId> targets follow it).
func mainPackage(id string) string {
	return "./functions/" + strings.ToLower(strings.TrimSuffix(id, "Function"))
}

func ref(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["Ref"].(string)
	return s
}

func getAtt(v any) (resource, attr string) {
	m, _ := v.(map[string]any)
	a, _ := m["Fn::GetAtt"].([]any)
	if len(a) != 2 {
		return "", ""
	}
	resource, _ = a[0].(string)
	attr, _ = a[1].(string)
	return resource, attr
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}

func TestFunctionsAreConfiguredAlike(t *testing.T) {
	tmpl := repoTemplate(t)
	var ids []string
	for _, fn := range tmpl.Functions() {
		ids = append(ids, fn.LogicalID)
		p := fn.Properties
		if fn.String("Runtime") != "provided.al2023" || fn.String("Handler") != "bootstrap" ||
			!reflect.DeepEqual(p["Architectures"], []any{"arm64"}) || fn.String("Tracing") != "Active" {
			t.Errorf("%s: runtime %v, handler %v, architectures %v, tracing %v", fn.LogicalID,
				p["Runtime"], p["Handler"], p["Architectures"], p["Tracing"])
		}
		if _, ok := p["Policies"]; ok {
			t.Errorf("%s: SAM Policies would add managed policies; give the function its own role", fn.LogicalID)
		}
	}
	want := []string{"JourneyBeeFunction", "LeadronFunction", "ProcessorFunction", "SweeperFunction", "TombaFunction"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("functions %v, want %v", ids, want)
	}
}

// Every function builds as `sam build` builds it (BuildMethod makefile:
// make build-<LogicalId> in CodeUri with ARTIFACTS_DIR): a static, stripped
// linux/arm64 executable of its own main package with lambda.norpc and
// -trimpath, linking nothing only `hookline serve` needs.
func TestEveryFunctionBuildsLikeSAMBuild(t *testing.T) {
	tmpl := repoTemplate(t)
	for _, fn := range tmpl.Functions() {
		t.Run(fn.LogicalID, func(t *testing.T) {
			if fn.BuildMethod() != "makefile" || fn.CodeURI() != "." {
				t.Fatalf("BuildMethod %q, CodeUri %q: want makefile in the repository root", fn.BuildMethod(), fn.CodeURI())
			}
			dir := t.TempDir()
			cmd := exec.Command("make", "--no-print-directory", "build-"+fn.LogicalID)
			cmd.Dir = filepath.Join(root, fn.CodeURI())
			// As SAM's makefile workflow: ARTIFACTS_DIR in the environment.
			cmd.Env = append(os.Environ(), "ARTIFACTS_DIR="+dir)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("make build-%s: %v\n%s", fn.LogicalID, err, out)
			}
			bin := filepath.Join(dir, "bootstrap")
			checkLambdaBinary(t, bin, module+strings.TrimPrefix(mainPackage(fn.LogicalID), "."))
			st, err := os.Stat(bin)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s bootstrap: %d bytes (budget %d)", fn.LogicalID, st.Size(), bootstrapBudget)
			if st.Size() >= bootstrapBudget {
				t.Errorf("%s bootstrap is %d bytes, over the budget of %d: `go tool nm -size -sort size` on a build without -s -w "+
					"and `go list -deps` show what it links (TestFunctionsLinkOnlyWhatTheyUse)", fn.LogicalID, st.Size(), bootstrapBudget)
			}
		})
	}
}

// bootstrapBudget is the size every function's bootstrap, built as above,
// stays under (issue 11: decimal bytes, not MiB). The size of a build is
// deterministic for a given toolchain and go.sum, so this is checked here
// rather than measured in a benchmark; it moves in steps of 64 KiB (the
// linker pads each of an arm64 executable's three segments to 64 KiB).
const bootstrapBudget = 12_000_000

func checkLambdaBinary(t *testing.T, bin, mainPath string) {
	t.Helper()
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Type != elf.ET_EXEC {
		t.Errorf("machine %v, type %v: want an arm64 executable", f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("dynamically linked (%v)", p.Type)
		}
	}
	if f.Section(".symtab") != nil || f.Section(".debug_info") != nil {
		t.Error("not stripped: has a symbol table or DWARF")
	}
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	want := map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "-tags": "lambda.norpc", "-trimpath": "true"}
	for k, v := range want {
		if settings[k] != v {
			t.Errorf("build setting %s = %q, want %q", k, settings[k], v)
		}
	}
	if info.Path != mainPath {
		t.Errorf("main package %s, want %s", info.Path, mainPath)
	}
	for _, d := range info.Deps {
		if strings.HasPrefix(d.Path, "modernc.org/") {
			t.Errorf("links %s (SQLite is for hookline serve only)", d.Path)
		}
	}
}

// goDeps lists the packages a function links, with their non-test Go files.
func goDeps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc",
		"-f", `{{.ImportPath}}|{{.Dir}}|{{join .GoFiles ","}}`, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	deps := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		var files []string
		for _, f := range strings.Split(parts[2], ",") {
			if f != "" {
				files = append(files, filepath.Join(parts[1], f))
			}
		}
		deps[parts[0]] = files
	}
	return deps
}

func TestLambdasLinkNothingOnlyServeNeeds(t *testing.T) {
	forbidden := []string{"modernc.org/", module + "/shared/store/sqlite", module + "/shared/queue/embedded", module + "/cmd/"}
	// Only the processor delivers: the others link no shared/deliver and
	// no gojq (about 0.5 MiB each).
	delivery := []string{module + "/shared/deliver", "github.com/itchyny/gojq"}
	for _, fn := range repoTemplate(t).Functions() {
		forbidden := forbidden
		if fn.LogicalID != "ProcessorFunction" {
			forbidden = append(forbidden[:len(forbidden):len(forbidden)], delivery...)
		}
		for pkg := range goDeps(t, mainPackage(fn.LogicalID)) {
			for _, f := range forbidden {
				if strings.HasPrefix(pkg, f) {
					t.Errorf("%s links %s", fn.LogicalID, pkg)
				}
			}
		}
	}
}

// Each function links what it uses and no more, since every package a
// binary imports is linked with its initialisation whether it is called or
// not: only the processor links the delivery code (shared/deliver, the
// EventBridge client, awsenv/processor); no function links the sample
// signing of the tests and `hookline send` (shared/samples), nor the SDK's
// config package, whose credential chain (STS, SSO, Sign-In clients, shared
// files, IMDS) was ~1.9 MB of every bootstrap (awsenv reads Lambda's
// environment instead).
func TestFunctionsLinkOnlyWhatTheyUse(t *testing.T) {
	deliverOnly := []string{module + "/shared/deliver", module + "/shared/awsenv/processor", "github.com/aws/aws-sdk-go-v2/service/eventbridge"}
	nowhere := []string{module + "/shared/samples", "github.com/aws/aws-sdk-go-v2/config", "github.com/aws/aws-sdk-go-v2/credentials/stscreds",
		"github.com/aws/aws-sdk-go-v2/service/sts", "github.com/aws/aws-sdk-go-v2/service/sso",
		"github.com/aws/aws-sdk-go-v2/service/cloudwatch"} // console --aws reads metrics; no function does
	processors := 0
	for _, fn := range repoTemplate(t).Functions() {
		deps := goDeps(t, mainPackage(fn.LogicalID))
		if _, ok := deps[module+"/shared/awsenv"]; !ok {
			t.Fatalf("%s does not link shared/awsenv: the dependency list is not what this test expects", fn.LogicalID)
		}
		processor := false
		for _, e := range fn.Events() {
			processor = processor || e.Type == "SQS"
		}
		for _, pkg := range deliverOnly {
			_, links := deps[pkg]
			switch {
			case processor && !links:
				t.Errorf("%s (the processor) does not link %s", fn.LogicalID, pkg)
			case !processor && links:
				t.Errorf("%s links %s: only the processor delivers", fn.LogicalID, pkg)
			}
		}
		if processor {
			processors++
		}
		for _, pkg := range nowhere {
			if _, links := deps[pkg]; links {
				t.Errorf("%s links %s", fn.LogicalID, pkg)
			}
		}
	}
	if processors != 1 {
		t.Errorf("%d functions with an SQS event, want the processor alone", processors)
	}
}

var hooklineVar = regexp.MustCompile(`^HOOKLINE_[A-Z0-9_]+$`)

// envVarsRead are the HOOKLINE_* names in the string literals of the
// hookline packages a function links.
func envVarsRead(t *testing.T, pkg string) []string {
	t.Helper()
	seen := map[string]bool{}
	for path, files := range goDeps(t, pkg) {
		if !strings.HasPrefix(path, module) {
			continue
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			fset := token.NewFileSet()
			var s scanner.Scanner
			s.Init(fset.AddFile(file, -1, len(src)), src, nil, 0)
			for {
				_, tok, lit := s.Scan()
				if tok == token.EOF {
					break
				}
				if tok != token.STRING {
					continue
				}
				if v, err := strconv.Unquote(lit); err == nil && hooklineVar.MatchString(v) {
					seen[v] = true
				}
			}
		}
	}
	var out []string
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// configRefs are the ${VAR} references of the template's default config
// document (written ${!VAR} in its Fn::Sub).
func configRefs(t *testing.T, tmpl *template.Template) []string {
	t.Helper()
	sub, _ := tmpl.Resources["ConfigParameter"].Properties["Value"].(map[string]any)
	doc, _ := sub["Fn::Sub"].(string)
	var out []string
	for _, m := range regexp.MustCompile(`\$\{!([A-Z0-9_]+)\}`).FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 {
		t.Fatal("the default config document references no variable")
	}
	return out
}

// Every environment variable a function's code reads is set in its
// environment. Each variable the default config document references is set
// in exactly one function (a provider's secret, in that provider's): the
// functions resolve only their part of the document, and
// TestColdStartReadsOnlyWhatItsRoleGrants starts each one with it.
func TestEveryEnvVarAFunctionReadsIsSet(t *testing.T) {
	tmpl := repoTemplate(t)
	setIn := map[string][]string{}
	for _, fn := range tmpl.Functions() {
		read := envVarsRead(t, mainPackage(fn.LogicalID))
		if !slices.Contains(read, "HOOKLINE_CONFIG") {
			t.Fatalf("%s: found no HOOKLINE_CONFIG among the variables its code reads (%v): is the scan broken?", fn.LogicalID, read)
		}
		env := fn.Env()
		for _, v := range read {
			if _, ok := env[v]; !ok {
				t.Errorf("%s reads %s, which the template does not set", fn.LogicalID, v)
			}
		}
		for v := range env {
			setIn[v] = append(setIn[v], fn.LogicalID)
		}
	}
	for _, v := range configRefs(t, tmpl) {
		if len(setIn[v]) != 1 {
			t.Errorf("the default config's ${%s} is set in %v, want exactly one function", v, setIn[v])
		}
	}
}

// secretVar is the config variable of a provider's secret.
func secretVar(prov string) string { return "HOOKLINE_" + strings.ToUpper(prov) + "_SECRET" }

// statement is one IAM statement with where it is.
type statement struct {
	where    string
	action   []string
	resource []any
	raw      map[string]any
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	if v == nil {
		return nil
	}
	return []any{v}
}

// statements collects the statements of every policy document of the
// template, both branches of an Fn::If included.
func statements(tmpl *template.Template) []statement {
	var out []statement
	add := func(where string, doc any) {
		d, _ := doc.(map[string]any)
		var walk func(v any)
		walk = func(v any) {
			m, _ := v.(map[string]any)
			if branches, ok := m["Fn::If"].([]any); ok && len(branches) == 3 {
				walk(branches[1])
				walk(branches[2])
				return
			}
			if m == nil || ref(m) == "AWS::NoValue" {
				return
			}
			st := statement{where: where, resource: asList(m["Resource"]), raw: m}
			if _, ok := m["NotResource"]; ok {
				st.resource = append(st.resource, "NotResource")
			}
			for _, a := range asList(m["Action"]) {
				s, _ := a.(string)
				st.action = append(st.action, s)
			}
			out = append(out, st)
		}
		for _, s := range asList(d["Statement"]) {
			walk(s)
		}
	}
	for id, r := range tmpl.Resources {
		switch r.Type {
		case "AWS::IAM::Role":
			for _, p := range asList(r.Properties["Policies"]) {
				pm, _ := p.(map[string]any)
				add(id, pm["PolicyDocument"])
			}
		case "AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy":
			add(id, r.Properties["PolicyDocument"])
		}
	}
	return out
}

// xrayOnly: X-Ray's PutTraceSegments and PutTelemetryRecords have no
// resource-level permissions, so "*" is their only possible resource.
func xrayOnly(actions []string) bool {
	for _, a := range actions {
		if a != "xray:PutTraceSegments" && a != "xray:PutTelemetryRecords" {
			return false
		}
	}
	return len(actions) > 0
}

// No IAM statement allows any resource ("*" or a wildcard in a literal
// ARN), X-Ray's write actions aside; no action is a wildcard.
func TestNoWildcardResources(t *testing.T) {
	sts := statements(repoTemplate(t))
	if len(sts) < 10 {
		t.Fatalf("found %d IAM statements: is the walk broken?", len(sts))
	}
	for _, st := range sts {
		for _, a := range st.action {
			if strings.Contains(a, "*") || a == "" {
				t.Errorf("%s: action %q", st.where, a)
			}
		}
		if len(st.resource) == 0 {
			t.Errorf("%s: statement %v has no Resource", st.where, st.raw)
		}
		for _, r := range st.resource {
			s, isLiteral := r.(string)
			if isLiteral && strings.Contains(s, "*") && !(s == "*" && xrayOnly(st.action)) || s == "NotResource" {
				t.Errorf("%s: %v on resource %q", st.where, st.action, s)
			}
		}
	}
}

// Least privilege per function: an ingest function reads only its own
// provider's secret (the one its environment names); the processor and the
// sweeper read no provider secret; nobody else can.
func TestEachIngestFunctionReadsOnlyItsSecret(t *testing.T) {
	tmpl := repoTemplate(t)
	roleOf := map[string]string{}
	for _, fn := range tmpl.Functions() {
		role, attr := getAtt(fn.Properties["Role"])
		if attr != "Arn" || tmpl.Resources[role].Type != "AWS::IAM::Role" {
			t.Fatalf("%s: Role %v is not a role of the template", fn.LogicalID, fn.Properties["Role"])
		}
		if other, ok := roleOf[role]; ok {
			t.Errorf("%s and %s share the role %s", fn.LogicalID, other, role)
		}
		roleOf[role] = fn.LogicalID
	}
	// Which secrets each role reads, managed policies included.
	reads := map[string][]string{}
	for _, st := range statements(tmpl) {
		if !slices.Contains(st.action, "secretsmanager:GetSecretValue") {
			continue
		}
		for _, r := range st.resource {
			if tmpl.Resources[ref(r)].Type == "AWS::SecretsManager::Secret" {
				reads[st.where] = append(reads[st.where], ref(r))
			}
		}
	}
	for _, st := range statements(tmpl) {
		if tmpl.Resources[st.where].Type == "AWS::IAM::ManagedPolicy" && len(reads[st.where]) > 0 {
			t.Errorf("the shared policy %s reads secrets %v", st.where, reads[st.where])
		}
	}
	for _, prov := range wire.Providers {
		id := routeFunctionOf(t, tmpl, prov)
		fn, _ := tmpl.Function(id)
		role, _ := getAtt(fn.Properties["Role"])
		sub, _ := fn.Env()[secretVar(prov)].(map[string]any)
		want := strings.TrimSuffix(strings.TrimPrefix(fmt.Sprint(sub["Fn::Sub"]), "secretsmanager:${"), "}")
		if tmpl.Resources[want].Type != "AWS::SecretsManager::Secret" {
			t.Errorf("%s: %s = %v, want secretsmanager:${<its secret>}", id, secretVar(prov), fn.Env()[secretVar(prov)])
		}
		if !reflect.DeepEqual(reads[role], []string{want}) {
			t.Errorf("%s (role %s) reads secrets %v, want only %s", id, role, reads[role], want)
		}
		for _, other := range wire.Providers {
			if v, ok := fn.Env()[secretVar(other)]; other != prov && ok {
				t.Errorf("%s: %s = %v, want unset", id, secretVar(other), v)
			}
		}
	}
	for _, id := range []string{"ProcessorFunction", "SweeperFunction"} {
		fn, _ := tmpl.Function(id)
		role, _ := getAtt(fn.Properties["Role"])
		if len(reads[role]) > 0 {
			t.Errorf("%s reads provider secrets %v", id, reads[role])
		}
		// They verify no delivery: no source secret, not even a placeholder.
		for _, prov := range wire.Providers {
			if v, ok := fn.Env()[secretVar(prov)]; ok {
				t.Errorf("%s: %s = %v, want unset", id, secretVar(prov), v)
			}
		}
	}
}

func routeFunctionOf(t *testing.T, tmpl *template.Template, prov string) string {
	t.Helper()
	for _, fn := range tmpl.Functions() {
		for _, e := range fn.Events() {
			if e.Type == "HttpApi" && e.Properties["Path"] == "/webhooks/"+prov {
				return fn.LogicalID
			}
		}
	}
	t.Fatalf("no route for %s", prov)
	return ""
}

// Every route maps to its provider's function, with exactly the methods
// the handler accepts, on the one HTTP API; nothing else is routed.
func TestRoutes(t *testing.T) {
	tmpl := repoTemplate(t)
	routes := map[string]string{} // "POST /webhooks/x" → function
	for _, fn := range tmpl.Functions() {
		for name, e := range fn.Events() {
			if e.Type != "HttpApi" {
				continue
			}
			if ref(e.Properties["ApiId"]) != "HttpApi" {
				t.Errorf("%s.%s: ApiId %v, want !Ref HttpApi", fn.LogicalID, name, e.Properties["ApiId"])
			}
			if pf, ok := e.Properties["PayloadFormatVersion"]; ok && pf != "2.0" {
				t.Errorf("%s.%s: payload format %v (the handler reads 2.0)", fn.LogicalID, name, pf)
			}
			routes[fmt.Sprint(e.Properties["Method"], " ", e.Properties["Path"])] = fn.LogicalID
		}
	}
	want := map[string]string{}
	for _, prov := range wire.Providers {
		id := strings.ToUpper(prov[:1]) + prov[1:] + "Function"
		if prov == "journeybee" {
			id = "JourneyBeeFunction"
		}
		for _, m := range wire.Methods(prov) {
			want[m+" /webhooks/"+prov] = id
		}
	}
	if !reflect.DeepEqual(routes, want) {
		t.Errorf("routes %v\nwant   %v", routes, want)
	}
	api := tmpl.Resources["HttpApi"]
	rs, _ := api.Properties["DefaultRouteSettings"].(map[string]any)
	if api.Type != "AWS::Serverless::HttpApi" || ref(rs["ThrottlingRateLimit"]) == "" || ref(rs["ThrottlingBurstLimit"]) == "" {
		t.Errorf("HttpApi %s: default route throttling %v, want parameters", api.Type, rs)
	}
	logs, _ := api.Properties["AccessLogSettings"].(map[string]any)
	if group, _ := getAtt(logs["DestinationArn"]); tmpl.Resources[group].Type != "AWS::Logs::LogGroup" {
		t.Errorf("access logs go to %v, want a log group of the template", logs["DestinationArn"])
	}
	// The access-log line: what ties it to the function's line and says
	// what happened, nothing a header or body holds.
	format, _ := logs["Format"].(string)
	for _, v := range []string{"$context.requestId", "$context.routeKey", "$context.status", "$context.integrationErrorMessage"} {
		if !strings.Contains(format, v) {
			t.Errorf("access-log format lacks %s: %s", v, format)
		}
	}
	if strings.Contains(format, "$request.") || strings.Contains(format, "$context.authorizer") {
		t.Errorf("access-log format logs request data: %s", format)
	}
}

// Every queue has a dead-letter queue (or is one), SSE, and the processor's
// queue gives it enough time: visibility at least 6 x its timeout plus the
// batching window.
func TestQueues(t *testing.T) {
	tmpl := repoTemplate(t)
	dlqs := map[string]bool{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::SQS::Queue" {
			continue
		}
		if rp, ok := r.Properties["RedrivePolicy"].(map[string]any); ok {
			dlq, attr := getAtt(rp["deadLetterTargetArn"])
			if attr != "Arn" || tmpl.Resources[dlq].Type != "AWS::SQS::Queue" || rp["maxReceiveCount"] == nil {
				t.Errorf("%s: RedrivePolicy %v", id, rp)
			}
			dlqs[dlq] = true
		}
	}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::SQS::Queue" {
			continue
		}
		_, redrives := r.Properties["RedrivePolicy"]
		if !redrives && !dlqs[id] {
			t.Errorf("queue %s has no dead-letter queue", id)
		}
		if dlqs[id] && num(r.Properties["MessageRetentionPeriod"]) != 14*24*3600 {
			t.Errorf("dead-letter queue %s keeps messages %v s, want 14 days", id, r.Properties["MessageRetentionPeriod"])
		}
		if r.Properties["SqsManagedSseEnabled"] != true && r.Properties["KmsMasterKeyId"] == nil {
			t.Errorf("queue %s is not encrypted", id)
		}
	}
	fn, _ := tmpl.Function("ProcessorFunction")
	var sqs template.Event
	for _, e := range fn.Events() {
		if e.Type == "SQS" {
			sqs = e
		}
	}
	queue, _ := getAtt(sqs.Properties["Queue"])
	p := sqs.Properties
	scaling, _ := p["ScalingConfig"].(map[string]any)
	if queue == "" || num(p["BatchSize"]) < 1 || p["MaximumBatchingWindowInSeconds"] == nil ||
		!reflect.DeepEqual(p["FunctionResponseTypes"], []any{"ReportBatchItemFailures"}) || scaling["MaximumConcurrency"] == nil {
		t.Fatalf("processor's SQS event %v", p)
	}
	visibility := num(tmpl.Resources[queue].Properties["VisibilityTimeout"])
	need := 6*fn.Timeout().Seconds() + num(p["MaximumBatchingWindowInSeconds"])
	if visibility < need {
		t.Errorf("%s: visibility timeout %v s, want at least %v (6 x %v + window)", queue, visibility, need, fn.Timeout())
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	n := 0
	for id, r := range repoTemplate(t).Resources {
		if r.Type == "AWS::Logs::LogGroup" {
			n++
			if r.Properties["RetentionInDays"] == nil {
				t.Errorf("log group %s keeps logs forever", id)
			}
		}
	}
	if n < 6 {
		t.Errorf("%d log groups: want one per function and the access logs", n)
	}
}

// The table is the one dynamo.CreateTable makes (keys, indexes, TTL), with
// point-in-time recovery and encryption: compared on DynamoDB Local.
func TestTableMatchesTheStore(t *testing.T) {
	tmpl := repoTemplate(t)
	tp := tmpl.Resources["EventsTable"].Properties
	client := storetest.DynamoClient(t)
	ctx := context.Background()
	name := fmt.Sprintf("hookline-template-%d", time.Now().UnixNano())
	if err := dynamo.CreateTable(ctx, client, name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: &name}) })
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}
	d := out.Table
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		t.Fatal(err)
	}

	// Render both sides alike: sorted "name:type" lists.
	var gotAttrs, gotKeys, gotIndexes []string
	for _, a := range d.AttributeDefinitions {
		gotAttrs = append(gotAttrs, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	for _, k := range d.KeySchema {
		gotKeys = append(gotKeys, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
	}
	for _, g := range d.GlobalSecondaryIndexes {
		var ks []string
		for _, k := range g.KeySchema {
			ks = append(ks, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		gotIndexes = append(gotIndexes, aws.ToString(g.IndexName)+"("+strings.Join(ks, ",")+")"+string(g.Projection.ProjectionType))
	}
	pairs := func(v any, a, b string) []string {
		var out []string
		for _, e := range asList(v) {
			m, _ := e.(map[string]any)
			out = append(out, fmt.Sprint(m[a], ":", m[b]))
		}
		return out
	}
	var wantIndexes []string
	for _, g := range asList(tp["GlobalSecondaryIndexes"]) {
		m, _ := g.(map[string]any)
		proj, _ := m["Projection"].(map[string]any)
		wantIndexes = append(wantIndexes, fmt.Sprint(m["IndexName"], "(", strings.Join(pairs(m["KeySchema"], "AttributeName", "KeyType"), ","), ")", proj["ProjectionType"]))
	}
	for _, s := range [][]string{gotAttrs, gotIndexes, wantIndexes} {
		sort.Strings(s)
	}
	wantAttrs := pairs(tp["AttributeDefinitions"], "AttributeName", "AttributeType")
	sort.Strings(wantAttrs)
	checks := []struct {
		what      string
		got, want any
	}{
		{"attributes", gotAttrs, wantAttrs},
		{"key schema", gotKeys, pairs(tp["KeySchema"], "AttributeName", "KeyType")},
		{"indexes", gotIndexes, wantIndexes},
		{"billing", string(d.BillingModeSummary.BillingMode), tp["BillingMode"]},
		{"TTL attribute", aws.ToString(ttl.TimeToLiveDescription.AttributeName), tp["TimeToLiveSpecification"].(map[string]any)["AttributeName"]},
		{"TTL on", true, tp["TimeToLiveSpecification"].(map[string]any)["Enabled"]},
		{"point-in-time recovery", true, tp["PointInTimeRecoverySpecification"].(map[string]any)["PointInTimeRecoveryEnabled"]},
		{"encryption", true, tp["SSESpecification"].(map[string]any)["SSEEnabled"]},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: the store makes %v, the template has %v", c.what, c.got, c.want)
		}
	}
	if dp := tmpl.Resources["EventsTable"]; !strings.EqualFold(fmt.Sprint(tp["BillingMode"]), "PAY_PER_REQUEST") || dp.Type != "AWS::DynamoDB::Table" {
		t.Errorf("EventsTable: %s, billing %v", dp.Type, tp["BillingMode"])
	}
}

// emitted is every "metric{dimension,...}" shared/metrics writes.
func emitted() map[string]bool {
	var recs []metrics.Record
	for _, o := range []string{ingest.OutcomeNew, ingest.OutcomeDuplicate, ingest.OutcomeRequeued, ingest.OutcomeRejected, ingest.OutcomeError} {
		recs = append(recs, metrics.IngestRecord(ingest.Result{Provider: "p", Type: "t", Outcome: o, Reason: "r"}, time.Now()))
	}
	for _, o := range []string{metrics.OutcomeDelivered, metrics.OutcomeRetry, metrics.OutcomeFailed} {
		recs = append(recs, metrics.AttemptRecord(metrics.Attempt{Provider: "p", Destination: "d", Outcome: o, Reason: "r"}, time.Now()))
	}
	out := map[string]bool{}
	for _, r := range recs {
		for _, g := range r.Groups {
			for _, set := range g.Dimensions {
				s := slices.Clone(set)
				sort.Strings(s)
				for _, m := range g.Metrics {
					out[m.Name+"{"+strings.Join(s, ",")+"}"] = true
				}
			}
		}
	}
	return out
}

func metricKey(name string, dims []string) string {
	dims = slices.Clone(dims)
	sort.Strings(dims)
	return name + "{" + strings.Join(dims, ",") + "}"
}

// The alarms and the dashboard use hookline metrics exactly as
// shared/metrics writes them (name and dimension set) in the namespace the
// functions write them in, and the alarms the issue asks for exist and
// notify the topic.
func TestAlarmsAndDashboardUseEmittedMetrics(t *testing.T) {
	for _, p := range checkMetrics(repoTemplate(t)) {
		t.Error(p)
	}
}

// Two stack names, to see the namespace follow the stack.
const stackA, stackB = "stack-under-test", "other-stack"

// checkMetrics returns what is wrong with the template's metrics: the
// functions' HOOKLINE_METRICS_NAMESPACE (one expression, derived from the
// stack name, a namespace CloudWatch takes), each alarm and dashboard
// metric of ours (in that namespace, one shared/metrics writes), and the
// alarms that must exist.
func checkMetrics(tmpl *template.Template) []string {
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The namespace: one expression in every function.
	var nsExpr any
	for i, fn := range tmpl.Functions() {
		v, ok := fn.Env()[awsenv.EnvMetricsNamespace]
		switch {
		case !ok:
			fail("%s: %s is not set: its metrics would go to %q, which no alarm of this stack reads",
				fn.LogicalID, awsenv.EnvMetricsNamespace, metrics.DefaultNamespace)
		case i == 0 || nsExpr == nil:
			nsExpr = v
		case !reflect.DeepEqual(v, nsExpr):
			fail("%s: %s = %v, other functions %v: one stack, one namespace", fn.LogicalID, awsenv.EnvMetricsNamespace, v, nsExpr)
		}
	}
	if nsExpr == nil {
		return problems
	}
	resolve := func(stack string) string {
		ns, err := tmpl.Resolve(nsExpr, map[string]string{"AWS::StackName": stack})
		if err != nil {
			fail("%s %v: %v", awsenv.EnvMetricsNamespace, nsExpr, err)
		}
		return ns
	}
	ns := resolve(stackA)
	if !strings.Contains(ns, stackA) || ns == resolve(stackB) {
		fail("%s %v is %q in stack %s, %q in stack %s: want one derived from the stack name",
			awsenv.EnvMetricsNamespace, nsExpr, ns, stackA, resolve(stackB), stackB)
	}
	if err := metrics.CheckNamespace(ns); err != nil {
		fail("%s %v: %v", awsenv.EnvMetricsNamespace, nsExpr, err)
	}
	isOurs := func(namespace string) bool { return !strings.HasPrefix(namespace, "AWS/") }

	emits := emitted()
	var alarms []string
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		p := r.Properties
		var dims []string
		var vals []string
		for _, d := range asList(p["Dimensions"]) {
			m, _ := d.(map[string]any)
			dims = append(dims, fmt.Sprint(m["Name"]))
			vals = append(vals, fmt.Sprint(m["Value"]))
		}
		namespace := fmt.Sprint(p["Namespace"])
		if s, ok := p["Namespace"].(string); !ok || isOurs(s) {
			// Ours: the very expression the functions write metrics in.
			if !reflect.DeepEqual(p["Namespace"], nsExpr) {
				fail("alarm %s watches namespace %v, not the functions' %s %v", id, p["Namespace"], awsenv.EnvMetricsNamespace, nsExpr)
			}
			if !emits[metricKey(fmt.Sprint(p["MetricName"]), dims)] {
				fail("alarm %s watches %s, which shared/metrics never writes", id, metricKey(fmt.Sprint(p["MetricName"]), dims))
			}
			namespace = "hookline"
		}
		if actions := asList(p["AlarmActions"]); len(actions) != 1 || ref(actions[0]) != "AlarmTopic" {
			fail("alarm %s notifies %v", id, p["AlarmActions"])
		}
		alarms = append(alarms, fmt.Sprint(namespace, " ", p["MetricName"], " ", strings.Join(vals, ",")))
	}
	want := []string{
		"AWS/SQS ApproximateNumberOfMessagesVisible map[Fn::GetAtt:[EventsDLQ QueueName]]",
		"AWS/SQS ApproximateAgeOfOldestMessage map[Fn::GetAtt:[EventsQueue QueueName]]",
		"AWS/Lambda Errors map[Ref:ProcessorFunction]",
		"AWS/ApiGateway 5xx map[Ref:HttpApi],$default",
		"hookline failed ",
	}
	for _, prov := range wire.Providers {
		want = append(want, "hookline rejected "+prov)
	}
	for _, w := range want {
		if !slices.Contains(alarms, w) {
			fail("no alarm on %s (alarms: %q)", w, alarms)
		}
	}

	// The dashboard: valid JSON once substituted in stack stackA (a
	// resource's name is known only once deployed: it stays empty), every
	// metric of ours it shows (static or by SEARCH) in the functions'
	// namespace and written by shared/metrics.
	body, _ := tmpl.Resources["Dashboard"].Properties["DashboardBody"].(map[string]any)
	text, err := tmpl.Resolve(body, map[string]string{"AWS::StackName": stackA})
	if err != nil && !errors.Is(err, template.ErrUnresolvable) {
		fail("dashboard body: %v", err)
	}
	var dash struct {
		Widgets []struct {
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(text), &dash); err != nil {
		fail("dashboard body is not JSON: %v", err)
		return problems
	}
	// SEARCH('{Namespace,Dim,...} MetricName="m"', …): the namespace may be quoted.
	search := regexp.MustCompile(`SEARCH\('\{("[^"]*"|[^,"}]*)((?:,[^,}]+)*)\} MetricName="([^"]+)"'`)
	shown := map[string]bool{}
	for _, w := range dash.Widgets {
		var prev []string // "." and "..." repeat the previous row's entries
		for _, row := range w.Properties.Metrics {
			if e, ok := row[0].(map[string]any); ok {
				m := search.FindStringSubmatch(fmt.Sprint(e["expression"]))
				if m == nil {
					fail("%s: expression %v", w.Properties.Title, e["expression"])
					continue
				}
				namespace := strings.Trim(m[1], `"`)
				if !isOurs(namespace) {
					continue
				}
				if namespace != ns {
					fail("dashboard %q searches namespace %q, not the stack's %q", w.Properties.Title, namespace, ns)
				}
				shown[metricKey(m[3], strings.Split(strings.TrimPrefix(m[2], ","), ","))] = true
				continue
			}
			var cells []string
			for _, c := range row {
				if s, ok := c.(string); ok {
					cells = append(cells, s)
				}
			}
			if cells[0] == "..." {
				cells = append(slices.Clone(prev[:len(prev)-len(cells)+1]), cells[1:]...)
			}
			for i := range cells {
				if cells[i] == "." {
					cells[i] = prev[i]
				}
			}
			prev = cells
			if !isOurs(cells[0]) {
				continue
			}
			if cells[0] != ns {
				fail("dashboard %q shows namespace %q, not the stack's %q", w.Properties.Title, cells[0], ns)
			}
			var dims []string
			for i := 2; i+1 < len(cells); i += 2 {
				dims = append(dims, cells[i])
			}
			shown[metricKey(cells[1], dims)] = true
		}
	}
	for key := range shown {
		if !emits[key] {
			fail("the dashboard shows %s, which shared/metrics never writes", key)
		}
	}
	for _, key := range []string{"accepted{provider}", "duplicate{provider}", "rejected{provider,reason}",
		"delivered{destination,provider}", "retried{destination,provider}", "failed{destination,provider}",
		"latency{provider}", "attempt_latency{destination}"} {
		if !shown[key] {
			fail("the dashboard does not show %s", key)
		}
	}
	sort.Strings(problems)
	return problems
}

// quietLevels are the application log levels at which Lambda still sends
// INFO lines: the EMF metric lines carry no "level", so Lambda files them
// as INFO and, at WARN or above, drops them (and every metric with them).
var quietLevels = []string{"TRACE", "DEBUG", "INFO"}

// checkLogging returns what is wrong with the functions' LoggingConfig:
// Lambda's JSON format (which sets AWS_LAMBDA_LOG_FORMAT for lambdacontext's
// handler), into a log group of the template, at an application log level
// that keeps the metric lines.
func checkLogging(tmpl *template.Template) []string {
	var problems []string
	for _, fn := range tmpl.Functions() {
		lc, _ := fn.Properties["LoggingConfig"].(map[string]any)
		if group := tmpl.Resources[ref(lc["LogGroup"])]; fn.LogFormat() != "JSON" || group.Type != "AWS::Logs::LogGroup" {
			problems = append(problems, fmt.Sprintf("%s: LoggingConfig %v: want LogFormat JSON into a log group of the template", fn.LogicalID, lc))
		}
		if !slices.Contains(quietLevels, fn.ApplicationLogLevel()) {
			problems = append(problems, fmt.Sprintf("%s: ApplicationLogLevel %q: want one of %v, or Lambda drops the EMF metric lines (filed as INFO)",
				fn.LogicalID, fn.ApplicationLogLevel(), quietLevels))
		}
	}
	return problems
}

func TestLoggingConfig(t *testing.T) {
	for _, p := range checkLogging(repoTemplate(t)) {
		t.Error(p)
	}
}

// Each check above fails on a template that breaks what it checks: the
// repository's template with one change.
func TestTemplateChecksCatchMutations(t *testing.T) {
	props := func(tmpl *template.Template, id string) map[string]any { return tmpl.Resources[id].Properties }
	globalEnv := func(tmpl *template.Template) map[string]any {
		fn, _ := tmpl.Globals["Function"].(map[string]any)
		env, _ := fn["Environment"].(map[string]any)
		vars, _ := env["Variables"].(map[string]any)
		return vars
	}
	editDashboard := func(old, new string) func(*template.Template) {
		return func(tmpl *template.Template) {
			body, _ := props(tmpl, "Dashboard")["DashboardBody"].(map[string]any)
			text, _ := body["Fn::Sub"].(string)
			if !strings.Contains(text, old) {
				panic("the dashboard has no " + old)
			}
			body["Fn::Sub"] = strings.Replace(text, old, new, 1)
		}
	}
	logging := func(id, key, value string) func(*template.Template) {
		return func(tmpl *template.Template) {
			lc, _ := props(tmpl, id)["LoggingConfig"].(map[string]any)
			lc[key] = value
		}
	}
	tests := []struct {
		name   string
		mutate func(*template.Template)
		check  func(*template.Template) []string
		want   string
	}{
		{"an alarm in the fixed namespace of old", func(tmpl *template.Template) {
			props(tmpl, "DeliveriesGivenUpAlarm")["Namespace"] = "hookline"
		}, checkMetrics, "alarm DeliveriesGivenUpAlarm watches namespace hookline, not the functions'"},
		{"an alarm in another stack's namespace", func(tmpl *template.Template) {
			props(tmpl, "TombaRejectedAlarm")["Namespace"] = map[string]any{"Fn::Sub": "hookline/prod"}
		}, checkMetrics, "alarm TombaRejectedAlarm watches namespace map[Fn::Sub:hookline/prod]"},
		{"an alarm on a metric never written", func(tmpl *template.Template) {
			props(tmpl, "LeadronRejectedAlarm")["MetricName"] = "rejections"
		}, checkMetrics, "alarm LeadronRejectedAlarm watches rejections{provider}, which shared/metrics never writes"},
		{"a dashboard graph in the fixed namespace",
			editDashboard(`["hookline/${AWS::StackName}", "accepted", "provider", "leadron"]`, `["hookline", "accepted", "provider", "leadron"]`),
			checkMetrics, `dashboard "Leadron deliveries" shows namespace "hookline", not the stack's "hookline/stack-under-test"`},
		{"a dashboard search in the fixed namespace",
			editDashboard(`{\"hookline/${AWS::StackName}\",provider,reason} MetricName=\"error\"`, `{hookline,provider,reason} MetricName=\"error\"`),
			checkMetrics, `searches namespace "hookline", not the stack's "hookline/stack-under-test"`},
		{"a dashboard graph of a metric never written",
			editDashboard(`"latency", "provider"`, `"latency", "tenant"`),
			checkMetrics, "the dashboard shows latency{tenant}, which shared/metrics never writes"},
		{"one function in its own namespace", func(tmpl *template.Template) {
			props(tmpl, "ProcessorFunction")["Environment"] = map[string]any{"Variables": map[string]any{awsenv.EnvMetricsNamespace: "hookline/processor"}}
		}, checkMetrics, "ProcessorFunction: HOOKLINE_METRICS_NAMESPACE = hookline/processor"},
		{"a namespace that ignores the stack name", func(tmpl *template.Template) {
			globalEnv(tmpl)[awsenv.EnvMetricsNamespace] = "hookline"
		}, checkMetrics, "want one derived from the stack name"},
		{"a namespace CloudWatch refuses", func(tmpl *template.Template) {
			globalEnv(tmpl)[awsenv.EnvMetricsNamespace] = map[string]any{"Fn::Sub": "AWS/${AWS::StackName}"}
		}, checkMetrics, "reserved"},
		{"no namespace set", func(tmpl *template.Template) {
			delete(globalEnv(tmpl), awsenv.EnvMetricsNamespace)
		}, checkMetrics, "JourneyBeeFunction: HOOKLINE_METRICS_NAMESPACE is not set"},
		{"an application log level that drops the metric lines", logging("ProcessorFunction", "ApplicationLogLevel", "WARN"),
			checkLogging, `ProcessorFunction: ApplicationLogLevel "WARN"`},
		{"no application log level", logging("SweeperFunction", "ApplicationLogLevel", ""),
			checkLogging, `SweeperFunction: ApplicationLogLevel ""`},
		{"text logs", logging("TombaFunction", "LogFormat", "Text"),
			checkLogging, "TombaFunction: LoggingConfig"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := repoTemplate(t)
			if p := tt.check(tmpl); len(p) > 0 {
				t.Fatalf("the repository's template already fails: %q", p)
			}
			tt.mutate(tmpl)
			problems := tt.check(tmpl)
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Fatalf("problems %q, want one containing %q", problems, tt.want)
			}
		})
	}
}

func TestOutputs(t *testing.T) {
	out := repoTemplate(t).Outputs
	for _, prov := range wire.Providers {
		name := strings.ToUpper(prov[:1]) + prov[1:] + "WebhookUrl"
		if prov == "journeybee" {
			name = "JourneyBeeWebhookUrl"
		}
		o, _ := out[name].(map[string]any)
		sub, _ := o["Value"].(map[string]any)
		if s := fmt.Sprint(sub["Fn::Sub"]); !strings.HasPrefix(s, "https://${HttpApi}.execute-api.") || !strings.HasSuffix(s, "/webhooks/"+prov) {
			t.Errorf("%s = %v", name, o["Value"])
		}
	}
	for name, want := range map[string]string{"EventsQueueUrl": "EventsQueue", "EventsDLQUrl": "EventsDLQ", "TableName": "EventsTable"} {
		o, _ := out[name].(map[string]any)
		if ref(o["Value"]) != want {
			t.Errorf("%s = %v, want !Ref %s", name, o["Value"], want)
		}
	}
}
