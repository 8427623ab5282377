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

// BenchmarkDecodeBody compares the body decoding alone (validation,
// configuration, entity) of the lead_created fixture: the single-pass
// scanner Verify uses against the encoding/json path it falls back to.
func BenchmarkDecodeBody(b *testing.B) {
	body := fixture(b, "lead_created")
	spec, err := lookupEvent("lead_created")
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		fast bool
	}{{"scanner", true}, {"encoding_json", false}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := decodeBody(body, spec, bc.fast); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
