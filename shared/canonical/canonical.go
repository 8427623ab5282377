// Package canonical is the small shared model every provider maps its
// deliveries onto, so a destination can receive one shape for "a lead from
// anywhere". It is deliberately lossy: the provider's original body always
// travels alongside (provider.Delivery.Raw), so nothing is ever dropped.
//
// Every field is optional except Record.Kind and Record.Action; empty values
// are omitted from JSON.
package canonical

import (
	"encoding/json"
	"time"
)

// Kind is what a record is about.
type Kind string

const (
	KindLead       Kind = "lead"
	KindDeal       Kind = "deal" // JourneyBee deals and Leadron opportunities
	KindPartner    Kind = "partner"
	KindContact    Kind = "contact" // a person at a partner (JourneyBee partner_contact_*)
	KindNote       Kind = "note"
	KindMessage    Kind = "message"
	KindCommission Kind = "commission"
	KindTask       Kind = "task"
	KindForm       Kind = "form"
	KindPayment    Kind = "payment"
	KindOther      Kind = "other" // an event type we do not know yet
)

// Actions used across providers. Providers may use other verbs for events
// that have no common name; these are the shared ones.
const (
	ActionCreated      = "created"
	ActionUpdated      = "updated"
	ActionDeleted      = "deleted"
	ActionSaved        = "saved" // created or updated, the provider cannot tell (Tomba)
	ActionStageChanged = "stage_changed"
	ActionWon          = "won"
	ActionLost         = "lost"
	ActionRegistered   = "registered"
	ActionApproved     = "approved"
	ActionEarned       = "earned"
	ActionPaid         = "paid"
	ActionCompleted    = "completed"
	ActionSubmitted    = "submitted"
)

// Record is one normalized event. Exactly the pointer matching Kind is set
// (none for KindOther).
type Record struct {
	Kind   Kind   `json:"kind"`
	Action string `json:"action"`

	Lead       *Lead       `json:"lead,omitempty"`
	Deal       *Deal       `json:"deal,omitempty"`
	Partner    *Partner    `json:"partner,omitempty"`
	Contact    *Contact    `json:"contact,omitempty"`
	Note       *Note       `json:"note,omitempty"`
	Message    *Message    `json:"message,omitempty"`
	Commission *Commission `json:"commission,omitempty"`
	Task       *Task       `json:"task,omitempty"`
	Form       *Form       `json:"form,omitempty"`
}

// Person is a user or contact referenced by an entity.
type Person struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
}

// CustomField is a provider-defined field; Value is the provider's JSON as is.
type CustomField struct {
	ID    string          `json:"id,omitempty"`
	Label string          `json:"label,omitempty"`
	Type  string          `json:"type,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

// PartnerRef names the partner an entity came from or belongs to.
type PartnerRef struct {
	ID      string `json:"id,omitempty"`
	Company string `json:"company,omitempty"`
	Domain  string `json:"domain,omitempty"`
	Type    string `json:"type,omitempty"` // referral, reseller, distributor
}

// Lead is a prospective customer.
type Lead struct {
	ID        string `json:"id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Company   string `json:"company,omitempty"`
	Website   string `json:"website,omitempty"`
	Position  string `json:"position,omitempty"`
	Twitter   string `json:"twitter,omitempty"`
	LinkedIn  string `json:"linkedin,omitempty"`
	Notes     string `json:"notes,omitempty"`
	Source    string `json:"source,omitempty"`
	Status    string `json:"status,omitempty"`
	Score     *int64 `json:"score,omitempty"`

	Tags         []string      `json:"tags,omitempty"`
	Owners       []Person      `json:"owners,omitempty"`
	CreatedBy    *Person       `json:"created_by,omitempty"`
	Partner      *PartnerRef   `json:"partner,omitempty"` // the partner that referred it
	CustomFields []CustomField `json:"custom_fields,omitempty"`
	// Changes is the provider's partial diff on an update, where it sends one.
	Changes json.RawMessage `json:"changes,omitempty"`

	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Deal is a sales opportunity.
type Deal struct {
	ID            string      `json:"id,omitempty"`
	Name          string      `json:"name,omitempty"`
	Amount        *float64    `json:"amount,omitempty"`
	Currency      string      `json:"currency,omitempty"`
	Stage         string      `json:"stage,omitempty"`
	PreviousStage string      `json:"previous_stage,omitempty"`
	Status        string      `json:"status,omitempty"` // open, won, lost, deleted
	LostReason    string      `json:"lost_reason,omitempty"`
	LeadID        string      `json:"lead_id,omitempty"`
	Partner       *PartnerRef `json:"partner,omitempty"`
	Commission    *float64    `json:"commission,omitempty"` // total commission value

	Tags         []string      `json:"tags,omitempty"`
	Owners       []Person      `json:"owners,omitempty"`
	CustomFields []CustomField `json:"custom_fields,omitempty"`

	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
}

// Partner is a company in a partner programme.
type Partner struct {
	ID           string        `json:"id,omitempty"`
	Company      string        `json:"company,omitempty"`
	Domain       string        `json:"domain,omitempty"`
	Website      string        `json:"website,omitempty"`
	Description  string        `json:"description,omitempty"`
	Email        string        `json:"email,omitempty"`
	Phone        string        `json:"phone,omitempty"`
	Country      string        `json:"country,omitempty"`
	Industry     string        `json:"industry,omitempty"`
	Stage        string        `json:"stage,omitempty"`
	Category     string        `json:"category,omitempty"`
	Tier         string        `json:"tier,omitempty"`
	Status       string        `json:"status,omitempty"` // registered, approved
	CustomFields []CustomField `json:"custom_fields,omitempty"`
}

// Contact is a person at a partner.
type Contact struct {
	ID        string `json:"id,omitempty"`
	PartnerID string `json:"partner_id,omitempty"`
	Email     string `json:"email,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Phone     string `json:"phone,omitempty"`
	Position  string `json:"position,omitempty"`
}

// Note is a free-text note attached to a lead or a deal.
type Note struct {
	ID         string     `json:"id,omitempty"`
	Text       string     `json:"text,omitempty"`
	ParentKind Kind       `json:"parent_kind,omitempty"` // lead or deal
	ParentID   string     `json:"parent_id,omitempty"`
	Author     *Person    `json:"author,omitempty"`
	CreatedAt  *time.Time `json:"created_at,omitempty"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Size     int64  `json:"size,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	URL      string `json:"url,omitempty"`
}

// Message is a message in a conversation with a partner.
type Message struct {
	ID          string          `json:"id,omitempty"`
	Content     json.RawMessage `json:"content,omitempty"` // a string in style A, any JSON in style B
	RoomID      string          `json:"room_id,omitempty"`
	ReplyTo     string          `json:"reply_to,omitempty"`
	Partner     *PartnerRef     `json:"partner,omitempty"`
	Author      *Person         `json:"author,omitempty"`
	Attachments []Attachment    `json:"attachments,omitempty"`
	CreatedAt   *time.Time      `json:"created_at,omitempty"`
	UpdatedAt   *time.Time      `json:"updated_at,omitempty"`
}

// Commission is money owed or paid to a partner.
type Commission struct {
	ID        string   `json:"id,omitempty"`
	PartnerID string   `json:"partner_id,omitempty"`
	DealID    string   `json:"deal_id,omitempty"`
	Amount    *float64 `json:"amount,omitempty"`
	Currency  string   `json:"currency,omitempty"`
	Status    string   `json:"status,omitempty"` // earned, paid
}

// Task is a to-do assigned to someone.
type Task struct {
	ID         string `json:"id,omitempty"`
	Title      string `json:"title,omitempty"`
	AssigneeID string `json:"assignee_id,omitempty"`
	Status     string `json:"status,omitempty"` // open, completed
}

// Form is a form submission.
type Form struct {
	ID     string          `json:"id,omitempty"`
	LeadID string          `json:"lead_id,omitempty"`
	Fields json.RawMessage `json:"fields,omitempty"`
}
