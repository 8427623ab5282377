package journeybee

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/shared/provider"
)

// Claims are the claims of a JourneyBee webhook token, for Sign.
type Claims struct {
	CompanyUUID string
	UserUUID    string
	EventID     string    // "lead_created", "leads.create", …
	APIKey      string    // optional, omitted when empty
	IssuedAt    time.Time // optional, omitted when zero
	ExpiresAt   time.Time // required
}

// tokenBody is the JSON form of Claims, in JourneyBee's order (J1).
type tokenBody struct {
	CompanyUUID string `json:"company_uuid"`
	UserUUID    string `json:"user_uuid"`
	EventID     string `json:"event_id"`
	APIKey      string `json:"api_key,omitempty"`
	jwt.RegisteredClaims
}

// Sign returns an HS256 JWT carrying c, signed with secret (an integration
// UUID) the way JourneyBee signs its webhooks; iat and exp are NumericDate
// seconds. It is for tests, sample events and `hookline send`.
func Sign(secret string, c Claims) (string, error) {
	if secret == "" {
		return "", fmt.Errorf("journeybee: sign: %w", provider.ErrNoSecret)
	}
	if c.ExpiresAt.IsZero() {
		return "", errors.New("journeybee: sign: ExpiresAt is required")
	}
	body := tokenBody{
		CompanyUUID: c.CompanyUUID,
		UserUUID:    c.UserUUID,
		EventID:     c.EventID,
		APIKey:      c.APIKey,
		RegisteredClaims: jwt.RegisteredClaims{
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
		},
	}
	if !c.IssuedAt.IsZero() {
		body.IssuedAt = jwt.NewNumericDate(c.IssuedAt)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, body).SignedString([]byte(secret))
	if err != nil {
		return "", fmt.Errorf("journeybee: sign: %w", err)
	}
	return tok, nil
}

// SignHeader returns the Authorization header value "Bearer <Sign(...)>".
func SignHeader(secret string, c Claims) (string, error) {
	tok, err := Sign(secret, c)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}
