// Package jsondup finds JSON objects that name a member twice. Such a body
// is ambiguous: encoding/json keeps the last value, other parsers the first,
// so what hookline normalizes and what a destination reads from the raw body
// could differ. Ingest refuses them.
package jsondup

import (
	"bytes"
	"encoding/json"
)

// maxDepth bounds the nesting it tracks (encoding/json's own limit is 10,000).
const maxDepth = 10000

// Has reports whether some object in doc names a member twice. Names are
// compared as they are written, after resolving escapes only when a name
// has one (so "a" and "\u0061" are the same name). doc must be valid JSON;
// on invalid input the answer is unspecified but it never panics.
func Has(doc []byte) bool {
	// names holds the member names of every open object, innermost last;
	// starts holds, per open object or array, where its names begin in
	// names (-1 for an array). One flat slice: no allocation per object.
	var names [][]byte
	var starts []int
	expectName := false
	inObject := func() bool { return len(starts) > 0 && starts[len(starts)-1] >= 0 }
	for i := 0; i < len(doc); i++ {
		switch c := doc[i]; c {
		case '{', '[':
			if len(starts) >= maxDepth {
				return false
			}
			if c == '{' {
				starts = append(starts, len(names))
			} else {
				starts = append(starts, -1)
			}
			expectName = c == '{'
		case '}', ']':
			if n := len(starts); n > 0 {
				if starts[n-1] >= 0 {
					names = names[:starts[n-1]]
				}
				starts = starts[:n-1]
			}
			expectName = false
		case ',':
			expectName = inObject()
		case '"':
			end := stringEnd(doc, i)
			if end < 0 {
				return false
			}
			if expectName && inObject() {
				name := unescape(doc[i : end+1])
				for _, n := range names[starts[len(starts)-1]:] {
					if bytes.Equal(n, name) {
						return true
					}
				}
				names = append(names, name)
				expectName = false
			}
			i = end
		}
	}
	return false
}

// stringEnd returns the index of the quote closing the string that starts at
// doc[start], or -1.
func stringEnd(doc []byte, start int) int {
	for j := start + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j
		}
	}
	return -1
}

// unescape returns a quoted JSON string's content, resolving escapes only
// when there are any.
func unescape(quoted []byte) []byte {
	inner := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return inner
	}
	var s string
	if err := json.Unmarshal(quoted, &s); err != nil {
		return inner
	}
	return []byte(s)
}
