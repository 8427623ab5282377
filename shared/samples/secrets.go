package samples

import (
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/leadron"
)

// NewSecrets returns fresh random secrets, one per provider (an integration
// UUID for JourneyBee): what the tests and `hookline invoke --local` run the
// Lambda functions with, since those refuse the public development secrets.
func NewSecrets() Secrets {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // a version 4 UUID
	u := hex.EncodeToString(b)
	return Secrets{
		JourneyBee:  u[:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:],
		Leadron:     "test-leadron-" + rand.Text(),
		TombaHeader: "X-Tomba-Token",
		TombaToken:  "test-tomba-" + rand.Text(),
	}
}

// ConfigYAML is a config document that accepts deliveries signed with s (every
// event to the log destination): the development config's shape.
func (s Secrets) ConfigYAML() string {
	header := cmp.Or(s.TombaHeader, "X-Tomba-Token")
	return fmt.Sprintf("sources:\n  journeybee: { secrets: [%q] }\n  leadron:    { secrets: [%q] }\n"+
		"  tomba:      { header: %s, secrets: [%q] }\ndestinations:\n  - name: log\n    type: log\n    events: [\"*\"]\n",
		s.JourneyBee, s.Leadron, header, s.TombaToken)
}

// Resign gives a delivery of prov whose credentials were made with from the
// same credentials made with to: the JourneyBee token's claims re-signed, the
// Leadron signature of the same body, the Tomba token. ok is false (and hdr
// returned as is) when hdr's credentials were not made with from.
func Resign(prov string, hdr http.Header, body []byte, from, to Secrets) (out http.Header, ok bool, err error) {
	out = hdr.Clone()
	switch prov {
	case provider.JourneyBee:
		bearer, found := strings.CutPrefix(hdr.Get("Authorization"), "Bearer ")
		if !found {
			return hdr, false, nil
		}
		var claims jwt.MapClaims
		_, err := jwt.ParseWithClaims(bearer, &claims, func(*jwt.Token) (any, error) { return []byte(from.JourneyBee), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithoutClaimsValidation())
		if err != nil {
			return hdr, false, nil
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(to.JourneyBee))
		if err != nil {
			return hdr, false, fmt.Errorf("samples: resign: %w", err)
		}
		out.Set("Authorization", "Bearer "+tok)
	case provider.Leadron:
		sig := strings.TrimPrefix(hdr.Get(leadron.SignatureHeader), "sha256=")
		if !hmac.Equal([]byte(sig), []byte(leadron.Sign(from.Leadron, body))) {
			return hdr, false, nil
		}
		out.Set(leadron.SignatureHeader, "sha256="+leadron.Sign(to.Leadron, body))
	case provider.Tomba:
		name := cmp.Or(from.TombaHeader, "X-Tomba-Token")
		if hdr.Get(name) != from.TombaToken || from.TombaToken == "" {
			return hdr, false, nil
		}
		out.Del(name)
		out.Set(cmp.Or(to.TombaHeader, "X-Tomba-Token"), to.TombaToken)
	default:
		return hdr, false, fmt.Errorf("samples: unknown provider %q", prov)
	}
	return out, true, nil
}
