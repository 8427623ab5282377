// Package config is hookline's one typed configuration: a YAML document,
// the same for the local binary and for Lambda, parsed and validated once at
// start-up.
//
// String values may contain ${ENV_VAR} references, and a value may be a whole
// reference to a secret store: "secretsmanager:<name>" or "ssm:<name>". Those
// are resolved by a Resolver the caller supplies (the AWS one lives in
// config/awsref, so the local binary links no AWS SDK it does not need).
//
// Each program resolves only the part it uses (a Scope): an ingest Lambda its
// own source, the processor the destinations, the sweeper neither. Each
// function's IAM role may read only the secrets of its part, and a part a
// program does not use can neither stop it nor reach it. The whole document
// is decoded strictly (unknown keys and wrong types are errors) before any
// reference is resolved, so no decoding error can carry a resolved value,
// and decoding errors never quote a value at all.
//
// Two checks are hand-written because no library states them: a secret (the
// value of any "secret" or "secrets" key) may not start or end with whitespace (a newline from a file turns every
// signature into a mismatch, silently), and a static header value may not
// hold a control character (net/http's check lives in x/net's httpguts,
// which would pull the idna tables into every Lambda binary for one loop).
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
	"reflect"
	"regexp"
	"slices"
	"strconv"
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
	// DedupeWindow is how long a delivery's key is remembered: JourneyBee
	// sends no event id, so the key hashes the body. Default 24 hours.
	DedupeWindow Duration `yaml:"dedupe_window"`
	// RejectReusedTokens binds each token to the body it first came with,
	// for the token's lifetime: the same token with another body is 401
	// token_reused. Off by default (JourneyBee does not document whether it
	// ever sends one token with several deliveries).
	RejectReusedTokens bool `yaml:"reject_reused_tokens"`
}

// Leadron: secrets are webhook signing secrets (current first).
type Leadron struct {
	Secrets []string `yaml:"secrets"`
}

// Tomba: the header the customer configured in Tomba and its accepted values.
type Tomba struct {
	Header  string   `yaml:"header"`
	Secrets []string `yaml:"secrets"`
	// DedupeWindow is how long a delivery's key (a hash of the body: Tomba
	// sends no event id) is remembered. Default 24 hours.
	DedupeWindow Duration `yaml:"dedupe_window"`
}

// Ingest tunes the receiving side.
type Ingest struct {
	// MaxBodyBytes bounds a delivery's body (413 above). Default 256 KiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// IdempotencyWindow is how long a key taken from a provider's event id
	// (Leadron) is remembered. Default 7 days. Keys hashed from the body
	// have their own, shorter window: sources.<name>.dedupe_window.
	IdempotencyWindow Duration `yaml:"idempotency_window"`
	// Retention is how long events are kept. Default 30 days.
	Retention Duration `yaml:"retention"`
	// SweepAfter: events still unqueued after this are re-enqueued. Default 1 minute.
	SweepAfter Duration `yaml:"sweep_after"`
	// RecordRejections: on AWS, every refused delivery is recorded for the
	// console (one small DynamoDB item each, kept 24 h). Off by default: a
	// write per rejection is a cost. hookline serve always records them
	// (the newest 1,000 in its SQLite file).
	RecordRejections bool `yaml:"record_rejections"`
	// Quarantine, if set, keeps deliveries refused for their credentials
	// (bad signature, unknown secret, expired token) in full for re-verify.
	Quarantine *Quarantine `yaml:"quarantine"`
}

// Quarantine bounds what is kept for re-verify (ingest.quarantine).
type Quarantine struct {
	// TTL is how long a kept delivery stays. Default 24 hours, at most 7 days.
	TTL Duration `yaml:"ttl"`
	// MaxBytes bounds the bodies and credential headers kept at once.
	// Default 64 MiB; at least ingest.max_body_bytes.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxCount bounds how many are kept at once. Default 1,000.
	MaxCount int `yaml:"max_count"`
}

// Processor tunes delivery: the processor Lambda and the one in hookline serve.
type Processor struct {
	// BackoffBase and BackoffCap shape the wait after a transient failure:
	// after attempt n, a random time up to min(BackoffCap, BackoffBase·2^(n-1))
	// (exponential backoff with full jitter), or longer when the destination
	// asks with Retry-After. Defaults 5s and 1h; the cap is at most
	// MaxBackoffCap (11h), so that a wait fits in one SQS visibility.
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
	DefaultDedupeWindow      = 24 * time.Hour
	DefaultRetention         = 30 * 24 * time.Hour
	DefaultSweepAfter        = time.Minute
	DefaultQuarantineTTL     = 24 * time.Hour
	MaxQuarantineTTL         = 7 * 24 * time.Hour
	DefaultQuarantineBytes   = 64 << 20
	DefaultQuarantineCount   = 1000
	MaxQuarantineCount       = 1000
	DefaultTombaHeader       = "X-Tomba-Token"
	DefaultHTTPTimeout       = 10 * time.Second
	DefaultMaxAttempts       = 10
	DefaultBackoffBase       = 5 * time.Second
	DefaultBackoffCap        = time.Hour
	DefaultWorkers           = 16
)

// Limits the processor is designed around (README, "AWS limits we design
// for").
const (
	// MaxBackoffCap is the longest wait before a next attempt, of the
	// backoff and of a destination's Retry-After alike. SQS hides a message
	// at most 12 h from its receive, counting time already spent in flight
	// (before the invocation started and during it); 11 h leaves that room,
	// so one ChangeMessageVisibility always covers the wait (deliver's
	// SQSHandler clamps to what is left all the same).
	MaxBackoffCap = 11 * time.Hour
	// ProcessorFunctionTimeout is the processor Lambda's Timeout in
	// template.yaml (a template test checks they agree).
	ProcessorFunctionTimeout = 60 * time.Second
	// ProcessorReserve is the part of an invocation a destination's attempt
	// may not use: up to 10 s to load the event before the attempt starts,
	// and deliver.SaveMargin (5 s) to save its result and change the
	// message's visibility before Lambda ends the invocation.
	ProcessorReserve = 15 * time.Second
	// MaxDestinationTimeout is the longest destination timeout the config
	// accepts: ProcessorFunctionTimeout less ProcessorReserve (45 s). A
	// longer one could not be honoured: Lambda would end the invocation
	// first.
	MaxDestinationTimeout = ProcessorFunctionTimeout - ProcessorReserve
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
		// The value is not quoted: errors never carry a config value.
		return fmt.Errorf("line %d: not a duration (like 90s, 12h, 7d)", n.Line)
	}
	*d = Duration(v * mult)
	return nil
}

// fmtDuration prints d without Go's trailing zero units ("11h", "45s").
func fmtDuration(d time.Duration) string {
	s := d.String()
	for _, z := range []string{"0s", "0m"} {
		if strings.HasSuffix(s, "m"+z) || strings.HasSuffix(s, "h"+z) {
			s = strings.TrimSuffix(s, z)
		}
	}
	return s
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

// Scope is the part of the config one program uses. Parsing resolves the
// references of that part only and checks it in full; the rest is decoded
// (strictly) but left out of the result: the sources outside the scope are
// empty, and so are the destinations when the scope has none. So a program
// never asks for a secret it does not use (its IAM role may not read it),
// and never holds a reference's text where a secret belongs.
type Scope struct {
	// Sources are the providers whose deliveries the program verifies; at
	// least one of them must have a secret.
	Sources []string
	// Destinations: the program forwards events.
	Destinations bool
}

// The scopes of hookline's programs.
var (
	// ScopeAll is hookline serve's: every source (at least one with a
	// secret) and the destinations.
	ScopeAll = Scope{Sources: sourceNames(), Destinations: true}
	// ScopeProcessor is the processor function's: the destinations.
	ScopeProcessor = Scope{Destinations: true}
	// ScopeNone is the sweeper's: settings only, no reference resolved.
	ScopeNone = Scope{}
)

// ScopeSource is one ingest function's scope: its own source, which must
// have a secret.
func ScopeSource(provider string) Scope { return Scope{Sources: []string{provider}} }

// Parse decodes, resolves references in and validates a YAML document, all
// of it (ScopeAll, what hookline serve uses). lookupEnv is usually
// os.LookupEnv; res may be nil when no value uses a secretsmanager:/ssm:
// reference.
func Parse(ctx context.Context, data []byte, lookupEnv func(string) (string, bool), res Resolver) (*Config, error) {
	return ParseScope(ctx, data, ScopeAll, lookupEnv, res)
}

// ParseScope is Parse for the part of the document one program uses: the
// whole document is decoded strictly first (unknown keys and wrong types are
// errors, reported without their values), then only the scope's references
// are resolved, and the scope is validated.
func ParseScope(ctx context.Context, data []byte, scope Scope, lookupEnv func(string) (string, bool), res Resolver) (*Config, error) {
	var c Config
	// Decode strictly: an unknown key is a typo that would otherwise
	// silently disable something (a misspelt "secrets" fails closed anyway,
	// but a misspelt destination filter would not).
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, decodeError(data, err))
	}
	if err := scope.apply(&c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	r := refResolver{ctx: ctx, lookupEnv: lookupEnv, res: res}
	if err := r.walk(reflect.ValueOf(&c).Elem(), "", false); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := c.normalize(scope); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return &c, nil
}

// Load reads and parses a config file (ScopeAll).
func Load(ctx context.Context, file string, res Resolver) (*Config, error) {
	return LoadScope(ctx, file, ScopeAll, res)
}

// LoadScope reads a config file and parses the scope's part of it.
func LoadScope(ctx context.Context, file string, scope Scope, res Resolver) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseScope(ctx, data, scope, os.LookupEnv, res)
}

// sourceNames are the providers of Sources, by their keys.
func sourceNames() []string {
	var out []string
	t := reflect.TypeFor[Sources]()
	for i := range t.NumField() {
		out = append(out, yamlName(t.Field(i)))
	}
	return out
}

// apply empties what the scope leaves out, before anything is resolved.
func (s Scope) apply(c *Config) error {
	for _, p := range s.Sources {
		if !slices.Contains(sourceNames(), p) {
			return fmt.Errorf("no source %q (sources: %s)", p, strings.Join(sourceNames(), ", "))
		}
	}
	src := reflect.ValueOf(&c.Sources).Elem()
	for i := range src.NumField() {
		if !slices.Contains(s.Sources, yamlName(src.Type().Field(i))) {
			src.Field(i).SetZero()
		}
	}
	if !s.Destinations {
		c.Destinations = nil
	}
	return nil
}

// yamlName is a struct field's key in the document ("" for none).
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

// refResolver expands ${ENV} and secret references in every string of the
// decoded config (never in keys), so a reference can stand anywhere a
// string can. Errors name the value's place and its references, never a
// value.
type refResolver struct {
	ctx       context.Context
	lookupEnv func(string) (string, bool)
	res       Resolver
}

func (r refResolver) walk(v reflect.Value, path string, secret bool) error {
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			key := yamlName(t.Field(i))
			if key == "" || isProgramKey(key) {
				continue // jq programs are kept as written: nothing in them is resolved
			}
			name := key
			if path != "" {
				name = path + "." + key
			}
			if err := r.walk(v.Field(i), name, secret || key == "secret" || key == "secrets"); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := r.walk(v.Index(i), fmt.Sprintf("%s[%d]", path, i), secret); err != nil {
				return err
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String || v.Type().Elem().Kind() != reflect.String {
			return nil
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			out, err := r.value(v.MapIndex(k).String(), path+"."+k.String(), secret)
			if err != nil {
				return err
			}
			v.SetMapIndex(k, reflect.ValueOf(out).Convert(v.Type().Elem()))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return r.walk(v.Elem(), path, secret)
		}
	case reflect.String:
		out, err := r.value(v.String(), path, secret)
		if err != nil {
			return err
		}
		v.SetString(out)
	}
	return nil
}

// value resolves one string found at path.
func (r refResolver) value(v, path string, secret bool) (string, error) {
	var refs []string // the references the value came through, to name it by
	var missing string
	v = envRef.ReplaceAllStringFunc(v, func(m string) string {
		name := m[2 : len(m)-1]
		refs = append(refs, m)
		val, ok := r.lookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return val
	})
	if missing != "" {
		return "", fmt.Errorf("%s: environment variable %s is not set", path, missing)
	}
	for _, kind := range []string{"secretsmanager", "ssm"} {
		name, ok := strings.CutPrefix(v, kind+":")
		if !ok {
			continue
		}
		if name == "" {
			return "", fmt.Errorf("%s: %s: reference without a name", path, kind)
		}
		if r.res == nil {
			return "", fmt.Errorf("%s: %s:%s: no resolver for %s references here", path, kind, name, kind)
		}
		out, err := r.res.Resolve(r.ctx, kind, name)
		if err != nil {
			// The resolver's error names the reference, never the value.
			return "", fmt.Errorf("%s: %s:%s: %w", path, kind, name, err)
		}
		refs = append(refs, kind+":"+name)
		v = out
		break
	}
	if secret && v != strings.TrimSpace(v) {
		if len(refs) > 0 {
			path += " (" + strings.Join(refs, " → ") + ")"
		}
		return "", fmt.Errorf("%s: the secret starts or ends with whitespace (a trailing newline from a file?): store it without", path)
	}
	return v, nil
}

// decodeError rewrites a decoding error so that it carries no value of the
// document: yaml.v3's type errors quote up to 10 characters of the value
// ("cannot unmarshal !!str `s3cr3t-...` into []string"), which for
// "secrets: <a secret>" written as a scalar is part of the secret. Each is
// rebuilt from its line, the kind of value found and the type wanted, with
// the key path when the line has one such value; messages about keys
// (unknown, repeated) name keys only and are kept; anything else is reduced
// to its line.
func decodeError(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err // syntax errors name a position and a problem, never content
	}
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	msgs := make([]string, 0, len(te.Errors))
	for _, m := range te.Errors {
		switch {
		case cannotDecode.MatchString(m):
			p := cannotDecode.FindStringSubmatch(m)
			line, _ := strconv.Atoi(p[1])
			where := "line " + p[1]
			if path := pathAt(&root, line, p[2]); path != "" {
				where += " (" + path + ")"
			}
			msgs = append(msgs, fmt.Sprintf("%s: found %s where %s belongs", where, yamlKind(p[2]), goKind(p[3])))
		case keyProblem.MatchString(m):
			msgs = append(msgs, m)
		default:
			msgs = append(msgs, lineOf.FindString(m)+"a value of the wrong type")
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

var (
	cannotDecode = regexp.MustCompile(`(?s)^line (\d+): cannot unmarshal (\S+)(?: .*)? into (\S+)$`)
	keyProblem   = regexp.MustCompile(`^line \d+: (?:field .+ (?:not found|already set) in type \S+|mapping key .+ already defined at line \d+)$`)
	lineOf       = regexp.MustCompile(`^line \d+: `)
)

// pathAt is the key path of the one value at line with tag, "" if there is
// not exactly one.
func pathAt(root *yaml.Node, line int, tag string) string {
	var found []string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		if n.Line == line && n.ShortTag() == tag && path != "" {
			found = append(found, path)
		}
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i))
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				key := n.Content[i].Value
				if path != "" {
					key = path + "." + key
				}
				walk(n.Content[i+1], key)
			}
		}
	}
	walk(root, "")
	if len(found) != 1 {
		return ""
	}
	return found[0]
}

func yamlKind(tag string) string {
	switch tag {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!null":
		return "null"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!timestamp":
		return "a timestamp"
	}
	return "a value tagged " + tag
}

func goKind(typ string) string {
	switch {
	case typ == "string":
		return "a string"
	case typ == "[]string":
		return "a list of strings"
	case typ == "bool":
		return "true or false"
	case strings.HasPrefix(typ, "int") || strings.HasPrefix(typ, "uint") || typ == "config.Duration":
		if typ == "config.Duration" {
			return "a duration"
		}
		return "an integer"
	case strings.HasPrefix(typ, "map["):
		return "a mapping"
	case strings.HasPrefix(typ, "[]"):
		return "a list"
	case strings.HasPrefix(typ, "config."):
		return "a mapping"
	}
	return typ
}

var destName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// normalize fills defaults and validates; the sources and destinations
// outside scope are empty by now.
func (c *Config) normalize(scope Scope) error {
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
	// A source's secret is required only where that source is verified.
	switch {
	case len(scope.Sources) == 0 || len(c.Providers()) > 0:
	case len(scope.Sources) == 1:
		return fmt.Errorf("sources.%s has no secret: a provider without one is not served (never accepted unverified)", scope.Sources[0])
	default:
		return fmt.Errorf("no source has a secret: configure at least one of sources.%s", strings.Join(scope.Sources, ", sources."))
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
	for _, w := range []struct {
		name string
		d    *Duration
	}{{"journeybee", &c.Sources.JourneyBee.DedupeWindow}, {"tomba", &c.Sources.Tomba.DedupeWindow}} {
		if *w.d == 0 {
			*w.d = Duration(DefaultDedupeWindow)
		}
		if in.Retention < *w.d {
			return fmt.Errorf("ingest.retention must be at least sources.%s.dedupe_window", w.name)
		}
	}
	if in.SweepAfter == 0 {
		in.SweepAfter = Duration(DefaultSweepAfter)
	}
	if q := in.Quarantine; q != nil {
		if q.TTL == 0 {
			q.TTL = Duration(DefaultQuarantineTTL)
		}
		if q.TTL.D() < time.Minute || q.TTL.D() > MaxQuarantineTTL {
			return fmt.Errorf("ingest.quarantine.ttl must be from 1m to %v", fmtDuration(MaxQuarantineTTL))
		}
		if q.MaxBytes == 0 {
			q.MaxBytes = max(DefaultQuarantineBytes, in.MaxBodyBytes)
		}
		if q.MaxBytes < in.MaxBodyBytes || q.MaxBytes > 1<<40 {
			return errors.New("ingest.quarantine.max_bytes must be at least ingest.max_body_bytes (and at most 1 TiB)")
		}
		if q.MaxCount == 0 {
			q.MaxCount = DefaultQuarantineCount
		}
		if q.MaxCount < 1 || q.MaxCount > MaxQuarantineCount {
			return fmt.Errorf("ingest.quarantine.max_count must be from 1 to %d (the console lists at most that many)", MaxQuarantineCount)
		}
	}

	p := &c.Processor
	if p.BackoffBase == 0 {
		p.BackoffBase = Duration(DefaultBackoffBase)
	}
	if p.BackoffCap == 0 {
		p.BackoffCap = Duration(max(DefaultBackoffCap, p.BackoffBase.D()))
	}
	if p.BackoffCap < p.BackoffBase || p.BackoffCap.D() > MaxBackoffCap {
		return fmt.Errorf("processor.backoff_cap must be at least processor.backoff_base and at most %v (a wait must fit in one SQS visibility, 12 h from the receive)", fmtDuration(MaxBackoffCap))
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
		if d.Timeout.D() > MaxDestinationTimeout {
			return fmt.Errorf("%s.timeout %v: at most %v (the processor Lambda's %v timeout less %v to load the event and save the result)",
				where, fmtDuration(d.Timeout.D()), fmtDuration(MaxDestinationTimeout), fmtDuration(ProcessorFunctionTimeout), fmtDuration(ProcessorReserve))
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
		for k, v := range d.Headers {
			if !validHeaderName(k) {
				return fmt.Errorf("%s.headers: %q is not a header name", where, k)
			}
			if !validHeaderValue(v) {
				// A CR or LF would let the value add headers of its own.
				return fmt.Errorf("%s.headers.%s: the value holds a control character (CR, LF, …); the value is not shown", where, k)
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

// KeyWindow is how long the idempotency keys of a provider's deliveries are
// remembered: sources.<name>.dedupe_window for the providers whose keys hash
// the body (journeybee, tomba: a later, legitimate repeat of the same body
// must not be swallowed for a week), ingest.idempotency_window for keys
// taken from a provider's own event id (leadron).
func (c *Config) KeyWindow(provider string) time.Duration {
	switch provider {
	case "journeybee":
		return c.Sources.JourneyBee.DedupeWindow.D()
	case "tomba":
		return c.Sources.Tomba.DedupeWindow.D()
	}
	return c.Ingest.IdempotencyWindow.D()
}

// CheckMaxBody refuses an ingest.max_body_bytes over limit, the largest
// body the event store always holds (store names it in the error). The AWS
// functions call it with dynamo.MaxBodyBytes: a verified body the store
// could not hold would be a 5xx on every retry.
func (c *Config) CheckMaxBody(store string, limit int64) error {
	if c.Ingest.MaxBodyBytes > limit {
		return fmt.Errorf("%w: ingest.max_body_bytes %d is over %d, the largest body a %s event always holds",
			ErrInvalid, c.Ingest.MaxBodyBytes, limit, store)
	}
	return nil
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

// validHeaderValue is RFC 9110's field-value: no control character but
// horizontal tab (so no CR or LF), no DEL.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < 0x20 && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
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
