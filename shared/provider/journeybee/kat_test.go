package journeybee

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/canonical"
)

// TestKnownAnswer verifies a token made by Node's jsonwebtoken (an
// independent implementation; testdata/kat/make-jb-token.js) with the
// integration UUID below, paired with the lead_created fixture.
func TestKnownAnswer(t *testing.T) {
	const integrationUUID = "3f0c6a8e-9b1d-4c2e-8f7a-5d4b3c2a1e0f"
	tok, err := os.ReadFile(filepath.Join("testdata", "kat", "lead_created.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(filepath.Join("testdata", "kat", "lead_created.json"))
	if err != nil {
		t.Fatal(err)
	}
	iat := time.Unix(4102444800, 0).UTC() // 2100-01-01T00:00:00Z
	h := http.Header{"Authorization": {"Bearer " + string(bytes.TrimSpace(tok))}}

	v, err := New([]string{"0d6f3bd2-0000-4000-8000-000000000000", integrationUUID}, WithClock(fixedClock(iat.Add(30*time.Minute))))
	if err != nil {
		t.Fatal(err)
	}
	d, err := v.Verify(body, h)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := map[string]string{
		"company_uuid": "company_12345678-1234-5678-9012-123456789abc",
		"user_uuid":    "user_87654321-4321-8765-2109-876543210987",
		"event_id":     "lead_created",
		"iat":          "4102444800",
		"exp":          "4102448400",
		"secret_index": "1",
	}
	for k, w := range want {
		if d.Meta[k] != w {
			t.Errorf("Meta[%s] = %q, want %q", k, d.Meta[k], w)
		}
	}
	if len(d.Meta) != len(want) {
		t.Errorf("Meta = %v, want exactly %v", d.Meta, want)
	}
	if d.Type != "journeybee.lead_created" || d.Tenant != want["company_uuid"] || d.EntityID != leadUUID ||
		d.Normalized.Kind != canonical.KindLead || d.Normalized.Action != canonical.ActionCreated ||
		d.Normalized.Lead.Email != "contact@prospect.com" || !d.OccurredAt.Equal(ms(1716214515227)) {
		t.Errorf("delivery = %+v", d)
	}
	// The key depends on company, event and body only: the same as for the
	// fixture signed by Sign.
	if other := verifyFixture(t, "lead_created"); other.IdempotencyKey != d.IdempotencyKey {
		t.Errorf("key %s, want %s (same company, event and body)", d.IdempotencyKey, other.IdempotencyKey)
	}

	// The same token is refused by a verifier without the secret, and once
	// it has expired.
	wrong, _ := New([]string{testSecret}, WithClock(fixedClock(iat)))
	if _, err := wrong.Verify(body, h); err == nil {
		t.Error("accepted with the wrong secret")
	}
	late, _ := New([]string{integrationUUID}, WithClock(fixedClock(iat.Add(time.Hour+time.Minute))))
	if _, err := late.Verify(body, h); err == nil {
		t.Error("accepted after exp + leeway")
	}
}
