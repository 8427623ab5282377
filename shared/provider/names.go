package provider

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// MaxEventNameLen bounds a provider event name we accept without knowing it.
const MaxEventNameLen = 100

// SaneEventName reports whether name matches ^[a-z0-9][a-z0-9_.-]{0,99}$:
// the shape an unknown (future) event name must have to be accepted as
// "<provider>.<name>" rather than rejected. It keeps canonical types safe
// in logs, metric dimensions and destination globs.
func SaneEventName(name string) bool {
	if name == "" || len(name) > MaxEventNameLen {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case i > 0 && (c == '_' || c == '.' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// JSONString decodes raw if it is a JSON string (ok false otherwise). raw
// comes from a document already validated as JSON, so a string without
// escapes is its own content and costs one copy.
func JSONString(raw []byte) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 && utf8.Valid(inner) {
		return string(inner), true
	}
	// Only this path may allocate s on the heap (&s escapes): keep it local.
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}
