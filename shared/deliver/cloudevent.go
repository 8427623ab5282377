package deliver

import (
	"encoding/json"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// CloudEvent is a CloudEvents 1.0 event in structured-mode JSON.
type CloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time,omitempty"`
	Subject         string          `json:"subject,omitempty"`
	DataContentType string          `json:"datacontenttype"`
	Tenant          string          `json:"tenant,omitempty"` // extension attribute: the provider-side account
	Data            json.RawMessage `json:"data"`
}

// ContentTypeCloudEvents is the structured-mode media type.
const ContentTypeCloudEvents = "application/cloudevents+json"

// NewCloudEvent wraps a stored event: id = event id (the same on every
// retry and replay), source = hookline/<provider>, type = canonical type,
// time = occurred-at (else received-at), subject = entity id, data = the
// provider's original body as JSON (normalized = false) or the canonical
// record (normalized = true).
func NewCloudEvent(ev store.Event, normalized bool) CloudEvent {
	t := ev.OccurredAt
	if t.IsZero() {
		t = ev.ReceivedAt
	}
	data := json.RawMessage(ev.Raw)
	if normalized {
		data = json.RawMessage(ev.Normalized)
	}
	return CloudEvent{
		SpecVersion:     "1.0",
		ID:              ev.ID,
		Source:          "hookline/" + ev.Provider,
		Type:            ev.Type,
		Time:            t.UTC().Format(time.RFC3339Nano),
		Subject:         ev.EntityID,
		DataContentType: "application/json",
		Tenant:          ev.Tenant,
		Data:            data,
	}
}

// Marshal encodes the event. The body was validated as JSON at ingest, so
// this fails only on a corrupted store.
func (c CloudEvent) Marshal() ([]byte, error) { return json.Marshal(c) }
