package journeybee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/provider"
)

// The fast path (scan.go) must give exactly what the encoding/json path
// gives. These tests compare the two: decodeBody(raw, spec, true) against
// decodeBody(raw, spec, false), and decodeClaims likewise.

// entitySpecs has one event per kind of body entity; a fuzz input picks one.
var entitySpecs = func() []eventSpec {
	var out []eventSpec
	for _, id := range []string{"payments.completed", "lead_created", "deal_updated", "lead_note_created", "partner_created", "message_created", "partner_contact_created", "brand_new_event"} {
		spec, err := lookupEvent(id)
		if err != nil {
			panic(err)
		}
		out = append(out, spec)
	}
	return out
}()

// specFor returns the spec of an entity kind.
func specFor(e entity) eventSpec {
	for _, s := range entitySpecs {
		if s.entity == e {
			return s
		}
	}
	panic(fmt.Sprint("no spec for entity ", e))
}

// sameDecode fails t unless both paths decode body alike for spec: the same
// payload (reflect.DeepEqual), entity id, error message and sentinel.
func sameDecode(t *testing.T, body []byte, spec eventSpec) {
	t.Helper()
	orig := string(body)
	pf, idf, errf := decodeBody(body, spec, true)
	if string(body) != orig {
		t.Fatalf("fast path modified the body %q", orig)
	}
	ps, ids, errs := decodeBody(body, spec, false)
	if msg(errf) != msg(errs) || provider.Reason(errf) != provider.Reason(errs) || (errs != nil) != (errf != nil) {
		t.Fatalf("%s body %q:\nfast error: %v\n std error: %v", spec.event, body, errf, errs)
	}
	if idf != ids {
		t.Fatalf("%s body %q: fast id %q, std id %q", spec.event, body, idf, ids)
	}
	if !reflect.DeepEqual(pf, ps) {
		t.Fatalf("%s body %q: payloads differ:\nfast: %s\n std: %s", spec.event, body, dump(pf), dump(ps))
	}
}

// sameClaims fails t unless both paths decode a token payload alike.
func sameClaims(t *testing.T, payload []byte) {
	t.Helper()
	cf, okf := decodeClaims(payload, true)
	cs, oks := decodeClaims(payload, false)
	if okf != oks || !reflect.DeepEqual(cf, cs) {
		t.Fatalf("claims %q: fast %+v %v, std %+v %v", payload, cf, okf, cs, oks)
	}
}

func msg(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func dump(p *Payload) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprintf("%#v", *p)
}

// FuzzDecodeMatches: for any input, the fast path's result equals the
// encoding/json path's, as a body for the selected event and as token
// claims; and the scanner never accepts what json.Valid refuses.
func FuzzDecodeMatches(f *testing.F) {
	for _, name := range fixtureNames(f) {
		spec, err := lookupEvent(name)
		if err != nil {
			f.Fatal(err)
		}
		for i, s := range entitySpecs {
			if s.entity == spec.entity {
				f.Add(fixture(f, name), uint8(i))
			}
		}
	}
	claims, err := Sign(testSecret, claimsFor("lead_created"))
	if err != nil {
		f.Fatal(err)
	}
	_, rest, _ := strings.Cut(claims, ".")
	seg, _, _ := strings.Cut(rest, ".")
	payload, err := b64.DecodeString(seg)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(payload, uint8(1))
	for _, s := range fuzzSeeds {
		for i := range entitySpecs {
			f.Add([]byte(s), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, sel uint8) {
		s := scanner{b: body}
		s.skipSpace()
		s.skip()
		s.end()
		if !s.bad && !json.Valid(body) {
			t.Fatalf("scanner accepts invalid JSON %q", body)
		}
		sameDecode(t, body, entitySpecs[int(sel)%len(entitySpecs)])
		sameClaims(t, body)
	})
}

// fuzzSeeds are bodies and claims at the edges of the fast path.
var fuzzSeeds = []string{
	`{"lead":{"uuid":"l"},"configuration":[{"id":"x","selected":[]}]}`,
	`{"contact":null,"partnership":{"uuid":"p"}}`,
	`{"contact":{"uuid":"c","id":7,"partnership_id":"9"},"partner_contact":{"uuid":"d"},"partnership":"x"}`,
	`{"partner_contact":{"uuid":"c","uuid":"d"}}`,
	`{"deal":{"uuid":"d","created_at":"2023-11-07T05:31:56Z","deal_value":"1e3","payments":[{"uuid":"p","approved":true},null,7]}}`,
	`{"message":{"uuid":"m","content":{"a":[1,2]},"attachments":[{"file_size":12},{"file_size":1.5},{"file_size":"3"}]}}`,
	`{"note":{"uuid":"n","document":"a\"b\\c\u00e9\ud83d\ude00","updated_at":1716214515.5}}`,
	`{"lead":{"uuid":"l","tags":[{"label":"x"}],"tags":[]}}`,
	`{"lead":{"uuid":"l"},"lead":{"email":"e"}}`,
	`{"Lead":{"uuid":"l"}}`,
	`{"lead":{"UUID":"l","uuid":"m"}}`,
	`{"lead":{"\u0075uid":"l"}}`,
	"{\"lead\":{\"uuid\":\"l\",\"email\u212a\":1}}",
	"{\"lead\":{\"uuid\":\"l\",\"\xe2\x84\xaaey\":1}}",
	"{\"lead\":{\"uuid\":\"l\",\"email\":\"\xff\xfe\"}}",
	`{"lead":{"uuid":"l","sent_to_companies":[null,1,"x",{},[]],"custom_fields":[{"value":null,"options":[1]}]}}`,
	`{"configuration":[{"id":"a","selected":[{"id":"x","value":"y"},1,null]},{"id":"b","selected":null}]}`,
	`{"configuration":[{"ID":"a","selected":[]}]}`,
	`{"configuration":{"id":"a"}}`,
	`{"lead":{"uuid":"l"},"configuration":[]}  `,
	`{"lead":{"uuid":"l"}} x`,
	`{"lead":{"uuid":"l"},}`,
	`{"lead":{"uuid":"l",}}`,
	`{"lead":[1,]}`,
	`{"lead":{"uuid":"l","email":01}}`,
	`{"lead":{"uuid":"l","email":1.}}`,
	`{"lead":{"uuid":"l","email":-}}`,
	`{"lead":{"uuid":"l","email":"\x"}}`,
	`{"lead":{"uuid":"l","email":"\u12"}}`,
	"{\"lead\":{\"uuid\":\"l\",\"email\":\"\t\"}}",
	`{"lead":{"uuid":"l","email":tru}}`,
	`{"company_uuid":"c","user_uuid":"u","event_id":"lead_created","exp":4102448400,"iat":null,"nbf":"x"}`,
	`{"company_uuid":1,"user_uuid":{"a":1},"event_id":["x"],"exp":1e300,"EXP":1}`,
	`{"exp":1,"exp":2}`,
	`[]`, `null`, `"x"`, `1`, ` `, ``, `{`, `}`, `{"a"}`, `{"a":}`, `{1:2}`,
	strings.Repeat(`{"a":`, maxDepth+1) + `1` + strings.Repeat(`}`, maxDepth+1),
	`{"lead":{"uuid":"l","tags":` + strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth) + `}}`,
}

func TestFuzzSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		for _, spec := range entitySpecs {
			sameDecode(t, []byte(s), spec)
		}
		sameClaims(t, []byte(s))
	}
}

// TestFastPathTaken: every fixture, its configuration and contact, and the
// claims of a signed token are read by the scanner, not encoding/json.
func TestFastPathTaken(t *testing.T) {
	for _, name := range fixtureNames(t) {
		spec, err := lookupEvent(name)
		if err != nil {
			t.Fatal(err)
		}
		body := fixture(t, name)
		var w wireBody
		if !scanBody(body, spec.entity, &w) {
			t.Errorf("%s: scanBody fell back", name)
			continue
		}
		if present(w.Configuration) && !scanConfiguration(w.Configuration, new([]configItem)) {
			t.Errorf("%s: scanConfiguration fell back", name)
		}
		for _, raw := range []json.RawMessage{w.Contact, w.PartnerContact} {
			if present(raw) && !scanContact(raw, new(PartnerContact)) {
				t.Errorf("%s: scanContact fell back", name)
			}
		}
		sameDecode(t, body, spec)

		var compact bytes.Buffer
		if err := json.Compact(&compact, body); err != nil {
			t.Fatal(err)
		}
		if !scanBody(compact.Bytes(), spec.entity, new(wireBody)) {
			t.Errorf("%s: scanBody fell back on the compacted body", name)
		}
	}
	tok, err := Sign(testSecret, claimsFor("lead_created"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := b64.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if !scanClaims(payload, new(jwtClaims)) {
		t.Errorf("scanClaims fell back on %s", payload)
	}
	sameClaims(t, payload)
}

// sampleValues are JSON values of every type and of the shapes the
// tolerant types read.
var sampleValues = []string{
	`"s"`, `""`, `"a\"b\u00e9\n"`, `"\ud800x"`, "\"\xff\"", `"é"`,
	`"2024-05-20T14:15:15Z"`, `"2024-05-20"`, `"1716214515227"`, `"48000.00"`, `"NaN"`, `"true"`,
	`0`, `-0`, `7`, `-1.5e3`, `1716214515227`, `1716214515.5`, `12345678901234567890`, `1e400`, `1E2`,
	`true`, `false`, `null`,
	`{}`, `{"uuid":"x","a":[1,"x"]}`,
	`[]`, `[1,"x",null,true,{},[]]`, `[{}]`, `[null]`, `[{"uuid":"u","label":"l","id":7,"email":"e"}]`,
}

// firstValues are the first values of a member given twice.
var firstValues = []string{
	`"s"`, `7`, `true`, `null`, `{"uuid":"x","label":"l","id":1}`,
	`[{"uuid":"u","label":"l","id":7,"email":"e","value":"v","selected":[]},{"uuid":"u2"}]`,
}

// object returns a JSON object with the members name: values..., after a
// uuid unless name is the uuid (so that entities are accepted).
func object(name string, values ...string) string {
	var b strings.Builder
	b.WriteString(`{`)
	if name != "uuid" {
		b.WriteString(`"uuid":"u1",`)
	}
	for i, v := range values {
		if i > 0 {
			b.WriteString(`,`)
		}
		b.WriteString(quote(name) + `:` + v)
	}
	b.WriteString(`}`)
	return b.String()
}

func quote(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// fieldBodies calls f for every field of the struct type t, and every
// field of the structs in its slices, with the path to the field, its
// name, and wrap, which builds the body around an object holding it.
func fieldBodies(t reflect.Type, wrap func(obj string) string, f func(path, name string, wrap func(obj string) string)) {
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" || name == "" {
			continue
		}
		f(name, name, wrap)
		if sf.Type.Kind() == reflect.Slice && sf.Type.Elem().Kind() == reflect.Struct {
			fieldBodies(sf.Type.Elem(), func(obj string) string {
				return wrap(object(name, `[`+obj+`,{"extra":1},null]`))
			}, func(path, leaf string, wrap func(string) string) { f(name+"[]."+path, leaf, wrap) })
		}
	}
}

// TestFastDecodeFields sets every field of every entity (and of the
// configuration and the claims) to values of every JSON type, alone and
// twice, and checks that both paths agree and that the fast path is taken
// for the single ones.
func TestFastDecodeFields(t *testing.T) {
	type entityCase struct {
		key string
		typ reflect.Type
		e   entity
	}
	cases := []entityCase{
		{"lead", reflect.TypeFor[Lead](), entityLead},
		{"deal", reflect.TypeFor[Deal](), entityDeal},
		{"note", reflect.TypeFor[Note](), entityNote},
		{"partnership", reflect.TypeFor[Partnership](), entityPartnership},
		{"partnership", reflect.TypeFor[Partnership](), entityContact},
		{"message", reflect.TypeFor[Message](), entityMessage},
		{"contact", reflect.TypeFor[PartnerContact](), entityContact},
		{"partner_contact", reflect.TypeFor[PartnerContact](), entityContact},
	}
	n := 0
	for _, c := range cases {
		spec := specFor(c.e)
		for _, v := range sampleValues {
			// The entity itself, of every type.
			for _, body := range []string{`{` + quote(c.key) + `:` + v + `}`, `{"configuration":null,` + quote(c.key) + `:` + v + `}`} {
				sameDecode(t, []byte(body), spec)
				n++
			}
			fieldBodies(c.typ, func(obj string) string {
				return `{` + quote(c.key) + `:` + obj + `}`
			}, func(path, name string, wrap func(string) string) {
				body := wrap(object(name, v))
				if !scanBody([]byte(body), spec.entity, new(wireBody)) {
					t.Errorf("%s.%s = %s: scanBody fell back", c.key, path, v)
				}
				sameDecode(t, []byte(body), spec)
				n++
				// The same member twice: encoding/json decodes the second
				// value over the first (merging objects, reusing slices);
				// the scanner falls back.
				for _, first := range firstValues {
					sameDecode(t, []byte(wrap(object(name, first, v))), spec)
					n++
				}
			})
		}
	}
	for _, v := range sampleValues {
		for _, spec := range []eventSpec{specFor(entityNone), specFor(entityLead)} {
			fieldBodies(reflect.TypeFor[configItem](), func(obj string) string {
				return `{"lead":{"uuid":"l"},"configuration":[` + obj + `]}`
			}, func(path, name string, wrap func(string) string) {
				sameDecode(t, []byte(wrap(object(name, v))), spec)
				n++
				for _, first := range firstValues {
					sameDecode(t, []byte(wrap(object(name, first, v))), spec)
					n++
				}
			})
			sameDecode(t, []byte(`{"lead":{"uuid":"l"},"configuration":`+v+`}`), spec)
			sameDecode(t, []byte(`{"lead":{"uuid":"l"},"configuration":[{"id":"i","selected":[`+v+`]}]}`), spec)
			n += 2
		}
		fieldBodies(reflect.TypeFor[jwtClaims](), func(obj string) string { return obj }, func(path, name string, _ func(string) string) {
			body := `{` + quote(name) + `:` + v + `}`
			if !scanClaims([]byte(body), new(jwtClaims)) {
				t.Errorf("claim %s = %s: scanClaims fell back", path, v)
			}
			sameClaims(t, []byte(body))
			n++
			for _, first := range firstValues {
				sameClaims(t, []byte(`{`+quote(name)+`:`+first+`,`+quote(name)+`:`+v+`}`))
				n++
			}
		})
	}
	t.Logf("%d bodies compared", n)
}

// TestFieldTables: the scanner's field tables name exactly the json fields
// of their structs, in order, and every name is lower-case ASCII (which
// scanner.unknown relies on).
func TestFieldTables(t *testing.T) {
	check := func(typ reflect.Type, names []string) {
		t.Helper()
		var want []string
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if name != "-" {
				want = append(want, name)
			}
		}
		if !reflect.DeepEqual(names, want) {
			t.Errorf("%v: table %q, json fields %q", typ, names, want)
		}
		for _, name := range names {
			for _, c := range []byte(name) {
				if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
					t.Errorf("%v: field name %q is not lower-case ASCII", typ, name)
				}
			}
		}
		if len(names) > 64 {
			t.Errorf("%v: %d fields, more than decodeObject's 64-bit set", typ, len(names))
		}
	}
	check(reflect.TypeFor[Lead](), tableNames(leadFields))
	check(reflect.TypeFor[Tag](), tableNames(tagFields))
	check(reflect.TypeFor[User](), tableNames(userFields))
	check(reflect.TypeFor[ReceivedFrom](), tableNames(receivedFromFields))
	check(reflect.TypeFor[CustomField](), tableNames(customFieldFields))
	check(reflect.TypeFor[Deal](), tableNames(dealFields))
	check(reflect.TypeFor[Payment](), tableNames(paymentFields))
	check(reflect.TypeFor[Note](), tableNames(noteFields))
	check(reflect.TypeFor[Partnership](), tableNames(partnershipFields))
	check(reflect.TypeFor[PartnerContact](), tableNames(partnerContactFields))
	check(reflect.TypeFor[Message](), tableNames(messageFields))
	check(reflect.TypeFor[Attachment](), tableNames(attachmentFields))
	check(reflect.TypeFor[configItem](), tableNames(configItemFields))
	check(reflect.TypeFor[SelectedOption](), tableNames(selectedOptionFields))
	check(reflect.TypeFor[jwtClaims](), tableNames(claimFields))
	// wireBody's members are matched by scanBody's switch.
	check(reflect.TypeFor[wireBody](), []string{"lead", "deal", "note", "partnership", "message", "contact", "partner_contact", "configuration"})
}

func tableNames[T any](fields []field[T]) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.name
	}
	return out
}

// TestScannerValidity: the scanner accepts exactly what json.Valid accepts
// (short of its nesting limit), on inputs at the edges of the grammar.
func TestScannerValidity(t *testing.T) {
	inputs := []string{
		`0`, `-0`, `01`, `-01`, `1.`, `.5`, `1.5`, `1e5`, `1E+5`, `1e-5`, `1e`, `1e+`, `-`, `+1`, `1.5e3.2`, `0x1`, `1_000`,
		`true`, `tru`, `truee`, `True`, `null`, `nul`, `false`, `fals`,
		`""`, `"a`, `"\"`, `"\\"`, `"\/"`, `"\b\f\n\r\t"`, `"\a"`, `"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\"",
		`{}`, `{ }`, `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":1 "b":2}`, `{a:1}`, `{"a":1}}`, `{"a":[}`,
		`[]`, `[ ]`, `[1]`, `[1,]`, `[,1]`, `[1 2]`, `[[]]`, `[[[]]`, `[}`,
		" \t\r\n{}\n", "{}\f", "\v{}", "\u00a0{}", `{} {}`, `{}x`, ``, ` `,
		strings.Repeat(`[`, maxDepth) + strings.Repeat(`]`, maxDepth),
	}
	for _, in := range inputs {
		s := scanner{b: []byte(in)}
		s.skipSpace()
		s.skip()
		s.end()
		if got, want := !s.bad, json.Valid([]byte(in)); got != want {
			t.Errorf("%q: scanner accepts: %v, json.Valid: %v", in, got, want)
		}
	}
	deep := strings.Repeat(`[`, maxDepth+1) + strings.Repeat(`]`, maxDepth+1)
	s := scanner{b: []byte(deep)}
	if s.skip(); !s.bad {
		t.Error("scanner follows nesting deeper than maxDepth")
	}
}

// TestFallbackErrors: invalid JSON takes encoding/json's error, offset
// included, through the fallback.
func TestFallbackErrors(t *testing.T) {
	spec := specFor(entityLead)
	for body, want := range map[string]error{
		`{"lead":{"uuid":"l"},}`: provider.ErrMalformedJSON,
		`{"lead":{"uuid":"l"}`:   provider.ErrMalformedJSON,
		`[{"lead":{}}]`:          provider.ErrInvalidPayload,
		`{"lead":{"uuid":"l"},"configuration":[{"id":"x"}]}`: provider.ErrInvalidPayload,
	} {
		_, _, err := decodeBody([]byte(body), spec, true)
		if !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", body, err, want)
		}
		sameDecode(t, []byte(body), spec)
	}
}
