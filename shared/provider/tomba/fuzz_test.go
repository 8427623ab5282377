package tomba_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/tomba"
)

// FuzzVerify feeds Verify arbitrary bodies and Authorization values. With an
// empty token the test token is sent, so the fuzzer reaches the parser;
// otherwise token is the header value as is.
func FuzzVerify(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		body := fixture(f, filepath.Base(file))
		f.Add(body, "")
		f.Add(body, "Bearer "+testToken)
		f.Add(body, "Bearer "+otherToken)
	}
	f.Add([]byte(`{"data":{"email":"a@b","score":1.5}}`), "")
	f.Add([]byte(`[]`), "")
	f.Add([]byte{}, "Basic x")

	v := newVerifier(f, "Authorization", testToken, oldToken)
	f.Fuzz(func(t *testing.T, body []byte, token string) {
		if token == "" {
			token = testToken
		}
		h := http.Header{}
		h.Set("Authorization", token)
		orig := bytes.Clone(body)

		d, err := v.Verify(body, h)
		if !bytes.Equal(body, orig) {
			t.Fatal("Verify modified the body")
		}
		if err != nil {
			if provider.Reason(err) == "" {
				t.Fatalf("error wraps no provider sentinel: %v", err)
			}
			if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), oldToken) {
				t.Fatalf("error contains a token: %v", err)
			}
			return
		}
		if d.Provider != "tomba" || d.Type != "tomba.save_lead" || !strings.HasPrefix(d.Type, "tomba.") {
			t.Fatalf("provider %q, type %q", d.Provider, d.Type)
		}
		k := d.IdempotencyKey
		if k == "" || len(k) > 128 || !strings.HasPrefix(k, "tomba:") {
			t.Fatalf("idempotency key %q", k)
		}
		p := d.Payload.(*tomba.Payload)
		if !strings.Contains(p.Data.Email, "@") || d.Normalized.Lead == nil || d.Normalized.Lead.Email != p.Data.Email || !bytes.Equal(d.Raw, body) {
			t.Fatalf("inconsistent delivery %+v", d)
		}
	})
}
