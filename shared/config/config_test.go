package config

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseResolvesReferences(t *testing.T) {
	doc := `
sources:
  journeybee: { secrets: ["${JB_NEW}", "${JB_OLD}"] }
  leadron:    { secrets: ["secretsmanager:hookline/leadron"] }
  tomba:      { header: x-tomba-token, secrets: ["ssm:/hookline/tomba"] }
destinations:
  - name: crm
    type: http
    url: https://crm.example.com/hooks
    secret: whsec_${CRM_SECRET}
    events: ["journeybee.lead_*", "leadron.lead.*", "tomba.*"]
ingest:
  idempotency_window: 2d
`
	var asked []string
	res := ResolverFunc(func(_ context.Context, kind, name string) (string, error) {
		asked = append(asked, kind+":"+name)
		return "resolved-" + name, nil
	})
	c, err := Parse(context.Background(), []byte(doc), env(map[string]string{
		"JB_NEW": "uuid-new", "JB_OLD": "uuid-old", "CRM_SECRET": "c2VjcmV0",
	}), res)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Sources.JourneyBee.Secrets, ","); got != "uuid-new,uuid-old" {
		t.Errorf("journeybee secrets = %q", got)
	}
	if c.Sources.Leadron.Secrets[0] != "resolved-hookline/leadron" || c.Sources.Tomba.Secrets[0] != "resolved-/hookline/tomba" {
		t.Errorf("references not resolved: %v %v", c.Sources.Leadron.Secrets, c.Sources.Tomba.Secrets)
	}
	if len(asked) != 2 {
		t.Errorf("resolver asked %v, want 2 look-ups", asked)
	}
	if c.Sources.Tomba.Header != "X-Tomba-Token" {
		t.Errorf("header not canonicalized: %q", c.Sources.Tomba.Header)
	}
	d := c.Destinations[0]
	if d.Secret != "whsec_c2VjcmV0" || d.Format != "cloudevents" || d.Timeout.D() != DefaultHTTPTimeout || d.MaxAttempts != DefaultMaxAttempts {
		t.Errorf("destination defaults/refs wrong: %+v", d)
	}
	if c.Ingest.IdempotencyWindow.D() != 48*time.Hour || c.Ingest.Retention.D() != DefaultRetention || c.Ingest.MaxBodyBytes != DefaultMaxBodyBytes {
		t.Errorf("ingest = %+v", c.Ingest)
	}
	for typ, want := range map[string]bool{
		"journeybee.lead_created": true, "journeybee.deal_created": false,
		"leadron.lead.updated": true, "leadron.opportunity.won": false, "tomba.save_lead": true,
	} {
		if got := d.Matches(typ); got != want {
			t.Errorf("Matches(%q) = %v, want %v", typ, got, want)
		}
	}
	if got := strings.Join(c.Providers(), ","); got != "journeybee,leadron,tomba" {
		t.Errorf("Providers() = %q", got)
	}
}

func TestParseRejects(t *testing.T) {
	base := "sources:\n  leadron: { secrets: [s] }\n"
	cases := []struct{ name, doc, want string }{
		{"not yaml", "sources: [", "invalid config"},
		{"no source", "sources: {}\n", "no source has a secret"},
		{"only empty secrets", "sources:\n  leadron: { secrets: [\"\", \"\"] }\n", "no source has a secret"},
		{"a blank secret", "sources:\n  leadron: { secrets: [\" \"] }\n", "sources.leadron.secrets[0]: the secret starts or ends with whitespace"},
		{"a header value with CR LF", base + "destinations: [{name: a, type: log, headers: {X-Team: \"crm\\r\\nX-Evil: 1\"}}]\n", "destinations[0].headers.X-Team: the value holds a control character"},
		{"a header value with a NUL", base + "destinations: [{name: a, type: log, headers: {X-Team: \"crm\\0\"}}]\n", "control character"},
		{"secrets as a scalar", "sources:\n  leadron: { secrets: s }\n", "line 2 (sources.leadron.secrets): found a string where a list of strings belongs"},
		{"workers as a string", base + "processor:\n  workers: many\n", "line 4 (processor.workers): found a string where an integer belongs"},
		{"unset env", "sources:\n  leadron: { secrets: [\"${NOPE}\"] }\n", "NOPE is not set"},
		{"ssm without resolver", "sources:\n  leadron: { secrets: [\"ssm:/x\"] }\n", "no resolver"},
		{"bad duration", base + "ingest: { retention: soon }\n", "not a duration"},
		{"retention below window", base + "ingest: { retention: 1d, idempotency_window: 7d }\n", "retention"},
		{"bad dest type", base + "destinations: [{name: a, type: ftp}]\n", "use http"},
		{"bad dest name", base + "destinations: [{name: A B, type: log}]\n", "name"},
		{"dup dest name", base + "destinations: [{name: a, type: log}, {name: a, type: log}]\n", "used twice"},
		{"http no url", base + "destinations: [{name: a, type: http, secret: whsec_x}]\n", "url"},
		{"http bad secret", base + "destinations: [{name: a, type: http, url: 'https://x', secret: nope}]\n", "whsec_"},
		{"bad glob", base + "destinations: [{name: a, type: log, events: ['[']}]\n", "glob"},
		{"bad format", base + "destinations: [{name: a, type: log, format: xml}]\n", "format"},
		{"sqs no url", base + "destinations: [{name: a, type: sqs}]\n", "queue_url"},
		{"bad tomba header", "sources:\n  tomba: { header: 'X Bad', secrets: [t] }\n", "header name"},
		{"unknown key", base + "ingest: { max_body: 3 }\n", "max_body"},
		{"backoff cap below base", base + "processor: { backoff_base: 10s, backoff_cap: 5s }\n", "backoff_cap"},
		{"backoff cap over 12h", base + "processor: { backoff_cap: 13h }\n", "backoff_cap"},
		// SQS hides a message at most 12 h from its receive, time in flight included.
		{"backoff cap of 12h", base + "processor: { backoff_cap: 12h }\n", "at most 11h"},
		{"backoff base over the cap's limit", base + "processor: { backoff_base: 11h1m }\n", "at most 11h"},
		// The processor Lambda (60 s) would end the invocation before the attempt.
		{"destination timeout the processor cannot honour", base + "destinations: [{name: a, type: log, timeout: 46s}]\n", "destinations[0].timeout 46s: at most 45s"},
		{"destination timeout over the Lambda's", base + "destinations: [{name: a, type: log, timeout: 2m}]\n", "timeout 2m: at most 45s"},
		{"negative workers", base + "processor: { workers: -1 }\n", "workers"},
		{"dedupe window over retention", "sources:\n  tomba: { secrets: [t], dedupe_window: 40d }\n", "sources.tomba.dedupe_window"},
		{"dedupe window on leadron", "sources:\n  leadron: { secrets: [s], dedupe_window: 1d }\n", "dedupe_window"},
		{"reject_reused_tokens on tomba", "sources:\n  tomba: { secrets: [t], reject_reused_tokens: true }\n", "reject_reused_tokens"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(context.Background(), []byte(tc.doc), env(nil), nil)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestResolverErrorNamesReferenceOnly(t *testing.T) {
	res := ResolverFunc(func(context.Context, string, string) (string, error) { return "", errors.New("access denied") })
	_, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [\"secretsmanager:prod/leadron\"] }\n"), env(nil), res)
	if err == nil || !strings.Contains(err.Error(), "secretsmanager:prod/leadron") || !strings.Contains(err.Error(), "access denied") {
		t.Fatalf("err = %v", err)
	}
}

func TestDevelopment(t *testing.T) {
	c := Development()
	if len(c.Providers()) != 3 || len(c.Destinations) != 1 || c.Destinations[0].Type != "log" {
		t.Fatalf("development config = %+v", c)
	}
}

func TestResolvedValuesKeepTheirText(t *testing.T) {
	for _, v := range []string{"12345", "true", "a: b", "#not a comment", "'quoted'", "x\ny", "null", "0x1F"} {
		c, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [\"${S}\"] }\n"), env(map[string]string{"S": v}), nil)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if c.Sources.Leadron.Secrets[0] != v {
			t.Errorf("secret %q came back as %q", v, c.Sources.Leadron.Secrets[0])
		}
	}
}

func TestProcessorDefaults(t *testing.T) {
	for _, c := range []struct {
		doc       string
		base, cap time.Duration
		workers   int
	}{
		{"", DefaultBackoffBase, DefaultBackoffCap, DefaultWorkers},
		{"processor: { backoff_base: 100ms, backoff_cap: 2s, workers: 4 }\n", 100 * time.Millisecond, 2 * time.Second, 4},
		{"processor: { backoff_base: 2h }\n", 2 * time.Hour, 2 * time.Hour, DefaultWorkers},
	} {
		cfg, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [s] }\n"+c.doc), env(nil), nil)
		if err != nil {
			t.Fatalf("%q: %v", c.doc, err)
		}
		p := cfg.Processor
		if p.BackoffBase.D() != c.base || p.BackoffCap.D() != c.cap || p.Workers != c.workers {
			t.Errorf("%q: processor = %+v, want base %v, cap %v, workers %d", c.doc, p, c.base, c.cap, c.workers)
		}
	}
}

// The longest destination timeout the processor Lambda can honour is
// accepted (and the longest backoff cap); MaxDestinationTimeout is what
// the template's processor timeout leaves after the reserve.
func TestLimitsAccepted(t *testing.T) {
	doc := "sources:\n  leadron: { secrets: [s] }\nprocessor: { backoff_cap: 11h }\n" +
		"destinations: [{name: a, type: log, timeout: 45s}, {name: b, type: log}]\n"
	c, err := Parse(context.Background(), []byte(doc), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Destinations[0].Timeout.D() != MaxDestinationTimeout || c.Destinations[1].Timeout.D() != DefaultHTTPTimeout || c.Processor.BackoffCap.D() != MaxBackoffCap {
		t.Fatalf("destinations %+v, processor %+v", c.Destinations, c.Processor)
	}
	if MaxDestinationTimeout != 45*time.Second || DefaultHTTPTimeout > MaxDestinationTimeout {
		t.Fatalf("MaxDestinationTimeout %v, default timeout %v", MaxDestinationTimeout, DefaultHTTPTimeout)
	}
}

// recorder is a Resolver that records every reference it is asked for.
type recorder struct{ asked []string }

func (r *recorder) Resolve(_ context.Context, kind, name string) (string, error) {
	r.asked = append(r.asked, kind+":"+name)
	if strings.HasPrefix(name, "whsec/") {
		return "whsec_c2VjcmV0", nil
	}
	return "resolved-" + name, nil
}

// Each program resolves only its part of the document: an ingest function
// its own source, the processor the destinations, the sweeper nothing; the
// rest is decoded but left out of the result, and a reference there that
// could not be resolved here (an unset variable, a secret the role may not
// read) does not stop the program.
func TestScopeResolvesOnlyItsPart(t *testing.T) {
	doc := `
sources:
  journeybee: { secrets: ["${JB}"], max_token_age: 1h }
  leadron:    { secrets: ["secretsmanager:leadron"] }
  tomba:      { header: "${TOMBA_HEADER}", secrets: ["ssm:/tomba"] }
destinations:
  - { name: crm, type: http, url: "${CRM_URL}", secret: "secretsmanager:whsec/crm", headers: { X-Key: "${CRM_KEY}" } }
  - { name: bus, type: eventbridge, event_bus: "ssm:/bus" }
processor: { workers: 3 }
`
	full := map[string]string{"JB": "jb-uuid", "TOMBA_HEADER": "X-Token", "CRM_URL": "https://crm.example.com", "CRM_KEY": "k"}
	tests := []struct {
		name    string
		scope   Scope
		env     []string // the variables the program's environment sets
		asked   []string
		sources []string
		dests   int
	}{
		{"hookline serve", ScopeAll, []string{"JB", "TOMBA_HEADER", "CRM_URL", "CRM_KEY"},
			[]string{"secretsmanager:leadron", "ssm:/tomba", "secretsmanager:whsec/crm", "ssm:/bus"}, []string{"journeybee", "leadron", "tomba"}, 2},
		{"journeybee function", ScopeSource("journeybee"), []string{"JB"}, nil, []string{"journeybee"}, 0},
		{"leadron function", ScopeSource("leadron"), nil, []string{"secretsmanager:leadron"}, []string{"leadron"}, 0},
		{"tomba function", ScopeSource("tomba"), []string{"TOMBA_HEADER"}, []string{"ssm:/tomba"}, []string{"tomba"}, 0},
		{"processor", ScopeProcessor, []string{"CRM_URL", "CRM_KEY"}, []string{"secretsmanager:whsec/crm", "ssm:/bus"}, nil, 2},
		{"sweeper", ScopeNone, nil, nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{}
			for _, k := range tt.env {
				vars[k] = full[k]
			}
			rec := &recorder{}
			c, err := ParseScope(context.Background(), []byte(doc), tt.scope, env(vars), rec)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(rec.asked, " ") != strings.Join(tt.asked, " ") {
				t.Errorf("resolved %q, want %q", rec.asked, tt.asked)
			}
			if got := strings.Join(c.Providers(), ","); got != strings.Join(tt.sources, ",") {
				t.Errorf("providers %q, want %q", got, tt.sources)
			}
			if len(c.Destinations) != tt.dests {
				t.Errorf("%d destinations, want %d", len(c.Destinations), tt.dests)
			}
			// Nothing left unresolved where a program could use it.
			for _, s := range append(append(c.Sources.JourneyBee.Secrets, c.Sources.Leadron.Secrets...), c.Sources.Tomba.Secrets...) {
				if strings.Contains(s, "${") || strings.Contains(s, ":") {
					t.Errorf("a secret %q is still a reference", s)
				}
			}
			if c.Processor.Workers != 3 {
				t.Errorf("settings not decoded: workers %d", c.Processor.Workers)
			}
		})
	}
	// Out of scope is not out of sight: the whole document is still decoded
	// strictly, whoever reads it.
	for _, scope := range []Scope{ScopeNone, ScopeSource("leadron"), ScopeProcessor} {
		bad := doc + "destinations_typo: []\n"
		if _, err := ParseScope(context.Background(), []byte(bad), scope, env(full), &recorder{}); err == nil || !strings.Contains(err.Error(), "destinations_typo") {
			t.Errorf("scope %+v: unknown key: %v", scope, err)
		}
	}
	if _, err := ParseScope(context.Background(), []byte(doc), ScopeSource("mailchimp"), env(full), &recorder{}); err == nil {
		t.Error("a scope naming no source was accepted")
	}
}

// A source secret is required only where that source is verified.
func TestSourceSecretRequiredOnlyWhereVerified(t *testing.T) {
	doc := "sources:\n  leadron: { secrets: [\"${L}\"] }\n  tomba: { secrets: [\"${T}\"] }\ndestinations: [{ name: log, type: log }]\n"
	noTomba := env(map[string]string{"L": "l"}) // as if ${T} were set only in the Tomba function
	for _, scope := range []Scope{ScopeNone, ScopeProcessor, ScopeSource("leadron"), ScopeAll} {
		if _, err := ParseScope(context.Background(), []byte(doc), scope, env(map[string]string{"L": "l", "T": ""}), nil); err != nil {
			t.Errorf("scope %+v, no tomba secret: %v", scope, err)
		}
	}
	if _, err := ParseScope(context.Background(), []byte(doc), ScopeProcessor, noTomba, nil); err != nil {
		t.Errorf("processor with ${T} unset: %v", err)
	}
	_, err := ParseScope(context.Background(), []byte(doc), ScopeSource("tomba"), env(map[string]string{"T": ""}), nil)
	if err == nil || !strings.Contains(err.Error(), "sources.tomba has no secret") {
		t.Errorf("tomba function without its secret: %v", err)
	}
	_, err = ParseScope(context.Background(), []byte("sources: {}\n"), ScopeAll, env(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "no source has a secret") {
		t.Errorf("serve without any source: %v", err)
	}
}

// A secret with leading or trailing whitespace (a trailing newline from
// `--secret-string file://`) is refused at start-up, naming where it is and
// the references it came through, never the value.
func TestSecretWhitespaceRefused(t *testing.T) {
	const value = "hunter2-value"
	src := "sources:\n  leadron: { secrets: [ok, \"%s\"] }\n"
	tests := []struct {
		name, doc, val string
		want           string
	}{
		{"newline through an environment variable", "sources:\n  leadron: { secrets: [\"${LEADRON}\"] }\n", value + "\n",
			"sources.leadron.secrets[0] (${LEADRON}): the secret starts or ends with whitespace"},
		{"newline from Secrets Manager through a variable", "sources:\n  leadron: { secrets: [\"${LEADRON}\"] }\n", "secretsmanager:arn:leadron",
			"sources.leadron.secrets[0] (${LEADRON} → secretsmanager:arn:leadron): the secret starts or ends with whitespace"},
		{"leading space, inline", fmt.Sprintf(src, " "+value), "", "sources.leadron.secrets[1]: the secret starts"},
		{"journeybee from SSM", "sources:\n  journeybee: { secrets: [\"ssm:/jb\"] }\n", "", "sources.journeybee.secrets[0] (ssm:/jb): "},
		{"tomba token with a tab", "sources:\n  tomba: { secrets: [\"${T}\"] }\n", "\t" + value, "sources.tomba.secrets[0] (${T}): "},
		{"destination secret", "sources:\n  leadron: { secrets: [ok] }\ndestinations: [{ name: crm, type: http, url: \"https://x\", secret: \"secretsmanager:crm\" }]\n", "",
			"destinations[0].secret (secretsmanager:crm): the secret starts"},
		{"destination rotation secret", "sources:\n  leadron: { secrets: [ok] }\ndestinations: [{ name: crm, type: http, url: \"https://x\", secret: whsec_a, secrets: [whsec_b, \"${OLD}\"] }]\n", "whsec_" + value + "\r\n",
			"destinations[0].secrets[1] (${OLD}): "},
	}
	res := ResolverFunc(func(_ context.Context, kind, name string) (string, error) { return value + "\n", nil })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"LEADRON": tt.val, "T": tt.val, "OLD": tt.val}
			_, err := Parse(context.Background(), []byte(tt.doc), env(vars), res)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter") {
				t.Fatalf("the error shows the value: %v", err)
			}
		})
	}
}

// A YAML type error never prints the value: yaml.v3 quotes up to 10
// characters of it, so "secrets: ${HOOKLINE_LEADRON_SECRET}" written as a
// scalar (once resolved) or any secret written inline in the wrong place
// would leak part of it into the cold-start log.
func TestTypeErrorsNeverShowTheValue(t *testing.T) {
	const secret = "Zq9Xs3cR3tKq7wJpZq"
	tests := []struct{ name, doc, want string }{
		{"secrets as a scalar reference", "sources:\n  leadron:\n    secrets: ${S}\n", "line 3 (sources.leadron.secrets): found a string where a list of strings belongs"},
		{"secrets as an inline scalar", "sources:\n  leadron:\n    secrets: " + secret + "\n", "line 3 (sources.leadron.secrets): found a string where a list of strings belongs"},
		{"a secret as a source", "sources:\n  tomba: " + secret + "\n", "(sources.tomba): found a string where a mapping belongs"},
		{"a secret as headers", "sources: { leadron: { secrets: [x] } }\ndestinations: [{ name: a, type: log, headers: " + secret + " }]\n", "found a string where a mapping belongs"},
		{"a secret in a number", "ingest:\n  max_body_bytes: " + secret + "\n", "line 2 (ingest.max_body_bytes): found a string where an integer belongs"},
		{"a secret in a duration", "ingest:\n  retention: " + secret + "\n", "line 2: not a duration"},
		{"a secret in a flag list", "sources: { leadron: { secrets: [x] } }\ndestinations: [{ name: a, type: log, events: " + secret + " }]\n", "found a string where a list of strings belongs"},
		{"a whole document", secret + "\n", "line 1: found a string where a mapping belongs"},
		{"two strings on the line", "sources:\n  leadron: { secrets: [x] }\nprocessor: { workers: " + secret + ", backoff_base: 1s }\n", "line 3: found a string where an integer belongs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(context.Background(), []byte(tt.doc), env(map[string]string{"S": secret}), nil)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			for i := 0; i+4 <= len(secret); i++ {
				if strings.Contains(err.Error(), secret[i:i+4]) {
					t.Fatalf("the error shows %q of the value: %v", secret[i:i+4], err)
				}
			}
		})
	}
	// Errors about keys name the key, which is not a value.
	_, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [x], secret: y }\n"), env(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "field secret not found in type config.Leadron") {
		t.Errorf("unknown key: %v", err)
	}
}

func TestDevelopmentSecretsFound(t *testing.T) {
	if got := strings.Join(Development().DevelopmentSecrets(), " "); got != "sources.journeybee.secrets[0] sources.leadron.secrets[0] sources.tomba.secrets[0]" {
		t.Errorf("development config: %q", got)
	}
	c, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [mine, \""+DevLeadronSecret+"\"] }\n  tomba: { secrets: [\""+DevJourneyBeeSecret+"\"] }\n"), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.DevelopmentSecrets(), " "); got != "sources.leadron.secrets[1] sources.tomba.secrets[0]" {
		t.Errorf("got %q", got)
	}
	c, _ = Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [mine] }\n"), env(nil), nil)
	if d := c.DevelopmentSecrets(); len(d) != 0 {
		t.Errorf("own secrets reported as development ones: %q", d)
	}
}

// TestKeyWindows: keys hashed from the body (journeybee, tomba) get their
// source's dedupe_window, 24 hours unless set; leadron's event-id keys get
// ingest.idempotency_window.
func TestKeyWindows(t *testing.T) {
	c := Development()
	for p, want := range map[string]time.Duration{"journeybee": 24 * time.Hour, "tomba": 24 * time.Hour, "leadron": 7 * 24 * time.Hour} {
		if got := c.KeyWindow(p); got != want {
			t.Errorf("default KeyWindow(%s) = %v, want %v", p, got, want)
		}
	}
	if c.Sources.JourneyBee.RejectReusedTokens {
		t.Error("reject_reused_tokens is on by default")
	}
	doc := `
sources:
  journeybee: { secrets: [j], dedupe_window: 2h, reject_reused_tokens: true }
  leadron:    { secrets: [l] }
  tomba:      { secrets: [t], dedupe_window: 3d }
ingest: { idempotency_window: 10d }
`
	c, err := Parse(context.Background(), []byte(doc), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]time.Duration{"journeybee": 2 * time.Hour, "tomba": 72 * time.Hour, "leadron": 10 * 24 * time.Hour} {
		if got := c.KeyWindow(p); got != want {
			t.Errorf("KeyWindow(%s) = %v, want %v", p, got, want)
		}
	}
	if !c.Sources.JourneyBee.RejectReusedTokens {
		t.Error("reject_reused_tokens: true not read")
	}
}

func TestCheckMaxBody(t *testing.T) {
	c := Development()
	if err := c.CheckMaxBody("DynamoDB", 300<<10); err != nil {
		t.Fatalf("default limit against 300 KiB: %v", err)
	}
	c, err := Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [s] }\ningest: { max_body_bytes: 400000 }\n"), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckMaxBody("DynamoDB", 363510)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "ingest.max_body_bytes 400000 is over 363510") || !strings.Contains(err.Error(), "DynamoDB") {
		t.Fatalf("CheckMaxBody = %v", err)
	}
}
