package samples_test

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/provider/tomba"
	"github.com/hookline/hookline/shared/samples"
)

type verifier interface {
	Verify(raw []byte, h http.Header) (provider.Delivery, error)
}

func verifiers(t *testing.T, s samples.Secrets) map[string]verifier {
	t.Helper()
	jb, err := journeybee.New([]string{s.JourneyBee})
	if err != nil {
		t.Fatal(err)
	}
	ld, err := leadron.New([]string{s.Leadron})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := tomba.New(s.TombaHeader, []string{s.TombaToken})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]verifier{"journeybee": jb, "leadron": ld, "tomba": tb}
}

// Resign moves a delivery from one set of secrets to another: it then
// verifies with the new ones only; a delivery not made with from is left
// alone.
func TestResign(t *testing.T) {
	from, to := samples.NewSecrets(), samples.NewSecrets()
	if from == to || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(from.JourneyBee) {
		t.Fatalf("NewSecrets: %+v, %+v", from, to)
	}
	old, now := verifiers(t, from), verifiers(t, to)
	for prov, event := range map[string]string{"journeybee": "lead_created", "leadron": "lead.created", "tomba": "save_lead"} {
		body, _ := samples.Body(prov, event)
		hdr, err := samples.Headers(prov, event, body, from, samples.DefaultToken(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		out, ok, err := samples.Resign(prov, hdr, body, from, to)
		if err != nil || !ok {
			t.Fatalf("%s: Resign = %v, %v", prov, ok, err)
		}
		if _, err := now[prov].Verify(body, out); err != nil {
			t.Errorf("%s: re-signed delivery does not verify with the new secret: %v", prov, err)
		}
		if _, err := old[prov].Verify(body, out); err == nil {
			t.Errorf("%s: re-signed delivery still verifies with the old secret", prov)
		}
		// Made with other secrets: left alone.
		if again, ok, err := samples.Resign(prov, out, body, from, to); ok || err != nil || again.Get("Content-Type") == "" {
			t.Errorf("%s: re-signed a delivery not made with from: %v %v", prov, ok, err)
		}
	}
}
