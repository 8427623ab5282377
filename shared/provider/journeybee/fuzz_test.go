package journeybee

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/provider"
)

// FuzzVerify feeds Verify arbitrary bodies and either arbitrary
// Authorization values or valid tokens for an arbitrary event_id (so the
// body checks are reached). It must never panic; every error wraps a
// provider sentinel and never shows the secret; every success is a
// well-formed delivery whose record and payload marshal to JSON.
func FuzzVerify(f *testing.F) {
	for _, name := range fixtureNames(f) {
		body := fixture(f, name)
		f.Add(body, name, "", true)
		f.Add(body, name, signedHeader(f, testSecret, claimsFor(name)).Get("Authorization"), false)
	}
	f.Add([]byte(`{"lead":{"uuid":"l"},"configuration":[{"id":"x","selected":[]}]}`), "leads.create", "", true)
	f.Add([]byte(`{"contact":null,"partnership":{"uuid":"p"}}`), "partner_contact_updated", "", true)
	f.Add([]byte(`{"deal":{"uuid":"d","created_at":"2023-11-07T05:31:56Z","deal_value":"1e3"}}`), "deals.update", "", true)
	f.Add([]byte(`{}`), "Bearer x.y.z", "eyJhbGciOiJub25lIn0.e30.", false)

	v := newVerifier(f, []string{testSecret, prevSecret})
	f.Fuzz(func(t *testing.T, body []byte, event, auth string, sign bool) {
		h := http.Header{}
		if sign {
			hv, err := SignHeader(testSecret, claimsFor(event))
			if err != nil {
				t.Fatal(err)
			}
			h.Set("Authorization", hv)
		} else if auth != "" {
			h["Authorization"] = []string{auth}
		}
		orig := string(body)
		d, err := v.Verify(body, h)
		if string(body) != orig {
			t.Fatal("Verify modified the body")
		}
		if err != nil {
			if provider.Reason(err) == "" {
				t.Fatalf("error wraps no provider sentinel: %v", err)
			}
			if strings.Contains(err.Error(), testSecret) || strings.Contains(err.Error(), prevSecret) {
				t.Fatalf("error shows a secret: %v", err)
			}
			if errors.Is(err, provider.ErrNoSecret) {
				t.Fatalf("Verify returned ErrNoSecret: %v", err)
			}
			return
		}
		if !strings.HasPrefix(d.Type, "journeybee.") || d.Type == "journeybee." || d.Type != "journeybee."+d.Event {
			t.Fatalf("Type = %q, Event = %q", d.Type, d.Event)
		}
		if n := len(d.IdempotencyKey); n == 0 || n > 128 {
			t.Fatalf("IdempotencyKey length %d", n)
		}
		if d.Normalized.Kind == "" || d.Normalized.Action == "" || d.Tenant == "" || d.Meta["secret_index"] == "" {
			t.Fatalf("incomplete delivery: %+v", d)
		}
		if _, ok := d.Payload.(*Payload); !ok {
			t.Fatalf("Payload is %T", d.Payload)
		}
		// Destinations receive these as JSON: they must always marshal.
		if _, err := json.Marshal(d.Normalized); err != nil {
			t.Fatalf("normalized record does not marshal: %v", err)
		}
		if _, err := json.Marshal(d.Payload); err != nil {
			t.Fatalf("payload does not marshal: %v", err)
		}
	})
}
