package config

import (
	"fmt"
	"mime"
	"strings"
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
// references are not resolved in them (the reference walk skips these keys). A transform can read nothing but the
// event document, and a reference resolved at load would put a value of the
// process environment (on Lambda, its AWS credentials) into a body.

// programKeys are the destination keys that hold jq programs.
var programKeys = []string{"filter", "transform"}

func isProgramKey(k string) bool {
	for _, p := range programKeys {
		if k == p {
			return true
		}
	}
	return false
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
