package tomba_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/tomba"
)

const (
	testToken  = "tmb_test_current_Zx81qP0vLs"
	oldToken   = "tmb_test_previous_Hh27mK5wQe"
	otherToken = "tmb_someone_else_entirely_00"
)

// sentinels are all the provider sentinels, to check that a rejection wraps
// exactly one.
var sentinels = []error{
	provider.ErrMissingCredentials, provider.ErrMalformedCredentials, provider.ErrBadSignature,
	provider.ErrUnsupportedAlgorithm, provider.ErrExpired, provider.ErrNotYetValid, provider.ErrMissingClaim,
	provider.ErrEmptyBody, provider.ErrMalformedJSON, provider.ErrInvalidPayload, provider.ErrNoSecret,
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// withToken returns headers carrying token in the default header.
func withToken(token string) http.Header {
	h := http.Header{}
	h.Set(tomba.DefaultHeader, token)
	return h
}

func newVerifier(t testing.TB, header string, tokens ...string) *tomba.Verifier {
	t.Helper()
	v, err := tomba.New(header, tokens)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

func TestNew(t *testing.T) {
	for _, tokens := range [][]string{nil, {}, {""}, {"", " ", "\t\n"}} {
		v, err := tomba.New(tomba.DefaultHeader, tokens)
		if !errors.Is(err, provider.ErrNoSecret) || v != nil {
			t.Errorf("New(%q) = %v, %v; want nil, ErrNoSecret", tokens, v, err)
		}
	}
	for header, want := range map[string]string{
		"":               "X-Tomba-Token",
		"x-tomba-token":  "X-Tomba-Token",
		"X-HOOKLINE-KEY": "X-Hookline-Key",
		"authorization":  "Authorization",
	} {
		if got := newVerifier(t, header, testToken).Header(); got != want {
			t.Errorf("New(%q).Header() = %q, want %q", header, got, want)
		}
	}
	for _, header := range []string{"X Tomba Token", "X-Tomba-Token:", "X-Tömba", "X-Tomba\r\nX-Evil"} {
		v, err := tomba.New(header, []string{testToken})
		if err == nil || v != nil {
			t.Errorf("New(%q) accepted an invalid header name", header)
		}
	}
}

// successCase is one fixture and what Verify must make of it.
type successCase struct {
	file string
	key  string // "tomba:" + sha256sum of the file
	lead canonical.Lead
}

var successCases = []successCase{
	// Tomba's documented example, all empty strings, with an email filled in.
	{"documented.json", "tomba:e8859d090202927c8a4fc019986609c024829771061471daac8a39ce2df2c628",
		canonical.Lead{Email: "jane@acme.com", Score: ptr[int64](0)}},
	{"nulls.json", "tomba:071cbd096487dc5c39c701a5e4e3bd2c19d61b6137239b4895d072f15aaf688d",
		canonical.Lead{Email: "lead@example.org"}},
	{"scored.json", "tomba:51aa3ce42308e196babd42f31f7a803edc4495627d551058ae402c9788a5e0b6",
		canonical.Lead{
			Email: "m.dupont@example.fr", Company: "Exemple SAS", FirstName: "Marie", LastName: "Dupont",
			Phone: "+33 1 23 45 67 89", Website: "https://example.fr", Position: "Head of Partnerships",
			Twitter: "@mdupont", LinkedIn: "https://www.linkedin.com/in/marie-dupont",
			Notes: "Met at the Paris meetup; wants a demo in Q3.\nPrefers email, not \"calls\".", Score: ptr[int64](87),
		}},
	// Undocumented fields are tolerated (kept in Raw); absent fields are fine.
	{"extra-fields.json", "tomba:699726e93ccb6bf403f9500411b666ea465c03a6ec539af49debd27acb315d07",
		canonical.Lead{Email: "sam@example.com", FirstName: "Sam", Score: ptr[int64](-5)}},
}

func TestVerifyFixtures(t *testing.T) {
	v := newVerifier(t, "", testToken)
	for _, tc := range successCases {
		t.Run(tc.file, func(t *testing.T) {
			body := fixture(t, tc.file)
			orig := bytes.Clone(body)
			d, err := v.Verify(body, withToken(testToken))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			want := provider.Delivery{
				Provider:       "tomba",
				Event:          "save_lead",
				Type:           "tomba.save_lead",
				IdempotencyKey: tc.key,
				Meta:           map[string]string{"secret_index": "0"},
				Normalized:     canonical.Record{Kind: canonical.KindLead, Action: "saved", Lead: &tc.lead},
			}
			got := d
			got.Payload, got.Raw = nil, nil
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got.Normalized)
				t.Errorf("delivery\n got %+v %s\nwant %+v", got, g, want)
			}
			if !d.OccurredAt.IsZero() || d.EntityID != "" {
				t.Errorf("OccurredAt %v, EntityID %q: Tomba sends neither", d.OccurredAt, d.EntityID)
			}
			if &d.Raw[0] != &body[0] || !bytes.Equal(body, orig) {
				t.Error("Raw does not alias the body unchanged")
			}
			p, ok := d.Payload.(*tomba.Payload)
			if !ok {
				t.Fatalf("Payload is %T", d.Payload)
			}
			// The typed payload must say what encoding/json says of the body.
			var std tomba.Payload
			if err := json.Unmarshal(body, &std); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*p, std) {
				t.Errorf("payload\n got %+v\nwant %+v", p.Data, std.Data)
			}
		})
	}
}

func TestNullVersusEmpty(t *testing.T) {
	v := newVerifier(t, "", testToken)
	verify := func(file string) tomba.Lead {
		body := fixture(t, file)
		d, err := v.Verify(body, withToken(testToken))
		if err != nil {
			t.Fatal(err)
		}
		return d.Payload.(*tomba.Payload).Data
	}
	empty, null := verify("documented.json"), verify("nulls.json")
	if empty.Company == nil || *empty.Company != "" || empty.Score == nil || *empty.Score != 0 {
		t.Errorf("documented example: company %v, score %v; want \"\" and 0", empty.Company, empty.Score)
	}
	if null.Company != nil || null.Notes != nil || null.Score != nil || null.Website != "" {
		t.Errorf("nulls: %+v", null)
	}
}

func TestHeaders(t *testing.T) {
	body := fixture(t, "scored.json")
	cases := []struct {
		name       string
		configured string
		header     string
		value      string
		want       error
	}{
		{"default header", "", "X-Tomba-Token", testToken, nil},
		{"lowercase header", "", "x-tomba-token", testToken, nil},
		{"custom header", "X-Hookline-Key", "X-Hookline-Key", testToken, nil},
		{"custom header, configured lowercase", "x-hookline-key", "X-Hookline-Key", testToken, nil},
		{"token in the default header when custom configured", "X-Hookline-Key", "X-Tomba-Token", testToken, provider.ErrMissingCredentials},
		{"Authorization, bare token", "Authorization", "Authorization", testToken, nil},
		{"Authorization, Bearer", "Authorization", "Authorization", "Bearer " + testToken, nil},
		{"Authorization, lowercase bearer", "authorization", "Authorization", "bearer " + testToken, nil},
		{"Authorization, Bearer wrong token", "Authorization", "Authorization", "Bearer " + otherToken, provider.ErrBadSignature},
		{"Authorization, Basic", "Authorization", "Authorization", "Basic " + testToken, provider.ErrBadSignature},
		{"Authorization, Bearer only", "Authorization", "Authorization", "Bearer", provider.ErrBadSignature},
		{"Bearer outside Authorization", "", "X-Tomba-Token", "Bearer " + testToken, provider.ErrBadSignature},
		{"Authorization when X-Tomba-Token configured", "", "Authorization", "Bearer " + testToken, provider.ErrMissingCredentials},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, tc.configured, testToken)
			h := http.Header{}
			h.Set(tc.header, tc.value) // canonicalized, as net/http and the API Gateway adapter do
			_, err := v.Verify(body, h)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	body := fixture(t, "documented.json")
	rotating := newVerifier(t, "", testToken, oldToken)
	for token, index := range map[string]string{testToken: "0", oldToken: "1"} {
		d, err := rotating.Verify(body, withToken(token))
		if err != nil || d.Meta["secret_index"] != index {
			t.Errorf("during rotation: secret_index %q, %v; want %s", d.Meta["secret_index"], err, index)
		}
	}
	d, err := newVerifier(t, "", " ", oldToken).Verify(body, withToken(oldToken))
	if err != nil || d.Meta["secret_index"] != "1" {
		t.Errorf("secret_index after a blank: %q, %v", d.Meta["secret_index"], err)
	}
	rotated := newVerifier(t, "", testToken)
	if _, err := rotated.Verify(body, withToken(oldToken)); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("old token after rotation: %v, want ErrBadSignature", err)
	}
	if _, err := rotated.Verify(body, withToken(testToken)); err != nil {
		t.Errorf("current token after rotation: %v", err)
	}
}

// rejectCase is one delivery Verify must refuse.
type rejectCase struct {
	name   string
	body   []byte
	header http.Header
	want   error
}

func rejectCases(t testing.TB) []rejectCase {
	good := fixture(t, "scored.json")
	tok := withToken(testToken)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	body := func(name, b string, want error) rejectCase { return rejectCase{name, []byte(b), tok, want} }

	cases := []rejectCase{
		// Credentials.
		{"no header", good, http.Header{}, provider.ErrMissingCredentials},
		{"nil header", good, nil, provider.ErrMissingCredentials},
		{"empty value", good, hdr(tomba.DefaultHeader, ""), provider.ErrMissingCredentials},
		{"wrong header name", good, hdr("X-Tomba-Key", testToken), provider.ErrMissingCredentials},
		{"unauthenticated garbage", []byte("not json"), http.Header{}, provider.ErrMissingCredentials},
		{"duplicated header", good, hdr(tomba.DefaultHeader, testToken, tomba.DefaultHeader, testToken), provider.ErrMalformedCredentials},
		{"duplicated header, one empty", good, hdr(tomba.DefaultHeader, "", tomba.DefaultHeader, testToken), provider.ErrMalformedCredentials},
		{"wrong token", good, withToken(otherToken), provider.ErrBadSignature},
		{"token prefix", good, withToken(testToken[:len(testToken)-1]), provider.ErrBadSignature},
		{"token plus suffix", good, withToken(testToken + "x"), provider.ErrBadSignature},
		{"token in other case", good, withToken(strings.ToUpper(testToken)), provider.ErrBadSignature},
		{"comma-joined tokens", good, withToken(testToken + "," + testToken), provider.ErrBadSignature},
		{"wrong token, bad body", []byte("{"), withToken(otherToken), provider.ErrBadSignature},

		// Body.
		{"empty body", []byte{}, tok, provider.ErrEmptyBody},
		{"nil body", nil, tok, provider.ErrEmptyBody},
		body("blank body", " \r\n\t", provider.ErrEmptyBody),
		body("malformed JSON", `{"data":{"email":"jane@acme.com"}`, provider.ErrMalformedJSON),
		body("trailing data", `{"data":{"email":"jane@acme.com"}}x`, provider.ErrMalformedJSON),
		body("form-encoded", `data[email]=jane@acme.com`, provider.ErrMalformedJSON),
		body("array body", `[{"data":{"email":"jane@acme.com"}}]`, provider.ErrInvalidPayload),
		body("null body", `null`, provider.ErrInvalidPayload),
		body("string body", `"jane@acme.com"`, provider.ErrInvalidPayload),
		body("no data", `{"email":"jane@acme.com"}`, provider.ErrInvalidPayload),
		body("data null", `{"data":null}`, provider.ErrInvalidPayload),
		body("data array", `{"data":[{"email":"jane@acme.com"}]}`, provider.ErrInvalidPayload),
		body("data string", `{"data":"{\"email\":\"jane@acme.com\"}"}`, provider.ErrInvalidPayload),
		body("email missing", `{"data":{"first_name":"Jane","score":3}}`, provider.ErrInvalidPayload),
		body("email in other case", `{"data":{"Email":"jane@acme.com"}}`, provider.ErrInvalidPayload),
		body("email null", `{"data":{"email":null}}`, provider.ErrInvalidPayload),
		body("email empty (the documented example as is)", `{"data":{"email":"","company":"","first_name":"","last_name":"","phone":"","website":"","position":"","twitter":"","linkedin":"","notes":"","score":0}}`, provider.ErrInvalidPayload),
		body("email without @", `{"data":{"email":"jane.acme.com"}}`, provider.ErrInvalidPayload),
		body("email number", `{"data":{"email":42}}`, provider.ErrInvalidPayload),
		body("email array", `{"data":{"email":["jane@acme.com"]}}`, provider.ErrInvalidPayload),
		body("website number", `{"data":{"email":"jane@acme.com","website":1}}`, provider.ErrInvalidPayload),
		body("website object", `{"data":{"email":"jane@acme.com","website":{"url":"https://acme.com"}}}`, provider.ErrInvalidPayload),
		body("score fractional", `{"data":{"email":"jane@acme.com","score":87.5}}`, provider.ErrInvalidPayload),
		body("score with fraction zero", `{"data":{"email":"jane@acme.com","score":87.0}}`, provider.ErrInvalidPayload),
		body("score exponent", `{"data":{"email":"jane@acme.com","score":1e2}}`, provider.ErrInvalidPayload),
		body("score string", `{"data":{"email":"jane@acme.com","score":"87"}}`, provider.ErrInvalidPayload),
		body("score bool", `{"data":{"email":"jane@acme.com","score":true}}`, provider.ErrInvalidPayload),
		body("score overflow", `{"data":{"email":"jane@acme.com","score":9223372036854775808}}`, provider.ErrInvalidPayload),

		// The one strict decode reads all of the body.
		body("email repeated", `{"data":{"email":"jane@acme.com","email":"eve@evil.example"}}`, provider.ErrMalformedJSON),
		body("email repeated through an escape", `{"data":{"email":"jane@acme.com","\u0065mail":"eve@evil.example"}}`, provider.ErrMalformedJSON),
		body("data repeated", `{"data":{"email":"jane@acme.com"},"data":{"email":"eve@evil.example"}}`, provider.ErrMalformedJSON),
		body("member repeated in an unknown member", `{"data":{"email":"jane@acme.com","extra":{"a":1,"a":2}}}`, provider.ErrMalformedJSON),
		body("invalid UTF-8 in an unknown member", "{\"data\":{\"email\":\"jane@acme.com\"},\"x\":\"\xff\"}", provider.ErrMalformedJSON),
		body("35,000 members, the last repeated", string(manyMembers(35000, true)), provider.ErrMalformedJSON),
		body("bad syntax after a wrong type", `{"data":{"email":7}`, provider.ErrMalformedJSON),
	}
	for _, field := range []string{"company", "first_name", "last_name", "phone", "position", "twitter", "linkedin", "notes"} {
		for what, val := range map[string]string{"number": `7`, "bool": `false`, "object": `{}`, "array": `["x"]`} {
			cases = append(cases, body(field+" "+what, `{"data":{"email":"jane@acme.com","`+field+`":`+val+`}}`, provider.ErrInvalidPayload))
		}
	}
	return cases
}

func TestVerifyRejects(t *testing.T) {
	v := newVerifier(t, "", testToken, oldToken)
	for _, tc := range rejectCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			d, err := v.Verify(tc.body, tc.header)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%v wraps %d sentinels, want 1", err, n)
			}
			if !reflect.DeepEqual(d, provider.Delivery{}) {
				t.Errorf("a rejection returned a delivery: %+v", d)
			}
		})
	}
}

// TestErrorsDoNotLeak checks that no rejection names a token or anything
// from the body.
func TestErrorsDoNotLeak(t *testing.T) {
	v := newVerifier(t, "", testToken, oldToken)
	for _, tc := range rejectCases(t) {
		_, err := v.Verify(tc.body, tc.header)
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		msg := err.Error()
		for _, s := range []string{"tmb_", testToken[:12], "jane", "acme", "87", "1e2", "Jane"} {
			if strings.Contains(msg, s) {
				t.Errorf("%s: error %q contains %q", tc.name, msg, s)
			}
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := newVerifier(b, "", testToken)
	body := fixture(b, "scored.json")
	h := withToken(testToken)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(body, h); err != nil {
			b.Fatal(err)
		}
	}
}

// manyMembers returns a body whose data has n members besides its email
// ("0000":0,… about 9 bytes each); with dup the last name is given twice.
func manyMembers(n int, dup bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"data":{"email":"jane@acme.com"`)
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

// TestExactNames: member names match as written, so the lead comes from
// the exact-case members whatever else the body carries; 35,000 distinct
// members are read (each checked against the others) and accepted.
func TestExactNames(t *testing.T) {
	v := newVerifier(t, "", testToken)
	h := http.Header{}
	h.Set(tomba.DefaultHeader, testToken)
	d, err := v.Verify([]byte(`{"DATA":{"email":"eve@evil.example"},"data":{"EMAIL":"eve@evil.example","email":"jane@acme.com","Company":7,"company":"Acme"}}`), h)
	if err != nil {
		t.Fatal(err)
	}
	if l := d.Normalized.Lead; l.Email != "jane@acme.com" || l.Company != "Acme" {
		t.Errorf("lead = %+v, want jane@acme.com at Acme", l)
	}
	if d, err := v.Verify(manyMembers(35000, false), h); err != nil || d.Normalized.Lead.Email != "jane@acme.com" {
		t.Errorf("35,000 distinct members: %v", err)
	}
}
