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

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/provider/tomba"
)

// Providers in route order.
var Providers = []string{provider.JourneyBee, provider.Leadron, provider.Tomba}

// Verifier builds the verification value of one provider from the config. It
// fails (never opens) when the provider has no secret.
func Verifier(c *config.Config, name string) (ingest.Verifier, error) {
	switch name {
	case provider.JourneyBee:
		var opts []journeybee.Option
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
	return h, nil
}

// Logger is hookline's structured logger: JSON lines, one object each.
func Logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, nil))
}
