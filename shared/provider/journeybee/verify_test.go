package journeybee

import (
	"crypto/sha512"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/hookline/hookline/shared/provider"
)

func mustJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func TestNewRequiresASecret(t *testing.T) {
	for _, secrets := range [][]string{nil, {}, {""}, {"", "  "}} {
		v, err := New(secrets)
		if !errors.Is(err, provider.ErrNoSecret) || v != nil {
			t.Errorf("New(%q) = %v, %v; want nil, ErrNoSecret", secrets, v, err)
		}
	}
}

// rejection is one delivery Verify must refuse.
type rejection struct {
	name   string
	event  string      // if set, the header is a valid token for this event
	header http.Header // else this header; nil: a valid lead_created token
	body   []byte      // nil: the lead_created fixture
	opts   []Option
	want   error
}

// rejections builds the table of every rejection path.
func rejections(t *testing.T) []rejection {
	lead := string(fixture(t, "lead_created"))
	valid, err := Sign(testSecret, claimsFor("lead_created"))
	if err != nil {
		t.Fatal(err)
	}
	head, rest, _ := strings.Cut(valid, ".")
	claimsSeg, sigSeg, _ := strings.Cut(rest, ".")

	bearer := func(tok string) http.Header { return authHeader("Bearer " + tok) }
	signed := func(c Claims) http.Header { return signedHeader(t, testSecret, c) }
	withClaims := func(edits map[string]any) http.Header {
		return bearer(rawToken(hs256Header, claimsJSON(t, edits), hs256(testSecret)))
	}
	event := func(id string) http.Header { return signed(claimsFor(id)) }

	// Tampering: other claims under the original signature, and a changed
	// signature over the original claims.
	forged := seg.EncodeToString([]byte(claimsJSON(t, map[string]any{"company_uuid": "company_attacker"})))
	flipped := []byte(sigSeg)
	flipped[0] ^= 'A' ^ 'B' // first char: no trailing-bit subtleties
	if flipped[0] == sigSeg[0] {
		t.Fatal("flip did nothing")
	}

	// The same 32 signature bytes, with the 2 unused bits of the last
	// character set: lenient decoders accept it, a strict one must not.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, sigSeg[len(sigSeg)-1])
	malleable := sigSeg[:len(sigSeg)-1] + string(alphabet[last|1])
	if lenient, err := seg.DecodeString(malleable); err != nil || len(lenient) != 32 {
		t.Fatalf("malleable signature does not decode leniently: %v", err)
	}

	twoHeaders := bearer(valid)
	twoHeaders.Add("Authorization", "Bearer "+valid)
	nonCanonical := bearer(valid)
	nonCanonical["authorization"] = []string{"Bearer " + valid}

	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
		"company_uuid": "c", "user_uuid": "u", "event_id": "lead_created",
		"exp": testNow.Add(time.Hour).Unix(),
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	noneTok, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"company_uuid": "c", "user_uuid": "u", "event_id": "lead_created",
		"exp": testNow.Add(time.Hour).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	okClaims := claimsJSON(t, nil)

	past := claimsFor("lead_created")
	past.IssuedAt, past.ExpiresAt = testNow.Add(-2*time.Hour), testNow.Add(-61*time.Second)
	future := claimsFor("lead_created")
	future.IssuedAt = testNow.Add(61 * time.Second)
	old := claimsFor("lead_created")
	old.IssuedAt = testNow.Add(-10*time.Minute - 61*time.Second)
	noIat := claimsFor("lead_created")
	noIat.IssuedAt = time.Time{}

	cfg := func(c string) string {
		return `{"lead":{"uuid":"lead_1","email":"a@b.c"},"configuration":` + c + `}`
	}

	return []rejection{
		// Credentials present and well-formed?
		{name: "no Authorization header", header: http.Header{"Content-Type": {"application/json"}}, want: provider.ErrMissingCredentials},
		{name: "empty Authorization header", header: authHeader(""), want: provider.ErrMissingCredentials},
		{name: "blank Authorization header", header: authHeader("   "), want: provider.ErrMissingCredentials},
		{name: "Basic scheme", header: authHeader("Basic dXNlcjpwYXNz"), want: provider.ErrMalformedCredentials},
		{name: "Token scheme", header: authHeader("Token " + valid), want: provider.ErrMalformedCredentials},
		{name: "no scheme", header: authHeader(valid), want: provider.ErrMalformedCredentials},
		{name: "Bearer without token", header: authHeader("Bearer"), want: provider.ErrMalformedCredentials},
		{name: "Bearer and spaces", header: authHeader("Bearer    "), want: provider.ErrMalformedCredentials},
		{name: "Bearer glued to token", header: authHeader("Bearer" + valid), want: provider.ErrMalformedCredentials},
		{name: "two Authorization headers", header: twoHeaders, want: provider.ErrMalformedCredentials},
		{name: "second Authorization under another case", header: nonCanonical, want: provider.ErrMalformedCredentials},
		{name: "two tokens in one header", header: bearer(valid + "," + valid), want: provider.ErrMalformedCredentials},
		{name: "token with a space", header: bearer(head + ". " + rest), want: provider.ErrMalformedCredentials},
		{name: "token with a newline", header: http.Header{"Authorization": {"Bearer " + head + ".\n" + rest}}, want: provider.ErrMalformedCredentials},
		{name: "garbage token", header: bearer("not-a-jwt"), want: provider.ErrMalformedCredentials},
		{name: "two segments", header: bearer(head + "." + claimsSeg), want: provider.ErrMalformedCredentials},
		{name: "four segments", header: bearer(valid + ".x"), want: provider.ErrMalformedCredentials},
		{name: "empty header segment", header: bearer("." + rest), want: provider.ErrMalformedCredentials},
		{name: "empty claims segment", header: bearer(head + ".." + sigSeg), want: provider.ErrMalformedCredentials},
		{name: "padded signature", header: bearer(valid + "="), want: provider.ErrMalformedCredentials},
		{name: "header with a non-base64url byte", header: bearer("e!." + rest), want: provider.ErrMalformedCredentials},
		{name: "header not base64url", header: bearer("e." + rest), want: provider.ErrMalformedCredentials},
		{name: "signature with nonzero trailing bits (malleable encoding)", header: bearer(head + "." + claimsSeg + "." + malleable), want: provider.ErrMalformedCredentials},
		{name: "header not JSON", header: bearer(seg.EncodeToString([]byte("HS256")) + "." + rest), want: provider.ErrMalformedCredentials},
		{name: "header a JSON array", header: bearer(seg.EncodeToString([]byte(`["HS256"]`)) + "." + rest), want: provider.ErrMalformedCredentials},
		{name: "header without alg", header: bearer(rawToken(`{"typ":"JWT"}`, okClaims, hs256(testSecret))), want: provider.ErrMalformedCredentials},
		{name: "header with crit", header: bearer(rawToken(`{"alg":"HS256","crit":["b64"],"b64":false}`, okClaims, hs256(testSecret))), want: provider.ErrMalformedCredentials},
		{name: "claims not base64url", header: bearer(head + ".e." + sigSeg), want: provider.ErrMalformedCredentials},
		{name: "signature not base64url", header: bearer(head + "." + claimsSeg + ".a"), want: provider.ErrMalformedCredentials},
		{name: "token too long", header: bearer(head + "." + strings.Repeat("A", maxTokenLen) + "." + sigSeg), want: provider.ErrMalformedCredentials},

		// Algorithm allow-list: HS256 only, checked before any signature.
		{name: "alg none, unsigned (golang-jwt)", header: bearer(noneTok), want: provider.ErrUnsupportedAlgorithm},
		{name: "alg none, empty signature", header: bearer(rawToken(`{"alg":"none","typ":"JWT"}`, okClaims, nil)), want: provider.ErrUnsupportedAlgorithm},
		{name: "alg None", header: bearer(rawToken(`{"alg":"None"}`, okClaims, nil)), want: provider.ErrUnsupportedAlgorithm},
		{name: "alg hs256 lowercase", header: bearer(rawToken(`{"alg":"hs256"}`, okClaims, hs256(testSecret))), want: provider.ErrUnsupportedAlgorithm},
		{name: "RS256 header, HMAC of the secret (key confusion)", header: bearer(rawToken(`{"alg":"RS256","typ":"JWT"}`, okClaims, hs256(testSecret))), want: provider.ErrUnsupportedAlgorithm},
		{name: "ES256 header", header: bearer(rawToken(`{"alg":"ES256"}`, okClaims, hs256(testSecret))), want: provider.ErrUnsupportedAlgorithm},
		{name: "PS256 header", header: bearer(rawToken(`{"alg":"PS256"}`, okClaims, hs256(testSecret))), want: provider.ErrUnsupportedAlgorithm},
		{name: "HS384 signed with the secret", header: bearer(rawToken(`{"alg":"HS384"}`, okClaims, hmacWith(sha512.New384, testSecret))), want: provider.ErrUnsupportedAlgorithm},
		{name: "HS512 signed with the secret (golang-jwt)", header: bearer(hs512), want: provider.ErrUnsupportedAlgorithm},
		{name: "alg not a string", header: bearer(rawToken(`{"alg":256}`, okClaims, hs256(testSecret))), want: provider.ErrMalformedCredentials},

		// Signature.
		{name: "wrong secret", header: signedHeader(t, "a2c4e6f8-0000-4000-8000-123456789abc", claimsFor("lead_created")), want: provider.ErrBadSignature},
		{name: "secret differs in case", header: signedHeader(t, strings.ToUpper(testSecret), claimsFor("lead_created")), want: provider.ErrBadSignature},
		{name: "tampered claims", header: bearer(head + "." + forged + "." + sigSeg), want: provider.ErrBadSignature},
		{name: "tampered signature", header: bearer(head + "." + claimsSeg + "." + string(flipped)), want: provider.ErrBadSignature},
		{name: "truncated signature", header: bearer(head + "." + claimsSeg + "." + sigSeg[:len(sigSeg)-3]), want: provider.ErrBadSignature},
		{name: "no signature, HS256 header", header: bearer(head + "." + claimsSeg + "."), want: provider.ErrBadSignature},

		// Claims, after the signature.
		{name: "claims not JSON", header: bearer(rawToken(hs256Header, `company_uuid=x`, hs256(testSecret))), want: provider.ErrMalformedCredentials},
		{name: "claims a JSON array", header: bearer(rawToken(hs256Header, `[1]`, hs256(testSecret))), want: provider.ErrMalformedCredentials},
		{name: "expired", header: signed(past), want: provider.ErrExpired},
		{name: "expired long ago", header: withClaims(map[string]any{"iat": 1700000000, "exp": 1700003600}), want: provider.ErrExpired},
		{name: "expired at exactly exp+leeway", header: withClaims(map[string]any{"exp": testNow.Add(-60 * time.Second).Unix()}), want: provider.ErrExpired},
		{name: "expired beyond a shorter leeway", header: withClaims(map[string]any{"exp": testNow.Add(-10 * time.Second).Unix()}), opts: []Option{WithLeeway(5 * time.Second)}, want: provider.ErrExpired},
		{name: "expired: leeway over 60s is clamped", header: withClaims(map[string]any{"exp": testNow.Add(-2 * time.Minute).Unix()}), opts: []Option{WithLeeway(10 * time.Minute)}, want: provider.ErrExpired},
		{name: "exp missing", header: withClaims(map[string]any{"exp": nil}), want: provider.ErrMissingClaim},
		{name: "exp null", header: bearer(rawToken(hs256Header, `{"company_uuid":"c","user_uuid":"u","event_id":"lead_created","exp":null}`, hs256(testSecret))), want: provider.ErrMissingClaim},
		{name: "exp a string", header: withClaims(map[string]any{"exp": "4102448400"}), want: provider.ErrMalformedCredentials},
		{name: "exp negative", header: withClaims(map[string]any{"exp": -1}), want: provider.ErrMalformedCredentials},
		{name: "exp past year 9999", header: withClaims(map[string]any{"exp": 1e300}), want: provider.ErrMalformedCredentials},
		{name: "iat a string", header: withClaims(map[string]any{"iat": "now"}), want: provider.ErrMalformedCredentials},
		{name: "nbf an object", header: withClaims(map[string]any{"nbf": map[string]int{}}), want: provider.ErrMalformedCredentials},
		{name: "iat in the future", header: signed(future), want: provider.ErrNotYetValid},
		{name: "nbf in the future", header: withClaims(map[string]any{"nbf": testNow.Add(2 * time.Minute).Unix()}), want: provider.ErrNotYetValid},
		{name: "iat older than max age", header: signed(old), opts: []Option{WithMaxAge(10 * time.Minute)}, want: provider.ErrExpired},
		{name: "no iat with a max age", header: signed(noIat), opts: []Option{WithMaxAge(10 * time.Minute)}, want: provider.ErrMissingClaim},
		{name: "company_uuid missing", header: withClaims(map[string]any{"company_uuid": nil}), want: provider.ErrMissingClaim},
		{name: "company_uuid empty", header: withClaims(map[string]any{"company_uuid": ""}), want: provider.ErrMissingClaim},
		{name: "company_uuid a number", header: withClaims(map[string]any{"company_uuid": 42}), want: provider.ErrMissingClaim},
		{name: "user_uuid missing", header: withClaims(map[string]any{"user_uuid": nil}), want: provider.ErrMissingClaim},
		{name: "user_uuid empty", header: withClaims(map[string]any{"user_uuid": ""}), want: provider.ErrMissingClaim},
		{name: "user_uuid an object", header: withClaims(map[string]any{"user_uuid": map[string]string{"id": "u"}}), want: provider.ErrMissingClaim},
		{name: "event_id missing", header: withClaims(map[string]any{"event_id": nil}), want: provider.ErrMissingClaim},
		{name: "event_id empty", header: withClaims(map[string]any{"event_id": ""}), want: provider.ErrMissingClaim},
		{name: "event_id a list", header: withClaims(map[string]any{"event_id": []string{"lead_created"}}), want: provider.ErrMissingClaim},

		// Event names.
		{name: "event_id upper case", header: event("Lead_Created"), want: provider.ErrInvalidPayload},
		{name: "event_id a path", header: event("../lead_created"), want: provider.ErrInvalidPayload},
		{name: "event_id with a space", header: event("lead created"), want: provider.ErrInvalidPayload},
		{name: "event_id starting with a dot", header: event(".leads.create"), want: provider.ErrInvalidPayload},
		{name: "event_id too long", header: event(strings.Repeat("a", 101)), want: provider.ErrInvalidPayload},
		{name: "event_id with a NUL", header: event("lead\x00created"), want: provider.ErrInvalidPayload},

		// Body.
		{name: "empty body", body: []byte{}, want: provider.ErrEmptyBody},
		{name: "whitespace body", body: []byte(" \n\t"), want: provider.ErrEmptyBody},
		{name: "not JSON", body: []byte("lead=1"), want: provider.ErrMalformedJSON},
		{name: "truncated JSON", body: []byte(lead[:len(lead)/2]), want: provider.ErrMalformedJSON},
		{name: "trailing garbage", body: []byte(lead + "}"), want: provider.ErrMalformedJSON},
		{name: "two JSON values", body: []byte(`{"lead":{"uuid":"l"}} {}`), want: provider.ErrMalformedJSON},
		{name: "invalid array", body: []byte(`[1,`), want: provider.ErrMalformedJSON},
		{name: "array body", body: []byte(`[` + lead + `]`), want: provider.ErrInvalidPayload},
		{name: "null body", body: []byte(`null`), want: provider.ErrInvalidPayload},
		{name: "string body", body: []byte(`"lead"`), want: provider.ErrInvalidPayload},
		{name: "number body", body: []byte(`42`), want: provider.ErrInvalidPayload},
		{name: "entity missing", body: []byte(`{"deal":{"uuid":"deal_1"},"configuration":[]}`), want: provider.ErrInvalidPayload},
		{name: "entity null", body: []byte(`{"lead":null}`), want: provider.ErrInvalidPayload},
		{name: "entity a string", body: []byte(`{"lead":"lead_1"}`), want: provider.ErrInvalidPayload},
		{name: "entity an array", body: []byte(`{"lead":[{"uuid":"lead_1"}]}`), want: provider.ErrInvalidPayload},
		{name: "empty object", body: []byte(`{}`), want: provider.ErrInvalidPayload},
		{name: "bad entity for a known dotted event", header: event("leads.create"), body: []byte(`{"message":{"uuid":"m"}}`), want: provider.ErrInvalidPayload},

		// The one strict decode reads all of every body.
		{name: "member repeated through an escape", body: []byte(`{"lead":{"uuid":"a"},"\u006cead":{"uuid":"b"}}`), want: provider.ErrMalformedJSON},
		{name: "member repeated inside the entity", body: []byte(`{"lead":{"uuid":"a","email":"a@b.c","email":"d@e.f"}}`), want: provider.ErrMalformedJSON},
		{name: "entity uuid repeated through an escape", body: []byte(`{"lead":{"uuid":"a","\u0075uid":"b"}}`), want: provider.ErrMalformedJSON},
		{name: "member repeated in an unknown member", body: []byte(`{"lead":{"uuid":"a"},"extra":[{"k":1,"k":2}]}`), want: provider.ErrMalformedJSON},
		{name: "member repeated in a raw value", body: []byte(`{"lead":{"uuid":"a","custom_fields":[{"uuid":"c","value":{"v":1,"v":2}}]}}`), want: provider.ErrMalformedJSON},
		{name: "invalid UTF-8 in an unknown member", body: []byte("{\"lead\":{\"uuid\":\"a\"},\"extra\":\"\xff\"}"), want: provider.ErrMalformedJSON},
		{name: "invalid UTF-8 in a member name", body: []byte("{\"lead\":{\"uuid\":\"a\"},\"\xfe\":1}"), want: provider.ErrMalformedJSON},
		{name: "lone surrogate escape", body: []byte(`{"lead":{"uuid":"a","email":"\ud800"}}`), want: provider.ErrMalformedJSON},
		{name: "35,000 members, the last repeated", body: manyMembers(35000, true), want: provider.ErrMalformedJSON},
		{name: "10,001 levels deep in an unknown member", body: nested(10001), want: provider.ErrMalformedJSON},
		{name: "no documented body: member repeated", event: "payments.completed", body: []byte(`{"payment":{"id":1},"payment":{"id":2}}`), want: provider.ErrMalformedJSON},
		{name: "no documented body: invalid UTF-8", event: "mdf.payout_failed", body: []byte("{\"x\":\"\xc3\"}"), want: provider.ErrMalformedJSON},
		{name: "no documented body: not an object", event: "payments.completed", body: []byte(`null`), want: provider.ErrInvalidPayload},
		{name: "claim repeated", header: bearer(rawToken(hs256Header, `{"company_uuid":"c","company_uuid":"d","user_uuid":"u","event_id":"lead_created","exp":`+fmt.Sprint(testNow.Add(time.Hour).Unix())+`}`, hs256(testSecret))), want: provider.ErrMalformedCredentials},

		// Configuration shapes.
		{name: "configuration an object", body: []byte(cfg(`{"id":"lead_integration_settings","selected":[]}`)), want: provider.ErrInvalidPayload},
		{name: "configuration a string", body: []byte(cfg(`"lead_integration_settings"`)), want: provider.ErrInvalidPayload},
		{name: "configuration element a string", body: []byte(cfg(`["lead_integration_settings"]`)), want: provider.ErrInvalidPayload},
		{name: "configuration element null", body: []byte(cfg(`[null]`)), want: provider.ErrInvalidPayload},
		{name: "configuration id missing", body: []byte(cfg(`[{"selected":[]}]`)), want: provider.ErrInvalidPayload},
		{name: "configuration id empty", body: []byte(cfg(`[{"id":"","selected":[]}]`)), want: provider.ErrInvalidPayload},
		{name: "configuration id a number", body: []byte(cfg(`[{"id":1,"selected":[]}]`)), want: provider.ErrInvalidPayload},
		{name: "configuration selected missing", body: []byte(cfg(`[{"id":"lead_integration_settings"}]`)), want: provider.ErrInvalidPayload},
		{name: "configuration selected null", body: []byte(cfg(`[{"id":"lead_integration_settings","selected":null}]`)), want: provider.ErrInvalidPayload},
		{name: "configuration selected an object", body: []byte(cfg(`[{"id":"lead_integration_settings","selected":{"id":"unique_field_lead"}}]`)), want: provider.ErrInvalidPayload},
		{name: "second configuration bad", body: []byte(cfg(`[{"id":"lead_integration_settings","selected":[]},{"id":"x","selected":"email"}]`)), want: provider.ErrInvalidPayload},
	}
}

// entityRejections: for every entity kind, the entity missing, not an
// object, and its uuid missing, empty or not a string.
func entityRejections() []rejection {
	var out []rejection
	for _, e := range []struct{ event, key string }{
		{"lead_updated", "lead"},
		{"deal_created", "deal"},
		{"lead_note_created", "note"},
		{"deal_note_deleted", "note"},
		{"partner_created", "partnership"},
		{"message_created", "message"},
		{"partner_contact_created", "contact"},
		{"partner_contact_updated", "partner_contact"},
		{"partners.contact_create", "partnership"},
	} {
		for _, c := range []struct{ name, body string }{
			{"missing", `{"other":{"uuid":"x"}}`},
			{"not an object", `{"` + e.key + `":"x"}`},
			{"an array", `{"` + e.key + `":[{"uuid":"x"}]}`},
			{"uuid missing", `{"` + e.key + `":{"email":"a@b.c"}}`},
			{"uuid empty", `{"` + e.key + `":{"uuid":""}}`},
			{"uuid null", `{"` + e.key + `":{"uuid":null}}`},
			{"uuid a number", `{"` + e.key + `":{"uuid":12345}}`},
			{"uuid an object", `{"` + e.key + `":{"uuid":{"id":"x"}}}`},
		} {
			out = append(out, rejection{
				name:  e.event + "/" + e.key + " " + c.name,
				event: e.event,
				body:  []byte(c.body),
				want:  provider.ErrInvalidPayload,
			})
		}
	}
	return out
}

func TestVerifyRejects(t *testing.T) {
	leadBody := fixture(t, "lead_created")
	cases := append(rejections(t), entityRejections()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := tc.header
			switch {
			case tc.event != "":
				h = signedHeader(t, testSecret, claimsFor(tc.event))
			case h == nil:
				h = signedHeader(t, testSecret, claimsFor("lead_created"))
			}
			body := tc.body
			if body == nil {
				body = leadBody
			}
			v := newVerifier(t, []string{testSecret}, tc.opts...)
			d, err := v.Verify(body, h)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if provider.Reason(err) == "" {
				t.Errorf("error %v wraps no provider sentinel", err)
			}
			if d.Type != "" || d.Raw != nil || d.Meta != nil {
				t.Errorf("rejected delivery is not zero: %+v", d)
			}
			assertSafeMessage(t, err, h, body)
		})
	}
}

// assertSafeMessage fails if err's message contains a secret, the token or
// any of its segments, or a distinctive part of the body.
func assertSafeMessage(t *testing.T, err error, h http.Header, body []byte) {
	t.Helper()
	msg := err.Error()
	secrets := []string{testSecret, prevSecret, strings.ToUpper(testSecret)}
	for _, s := range secrets {
		if strings.Contains(msg, s) {
			t.Errorf("error message contains a secret: %q", msg)
		}
	}
	for _, v := range h.Values("Authorization") {
		_, tok, _ := strings.Cut(v, " ")
		for _, part := range append(strings.Split(tok, "."), tok) {
			if len(part) >= 8 && strings.Contains(msg, part) {
				t.Errorf("error message contains the token: %q", msg)
			}
		}
	}
	for _, s := range []string{"company_12345678", "user_87654321", "jb_api_", "lead_5336ba48", "contact@prospect.com", "Prospect Company", "lead_integration_settings", "Lead_Created", "../"} {
		if strings.Contains(msg, s) && strings.Contains(string(body)+strings.Join(h.Values("Authorization"), ""), s) {
			t.Errorf("error message contains content %q: %q", s, msg)
		}
	}
}
