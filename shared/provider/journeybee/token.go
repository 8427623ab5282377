package journeybee

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/shared/provider"
)

// maxTokenLen bounds the bearer token before any decoding. JourneyBee's
// tokens are a few hundred bytes.
const maxTokenLen = 8 << 10

// newParser returns the golang-jwt parser of v's tokens: HS256 only (checked
// on the header before the key function runs, so alg none, RS*/ES*/PS*,
// HS384 and HS512 are refused before any key is used), exp required, iat
// not in the future, nbf honoured, all with v's leeway and clock; base64url
// segments strict (no padding, zero trailing bits, so one signature has one
// encoding).
func newParser(v *Verifier) *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(v.leeway),
		jwt.WithTimeFunc(v.now),
		jwt.WithStrictDecoding(),
	)
}

// authenticate finds the bearer token in h and verifies it.
func (v *Verifier) authenticate(h http.Header) (*tokenClaims, error) {
	tok, err := bearerToken(h)
	if err != nil {
		return nil, err
	}
	c := &tokenClaims{v: v}
	t, err := v.parser.ParseWithClaims(tok, c, c.key)
	if err != nil {
		err = tokenError(err, t)
		switch provider.Reason(err) {
		case "bad_signature", "expired":
			if claims := c.shown(); claims != nil {
				err = &provider.ClaimsError{Err: err, Claims: claims}
			}
		}
		return nil, err
	}
	return c, nil
}

// shown are the claims a rejection may show (provider.ClaimsError) of a
// token refused only for its signature or its expiry: decoded by the
// strict decoder, with the required claims present. Only the named claims
// are ever decoded (tokenClaims has no api_key or external_settings).
func (c *tokenClaims) shown() map[string]string {
	if c.CompanyUUID == "" || c.UserUUID == "" || c.EventID == "" || !c.Exp.set {
		return nil
	}
	m := map[string]string{
		"company_uuid": string(c.CompanyUUID),
		"user_uuid":    string(c.UserUUID),
		"event_id":     string(c.EventID),
		"exp":          strconv.FormatInt(c.Exp.unix(), 10),
	}
	if c.Iat.set {
		m["iat"] = strconv.FormatInt(c.Iat.unix(), 10)
	}
	if c.Nbf.set {
		m["nbf"] = strconv.FormatInt(c.Nbf.unix(), 10)
	}
	return m
}

// bearerToken returns the token of the one "Authorization: Bearer <token>"
// header. The scheme is matched case-insensitively (RFC 9110 11.1). Only
// base64url characters and dots are let through: base64 decoders skip
// newlines, which would make one token have many spellings.
func bearerToken(h http.Header) (string, error) {
	vals := h["Authorization"]
	for k, vs := range h { // a header map built by hand may not be canonical
		if k != "Authorization" && strings.EqualFold(k, "Authorization") {
			vals = append(vals[:len(vals):len(vals)], vs...)
		}
	}
	if len(vals) > 1 {
		return "", reject(provider.ErrMalformedCredentials, "more than one Authorization header")
	}
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return "", reject(provider.ErrMissingCredentials, "no Authorization header")
	}
	scheme, tok, _ := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", reject(provider.ErrMalformedCredentials, "Authorization scheme is not Bearer")
	}
	tok = strings.TrimLeft(tok, " ")
	switch {
	case tok == "":
		return "", reject(provider.ErrMalformedCredentials, "empty bearer token")
	case len(tok) > maxTokenLen:
		return "", reject(provider.ErrMalformedCredentials, "bearer token too long")
	}
	for i := 0; i < len(tok); i++ {
		if !isJWSByte(tok[i]) {
			return "", reject(provider.ErrMalformedCredentials, "token is not a compact JWS")
		}
	}
	return tok, nil
}

// isJWSByte reports whether c may appear in a compact JWS (base64url
// characters and the dot).
func isJWSByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// errCrit is the key function's refusal of a header with crit.
var errCrit = errors.New("token header has crit extensions")

// key is the parser's key function. It runs once the header has passed
// the HS256 allow-list, and is the one thing golang-jwt cannot do for us:
// try every configured secret without stopping at a match (so the time
// taken does not say which one matched) and remember which one did. Each
// secret but the first is checked here with the library's own HS256
// Verify; the parser then verifies the signature with the key returned:
// the one that matched here, else the first. So every secret costs one
// HMAC whichever matched. (New drops repeated secrets, so at most one can
// match.)
func (c *tokenClaims) key(t *jwt.Token) (any, error) {
	if _, ok := t.Header["crit"]; ok { // RFC 7515 4.1.11: we understand no extension
		return nil, errCrit
	}
	signed := t.Raw[:strings.LastIndexByte(t.Raw, '.')]
	keys := c.v.keys
	match := keys[0]
	for _, k := range keys[1:] {
		if t.Method.Verify(signed, t.Signature, k.secret) == nil {
			match = k
		}
	}
	c.secretIndex = match.index
	return match.secret, nil
}

// tokenError maps golang-jwt's errors, and those of tokenClaims, onto the
// provider sentinels, with content-free messages. t is the token as far as
// it was parsed (nil if it was not split).
func tokenError(err error, t *jwt.Token) error {
	var alg any
	if t != nil {
		alg = t.Header["alg"]
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return reject(provider.ErrMalformedCredentials, "token is not a well-formed JWS with JSON claims")
	case alg == nil:
		return reject(provider.ErrMalformedCredentials, "token header has no alg")
	case alg != jwt.SigningMethodHS256.Alg():
		if _, ok := alg.(string); !ok {
			return reject(provider.ErrMalformedCredentials, "token alg is not a string")
		}
		return reject(provider.ErrUnsupportedAlgorithm, "token alg is not HS256")
	case errors.Is(err, errCrit):
		return reject(provider.ErrMalformedCredentials, errCrit.Error())
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return reject(provider.ErrBadSignature, "token signature matches no configured secret")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return reject(provider.ErrMissingClaim, "token has no exp claim")
	case errors.Is(err, jwt.ErrTokenExpired):
		return reject(provider.ErrExpired, "token has expired (exp)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return reject(provider.ErrNotYetValid, "token issued in the future (iat)")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return reject(provider.ErrNotYetValid, "token not valid yet (nbf)")
	}
	if ce := (*claimError)(nil); errors.As(err, &ce) { // from Validate
		return ce.err
	}
	return reject(provider.ErrMalformedCredentials, "token does not verify")
}

// tokenClaims are a token's claims, decoded by DecodeJSON (the one strict
// decoder: a claim named twice is refused), and what the key function
// found.
type tokenClaims struct {
	CompanyUUID provider.String `json:"company_uuid"`
	UserUUID    provider.String `json:"user_uuid"`
	EventID     provider.String `json:"event_id"`
	Exp         numericDate     `json:"exp"`
	Iat         numericDate     `json:"iat"`
	Nbf         numericDate     `json:"nbf"`

	v           *Verifier
	secretIndex int // of the secret the signature matched
}

// UnmarshalJSON is how golang-jwt (which reads claims with encoding/json)
// hands over the claims: they are decoded again by the one strict decoder.
func (c *tokenClaims) UnmarshalJSON(b []byte) error {
	type plain tokenClaims
	return provider.DecodeJSON(b, (*plain)(c))
}

// The jwt.Claims getters. A token without the claim gives nil.
func (c *tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.Exp.get(), nil }
func (c *tokenClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.Iat.get(), nil }
func (c *tokenClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.Nbf.get(), nil }
func (c *tokenClaims) GetIssuer() (string, error)                   { return "", nil }
func (c *tokenClaims) GetSubject() (string, error)                  { return "", nil }
func (c *tokenClaims) GetAudience() (jwt.ClaimStrings, error)       { return nil, nil }

// Validate implements jwt.ClaimsValidator: what golang-jwt's validator
// does not check. It runs after the time checks, with the same clock.
func (c *tokenClaims) Validate() error {
	switch v := c.v; {
	case v.maxAge > 0 && !c.Iat.set:
		return claimReject(provider.ErrMissingClaim, "token has no iat claim and a max age is configured")
	case v.maxAge > 0 && c.Iat.d.Before(v.now().Add(-v.maxAge-v.leeway)):
		return claimReject(provider.ErrExpired, "token is older than the max age (iat)")
	case c.CompanyUUID == "":
		return claimReject(provider.ErrMissingClaim, "token claim company_uuid is not a non-empty string")
	case c.UserUUID == "":
		return claimReject(provider.ErrMissingClaim, "token claim user_uuid is not a non-empty string")
	case c.EventID == "":
		return claimReject(provider.ErrMissingClaim, "token claim event_id is not a non-empty string")
	}
	return nil
}

// claimError is a rejection from Validate, passed through tokenError.
type claimError struct{ err error }

func (e *claimError) Error() string { return e.err.Error() }
func (e *claimError) Unwrap() error { return e.err }

func claimReject(sentinel error, msg string) error {
	return &claimError{reject(sentinel, msg)}
}

// numericDate is a NumericDate claim (seconds since the epoch, possibly
// fractional, kept to the microsecond). null counts as absent; any other
// non-number, or a number outside years 1970–9999, fails the claims'
// decoding (a malformed token).
type numericDate struct {
	d   jwt.NumericDate
	set bool
}

// maxUnix is 9999-12-31T23:59:59Z.
const maxUnix = 253402300799

var errNumericDate = errors.New("not a NumericDate")

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (d *numericDate) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*d = numericDate{}
	switch dec.PeekKind() {
	case 'n':
		return dec.SkipValue()
	case '0':
	default:
		return errNumericDate
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	f, err := tok.Float() // strconv.ParseFloat of the number's text, without copying it to a string
	if err != nil || math.IsNaN(f) || f < 0 || f > maxUnix {
		return errNumericDate
	}
	*d = numericDate{d: jwt.NumericDate{Time: fromSeconds(f)}, set: true}
	return nil
}

// get returns the claim for golang-jwt's validator, nil when absent.
func (d *numericDate) get() *jwt.NumericDate {
	if !d.set {
		return nil
	}
	return &d.d
}

// unix is the claim in whole seconds.
func (d *numericDate) unix() int64 { return d.d.Unix() }
