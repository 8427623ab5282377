package config

import (
	"fmt"
	"mime"
	"strings"

	"gopkg.in/yaml.v3"
)

// A destination's filter and transform are jq programs (DESIGN.md "Filters
// and transforms"). This package checks the keys around them; it does not
// compile them. deliver.NewRoutes does (gojq.Parse + gojq.Compile), when a
// binary that delivers builds its processor at start-up (hookline serve,
// hookline transform, the processor Lambda), and refuses the config on a
// syntax error, naming the destination and the line and column. Compiling
// here would link gojq (about 0.8 MiB) into every binary that reads the
// config, the ingest Lambdas too, which never run a program.
//
// The programs are kept exactly as written: ${ENV} and secretsmanager:/ssm:
// references are not resolved in them. A transform can read nothing but the
// event document, and a reference resolved at load would put a value of the
// process environment (on Lambda, its AWS credentials) into a body.

// programKeys are the destination keys that hold jq programs.
var programKeys = []string{"filter", "transform"}

// heldPrograms are the programs of each destination (by index and key),
// taken out of the YAML tree before references are resolved.
type heldPrograms map[int]map[string]string

// takePrograms empties every destinations[i].filter and .transform scalar
// of the document root and returns their text, so that resolveNode leaves
// them alone and restore can put them back. An alias (filter: *hot) is
// followed, then replaced by an empty string; an anchored program is emptied
// in place, after every alias to it was read.
func takePrograms(root *yaml.Node) heldPrograms {
	held := heldPrograms{}
	doc := root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	dests := mappingValue(doc, "destinations")
	if dests == nil || dests.Kind != yaml.SequenceNode {
		return held
	}
	var empty []func()
	for i, d := range dests.Content {
		if d.Kind == yaml.AliasNode {
			d = d.Alias
		}
		if d == nil || d.Kind != yaml.MappingNode {
			continue
		}
		for k := 0; k+1 < len(d.Content); k += 2 {
			key, val := d.Content[k].Value, d.Content[k+1]
			if !isProgramKey(key) {
				continue
			}
			target := val
			if val.Kind == yaml.AliasNode && val.Alias != nil {
				target = val.Alias
			}
			if target.Kind != yaml.ScalarNode {
				continue // not a string: the strict decode reports it
			}
			if target.Tag != "!!null" {
				if held[i] == nil {
					held[i] = map[string]string{}
				}
				held[i][key] = target.Value
			}
			if val != target {
				empty = append(empty, func() { d.Content[k+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str"} })
			} else {
				empty = append(empty, func() { val.Tag, val.Value, val.Style = "!!str", "", 0 })
			}
		}
	}
	for _, f := range empty {
		f()
	}
	return held
}

// restore puts the programs taken by takePrograms into c's destinations.
func (h heldPrograms) restore(c *Config) {
	for i, progs := range h {
		if i >= len(c.Destinations) {
			continue
		}
		d := &c.Destinations[i]
		d.Filter, d.Transform = progs["filter"], progs["transform"]
	}
}

func isProgramKey(k string) bool {
	for _, p := range programKeys {
		if k == p {
			return true
		}
	}
	return false
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for k := 0; k+1 < len(n.Content); k += 2 {
		if n.Content[k].Value == key {
			return n.Content[k+1]
		}
	}
	return nil
}

// DefaultTransformContentType is the Content-Type of a transformed HTTP body
// unless content_type says otherwise.
const DefaultTransformContentType = "application/json"

// checkPrograms validates the keys of the filter and transform (not the
// programs themselves, see above) and fills the content type's default.
// Call it before format gets its default.
func (d *Destination) checkPrograms(where string) error {
	for _, p := range []struct{ key, src string }{{"filter", d.Filter}, {"transform", d.Transform}} {
		if p.src != "" && strings.TrimSpace(p.src) == "" {
			return fmt.Errorf("%s.%s is blank: remove it or write a jq program", where, p.key)
		}
	}
	if d.Transform != "" && d.Format != "" {
		return fmt.Errorf("%s: format and transform cannot both be set (the transform's output is the body sent)", where)
	}
	if d.Transform != "" && d.Type == "log" {
		return fmt.Errorf("%s.transform: a log destination sends no body (a filter is fine)", where)
	}
	if d.ContentType != "" {
		if d.Transform == "" || d.Type != "http" {
			return fmt.Errorf("%s.content_type applies only to an http destination with a transform", where)
		}
		if _, _, err := mime.ParseMediaType(d.ContentType); err != nil || strings.ContainsAny(d.ContentType, "\r\n") {
			return fmt.Errorf("%s.content_type %q is not a media type", where, d.ContentType)
		}
	}
	if d.Transform != "" && d.Type == "http" && d.ContentType == "" {
		d.ContentType = DefaultTransformContentType
	}
	return nil
}
