package leadron_test

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/provider/leadron"
)

// TestKnownAnswer checks Sign and Verify against signatures computed by an
// independent implementation: Python's hmac module (testdata/kat/sign.py,
// cross-checked with Node's crypto in sign.js) over the exact bytes of
// testdata/kat/body.json. Regenerate with
//
//	cd testdata/kat && python3 sign.py body.json > vectors.tsv
func TestKnownAnswer(t *testing.T) {
	body := fixture(t, "kat/body.json")
	tsv, err := os.ReadFile("testdata/kat/vectors.tsv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(tsv), "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("%d vectors, want at least 2", len(lines))
	}
	for _, line := range lines {
		secret, want, ok := strings.Cut(line, "\t")
		if !ok || len(want) != 64 {
			t.Fatalf("bad vector line %q", line)
		}
		if got := leadron.Sign(secret, body); got != want {
			t.Errorf("Sign(%q) = %s, want %s", secret, got, want)
		}
		v := newVerifier(t, otherSecret, secret)
		for _, value := range []string{want, "sha256=" + want} {
			h := http.Header{}
			h.Set(leadron.SignatureHeader, value)
			d, err := v.Verify(body, h)
			if err != nil || d.Meta["secret_index"] != "1" || d.Type != "leadron.lead.created" {
				t.Errorf("Verify with %s: %v, %+v", value, err, d.Meta)
			}
		}
	}
}
