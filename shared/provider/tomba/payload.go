package tomba

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookline/hookline/shared/provider"
)

// Payload is a save_lead body, {"data": {...}}. It is Delivery.Payload.
// Fields Tomba does not document are not decoded (the one strict decode
// still checks them); they stay in Delivery.Raw.
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

// wireBody is a body as the one strict decode reads it. Unlike the other
// providers', Tomba's fields are decoded strictly: a documented field of
// another JSON type than documented is refused.
type wireBody struct {
	Data *Lead `json:"data"` // nil when absent or null
}

// parse decodes an authenticated body with the one strict decoder, then
// validates it.
func parse(raw []byte) (*Payload, error) {
	var w wireBody
	var te *provider.TypeError
	switch err := provider.DecodeJSON(raw, &w); {
	case errors.Is(err, provider.ErrNotObject):
		return nil, invalid("body is not a JSON object")
	case errors.As(err, &te):
		return nil, invalid(te.Field() + " is not of its documented JSON type")
	case err != nil:
		return nil, fmt.Errorf("tomba: body: %w", err)
	}
	switch l := w.Data; {
	case l == nil:
		return nil, invalid("data is missing")
	case l.Email == "":
		return nil, invalid("data.email is missing or empty")
	case !strings.Contains(l.Email, "@"):
		return nil, invalid("data.email is not an email address")
	}
	return &Payload{Data: *w.Data}, nil
}
