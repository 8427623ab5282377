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
// Verification is written out here (about a hundred lines, see token.go)
// rather than delegated to a JWT library, so that:
//   - the algorithm allow-list (HS256 only) is enforced on the header before
//     any cryptography, which also rules out the alg=none and RS256→HS256
//     key-confusion attacks: no public key is ever involved;
//   - every configured secret is tried and the index of the one that matched
//     is known (Meta["secret_index"]), which is what a rotation needs;
//   - each rejection wraps the precise provider sentinel.
//
// Sign uses github.com/golang-jwt/jwt/v5, so the tests cross-check two
// implementations; a token made by Node's jsonwebtoken is a third
// (testdata/kat).
package journeybee

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

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
}

// secretKey is one configured secret and its position in the list given to
// New (reported as Meta["secret_index"]).
type secretKey struct {
	index int
	// macs recycles HMAC-SHA256 states keyed with the secret: Reset
	// restores the keyed state without allocating or rehashing the key.
	macs *sync.Pool
}

func newSecretKey(secret string, index int) secretKey {
	key := []byte(secret)
	return secretKey{index: index, macs: &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// mac appends HMAC-SHA256(secret, input) to buf.
func (k secretKey) mac(buf, input []byte) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write(input)
	buf = m.Sum(buf)
	k.macs.Put(m)
	return buf
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithClock sets the clock the token times are checked against (default
// time.Now). A nil clock is ignored.
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
// first; blank entries are skipped (but keep their index). With no usable
// secret New fails with an error wrapping provider.ErrNoSecret: a Verifier
// never accepts anything unauthenticated.
func New(secrets []string, opts ...Option) (*Verifier, error) {
	v := &Verifier{now: time.Now, leeway: DefaultLeeway}
	for i, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		v.keys = append(v.keys, newSecretKey(s, i))
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("journeybee: no integration UUID configured: %w", provider.ErrNoSecret)
	}
	for _, o := range opts {
		o(v)
	}
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
	spec, err := lookupEvent(c.eventID)
	if err != nil {
		return provider.Delivery{}, err
	}
	p, entityID, err := parseBody(raw, spec)
	if err != nil {
		return provider.Delivery{}, err
	}

	meta := map[string]string{
		"company_uuid": c.companyUUID,
		"user_uuid":    c.userUUID,
		"event_id":     c.eventID,
		"exp":          strconv.FormatInt(c.exp.Unix(), 10),
		"secret_index": strconv.Itoa(c.secretIndex),
	}
	if !c.iat.IsZero() {
		meta["iat"] = strconv.FormatInt(c.iat.Unix(), 10)
	}
	occurred := p.occurredAt()
	if occurred.IsZero() {
		occurred = c.iat // zero too when the token has no iat: unknown
	}
	return provider.Delivery{
		Provider:       provider.JourneyBee,
		Event:          spec.event,
		Type:           provider.JourneyBee + "." + spec.event,
		IdempotencyKey: idempotencyKey(c.companyUUID, spec.event, raw),
		EntityID:       entityID,
		Tenant:         c.companyUUID,
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
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(company)))
	h.Write(n[:])
	h.Write([]byte(company))
	h.Write([]byte(event))
	h.Write([]byte{0})
	h.Write(raw)
	var sum [sha256.Size]byte
	return "jb:" + hex.EncodeToString(h.Sum(sum[:0]))
}

// reject wraps a provider sentinel with a fixed, content-free message.
func reject(sentinel error, msg string) error {
	return fmt.Errorf("journeybee: %s: %w", msg, sentinel)
}
