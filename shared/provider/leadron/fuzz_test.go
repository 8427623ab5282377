package leadron_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/leadron"
)

// FuzzVerify feeds Verify arbitrary bodies and signature headers. With an
// empty sig the body is signed with the test secret, so the fuzzer reaches
// the parser; otherwise sig is the header value as is.
func FuzzVerify(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.json")
	samples, _ := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if len(files) == 0 || len(samples) == 0 {
		f.Fatal("no fixtures")
	}
	for _, file := range append(files, samples...) {
		body, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, "")
		f.Add(body, "sha256="+leadron.Sign(testSecret, body))
	}
	f.Add([]byte(`{"id":"e","type":"x","createdAt":"2026-01-01T00:00:00Z","data":{}}`), "")
	f.Add([]byte(`[]`), "")
	f.Add([]byte{}, "sha1=00")

	v := newVerifier(f, testSecret, oldSecret)
	f.Fuzz(func(t *testing.T, body []byte, sig string) {
		h := http.Header{}
		if sig == "" {
			sig = leadron.Sign(testSecret, body)
		}
		h.Set(leadron.SignatureHeader, sig)
		orig := bytes.Clone(body)

		d, err := v.Verify(body, h)
		if !bytes.Equal(body, orig) {
			t.Fatal("Verify modified the body")
		}
		if err != nil {
			if provider.Reason(err) == "" {
				t.Fatalf("error wraps no provider sentinel: %v", err)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), oldSecret) {
				t.Fatalf("error contains a secret: %v", err)
			}
			return
		}
		if d.Provider != "leadron" || !strings.HasPrefix(d.Type, "leadron.") || d.Type != "leadron."+d.Event {
			t.Fatalf("provider %q, type %q, event %q", d.Provider, d.Type, d.Event)
		}
		k := d.IdempotencyKey
		if k == "" || len(k) > 128 || !strings.HasPrefix(k, "leadron:") {
			t.Fatalf("idempotency key %q", k)
		}
		for _, c := range []byte(k) {
			if c <= ' ' || c > '~' {
				t.Fatalf("idempotency key %q is not visible ASCII", k)
			}
		}
		// createdAt may be any RFC 3339 time, even 0001-01-01T00:00:00Z,
		// which leaves OccurredAt zero ("unknown").
		env := d.Payload.(*leadron.Envelope)
		if !d.OccurredAt.Equal(env.CreatedAt) || d.OccurredAt.Location() != time.UTC || d.Meta["id"] != env.ID {
			t.Fatalf("delivery %+v does not match its envelope", d)
		}
		if d.Normalized.Kind == "" || d.Normalized.Action == "" || !bytes.Equal(d.Raw, body) {
			t.Fatalf("incomplete delivery %+v", d)
		}
	})
}
