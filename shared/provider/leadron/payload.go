package leadron

import (
	"encoding/json" // canonical keeps raw values as json.RawMessage
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
)

// Envelope is a Leadron delivery body. Every event has the same envelope;
// Data varies by event type. It is Delivery.Payload.
type Envelope struct {
	ID        string         `json:"id"`        // evt_…, the idempotency key
	Type      string         `json:"type"`      // lead.created, …
	CreatedAt time.Time      `json:"createdAt"` // in UTC
	Data      jsontext.Value `json:"data"`      // the object as received

	// Data decoded for the documented event types: exactly one of these is
	// set for a documented type, none for an unknown one. Optional fields
	// with an unexpected JSON type are left zero, not rejected.
	Lead        *LeadData        `json:"-"`
	Opportunity *OpportunityData `json:"-"`
	Partner     *PartnerData     `json:"-"`
	Commission  *CommissionData  `json:"-"`
	Task        *TaskData        `json:"-"`
	Form        *FormData        `json:"-"`

	entityID string // the documented id field's value
}

// LeadData is the data of lead.created, lead.updated and lead.deleted.
// Leadron's lead status and source enums drift between its docs and SDKs, so
// both are kept as opaque strings.
type LeadData struct {
	LeadID    string         `json:"leadId"`
	Email     string         `json:"email,omitempty"`
	Source    string         `json:"source,omitempty"`
	Status    string         `json:"status,omitempty"`
	FirstName string         `json:"firstName,omitempty"`
	LastName  string         `json:"lastName,omitempty"`
	Changes   jsontext.Value `json:"changes,omitempty"` // lead.updated: the partial diff
}

// OpportunityData is the data of the opportunity.* events.
type OpportunityData struct {
	OpportunityID string   `json:"opportunityId"`
	Value         *float64 `json:"value,omitempty"`
	Stage         string   `json:"stage,omitempty"`
	From          string   `json:"from,omitempty"`   // stage_changed: previous stage
	To            string   `json:"to,omitempty"`     // stage_changed: new stage
	Reason        string   `json:"reason,omitempty"` // lost
}

// PartnerData is the data of partner.registered and partner.approved.
type PartnerData struct {
	PartnerID string `json:"partnerId"`
	Company   string `json:"company,omitempty"`
}

// CommissionData is the data of commission.earned and commission.paid.
type CommissionData struct {
	CommissionID string   `json:"commissionId"`
	Amount       *float64 `json:"amount,omitempty"`
	PartnerID    string   `json:"partnerId,omitempty"`
}

// TaskData is the data of task.created and task.completed.
type TaskData struct {
	TaskID     string `json:"taskId"`
	Title      string `json:"title,omitempty"`
	AssigneeID string `json:"assigneeId,omitempty"`
}

// FormData is the data of form.submitted.
type FormData struct {
	FormID string         `json:"formId"`
	LeadID string         `json:"leadId,omitempty"`
	Fields jsontext.Value `json:"fields,omitempty"` // the submitted fields as received
}

// eventSpec describes a documented event: the data field holding its
// entity's id and its normalized kind and action.
type eventSpec struct {
	idField string
	kind    canonical.Kind
	action  string
}

// catalog holds Leadron's 14 documented events (seeds/leadron-events.txt).
var catalog = map[string]eventSpec{
	"lead.created":              {"leadId", canonical.KindLead, canonical.ActionCreated},
	"lead.updated":              {"leadId", canonical.KindLead, canonical.ActionUpdated},
	"lead.deleted":              {"leadId", canonical.KindLead, canonical.ActionDeleted},
	"opportunity.created":       {"opportunityId", canonical.KindDeal, canonical.ActionCreated},
	"opportunity.stage_changed": {"opportunityId", canonical.KindDeal, canonical.ActionStageChanged},
	"opportunity.won":           {"opportunityId", canonical.KindDeal, canonical.ActionWon},
	"opportunity.lost":          {"opportunityId", canonical.KindDeal, canonical.ActionLost},
	"partner.registered":        {"partnerId", canonical.KindPartner, canonical.ActionRegistered},
	"partner.approved":          {"partnerId", canonical.KindPartner, canonical.ActionApproved},
	"commission.earned":         {"commissionId", canonical.KindCommission, canonical.ActionEarned},
	"commission.paid":           {"commissionId", canonical.KindCommission, canonical.ActionPaid},
	"task.created":              {"taskId", canonical.KindTask, canonical.ActionCreated},
	"task.completed":            {"taskId", canonical.KindTask, canonical.ActionCompleted},
	"form.submitted":            {"formId", canonical.KindForm, canonical.ActionSubmitted},
}

// invalid returns a payload rejection. what names a field, never its value.
func invalid(format string, args ...any) error {
	return fmt.Errorf("leadron: %w: %s", provider.ErrInvalidPayload, fmt.Sprintf(format, args...))
}

// wireEnvelope is a body as the one strict decode reads it: the envelope's
// members under their exact names, data as received.
type wireEnvelope struct {
	ID        required       `json:"id"`
	Type      required       `json:"type"`
	CreatedAt required       `json:"createdAt"`
	Data      jsontext.Value `json:"data"` // nil when absent
}

// wireData is the data of every documented event type at once (a type's
// data is read once its type is known); optional members are lenient.
type wireData struct {
	LeadID        required        `json:"leadId"`
	OpportunityID required        `json:"opportunityId"`
	PartnerID     required        `json:"partnerId"`
	CommissionID  required        `json:"commissionId"`
	TaskID        required        `json:"taskId"`
	FormID        required        `json:"formId"`
	Email         provider.String `json:"email"`
	Source        provider.String `json:"source"`
	Status        provider.String `json:"status"`
	FirstName     provider.String `json:"firstName"`
	LastName      provider.String `json:"lastName"`
	Changes       jsontext.Value  `json:"changes"`
	Value         number          `json:"value"`
	Stage         provider.String `json:"stage"`
	From          provider.String `json:"from"`
	To            provider.String `json:"to"`
	Reason        provider.String `json:"reason"`
	Company       provider.String `json:"company"`
	Amount        number          `json:"amount"`
	Title         provider.String `json:"title"`
	AssigneeID    provider.String `json:"assigneeId"`
	Fields        jsontext.Value  `json:"fields"`
}

// idMember returns the documented id member of a type's data.
func (d *wireData) idMember(field string) required {
	switch field {
	case "leadId":
		return d.LeadID
	case "opportunityId":
		return d.OpportunityID
	case "partnerId":
		return d.PartnerID
	case "commissionId":
		return d.CommissionID
	case "taskId":
		return d.TaskID
	default: // "formId"
		return d.FormID
	}
}

// parse decodes an authenticated body with the one strict decoder, then
// validates it. An unknown but sane event type is accepted with a zero
// eventSpec (kind other), its data kept as received. For a documented type
// the data's members are then read from Data: the one value decoded twice
// (its first read already checked it strictly).
func parse(raw []byte) (*Envelope, eventSpec, error) {
	var spec eventSpec
	var w wireEnvelope
	switch err := provider.DecodeJSON(raw, &w); {
	case errors.Is(err, provider.ErrNotObject):
		return nil, spec, invalid("body is not a JSON object")
	case err != nil:
		return nil, spec, fmt.Errorf("leadron: body: %w", err)
	}

	env := &Envelope{}
	var err error
	if env.ID, err = w.ID.get("id"); err != nil {
		return nil, spec, err
	}
	if env.Type, err = w.Type.get("type"); err != nil {
		return nil, spec, err
	}
	spec, known := catalog[env.Type]
	if !known && !provider.SaneEventName(env.Type) {
		return nil, spec, invalid("type is not a valid event name")
	}
	created, err := w.CreatedAt.get("createdAt")
	if err != nil {
		return nil, spec, err
	}
	if env.CreatedAt, err = parseTime(created); err != nil {
		return nil, spec, invalid("createdAt is not an RFC 3339 time")
	}

	switch env.Data = w.Data; {
	case env.Data == nil:
		return nil, spec, invalid("data is missing")
	case env.Data.Kind() != '{':
		return nil, spec, invalid("data is not an object")
	}
	if !known {
		return env, spec, nil
	}
	var data wireData
	if err := provider.DecodeJSON(env.Data, &data); err != nil {
		return nil, spec, fmt.Errorf("leadron: data: %w", err)
	}
	if env.entityID, err = data.idMember(spec.idField).get("data." + spec.idField); err != nil {
		return nil, spec, err
	}
	decodeData(env, spec.kind, &data)
	return env, spec, nil
}

// decodeData fills the Envelope's typed data for a documented kind.
func decodeData(env *Envelope, kind canonical.Kind, d *wireData) {
	switch kind {
	case canonical.KindLead:
		env.Lead = &LeadData{
			LeadID: env.entityID, Email: string(d.Email), Source: string(d.Source), Status: string(d.Status),
			FirstName: string(d.FirstName), LastName: string(d.LastName), Changes: present(d.Changes),
		}
	case canonical.KindDeal:
		env.Opportunity = &OpportunityData{
			OpportunityID: env.entityID, Value: d.Value.f, Stage: string(d.Stage),
			From: string(d.From), To: string(d.To), Reason: string(d.Reason),
		}
	case canonical.KindPartner:
		env.Partner = &PartnerData{PartnerID: env.entityID, Company: string(d.Company)}
	case canonical.KindCommission:
		env.Commission = &CommissionData{CommissionID: env.entityID, Amount: d.Amount.f, PartnerID: d.PartnerID.s}
	case canonical.KindTask:
		env.Task = &TaskData{TaskID: env.entityID, Title: string(d.Title), AssigneeID: string(d.AssigneeID)}
	case canonical.KindForm:
		env.Form = &FormData{FormID: env.entityID, LeadID: d.LeadID.s, Fields: present(d.Fields)}
	}
}

// present returns a raw value, or nil if it is absent or null.
func present(v jsontext.Value) jsontext.Value {
	if v.Kind() == 'n' {
		return nil
	}
	return v
}

// normalize maps a decoded envelope onto the canonical model.
func normalize(env *Envelope, spec eventSpec) canonical.Record {
	if spec.kind == "" {
		return canonical.Record{Kind: canonical.KindOther, Action: env.Type}
	}
	r := canonical.Record{Kind: spec.kind, Action: spec.action}
	switch {
	case env.Lead != nil:
		l := env.Lead
		r.Lead = &canonical.Lead{
			ID: l.LeadID, Email: l.Email, FirstName: l.FirstName, LastName: l.LastName,
			Source: l.Source, Status: l.Status, Changes: json.RawMessage(l.Changes),
		}
	case env.Opportunity != nil:
		o := env.Opportunity
		d := &canonical.Deal{ID: o.OpportunityID, Amount: o.Value, Stage: o.Stage, PreviousStage: o.From, LostReason: o.Reason}
		if o.To != "" {
			d.Stage = o.To
		}
		switch spec.action {
		case canonical.ActionCreated:
			d.Status = "open"
		case canonical.ActionWon, canonical.ActionLost:
			d.Status = spec.action
		}
		r.Deal = d
	case env.Partner != nil:
		r.Partner = &canonical.Partner{ID: env.Partner.PartnerID, Company: env.Partner.Company, Status: spec.action}
	case env.Commission != nil:
		c := env.Commission
		r.Commission = &canonical.Commission{ID: c.CommissionID, PartnerID: c.PartnerID, Amount: c.Amount, Status: spec.action}
	case env.Task != nil:
		t := env.Task
		status := "open"
		if spec.action == canonical.ActionCompleted {
			status = canonical.ActionCompleted
		}
		r.Task = &canonical.Task{ID: t.TaskID, Title: t.Title, AssigneeID: t.AssigneeID, Status: status}
	case env.Form != nil:
		r.Form = &canonical.Form{ID: env.Form.FormID, LeadID: env.Form.LeadID, Fields: json.RawMessage(env.Form.Fields)}
	}
	return r
}

// parseTime parses an RFC 3339 time into UTC. time.Parse alone also takes a
// one-digit hour, which RFC 3339 does not allow. Its error says nothing of s.
func parseTime(s string) (time.Time, error) {
	if len(s) < len("2006-01-02T15:04:05Z") || s[13] != ':' {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("not an RFC 3339 time")
	}
	return t.UTC(), nil
}

// required is a member that must be a non-empty string. Any JSON value
// decodes; get says what was wrong with it.
type required struct {
	s    string
	kind jsontext.Kind // of the value received, 0 when absent
}

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (r *required) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	r.kind = dec.PeekKind()
	if r.kind != '"' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	r.s = tok.String()
	return err
}

// get returns the string, or a rejection naming the member by path.
func (r required) get(path string) (string, error) {
	switch {
	case r.kind == 0:
		return "", invalid("%s is missing", path)
	case r.kind != '"':
		return "", invalid("%s is not a string", path)
	case r.s == "":
		return "", invalid("%s is empty", path)
	}
	return r.s, nil
}

// number is an optional number: f is nil when the member is absent, not a
// number or out of float64's range.
type number struct{ f *float64 }

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (n *number) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	n.f = nil
	if dec.PeekKind() != '0' {
		return dec.SkipValue()
	}
	tok, err := dec.ReadToken()
	if f, perr := strconv.ParseFloat(tok.String(), 64); err == nil && perr == nil {
		n.f = &f
	}
	return err
}
