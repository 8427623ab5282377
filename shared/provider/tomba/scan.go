package tomba

import (
	"bytes"
	"iter"
)

// A minimal reader for one level of a JSON object that json.Valid has
// already accepted. Verify uses it instead of decoding into maps because it
// is several times faster and matches member names exactly (encoding/json's
// struct decoding matches them case-insensitively). It never validates: on
// input that is not valid JSON its behaviour is undefined.

// members yields the raw name (a JSON string, quotes included) and raw value
// of each member of the JSON object obj starts with, in order.
func members(obj []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(name, value []byte) bool) {
		i := skipSpace(obj, 1) // past '{'
		for obj[i] != '}' {
			end := skipString(obj, i)
			name := obj[i:end]
			i = skipSpace(obj, skipSpace(obj, end)+1) // past ':'
			end = skipValue(obj, i)
			if !yield(name, obj[i:end]) {
				return
			}
			if i = skipSpace(obj, end); obj[i] == ',' {
				i = skipSpace(obj, i+1)
			}
		}
	}
}

// skipSpace returns the index of the first non-white-space byte from i on.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// skipString returns the index just past the JSON string starting at b[i].
func skipString(b []byte, i int) int {
	for i++; b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++ // the escaped byte; \uXXXX's hex digits need no care
		}
	}
	return i + 1
}

// skipValue returns the index just past the JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		for depth := 0; ; {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
			i++
		}
	default: // number, true, false, null
		for i < len(b) && bytes.IndexByte([]byte(",}] \t\r\n"), b[i]) < 0 {
			i++
		}
		return i
	}
}
