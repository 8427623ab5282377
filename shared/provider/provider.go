// Package provider holds what the three provider packages (journeybee, leadron,
// tomba) have in common: the verified Delivery they return, the sentinel
// errors they wrap, so the HTTP layer can map a rejection to a status in one
// place, and the one strict JSON decode every body goes through (DecodeJSON,
// with the lenient field types String and List).
//
// Provider packages are pure: no AWS, no logging, no network. Each is a value
// built once from its secrets with a Verify(raw []byte, h http.Header) method.
package provider

import (
	"errors"
	"time"

	"github.com/hookline/hookline/shared/canonical"
)

// Provider names, as used in routes (/webhooks/<name>), config keys and the
// first part of every canonical event type.
const (
	JourneyBee = "journeybee"
	Leadron    = "leadron"
	Tomba      = "tomba"
)

// Delivery is one verified, validated and normalized webhook delivery.
type Delivery struct {
	// Provider is one of JourneyBee, Leadron, Tomba.
	Provider string
	// Event is the provider's own event name in its canonical spelling
	// ("lead_created", "opportunity.won", "save_lead").
	Event string
	// Type is the canonical event type "<provider>.<event>".
	Type string
	// IdempotencyKey identifies the event, not the delivery: a redelivery of the
	// same event gives the same key. It is opaque, ASCII and at most 128 bytes.
	IdempotencyKey string
	// EntityID is the id of the object the event is about, where there is one.
	EntityID string
	// Tenant is the provider-side account the event belongs to, where the
	// provider says (JourneyBee company_uuid).
	Tenant string
	// OccurredAt is when the provider says the event happened; zero if unknown.
	OccurredAt time.Time
	// Meta holds verified, non-secret facts from the credentials (JWT claims
	// other than api_key/external_settings, the signing secret's index). Never
	// a token, signature or secret.
	Meta map[string]string
	// Payload is the provider's typed payload (a pointer to a struct of the
	// provider package), for callers that want the provider's own shape.
	Payload any
	// Normalized is the payload mapped onto the shared canonical model.
	Normalized canonical.Record
	// Raw is the request body exactly as received. It aliases the caller's
	// slice: Verify never modifies it.
	Raw []byte
}

// Sentinel errors. Every rejection a provider returns wraps exactly one of
// these (errors.Is), with a message that never contains a secret, a token or
// the body.
var (
	// Authentication failures (HTTP 401).
	ErrMissingCredentials   = errors.New("missing credentials")
	ErrMalformedCredentials = errors.New("malformed credentials")
	ErrBadSignature         = errors.New("signature does not match")
	ErrUnsupportedAlgorithm = errors.New("unsupported signing algorithm")
	ErrExpired              = errors.New("credentials expired")
	ErrNotYetValid          = errors.New("credentials not valid yet")
	ErrMissingClaim         = errors.New("required claim missing")

	// Payload failures (HTTP 400).
	ErrEmptyBody      = errors.New("empty body")
	ErrMalformedJSON  = errors.New("malformed JSON")
	ErrInvalidPayload = errors.New("invalid payload")

	// ErrNoSecret is returned by constructors given no usable secret: a
	// provider value never exists without one (fail closed).
	ErrNoSecret = errors.New("no secret configured")
)

// reasons maps each sentinel to a short, stable, log- and metric-friendly code.
var reasons = []struct {
	err  error
	code string
}{
	{ErrMissingCredentials, "missing_credentials"},
	{ErrMalformedCredentials, "malformed_credentials"},
	{ErrBadSignature, "bad_signature"},
	{ErrUnsupportedAlgorithm, "unsupported_algorithm"},
	{ErrExpired, "expired"},
	{ErrNotYetValid, "not_yet_valid"},
	{ErrMissingClaim, "missing_claim"},
	{ErrEmptyBody, "empty_body"},
	{ErrMalformedJSON, "malformed_json"},
	{ErrInvalidPayload, "invalid_payload"},
	{ErrNoSecret, "no_secret"},
}

// Reason returns the stable reason code of a provider rejection
// ("bad_signature", "invalid_payload", …), or "" if err wraps no sentinel of
// this package.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.code
		}
	}
	return ""
}

// IsAuth reports whether err is an authentication failure (answered 401).
func IsAuth(err error) bool {
	switch Reason(err) {
	case "missing_credentials", "malformed_credentials", "bad_signature",
		"unsupported_algorithm", "expired", "not_yet_valid", "missing_claim":
		return true
	}
	return false
}

// ClaimsError is a credential rejection that carries the claims of a token
// refused only for its signature or its expiry (JourneyBee): the claims a
// well-formed token carried, for the operator to see which integration or
// company sent it. Only the claims a provider package chooses to name are
// here (JourneyBee: company_uuid, user_uuid, event_id, iat, exp, nbf; never
// api_key or external_settings); never the token or a secret. The error's
// text is Err's.
type ClaimsError struct {
	Err    error
	Claims map[string]string
}

func (e *ClaimsError) Error() string { return e.Err.Error() }
func (e *ClaimsError) Unwrap() error { return e.Err }

// ClaimsOf returns the claims a rejection carried (see ClaimsError), or nil.
func ClaimsOf(err error) map[string]string {
	var ce *ClaimsError
	if errors.As(err, &ce) {
		return ce.Claims
	}
	return nil
}
