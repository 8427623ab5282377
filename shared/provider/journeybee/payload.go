package journeybee

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/hookline/hookline/shared/provider"
)

// Payload is a JourneyBee body, typed (Delivery.Payload is a *Payload).
// Only the object the event is about is set; for a partner contact event
// the partnership is set too when the body carries one. Events without a
// documented body (payments.*, mdf.*, unknown ones) have no entity here:
// the body itself is Delivery.Raw.
//
// Decoding is tolerant: a field of an unexpected type is left at its zero
// value instead of rejecting the delivery (provider.String, provider.List
// and the types below), and fields whose shape is undocumented or varies
// are kept as raw JSON. Only the entity's uuid and the configuration's
// shape are required.
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
	UUID                   provider.String               `json:"uuid"`
	CreatedAt              Timestamp                     `json:"created_at"`
	UpdatedAt              Timestamp                     `json:"updated_at"`
	CompanyName            provider.String               `json:"company_name"`
	Email                  provider.String               `json:"email"`
	PhoneNumber            provider.String               `json:"phone_number"`
	FirstName              provider.String               `json:"first_name"`
	LastName               provider.String               `json:"last_name"`
	CreatedByUserUUID      provider.String               `json:"created_by_user_uuid"`
	CreatedByUserEmail     provider.String               `json:"created_by_user_email"`
	CreatedByUserFirstName provider.String               `json:"created_by_user_first_name"`
	CreatedByUserLastName  provider.String               `json:"created_by_user_last_name"`
	CustomFields           provider.List[CustomField]    `json:"custom_fields"`
	Tags                   provider.List[Tag]            `json:"tags"`
	AssignedUsers          provider.List[User]           `json:"assigned_users"`
	ReceivedFromCompany    provider.List[ReceivedFrom]   `json:"received_from_company"`
	SentToCompanies        provider.List[jsontext.Value] `json:"sent_to_companies"` // element shape undocumented
}

// Tag is a label on a lead ({uuid, label}) or a deal (with colours).
type Tag struct {
	UUID            provider.String `json:"uuid"`
	Label           provider.String `json:"label"`
	BackgroundColor provider.String `json:"background_color,omitempty"`
	TextColor       provider.String `json:"text_color,omitempty"`
}

// User is a JourneyBee user or contact referenced by an entity. Lead users
// carry a uuid, legacy deal users a numeric id, newer deal users both.
type User struct {
	ID               ID              `json:"id,omitempty"`
	UUID             provider.String `json:"uuid,omitempty"`
	Email            provider.String `json:"email"`
	FirstName        provider.String `json:"first_name"`
	LastName         provider.String `json:"last_name"`
	ProfileImageID   ID              `json:"profile_image_id,omitempty"`
	ProfileImageUUID provider.String `json:"profile_image_uuid,omitempty"`
}

// ReceivedFrom is the partner a lead was received from.
type ReceivedFrom struct {
	PartnershipUUID     provider.String `json:"partnership_uuid"`
	CompanyName         provider.String `json:"company_name"`
	CompanyDomain       provider.String `json:"company_domain"`
	SentDate            Timestamp       `json:"sent_date"`
	SentByUserEmail     provider.String `json:"sent_by_user_email"`
	SentByUserFirstName provider.String `json:"sent_by_user_first_name"`
	SentByUserLastName  provider.String `json:"sent_by_user_last_name"`
	PartnerType         provider.String `json:"partner_type"`
}

// CustomField is one custom field value. Value is any JSON (style B types
// it as {text|number|date|boolean|select|multi_select}); Options varies.
type CustomField struct {
	UUID                 provider.String `json:"uuid"`
	Label                provider.String `json:"label"`
	Type                 provider.String `json:"type"`
	Value                jsontext.Value  `json:"value"`
	CustomFieldValueUUID provider.String `json:"custom_field_value_uuid"`
	Options              jsontext.Value  `json:"options"`
}

// Deal is the "deal" object of deal_* events, legacy [J4] or newer [J9].
type Deal struct {
	UUID                 provider.String `json:"uuid"`
	CreatedAt            Timestamp       `json:"created_at"`
	UpdatedAt            Timestamp       `json:"updated_at"`
	Label                provider.String `json:"label"`
	DealValue            Number          `json:"deal_value"`
	TotalCommissionValue Number          `json:"total_commission_value"`
	// CommissionCalculation is an object in legacy deliveries, a string in
	// newer ones.
	CommissionCalculation jsontext.Value             `json:"commission_calculation"`
	CurrencyCode          provider.String            `json:"currency_code"`
	CurrencyLabel         provider.String            `json:"currency_label"`
	LeadUUID              provider.String            `json:"lead_uuid"`
	StageUUID             provider.String            `json:"stage_uuid"`
	StagePhase            provider.String            `json:"stage_phase"`
	PaymentStageUUID      provider.String            `json:"payment_stage_uuid"`
	PartnershipUUID       provider.String            `json:"partnership_uuid"`
	PartnershipName       provider.String            `json:"partnership_name"` // newer deliveries
	PartnerCompanyName    provider.String            `json:"partner_company_name"`
	PartnerCompanyDomain  provider.String            `json:"partner_company_domain"`
	DealOwnedByReseller   Bool                       `json:"deal_owned_by_reseller"`
	ExpirationDate        Timestamp                  `json:"expiration_date"` // newer deliveries
	LeadCreatedAt         Timestamp                  `json:"lead_created_at"` // newer deliveries
	CustomFields          provider.List[CustomField] `json:"custom_fields"`
	Tags                  provider.List[Tag]         `json:"tags"`
	AssignedUsers         provider.List[User]        `json:"assigned_users"`
	AssignedContacts      provider.List[User]        `json:"assigned_contacts"` // newer deliveries
	Payments              provider.List[Payment]     `json:"payments"`
}

// Payment is one payment of a deal.
type Payment struct {
	UUID                  provider.String `json:"uuid"`
	CreatedAt             Timestamp       `json:"created_at"`
	PaymentDate           Timestamp       `json:"payment_date"`
	PaymentValue          Number          `json:"payment_value"`
	PaymentProcessing     Bool            `json:"payment_processing"`
	PaymentCompleted      Bool            `json:"payment_completed"`
	Approved              Bool            `json:"approved"`
	PaymentProcessingDate Timestamp       `json:"payment_processing_date"` // newer deliveries
	PaymentCompletedDate  Timestamp       `json:"payment_completed_date"`  // newer deliveries
}

// Note is the "note" object of lead_note_* [J3] and deal_note_* [J5]
// events. Notes have no documented updated_at; one is read if sent.
type Note struct {
	UUID          provider.String `json:"uuid"`
	CreatedAt     Timestamp       `json:"created_at"`
	UpdatedAt     Timestamp       `json:"updated_at"`
	Document      provider.String `json:"document"` // plain text
	UserUUID      provider.String `json:"user_uuid"`
	UserEmail     provider.String `json:"user_email"`
	UserFirstName provider.String `json:"user_first_name"`
	UserLastName  provider.String `json:"user_last_name"`
	LeadUUID      provider.String `json:"lead_uuid"`      // lead notes
	LeadDealUUID  provider.String `json:"lead_deal_uuid"` // deal notes: the deal's uuid
}

// Partnership is the "partnership" object of partner_* events [J6]. It has
// no documented timestamps; created_at/updated_at are read if sent.
type Partnership struct {
	UUID               provider.String            `json:"uuid"`
	CompanyName        provider.String            `json:"company_name"`
	CompanyDomain      provider.String            `json:"company_domain"`
	CompanyWebsite     provider.String            `json:"company_website"`
	CompanyDescription provider.String            `json:"company_description"`
	CompanyEmail       provider.String            `json:"company_email"`
	CompanyPhoneNumber provider.String            `json:"company_phone_number"`
	CountryUUID        provider.String            `json:"country_uuid"`
	CountryLabel       provider.String            `json:"country_label"`
	IndustryUUID       provider.String            `json:"industry_uuid"`
	IndustryLabel      provider.String            `json:"industry_label"`
	StageUUID          provider.String            `json:"stage_uuid"`
	StageLabel         provider.String            `json:"stage_label"`
	CategoryUUID       provider.String            `json:"category_uuid"`
	CategoryLabel      provider.String            `json:"category_label"`
	TierUUID           provider.String            `json:"tier_uuid"`
	TierLabel          provider.String            `json:"tier_label"`
	CustomFields       provider.List[CustomField] `json:"custom_fields"`
	CreatedAt          Timestamp                  `json:"created_at"`
	UpdatedAt          Timestamp                  `json:"updated_at"`
}

// PartnerContact is a person at a partner (partner_contact_* events). The
// webhook shape is undocumented: the fields follow the REST contact object
// [J14], and Raw keeps the whole object as sent.
type PartnerContact struct {
	UUID            provider.String `json:"uuid"`
	ID              ID              `json:"id"`
	Email           provider.String `json:"email"`
	FirstName       provider.String `json:"first_name"`
	LastName        provider.String `json:"last_name"`
	Position        provider.String `json:"position"`
	PhoneNumber     provider.String `json:"phone_number"`
	CompanyName     provider.String `json:"company_name"`
	PartnershipUUID provider.String `json:"partnership_uuid"`
	PartnershipID   ID              `json:"partnership_id"`
	CreatedAt       Timestamp       `json:"created_at"`
	UpdatedAt       Timestamp       `json:"updated_at"`
	Raw             jsontext.Value  `json:"-"`
}

// Message is the "message" object of message_* events, legacy [J7] or
// newer [J10]. Content is a string in legacy deliveries and any JSON in
// newer ones, so it is kept raw.
type Message struct {
	UUID                         provider.String           `json:"uuid"`
	CreatedAt                    Timestamp                 `json:"created_at"`
	UpdatedAt                    Timestamp                 `json:"updated_at"`
	Content                      jsontext.Value            `json:"content"`
	RepliedToMessageUUID         provider.String           `json:"replied_to_message_uuid"` // null for new messages
	RoomUUID                     provider.String           `json:"room_uuid"`
	CreatedByUserUUID            provider.String           `json:"created_by_user_uuid"`
	CreatedByUserEmail           provider.String           `json:"created_by_user_email"`
	CreatedByUserFirstName       provider.String           `json:"created_by_user_first_name"`
	CreatedByUserLastName        provider.String           `json:"created_by_user_last_name"`
	CreatedByUserProfileImageURL provider.String           `json:"created_by_user_profile_image_url"`
	CreatedByUserCompanyUUID     provider.String           `json:"created_by_user_company_uuid"`
	CreatedByUserCompanyName     provider.String           `json:"created_by_user_company_name"`
	Attachments                  provider.List[Attachment] `json:"attachments"`
	PartnershipUUID              provider.String           `json:"partnership_uuid"`
	PartnershipName              provider.String           `json:"partnership_name"` // newer deliveries
	PartnerType                  provider.String           `json:"partner_type"`
	CompanyName                  provider.String           `json:"company_name"` // newer deliveries
}

// Attachment is a file attached to a message.
type Attachment struct {
	UUID     provider.String `json:"uuid"`
	FileName provider.String `json:"file_name"`
	FileSize Int             `json:"file_size"`
	MimeType provider.String `json:"mime_type"`
	FileURL  provider.String `json:"file_url"`
}

// Configuration is one integration setting, e.g.
// {"id":"lead_integration_settings","selected":[{"id":"unique_field_lead","value":"email"}]}.
type Configuration struct {
	ID       string           `json:"id"`
	Selected []SelectedOption `json:"selected"`
}

// SelectedOption is one selected value of a Configuration.
type SelectedOption struct {
	ID    provider.String `json:"id"`
	Value provider.String `json:"value"`
}

// The payload structs are lenient as a whole too: any JSON value other
// than an object leaves them zero (a pointer to one is nil only for null).
func (x *Lead) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *Tag) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *User) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *ReceivedFrom) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

func (x *CustomField) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

func (x *Deal) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *Payment) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *Note) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *Partnership) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

func (x *Message) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return provider.Lenient(dec, '{') }

func (x *Attachment) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

func (x *SelectedOption) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

// UnmarshalJSONFrom reads a partner contact. Its shape is undocumented, so
// the object is kept as sent (Raw) and the REST contact fields are then
// read from it: the one value decoded twice (it is small; the first read
// already checked it strictly).
func (x *PartnerContact) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*x = PartnerContact{Raw: v.Clone()}
	if v.Kind() != '{' {
		return nil
	}
	type plain PartnerContact
	return provider.DecodeJSON(x.Raw, (*plain)(x))
}

// ID is an identifier JourneyBee sends as a number or a string. It keeps
// the text (a number's literal, a string's value); other JSON leaves it "".
type ID string

// UnmarshalJSONFrom implements json.UnmarshalerFrom. It fails only on
// input that is not strict JSON.
func (id *ID) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*id = ""
	switch dec.PeekKind() {
	case '"', '0':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		*id = ID(tok.String()) // a number's String is its literal
		return nil
	}
	return dec.SkipValue()
}

// Int is an optional integer: 0 unless the value is a JSON number without
// fraction or exponent that fits an int64.
type Int int64

// UnmarshalJSONFrom implements json.UnmarshalerFrom. It fails only on
// input that is not strict JSON.
func (n *Int) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*n = 0
	if dec.PeekKind() != '0' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if v, perr := strconv.ParseInt(tok.String(), 10, 64); err == nil && perr == nil {
		*n = Int(v)
	}
	return err
}

// Number is an optional JSON number. Set is false when the field is
// absent, null or not a number; a string holding a number (such as
// "48000.00") is read as that number.
type Number struct {
	Value float64
	Set   bool
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom. It fails only on
// input that is not strict JSON.
func (n *Number) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*n = Number{}
	switch dec.PeekKind() {
	case '"', '0':
		tok, err := dec.ReadToken()
		if err != nil {
			return err
		}
		if f, err := strconv.ParseFloat(tok.String(), 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			*n = Number{Value: f, Set: true}
		}
		return nil
	}
	return dec.SkipValue()
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

// UnmarshalJSONFrom implements json.UnmarshalerFrom. It fails only on
// input that is not strict JSON.
func (v *Bool) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	*v = Bool{}
	switch dec.PeekKind() {
	case 't', 'f':
		tok, err := dec.ReadToken()
		if err != nil {
			return err // Token.Bool panics on anything but a boolean
		}
		*v = Bool{Value: tok.Bool(), Set: true}
		return nil
	}
	return dec.SkipValue()
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

// UnmarshalJSONFrom implements json.UnmarshalerFrom. It fails only on
// input that is not strict JSON.
func (t *Timestamp) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	t.Time = time.Time{}
	kind := dec.PeekKind()
	if kind != '0' && kind != '"' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if err != nil {
		return err
	}
	s := tok.String()
	if kind == '0' || s != "" && isDigits(s) {
		t.Time = fromNumber(s)
		return nil
	}
	for _, layout := range isoLayouts {
		if v, err := time.Parse(layout, s); err == nil {
			t.Time = inRange(v.UTC())
			return nil
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

// wireBody is the top level of a body: every documented entity, so that
// the one strict decode reads each of them into its type whatever the
// event (the event's own is used). Configuration is nil when absent or
// null, and points to a nil List when it is not an array.
type wireBody struct {
	Lead           *Lead                      `json:"lead"`
	Deal           *Deal                      `json:"deal"`
	Note           *Note                      `json:"note"`
	Partnership    *Partnership               `json:"partnership"`
	Message        *Message                   `json:"message"`
	Contact        *PartnerContact            `json:"contact"`
	PartnerContact *PartnerContact            `json:"partner_contact"`
	Configuration  *provider.List[configItem] `json:"configuration"`
}

// configItem is an element of "configuration" as decoded: Selected is nil
// unless it is an array.
type configItem struct {
	ID       provider.String               `json:"id"`
	Selected provider.List[SelectedOption] `json:"selected"`
}

func (x *configItem) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return provider.Lenient(dec, '{')
}

// parseBody decodes raw, the whole body, with the one strict decoder and
// validates it for the event spec. It returns the payload and the entity's
// uuid ("" for events without an entity). The body must be a JSON object
// whatever the event. An entity that is not an object decodes as an empty
// one (or stays nil if null), and is refused for its missing uuid.
func parseBody(raw []byte, spec eventSpec) (*Payload, string, error) {
	var w wireBody
	switch err := provider.DecodeJSON(raw, &w); {
	case errors.Is(err, provider.ErrEmptyBody):
		return nil, "", reject(provider.ErrEmptyBody, "body is empty")
	case errors.Is(err, provider.ErrNotObject):
		return nil, "", reject(provider.ErrInvalidPayload, "body is not a JSON object")
	case err != nil:
		return nil, "", fmt.Errorf("journeybee: body: %w", err)
	}

	cfg, err := parseConfiguration(w.Configuration)
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
		key, id = decodeContact(p, &w)
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
	return string(l.UUID)
}

func (d *Deal) uuid() string {
	if d == nil {
		return ""
	}
	return string(d.UUID)
}

func (n *Note) uuid() string {
	if n == nil {
		return ""
	}
	return string(n.UUID)
}

func (p *Partnership) uuid() string {
	if p == nil {
		return ""
	}
	return string(p.UUID)
}

func (m *Message) uuid() string {
	if m == nil {
		return ""
	}
	return string(m.UUID)
}

func (c *PartnerContact) uuid() string {
	if c == nil {
		return ""
	}
	return string(c.UUID)
}

// decodeContact fills p for a partner contact event and returns the body
// key of its entity and the entity's uuid. The shape is undocumented: the
// entity is the first present (non-null) of "contact", "partner_contact"
// and "partnership"; a partnership beside a contact is kept as context. A
// contact that is not an object has no uuid.
func decodeContact(p *Payload, w *wireBody) (key, uuid string) {
	p.Partnership = w.Partnership
	key, c := "contact", w.Contact
	if c == nil {
		key, c = "partner_contact", w.PartnerContact
	}
	if c == nil {
		if w.Partnership == nil {
			return "contact, partner_contact or partnership", ""
		}
		return "partnership", w.Partnership.uuid()
	}
	if c.Raw.Kind() == '{' {
		p.Contact = c
	}
	return key, p.Contact.uuid()
}

// parseConfiguration checks the legacy "configuration" array: absent or
// null is fine, otherwise every element must be an object with a non-empty
// string id and an array "selected" (whose elements are decoded
// tolerantly).
func parseConfiguration(items *provider.List[configItem]) ([]Configuration, error) {
	switch {
	case items == nil:
		return nil, nil
	case *items == nil:
		return nil, reject(provider.ErrInvalidPayload, "configuration is not an array")
	}
	out := make([]Configuration, len(*items))
	for i, item := range *items {
		out[i] = Configuration{ID: string(item.ID), Selected: item.Selected}
		if out[i].ID == "" {
			return nil, fmt.Errorf("journeybee: configuration[%d] is not an object with a non-empty string id: %w", i, provider.ErrInvalidPayload)
		}
		if out[i].Selected == nil {
			return nil, fmt.Errorf("journeybee: configuration[%d].selected is not an array: %w", i, provider.ErrInvalidPayload)
		}
	}
	return out, nil
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
