package journeybee

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

func TestRotation(t *testing.T) {
	body := fixture(t, "lead_created")
	byPrev := signedHeader(t, prevSecret, claimsFor("lead_created"))
	byCur := signedHeader(t, testSecret, claimsFor("lead_created"))

	both := newVerifier(t, []string{testSecret, prevSecret})
	for _, tc := range []struct {
		h     http.Header
		index string
	}{{byCur, "0"}, {byPrev, "1"}} {
		d, err := both.Verify(body, tc.h)
		if err != nil {
			t.Fatalf("during rotation: %v", err)
		}
		if d.Meta["secret_index"] != tc.index {
			t.Errorf("secret_index = %q, want %q", d.Meta["secret_index"], tc.index)
		}
	}

	// A blank entry keeps the positions of the others.
	d, err := newVerifier(t, []string{"", prevSecret}).Verify(body, byPrev)
	if err != nil || d.Meta["secret_index"] != "1" {
		t.Errorf("with a blank first secret: index %q, err %v; want 1", d.Meta["secret_index"], err)
	}

	// Once the previous secret is removed its tokens are refused.
	if _, err := newVerifier(t, []string{testSecret}).Verify(body, byPrev); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("after rotation: %v, want ErrBadSignature", err)
	}
}

func TestTimeChecks(t *testing.T) {
	body := fixture(t, "lead_created")
	at := func(iat, exp time.Duration) http.Header {
		c := claimsFor("lead_created")
		c.IssuedAt, c.ExpiresAt = testNow.Add(iat), testNow.Add(exp)
		return signedHeader(t, testSecret, c)
	}
	for _, tc := range []struct {
		name string
		h    http.Header
		opts []Option
		want error
	}{
		{"fresh", at(-time.Second, time.Hour), nil, nil},
		{"expired 59s ago, within the leeway", at(-time.Hour, -59*time.Second), nil, nil},
		{"expired 61s ago", at(-time.Hour, -61*time.Second), nil, provider.ErrExpired},
		{"expired 5s ago, no leeway", at(-time.Hour, -5*time.Second), []Option{WithLeeway(0)}, provider.ErrExpired},
		{"expired 5s ago, negative leeway is 0", at(-time.Hour, -5*time.Second), []Option{WithLeeway(-time.Minute)}, provider.ErrExpired},
		{"expired 5s ago, 10s leeway", at(-time.Hour, -5*time.Second), []Option{WithLeeway(10 * time.Second)}, nil},
		{"expired 90s ago, leeway 10m clamped to 60s", at(-time.Hour, -90*time.Second), []Option{WithLeeway(10 * time.Minute)}, provider.ErrExpired},
		{"issued 59s in the future", at(59*time.Second, time.Hour), nil, nil},
		{"issued 61s in the future", at(61*time.Second, time.Hour), nil, provider.ErrNotYetValid},
		{"max age: issued 9m ago", at(-9*time.Minute, time.Hour), []Option{WithMaxAge(10 * time.Minute)}, nil},
		{"max age: issued 10m30s ago, within the leeway", at(-10*time.Minute-30*time.Second, time.Hour), []Option{WithMaxAge(10 * time.Minute)}, nil},
		{"max age: issued 12m ago", at(-12*time.Minute, time.Hour), []Option{WithMaxAge(10 * time.Minute)}, provider.ErrExpired},
		{"max age 0 is off", at(-24*time.Hour, time.Hour), []Option{WithMaxAge(0)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newVerifier(t, []string{testSecret}, tc.opts...).Verify(body, tc.h)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}

	// The clock is read on every call.
	now := testNow
	v, err := New([]string{testSecret}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	h := at(-time.Second, time.Minute)
	if _, err := v.Verify(body, h); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2*time.Minute + time.Second)
	if _, err := v.Verify(body, h); !errors.Is(err, provider.ErrExpired) {
		t.Errorf("after the clock moved: %v, want ErrExpired", err)
	}
}

func TestMeta(t *testing.T) {
	c := claimsFor("leads.create")
	d, err := newVerifier(t, []string{prevSecret, testSecret}).Verify(fixture(t, "leads.create"), signedHeader(t, testSecret, c))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"company_uuid": c.CompanyUUID,
		"user_uuid":    c.UserUUID,
		"event_id":     "leads.create",
		"iat":          "1716214515",
		"exp":          "1716218115",
		"secret_index": "1",
	}
	if !reflect.DeepEqual(d.Meta, want) {
		t.Errorf("Meta = %v\nwant %v", d.Meta, want)
	}
	for k, v := range d.Meta {
		if strings.Contains(k+v, "jb_api_") || strings.Contains(v, "eyJ") || strings.Contains(v, testSecret) {
			t.Errorf("Meta[%s] = %q carries a secret or token", k, v)
		}
	}

	// external_settings in the token never reaches the delivery, and a
	// token without iat has no Meta["iat"].
	claims := claimsJSON(t, map[string]any{
		"iat":               nil,
		"company_uuid":      "company_\"é\"\u2028",
		"external_settings": map[string]any{"authorisation": []map[string]string{{"id": "api_key", "value": "your_external_api_key"}}},
	})
	d, err = newVerifier(t, []string{testSecret}).Verify(fixture(t, "lead_created"), authHeader("Bearer "+rawToken(hs256Header, claims, hs256(testSecret))))
	if err != nil {
		t.Fatal(err)
	}
	if d.Meta["user_uuid"] != "user_87654321-4321-8765-2109-876543210987" {
		t.Errorf("Meta[user_uuid] = %q", d.Meta["user_uuid"])
	}
	if _, ok := d.Meta["iat"]; ok {
		t.Error("Meta has iat for a token without one")
	}
	if d.Tenant != "company_\"é\"\u2028" { // JSON escapes in claims are decoded
		t.Errorf("Tenant = %q", d.Tenant)
	}
	if all, _ := json.Marshal(d.Meta); strings.Contains(string(all), "your_external_api_key") || strings.Contains(string(all), "jb_api_") {
		t.Errorf("Meta leaks credentials: %s", all)
	}
}

func TestBearerScheme(t *testing.T) {
	tok, err := Sign(testSecret, claimsFor("lead_created"))
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t, []string{testSecret})
	for _, value := range []string{"Bearer " + tok, "bearer " + tok, "BEARER " + tok, "Bearer   " + tok, " Bearer " + tok + " "} {
		if _, err := v.Verify(fixture(t, "lead_created"), http.Header{"Authorization": {value}}); err != nil {
			t.Errorf("%q: %v", strings.Replace(value, tok, "<token>", 1), err)
		}
	}
	// A header map keyed in lower case (built by hand) works too.
	if _, err := v.Verify(fixture(t, "lead_created"), http.Header{"authorization": {"Bearer " + tok}}); err != nil {
		t.Errorf("lower-case key: %v", err)
	}
}

func TestSign(t *testing.T) {
	c := claimsFor("deal_created")
	tok, err := Sign(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d segments", len(parts))
	}
	head, _ := seg.DecodeString(parts[0])
	if string(head) != `{"alg":"HS256","typ":"JWT"}` {
		t.Errorf("header = %s", head)
	}
	claims, _ := seg.DecodeString(parts[1])
	want := `{"company_uuid":"company_12345678-1234-5678-9012-123456789abc","user_uuid":"user_87654321-4321-8765-2109-876543210987","event_id":"deal_created","api_key":"jb_api_1234567890abcdef","exp":1716218115,"iat":1716214515}`
	if string(claims) != want {
		t.Errorf("claims = %s\nwant %s", claims, want)
	}
	if sig := seg.EncodeToString(hs256(testSecret)([]byte(parts[0] + "." + parts[1]))); sig != parts[2] {
		t.Error("signature is not HMAC-SHA256 of the signing input with the secret")
	}

	// Optional claims are omitted.
	c.APIKey, c.IssuedAt = "", time.Time{}
	tok, err = Sign(testSecret, c)
	if err != nil {
		t.Fatal(err)
	}
	claims, _ = seg.DecodeString(strings.Split(tok, ".")[1])
	if strings.Contains(string(claims), "api_key") || strings.Contains(string(claims), "iat") {
		t.Errorf("claims = %s, want no api_key and no iat", claims)
	}

	h, err := SignHeader(testSecret, c)
	if err != nil || h != "Bearer "+tok {
		t.Errorf("SignHeader = %q, %v", h, err)
	}
	if _, err := Sign("", c); !errors.Is(err, provider.ErrNoSecret) {
		t.Errorf("Sign without a secret: %v", err)
	}
	if _, err := SignHeader(testSecret, Claims{EventID: "lead_created"}); err == nil {
		t.Error("Sign without ExpiresAt succeeded")
	}
}

// TestConcurrentVerify runs Verify from several goroutines (meaningful
// under -race): a Verifier is shared by all requests.
func TestConcurrentVerify(t *testing.T) {
	v := newVerifier(t, []string{testSecret, prevSecret})
	var wg sync.WaitGroup
	for _, name := range fixtureNames(t) {
		body := fixture(t, name)
		h := signedHeader(t, prevSecret, claimsFor(name))
		wg.Go(func() {
			for range 20 {
				if _, err := v.Verify(body, h); err != nil {
					t.Errorf("%s: %v", name, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestBodyIsNotSigned documents the limit of JourneyBee's scheme: the JWT
// covers its claims, not the body, so the same valid token is accepted with
// another body (see the package doc). The bodies are still told apart by
// the idempotency key.
func TestBodyIsNotSigned(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	h := signedHeader(t, testSecret, claimsFor("lead_created"))
	a, errA := v.Verify(fixture(t, "lead_created"), h)
	b, errB := v.Verify([]byte(`{"lead":{"uuid":"lead_other","email":"someone@else.example"}}`), h)
	if errA != nil || errB != nil {
		t.Fatalf("Verify: %v, %v", errA, errB)
	}
	if a.IdempotencyKey == b.IdempotencyKey {
		t.Error("different bodies under one token share a key")
	}
}
