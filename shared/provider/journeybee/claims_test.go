package journeybee

import (
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

// A token refused only for its signature or its expiry carries its claims
// (for the console's rejections); never api_key or external_settings, and
// no other refusal carries any.
func TestRejectionClaims(t *testing.T) {
	body := fixture(t, "lead_created")
	want := map[string]string{
		"company_uuid": "company_12345678-1234-5678-9012-123456789abc",
		"user_uuid":    "user_87654321-4321-8765-2109-876543210987",
		"event_id":     "lead_created",
		"iat":          "1716214515",
		"exp":          "1716218115",
	}
	expired := claimsFor("lead_created")
	expired.IssuedAt, expired.ExpiresAt = testNow.Add(-2*time.Hour), testNow.Add(-time.Hour)
	noUser := claimsFor("lead_created")
	noUser.UserUUID = ""
	for _, tc := range []struct {
		name   string
		h      http.Header
		reason string
		claims map[string]string
	}{
		{"wrong secret", signedHeader(t, "a-wrong-integration-uuid", claimsFor("lead_created")), "bad_signature", want},
		{"expired", signedHeader(t, testSecret, expired), "expired", map[string]string{
			"company_uuid": want["company_uuid"], "user_uuid": want["user_uuid"], "event_id": "lead_created",
			"iat": "1716207330", "exp": "1716210930"}},
		{"wrong secret, claim missing", signedHeader(t, "a-wrong-integration-uuid", noUser), "bad_signature", nil},
		{"malformed", authHeader("Bearer not.a.token"), "malformed_credentials", nil},
		{"alg none", authHeader("Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJleHAiOjF9."), "unsupported_algorithm", nil},
		{"missing", http.Header{}, "missing_credentials", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newVerifier(t, []string{testSecret}).Verify(body, tc.h)
			if got := provider.Reason(err); got != tc.reason {
				t.Fatalf("reason %q, want %q (%v)", got, tc.reason, err)
			}
			got := provider.ClaimsOf(err)
			if !maps.Equal(got, tc.claims) {
				t.Errorf("claims %v, want %v", got, tc.claims)
			}
			for k, v := range got {
				if strings.Contains(k, "api_key") || strings.Contains(v, "jb_api_") || strings.Contains(k, "external") {
					t.Errorf("claim %s=%s must never be shown", k, v)
				}
			}
			if strings.Contains(err.Error(), "company_") || strings.Contains(err.Error(), "jb_api_") {
				t.Errorf("error text carries a claim value: %v", err)
			}
		})
	}
}
