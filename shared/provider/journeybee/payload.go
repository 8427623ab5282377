package journeybee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/hookline/hookline/shared/provider"
)

// Payload is a JourneyBee body, typed (Delivery.Payload is a *Payload).
// Only the object the event is about is set; for a partner contact event
// the partnership is set too when the body carries one. Events without a
// documented body (payments.*, mdf.*, unknown ones) have no entity here:
// the body itself is Delivery.Raw.
//
// Decoding is tolerant: a field of an unexpected type is left at its zero
// value instead of rejecting the delivery, and fields whose shape is
// undocumented or varies are kept as raw JSON. Only the entity's uuid and
// the configuration's shape are required.
type Payload struct {
	Lead        *Lead           `json:"lead,omitempty"`
	Deal        *Deal           `json:"deal,omitempty"`
	Note        *Note           `json:"note,omitempty"`
	Partnership *Partnership    `json:"partnership,omitempty"`
	Message     *Message        `json:"message,omitempty"`
	Contact     *PartnerContact `json:"contact,omitempty"` // body key "contact" or "partner_contact"
	// Configuration is the integration's settings (legacy deliveries only).
	Configuration []Configuration `json:"configuration,omitempty"`
}

// Lead is the "lead" object of lead_* events [J2].
type Lead struct {
	UUID                   string            `json:"uuid"`
	CreatedAt              Timestamp         `json:"created_at"`
	UpdatedAt              Timestamp         `json:"updated_at"`
	CompanyName            string            `json:"company_name"`
	Email                  string            `json:"email"`
	PhoneNumber            string            `json:"phone_number"`
	FirstName              string            `json:"first_name"`
	LastName               string            `json:"last_name"`
	CreatedByUserUUID      string            `json:"created_by_user_uuid"`
	CreatedByUserEmail     string            `json:"created_by_user_email"`
	CreatedByUserFirstName string            `json:"created_by_user_first_name"`
	CreatedByUserLastName  string            `json:"created_by_user_last_name"`
	CustomFields           []CustomField     `json:"custom_fields"`
	Tags                   []Tag             `json:"tags"`
	AssignedUsers          []User            `json:"assigned_users"`
	ReceivedFromCompany    []ReceivedFrom    `json:"received_from_company"`
	SentToCompanies        []json.RawMessage `json:"sent_to_companies"` // element shape undocumented
}

// Tag is a label on a lead ({uuid, label}) or a deal (with colours).
type Tag struct {
	UUID            string `json:"uuid"`
	Label           string `json:"label"`
	BackgroundColor string `json:"background_color,omitempty"`
	TextColor       string `json:"text_color,omitempty"`
}

// User is a JourneyBee user or contact referenced by an entity. Lead users
// carry a uuid, legacy deal users a numeric id, newer deal users both.
type User struct {
	ID               ID     `json:"id,omitempty"`
	UUID             string `json:"uuid,omitempty"`
	Email            string `json:"email"`
	FirstName        string `json:"first_name"`
	LastName         string `json:"last_name"`
	ProfileImageID   ID     `json:"profile_image_id,omitempty"`
	ProfileImageUUID string `json:"profile_image_uuid,omitempty"`
}

// ReceivedFrom is the partner a lead was received from.
type ReceivedFrom struct {
	PartnershipUUID     string    `json:"partnership_uuid"`
	CompanyName         string    `json:"company_name"`
	CompanyDomain       string    `json:"company_domain"`
	SentDate            Timestamp `json:"sent_date"`
	SentByUserEmail     string    `json:"sent_by_user_email"`
	SentByUserFirstName string    `json:"sent_by_user_first_name"`
	SentByUserLastName  string    `json:"sent_by_user_last_name"`
	PartnerType         string    `json:"partner_type"`
}

// CustomField is one custom field value. Value is any JSON (style B types
// it as {text|number|date|boolean|select|multi_select}); Options varies.
type CustomField struct {
	UUID                 string          `json:"uuid"`
	Label                string          `json:"label"`
	Type                 string          `json:"type"`
	Value                json.RawMessage `json:"value"`
	CustomFieldValueUUID string          `json:"custom_field_value_uuid"`
	Options              json.RawMessage `json:"options"`
}

// Deal is the "deal" object of deal_* events, legacy [J4] or newer [J9].
type Deal struct {
	UUID                 string    `json:"uuid"`
	CreatedAt            Timestamp `json:"created_at"`
	UpdatedAt            Timestamp `json:"updated_at"`
	Label                string    `json:"label"`
	DealValue            Number    `json:"deal_value"`
	TotalCommissionValue Number    `json:"total_commission_value"`
	// CommissionCalculation is an object in legacy deliveries, a string in
	// newer ones.
	CommissionCalculation json.RawMessage `json:"commission_calculation"`
	CurrencyCode          string          `json:"currency_code"`
	CurrencyLabel         string          `json:"currency_label"`
	LeadUUID              string          `json:"lead_uuid"`
	StageUUID             string          `json:"stage_uuid"`
	StagePhase            string          `json:"stage_phase"`
	PaymentStageUUID      string          `json:"payment_stage_uuid"`
	PartnershipUUID       string          `json:"partnership_uuid"`
	PartnershipName       string          `json:"partnership_name"` // newer deliveries
	PartnerCompanyName    string          `json:"partner_company_name"`
	PartnerCompanyDomain  string          `json:"partner_company_domain"`
	DealOwnedByReseller   Bool            `json:"deal_owned_by_reseller"`
	ExpirationDate        Timestamp       `json:"expiration_date"` // newer deliveries
	LeadCreatedAt         Timestamp       `json:"lead_created_at"` // newer deliveries
	CustomFields          []CustomField   `json:"custom_fields"`
	Tags                  []Tag           `json:"tags"`
	AssignedUsers         []User          `json:"assigned_users"`
	AssignedContacts      []User          `json:"assigned_contacts"` // newer deliveries
	Payments              []Payment       `json:"payments"`
}

// Payment is one payment of a deal.
type Payment struct {
	UUID                  string    `json:"uuid"`
	CreatedAt             Timestamp `json:"created_at"`
	PaymentDate           Timestamp `json:"payment_date"`
	PaymentValue          Number    `json:"payment_value"`
	PaymentProcessing     Bool      `json:"payment_processing"`
	PaymentCompleted      Bool      `json:"payment_completed"`
	Approved              Bool      `json:"approved"`
	PaymentProcessingDate Timestamp `json:"payment_processing_date"` // newer deliveries
	PaymentCompletedDate  Timestamp `json:"payment_completed_date"`  // newer deliveries
}

// Note is the "note" object of lead_note_* [J3] and deal_note_* [J5]
// events. Notes have no documented updated_at; one is read if sent.
type Note struct {
	UUID          string    `json:"uuid"`
	CreatedAt     Timestamp `json:"created_at"`
	UpdatedAt     Timestamp `json:"updated_at"`
	Document      string    `json:"document"` // plain text
	UserUUID      string    `json:"user_uuid"`
	UserEmail     string    `json:"user_email"`
	UserFirstName string    `json:"user_first_name"`
	UserLastName  string    `json:"user_last_name"`
	LeadUUID      string    `json:"lead_uuid"`      // lead notes
	LeadDealUUID  string    `json:"lead_deal_uuid"` // deal notes: the deal's uuid
}

// Partnership is the "partnership" object of partner_* events [J6]. It has
// no documented timestamps; created_at/updated_at are read if sent.
type Partnership struct {
	UUID               string        `json:"uuid"`
	CompanyName        string        `json:"company_name"`
	CompanyDomain      string        `json:"company_domain"`
	CompanyWebsite     string        `json:"company_website"`
	CompanyDescription string        `json:"company_description"`
	CompanyEmail       string        `json:"company_email"`
	CompanyPhoneNumber string        `json:"company_phone_number"`
	CountryUUID        string        `json:"country_uuid"`
	CountryLabel       string        `json:"country_label"`
	IndustryUUID       string        `json:"industry_uuid"`
	IndustryLabel      string        `json:"industry_label"`
	StageUUID          string        `json:"stage_uuid"`
	StageLabel         string        `json:"stage_label"`
	CategoryUUID       string        `json:"category_uuid"`
	CategoryLabel      string        `json:"category_label"`
	TierUUID           string        `json:"tier_uuid"`
	TierLabel          string        `json:"tier_label"`
	CustomFields       []CustomField `json:"custom_fields"`
	CreatedAt          Timestamp     `json:"created_at"`
	UpdatedAt          Timestamp     `json:"updated_at"`
}

// PartnerContact is a person at a partner (partner_contact_* events). The
// webhook shape is undocumented: the fields follow the REST contact object
// [J14], and Raw keeps the whole object as sent.
type PartnerContact struct {
	UUID            string          `json:"uuid"`
	ID              ID              `json:"id"`
	Email           string          `json:"email"`
	FirstName       string          `json:"first_name"`
	LastName        string          `json:"last_name"`
	Position        string          `json:"position"`
	PhoneNumber     string          `json:"phone_number"`
	CompanyName     string          `json:"company_name"`
	PartnershipUUID string          `json:"partnership_uuid"`
	PartnershipID   ID              `json:"partnership_id"`
	CreatedAt       Timestamp       `json:"created_at"`
	UpdatedAt       Timestamp       `json:"updated_at"`
	Raw             json.RawMessage `json:"-"`
}

// Message is the "message" object of message_* events, legacy [J7] or
// newer [J10]. Content is a string in legacy deliveries and any JSON in
// newer ones, so it is kept raw.
type Message struct {
	UUID                         string          `json:"uuid"`
	CreatedAt                    Timestamp       `json:"created_at"`
	UpdatedAt                    Timestamp       `json:"updated_at"`
	Content                      json.RawMessage `json:"content"`
	RepliedToMessageUUID         string          `json:"replied_to_message_uuid"` // null for new messages
	RoomUUID                     string          `json:"room_uuid"`
	CreatedByUserUUID            string          `json:"created_by_user_uuid"`
	CreatedByUserEmail           string          `json:"created_by_user_email"`
	CreatedByUserFirstName       string          `json:"created_by_user_first_name"`
	CreatedByUserLastName        string          `json:"created_by_user_last_name"`
	CreatedByUserProfileImageURL string          `json:"created_by_user_profile_image_url"`
	CreatedByUserCompanyUUID     string          `json:"created_by_user_company_uuid"`
	CreatedByUserCompanyName     string          `json:"created_by_user_company_name"`
	Attachments                  []Attachment    `json:"attachments"`
	PartnershipUUID              string          `json:"partnership_uuid"`
	PartnershipName              string          `json:"partnership_name"` // newer deliveries
	PartnerType                  string          `json:"partner_type"`
	CompanyName                  string          `json:"company_name"` // newer deliveries
}

// Attachment is a file attached to a message.
type Attachment struct {
	UUID     string `json:"uuid"`
	FileName string `json:"file_name"`
	FileSize int64  `json:"file_size"`
	MimeType string `json:"mime_type"`
	FileURL  string `json:"file_url"`
}

// Configuration is one integration setting, e.g.
// {"id":"lead_integration_settings","selected":[{"id":"unique_field_lead","value":"email"}]}.
type Configuration struct {
	ID       string           `json:"id"`
	Selected []SelectedOption `json:"selected"`
}

// SelectedOption is one selected value of a Configuration.
type SelectedOption struct {
	ID    string `json:"id"`
	Value string `json:"value"`
}

// ID is an identifier JourneyBee sends as a number or a string. It keeps
// the text (a number's literal, a string's value); other JSON leaves it "".
type ID string

// UnmarshalJSON implements json.Unmarshaler. It never fails on valid JSON.
func (id *ID) UnmarshalJSON(b []byte) error {
	switch c := firstByte(b); {
	case c == '"':
		*id = ID(jsonString(b))
	case c == '-' || '0' <= c && c <= '9':
		*id = ID(b)
	default:
		*id = ""
	}
	return nil
}

// Number is an optional JSON number. Set is false when the field is
// absent, null or not a number; a string holding a number (such as
// "48000.00") is read as that number.
type Number struct {
	Value float64
	Set   bool
}

// UnmarshalJSON implements json.Unmarshaler. It never fails on valid JSON.
func (n *Number) UnmarshalJSON(b []byte) error {
	*n = Number{}
	s := string(b)
	if firstByte(b) == '"' {
		s = jsonString(b)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
		*n = Number{Value: f, Set: true}
	}
	return nil
}

// MarshalJSON implements json.Marshaler: the number, or null if unset.
func (n Number) MarshalJSON() ([]byte, error) {
	if !n.Set {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, n.Value, 'g', -1, 64), nil
}

// ptr returns a pointer to the value, or nil if unset.
func (n Number) ptr() *float64 {
	if !n.Set {
		return nil
	}
	v := n.Value
	return &v
}

// Bool is an optional JSON boolean. Set is false when the field is absent,
// null or not a boolean.
type Bool struct {
	Value bool
	Set   bool
}

// UnmarshalJSON implements json.Unmarshaler. It never fails on valid JSON.
func (v *Bool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*v = Bool{Value: true, Set: true}
	case "false":
		*v = Bool{Set: true}
	default:
		*v = Bool{}
	}
	return nil
}

// MarshalJSON implements json.Marshaler: the boolean, or null if unset.
func (v Bool) MarshalJSON() ([]byte, error) {
	if !v.Set {
		return []byte("null"), nil
	}
	return strconv.AppendBool(nil, v.Value), nil
}

// Timestamp is a JourneyBee time: a number (Unix milliseconds when at least
// 1e12, else seconds), an ISO-8601 string, a string of digits, or null.
// Decoding never fails: anything else, or a time outside years 1–9999,
// leaves it zero. The time is in UTC.
type Timestamp struct{ time.Time }

// msThreshold separates milliseconds from seconds: 1e12 ms is 2001-09-09,
// 1e12 s is in the year 33658.
const msThreshold = 1e12

// isoLayouts are the string forms accepted, most likely first.
var isoLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999", // no zone: UTC
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	time.DateOnly,
}

// UnmarshalJSON implements json.Unmarshaler. It never returns an error.
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	t.Time = time.Time{}
	switch c := firstByte(b); {
	case c == '-' || '0' <= c && c <= '9':
		t.Time = fromNumber(string(b))
	case c == '"':
		s := jsonString(b)
		if s != "" && ('0' <= s[0] && s[0] <= '9') && isDigits(s) {
			t.Time = fromNumber(s)
			return nil
		}
		for _, layout := range isoLayouts {
			if v, err := time.Parse(layout, s); err == nil {
				t.Time = inRange(v.UTC())
				return nil
			}
		}
	}
	return nil
}

// MarshalJSON implements json.Marshaler: RFC 3339 in UTC, or null if zero.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return t.Time.MarshalJSON()
}

// ptr returns a pointer to the time, or nil if it is zero.
func (t Timestamp) ptr() *time.Time {
	if t.IsZero() {
		return nil
	}
	v := t.Time
	return &v
}

// fromNumber converts a Unix timestamp in seconds or milliseconds.
func fromNumber(s string) time.Time {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n >= msThreshold || n <= -msThreshold {
			return inRange(time.UnixMilli(n).UTC())
		}
		return inRange(time.Unix(n, 0).UTC())
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1e17 {
		return time.Time{}
	}
	if math.Abs(f) >= msThreshold {
		sec := math.Floor(f / 1000)
		return inRange(time.Unix(int64(sec), int64(math.Round((f-sec*1000)*1e3))*1e3).UTC())
	}
	return inRange(fromSeconds(f))
}

// fromSeconds converts fractional Unix seconds, to the microsecond (about
// the precision a float64 has for today's times).
func fromSeconds(f float64) time.Time {
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64(math.Round((f-sec)*1e6))*1e3).UTC()
}

// inRange returns t if its year is 1–9999 (what RFC 3339 and JSON
// marshalling can represent), else the zero time.
func inRange(t time.Time) time.Time {
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}
	}
	return t
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// wireBody is the top level of a body. The entities are decoded in the
// same pass as the body is validated, which is most of Verify's cost; the
// undocumented contact shapes are kept raw. (From scanBody, Configuration
// may be a slice of the body: it is only read, never kept.)
type wireBody struct {
	Lead           *Lead           `json:"lead"`
	Deal           *Deal           `json:"deal"`
	Note           *Note           `json:"note"`
	Partnership    *Partnership    `json:"partnership"`
	Message        *Message        `json:"message"`
	Contact        json.RawMessage `json:"contact"`
	PartnerContact json.RawMessage `json:"partner_contact"`
	Configuration  json.RawMessage `json:"configuration"`
}

// parseBody validates raw for the event spec and decodes it. It returns the
// payload and the entity's uuid ("" for events without an entity).
//
// Decoding is tolerant: encoding/json leaves a field of an unexpected type
// unset, goes on, and reports the first such mismatch at the end, which is
// ignored here. The package's own JSON types never fail. An entity that is
// not an object therefore decodes as an empty one (or stays nil if null),
// and is refused for its missing uuid.
func parseBody(raw []byte, spec eventSpec) (*Payload, string, error) {
	return decodeBody(raw, spec, true)
}

// decodeBody is parseBody. With fast set, the body, the configuration and
// the contact are read by the single-pass scanner (scan.go) wherever it can
// and by encoding/json otherwise; without, by encoding/json alone. The
// result is the same (FuzzDecodeMatches): fast=false is the reference the
// fast path is tested against, and what it falls back to.
func decodeBody(raw []byte, spec eventSpec, fast bool) (*Payload, string, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, "", reject(provider.ErrEmptyBody, "body is empty")
	}
	var w wireBody
	if !fast || !scanBody(raw, spec.entity, &w) {
		w = wireBody{} // scanBody may have decoded part of it
		err := json.Unmarshal(raw, &w)
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, "", fmt.Errorf("journeybee: body is not valid JSON (offset %d): %w", se.Offset, provider.ErrMalformedJSON)
		case firstByte(raw) != '{':
			return nil, "", reject(provider.ErrInvalidPayload, "body is not a JSON object")
		case err != nil && !errors.As(err, &te): // not expected
			return nil, "", reject(provider.ErrInvalidPayload, "body does not decode")
		}
	}

	cfg, err := parseConfiguration(w.Configuration, fast)
	if err != nil {
		return nil, "", err
	}
	p := &Payload{Configuration: cfg}
	var key, id string
	switch spec.entity {
	case entityLead:
		p.Lead, key, id = w.Lead, "lead", w.Lead.uuid()
	case entityDeal:
		p.Deal, key, id = w.Deal, "deal", w.Deal.uuid()
	case entityNote:
		p.Note, key, id = w.Note, "note", w.Note.uuid()
	case entityPartnership:
		p.Partnership, key, id = w.Partnership, "partnership", w.Partnership.uuid()
	case entityMessage:
		p.Message, key, id = w.Message, "message", w.Message.uuid()
	case entityContact:
		key, id = decodeContact(p, &w, fast)
	default: // no documented entity
		return p, "", nil
	}
	if id == "" {
		return nil, "", reject(provider.ErrInvalidPayload, key+" is not an object with a non-empty string uuid")
	}
	return p, id, nil
}

// The uuid of each entity, "" for a nil one.
func (l *Lead) uuid() string {
	if l == nil {
		return ""
	}
	return l.UUID
}

func (d *Deal) uuid() string {
	if d == nil {
		return ""
	}
	return d.UUID
}

func (n *Note) uuid() string {
	if n == nil {
		return ""
	}
	return n.UUID
}

func (p *Partnership) uuid() string {
	if p == nil {
		return ""
	}
	return p.UUID
}

func (m *Message) uuid() string {
	if m == nil {
		return ""
	}
	return m.UUID
}

func (c *PartnerContact) uuid() string {
	if c == nil {
		return ""
	}
	return c.UUID
}

// decodeContact fills p for a partner contact event and returns the body
// key of its entity and the entity's uuid. The shape is undocumented: the
// entity is the first present (non-null) of "contact", "partner_contact"
// and "partnership"; a partnership beside a contact is kept as context.
// With fast set, the contact is read by scanContact if it can.
func decodeContact(p *Payload, w *wireBody, fast bool) (key, uuid string) {
	p.Partnership = w.Partnership
	key, raw := "contact", w.Contact
	if !present(raw) {
		key, raw = "partner_contact", w.PartnerContact
	}
	if !present(raw) {
		if w.Partnership == nil {
			return "contact, partner_contact or partnership", ""
		}
		return "partnership", w.Partnership.uuid()
	}
	if firstByte(raw) == '{' {
		p.Contact = &PartnerContact{Raw: raw}
		if !fast || !scanContact(raw, p.Contact) {
			p.Contact = &PartnerContact{Raw: raw}
			_ = json.Unmarshal(raw, p.Contact) // tolerant, as in parseBody
		}
	}
	return key, p.Contact.uuid()
}

// present reports whether a top-level value was sent and is not null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// parseConfiguration checks the legacy "configuration" array: absent or
// null is fine, otherwise every element must be an object with a non-empty
// string id and an array "selected" (whose elements are decoded tolerantly).
// With fast set, the array is read by scanConfiguration if it can.
func parseConfiguration(raw json.RawMessage, fast bool) ([]Configuration, error) {
	if !present(raw) {
		return nil, nil
	}
	if firstByte(raw) != '[' {
		return nil, reject(provider.ErrInvalidPayload, "configuration is not an array")
	}
	// One tolerant pass: an element that is not an object decodes as an
	// empty item, and "selected" stays nil unless it is a JSON array
	// (encoding/json makes [] an empty, non-nil slice).
	var items []configItem
	if !fast || !scanConfiguration(raw, &items) {
		items = nil
		_ = json.Unmarshal(raw, &items)
	}
	out := make([]Configuration, len(items))
	for i, item := range items {
		out[i] = Configuration{ID: jsonString(item.ID), Selected: item.Selected}
		if out[i].ID == "" {
			return nil, fmt.Errorf("journeybee: configuration[%d] is not an object with a non-empty string id: %w", i, provider.ErrInvalidPayload)
		}
		if out[i].Selected == nil {
			return nil, fmt.Errorf("journeybee: configuration[%d].selected is not an array: %w", i, provider.ErrInvalidPayload)
		}
	}
	return out, nil
}

// configItem is an element of "configuration" as first decoded.
type configItem struct {
	ID       json.RawMessage  `json:"id"`
	Selected []SelectedOption `json:"selected"`
}

// occurredAt is when the entity says the event happened: its updated_at,
// else its created_at; zero if it says nothing.
func (p *Payload) occurredAt() time.Time {
	var updated, created Timestamp
	switch {
	case p.Lead != nil:
		updated, created = p.Lead.UpdatedAt, p.Lead.CreatedAt
	case p.Deal != nil:
		updated, created = p.Deal.UpdatedAt, p.Deal.CreatedAt
	case p.Note != nil:
		updated, created = p.Note.UpdatedAt, p.Note.CreatedAt
	case p.Message != nil:
		updated, created = p.Message.UpdatedAt, p.Message.CreatedAt
	case p.Contact != nil:
		updated, created = p.Contact.UpdatedAt, p.Contact.CreatedAt
	case p.Partnership != nil:
		updated, created = p.Partnership.UpdatedAt, p.Partnership.CreatedAt
	}
	if !updated.IsZero() {
		return updated.Time
	}
	return created.Time
}
