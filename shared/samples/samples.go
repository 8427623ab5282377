// Package samples holds one realistic delivery body per documented event of
// each provider (bodies/<provider>/<event>.json, taken from the providers'
// own examples) and signs them with given secrets. The provider tests, the
// events/ samples for `sam local invoke`, `hookline send` and the load test
// all use these same bodies.
package samples

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/provider/tomba"
)

//go:embed bodies
var bodies embed.FS

// Events lists the sample events of a provider, sorted.
func Events(prov string) []string {
	entries, _ := fs.ReadDir(bodies, "bodies/"+prov)
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Body returns the sample body of one event.
func Body(prov, event string) ([]byte, error) {
	b, err := bodies.ReadFile(path.Join("bodies", prov, event+".json"))
	if err != nil {
		return nil, fmt.Errorf("samples: no %s sample for event %q (have: %s)", prov, event, strings.Join(Events(prov), ", "))
	}
	return b, nil
}

// Secrets are the credentials to sign with.
type Secrets struct {
	JourneyBee  string // integration UUID
	Leadron     string // signing secret
	TombaHeader string // header name, default X-Tomba-Token
	TombaToken  string
}

// Token says who a JourneyBee token claims to come from, and when.
type Token struct {
	CompanyUUID, UserUUID string
	IssuedAt, ExpiresAt   time.Time
}

// DefaultToken is a token issued at iat that lives one hour.
func DefaultToken(iat time.Time) Token {
	return Token{
		CompanyUUID: "company_12345678-1234-5678-9012-123456789abc",
		UserUUID:    "user_87654321-4321-8765-2109-876543210987",
		IssuedAt:    iat, ExpiresAt: iat.Add(time.Hour),
	}
}

// Headers returns the headers a provider would send with body for event:
// Content-Type and the provider's credentials.
func Headers(prov, event string, body []byte, s Secrets, tok Token) (http.Header, error) {
	h := http.Header{"Content-Type": {"application/json"}}
	switch prov {
	case provider.JourneyBee:
		auth, err := journeybee.SignHeader(s.JourneyBee, journeybee.Claims{
			CompanyUUID: tok.CompanyUUID, UserUUID: tok.UserUUID, EventID: event,
			IssuedAt: tok.IssuedAt, ExpiresAt: tok.ExpiresAt,
		})
		if err != nil {
			return nil, err
		}
		h.Set("Authorization", auth)
	case provider.Leadron:
		h.Set(leadron.SignatureHeader, "sha256="+leadron.Sign(s.Leadron, body))
	case provider.Tomba:
		name := s.TombaHeader
		if name == "" {
			name = "X-Tomba-Token"
		}
		h.Set(name, s.TombaToken)
	default:
		return nil, fmt.Errorf("samples: unknown provider %q", prov)
	}
	return h, nil
}

// verifier is what Parse needs of a provider package.
type verifier interface {
	Verify(raw []byte, h http.Header) (provider.Delivery, error)
}

// Parse runs a provider's own validation and normalization on body for
// event, as if it had arrived signed: it signs body with a throwaway secret
// and verifies it, so the signature proves nothing here (hookline transform
// --file uses it to try a program on a body at hand). tok says who a
// JourneyBee token claims to come from: its company_uuid is the tenant.
// Leadron and Tomba read the event from the body; event only has to name
// it for JourneyBee.
func Parse(prov, event string, body []byte, tok Token) (provider.Delivery, error) {
	const secret = "hookline-unverified-parse"
	var v verifier
	var err error
	switch prov {
	case provider.JourneyBee:
		v, err = journeybee.New([]string{secret})
	case provider.Leadron:
		v, err = leadron.New([]string{secret})
	case provider.Tomba:
		v, err = tomba.New("", []string{secret})
	default:
		return provider.Delivery{}, fmt.Errorf("samples: unknown provider %q", prov)
	}
	if err != nil {
		return provider.Delivery{}, err
	}
	h, err := Headers(prov, event, body, Secrets{JourneyBee: secret, Leadron: secret, TombaToken: secret}, tok)
	if err != nil {
		return provider.Delivery{}, err
	}
	return v.Verify(body, h)
}
