package leadron

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
)

// Envelope is a Leadron delivery body. Every event has the same envelope;
// Data varies by event type. It is Delivery.Payload.
type Envelope struct {
	ID        string          `json:"id"`        // evt_…, the idempotency key
	Type      string          `json:"type"`      // lead.created, …
	CreatedAt time.Time       `json:"createdAt"` // in UTC
	Data      json.RawMessage `json:"data"`      // the object as received

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
	LeadID    string          `json:"leadId"`
	Email     string          `json:"email,omitempty"`
	Source    string          `json:"source,omitempty"`
	Status    string          `json:"status,omitempty"`
	FirstName string          `json:"firstName,omitempty"`
	LastName  string          `json:"lastName,omitempty"`
	Changes   json.RawMessage `json:"changes,omitempty"` // lead.updated: the partial diff
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
	FormID string          `json:"formId"`
	LeadID string          `json:"leadId,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"` // the submitted fields as received
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

// parse validates an authenticated body and decodes it. An unknown but sane
// event type is accepted with a zero eventSpec (kind other).
func parse(raw []byte) (*Envelope, eventSpec, error) {
	var spec eventSpec
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, spec, fmt.Errorf("leadron: %w", provider.ErrEmptyBody)
	}
	if trimmed[0] != '{' {
		if !json.Valid(raw) {
			return nil, spec, fmt.Errorf("leadron: %w", provider.ErrMalformedJSON)
		}
		return nil, spec, invalid("body is not a JSON object")
	}
	// Decoding an object into a map of raw values fails only on bad syntax
	// (or nesting deeper than encoding/json allows).
	var top object
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, spec, fmt.Errorf("leadron: %w", provider.ErrMalformedJSON)
	}

	env := &Envelope{}
	var err error
	if env.ID, err = top.required("id", "id"); err != nil {
		return nil, spec, err
	}
	if env.Type, err = top.required("type", "type"); err != nil {
		return nil, spec, err
	}
	spec, known := catalog[env.Type]
	if !known && !provider.SaneEventName(env.Type) {
		return nil, spec, invalid("type is not a valid event name")
	}
	created, err := top.required("createdAt", "createdAt")
	if err != nil {
		return nil, spec, err
	}
	if env.CreatedAt, err = parseTime(created); err != nil {
		return nil, spec, invalid("createdAt is not an RFC 3339 time")
	}

	env.Data = top["data"]
	switch {
	case env.Data == nil:
		return nil, spec, invalid("data is missing")
	case env.Data[0] != '{':
		return nil, spec, invalid("data is not an object")
	}
	if !known {
		return env, spec, nil
	}
	var data object
	if err := json.Unmarshal(env.Data, &data); err != nil {
		return nil, spec, fmt.Errorf("leadron: %w", provider.ErrMalformedJSON)
	}
	if env.entityID, err = data.required(spec.idField, "data."+spec.idField); err != nil {
		return nil, spec, err
	}
	decodeData(env, spec.kind, data)
	return env, spec, nil
}

// decodeData fills the Envelope's typed data for a documented kind.
func decodeData(env *Envelope, kind canonical.Kind, d object) {
	switch kind {
	case canonical.KindLead:
		env.Lead = &LeadData{
			LeadID: env.entityID, Email: d.str("email"), Source: d.str("source"), Status: d.str("status"),
			FirstName: d.str("firstName"), LastName: d.str("lastName"), Changes: d.raw("changes"),
		}
	case canonical.KindDeal:
		env.Opportunity = &OpportunityData{
			OpportunityID: env.entityID, Value: d.number("value"), Stage: d.str("stage"),
			From: d.str("from"), To: d.str("to"), Reason: d.str("reason"),
		}
	case canonical.KindPartner:
		env.Partner = &PartnerData{PartnerID: env.entityID, Company: d.str("company")}
	case canonical.KindCommission:
		env.Commission = &CommissionData{CommissionID: env.entityID, Amount: d.number("amount"), PartnerID: d.str("partnerId")}
	case canonical.KindTask:
		env.Task = &TaskData{TaskID: env.entityID, Title: d.str("title"), AssigneeID: d.str("assigneeId")}
	case canonical.KindForm:
		env.Form = &FormData{FormID: env.entityID, LeadID: d.str("leadId"), Fields: d.raw("fields")}
	}
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
			Source: l.Source, Status: l.Status, Changes: l.Changes,
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
		r.Form = &canonical.Form{ID: env.Form.FormID, LeadID: env.Form.LeadID, Fields: env.Form.Fields}
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

// object is a decoded JSON object: each member's raw value under its exact
// name (encoding/json's struct decoding would match names case-insensitively).
type object map[string]json.RawMessage

// required returns a member that must be a non-empty string. path names the
// member in error messages.
func (o object) required(name, path string) (string, error) {
	raw, ok := o[name]
	if !ok {
		return "", invalid("%s is missing", path)
	}
	s, ok := provider.JSONString(raw)
	if !ok {
		return "", invalid("%s is not a string", path)
	}
	if s == "" {
		return "", invalid("%s is empty", path)
	}
	return s, nil
}

// str returns an optional string member, or "" if it is absent or not a
// string.
func (o object) str(name string) string {
	s, _ := provider.JSONString(o[name])
	return s
}

// number returns an optional number member, or nil if it is absent, not a
// number or out of float64's range.
func (o object) number(name string) *float64 {
	raw := o[name]
	if len(raw) == 0 || (raw[0] != '-' && (raw[0] < '0' || raw[0] > '9')) {
		return nil
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil {
		return nil
	}
	return &f
}

// raw returns an optional member's JSON as received, or nil if it is absent
// or null.
func (o object) raw(name string) json.RawMessage {
	raw := o[name]
	if bytes.Equal(raw, []byte("null")) {
		return nil
	}
	return raw
}
