package journeybee

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Test secrets: integration UUIDs, current and previous.
const (
	testSecret = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	prevSecret = "f47ac10b-58cc-4372-a567-0e02b3c479d4"
)

// testNow is the receive time in tests: a few seconds after the example
// token's iat in J1 (1716214515).
var testNow = time.Date(2024, 5, 20, 14, 15, 30, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// newVerifier returns a Verifier for secrets with the clock at testNow.
func newVerifier(tb testing.TB, secrets []string, opts ...Option) *Verifier {
	tb.Helper()
	v, err := New(secrets, append([]Option{WithClock(fixedClock(testNow))}, opts...)...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return v
}

// claimsFor returns valid claims for event, issued 15s before testNow and
// expiring an hour after issue, like J1's example.
func claimsFor(event string) Claims {
	return Claims{
		CompanyUUID: "company_12345678-1234-5678-9012-123456789abc",
		UserUUID:    "user_87654321-4321-8765-2109-876543210987",
		EventID:     event,
		APIKey:      "jb_api_1234567890abcdef",
		IssuedAt:    testNow.Add(-15 * time.Second),
		ExpiresAt:   testNow.Add(-15*time.Second + time.Hour),
	}
}

// signedHeader returns a header carrying a token for c signed with secret.
func signedHeader(tb testing.TB, secret string, c Claims) http.Header {
	tb.Helper()
	v, err := SignHeader(secret, c)
	if err != nil {
		tb.Fatalf("SignHeader: %v", err)
	}
	return authHeader(v)
}

func authHeader(v string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Authorization", v)
	return h
}

// samplesDir holds one body per event, shared with the events/ samples,
// `hookline send` and the load test (package samples).
var samplesDir = filepath.Join("..", "..", "samples", "bodies", "journeybee")

// fixture reads the sample body <name>.json.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(samplesDir, name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fixtureNames lists the fixtures; a fixture's name is the event_id it is
// delivered with.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = filepath.Base(p[:len(p)-len(".json")])
	}
	return names
}

var seg = base64.RawURLEncoding

// rawToken assembles a compact JWS from literal header and claims JSON,
// signed by sign (nil: empty signature), for tokens Sign refuses to make.
func rawToken(header, claims string, sign func(input []byte) []byte) string {
	input := seg.EncodeToString([]byte(header)) + "." + seg.EncodeToString([]byte(claims))
	var sig []byte
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + seg.EncodeToString(sig)
}

// hmacWith signs with HMAC-h of secret.
func hmacWith(h func() hash.Hash, secret string) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(h, []byte(secret))
		m.Write(input)
		return m.Sum(nil)
	}
}

func hs256(secret string) func([]byte) []byte { return hmacWith(sha256.New, secret) }

const hs256Header = `{"alg":"HS256","typ":"JWT"}`

// claimsJSON returns valid claims as JSON with the given fields replaced
// (a nil value deletes the field).
func claimsJSON(tb testing.TB, edits map[string]any) string {
	tb.Helper()
	m := map[string]any{
		"company_uuid": "company_12345678-1234-5678-9012-123456789abc",
		"user_uuid":    "user_87654321-4321-8765-2109-876543210987",
		"event_id":     "lead_created",
		"api_key":      "jb_api_1234567890abcdef",
		"iat":          testNow.Add(-15 * time.Second).Unix(),
		"exp":          testNow.Add(time.Hour).Unix(),
	}
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return mustJSON(tb, m)
}

// manyMembers returns a lead_created body whose lead has n members besides
// its uuid, named with four base-36 digits ("0000":0,… about 9 bytes
// each); with dup the last name is given twice.
func manyMembers(n int, dup bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"lead":{"uuid":"lead_many"`)
	name := func(i int) string { return fmt.Sprintf(`,"%04s":0`, strconv.FormatInt(int64(i), 36)) }
	for i := range n {
		b.WriteString(name(i))
	}
	if dup {
		b.WriteString(name(n - 1))
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// nested returns a lead_created body with an unknown member holding arrays
// nested so that the deepest is at depth levels.
func nested(levels int) []byte {
	n := levels - 1 // the body object is the first level
	return []byte(`{"lead":{"uuid":"lead_deep"},"x":` + strings.Repeat("[", n) + strings.Repeat("]", n) + `}`)
}
