// Package template reads hookline's SAM template (template.yaml) for the
// tests and for `hookline invoke`: its parameters, resources and serverless
// functions (with Globals applied as SAM applies them), and resolves the
// simple intrinsic functions an environment variable may use.
//
// CloudFormation's short-form tags (!Ref, !GetAtt, !Sub, !If, …) are read
// into their long JSON form ({"Ref": …}, {"Fn::GetAtt": [resource, attribute]},
// {"Fn::Sub": …}), so the rest of the code handles one form only.
package template

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Template is a parsed template. Free-form parts are decoded like JSON:
// map[string]any, []any, string, float64, bool.
type Template struct {
	Parameters map[string]Parameter `json:"Parameters"`
	Conditions map[string]any       `json:"Conditions"`
	Globals    map[string]any       `json:"Globals"`
	Resources  map[string]Resource  `json:"Resources"`
	Outputs    map[string]any       `json:"Outputs"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type    string `json:"Type"`
	Default any    `json:"Default"`
}

// Resource is one resource.
type Resource struct {
	Type       string         `json:"Type"`
	Condition  string         `json:"Condition"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
}

// Load reads and parses a template file.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	return Parse(data)
}

// Parse parses a template in YAML (or JSON, which is YAML).
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	v, err := value(&doc)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	// The long form is plain JSON: decode it into the typed parts.
	js, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var t Template
	if err := json.Unmarshal(js, &t); err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("template: no Resources")
	}
	return &t, nil
}

// value converts a YAML node to plain values, short-form intrinsics to the
// long form.
func value(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return value(n.Content[0])
	case yaml.AliasNode:
		return value(n.Alias)
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			c, err := value(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = c
		}
		v = m
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			cv, err := value(c)
			if err != nil {
				return nil, err
			}
			s = append(s, cv)
		}
		v = s
	case yaml.ScalarNode:
		if strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!") {
			v = n.Value // a tagged scalar is a string argument
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	switch name := n.Tag[1:]; name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			res, attr, ok := strings.Cut(s, ".")
			if !ok {
				return nil, fmt.Errorf("line %d: !GetAtt %q: want Resource.Attribute", n.Line, s)
			}
			v = []any{res, attr}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + name: v}, nil
	}
}

// Function is an AWS::Serverless::Function with the template's
// Globals.Function applied.
type Function struct {
	LogicalID  string
	Properties map[string]any
	Metadata   map[string]any
}

// Event is one of a function's event sources.
type Event struct {
	Type       string
	Properties map[string]any
}

// Functions returns the serverless functions, by logical id.
func (t *Template) Functions() []*Function {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == "AWS::Serverless::Function" {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	out := make([]*Function, len(ids))
	for i, id := range ids {
		out[i], _ = t.Function(id)
	}
	return out
}

// Function returns one serverless function.
func (t *Template) Function(id string) (*Function, error) {
	r, ok := t.Resources[id]
	if !ok || r.Type != "AWS::Serverless::Function" {
		var ids []string
		for id, r := range t.Resources {
			if r.Type == "AWS::Serverless::Function" {
				ids = append(ids, id)
			}
		}
		sort.Strings(ids)
		return nil, fmt.Errorf("template: no function %q (functions: %s)", id, strings.Join(ids, ", "))
	}
	global, _ := t.Globals["Function"].(map[string]any)
	props, _ := merge(global, r.Properties).(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return &Function{LogicalID: id, Properties: props, Metadata: r.Metadata}, nil
}

// merge applies SAM's Globals rules: maps merge (the function's keys win),
// lists add up (globals first), anything else is the function's.
func merge(global, local any) any {
	if local == nil {
		return global
	}
	switch l := local.(type) {
	case map[string]any:
		g, ok := global.(map[string]any)
		if !ok || isIntrinsic(l) || isIntrinsic(g) {
			return l
		}
		out := make(map[string]any, len(g)+len(l))
		for k, v := range g {
			out[k] = v
		}
		for k, v := range l {
			out[k] = merge(g[k], v)
		}
		return out
	case []any:
		if g, ok := global.([]any); ok {
			return append(append([]any{}, g...), l...)
		}
	}
	return local
}

func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// String returns a property that is a plain string ("" if it is missing or
// an intrinsic).
func (f *Function) String(key string) string {
	s, _ := f.Properties[key].(string)
	return s
}

// CodeURI is the function's CodeUri, "." if it has none.
func (f *Function) CodeURI() string {
	if s := f.String("CodeUri"); s != "" {
		return s
	}
	return "."
}

// BuildMethod is Metadata.BuildMethod (e.g. makefile, go1.x).
func (f *Function) BuildMethod() string {
	s, _ := f.Metadata["BuildMethod"].(string)
	return s
}

// Timeout is the function's timeout (SAM's default: 3 s).
func (f *Function) Timeout() time.Duration {
	if n, ok := f.Properties["Timeout"].(float64); ok && n > 0 {
		return time.Duration(n * float64(time.Second))
	}
	return 3 * time.Second
}

// MemoryMB is the function's memory size (SAM's default: 128 MB).
func (f *Function) MemoryMB() int {
	if n, ok := f.Properties["MemorySize"].(float64); ok && n > 0 {
		return int(n)
	}
	return 128
}

// LogFormat is LoggingConfig.LogFormat ("JSON" or "Text"; SAM's default,
// "" here, is Text).
func (f *Function) LogFormat() string {
	lc, _ := f.Properties["LoggingConfig"].(map[string]any)
	s, _ := lc["LogFormat"].(string)
	return s
}

// ApplicationLogLevel is LoggingConfig.ApplicationLogLevel (TRACE … FATAL;
// "" when unset: Lambda's default, INFO, with the JSON format).
func (f *Function) ApplicationLogLevel() string {
	lc, _ := f.Properties["LoggingConfig"].(map[string]any)
	s, _ := lc["ApplicationLogLevel"].(string)
	return s
}

// SystemLogLevel is LoggingConfig.SystemLogLevel (DEBUG, INFO, WARN; ""
// when unset: Lambda's default, INFO, which sends the START and REPORT
// lines of every invocation).
func (f *Function) SystemLogLevel() string {
	lc, _ := f.Properties["LoggingConfig"].(map[string]any)
	s, _ := lc["SystemLogLevel"].(string)
	return s
}

// Env is Environment.Variables: values are strings, numbers or intrinsics.
func (f *Function) Env() map[string]any {
	env, _ := f.Properties["Environment"].(map[string]any)
	vars, _ := env["Variables"].(map[string]any)
	return vars
}

// Events returns the function's event sources by name.
func (f *Function) Events() map[string]Event {
	raw, _ := f.Properties["Events"].(map[string]any)
	out := make(map[string]Event, len(raw))
	for name, e := range raw {
		m, _ := e.(map[string]any)
		typ, _ := m["Type"].(string)
		props, _ := m["Properties"].(map[string]any)
		out[name] = Event{Type: typ, Properties: props}
	}
	return out
}
