package template_test

// IAM per role: every secret and parameter a function's cold start reads is
// one its role in template.yaml may read. Neither stand-in checks this:
// moto's IAM enforcement evaluates only Resource "*" for Secrets Manager and
// SSM (a policy naming one secret's ARN is denied even for that secret), so
// this test reads the template's policies itself.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hookline/hookline/shared/lambdaemu"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/template"
)

const (
	region  = "us-east-1"
	account = "123456789012"
)

// read is one secret or parameter a cold start asked for.
type read struct {
	action   string // IAM action, e.g. secretsmanager:GetSecretValue
	resource string // the ARN IAM evaluates
}

func (r read) String() string { return r.action + " " + r.resource }

// fakeAWS answers GetParameter and GetSecretValue from its maps and records
// every call (a recording resolver at the wire: the real awsref code asks).
type fakeAWS struct {
	params  map[string]string // parameter name → value
	secrets map[string]string // secret ARN → value
	mu      sync.Mutex
	reads   []read
	other   []string // calls of any other API
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name, SecretId string }
	_ = json.NewDecoder(r.Body).Decode(&in)
	target := r.Header.Get("X-Amz-Target")
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch target {
	case "AmazonSSM.GetParameter":
		arn := in.Name
		if !strings.HasPrefix(arn, "arn:") {
			arn = "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(in.Name, "/")
		}
		f.reads = append(f.reads, read{"ssm:GetParameter", arn})
		if v, ok := f.params[in.Name]; ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{"Name": in.Name, "Type": "SecureString", "Value": v, "Version": 1, "ARN": arn}})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"__type":"ParameterNotFound","message":"no such parameter"}`)
	case "secretsmanager.GetSecretValue":
		// IAM evaluates the secret's ARN, however it is named; the configs
		// here name secrets by ARN, as the README tells users to.
		f.reads = append(f.reads, read{"secretsmanager:GetSecretValue", in.SecretId})
		if v, ok := f.secrets[in.SecretId]; ok {
			_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": v, "VersionId": "v1",
				"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
			return
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"no such secret"}`)
	default:
		f.other = append(f.other, target+" "+r.URL.Path)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprint(w, `{"__type":"UnknownOperationException"}`)
	}
}

func (f *fakeAWS) set(params, secrets map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.params, f.secrets = params, secrets
}

func (f *fakeAWS) take() ([]read, []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, o := f.reads, f.other
	f.reads, f.other = nil, nil
	return r, o
}

// physicalIDs is what Ref gives for the template's resources once deployed:
// a secret's ARN, a parameter's name, a table's name, a queue's URL.
func physicalIDs(t *testing.T, tmpl *template.Template, params map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range tmpl.Resources {
		if r.Condition != "" {
			if ok, err := tmpl.Condition(r.Condition, params); err != nil || !ok {
				continue
			}
		}
		switch r.Type {
		case "AWS::SecretsManager::Secret":
			name, err := tmpl.Resolve(r.Properties["Name"], params)
			if err != nil {
				t.Fatalf("%s: Name: %v", id, err)
			}
			out[id] = "arn:aws:secretsmanager:" + region + ":" + account + ":secret:" + name + "-Ab12Cd"
		case "AWS::SSM::Parameter":
			name, err := tmpl.Resolve(r.Properties["Name"], params)
			if err != nil {
				t.Fatalf("%s: Name: %v", id, err)
			}
			out[id] = name
		case "AWS::SQS::Queue":
			out[id] = "https://sqs." + region + ".amazonaws.com/" + account + "/hookline-" + id + "-1A2B3C"
		default:
			out[id] = "hookline-" + id + "-1A2B3C"
		}
	}
	return out
}

// statement is one statement of a role's policies, with its Fn::If
// settled for the deployment's parameters.
type iamStatement struct {
	where    string
	effect   string
	actions  []string
	resource []any
}

// roleStatements are the statements a role holds: its inline policies and
// the template's managed policies it attaches, conditions evaluated.
func roleStatements(t *testing.T, tmpl *template.Template, role string, params map[string]string) []iamStatement {
	t.Helper()
	r := tmpl.Resources[role]
	if r.Type != "AWS::IAM::Role" {
		t.Fatalf("%s is not a role of the template", role)
	}
	var docs []any
	var wheres []string
	for _, p := range asList(r.Properties["Policies"]) {
		pm, _ := p.(map[string]any)
		docs, wheres = append(docs, pm["PolicyDocument"]), append(wheres, fmt.Sprint(role, ".", pm["PolicyName"]))
	}
	for _, m := range asList(r.Properties["ManagedPolicyArns"]) {
		id := ref(m)
		if tmpl.Resources[id].Type != "AWS::IAM::ManagedPolicy" {
			t.Fatalf("%s attaches %v, not a managed policy of the template: its grants cannot be checked here", role, m)
		}
		docs, wheres = append(docs, tmpl.Resources[id].Properties["PolicyDocument"]), append(wheres, id)
	}
	var out []iamStatement
	var settle func(where string, v any)
	settle = func(where string, v any) {
		m, _ := v.(map[string]any)
		if branches, ok := m["Fn::If"].([]any); ok && len(branches) == 3 {
			name, _ := branches[0].(string)
			ok, err := tmpl.Condition(name, params)
			if err != nil {
				t.Fatalf("%s: condition %s: %v", where, name, err)
			}
			if ok {
				settle(where, branches[1])
			} else {
				settle(where, branches[2])
			}
			return
		}
		if m == nil || ref(m) == "AWS::NoValue" {
			return
		}
		for _, k := range []string{"NotAction", "NotResource", "Condition", "NotPrincipal"} {
			if _, ok := m[k]; ok {
				t.Fatalf("%s: a statement with %s: this check does not evaluate it", where, k)
			}
		}
		st := iamStatement{where: fmt.Sprint(where, "/", m["Sid"]), effect: fmt.Sprint(m["Effect"]), resource: asList(m["Resource"])}
		for _, a := range asList(m["Action"]) {
			st.actions = append(st.actions, fmt.Sprint(a))
		}
		out = append(out, st)
	}
	for i, d := range docs {
		dm, _ := d.(map[string]any)
		for _, s := range asList(dm["Statement"]) {
			settle(wheres[i], s)
		}
	}
	return out
}

// resources resolves a statement's resources to ARNs (patterns).
func (s iamStatement) resources(tmpl *template.Template, params map[string]string) ([]string, error) {
	var out []string
	for _, r := range s.resource {
		if name := ref(r); name != "" && tmpl.Parameters[name].Type == "CommaDelimitedList" {
			v, err := tmpl.Resolve(r, params)
			if err != nil {
				return nil, err
			}
			out = append(out, strings.Split(v, ",")...)
			continue
		}
		v, err := tmpl.Resolve(r, params)
		if err != nil {
			return nil, fmt.Errorf("%s: resource %v: %w", s.where, r, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// iamMatch matches IAM's wildcards: * any run of characters, ? one.
func iamMatch(pattern, s string, fold bool) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	if fold {
		re = "(?i)" + re
	}
	return regexp.MustCompile(re).MatchString(s)
}

// allowed reports whether the statements allow the read (an explicit Deny wins).
func allowed(t *testing.T, tmpl *template.Template, sts []iamStatement, params map[string]string, r read) bool {
	t.Helper()
	allow := false
	for _, st := range sts {
		if !slices.ContainsFunc(st.actions, func(a string) bool { return iamMatch(a, r.action, true) }) {
			continue
		}
		res, err := st.resources(tmpl, params)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if !slices.ContainsFunc(res, func(p string) bool { return iamMatch(p, r.resource, false) }) {
			continue
		}
		switch st.effect {
		case "Deny":
			return false
		case "Allow":
			allow = true
		}
	}
	return allow
}

// deployment is one way of deploying the template: its parameters, the
// config document it reads and the values of the secrets it names.
type deployment struct {
	name    string
	params  map[string]string
	config  func(tmpl *template.Template, params map[string]string) string // the document in the config parameter
	secrets map[string]string                                              // by ARN, beside the template's own
	// want: per function, the reads beside the config parameter (ARNs,
	// "<Resource>" for a template resource's); fails: functions that must
	// refuse to start, with what they say.
	want  map[string][]string
	fails map[string]string
}

// TestColdStartReadsOnlyWhatItsRoleGrants runs every function of
// template.yaml (its real bootstrap, built for this machine, under the
// Lambda emulator, with the environment the template gives it) in three
// deployments: the template's default config; destination secrets in
// Secrets Manager, listed in DestinationSecretArns as the README says; no
// Tomba source. Every parameter and secret the cold start reads is recorded,
// must be the ones its part of the config needs (an ingest function: the
// config and its own secret; the processor: the config and the destination
// secrets; the sweeper: the config only), and must be granted (action and
// resource) by the function's role in the template.
func TestColdStartReadsOnlyWhatItsRoleGrants(t *testing.T) {
	tmpl := repoTemplate(t)
	const destSecret = "arn:aws:secretsmanager:" + region + ":" + account + ":secret:crm/whsec-Xy12Zq"
	const destSecretOld = "arn:aws:secretsmanager:" + region + ":" + account + ":secret:crm/whsec-previous-Pq34Rs"
	const ownConfig = "/hookline/prod/config"
	defaultDoc := func(tmpl *template.Template, params map[string]string) string {
		doc, err := tmpl.Resolve(tmpl.Resources["ConfigParameter"].Properties["Value"], params)
		if err != nil {
			t.Fatalf("the default config: %v", err)
		}
		return doc
	}
	own := func(doc string) func(*template.Template, map[string]string) string {
		return func(*template.Template, map[string]string) string { return doc }
	}
	ingestWant := func(tomba bool) map[string][]string {
		w := map[string][]string{"JourneyBeeFunction": {"<JourneyBeeSecret>"}, "LeadronFunction": {"<LeadronSecret>"},
			"ProcessorFunction": nil, "SweeperFunction": nil, "TombaFunction": nil}
		if tomba {
			w["TombaFunction"] = []string{"<TombaSecret>"}
		}
		return w
	}
	withDest := ingestWant(true)
	withDest["ProcessorFunction"] = []string{destSecret, destSecretOld}
	deployments := []deployment{
		{name: "the template's default config", params: map[string]string{}, config: defaultDoc, want: ingestWant(true)},
		{name: "destination secrets in Secrets Manager",
			params: map[string]string{"ConfigParameterName": ownConfig, "DestinationSecretArns": destSecret + "," + destSecretOld,
				"DestinationEventBusArns": "arn:aws:events:" + region + ":" + account + ":event-bus/leads"},
			config: own(`# as the README tells users to write it
sources:
  journeybee: { secrets: ["${HOOKLINE_JOURNEYBEE_SECRET}"] }
  leadron:    { secrets: ["${HOOKLINE_LEADRON_SECRET}"] }
  tomba:      { header: X-Tomba-Token, secrets: ["${HOOKLINE_TOMBA_SECRET}"] }
destinations:
  - name: crm
    type: http
    url: https://crm.example.com/hooks
    secret: secretsmanager:` + destSecret + `
    secrets: ["secretsmanager:` + destSecretOld + `"]
  - name: bus
    type: eventbridge
    event_bus: arn:aws:events:` + region + `:` + account + `:event-bus/leads
`),
			secrets: map[string]string{destSecret: "whsec_" + base64.StdEncoding.EncodeToString([]byte(rand.Text())),
				destSecretOld: "whsec_" + base64.StdEncoding.EncodeToString([]byte(rand.Text()))},
			want: withDest},
		{name: "no Tomba source",
			params: map[string]string{"ConfigParameterName": ownConfig},
			config: own(`sources:
  journeybee: { secrets: ["${HOOKLINE_JOURNEYBEE_SECRET}"] }
  leadron:    { secrets: ["${HOOKLINE_LEADRON_SECRET}"] }
destinations:
  - { name: log, type: log }
`),
			want:  ingestWant(false),
			fails: map[string]string{"TombaFunction": "sources.tomba has no secret"}},
	}

	fake := &fakeAWS{}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	bins := map[string]string{}
	for _, fn := range tmpl.Functions() {
		bins[fn.LogicalID] = hostBootstrap(t, fn)
	}
	for _, d := range deployments {
		t.Run(d.name, func(t *testing.T) {
			params := physicalIDs(t, tmpl, d.params)
			for k, v := range d.params {
				params[k] = v
			}
			configName := ownConfig
			if d.params["ConfigParameterName"] == "" {
				configName = params["ConfigParameter"]
			}
			s := samples.NewSecrets()
			secrets := map[string]string{params["JourneyBeeSecret"]: s.JourneyBee, params["LeadronSecret"]: s.Leadron,
				params["TombaSecret"]: s.TombaToken}
			for k, v := range d.secrets {
				secrets[k] = v
			}
			fake.set(map[string]string{configName: d.config(tmpl, params)}, secrets)
			configARN := "arn:aws:ssm:" + region + ":" + account + ":parameter/" + strings.TrimPrefix(configName, "/")
			for _, fn := range tmpl.Functions() {
				t.Run(fn.LogicalID, func(t *testing.T) {
					log, err := coldStart(t, tmpl, fn, params, bins[fn.LogicalID], srv.URL)
					reads, other := fake.take()
					if want, fails := d.fails[fn.LogicalID]; fails {
						if err == nil || !strings.Contains(log, want) {
							t.Errorf("started (%v), want a refusal saying %q:\n%s", err, want, log)
						}
					} else if err != nil {
						t.Fatalf("cold start: %v\n%s", err, log)
					}
					for _, v := range secrets {
						if strings.Contains(log, v) {
							t.Errorf("the cold start's output shows a secret:\n%s", log)
						}
					}
					if len(other) > 0 {
						t.Errorf("the cold start called %q: add them to this check", other)
					}
					// Exactly what its part of the config needs.
					want := []string{"ssm:GetParameter " + configARN}
					for _, w := range d.want[fn.LogicalID] {
						if id, ok := strings.CutPrefix(strings.TrimSuffix(w, ">"), "<"); ok {
							w = params[id]
						}
						want = append(want, "secretsmanager:GetSecretValue "+w)
					}
					var got []string
					for _, r := range reads {
						got = append(got, r.String())
					}
					sort.Strings(got)
					sort.Strings(want)
					if !slices.Equal(got, want) {
						t.Errorf("read %q\nwant %q", got, want)
					}
					// And every one of them granted by its own role.
					role, _ := getAtt(fn.Properties["Role"])
					sts := roleStatements(t, tmpl, role, params)
					for _, r := range reads {
						if !allowed(t, tmpl, sts, params, r) {
							t.Errorf("role %s does not grant %s", role, r)
						}
					}
				})
			}
		})
	}
}

// coldStart runs a function's bootstrap until its init is done (or fails)
// with the template's environment for it, AWS pointed at endpoint.
func coldStart(t *testing.T, tmpl *template.Template, fn *template.Function, params map[string]string, bin, endpoint string) (string, error) {
	t.Helper()
	env := []string{"AWS_REGION=" + region, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_ENDPOINT_URL=" + endpoint, "AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true"}
	for k, raw := range fn.Env() {
		if strings.HasPrefix(k, "AWS_ENDPOINT_URL") {
			continue // declared empty for sam local invoke; here AWS is the recording endpoint
		}
		v, err := tmpl.Resolve(raw, params)
		if err != nil {
			t.Fatalf("%s: %s: %v", fn.LogicalID, k, err)
		}
		env = append(env, k+"="+v)
	}
	var out bytes.Buffer
	rt, err := lambdaemu.Start(context.Background(), lambdaemu.Function{Name: fn.LogicalID, Bootstrap: bin, Env: env,
		MemoryMB: fn.MemoryMB(), Timeout: fn.Timeout(), Stdout: &out, Stderr: &out})
	if err == nil {
		_, _ = rt.Close()
	}
	return out.String(), err
}

// hostBootstrap builds a function as `sam build` does (make
// build-<LogicalId>), for this machine.
func hostBootstrap(t *testing.T, fn *template.Function) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("make", "--no-print-directory", "build-"+fn.LogicalID,
		"ARTIFACTS_DIR="+dir, "LAMBDA_GOOS="+runtime.GOOS, "LAMBDA_GOARCH="+runtime.GOARCH)
	cmd.Dir = filepath.Join(root, fn.CodeURI())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build-%s: %v\n%s", fn.LogicalID, err, out)
	}
	return filepath.Join(dir, "bootstrap")
}

// The check itself can fail: a role without the grant, a grant of another
// resource, a Deny, and a wildcard are judged as IAM would.
func TestIAMCheckJudgesLikeIAM(t *testing.T) {
	tmpl, err := template.Parse([]byte(`
Parameters:
  Arns: { Type: CommaDelimitedList, Default: "arn:aws:secretsmanager:us-east-1:1:secret:a-1,arn:aws:secretsmanager:us-east-1:1:secret:b-2" }
  Use: { Type: String, Default: "yes" }
Conditions:
  On: !Equals [!Ref Use, "yes"]
Resources:
  Secret: { Type: AWS::SecretsManager::Secret, Properties: { Name: s } }
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - { Effect: Allow, Action: secretsmanager:GetSecretValue, Resource: !Ref Secret }
              - !If [On, { Effect: Allow, Action: [SecretsManager:GetSecretValue], Resource: !Ref Arns }, !Ref AWS::NoValue]
              - { Effect: Allow, Action: "ssm:Get*", Resource: "arn:aws:ssm:us-east-1:1:parameter/app/*" }
              - { Effect: Deny, Action: ssm:GetParameter, Resource: "arn:aws:ssm:us-east-1:1:parameter/app/secret?" }
`))
	if err != nil {
		t.Fatal(err)
	}
	params := map[string]string{"Secret": "arn:aws:secretsmanager:us-east-1:1:secret:s-XyZ"}
	sts := roleStatements(t, tmpl, "Role", params)
	tests := []struct {
		r    read
		want bool
	}{
		{read{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:s-XyZ"}, true},
		{read{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:t-XyZ"}, false},
		{read{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:b-2"}, true},
		{read{"secretsmanager:DescribeSecret", "arn:aws:secretsmanager:us-east-1:1:secret:s-XyZ"}, false},
		{read{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/app/config"}, true},
		{read{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/app/secret1"}, false},
		{read{"ssm:GetParameter", "arn:aws:ssm:us-east-1:1:parameter/other"}, false},
	}
	for _, tt := range tests {
		if got := allowed(t, tmpl, sts, params, tt.r); got != tt.want {
			t.Errorf("%s: allowed %v, want %v", tt.r, got, tt.want)
		}
	}
	// With the condition false, the listed ARNs are not granted.
	params["Use"] = "no"
	sts = roleStatements(t, tmpl, "Role", params)
	if allowed(t, tmpl, sts, params, read{"secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:b-2"}) {
		t.Error("granted by a statement whose condition is false")
	}
}
