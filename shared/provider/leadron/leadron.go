// Package leadron verifies, validates and normalizes Leadron webhook
// deliveries (PROVIDERS.md section 2).
//
// A Verifier is built once from the webhook signing secrets and is then a
// pure, immutable value, safe for concurrent use:
//
//	v, err := leadron.New([]string{current, previous})
//	d, err := v.Verify(rawBody, r.Header)
//
// Leadron signs the raw body: X-Leadron-Signature is the lowercase hex
// HMAC-SHA256 of the body keyed with the secret's UTF-8 bytes, optionally
// prefixed "sha256=" (all four official SDKs accept both forms). Leadron sends
// no timestamp and no delivery id, so a captured delivery can be replayed as
// is; the event id in the body is the idempotency key that makes a replay a
// harmless duplicate.
package leadron

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookline/hookline/shared/provider"
)

// SignatureHeader is the header that carries the body's signature.
const SignatureHeader = "X-Leadron-Signature"

// signaturePrefix is the optional prefix of the header value.
const signaturePrefix = "sha256="

// Sign returns the lowercase hex HMAC-SHA256 of body keyed with secret: the
// value of X-Leadron-Signature, with or without the "sha256=" prefix. It is
// what Leadron computes, for tests, samples and `hookline send`.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Option configures a Verifier. There are none yet: Leadron has no timestamp
// scheme, so there is no clock to inject. The parameter keeps New's shape the
// same as the other providers'.
type Option func(*Verifier)

// Verifier checks Leadron deliveries against one or more signing secrets.
type Verifier struct {
	keys  [][]byte // HMAC keys, in configuration order
	index []int    // index of each key in the secrets given to New
}

// New returns a Verifier accepting a signature by any of secrets (several
// during a rotation, current first). Empty and blank secrets are skipped; if
// none is left, New fails with an error wrapping provider.ErrNoSecret: a
// Verifier never exists without a secret.
func New(secrets []string, opts ...Option) (*Verifier, error) {
	v := &Verifier{}
	for i, s := range secrets {
		if strings.TrimSpace(s) == "" {
			continue
		}
		v.keys = append(v.keys, []byte(s))
		v.index = append(v.index, i)
	}
	if len(v.keys) == 0 {
		return nil, fmt.Errorf("leadron: %w", provider.ErrNoSecret)
	}
	for _, o := range opts {
		if o != nil {
			o(v)
		}
	}
	return v, nil
}

// Verify authenticates raw with the X-Leadron-Signature header of h, then
// validates and normalizes it. raw must be the body exactly as received; it
// is not modified and Delivery.Raw aliases it. Every error wraps exactly one
// of the provider sentinels, and no error message contains a secret, the
// signature or body content.
func (v *Verifier) Verify(raw []byte, h http.Header) (provider.Delivery, error) {
	secret, err := v.authenticate(raw, h)
	if err != nil {
		return provider.Delivery{}, err
	}
	env, spec, err := parse(raw)
	if err != nil {
		return provider.Delivery{}, err
	}
	return provider.Delivery{
		Provider:       provider.Leadron,
		Event:          env.Type,
		Type:           provider.Leadron + "." + env.Type,
		IdempotencyKey: idempotencyKey(env.ID),
		EntityID:       env.entityID,
		OccurredAt:     env.CreatedAt,
		Meta:           map[string]string{"id": env.ID, "secret_index": strconv.Itoa(secret)},
		Payload:        env,
		Normalized:     normalize(env, spec),
		Raw:            raw,
	}, nil
}

// authenticate checks the signature header against every secret and returns
// the index (in New's secrets) of the one that matched.
func (v *Verifier) authenticate(raw []byte, h http.Header) (int, error) {
	values := h.Values(SignatureHeader)
	if len(values) > 1 {
		return 0, fmt.Errorf("leadron: %w: more than one %s header", provider.ErrMalformedCredentials, SignatureHeader)
	}
	if len(values) == 0 || values[0] == "" {
		return 0, fmt.Errorf("leadron: %w: no %s header", provider.ErrMissingCredentials, SignatureHeader)
	}
	var sig [sha256.Size]byte
	if err := decodeSignature(values[0], &sig); err != nil {
		return 0, err
	}
	// Check every secret, whatever matched before, so the time taken does
	// not depend on which secret (if any) signed the body.
	match := -1
	var sum [sha256.Size]byte
	for i, key := range v.keys {
		m := hmac.New(sha256.New, key)
		m.Write(raw)
		if hmac.Equal(m.Sum(sum[:0]), sig[:]) && match < 0 {
			match = v.index[i]
		}
	}
	if match < 0 {
		return 0, fmt.Errorf("leadron: %w", provider.ErrBadSignature)
	}
	return match, nil
}

// decodeSignature parses a header value, "<hex>" or "sha256=<hex>", into sig.
func decodeSignature(value string, sig *[sha256.Size]byte) error {
	hexSig := strings.TrimPrefix(value, signaturePrefix)
	if strings.IndexByte(hexSig, '=') >= 0 {
		return fmt.Errorf("leadron: %w: %s has an unsupported prefix (want none or %q)",
			provider.ErrMalformedCredentials, SignatureHeader, signaturePrefix)
	}
	if len(hexSig) != hex.EncodedLen(sha256.Size) {
		return fmt.Errorf("leadron: %w: %s is not %d hex digits",
			provider.ErrMalformedCredentials, SignatureHeader, hex.EncodedLen(sha256.Size))
	}
	if _, err := hex.Decode(sig[:], []byte(hexSig)); err != nil {
		return fmt.Errorf("leadron: %w: %s is not hex", provider.ErrMalformedCredentials, SignatureHeader)
	}
	return nil
}

// maxPlainKeyID bounds the event ids used verbatim in idempotency keys.
const maxPlainKeyID = 100

// hashedKeyPrefix marks an idempotency key derived from a hashed event id.
const hashedKeyPrefix = "sha256:"

// idempotencyKey derives the idempotency key from the event id: the id
// itself when it is short printable ASCII, else its SHA-256, so the key is
// always ASCII and at most 128 bytes. An id that itself starts with
// "sha256:" is hashed too, so a plain key never looks like a hashed one.
func idempotencyKey(id string) string {
	if len(id) <= maxPlainKeyID && printable(id) && !strings.HasPrefix(id, hashedKeyPrefix) {
		return provider.Leadron + ":" + id
	}
	sum := sha256.Sum256([]byte(id))
	return provider.Leadron + ":" + hashedKeyPrefix + hex.EncodeToString(sum[:])
}

// printable reports whether s is made of visible ASCII characters only
// (no space, no control character).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
