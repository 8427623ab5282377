package tomba

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookline/hookline/shared/provider"
)

// FuzzMembers checks the object reader against encoding/json: for every
// valid JSON object, members must yield the same names (unescaped, the last
// of a repeated name winning) with the same raw values.
func FuzzMembers(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, ` { } `, `{"a":1,"a":"x"}`, `{"\u0064ata":{"x":[1,{"y":"}"}]},"b":"\"}"}`,
		"{\n\t\"a\" :\r\n[ ] , \"b\":true,\"c\":false,\"d\":null,\"e\":-1.5e+3}",
		`{"a":{"b":{"c":[[["]"]]]}},"z":"\\"}`, `{"\ud83d\ude00":"\u00e9","":0}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		trimmed := bytes.TrimLeft(b, " \t\r\n")
		if !json.Valid(b) || trimmed[0] != '{' {
			return
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		got := map[string]json.RawMessage{}
		for name, value := range members(trimmed) {
			s, ok := provider.JSONString(name)
			if !ok {
				t.Fatalf("name %q is not a string", name)
			}
			got[s] = value
		}
		if len(got) != len(want) {
			t.Fatalf("members gave %d names, encoding/json %d", len(got), len(want))
		}
		for k, v := range want {
			if !bytes.Equal(got[k], v) {
				t.Fatalf("member %q: got %q, want %q", k, got[k], v)
			}
		}
	})
}

func TestMembersStopsEarly(t *testing.T) {
	n := 0
	for range members([]byte(`{"a":1,"b":2,"c":3}`)) {
		if n++; n == 2 {
			break
		}
	}
	if n != 2 {
		t.Errorf("iterated %d members after break", n)
	}
}
