// Package journeybee verifies, validates and normalizes JourneyBee webhook
// deliveries (PROVIDERS.md section 1).
//
// A Verifier is built once from the integration UUIDs (the HMAC secrets) and
// never changes afterwards; Verify has no side effects and is safe for
// concurrent use:
//
//	v, err := journeybee.New([]string{current, previous})
//	d, err := v.Verify(rawBody, r.Header)
//
// # What JourneyBee's scheme proves, and what it does not
//
// JourneyBee sends an HS256 JWT in "Authorization: Bearer". The token signs
// its claims (company_uuid, user_uuid, event_id, iat, exp), not the request
// body. Verify therefore proves that the sender knows the integration UUID and
// that the claims are genuine and unexpired, but a body changed in transit, or
// a captured token replayed with a different body before it expires, cannot be
// detected: the token is a bearer credential. TLS is what protects the body.
// To narrow the replay window, Verify rejects tokens whose exp has passed, and
// WithMaxAge can bound how old iat may be.
//
// # Verification
//
// Tokens are verified by github.com/golang-jwt/jwt/v5's parser (see
// newParser): the HS256 allow-list is enforced on the header before any key
// is used, which rules out alg=none and the RS256→HS256 key confusion (no
// public key is ever involved); exp is required, iat may not be in the
// future, nbf is honoured, with a leeway; the claims are read into a typed
// struct by the same strict JSON decoder as bodies (a claim named twice is
// refused). Each rejection wraps its provider sentinel (tokenError maps
// golang-jwt's errors).
//
// Hand-written, because the library cannot express it:
//   - the Authorization header itself (one header, Bearer scheme, a length
//     bound, base64url characters only: base64 decoders skip newlines);
//   - trying every configured secret without stopping at a match, and
//     recording which one matched (Meta["secret_index"], what a rotation
//     needs): the key function checks each with the library's HS256 Verify;
//   - refusing a crit header (RFC 7515 4.1.11; golang-jwt ignores it);
//   - WithMaxAge, and the required company_uuid, user_uuid and event_id
//     claims (tokenClaims.Validate).
//
// # Bodies
//
// A body is read once, by provider.DecodeJSON (the one strict decoder:
// duplicate names, invalid UTF-8 and bad syntax are refused, names match
// exactly), into typed structs whose fields tolerate a drifting JSON type.
//
// Sign uses golang-jwt too; a token made by Node's jsonwebtoken is the
// independent cross-check (testdata/kat).
package journeybee

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/shared/provider"
)

// DefaultLeeway is the clock-skew tolerance applied to exp, iat and nbf.
// It is also the maximum: WithLeeway clamps larger values to it.
const DefaultLeeway = 60 * time.Second

// Verifier verifies JourneyBee deliveries. Build it with New; the zero value
// is not usable. Its configuration never changes after New, and it is safe
// for concurrent use.
type Verifier struct {
	keys   []secretKey
	now    func() time.Time
	leeway time.Duration
	maxAge time.Duration
	parser *jwt.Parser // built by New from the above
}

// secretKey is one configured secret (the HMAC key: the UTF-8 bytes of the
// integration UUID) and its position in the list given to New (reported as
// Meta["secret_index"]).
type secretKey struct {
	index  int
	secret any // []byte, boxed once by New: the key function and HS256 Verify take it as an any
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock the token times are checked against (default
// time.Now), read on every Verify: re-verifying a delivery at the time it
// was received is a Verifier whose clock says so. A nil clock is ignored.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) {
		if now != nil {
			v.now = now
		}
	}
}

// WithLeeway sets the clock-skew tolerance for exp, iat and nbf (default and
// maximum 60s; larger values are clamped to 60s, negative ones to 0).
func WithLeeway(d time.Duration) Option {
	return func(v *Verifier) {
		v.leeway = min(max(d, 0), DefaultLeeway)
	}
}

// WithMaxAge rejects tokens issued more than d (plus the leeway) before now,
// with an error wrapping provider.ErrExpired, in addition to the exp check.
// With a max age set, a token without iat is rejected (ErrMissingClaim).
// Zero or negative disables the check (the default).
func WithMaxAge(d time.Duration) Option {
	return func(v *Verifier) {
		v.maxAge = max(d, 0)
	}
}

// New returns a Verifier for the given integration UUIDs. The HMAC key of
// each is the UTF-8 bytes of its text. Give several for a rotation, current
// first; blank entries are skipped (but keep their index), and so is a
// repeat of an earlier one. With no usable secret New fails with an error
// wrapping provider.ErrNoSecret: a Verifier never accepts anything
// unauthenticated.
func New(secrets []string, opts ...Option) (*Verifier, error) {
	v := &Verifier{now: time.Now, leeway: DefaultLeeway}
	for i, s := range secrets {
		if strings.TrimSpace(s) == "" || slices.Contains(secrets[:i], s) {
			continue // a repeated secret keeps its first index
		}
		v.keys = append(v.keys, secretKey{index: i, secret: any([]byte(s))})
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("journeybee: no integration UUID configured: %w", provider.ErrNoSecret)
	}
	for _, o := range opts {
		o(v)
	}
	v.parser = newParser(v)
	return v, nil
}

// Verify authenticates a delivery from its Authorization header, then
// validates the body raw for the token's event and normalizes it. Every
// error wraps one provider sentinel and never contains the token, a secret
// or body content. raw is not modified and is returned as Delivery.Raw.
//
// h should be keyed canonically (as http.Header.Add/Set do); an
// "authorization" key in another case is found too.
func (v *Verifier) Verify(raw []byte, h http.Header) (provider.Delivery, error) {
	c, err := v.authenticate(h)
	if err != nil {
		return provider.Delivery{}, err
	}
	spec, err := lookupEvent(string(c.EventID))
	if err != nil {
		return provider.Delivery{}, err
	}
	p, entityID, err := parseBody(raw, spec)
	if err != nil {
		return provider.Delivery{}, err
	}

	company := string(c.CompanyUUID)
	meta := map[string]string{
		"company_uuid": company,
		"user_uuid":    string(c.UserUUID),
		"event_id":     string(c.EventID),
		"exp":          strconv.FormatInt(c.Exp.unix(), 10),
		"secret_index": strconv.Itoa(c.secretIndex),
	}
	var iat time.Time // zero when the token has none: unknown
	if c.Iat.set {
		iat = c.Iat.d.Time
		meta["iat"] = strconv.FormatInt(c.Iat.unix(), 10)
	}
	occurred := p.occurredAt()
	if occurred.IsZero() {
		occurred = iat
	}
	return provider.Delivery{
		Provider:       provider.JourneyBee,
		Event:          spec.event,
		Type:           provider.JourneyBee + "." + spec.event,
		IdempotencyKey: idempotencyKey(company, spec.event, raw),
		EntityID:       entityID,
		Tenant:         company,
		OccurredAt:     occurred,
		Meta:           meta,
		Payload:        p,
		Normalized:     normalize(spec, p),
		Raw:            raw,
	}, nil
}

// idempotencyKey identifies an event: JourneyBee sends no event id, so the
// key is derived from the company, the canonical event name and the exact
// body. A redelivery (same body, freshly signed token) gets the same key; a
// changed entity (its updated_at changes), another event for the same body
// (lead_deleted after lead_updated) or another company gets a different one.
// The company is length-prefixed and the event name holds no NUL, so the
// three parts cannot run into each other. The result is "jb:" and 64 hex
// digits (67 ASCII bytes).
func idempotencyKey(company, event string, raw []byte) string {
	h := sha256.New()
	// The company and event are written through one stack buffer (they are
	// short), and the key is built in another: two allocations fewer than
	// converting each string and concatenating.
	var pre [128]byte
	b := binary.BigEndian.AppendUint64(pre[:0], uint64(len(company)))
	b = append(b, company...)
	b = append(b, event...)
	b = append(b, 0)
	h.Write(b)
	h.Write(raw)
	var sum [sha256.Size]byte
	var key [3 + 2*sha256.Size]byte
	copy(key[:], "jb:")
	hex.Encode(key[3:], h.Sum(sum[:0]))
	return string(key[:])
}

// reject wraps a provider sentinel with a fixed, content-free message.
func reject(sentinel error, msg string) error {
	return fmt.Errorf("journeybee: %s: %w", msg, sentinel)
}
