package journeybee

import (
	"encoding/json"
	"strconv"
)

// The fast decoding path.
//
// Decoding the body with encoding/json was most of Verify's cost (about
// three quarters of it for a 2 KB lead): the decoder validates the whole
// input in a first pass, then walks it again through reflection, and scans
// every value of a json.Unmarshaler type (Timestamp, Number, Bool, ID,
// json.RawMessage) once more to find its end before handing it over. The
// scanner below reads the body once: it checks that the input is valid
// JSON and, in the same pass, decodes the members parseBody needs straight
// into the typed structs. The token's claims (decodeClaims), the
// configuration array and the partner contact are read the same way.
//
// It is not a second JSON decoder with its own semantics: it must give
// exactly what encoding/json gives, and it is built so that it does so by
// construction.
//
//   - It only ever accepts what encoding/json's scanner accepts (RFC 8259:
//     the same string, escape, number and literal grammar, no trailing
//     data). It is stricter in one way only: nesting deeper than maxDepth.
//   - It handles only the ordinary case and gives up on anything else, in
//     which case the caller runs the encoding/json path from the start:
//     input that is not valid JSON (so syntax errors and their offsets come
//     from encoding/json), a body that is not an object, a member name
//     that encoding/json would match against a field case-insensitively
//     or that needs unescaping (any name other than a field's own name
//     that has an upper-case letter, a byte outside printable ASCII or a
//     backslash), and a field given twice in one object (encoding/json
//     would merge the two values).
//   - What it decodes, it decodes the way encoding/json does, value type by
//     value type: a json.Unmarshaler field gets the value's exact bytes
//     through its own UnmarshalJSON method; a string gets what
//     encoding/json would unquote (jsonString falls back to encoding/json
//     for escapes and bad UTF-8); an int64 gets strconv.ParseInt's result
//     when the value is a number that fits; a slice is nil for null,
//     non-nil (possibly empty) for an array, one element per array element,
//     a struct element is zero unless the element is an object; a pointer
//     to a struct is nil for null and points to a zero struct for any other
//     non-object. A value of any other, mismatched type leaves its field
//     unchanged, like encoding/json's (ignored) UnmarshalTypeError does.
//   - Values the caller does not use (entities of other events, unknown
//     members) are only validated.
//
// FuzzDecodeMatches checks the result against the encoding/json path
// (decodeBody and decodeClaims with fast=false, which is the code as it was
// before the scanner) for arbitrary inputs, and TestFastDecodeFields does
// so for every field with values of every JSON type, alone and repeated;
// TestFieldTables checks the field tables against the json tags, and
// TestFastPathTaken that every fixture takes the fast path.

// maxDepth bounds the nesting the scanner follows; deeper input falls back
// to encoding/json (whose own limit is 10000).
const maxDepth = 500

// scanner reads one JSON text. A failure (invalid or unusual input) is
// sticky: it sets bad and moves to the end of the input, where every read
// fails too, so that decoders unwind without checking after each step.
type scanner struct {
	b     []byte
	i     int
	depth int
	bad   bool
	name  []byte // the current member's name, without quotes (see member)
}

// fail gives up on the input: the caller falls back to encoding/json.
func (s *scanner) fail() {
	s.bad = true
	s.i = len(s.b)
}

// peek returns the byte at the read position, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// skipSpace moves past JSON white space.
func (s *scanner) skipSpace() {
	b, i := s.b, s.i
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	s.i = i
}

// end checks that only white space is left.
func (s *scanner) end() {
	s.skipSpace()
	if s.i != len(s.b) {
		s.fail()
	}
}

// enter consumes the '{' or '[' at the read position.
func (s *scanner) enter() {
	s.i++
	if s.depth++; s.depth > maxDepth {
		s.fail()
	}
}

// member moves to the next member of the object being read. n counts the
// members read so far (0 right after enter). It returns false after
// consuming the closing brace, or on a syntax error; otherwise s.name is
// the member's name as written, without its quotes, and the read position
// is at the value.
func (s *scanner) member(n *int) bool {
	s.skipSpace()
	switch c := s.peek(); {
	case c == '}':
		s.i++
		s.depth--
		return false
	case *n > 0 && c == ',':
		s.i++
		s.skipSpace()
	case *n > 0:
		s.fail()
		return false
	}
	*n++
	if s.peek() != '"' {
		s.fail()
		return false
	}
	start := s.i
	s.scanString()
	if s.bad {
		return false
	}
	s.name = s.b[start+1 : s.i-1]
	s.skipSpace()
	if s.peek() != ':' {
		s.fail()
		return false
	}
	s.i++
	s.skipSpace()
	return true
}

// element moves to the next element of the array being read, like member.
func (s *scanner) element(n *int) bool {
	s.skipSpace()
	switch c := s.peek(); {
	case c == ']':
		s.i++
		s.depth--
		return false
	case *n > 0 && c == ',':
		s.i++
		s.skipSpace()
	case *n > 0:
		s.fail()
		return false
	}
	*n++
	return true // the value's own reader rejects ']' or ',' here
}

// scanString reads the string at the read position (at its opening
// quote). It reports whether the string is plain: printable ASCII without
// escapes, so that its contents are its value.
func (s *scanner) scanString() (plain bool) {
	b := s.b
	plain = true
	for i := s.i + 1; i < len(b); {
		if c := b[i]; c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			i++ // the usual case first
			continue
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return plain
		case c == '\\':
			plain = false
			if i+1 >= len(b) {
				s.fail()
				return false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					s.fail()
					return false
				}
				i += 6
			default:
				s.fail()
				return false
			}
		case c < 0x20:
			s.fail()
			return false
		default: // 0x7f and up: DEL, or UTF-8 (valid or not)
			plain = false
			i++
		}
	}
	s.fail() // unterminated
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// scanNumber reads the number at the read position:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) scanNumber() {
	b, i := s.b, s.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		s.fail()
		return
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			s.fail()
			return
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			s.fail()
			return
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	}
	s.i = i
}

// scanLiteral reads the literal word (true, false or null).
func (s *scanner) scanLiteral(word string) {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		s.fail()
		return
	}
	s.i += len(word)
}

// skip reads (validates) the value at the read position.
func (s *scanner) skip() {
	switch c := s.peek(); {
	case c == '{':
		s.enter()
		for n := 0; s.member(&n); {
			s.skip()
		}
	case c == '[':
		s.enter()
		for n := 0; s.element(&n); {
			s.skip()
		}
	case c == '"':
		s.scanString()
	case c == '-' || isDigit(c):
		s.scanNumber()
	case c == 't':
		s.scanLiteral("true")
	case c == 'f':
		s.scanLiteral("false")
	case c == 'n':
		s.scanLiteral("null")
	default:
		s.fail()
	}
}

// value reads the value at the read position and returns its bytes, or nil
// on failure.
func (s *scanner) value() []byte {
	start := s.i
	s.skip()
	if s.bad {
		return nil
	}
	return s.b[start:s.i]
}

// unknown skips the value of a member that is not a field of the struct
// being decoded. encoding/json would still match the name to a field
// after unescaping it, or case-insensitively, with Unicode folding (U+212A
// KELVIN SIGN matches "k", U+017F LONG S matches "s"). Every field name is
// lower-case ASCII, so a name of printable ASCII without upper-case
// letters or backslashes cannot match; any other name is left to
// encoding/json.
func (s *scanner) unknown() {
	for _, c := range s.name {
		if c < 0x20 || c >= 0x7f || 'A' <= c && c <= 'Z' || c == '\\' {
			s.fail()
			return
		}
	}
	s.skip()
}

// str decodes a string field: a JSON string sets it, any other value
// leaves it unchanged.
func (s *scanner) str(dst *string) {
	if s.peek() != '"' {
		s.skip()
		return
	}
	start := s.i
	plain := s.scanString()
	switch {
	case s.bad:
	case plain:
		*dst = string(s.b[start+1 : s.i-1])
	default:
		*dst = jsonString(s.b[start:s.i])
	}
}

// unmarshal decodes a field whose type implements json.Unmarshaler (none
// of which fails) from the value's exact bytes, as encoding/json does.
func (s *scanner) unmarshal(dst json.Unmarshaler) {
	if v := s.value(); v != nil {
		_ = dst.UnmarshalJSON(v)
	}
}

// integer decodes an int64 field: a number that strconv.ParseInt reads sets
// it, any other value leaves it unchanged.
func (s *scanner) integer(dst *int64) {
	if c := s.peek(); c != '-' && !isDigit(c) {
		s.skip()
		return
	}
	start := s.i
	s.scanNumber()
	if s.bad {
		return
	}
	if n, err := strconv.ParseInt(string(s.b[start:s.i]), 10, 64); err == nil {
		*dst = n
	}
}

// field decodes one member of a T, named name.
type field[T any] struct {
	name string
	dec  func(s *scanner, v *T)
}

// decodeObject decodes an object into v with the given fields (a member
// not among them is skipped); any other value leaves v unchanged. A field
// given twice fails the scan: encoding/json would decode the second value
// over the first, merging objects and reusing slices.
func decodeObject[T any](s *scanner, v *T, fields []field[T]) {
	if s.peek() != '{' {
		s.skip()
		return
	}
	s.enter()
	var seen uint64
	hint := 0 // members usually come in the struct's order
	for n := 0; s.member(&n); {
		k := lookup(fields, s.name, hint)
		if k < 0 {
			s.unknown()
			continue
		}
		if seen&(1<<k) != 0 {
			s.fail()
			return
		}
		seen |= 1 << k
		fields[k].dec(s, v)
		hint = k + 1
	}
}

// lookup returns the index of the field named name, trying from hint on
// first, or -1.
func lookup[T any](fields []field[T], name []byte, hint int) int {
	for i := hint; i < len(fields); i++ {
		if fields[i].name == string(name) {
			return i
		}
	}
	for i := 0; i < hint && i < len(fields); i++ {
		if fields[i].name == string(name) {
			return i
		}
	}
	return -1
}

// decodeSlice decodes a slice: an array sets it (non-nil, even if empty)
// with one element per array element, each decoded by elem from its zero
// value; null sets it to nil; any other value leaves it unchanged.
func decodeSlice[T any](s *scanner, dst *[]T, elem func(*scanner, *T)) {
	switch s.peek() {
	case '[':
		out := []T{}
		s.enter()
		for n := 0; s.element(&n); {
			var zero T
			out = append(out, zero)
			elem(s, &out[len(out)-1])
		}
		*dst = out
	case 'n':
		s.skip()
		*dst = nil
	default:
		s.skip()
	}
}

// decodePtr decodes a pointer to a struct: an object sets it to a new
// struct decoded with fields, null to nil, any other value to a new zero
// struct (encoding/json allocates it before finding the type mismatch).
func decodePtr[T any](s *scanner, dst **T, fields []field[T]) {
	switch s.peek() {
	case '{':
		v := new(T)
		decodeObject(s, v, fields)
		*dst = v
	case 'n':
		s.skip()
		*dst = nil
	default:
		s.skip()
		*dst = new(T)
	}
}

// scanBody is the fast counterpart of json.Unmarshal(raw, w): it decodes
// the top-level members of the body raw into w, but of the entities only
// the one(s) event entity e uses, and reports whether it could. The
// contact members are copied (they are kept as PartnerContact.Raw);
// w.Configuration is a slice of raw.
func scanBody(raw []byte, e entity, w *wireBody) bool {
	s := scanner{b: raw}
	s.skipSpace()
	if s.peek() != '{' {
		return false // not an object, or not JSON: encoding/json's error
	}
	s.enter()
	var seen uint16
	once := func(bit uint16) bool {
		if seen&bit != 0 {
			s.fail()
			return false
		}
		seen |= bit
		return true
	}
	for n := 0; s.member(&n); {
		switch string(s.name) {
		case "lead":
			if e == entityLead && once(1) {
				decodePtr(&s, &w.Lead, leadFields)
				continue
			}
		case "deal":
			if e == entityDeal && once(2) {
				decodePtr(&s, &w.Deal, dealFields)
				continue
			}
		case "note":
			if e == entityNote && once(4) {
				decodePtr(&s, &w.Note, noteFields)
				continue
			}
		case "message":
			if e == entityMessage && once(8) {
				decodePtr(&s, &w.Message, messageFields)
				continue
			}
		case "partnership":
			if (e == entityPartnership || e == entityContact) && once(16) {
				decodePtr(&s, &w.Partnership, partnershipFields)
				continue
			}
		case "contact":
			if e == entityContact && once(32) {
				s.unmarshal(&w.Contact) // a copy
				continue
			}
		case "partner_contact":
			if e == entityContact && once(64) {
				s.unmarshal(&w.PartnerContact)
				continue
			}
		case "configuration":
			if once(128) {
				w.Configuration = s.value()
				continue
			}
		default:
			s.unknown()
			continue
		}
		s.skip() // a member this event does not use (or a failed once)
	}
	s.end()
	return !s.bad
}

// scanConfiguration is the fast counterpart of json.Unmarshal(raw, items)
// for a configuration array, and reports whether it could decode it.
func scanConfiguration(raw []byte, items *[]configItem) bool {
	s := scanner{b: raw}
	s.skipSpace()
	if s.peek() != '[' {
		return false
	}
	decodeSlice(&s, items, func(s *scanner, it *configItem) { decodeObject(s, it, configItemFields) })
	s.end()
	return !s.bad
}

// scanContact is the fast counterpart of json.Unmarshal(raw, c) for a
// partner contact object, and reports whether it could decode it (c is
// then partly decoded: use a fresh one for the fallback).
func scanContact(raw []byte, c *PartnerContact) bool {
	s := scanner{b: raw}
	s.skipSpace()
	if s.peek() != '{' {
		return false
	}
	decodeObject(&s, c, partnerContactFields)
	s.end()
	return !s.bad
}

// The fields of each struct, as encoding/json sees them (TestFieldTables
// checks the names against the json tags).

var leadFields = []field[Lead]{
	{"uuid", func(s *scanner, v *Lead) { s.str(&v.UUID) }},
	{"created_at", func(s *scanner, v *Lead) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *Lead) { s.unmarshal(&v.UpdatedAt) }},
	{"company_name", func(s *scanner, v *Lead) { s.str(&v.CompanyName) }},
	{"email", func(s *scanner, v *Lead) { s.str(&v.Email) }},
	{"phone_number", func(s *scanner, v *Lead) { s.str(&v.PhoneNumber) }},
	{"first_name", func(s *scanner, v *Lead) { s.str(&v.FirstName) }},
	{"last_name", func(s *scanner, v *Lead) { s.str(&v.LastName) }},
	{"created_by_user_uuid", func(s *scanner, v *Lead) { s.str(&v.CreatedByUserUUID) }},
	{"created_by_user_email", func(s *scanner, v *Lead) { s.str(&v.CreatedByUserEmail) }},
	{"created_by_user_first_name", func(s *scanner, v *Lead) { s.str(&v.CreatedByUserFirstName) }},
	{"created_by_user_last_name", func(s *scanner, v *Lead) { s.str(&v.CreatedByUserLastName) }},
	{"custom_fields", func(s *scanner, v *Lead) { decodeSlice(s, &v.CustomFields, customFieldElem) }},
	{"tags", func(s *scanner, v *Lead) { decodeSlice(s, &v.Tags, tagElem) }},
	{"assigned_users", func(s *scanner, v *Lead) { decodeSlice(s, &v.AssignedUsers, userElem) }},
	{"received_from_company", func(s *scanner, v *Lead) { decodeSlice(s, &v.ReceivedFromCompany, receivedFromElem) }},
	{"sent_to_companies", func(s *scanner, v *Lead) { decodeSlice(s, &v.SentToCompanies, rawElem) }},
}

var tagFields = []field[Tag]{
	{"uuid", func(s *scanner, v *Tag) { s.str(&v.UUID) }},
	{"label", func(s *scanner, v *Tag) { s.str(&v.Label) }},
	{"background_color", func(s *scanner, v *Tag) { s.str(&v.BackgroundColor) }},
	{"text_color", func(s *scanner, v *Tag) { s.str(&v.TextColor) }},
}

var userFields = []field[User]{
	{"id", func(s *scanner, v *User) { s.unmarshal(&v.ID) }},
	{"uuid", func(s *scanner, v *User) { s.str(&v.UUID) }},
	{"email", func(s *scanner, v *User) { s.str(&v.Email) }},
	{"first_name", func(s *scanner, v *User) { s.str(&v.FirstName) }},
	{"last_name", func(s *scanner, v *User) { s.str(&v.LastName) }},
	{"profile_image_id", func(s *scanner, v *User) { s.unmarshal(&v.ProfileImageID) }},
	{"profile_image_uuid", func(s *scanner, v *User) { s.str(&v.ProfileImageUUID) }},
}

var receivedFromFields = []field[ReceivedFrom]{
	{"partnership_uuid", func(s *scanner, v *ReceivedFrom) { s.str(&v.PartnershipUUID) }},
	{"company_name", func(s *scanner, v *ReceivedFrom) { s.str(&v.CompanyName) }},
	{"company_domain", func(s *scanner, v *ReceivedFrom) { s.str(&v.CompanyDomain) }},
	{"sent_date", func(s *scanner, v *ReceivedFrom) { s.unmarshal(&v.SentDate) }},
	{"sent_by_user_email", func(s *scanner, v *ReceivedFrom) { s.str(&v.SentByUserEmail) }},
	{"sent_by_user_first_name", func(s *scanner, v *ReceivedFrom) { s.str(&v.SentByUserFirstName) }},
	{"sent_by_user_last_name", func(s *scanner, v *ReceivedFrom) { s.str(&v.SentByUserLastName) }},
	{"partner_type", func(s *scanner, v *ReceivedFrom) { s.str(&v.PartnerType) }},
}

var customFieldFields = []field[CustomField]{
	{"uuid", func(s *scanner, v *CustomField) { s.str(&v.UUID) }},
	{"label", func(s *scanner, v *CustomField) { s.str(&v.Label) }},
	{"type", func(s *scanner, v *CustomField) { s.str(&v.Type) }},
	{"value", func(s *scanner, v *CustomField) { s.unmarshal(&v.Value) }},
	{"custom_field_value_uuid", func(s *scanner, v *CustomField) { s.str(&v.CustomFieldValueUUID) }},
	{"options", func(s *scanner, v *CustomField) { s.unmarshal(&v.Options) }},
}

var dealFields = []field[Deal]{
	{"uuid", func(s *scanner, v *Deal) { s.str(&v.UUID) }},
	{"created_at", func(s *scanner, v *Deal) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *Deal) { s.unmarshal(&v.UpdatedAt) }},
	{"label", func(s *scanner, v *Deal) { s.str(&v.Label) }},
	{"deal_value", func(s *scanner, v *Deal) { s.unmarshal(&v.DealValue) }},
	{"total_commission_value", func(s *scanner, v *Deal) { s.unmarshal(&v.TotalCommissionValue) }},
	{"commission_calculation", func(s *scanner, v *Deal) { s.unmarshal(&v.CommissionCalculation) }},
	{"currency_code", func(s *scanner, v *Deal) { s.str(&v.CurrencyCode) }},
	{"currency_label", func(s *scanner, v *Deal) { s.str(&v.CurrencyLabel) }},
	{"lead_uuid", func(s *scanner, v *Deal) { s.str(&v.LeadUUID) }},
	{"stage_uuid", func(s *scanner, v *Deal) { s.str(&v.StageUUID) }},
	{"stage_phase", func(s *scanner, v *Deal) { s.str(&v.StagePhase) }},
	{"payment_stage_uuid", func(s *scanner, v *Deal) { s.str(&v.PaymentStageUUID) }},
	{"partnership_uuid", func(s *scanner, v *Deal) { s.str(&v.PartnershipUUID) }},
	{"partnership_name", func(s *scanner, v *Deal) { s.str(&v.PartnershipName) }},
	{"partner_company_name", func(s *scanner, v *Deal) { s.str(&v.PartnerCompanyName) }},
	{"partner_company_domain", func(s *scanner, v *Deal) { s.str(&v.PartnerCompanyDomain) }},
	{"deal_owned_by_reseller", func(s *scanner, v *Deal) { s.unmarshal(&v.DealOwnedByReseller) }},
	{"expiration_date", func(s *scanner, v *Deal) { s.unmarshal(&v.ExpirationDate) }},
	{"lead_created_at", func(s *scanner, v *Deal) { s.unmarshal(&v.LeadCreatedAt) }},
	{"custom_fields", func(s *scanner, v *Deal) { decodeSlice(s, &v.CustomFields, customFieldElem) }},
	{"tags", func(s *scanner, v *Deal) { decodeSlice(s, &v.Tags, tagElem) }},
	{"assigned_users", func(s *scanner, v *Deal) { decodeSlice(s, &v.AssignedUsers, userElem) }},
	{"assigned_contacts", func(s *scanner, v *Deal) { decodeSlice(s, &v.AssignedContacts, userElem) }},
	{"payments", func(s *scanner, v *Deal) { decodeSlice(s, &v.Payments, paymentElem) }},
}

var paymentFields = []field[Payment]{
	{"uuid", func(s *scanner, v *Payment) { s.str(&v.UUID) }},
	{"created_at", func(s *scanner, v *Payment) { s.unmarshal(&v.CreatedAt) }},
	{"payment_date", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentDate) }},
	{"payment_value", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentValue) }},
	{"payment_processing", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentProcessing) }},
	{"payment_completed", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentCompleted) }},
	{"approved", func(s *scanner, v *Payment) { s.unmarshal(&v.Approved) }},
	{"payment_processing_date", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentProcessingDate) }},
	{"payment_completed_date", func(s *scanner, v *Payment) { s.unmarshal(&v.PaymentCompletedDate) }},
}

var noteFields = []field[Note]{
	{"uuid", func(s *scanner, v *Note) { s.str(&v.UUID) }},
	{"created_at", func(s *scanner, v *Note) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *Note) { s.unmarshal(&v.UpdatedAt) }},
	{"document", func(s *scanner, v *Note) { s.str(&v.Document) }},
	{"user_uuid", func(s *scanner, v *Note) { s.str(&v.UserUUID) }},
	{"user_email", func(s *scanner, v *Note) { s.str(&v.UserEmail) }},
	{"user_first_name", func(s *scanner, v *Note) { s.str(&v.UserFirstName) }},
	{"user_last_name", func(s *scanner, v *Note) { s.str(&v.UserLastName) }},
	{"lead_uuid", func(s *scanner, v *Note) { s.str(&v.LeadUUID) }},
	{"lead_deal_uuid", func(s *scanner, v *Note) { s.str(&v.LeadDealUUID) }},
}

var partnershipFields = []field[Partnership]{
	{"uuid", func(s *scanner, v *Partnership) { s.str(&v.UUID) }},
	{"company_name", func(s *scanner, v *Partnership) { s.str(&v.CompanyName) }},
	{"company_domain", func(s *scanner, v *Partnership) { s.str(&v.CompanyDomain) }},
	{"company_website", func(s *scanner, v *Partnership) { s.str(&v.CompanyWebsite) }},
	{"company_description", func(s *scanner, v *Partnership) { s.str(&v.CompanyDescription) }},
	{"company_email", func(s *scanner, v *Partnership) { s.str(&v.CompanyEmail) }},
	{"company_phone_number", func(s *scanner, v *Partnership) { s.str(&v.CompanyPhoneNumber) }},
	{"country_uuid", func(s *scanner, v *Partnership) { s.str(&v.CountryUUID) }},
	{"country_label", func(s *scanner, v *Partnership) { s.str(&v.CountryLabel) }},
	{"industry_uuid", func(s *scanner, v *Partnership) { s.str(&v.IndustryUUID) }},
	{"industry_label", func(s *scanner, v *Partnership) { s.str(&v.IndustryLabel) }},
	{"stage_uuid", func(s *scanner, v *Partnership) { s.str(&v.StageUUID) }},
	{"stage_label", func(s *scanner, v *Partnership) { s.str(&v.StageLabel) }},
	{"category_uuid", func(s *scanner, v *Partnership) { s.str(&v.CategoryUUID) }},
	{"category_label", func(s *scanner, v *Partnership) { s.str(&v.CategoryLabel) }},
	{"tier_uuid", func(s *scanner, v *Partnership) { s.str(&v.TierUUID) }},
	{"tier_label", func(s *scanner, v *Partnership) { s.str(&v.TierLabel) }},
	{"custom_fields", func(s *scanner, v *Partnership) { decodeSlice(s, &v.CustomFields, customFieldElem) }},
	{"created_at", func(s *scanner, v *Partnership) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *Partnership) { s.unmarshal(&v.UpdatedAt) }},
}

var partnerContactFields = []field[PartnerContact]{
	{"uuid", func(s *scanner, v *PartnerContact) { s.str(&v.UUID) }},
	{"id", func(s *scanner, v *PartnerContact) { s.unmarshal(&v.ID) }},
	{"email", func(s *scanner, v *PartnerContact) { s.str(&v.Email) }},
	{"first_name", func(s *scanner, v *PartnerContact) { s.str(&v.FirstName) }},
	{"last_name", func(s *scanner, v *PartnerContact) { s.str(&v.LastName) }},
	{"position", func(s *scanner, v *PartnerContact) { s.str(&v.Position) }},
	{"phone_number", func(s *scanner, v *PartnerContact) { s.str(&v.PhoneNumber) }},
	{"company_name", func(s *scanner, v *PartnerContact) { s.str(&v.CompanyName) }},
	{"partnership_uuid", func(s *scanner, v *PartnerContact) { s.str(&v.PartnershipUUID) }},
	{"partnership_id", func(s *scanner, v *PartnerContact) { s.unmarshal(&v.PartnershipID) }},
	{"created_at", func(s *scanner, v *PartnerContact) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *PartnerContact) { s.unmarshal(&v.UpdatedAt) }},
	// Raw is `json:"-"`: encoding/json never sets it, nor does this.
}

var messageFields = []field[Message]{
	{"uuid", func(s *scanner, v *Message) { s.str(&v.UUID) }},
	{"created_at", func(s *scanner, v *Message) { s.unmarshal(&v.CreatedAt) }},
	{"updated_at", func(s *scanner, v *Message) { s.unmarshal(&v.UpdatedAt) }},
	{"content", func(s *scanner, v *Message) { s.unmarshal(&v.Content) }},
	{"replied_to_message_uuid", func(s *scanner, v *Message) { s.str(&v.RepliedToMessageUUID) }},
	{"room_uuid", func(s *scanner, v *Message) { s.str(&v.RoomUUID) }},
	{"created_by_user_uuid", func(s *scanner, v *Message) { s.str(&v.CreatedByUserUUID) }},
	{"created_by_user_email", func(s *scanner, v *Message) { s.str(&v.CreatedByUserEmail) }},
	{"created_by_user_first_name", func(s *scanner, v *Message) { s.str(&v.CreatedByUserFirstName) }},
	{"created_by_user_last_name", func(s *scanner, v *Message) { s.str(&v.CreatedByUserLastName) }},
	{"created_by_user_profile_image_url", func(s *scanner, v *Message) { s.str(&v.CreatedByUserProfileImageURL) }},
	{"created_by_user_company_uuid", func(s *scanner, v *Message) { s.str(&v.CreatedByUserCompanyUUID) }},
	{"created_by_user_company_name", func(s *scanner, v *Message) { s.str(&v.CreatedByUserCompanyName) }},
	{"attachments", func(s *scanner, v *Message) { decodeSlice(s, &v.Attachments, attachmentElem) }},
	{"partnership_uuid", func(s *scanner, v *Message) { s.str(&v.PartnershipUUID) }},
	{"partnership_name", func(s *scanner, v *Message) { s.str(&v.PartnershipName) }},
	{"partner_type", func(s *scanner, v *Message) { s.str(&v.PartnerType) }},
	{"company_name", func(s *scanner, v *Message) { s.str(&v.CompanyName) }},
}

var attachmentFields = []field[Attachment]{
	{"uuid", func(s *scanner, v *Attachment) { s.str(&v.UUID) }},
	{"file_name", func(s *scanner, v *Attachment) { s.str(&v.FileName) }},
	{"file_size", func(s *scanner, v *Attachment) { s.integer(&v.FileSize) }},
	{"mime_type", func(s *scanner, v *Attachment) { s.str(&v.MimeType) }},
	{"file_url", func(s *scanner, v *Attachment) { s.str(&v.FileURL) }},
}

var configItemFields = []field[configItem]{
	{"id", func(s *scanner, v *configItem) { v.ID = s.value() }}, // only read by jsonString: need not be a copy
	{"selected", func(s *scanner, v *configItem) { decodeSlice(s, &v.Selected, selectedOptionElem) }},
}

var selectedOptionFields = []field[SelectedOption]{
	{"id", func(s *scanner, v *SelectedOption) { s.str(&v.ID) }},
	{"value", func(s *scanner, v *SelectedOption) { s.str(&v.Value) }},
}

// Element decoders for decodeSlice.

func customFieldElem(s *scanner, v *CustomField)       { decodeObject(s, v, customFieldFields) }
func tagElem(s *scanner, v *Tag)                       { decodeObject(s, v, tagFields) }
func userElem(s *scanner, v *User)                     { decodeObject(s, v, userFields) }
func receivedFromElem(s *scanner, v *ReceivedFrom)     { decodeObject(s, v, receivedFromFields) }
func paymentElem(s *scanner, v *Payment)               { decodeObject(s, v, paymentFields) }
func attachmentElem(s *scanner, v *Attachment)         { decodeObject(s, v, attachmentFields) }
func selectedOptionElem(s *scanner, v *SelectedOption) { decodeObject(s, v, selectedOptionFields) }
func rawElem(s *scanner, v *json.RawMessage)           { s.unmarshal(v) }

// scanClaims is the fast counterpart of json.Unmarshal(payload, c) for a
// token's claims object, and reports whether it could decode it (c is then
// partly decoded: use a fresh one for the fallback). Every claim type is a
// json.Unmarshaler that never fails and other members are ignored, so for
// an object encoding/json fails only on invalid JSON, which this refuses.
func scanClaims(payload []byte, c *jwtClaims) bool {
	s := scanner{b: payload}
	s.skipSpace()
	if s.peek() != '{' {
		return false
	}
	decodeObject(&s, c, claimFields)
	s.end()
	return !s.bad
}

var claimFields = []field[jwtClaims]{
	{"company_uuid", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.CompanyUUID) }},
	{"user_uuid", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.UserUUID) }},
	{"event_id", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.EventID) }},
	{"exp", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.Exp) }},
	{"iat", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.Iat) }},
	{"nbf", func(s *scanner, v *jwtClaims) { s.unmarshal(&v.Nbf) }},
}
