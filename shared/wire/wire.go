// Package wire builds hookline's parts from a config: the provider verifiers
// and ingest handlers that both the Lambda functions and the local binary
// serve. It holds no AWS or SQLite code, so each binary links only the
// adapters it uses.
package wire

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/provider/tomba"
	"github.com/hookline/hookline/shared/store"
)

// Providers in route order.
var Providers = []string{provider.JourneyBee, provider.Leadron, provider.Tomba}

// Verifier builds the verification value of one provider from the config. It
// fails (never opens) when the provider has no secret.
func Verifier(c *config.Config, name string) (ingest.Verifier, error) {
	return VerifierAt(c, name, time.Time{})
}

// VerifierAt is Verifier with its clock at a past receive time (zero: the
// current time): re-verifying a quarantined delivery checks its token's
// times as they were when it came. Only JourneyBee's scheme has times.
func VerifierAt(c *config.Config, name string, at time.Time) (ingest.Verifier, error) {
	switch name {
	case provider.JourneyBee:
		var opts []journeybee.Option
		if !at.IsZero() {
			opts = append(opts, journeybee.WithClock(func() time.Time { return at }))
		}
		if age := c.Sources.JourneyBee.MaxTokenAge.D(); age > 0 {
			opts = append(opts, journeybee.WithMaxAge(age))
		}
		return journeybee.New(c.Sources.JourneyBee.Secrets, opts...)
	case provider.Leadron:
		return leadron.New(c.Sources.Leadron.Secrets)
	case provider.Tomba:
		return tomba.New(c.Sources.Tomba.Header, c.Sources.Tomba.Secrets)
	}
	return nil, fmt.Errorf("wire: unknown provider %q", name)
}

// Methods lists the HTTP methods a provider's route accepts. Tomba's sender
// lets its user choose the method.
func Methods(name string) []string {
	if name == provider.Tomba {
		return []string{http.MethodPost, http.MethodPut, http.MethodPatch}
	}
	return []string{http.MethodPost}
}

// Handler builds one provider's ingest handler.
func Handler(c *config.Config, name string, st ingest.Store, q ingest.Queue, log *slog.Logger) (*ingest.Handler, error) {
	v, err := Verifier(c, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	h := &ingest.Handler{
		Provider:  name,
		Verifier:  v,
		Store:     st,
		Queue:     q,
		Log:       log,
		Methods:   Methods(name),
		MaxBody:   c.Ingest.MaxBodyBytes,
		KeyWindow: c.KeyWindow(name),
		Retention: c.Ingest.Retention.D(),
	}
	if name == provider.JourneyBee && c.Sources.JourneyBee.RejectReusedTokens {
		h.BindCredential = journeybee.Credential
	}
	h.VerifierAt = func(at time.Time) (ingest.Verifier, error) { return VerifierAt(c, name, at) }
	return h, nil
}

// CredentialHeaders are the headers that carry a provider's credential:
// what a quarantine keeps with their values, beside the body.
func CredentialHeaders(c *config.Config, name string) []string {
	switch name {
	case provider.JourneyBee:
		return []string{"Authorization"}
	case provider.Leadron:
		return []string{leadron.SignatureHeader}
	case provider.Tomba:
		return []string{c.Sources.Tomba.Header}
	}
	return nil
}

// Quarantine is the ingest quarantine of ingest.quarantine for a provider,
// kept in qs; nil when the config has none.
func Quarantine(c *config.Config, name string, qs store.QuarantineStore) *ingest.Quarantine {
	q := c.Ingest.Quarantine
	if q == nil || qs == nil {
		return nil
	}
	return &ingest.Quarantine{
		Store:   qs,
		TTL:     q.TTL.D(),
		Bounds:  store.QuarantineBounds{MaxCount: q.MaxCount, MaxBytes: q.MaxBytes},
		Headers: CredentialHeaders(c, name),
	}
}

// Logger is hookline's structured logger: JSON lines, one object each.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
