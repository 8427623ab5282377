package tomba

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/hookline/hookline/shared/provider"
)

// Payload is a save_lead body, {"data": {...}}. It is Delivery.Payload.
// Fields Tomba does not document are not decoded; they stay in
// Delivery.Raw.
type Payload struct {
	Data Lead `json:"data"`
}

// Lead is the lead Tomba saved, with Tomba's documented types: email and
// website are strings, the others may be null ("*string"). Empty strings are
// kept as sent: Tomba's own example sends "" for every field.
type Lead struct {
	Email     string  `json:"email"`
	Website   string  `json:"website"` // "" when null or absent
	Company   *string `json:"company"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	Phone     *string `json:"phone"`
	Position  *string `json:"position"`
	Twitter   *string `json:"twitter"`
	LinkedIn  *string `json:"linkedin"`
	Notes     *string `json:"notes"`
	Score     *int64  `json:"score"` // nil when null or absent
}

// invalid returns a payload rejection. what names a field, never its value.
func invalid(what string) error {
	return fmt.Errorf("tomba: %w: %s", provider.ErrInvalidPayload, what)
}

// The documented members of data, in the order they are checked.
const (
	fEmail = iota
	fWebsite
	fCompany
	fFirstName
	fLastName
	fPhone
	fPosition
	fTwitter
	fLinkedIn
	fNotes
	fScore
	numFields
)

var fieldNames = [numFields]string{
	"email", "website", "company", "first_name", "last_name", "phone",
	"position", "twitter", "linkedin", "notes", "score",
}

// parse validates an authenticated body and decodes it.
func parse(raw []byte) (*Payload, error) {
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("tomba: %w", provider.ErrEmptyBody)
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("tomba: %w", provider.ErrMalformedJSON)
	}
	if trimmed[0] != '{' {
		return nil, invalid("body is not a JSON object")
	}
	var data []byte // a repeated member's last value counts, as with encoding/json
	for name, value := range members(trimmed) {
		if nameIs(name, "data") {
			data = value
		}
	}
	switch {
	case data == nil:
		return nil, invalid("data is missing")
	case data[0] != '{':
		return nil, invalid("data is not an object")
	}
	var vals [numFields][]byte // raw values of the documented fields, nil if absent
	for name, value := range members(data) {
		for i, f := range fieldNames {
			if nameIs(name, f) {
				vals[i] = value
			}
		}
	}

	p := &Payload{}
	l := &p.Data
	switch email, ok := provider.JSONString(vals[fEmail]); {
	case vals[fEmail] == nil:
		return nil, invalid("data.email is missing")
	case !ok:
		return nil, invalid("data.email is not a string")
	case email == "":
		return nil, invalid("data.email is empty")
	case !strings.Contains(email, "@"):
		return nil, invalid("data.email is not an email address")
	default:
		l.Email = email
	}
	var website *string
	var err error
	for _, f := range [...]struct {
		field int
		dst   **string
	}{
		{fWebsite, &website}, {fCompany, &l.Company}, {fFirstName, &l.FirstName}, {fLastName, &l.LastName},
		{fPhone, &l.Phone}, {fPosition, &l.Position}, {fTwitter, &l.Twitter}, {fLinkedIn, &l.LinkedIn},
		{fNotes, &l.Notes},
	} {
		if *f.dst, err = nullableString(fieldNames[f.field], vals[f.field]); err != nil {
			return nil, err
		}
	}
	if website != nil {
		l.Website = *website
	}
	if l.Score, err = nullableInt(fieldNames[fScore], vals[fScore]); err != nil {
		return nil, err
	}
	return p, nil
}

// nameIs reports whether the raw JSON string name decodes to s.
func nameIs(name []byte, s string) bool {
	if inner := name[1 : len(name)-1]; bytes.IndexByte(inner, '\\') < 0 {
		return string(inner) == s
	}
	u, ok := provider.JSONString(name)
	return ok && u == s
}

// nullableString decodes the raw value of data.<name>, which must be a
// string, null or absent (nil for the last two).
func nullableString(name string, raw []byte) (*string, error) {
	if raw == nil || raw[0] == 'n' {
		return nil, nil
	}
	s, ok := provider.JSONString(raw)
	if !ok {
		return nil, invalid("data." + name + " is not a string")
	}
	return &s, nil
}

// nullableInt decodes the raw value of data.<name>, which must be an integer
// (a JSON number without fraction or exponent, within int64), null or absent
// (nil for the last two).
func nullableInt(name string, raw []byte) (*int64, error) {
	if raw == nil || raw[0] == 'n' {
		return nil, nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return nil, invalid("data." + name + " is not an integer")
	}
	return &n, nil
}
