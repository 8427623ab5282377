// Package config is hookline's one typed configuration: a YAML document,
// the same for the local binary and for Lambda, parsed and validated once at
// start-up.
//
// String values may contain ${ENV_VAR} references, and a value may be a whole
// reference to a secret store: "secretsmanager:<name>" or "ssm:<name>". Those
// are resolved by a Resolver the caller supplies (the AWS one lives in
// config/awsref, so the local binary links no AWS SDK it does not need).
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration.
type Config struct {
	Sources      Sources       `yaml:"sources"`
	Destinations []Destination `yaml:"destinations"`
	Ingest       Ingest        `yaml:"ingest"`
	Processor    Processor     `yaml:"processor"`
}

// Sources holds one entry per provider. A provider with no secrets is not
// served: its route answers 404 locally and its Lambda refuses to start.
type Sources struct {
	JourneyBee JourneyBee `yaml:"journeybee"`
	Leadron    Leadron    `yaml:"leadron"`
	Tomba      Tomba      `yaml:"tomba"`
}

// JourneyBee: secrets are integration UUIDs (current first, then previous).
type JourneyBee struct {
	Secrets []string `yaml:"secrets"`
	// MaxTokenAge optionally rejects tokens issued longer ago than this.
	MaxTokenAge Duration `yaml:"max_token_age"`
}

// Leadron: secrets are webhook signing secrets (current first).
type Leadron struct {
	Secrets []string `yaml:"secrets"`
}

// Tomba: the header the customer configured in Tomba and its accepted values.
type Tomba struct {
	Header  string   `yaml:"header"`
	Secrets []string `yaml:"secrets"`
}

// Ingest tunes the receiving side.
type Ingest struct {
	// MaxBodyBytes bounds a delivery's body (413 above). Default 256 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// IdempotencyWindow is how long a delivery's key is remembered. Default 7 days.
	IdempotencyWindow Duration `yaml:"idempotency_window"`
	// Retention is how long events are kept. Default 30 days.
	Retention Duration `yaml:"retention"`
	// SweepAfter: events still unqueued after this are re-enqueued. Default 1 minute.
	SweepAfter Duration `yaml:"sweep_after"`
}

// Processor tunes delivery: the processor Lambda and the one in hookline serve.
type Processor struct {
	// BackoffBase and BackoffCap shape the wait after a transient failure:
	// after attempt n, a random time up to min(BackoffCap, BackoffBase·2^(n-1))
	// (exponential backoff with full jitter), or longer when the destination
	// asks with Retry-After. Defaults 5s and 1h; the cap is at most 12h (the
	// longest an SQS message can stay hidden).
	BackoffBase Duration `yaml:"backoff_base"`
	BackoffCap  Duration `yaml:"backoff_cap"`
	// Workers is how many events hookline serve delivers at once. Default 16.
	Workers int `yaml:"workers"`
}

// Destination is where matching events are forwarded (see DESIGN.md).
type Destination struct {
	Name        string            `yaml:"name"`
	Type        string            `yaml:"type"` // http | eventbridge | sqs | log
	URL         string            `yaml:"url"`
	Secret      string            `yaml:"secret"`  // http: Standard Webhooks secret, whsec_<base64>
	Secrets     []string          `yaml:"secrets"` // http: extra signing secrets during rotation
	Format      string            `yaml:"format"`  // cloudevents | raw | normalized
	Events      []string          `yaml:"events"`  // globs over the canonical type; empty = all
	Headers     map[string]string `yaml:"headers"`
	Timeout     Duration          `yaml:"timeout"`
	MaxAttempts int               `yaml:"max_attempts"`
	EventBus    string            `yaml:"event_bus"` // eventbridge
	QueueURL    string            `yaml:"queue_url"` // sqs
	// Filter and Transform are jq programs over the event document (see
	// programs.go and DESIGN.md "Filters and transforms"), kept as written:
	// no ${ENV} or secret reference is resolved in them. ContentType is the
	// media type of a transformed HTTP body (default application/json).
	Filter      string `yaml:"filter"`
	Transform   string `yaml:"transform"`
	ContentType string `yaml:"content_type"`
}

// Defaults.
const (
	DefaultMaxBodyBytes      = 256 << 10
	DefaultIdempotencyWindow = 7 * 24 * time.Hour
	DefaultRetention         = 30 * 24 * time.Hour
	DefaultSweepAfter        = time.Minute
	DefaultTombaHeader       = "X-Tomba-Token"
	DefaultHTTPTimeout       = 10 * time.Second
	DefaultMaxAttempts       = 10
	DefaultBackoffBase       = 5 * time.Second
	DefaultBackoffCap        = time.Hour
	MaxBackoffCap            = 12 * time.Hour
	DefaultWorkers           = 16
)

// Duration is a time.Duration written as "90s", "7d" or "168h" in YAML.
type Duration time.Duration

// UnmarshalYAML accepts Go durations plus a "d" (day) suffix.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if s == "" {
		*d = 0
		return nil
	}
	var mult time.Duration = 1
	if strings.HasSuffix(s, "d") {
		s, mult = strings.TrimSuffix(s, "d")+"h", 24
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration (like 90s, 12h, 7d)", n.Line, n.Value)
	}
	*d = Duration(v * mult)
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Resolver resolves a whole-value secret reference such as
// "secretsmanager:hookline/leadron" (kind "secretsmanager", name
// "hookline/leadron").
type Resolver interface {
	Resolve(ctx context.Context, kind, name string) (string, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(ctx context.Context, kind, name string) (string, error)

// Resolve calls f.
func (f ResolverFunc) Resolve(ctx context.Context, kind, name string) (string, error) {
	return f(ctx, kind, name)
}

// ErrInvalid wraps every configuration error.
var ErrInvalid = errors.New("invalid config")

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Parse decodes, resolves references in and validates a YAML document.
// lookupEnv is usually os.LookupEnv; res may be nil when no value uses a
// secretsmanager:/ssm: reference.
func Parse(ctx context.Context, data []byte, lookupEnv func(string) (string, bool), res Resolver) (*Config, error) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	programs := takePrograms(&root)
	if err := resolveNode(ctx, &root, lookupEnv, res); err != nil {
		return nil, err
	}
	// Decode strictly: an unknown key is a typo that would otherwise
	// silently disable something (a misspelt "secrets" fails closed anyway,
	// but a misspelt destination filter would not).
	resolved, err := yaml.Marshal(&root)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	strict := yaml.NewDecoder(bytes.NewReader(resolved))
	strict.KnownFields(true)
	var c Config
	if err := strict.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	programs.restore(&c)
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &c, nil
}

// Load reads and parses a config file.
func Load(ctx context.Context, file string, res Resolver) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(ctx, data, os.LookupEnv, res)
}

// resolveNode expands ${ENV} and secret references in every scalar value
// (never in keys), so a reference can stand anywhere a string can.
func resolveNode(ctx context.Context, n *yaml.Node, lookupEnv func(string) (string, bool), res Resolver) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			if err := resolveNode(ctx, c, lookupEnv, res); err != nil {
				return err
			}
		}
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			if err := resolveNode(ctx, n.Content[i], lookupEnv, res); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		if n.Tag != "!!str" && n.Tag != "" {
			return nil
		}
		v, err := resolveValue(ctx, n.Value, lookupEnv, res)
		if err != nil {
			return fmt.Errorf("%w: line %d: %v", ErrInvalid, n.Line, err)
		}
		n.Value = v
	}
	return nil
}

func resolveValue(ctx context.Context, v string, lookupEnv func(string) (string, bool), res Resolver) (string, error) {
	var missing string
	v = envRef.ReplaceAllStringFunc(v, func(m string) string {
		name := m[2 : len(m)-1]
		val, ok := lookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return val
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set", missing)
	}
	for _, kind := range []string{"secretsmanager", "ssm"} {
		name, ok := strings.CutPrefix(v, kind+":")
		if !ok {
			continue
		}
		if name == "" {
			return "", fmt.Errorf("%s: reference without a name", kind)
		}
		if res == nil {
			return "", fmt.Errorf("%s:%s: no resolver for %s references here", kind, name, kind)
		}
		out, err := res.Resolve(ctx, kind, name)
		if err != nil {
			// The resolver's error names the reference, never the value.
			return "", fmt.Errorf("%s:%s: %w", kind, name, err)
		}
		return out, nil
	}
	return v, nil
}

var destName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// normalize fills defaults and validates.
func (c *Config) normalize() error {
	c.Sources.JourneyBee.Secrets = nonEmpty(c.Sources.JourneyBee.Secrets)
	c.Sources.Leadron.Secrets = nonEmpty(c.Sources.Leadron.Secrets)
	c.Sources.Tomba.Secrets = nonEmpty(c.Sources.Tomba.Secrets)
	if c.Sources.Tomba.Header == "" {
		c.Sources.Tomba.Header = DefaultTombaHeader
	}
	c.Sources.Tomba.Header = http.CanonicalHeaderKey(c.Sources.Tomba.Header)
	if !validHeaderName(c.Sources.Tomba.Header) {
		return fmt.Errorf("sources.tomba.header %q is not a header name", c.Sources.Tomba.Header)
	}
	if len(c.Providers()) == 0 {
		return errors.New("no source has a secret: configure at least one of sources.journeybee, sources.leadron, sources.tomba")
	}

	in := &c.Ingest
	if in.MaxBodyBytes == 0 {
		in.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if in.MaxBodyBytes < 0 || in.MaxBodyBytes > 6<<20 {
		return errors.New("ingest.max_body_bytes must be between 1 and 6291456 (Lambda's payload limit)")
	}
	if in.IdempotencyWindow == 0 {
		in.IdempotencyWindow = Duration(DefaultIdempotencyWindow)
	}
	if in.Retention == 0 {
		in.Retention = Duration(DefaultRetention)
	}
	if in.Retention < in.IdempotencyWindow {
		return errors.New("ingest.retention must be at least ingest.idempotency_window")
	}
	if in.SweepAfter == 0 {
		in.SweepAfter = Duration(DefaultSweepAfter)
	}

	p := &c.Processor
	if p.BackoffBase == 0 {
		p.BackoffBase = Duration(DefaultBackoffBase)
	}
	if p.BackoffCap == 0 {
		p.BackoffCap = Duration(max(DefaultBackoffCap, p.BackoffBase.D()))
	}
	if p.BackoffCap < p.BackoffBase || p.BackoffCap.D() > MaxBackoffCap {
		return errors.New("processor.backoff_cap must be at least processor.backoff_base and at most 12h")
	}
	if p.Workers == 0 {
		p.Workers = DefaultWorkers
	}
	if p.Workers < 1 || p.Workers > 1024 {
		return errors.New("processor.workers must be between 1 and 1024")
	}

	seen := map[string]bool{}
	for i := range c.Destinations {
		d := &c.Destinations[i]
		where := fmt.Sprintf("destinations[%d]", i)
		if !destName.MatchString(d.Name) {
			return fmt.Errorf("%s.name %q: use lowercase letters, digits, - and _", where, d.Name)
		}
		if seen[d.Name] {
			return fmt.Errorf("%s.name %q is used twice", where, d.Name)
		}
		seen[d.Name] = true
		for _, g := range d.Events {
			if _, err := path.Match(g, ""); err != nil || g == "" {
				return fmt.Errorf("%s.events: %q is not a valid glob", where, g)
			}
		}
		if err := d.checkPrograms(fmt.Sprintf("%s (%s)", where, d.Name)); err != nil {
			return err
		}
		if d.Format == "" && d.Transform == "" {
			d.Format = "cloudevents"
		}
		switch d.Format {
		case "cloudevents", "raw", "normalized", "":
		default:
			return fmt.Errorf("%s.format %q: use cloudevents, raw or normalized", where, d.Format)
		}
		if d.Timeout == 0 {
			d.Timeout = Duration(DefaultHTTPTimeout)
		}
		if d.MaxAttempts == 0 {
			d.MaxAttempts = DefaultMaxAttempts
		}
		if d.MaxAttempts < 1 || d.MaxAttempts > 100 {
			return fmt.Errorf("%s.max_attempts must be between 1 and 100", where)
		}
		switch d.Type {
		case "http":
			u, err := url.Parse(d.URL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%s.url must be an http(s) URL", where)
			}
			if !strings.HasPrefix(d.Secret, "whsec_") {
				return fmt.Errorf("%s.secret must be a Standard Webhooks secret (whsec_<base64>)", where)
			}
			for _, s := range d.Secrets {
				if !strings.HasPrefix(s, "whsec_") {
					return fmt.Errorf("%s.secrets: every secret must start with whsec_", where)
				}
			}
		case "eventbridge":
			if d.EventBus == "" {
				d.EventBus = "default"
			}
		case "sqs":
			if d.QueueURL == "" {
				return fmt.Errorf("%s.queue_url is required for type sqs", where)
			}
		case "log":
		default:
			return fmt.Errorf("%s.type %q: use http, eventbridge, sqs or log", where, d.Type)
		}
		for k := range d.Headers {
			if !validHeaderName(k) {
				return fmt.Errorf("%s.headers: %q is not a header name", where, k)
			}
		}
	}
	return nil
}

// Providers lists the providers that have secrets configured, in a fixed order.
func (c *Config) Providers() []string {
	var out []string
	if len(c.Sources.JourneyBee.Secrets) > 0 {
		out = append(out, "journeybee")
	}
	if len(c.Sources.Leadron.Secrets) > 0 {
		out = append(out, "leadron")
	}
	if len(c.Sources.Tomba.Secrets) > 0 {
		out = append(out, "tomba")
	}
	return out
}

// Matches reports whether the destination wants events of the canonical type.
func (d *Destination) Matches(eventType string) bool {
	if len(d.Events) == 0 {
		return true
	}
	for _, g := range d.Events {
		if ok, _ := path.Match(g, eventType); ok {
			return true
		}
	}
	return false
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func validHeaderName(h string) bool {
	if h == "" {
		return false
	}
	for _, r := range h {
		if r > 0x7e || r <= 0x20 || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) {
			return false
		}
	}
	return true
}
