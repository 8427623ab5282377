package jsondup

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// reference walks doc with encoding/json's tokenizer and tracks names per
// object: slow, obviously right.
func reference(doc []byte) bool {
	dec := json.NewDecoder(strings.NewReader(string(doc)))
	type frame struct {
		object   bool
		names    map[string]bool
		wantName bool
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF || err != nil {
			return false
		}
		top := (*frame)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.object {
					top.wantName = true
				}
				stack = append(stack, &frame{object: v == '{', names: map[string]bool{}, wantName: v == '{'})
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.object && top.wantName {
				if top.names[v] {
					return true
				}
				top.names[v] = true
				top.wantName = false
				continue
			}
			if top != nil && top.object {
				top.wantName = true
			}
		default:
			if top != nil && top.object {
				top.wantName = true
			}
		}
	}
}

func TestHas(t *testing.T) {
	cases := []struct {
		doc  string
		want bool
	}{
		{`{}`, false},
		{`{"a":1,"b":2}`, false},
		{`{"a":1,"a":2}`, true},
		{`{"a":{"b":1},"c":{"b":2}}`, false},
		{`{"a":{"b":1,"b":2}}`, true},
		{`[{"a":1},{"a":2}]`, false},
		{`[{"a":1,"a":2}]`, true},
		{`{"a":"a","b":"a"}`, false},
		{`{"a":1,"\u0061":2}`, true},
		{`{"a\"b":1,"a\"b":2}`, true},
		{`{"x":[1,{"a":1}],"a":2}`, false},
		{`{"lead":{"uuid":"x"},"lead":{"uuid":"y"}}`, true},
		{`"just a string"`, false},
		{`[1,2,3]`, false},
	}
	for _, tc := range cases {
		if got := Has([]byte(tc.doc)); got != tc.want {
			t.Errorf("Has(%s) = %v, want %v", tc.doc, got, tc.want)
		}
		if ref := reference([]byte(tc.doc)); ref != tc.want {
			t.Errorf("reference(%s) = %v, want %v", tc.doc, ref, tc.want)
		}
	}
}

// FuzzHas checks Has against the tokenizer-based reference on valid JSON.
func FuzzHas(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":[{"c":1,"c":2}]}}`, `[{"a":1},{"a":1}]`, `{"\u0061":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		if !json.Valid(doc) {
			Has(doc) // must not panic
			return
		}
		if got, want := Has(doc), reference(doc); got != want {
			t.Fatalf("Has(%q) = %v, reference %v", doc, got, want)
		}
	})
}

func BenchmarkHas(b *testing.B) {
	doc := []byte(`{"id":"evt_01JX3K8Q2M4N6P8R0T2V4W6Y8A","type":"lead.created","createdAt":"2026-05-27T23:34:12.000Z","data":{"leadId":"ld_123","email":"jane@acme.com","source":"web_form","tags":["a","b"],"owner":{"id":"u1","email":"o@acme.com"}}}`)
	b.SetBytes(int64(len(doc)))
	for range b.N {
		Has(doc)
	}
}
