package journeybee

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

// maxTokenLen bounds the bearer token before any decoding. JourneyBee's
// tokens are a few hundred bytes.
const maxTokenLen = 8 << 10

// b64 decodes JWS segments: base64url without padding, and with zero
// trailing bits so that one signature has exactly one encoding.
var b64 = base64.RawURLEncoding.Strict()

// tokenClaims are the verified facts from a token.
type tokenClaims struct {
	companyUUID, userUUID, eventID string
	iat, exp                       time.Time // iat is zero when absent
	secretIndex                    int
}

// authenticate finds the bearer token in h and verifies it.
func (v *Verifier) authenticate(h http.Header) (tokenClaims, error) {
	tok, err := bearerToken(h)
	if err != nil {
		return tokenClaims{}, err
	}
	return v.verifyToken(tok)
}

// bearerToken returns the token of the one "Authorization: Bearer <token>"
// header. The scheme is matched case-insensitively (RFC 9110 11.1).
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
	if tok == "" {
		return "", reject(provider.ErrMalformedCredentials, "empty bearer token")
	}
	if len(tok) > maxTokenLen {
		return "", reject(provider.ErrMalformedCredentials, "bearer token too long")
	}
	return tok, nil
}

// verifyToken checks a compact JWS: the header must say HS256 and nothing
// else that needs understanding, the signature must match one configured
// secret (each is tried, in constant time), and only then are the claims
// decoded and checked.
func (v *Verifier) verifyToken(tok string) (tokenClaims, error) {
	for i := 0; i < len(tok); i++ {
		if !isJWSByte(tok[i]) {
			return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token is not a compact JWS")
		}
	}
	headSeg, rest, ok1 := strings.Cut(tok, ".")
	claimsSeg, sigSeg, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || headSeg == "" || claimsSeg == "" || strings.Contains(sigSeg, ".") {
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token is not a compact JWS")
	}

	if err := checkHeader(headSeg); err != nil {
		return tokenClaims{}, err
	}

	sig, err := b64.DecodeString(sigSeg)
	if err != nil {
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token signature is not base64url")
	}
	payload, err := b64.DecodeString(claimsSeg)
	if err != nil {
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token claims are not base64url")
	}

	// Try every secret, without stopping at a match, so the time taken does
	// not depend on which one matched.
	input := []byte(tok[:len(headSeg)+1+len(claimsSeg)])
	matched := -1
	var sum [sha256.Size]byte
	for _, k := range v.keys {
		if hmac.Equal(k.mac(sum[:0], input), sig) && matched < 0 {
			matched = k.index
		}
	}
	if matched < 0 {
		return tokenClaims{}, reject(provider.ErrBadSignature, "token signature matches no configured secret")
	}

	jc, ok := decodeClaims(payload, true)
	if !ok {
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token claims are not a JSON object")
	}

	now := v.now()
	switch {
	case !jc.Exp.set:
		return tokenClaims{}, reject(provider.ErrMissingClaim, "token has no exp claim")
	case jc.Exp.bad:
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token exp is not a NumericDate")
	case jc.Iat.bad:
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token iat is not a NumericDate")
	case jc.Nbf.bad:
		return tokenClaims{}, reject(provider.ErrMalformedCredentials, "token nbf is not a NumericDate")
	case !now.Before(jc.Exp.t.Add(v.leeway)):
		return tokenClaims{}, reject(provider.ErrExpired, "token has expired (exp)")
	case jc.Iat.set && jc.Iat.t.After(now.Add(v.leeway)):
		return tokenClaims{}, reject(provider.ErrNotYetValid, "token issued in the future (iat)")
	case jc.Nbf.set && jc.Nbf.t.After(now.Add(v.leeway)):
		return tokenClaims{}, reject(provider.ErrNotYetValid, "token not valid yet (nbf)")
	case v.maxAge > 0 && !jc.Iat.set:
		return tokenClaims{}, reject(provider.ErrMissingClaim, "token has no iat claim and a max age is configured")
	case v.maxAge > 0 && jc.Iat.t.Before(now.Add(-v.maxAge-v.leeway)):
		return tokenClaims{}, reject(provider.ErrExpired, "token is older than the max age (iat)")
	case jc.CompanyUUID.s == "":
		return tokenClaims{}, reject(provider.ErrMissingClaim, "token claim company_uuid is not a non-empty string")
	case jc.UserUUID.s == "":
		return tokenClaims{}, reject(provider.ErrMissingClaim, "token claim user_uuid is not a non-empty string")
	case jc.EventID.s == "":
		return tokenClaims{}, reject(provider.ErrMissingClaim, "token claim event_id is not a non-empty string")
	}
	return tokenClaims{
		companyUUID: jc.CompanyUUID.s,
		userUUID:    jc.UserUUID.s,
		eventID:     jc.EventID.s,
		iat:         jc.Iat.t,
		exp:         jc.Exp.t,
		secretIndex: matched,
	}, nil
}

// jwtClaims are the claims a token's payload is decoded into.
type jwtClaims struct {
	CompanyUUID claimString `json:"company_uuid"`
	UserUUID    claimString `json:"user_uuid"`
	EventID     claimString `json:"event_id"`
	Exp         claimTime   `json:"exp"`
	Iat         claimTime   `json:"iat"`
	Nbf         claimTime   `json:"nbf"`
}

// decodeClaims decodes a token's payload, which must be a JSON object. With
// fast set it is read by scanClaims if it can (scan.go), else by
// encoding/json; the result is the same (FuzzDecodeMatches).
func decodeClaims(payload []byte, fast bool) (jwtClaims, bool) {
	var jc jwtClaims
	if fast && scanClaims(payload, &jc) {
		return jc, true
	}
	jc = jwtClaims{}
	if firstByte(payload) != '{' || json.Unmarshal(payload, &jc) != nil {
		return jwtClaims{}, false
	}
	return jc, true
}

// hs256Headers are the encodings of the usual HS256 headers
// {"alg":"HS256","typ":"JWT"} (jsonwebtoken, golang-jwt) and
// {"typ":"JWT","alg":"HS256"} (PyJWT, firebase/php-jwt), accepted without
// decoding.
var hs256Headers = [...]string{
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
	"eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
}

// checkHeader accepts a JOSE header whose alg is HS256 and that asks for
// nothing else we would need to understand (crit).
func checkHeader(seg string) error {
	for _, h := range hs256Headers {
		if seg == h {
			return nil
		}
	}
	head, err := b64.DecodeString(seg)
	if err != nil {
		return reject(provider.ErrMalformedCredentials, "token header is not base64url")
	}
	var jh struct {
		Alg  *string         `json:"alg"`
		Crit json.RawMessage `json:"crit"`
	}
	if firstByte(head) != '{' || json.Unmarshal(head, &jh) != nil {
		return reject(provider.ErrMalformedCredentials, "token header is not a JSON object")
	}
	if jh.Alg == nil {
		return reject(provider.ErrMalformedCredentials, "token header has no alg")
	}
	if *jh.Alg != "HS256" {
		return reject(provider.ErrUnsupportedAlgorithm, "token alg is not HS256")
	}
	if jh.Crit != nil { // RFC 7515 4.1.11: we understand no extension
		return reject(provider.ErrMalformedCredentials, "token header has crit extensions")
	}
	return nil
}

// isJWSByte reports whether c may appear in a compact JWS (base64url
// characters and the dot). base64 decoders skip newlines; this does not.
func isJWSByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}

// claimString decodes a claim that must be a string; any other JSON value
// leaves it empty (and so "missing") instead of failing the decode.
type claimString struct{ s string }

// UnmarshalJSON implements json.Unmarshaler. It never fails on valid JSON.
func (c *claimString) UnmarshalJSON(b []byte) error {
	c.s = jsonString(b)
	return nil
}

// claimTime decodes a NumericDate claim (seconds since the epoch, possibly
// fractional). null counts as absent; any other non-number, or a number
// outside years 1970–9999, is bad.
type claimTime struct {
	t        time.Time
	set, bad bool
}

// maxUnix is 9999-12-31T23:59:59Z.
const maxUnix = 253402300799

// UnmarshalJSON implements json.Unmarshaler. It never fails on valid JSON.
func (c *claimTime) UnmarshalJSON(b []byte) error {
	*c = claimTime{}
	if string(b) == "null" {
		return nil
	}
	c.set = true
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxUnix {
		c.bad = true
		return nil
	}
	c.t = fromSeconds(f)
	return nil
}

// jsonString returns the value of b if it is a JSON string, else "".
func jsonString(b []byte) string {
	s, _ := provider.JSONString(b)
	return s
}

// firstByte returns the first byte of b that is not JSON whitespace, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		}
		return c
	}
	return 0
}
