package journeybee

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

// ms is a Unix-milliseconds time in UTC.
func ms(n int64) time.Time { return time.UnixMilli(n).UTC() }

func iso(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

const (
	leadUUID        = "lead_5336ba48-2ee0-4565-bbf7-f938d51042c1"
	dealUUID        = "deal_0f8e2c1a-7b3d-4e5f-9a8b-1c2d3e4f5a6b"
	noteUUID        = "note_98765432-2109-8765-4321-987654321098"
	partnershipUUID = "partnership_12345678-1234-5678-9012-123456789abc"
	contactUUID     = "contact_a1b2c3d4-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
	messageUUID     = "msg_4d3c2b1a-0f9e-4d8c-b7a6-123456789012"
)

// TestFixtures verifies every fixture, delivered with the event_id it is
// named after, and checks the resulting Delivery and its normalized record
// (the record in full against testdata/golden).
func TestFixtures(t *testing.T) {
	iat := testNow.Add(-15 * time.Second)
	cases := []struct {
		eventID  string
		event    string
		kind     canonical.Kind
		action   string
		entityID string
		occurred time.Time
	}{
		{"lead_created", "lead_created", canonical.KindLead, "created", leadUUID, ms(1716214515227)},
		{"lead_updated", "lead_updated", canonical.KindLead, "updated", leadUUID, ms(1716300915000)},
		{"lead_deleted", "lead_deleted", canonical.KindLead, "deleted", leadUUID, ms(1716387315000)},
		{"lead_note_created", "lead_note_created", canonical.KindNote, "created", noteUUID, ms(1716214515227)},
		{"lead_note_updated", "lead_note_updated", canonical.KindNote, "updated", noteUUID, ms(1716214515227)},
		{"lead_note_deleted", "lead_note_deleted", canonical.KindNote, "deleted", noteUUID, ms(1716214515227)},
		{"deal_created", "deal_created", canonical.KindDeal, "created", dealUUID, ms(1716214600000)},
		{"deal_updated", "deal_updated", canonical.KindDeal, "updated", dealUUID, ms(1716646600000)},
		{"deal_deleted", "deal_deleted", canonical.KindDeal, "deleted", dealUUID, ms(1716733000000)},
		{"deal_note_created", "deal_note_created", canonical.KindNote, "created", noteUUID, ms(1716214515227)},
		{"deal_note_updated", "deal_note_updated", canonical.KindNote, "updated", noteUUID, ms(1716214515227)},
		{"deal_note_deleted", "deal_note_deleted", canonical.KindNote, "deleted", noteUUID, ms(1716214515227)},
		{"partner_created", "partner_created", canonical.KindPartner, "created", partnershipUUID, iat},
		{"partner_updated", "partner_updated", canonical.KindPartner, "updated", partnershipUUID, iat},
		{"partner_contact_created", "partner_contact_created", canonical.KindContact, "created", contactUUID, iat},
		{"partner_contact_updated", "partner_contact_updated", canonical.KindContact, "updated", contactUUID, iat},
		{"message_created", "message_created", canonical.KindMessage, "created", messageUUID, ms(1716215000000)},
		{"message_updated", "message_updated", canonical.KindMessage, "updated", messageUUID, ms(1716215300000)},
		{"message_deleted", "message_deleted", canonical.KindMessage, "deleted", messageUUID, ms(1716215600000)},
		{"leads.create", "lead_created", canonical.KindLead, "created", leadUUID, iso("2024-05-20T14:15:15.227Z")},
		{"deals.create", "deal_created", canonical.KindDeal, "created", dealUUID, iso("2023-11-07T05:31:56Z")},
		{"messages.create", "message_created", canonical.KindMessage, "created", messageUUID, iso("2023-11-07T05:31:56Z")},
		{"payments.completed", "payments.completed", canonical.KindPayment, "completed", "", iat},
		{"mdf.payout_failed", "mdf.payout_failed", canonical.KindPayment, "failed", "", iat},
	}
	if got, want := len(cases), len(fixtureNames(t)); got != want {
		t.Fatalf("%d cases for %d fixtures: every fixture needs a case", got, want)
	}
	v := newVerifier(t, []string{testSecret})
	for _, tc := range cases {
		t.Run(tc.eventID, func(t *testing.T) {
			raw := fixture(t, tc.eventID)
			d, err := v.Verify(raw, signedHeader(t, testSecret, claimsFor(tc.eventID)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if d.Provider != "journeybee" || d.Event != tc.event || d.Type != "journeybee."+tc.event {
				t.Errorf("Provider, Event, Type = %q, %q, %q; want journeybee, %q, journeybee.%s", d.Provider, d.Event, d.Type, tc.event, tc.event)
			}
			if d.Normalized.Kind != tc.kind || d.Normalized.Action != tc.action {
				t.Errorf("Kind/Action = %s/%s, want %s/%s", d.Normalized.Kind, d.Normalized.Action, tc.kind, tc.action)
			}
			if d.EntityID != tc.entityID {
				t.Errorf("EntityID = %q, want %q", d.EntityID, tc.entityID)
			}
			if !d.OccurredAt.Equal(tc.occurred) || d.OccurredAt.Location() != time.UTC {
				t.Errorf("OccurredAt = %v, want %v UTC", d.OccurredAt, tc.occurred)
			}
			if d.Tenant != "company_12345678-1234-5678-9012-123456789abc" {
				t.Errorf("Tenant = %q", d.Tenant)
			}
			if d.Meta["event_id"] != tc.eventID {
				t.Errorf("Meta[event_id] = %q, want %q as sent", d.Meta["event_id"], tc.eventID)
			}
			if !strings.HasPrefix(d.IdempotencyKey, "jb:") || len(d.IdempotencyKey) != 67 {
				t.Errorf("IdempotencyKey = %q", d.IdempotencyKey)
			}
			if &d.Raw[0] != &raw[0] || len(d.Raw) != len(raw) {
				t.Error("Raw is not the body as received")
			}
			if _, ok := d.Payload.(*Payload); !ok {
				t.Errorf("Payload is %T, want *Payload", d.Payload)
			}
			checkGolden(t, tc.eventID, d.Normalized)
		})
	}
}

// checkGolden compares the record's JSON with testdata/golden/<name>.json
// (go test -run TestFixtures -update rewrites them).
func checkGolden(t *testing.T, name string, r canonical.Record) {
	t.Helper()
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatalf("marshal record: %v", err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("normalized record differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}

// compactJSON returns raw JSON without insignificant whitespace.
func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %q: %v", raw, err)
	}
	return b.String()
}

// verifyFixture verifies a fixture delivered with its own name as event_id.
func verifyFixture(t *testing.T, name string) provider.Delivery {
	t.Helper()
	d, err := newVerifier(t, []string{testSecret}).Verify(fixture(t, name), signedHeader(t, testSecret, claimsFor(name)))
	if err != nil {
		t.Fatalf("Verify(%s): %v", name, err)
	}
	return d
}

func TestNormalizeLead(t *testing.T) {
	for _, name := range []string{"lead_created", "leads.create"} {
		t.Run(name, func(t *testing.T) {
			d := verifyFixture(t, name)
			l := d.Normalized.Lead
			if l == nil {
				t.Fatal("no lead")
			}
			if l.ID != leadUUID || l.Email != "contact@prospect.com" || l.FirstName != "Jane" || l.LastName != "Doe" ||
				l.Phone != "+1-555-123-4567" || l.Company != "Prospect Company Inc" {
				t.Errorf("lead fields: %+v", l)
			}
			if len(l.Tags) != 1 || l.Tags[0] != "Hot Lead" {
				t.Errorf("Tags = %q", l.Tags)
			}
			wantOwner := canonical.Person{ID: "user_87654321-4321-8765-2109-876543210987", Email: "john.manager@company.com", FirstName: "John", LastName: "Manager"}
			if len(l.Owners) != 1 || l.Owners[0] != wantOwner {
				t.Errorf("Owners = %+v", l.Owners)
			}
			wantBy := canonical.Person{ID: "user_12345678-1234-5678-9012-123456789abc", Email: "sales@journeybee.io", FirstName: "Sales", LastName: "Team"}
			if l.CreatedBy == nil || *l.CreatedBy != wantBy {
				t.Errorf("CreatedBy = %+v", l.CreatedBy)
			}
			wantPartner := canonical.PartnerRef{ID: partnershipUUID, Company: "TechCorp Solutions", Domain: "techcorp.com", Type: "referral"}
			if l.Partner == nil || *l.Partner != wantPartner {
				t.Errorf("Partner = %+v", l.Partner)
			}
			if len(l.CustomFields) != 1 || l.CustomFields[0].ID != "cf_lead_industry" || l.CustomFields[0].Label != "Industry" ||
				l.CustomFields[0].Type != "select" || compactJSON(t, l.CustomFields[0].Value) != `{"select":2}` {
				t.Errorf("CustomFields = %+v", l.CustomFields)
			}
			want := ms(1716214515227)
			if l.CreatedAt == nil || !l.CreatedAt.Equal(want) || l.UpdatedAt == nil || !l.UpdatedAt.Equal(want) {
				t.Errorf("CreatedAt, UpdatedAt = %v, %v; want %v", l.CreatedAt, l.UpdatedAt, want)
			}
			p := d.Payload.(*Payload)
			if name == "lead_created" && (len(p.Configuration) != 1 || p.Configuration[0].ID != "lead_integration_settings" ||
				len(p.Configuration[0].Selected) != 1 || p.Configuration[0].Selected[0] != (SelectedOption{ID: "unique_field_lead", Value: "email"})) {
				t.Errorf("Configuration = %+v", p.Configuration)
			}
			if name == "leads.create" && p.Configuration != nil {
				t.Errorf("style B Configuration = %+v, want none", p.Configuration)
			}
			if got := p.Lead.ReceivedFromCompany[0].SentDate.Time; !got.Equal(want) {
				t.Errorf("sent_date = %v, want %v", got, want)
			}
		})
	}
}

func TestNormalizePartner(t *testing.T) {
	d := verifyFixture(t, "partner_created")
	got := d.Normalized.Partner
	want := canonical.Partner{
		ID:          partnershipUUID,
		Company:     "TechCorp Solutions",
		Domain:      "techcorp.com",
		Website:     "https://www.techcorp.com",
		Description: "Leading provider of enterprise software solutions",
		Email:       "partnerships@techcorp.com",
		Phone:       "+1-555-987-6543",
		Country:     "United States",
		Industry:    "Technology",
		Stage:       "Active Partner",
		Category:    "Technology Partner",
		Tier:        "Gold",
	}
	if got == nil {
		t.Fatal("no partner")
	}
	fields := got.CustomFields
	got.CustomFields = nil
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("partner = %+v\nwant %+v", *got, want)
	}
	if len(fields) != 1 || fields[0].Label != "Partnership Start Date" || compactJSON(t, fields[0].Value) != `{"date":"2024-01-15T00:00:00.000Z"}` {
		t.Errorf("CustomFields = %+v", fields)
	}
}

func TestNormalizeDeal(t *testing.T) {
	for _, tc := range []struct {
		name, status, company string
		created               time.Time
		commission            string
	}{
		{"deal_created", "", "TechCorp Solutions", ms(1716214600000), `{"type":"oneOff"`},
		{"deal_deleted", "deleted", "TechCorp Solutions", ms(1716214600000), `{"type":"oneOff"`},
		{"deals.create", "", "TechCorp Solutions", iso("2023-11-07T05:31:56Z"), `"10% one-off"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := verifyFixture(t, tc.name)
			g := d.Normalized.Deal
			if g == nil {
				t.Fatal("no deal")
			}
			if g.ID != dealUUID || g.Name != "Prospect Company Inc - Enterprise plan" || g.Currency != "USD" ||
				g.Stage == "" || g.LeadID != leadUUID || g.Status != tc.status {
				t.Errorf("deal fields: %+v", g)
			}
			if g.Amount == nil || *g.Amount != 48000 || g.Commission == nil || *g.Commission != 4800 {
				t.Errorf("Amount, Commission = %v, %v", g.Amount, g.Commission)
			}
			if g.Partner == nil || g.Partner.ID != partnershipUUID || g.Partner.Company != tc.company {
				t.Errorf("Partner = %+v", g.Partner)
			}
			if len(g.Owners) != 1 || g.Owners[0].Email != "john.manager@company.com" || g.Owners[0].ID == "" {
				t.Errorf("Owners = %+v", g.Owners)
			}
			if len(g.Tags) != 1 || g.Tags[0] != "Q3 target" {
				t.Errorf("Tags = %q", g.Tags)
			}
			if g.CreatedAt == nil || !g.CreatedAt.Equal(tc.created) {
				t.Errorf("CreatedAt = %v, want %v", g.CreatedAt, tc.created)
			}
			cc := compactJSON(t, d.Payload.(*Payload).Deal.CommissionCalculation)
			if !strings.HasPrefix(cc, tc.commission) {
				t.Errorf("commission_calculation = %s, want it to start with %s", cc, tc.commission)
			}
		})
	}
	// A deal owned by a reseller names the partner's type.
	d, err := newVerifier(t, []string{testSecret}).Verify(
		[]byte(`{"deal":{"uuid":"d1","partnership_uuid":"p1","partner_company_name":"R","deal_owned_by_reseller":true}}`),
		signedHeader(t, testSecret, claimsFor("deal_updated")))
	if err != nil || d.Normalized.Deal.Partner == nil || *d.Normalized.Deal.Partner != (canonical.PartnerRef{ID: "p1", Company: "R", Type: "reseller"}) {
		t.Errorf("reseller deal: %+v, %v", d.Normalized.Deal, err)
	}
	// Legacy deal users have a numeric id, newer ones a uuid as well.
	if id := verifyFixture(t, "deal_created").Normalized.Deal.Owners[0].ID; id != "1042" {
		t.Errorf("legacy deal owner id = %q, want 1042", id)
	}
	if id := verifyFixture(t, "deals.create").Normalized.Deal.Owners[0].ID; id != "user_87654321-4321-8765-2109-876543210987" {
		t.Errorf("style B deal owner id = %q, want the uuid", id)
	}
}

func TestNormalizeNotes(t *testing.T) {
	for _, tc := range []struct {
		name       string
		parentKind canonical.Kind
		parentID   string
	}{
		{"lead_note_created", canonical.KindLead, leadUUID},
		{"deal_note_updated", canonical.KindDeal, dealUUID},
	} {
		n := verifyFixture(t, tc.name).Normalized.Note
		if n == nil || n.ID != noteUUID || n.ParentKind != tc.parentKind || n.ParentID != tc.parentID || n.Text == "" ||
			n.Author == nil || n.Author.Email == "" || n.CreatedAt == nil || !n.CreatedAt.Equal(ms(1716214515227)) {
			t.Errorf("%s: note = %+v", tc.name, n)
		}
	}
}

func TestNormalizeMessages(t *testing.T) {
	a := verifyFixture(t, "message_created").Normalized.Message
	if a == nil || a.ID != messageUUID || a.RoomID != "room_8e7d6c5b-4a39-4281-9706-fedcba987654" || a.ReplyTo != "" ||
		string(a.Content) != `"Hi Maria, the Prospect Company deal is ready for your review."` {
		t.Fatalf("style A message = %+v", a)
	}
	wantAtt := canonical.Attachment{ID: "att_0a1b2c3d-4e5f-4061-8273-9a8b7c6d5e4f", Name: "proposal.pdf", Size: 482113,
		MimeType: "application/pdf", URL: "https://files.journeybee.io/att_0a1b2c3d/proposal.pdf"}
	if len(a.Attachments) != 1 || a.Attachments[0] != wantAtt {
		t.Errorf("Attachments = %+v", a.Attachments)
	}
	if a.Author == nil || a.Author.Email != "sales@journeybee.io" || a.Partner == nil || a.Partner.ID != partnershipUUID || a.Partner.Type != "referral" {
		t.Errorf("Author, Partner = %+v, %+v", a.Author, a.Partner)
	}

	b := verifyFixture(t, "messages.create").Normalized.Message
	if b == nil || !strings.HasPrefix(compactJSON(t, b.Content), `{"type":"doc","content":[`) || b.Partner == nil || b.Partner.Company != "TechCorp Solutions" {
		t.Errorf("style B message = %+v", b)
	}
}

func TestNormalizeContacts(t *testing.T) {
	c := verifyFixture(t, "partner_contact_created").Normalized.Contact
	want := canonical.Contact{ID: contactUUID, PartnerID: partnershipUUID, Email: "maria.lopez@techcorp.com",
		FirstName: "Maria", LastName: "Lopez", Phone: "+1-555-987-1200", Position: "Channel Manager"}
	if c == nil || *c != want {
		t.Errorf("contact from \"contact\" = %+v\nwant %+v", c, want)
	}
	if c := verifyFixture(t, "partner_contact_updated").Normalized.Contact; c == nil || c.ID != contactUUID || c.PartnerID != partnershipUUID || c.Position != "Head of Partnerships" {
		t.Errorf("contact from \"partner_contact\" = %+v", c)
	}
	if p := verifyFixture(t, "partner_contact_created").Payload.(*Payload).Contact; p == nil || !bytes.Contains(p.Raw, []byte(`"Decision maker"`)) {
		t.Error("contact Raw does not keep the object as sent")
	}

	// Only a partnership, as J6's schema shows for these events.
	v := newVerifier(t, []string{testSecret})
	d, err := v.Verify(fixture(t, "partner_created"), signedHeader(t, testSecret, claimsFor("partners.contact_create")))
	if err != nil {
		t.Fatal(err)
	}
	if d.Event != "partner_contact_created" || d.EntityID != partnershipUUID || d.Normalized.Kind != canonical.KindContact ||
		d.Normalized.Contact == nil || d.Normalized.Contact.PartnerID != partnershipUUID {
		t.Errorf("partnership-only contact event: %+v", d)
	}
}

// TestDottedNames checks that each newer event name maps to its legacy
// twin, and that names without a twin keep their name.
func TestDottedNames(t *testing.T) {
	bodies := map[entity]string{
		entityLead:        `{"lead":{"uuid":"l1"}}`,
		entityDeal:        `{"deal":{"uuid":"d1"}}`,
		entityNote:        `{"note":{"uuid":"n1"}}`,
		entityPartnership: `{"partnership":{"uuid":"p1"}}`,
		entityMessage:     `{"message":{"uuid":"m1"}}`,
		entityContact:     `{"contact":{"uuid":"c1"}}`,
		entityNone:        `{}`,
	}
	cases := map[string]string{
		"leads.create": "lead_created", "leads.update": "lead_updated", "leads.delete": "lead_deleted",
		"leads.notes_create": "lead_note_created", "leads.notes_update": "lead_note_updated", "leads.notes_delete": "lead_note_deleted",
		"deals.create": "deal_created", "deals.update": "deal_updated", "deals.delete": "deal_deleted",
		"partners.create": "partner_created", "partners.update": "partner_updated",
		"partners.contact_create": "partner_contact_created", "partners.contact_update": "partner_contact_updated",
		"messages.create":     "message_created",
		"payments.processing": "payments.processing", "payments.completed": "payments.completed", "payments.failed": "payments.failed",
		"mdf.payout_completed": "mdf.payout_completed", "mdf.payout_failed": "mdf.payout_failed",
	}
	v := newVerifier(t, []string{testSecret})
	for sent, want := range cases {
		spec, ok := catalog[want]
		if !ok {
			t.Errorf("%s: %s not in the catalog", sent, want)
			continue
		}
		d, err := v.Verify([]byte(bodies[spec.entity]), signedHeader(t, testSecret, claimsFor(sent)))
		if err != nil {
			t.Errorf("%s: %v", sent, err)
			continue
		}
		if d.Event != want || d.Type != "journeybee."+want || d.Meta["event_id"] != sent {
			t.Errorf("%s: Event, Type, event_id = %q, %q, %q; want %q", sent, d.Event, d.Type, d.Meta["event_id"], want)
		}
	}
	// Each style-A name (and dotted name without a twin) is its own
	// canonical name, and every alias points into the catalog.
	for name, spec := range catalog {
		if spec.event != name {
			t.Errorf("catalog[%q].event = %q", name, spec.event)
		}
	}
	for alias, name := range dotted {
		if _, ok := catalog[name]; !ok {
			t.Errorf("dotted[%q] = %q, not in the catalog", alias, name)
		}
	}
}

func TestUnknownEventAccepted(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	for _, id := range []string{"contacts.create", "task_created", "leads.archive", "x", "a-b_c.d9"} {
		d, err := v.Verify([]byte(`{"task":{"uuid":"t1"},"anything":[1,2,3]}`), signedHeader(t, testSecret, claimsFor(id)))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if d.Event != id || d.Type != "journeybee."+id || d.Normalized.Kind != canonical.KindOther || d.Normalized.Action != id || d.EntityID != "" {
			t.Errorf("%s: %+v", id, d)
		}
		if !d.OccurredAt.Equal(testNow.Add(-15 * time.Second)) {
			t.Errorf("%s: OccurredAt = %v, want the token's iat", id, d.OccurredAt)
		}
	}
	// An unknown event still needs a JSON object.
	if _, err := v.Verify([]byte(`[]`), signedHeader(t, testSecret, claimsFor("task_created"))); !errors.Is(err, provider.ErrInvalidPayload) {
		t.Errorf("unknown event with an array body: %v", err)
	}
}
