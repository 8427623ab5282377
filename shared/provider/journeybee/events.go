package journeybee

import (
	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
)

// entity says which body key holds an event's object.
type entity uint8

const (
	entityNone        entity = iota // payments.*, mdf.*, unknown events: undocumented
	entityLead                      // "lead"
	entityDeal                      // "deal"
	entityNote                      // "note"
	entityPartnership               // "partnership"
	entityMessage                   // "message"
	entityContact                   // undocumented: "contact", "partner_contact" or "partnership"
)

// eventSpec describes one event: its canonical name, body entity and
// normalized kind and action.
type eventSpec struct {
	event  string
	entity entity
	kind   canonical.Kind
	action string
	parent canonical.Kind // notes: what the note is attached to
}

// catalog holds every documented event under its canonical name: the
// legacy snake_case event_id (PROVIDERS.md 1.2), or the dotted name where
// there is no legacy twin.
var catalog = map[string]eventSpec{
	"lead_created": {"lead_created", entityLead, canonical.KindLead, canonical.ActionCreated, ""},
	"lead_updated": {"lead_updated", entityLead, canonical.KindLead, canonical.ActionUpdated, ""},
	"lead_deleted": {"lead_deleted", entityLead, canonical.KindLead, canonical.ActionDeleted, ""},

	"lead_note_created": {"lead_note_created", entityNote, canonical.KindNote, canonical.ActionCreated, canonical.KindLead},
	"lead_note_updated": {"lead_note_updated", entityNote, canonical.KindNote, canonical.ActionUpdated, canonical.KindLead},
	"lead_note_deleted": {"lead_note_deleted", entityNote, canonical.KindNote, canonical.ActionDeleted, canonical.KindLead},

	"deal_created": {"deal_created", entityDeal, canonical.KindDeal, canonical.ActionCreated, ""},
	"deal_updated": {"deal_updated", entityDeal, canonical.KindDeal, canonical.ActionUpdated, ""},
	"deal_deleted": {"deal_deleted", entityDeal, canonical.KindDeal, canonical.ActionDeleted, ""},

	"deal_note_created": {"deal_note_created", entityNote, canonical.KindNote, canonical.ActionCreated, canonical.KindDeal},
	"deal_note_updated": {"deal_note_updated", entityNote, canonical.KindNote, canonical.ActionUpdated, canonical.KindDeal},
	"deal_note_deleted": {"deal_note_deleted", entityNote, canonical.KindNote, canonical.ActionDeleted, canonical.KindDeal},

	"partner_created": {"partner_created", entityPartnership, canonical.KindPartner, canonical.ActionCreated, ""},
	"partner_updated": {"partner_updated", entityPartnership, canonical.KindPartner, canonical.ActionUpdated, ""},

	"partner_contact_created": {"partner_contact_created", entityContact, canonical.KindContact, canonical.ActionCreated, ""},
	"partner_contact_updated": {"partner_contact_updated", entityContact, canonical.KindContact, canonical.ActionUpdated, ""},

	"message_created": {"message_created", entityMessage, canonical.KindMessage, canonical.ActionCreated, ""},
	"message_updated": {"message_updated", entityMessage, canonical.KindMessage, canonical.ActionUpdated, ""},
	"message_deleted": {"message_deleted", entityMessage, canonical.KindMessage, canonical.ActionDeleted, ""},

	// Dotted names without a legacy twin keep their name. Their bodies are
	// not documented.
	"payments.processing":  {"payments.processing", entityNone, canonical.KindPayment, "processing", ""},
	"payments.completed":   {"payments.completed", entityNone, canonical.KindPayment, canonical.ActionCompleted, ""},
	"payments.failed":      {"payments.failed", entityNone, canonical.KindPayment, "failed", ""},
	"mdf.payout_completed": {"mdf.payout_completed", entityNone, canonical.KindPayment, canonical.ActionCompleted, ""},
	"mdf.payout_failed":    {"mdf.payout_failed", entityNone, canonical.KindPayment, "failed", ""},
}

// dotted maps the newer "connector subscription" event names (J8, J10) to
// their legacy twins, so both spellings give one canonical event type.
var dotted = map[string]string{
	"leads.create":            "lead_created",
	"leads.update":            "lead_updated",
	"leads.delete":            "lead_deleted",
	"leads.notes_create":      "lead_note_created",
	"leads.notes_update":      "lead_note_updated",
	"leads.notes_delete":      "lead_note_deleted",
	"deals.create":            "deal_created",
	"deals.update":            "deal_updated",
	"deals.delete":            "deal_deleted",
	"partners.create":         "partner_created",
	"partners.update":         "partner_updated",
	"partners.contact_create": "partner_contact_created",
	"partners.contact_update": "partner_contact_updated",
	"messages.create":         "message_created",

	// Not in J8's list; inferred from its naming pattern so that, if they
	// appear, they match the same destination filters as their twins.
	"messages.update":    "message_updated",
	"messages.delete":    "message_deleted",
	"deals.notes_create": "deal_note_created",
	"deals.notes_update": "deal_note_updated",
	"deals.notes_delete": "deal_note_deleted",
}

// lookupEvent resolves a token's event_id. An unknown but sane id
// (^[a-z0-9][a-z0-9_.-]{0,99}$) is accepted as its own event of kind
// KindOther, so a new JourneyBee event is stored rather than refused.
func lookupEvent(id string) (eventSpec, error) {
	if twin, ok := dotted[id]; ok {
		id = twin
	}
	if spec, ok := catalog[id]; ok {
		return spec, nil
	}
	if !provider.SaneEventName(id) {
		return eventSpec{}, reject(provider.ErrInvalidPayload, "token event_id is not a valid event name")
	}
	return eventSpec{event: id, kind: canonical.KindOther, action: id}, nil
}
