package config

import (
	"context"
	"errors"
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
		{"only empty secrets", "sources:\n  leadron: { secrets: [\"\", \" \"] }\n", "no source has a secret"},
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
