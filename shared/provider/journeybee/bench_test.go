package journeybee

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkVerify measures a full Verify (token, body validation and
// decoding, normalization, idempotency key) of the lead_created fixture,
// as stored (indented) and compacted (as a JSON.stringify sender sends it).
func BenchmarkVerify(b *testing.B) {
	indented := fixture(b, "lead_created")
	var compact bytes.Buffer
	if err := json.Compact(&compact, indented); err != nil {
		b.Fatal(err)
	}
	h := signedHeader(b, testSecret, claimsFor("lead_created"))
	v := newVerifier(b, []string{testSecret, prevSecret})
	for _, bc := range []struct {
		name string
		body []byte
	}{{"fixture", indented}, {"compact", compact.Bytes()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(bc.body, h); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseBody measures the body's one strict decode and its
// validation alone, for the lead_created fixture.
func BenchmarkParseBody(b *testing.B) {
	body := fixture(b, "lead_created")
	spec, err := lookupEvent("lead_created")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := parseBody(body, spec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyManyMembers measures Verify of a body whose lead has
// 35,000 distinct members (about 310 KB, accepted: every name is read and
// checked against the others) and of the same body with the last name
// repeated (refused): the input that took seconds of CPU with a quadratic
// duplicate check. Target: under 50 ms per op.
func BenchmarkVerifyManyMembers(b *testing.B) {
	h := signedHeader(b, testSecret, claimsFor("lead_created"))
	v := newVerifier(b, []string{testSecret})
	for _, bc := range []struct {
		name string
		dup  bool
	}{{"distinct", false}, {"last_repeated", true}} {
		body := manyMembers(35000, bc.dup)
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				_, err := v.Verify(body, h)
				if (err != nil) != bc.dup {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAuthenticate measures the token alone: golang-jwt's parse and
// checks, every configured secret tried (two here).
func BenchmarkAuthenticate(b *testing.B) {
	h := signedHeader(b, testSecret, claimsFor("lead_created"))
	v := newVerifier(b, []string{testSecret, prevSecret})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.authenticate(h); err != nil {
			b.Fatal(err)
		}
	}
}
