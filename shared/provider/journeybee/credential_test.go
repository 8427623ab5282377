package journeybee

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

func TestCredential(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	body := []byte(`{"lead":{"uuid":"lead_1","email":"a@b.co"}}`)
	c := claimsFor("lead_created")
	hdr := signedHeader(t, testSecret, c)
	d, err := v.Verify(body, hdr)
	if err != nil {
		t.Fatal(err)
	}
	id, until, err := Credential(hdr, d)
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimPrefix(hdr.Get("Authorization"), "Bearer ")
	if len(id) != 64 || strings.Contains(id, tok) || strings.Contains(tok, id) {
		t.Errorf("id = %q: want 64 hex digits, not the token", id)
	}
	if want := c.ExpiresAt.Truncate(time.Second).Add(DefaultLeeway); !until.Equal(want) {
		t.Errorf("validUntil = %v, want exp + leeway %v", until, want)
	}

	// The same token however the header is spelt: the same credential.
	for _, v := range []string{"bearer " + tok, "  Bearer   " + tok + "  "} {
		got, _, err := Credential(http.Header{"Authorization": {v}}, d)
		if err != nil || got != id {
			t.Errorf("Authorization %q: id %q, %v; want %q", v, got, err, id)
		}
	}
	// Another token for the same claims but a later iat: another credential.
	c2 := c
	c2.IssuedAt = c.IssuedAt.Add(time.Second)
	hdr2 := signedHeader(t, testSecret, c2)
	d2, err := v.Verify(body, hdr2)
	if err != nil {
		t.Fatal(err)
	}
	if id2, _, err := Credential(hdr2, d2); err != nil || id2 == id {
		t.Errorf("a second token has id %q (%v), the first's is %q", id2, err, id)
	}
	// Misuse: not a JourneyBee delivery, or no exp.
	if _, _, err := Credential(hdr, provider.Delivery{Provider: provider.Leadron, Meta: d.Meta}); err == nil {
		t.Error("Credential of a Leadron delivery: no error")
	}
	if _, _, err := Credential(hdr, provider.Delivery{Provider: provider.JourneyBee}); err == nil {
		t.Error("Credential without exp: no error")
	}
}
