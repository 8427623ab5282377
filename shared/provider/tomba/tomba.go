// Package tomba verifies, validates and normalizes Tomba.io save_lead webhook
// deliveries (PROVIDERS.md section 3).
//
// Tomba signs nothing. Its only authenticity mechanism is a static header the
// customer adds to the webhook in Tomba's UI, so the customer configures a
// header (X-Tomba-Token by default) whose value is a token hookline issued. A
// Verifier is built once from that header name and the accepted tokens, and
// is then a pure, immutable value, safe for concurrent use:
//
//	v, err := tomba.New("X-Tomba-Token", []string{current, previous})
//	d, err := v.Verify(rawBody, r.Header)
//
// The token proves the sender knows it; it does not protect the body, and a
// captured delivery can be replayed as is (TLS is what protects both). Tomba
// sends no event id, so the idempotency key is a hash of the body: a replay
// or a retry of the same body is a harmless duplicate.
package tomba

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
)

// DefaultHeader is the header that carries the token when none is configured.
const DefaultHeader = "X-Tomba-Token"

// Event is Tomba's only webhook event.
const Event = "save_lead"

// bearerScheme prefixes the token when the header is Authorization.
const bearerScheme = "Bearer "

// Option configures a Verifier. There are none yet: Tomba sends no time to
// check, so there is no clock to inject. The parameter keeps New's shape the
// same as the other providers'.
type Option func(*Verifier)

// Verifier checks Tomba deliveries against one or more tokens.
type Verifier struct {
	header  string              // canonical header name
	bearer  bool                // header is Authorization: "Bearer <token>" is accepted too
	digests [][sha256.Size]byte // SHA-256 of each token, in configuration order
	index   []int               // index of each token in the tokens given to New
}

// New returns a Verifier accepting any of tokens (several during a rotation,
// current first) in the header named header (DefaultHeader if empty). Tokens
// are trimmed of surrounding white space, which HTTP cannot carry; blank ones
// are skipped, and if none is left New fails with an error wrapping
// provider.ErrNoSecret: a Verifier never exists without a token. An invalid
// header name is an error too.
func New(header string, tokens []string, opts ...Option) (*Verifier, error) {
	if header == "" {
		header = DefaultHeader
	}
	if !validHeaderName(header) {
		return nil, fmt.Errorf("tomba: %q is not a valid header name", header)
	}
	v := &Verifier{header: http.CanonicalHeaderKey(header)}
	v.bearer = v.header == "Authorization"
	for i, tok := range tokens {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		v.digests = append(v.digests, sha256.Sum256([]byte(tok)))
		v.index = append(v.index, i)
	}
	if len(v.digests) == 0 {
		return nil, fmt.Errorf("tomba: %w", provider.ErrNoSecret)
	}
	for _, o := range opts {
		if o != nil {
			o(v)
		}
	}
	return v, nil
}

// Header returns the canonical name of the header Verify reads the token from.
func (v *Verifier) Header() string { return v.header }

// Verify authenticates a delivery by its token header, then validates and
// normalizes raw, the body exactly as received (it is not modified and
// Delivery.Raw aliases it). Every error wraps exactly one of the provider
// sentinels, and no error message contains a token or body content.
func (v *Verifier) Verify(raw []byte, h http.Header) (provider.Delivery, error) {
	token, err := v.authenticate(h)
	if err != nil {
		return provider.Delivery{}, err
	}
	p, err := parse(raw)
	if err != nil {
		return provider.Delivery{}, err
	}
	sum := sha256.Sum256(raw)
	return provider.Delivery{
		Provider:       provider.Tomba,
		Event:          Event,
		Type:           provider.Tomba + "." + Event,
		IdempotencyKey: provider.Tomba + ":" + hex.EncodeToString(sum[:]),
		Meta:           map[string]string{"secret_index": strconv.Itoa(token)},
		Payload:        p,
		Normalized:     normalize(p),
		Raw:            raw,
	}, nil
}

// authenticate finds the token in h and returns its index (in New's tokens).
// Digests of equal length are compared in constant time, against every
// token, so the time taken reveals neither a token's length nor which matched.
func (v *Verifier) authenticate(h http.Header) (int, error) {
	values := h.Values(v.header)
	if len(values) > 1 {
		return 0, fmt.Errorf("tomba: %w: more than one %s header", provider.ErrMalformedCredentials, v.header)
	}
	if len(values) == 0 || values[0] == "" {
		return 0, fmt.Errorf("tomba: %w: no %s header", provider.ErrMissingCredentials, v.header)
	}
	value := values[0]
	got := sha256.Sum256([]byte(value))
	// With Authorization, "Bearer <token>" is checked as well as the value
	// as a whole (a token may itself start with "Bearer ").
	gotBearer := got
	if v.bearer && len(value) > len(bearerScheme) && strings.EqualFold(value[:len(bearerScheme)], bearerScheme) {
		gotBearer = sha256.Sum256([]byte(strings.TrimLeft(value[len(bearerScheme):], " ")))
	}
	match := -1
	for i, want := range v.digests {
		ok := subtle.ConstantTimeCompare(got[:], want[:]) | subtle.ConstantTimeCompare(gotBearer[:], want[:])
		if ok == 1 && match < 0 {
			match = v.index[i]
		}
	}
	if match < 0 {
		return 0, fmt.Errorf("tomba: %w", provider.ErrBadSignature)
	}
	return match, nil
}

// validHeaderName reports whether name is an HTTP field name (RFC 9110 token).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// normalize maps a payload onto the canonical model: a lead, "saved" because
// Tomba cannot tell a create from an update.
func normalize(p *Payload) canonical.Record {
	d := p.Data
	return canonical.Record{Kind: canonical.KindLead, Action: canonical.ActionSaved, Lead: &canonical.Lead{
		Email:     d.Email,
		Website:   d.Website,
		Company:   deref(d.Company),
		FirstName: deref(d.FirstName),
		LastName:  deref(d.LastName),
		Phone:     deref(d.Phone),
		Position:  deref(d.Position),
		Twitter:   deref(d.Twitter),
		LinkedIn:  deref(d.LinkedIn),
		Notes:     deref(d.Notes),
		Score:     d.Score,
	}}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
