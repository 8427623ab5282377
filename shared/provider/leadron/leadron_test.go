package leadron_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/leadron"
)

const (
	testSecret  = "whsec_test_leadron_current_8f3a"
	oldSecret   = "whsec_test_leadron_previous_1c9d"
	otherSecret = "whsec_someone_else_entirely_0000"
)

// sentinels are all the provider sentinels, to check that a rejection wraps
// exactly one.
var sentinels = []error{
	provider.ErrMissingCredentials, provider.ErrMalformedCredentials, provider.ErrBadSignature,
	provider.ErrUnsupportedAlgorithm, provider.ErrExpired, provider.ErrNotYetValid, provider.ErrMissingClaim,
	provider.ErrEmptyBody, provider.ErrMalformedJSON, provider.ErrInvalidPayload, provider.ErrNoSecret,
}

// samplesDir holds the documented events' bodies, shared with the events/
// samples, `hookline send` and the load test (package samples).
const samplesDir = "../../samples/bodies/leadron"

// fixture reads testdata/<name>, or for "events/<type>.json" the shared
// sample body of that event.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	file := filepath.Join("testdata", name)
	if ev, ok := strings.CutPrefix(name, "events/"); ok {
		file = filepath.Join(samplesDir, ev)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signed returns headers carrying body's signature by secret, in the
// "sha256=<hex>" form.
func signed(secret string, body []byte) http.Header {
	h := http.Header{}
	h.Set(leadron.SignatureHeader, "sha256="+leadron.Sign(secret, body))
	return h
}

func newVerifier(t testing.TB, secrets ...string) *leadron.Verifier {
	t.Helper()
	v, err := leadron.New(secrets)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func f64(f float64) *float64 { return &f }

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestNewRefusesToStartWithoutSecret(t *testing.T) {
	for _, secrets := range [][]string{nil, {}, {""}, {"", "  ", "\t"}} {
		v, err := leadron.New(secrets)
		if !errors.Is(err, provider.ErrNoSecret) || v != nil {
			t.Errorf("New(%q) = %v, %v; want nil, ErrNoSecret", secrets, v, err)
		}
	}
}

// successCase is one fixture and what Verify must make of it.
type successCase struct {
	file     string
	typ      string
	entityID string
	key      string
	at       string
	record   canonical.Record
}

var successCases = []successCase{
	{"events/lead.created.json", "leadron.lead.created", "ld_123", "leadron:evt_01JX3K8Q2M4N6P8R0T2V4W6Y8A", "2026-05-27T23:34:12Z",
		canonical.Record{Kind: canonical.KindLead, Action: "created", Lead: &canonical.Lead{ID: "ld_123", Email: "jane@acme.com", Source: "web_form"}}},
	{"events/lead.updated.json", "leadron.lead.updated", "ld_123", "leadron:evt_01JX3K9B7C1D3F5G7H9J1K3M5N", "2026-05-28T08:02:45.12Z",
		canonical.Record{Kind: canonical.KindLead, Action: "updated", Lead: &canonical.Lead{ID: "ld_123", Changes: json.RawMessage(`{"status":"qualified"}`)}}},
	{"events/lead.deleted.json", "leadron.lead.deleted", "ld_123", "leadron:evt_01JX3KA0P2Q4R6S8T0V2W4X6Y8", "2026-05-29T14:15:00Z",
		canonical.Record{Kind: canonical.KindLead, Action: "deleted", Lead: &canonical.Lead{ID: "ld_123"}}},
	{"events/opportunity.created.json", "leadron.opportunity.created", "opp_456", "leadron:evt_01JX3KB1A3B5C7D9E1F3G5H7J9", "2026-05-28T09:00:00Z",
		canonical.Record{Kind: canonical.KindDeal, Action: "created", Deal: &canonical.Deal{ID: "opp_456", Amount: f64(25000), Stage: "discovery", Status: "open"}}},
	{"events/opportunity.stage_changed.json", "leadron.opportunity.stage_changed", "opp_456", "leadron:evt_01JX3KC2K4M6N8P0Q2R4S6T8V0", "2026-06-02T16:45:30.5Z",
		canonical.Record{Kind: canonical.KindDeal, Action: "stage_changed", Deal: &canonical.Deal{ID: "opp_456", Stage: "proposal", PreviousStage: "discovery"}}},
	{"events/opportunity.won.json", "leadron.opportunity.won", "opp_456", "leadron:evt_01JX3KD3W5X7Y9Z1A3B5C7D9E1", "2026-06-20T11:20:00Z",
		canonical.Record{Kind: canonical.KindDeal, Action: "won", Deal: &canonical.Deal{ID: "opp_456", Amount: f64(25000), Status: "won"}}},
	{"events/opportunity.lost.json", "leadron.opportunity.lost", "opp_457", "leadron:evt_01JX3KE4F6G8H0J2K4M6N8P0Q2", "2026-06-21T10:05:09Z",
		canonical.Record{Kind: canonical.KindDeal, Action: "lost", Deal: &canonical.Deal{ID: "opp_457", Status: "lost", LostReason: "budget"}}},
	{"events/partner.registered.json", "leadron.partner.registered", "ptr_789", "leadron:evt_01JX3KF5R7S9T1V3W5X7Y9Z1A3", "2026-05-30T07:30:00Z",
		canonical.Record{Kind: canonical.KindPartner, Action: "registered", Partner: &canonical.Partner{ID: "ptr_789", Company: "Partner Co", Status: "registered"}}},
	{"events/partner.approved.json", "leadron.partner.approved", "ptr_789", "leadron:evt_01JX3KG6B8C0D2E4F6G8H0J2K4", "2026-05-31T12:00:00Z",
		canonical.Record{Kind: canonical.KindPartner, Action: "approved", Partner: &canonical.Partner{ID: "ptr_789", Status: "approved"}}},
	{"events/commission.earned.json", "leadron.commission.earned", "com_101", "leadron:evt_01JX3KH7M9N1P3Q5R7S9T1V3W5", "2026-06-20T11:20:01Z",
		canonical.Record{Kind: canonical.KindCommission, Action: "earned", Commission: &canonical.Commission{ID: "com_101", PartnerID: "ptr_789", Amount: f64(500), Status: "earned"}}},
	{"events/commission.paid.json", "leadron.commission.paid", "com_101", "leadron:evt_01JX3KJ8X0Y2Z4A6B8C0D2E4F6", "2026-07-01T00:00:00Z",
		canonical.Record{Kind: canonical.KindCommission, Action: "paid", Commission: &canonical.Commission{ID: "com_101", Amount: f64(500), Status: "paid"}}},
	{"events/task.created.json", "leadron.task.created", "tsk_202", "leadron:evt_01JX3KK9G1H3J5K7M9N1P3Q5R7", "2026-05-28T08:03:00Z",
		canonical.Record{Kind: canonical.KindTask, Action: "created", Task: &canonical.Task{ID: "tsk_202", Title: "Follow up with lead", AssigneeID: "usr_303", Status: "open"}}},
	{"events/task.completed.json", "leadron.task.completed", "tsk_202", "leadron:evt_01JX3KMAS2T4V6W8X0Y2Z4A6B8", "2026-05-29T10:12:44Z",
		canonical.Record{Kind: canonical.KindTask, Action: "completed", Task: &canonical.Task{ID: "tsk_202", Status: "completed"}}},
	{"events/form.submitted.json", "leadron.form.submitted", "frm_404", "leadron:evt_01JX3KNBC3D5E7F9G1H3J5K7M9", "2026-05-27T23:34:11Z",
		canonical.Record{Kind: canonical.KindForm, Action: "submitted", Form: &canonical.Form{ID: "frm_404", LeadID: "ld_123", Fields: json.RawMessage(`{"name":"Jane","email":"jane@acme.com"}`)}}},

	// Undocumented lead fields, an offset time, a drifted status enum.
	{"extra/lead.created-full.json", "leadron.lead.created", "ld_9Kq2mZx7PbT4vW1aR", "leadron:evt_01JX3KPCN4P6Q8R0S2T4V6W8X0", "2026-05-28T08:15:30Z",
		canonical.Record{Kind: canonical.KindLead, Action: "created", Lead: &canonical.Lead{
			ID: "ld_9Kq2mZx7PbT4vW1aR", Email: "Marta.Lopez@example.es", FirstName: "Marta", LastName: "López", Source: "referral", Status: "converted"}}},
	// Optional fields with unexpected types are not normalized, not refused.
	{"extra/lead.created-drift.json", "leadron.lead.created", "ld_124", "leadron:evt_01JX3KQDY5Z7A9B1C3D5E7F9G1", "2026-05-28T10:15:30Z",
		canonical.Record{Kind: canonical.KindLead, Action: "created", Lead: &canonical.Lead{ID: "ld_124"}}},
	// An event type Leadron may add later is stored, not refused.
	{"extra/unknown-type.json", "leadron.communication.bounced", "", "leadron:evt_01JX3KREH6J8K0M2N4P6Q8R0S2", "2026-06-03T05:06:07.089Z",
		canonical.Record{Kind: canonical.KindOther, Action: "communication.bounced"}},
}

func TestVerifyFixtures(t *testing.T) {
	v := newVerifier(t, testSecret)
	for _, tc := range successCases {
		for _, form := range []string{"sha256=", ""} {
			t.Run(tc.file+"/"+form, func(t *testing.T) {
				body := fixture(t, tc.file)
				orig := bytes.Clone(body)
				h := http.Header{}
				h.Set(leadron.SignatureHeader, form+leadron.Sign(testSecret, body))

				d, err := v.Verify(body, h)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				var env struct {
					ID, Type string
					Data     json.RawMessage
				}
				if err := json.Unmarshal(body, &env); err != nil {
					t.Fatal(err)
				}
				want := provider.Delivery{
					Provider:       "leadron",
					Event:          env.Type,
					Type:           tc.typ,
					IdempotencyKey: tc.key,
					EntityID:       tc.entityID,
					OccurredAt:     utc(tc.at),
					Meta:           map[string]string{"id": env.ID, "secret_index": "0"},
					Normalized:     tc.record,
				}
				got := d
				got.Payload, got.Raw = nil, nil
				if !reflect.DeepEqual(got, want) {
					t.Errorf("delivery\n got %+v\nwant %+v", got, want)
				}
				if d.OccurredAt.Location() != time.UTC {
					t.Errorf("OccurredAt not in UTC: %v", d.OccurredAt)
				}
				if !reflect.DeepEqual(d.Normalized, tc.record) {
					g, _ := json.Marshal(d.Normalized)
					w, _ := json.Marshal(tc.record)
					t.Errorf("normalized\n got %s\nwant %s", g, w)
				}
				if &d.Raw[0] != &body[0] || !bytes.Equal(body, orig) {
					t.Error("Raw does not alias the body unchanged")
				}
				p, ok := d.Payload.(*leadron.Envelope)
				if !ok {
					t.Fatalf("Payload is %T", d.Payload)
				}
				if p.ID != env.ID || p.Type != env.Type || !p.CreatedAt.Equal(d.OccurredAt) || !bytes.Equal(p.Data, env.Data) {
					t.Errorf("payload envelope = %+v", p)
				}
			})
		}
	}
}

// TestFixturesCoverCatalog makes sure there is a fixture, and so a success
// case, for each of Leadron's 14 documented events.
func TestFixturesCoverCatalog(t *testing.T) {
	documented := []string{
		"lead.created", "lead.updated", "lead.deleted",
		"opportunity.created", "opportunity.stage_changed", "opportunity.won", "opportunity.lost",
		"partner.registered", "partner.approved", "commission.earned", "commission.paid",
		"task.created", "task.completed", "form.submitted",
	}
	files, err := filepath.Glob(filepath.Join(samplesDir, "*.json"))
	if err != nil || len(files) != len(documented) {
		t.Fatalf("%d event fixtures (%v), want %d", len(files), err, len(documented))
	}
	tested := map[string]bool{}
	for _, tc := range successCases {
		tested[tc.file] = true
	}
	for _, typ := range documented {
		if !tested["events/"+typ+".json"] {
			t.Errorf("no success case for %s", typ)
		}
	}
}

func TestTypedPayload(t *testing.T) {
	v := newVerifier(t, testSecret)
	verify := func(file string) *leadron.Envelope {
		body := fixture(t, file)
		d, err := v.Verify(body, signed(testSecret, body))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		return d.Payload.(*leadron.Envelope)
	}
	if got := verify("events/lead.updated.json").Lead; got == nil || got.LeadID != "ld_123" || string(got.Changes) != `{"status":"qualified"}` {
		t.Errorf("lead.updated data = %+v", got)
	}
	if got := verify("events/opportunity.stage_changed.json").Opportunity; got == nil || got.From != "discovery" || got.To != "proposal" {
		t.Errorf("stage_changed data = %+v", got)
	}
	if got := verify("events/commission.earned.json").Commission; got == nil || got.Amount == nil || *got.Amount != 500 || got.PartnerID != "ptr_789" {
		t.Errorf("commission.earned data = %+v", got)
	}
	if got := verify("events/task.created.json").Task; got == nil || got.AssigneeID != "usr_303" {
		t.Errorf("task.created data = %+v", got)
	}
	if got := verify("events/form.submitted.json").Form; got == nil || got.LeadID != "ld_123" {
		t.Errorf("form.submitted data = %+v", got)
	}
	if got := verify("events/partner.registered.json").Partner; got == nil || got.Company != "Partner Co" {
		t.Errorf("partner.registered data = %+v", got)
	}
	e := verify("extra/unknown-type.json")
	if e.Lead != nil || e.Opportunity != nil || e.Partner != nil || e.Commission != nil || e.Task != nil || e.Form != nil {
		t.Errorf("unknown type got typed data: %+v", e)
	}
}

func TestRotation(t *testing.T) {
	body := fixture(t, "events/lead.created.json")
	rotating := newVerifier(t, testSecret, oldSecret)
	for secret, index := range map[string]string{testSecret: "0", oldSecret: "1"} {
		d, err := rotating.Verify(body, signed(secret, body))
		if err != nil || d.Meta["secret_index"] != index {
			t.Errorf("during rotation: secret_index %q, %v; want %s", d.Meta["secret_index"], err, index)
		}
	}
	// The index refers to the secrets as configured, blanks included.
	d, err := newVerifier(t, "", oldSecret).Verify(body, signed(oldSecret, body))
	if err != nil || d.Meta["secret_index"] != "1" {
		t.Errorf("secret_index after a blank: %q, %v", d.Meta["secret_index"], err)
	}
	rotated := newVerifier(t, testSecret)
	if _, err := rotated.Verify(body, signed(oldSecret, body)); !errors.Is(err, provider.ErrBadSignature) {
		t.Errorf("old secret after rotation: %v, want ErrBadSignature", err)
	}
	if _, err := rotated.Verify(body, signed(testSecret, body)); err != nil {
		t.Errorf("current secret after rotation: %v", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	v := newVerifier(t, testSecret)
	cases := []struct {
		id     string
		hashed bool
	}{
		{"evt_01HZXN8Y9K0M7R6Q5P4N3T2S1A", false},
		{strings.Repeat("a", 100), false},
		{strings.Repeat("a", 101), true},
		{"evt with space", true},
		{"evt_\u00e9", true},
		{"evt_\x01", true},
		{"sha256:" + strings.Repeat("0", 64), true}, // cannot pose as a hashed key
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		body, _ := json.Marshal(map[string]any{
			"id": tc.id, "type": "lead.created", "createdAt": "2026-05-27T23:34:12Z", "data": map[string]any{"leadId": "ld_1"},
		})
		d, err := v.Verify(body, signed(testSecret, body))
		if err != nil {
			t.Fatalf("id %q: %v", tc.id, err)
		}
		k := d.IdempotencyKey
		if len(k) > 128 || seen[k] || !strings.HasPrefix(k, "leadron:") {
			t.Errorf("id %q: key %q (len %d, seen %v)", tc.id, k, len(k), seen[k])
		}
		seen[k] = true
		for _, c := range []byte(k) {
			if c <= ' ' || c > '~' {
				t.Errorf("id %q: key %q is not visible ASCII", tc.id, k)
				break
			}
		}
		want := "leadron:" + tc.id
		if tc.hashed {
			sum := sha256.Sum256([]byte(tc.id))
			want = "leadron:sha256:" + hex.EncodeToString(sum[:])
		}
		if k != want {
			t.Errorf("id %q: key %q, want %q", tc.id, k, want)
		}
		if d.Meta["id"] != tc.id {
			t.Errorf("Meta id = %q, want %q", d.Meta["id"], tc.id)
		}
	}
}

// rejectCase is one delivery Verify must refuse.
type rejectCase struct {
	name   string
	body   []byte
	header http.Header
	want   error
}

// mutate returns a fixture's envelope with change applied, re-encoded.
func mutate(t testing.TB, file string, change func(env, data map[string]any)) []byte {
	t.Helper()
	var env map[string]any
	if err := json.Unmarshal(fixture(t, file), &env); err != nil {
		t.Fatal(err)
	}
	change(env, env["data"].(map[string]any))
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func rejectCases(t testing.TB) []rejectCase {
	lead := fixture(t, "events/lead.created.json")
	goodSig := leadron.Sign(testSecret, lead)
	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	tampered := bytes.Replace(lead, []byte("jane@acme.com"), []byte("jane@acme.co"), 1)
	sig := func(b []byte) http.Header { return signed(testSecret, b) }
	notEnvelope := func(name, b string) rejectCase {
		return rejectCase{"not an envelope: " + name, []byte(b), sig([]byte(b)), provider.ErrInvalidPayload}
	}
	strict := func(name, b string) rejectCase {
		return rejectCase{"strict JSON: " + name, []byte(b), sig([]byte(b)), provider.ErrMalformedJSON}
	}
	withEnv := func(change func(env map[string]any)) []byte {
		return mutate(t, "events/lead.created.json", func(env, _ map[string]any) { change(env) })
	}

	cases := []rejectCase{
		// Credentials.
		{"no header", lead, http.Header{}, provider.ErrMissingCredentials},
		{"nil header", lead, nil, provider.ErrMissingCredentials},
		{"empty header", lead, hdr(leadron.SignatureHeader, ""), provider.ErrMissingCredentials},
		{"wrong header name", lead, hdr("X-Leadron-Signature-256", goodSig), provider.ErrMissingCredentials},
		{"github header name", lead, hdr("X-Hub-Signature-256", "sha256="+goodSig), provider.ErrMissingCredentials},
		{"unsigned garbage", []byte("not json"), http.Header{}, provider.ErrMissingCredentials},
		{"duplicated header", lead, hdr(leadron.SignatureHeader, goodSig, leadron.SignatureHeader, goodSig), provider.ErrMalformedCredentials},
		{"sha1 prefix", lead, hdr(leadron.SignatureHeader, "sha1="+goodSig), provider.ErrMalformedCredentials},
		{"uppercase prefix", lead, hdr(leadron.SignatureHeader, "SHA256="+goodSig), provider.ErrMalformedCredentials},
		{"double prefix", lead, hdr(leadron.SignatureHeader, "sha256=sha256="+goodSig), provider.ErrMalformedCredentials},
		{"prefix only", lead, hdr(leadron.SignatureHeader, "sha256="), provider.ErrMalformedCredentials},
		{"not hex", lead, hdr(leadron.SignatureHeader, strings.Repeat("zz", 32)), provider.ErrMalformedCredentials},
		{"base64", lead, hdr(leadron.SignatureHeader, "DrGCiA5c1+4qE8DdmFPJYdji1c+ARrahCplFQETrfzI="), provider.ErrMalformedCredentials},
		{"short", lead, hdr(leadron.SignatureHeader, goodSig[:63]), provider.ErrMalformedCredentials},
		{"long", lead, hdr(leadron.SignatureHeader, goodSig+"00"), provider.ErrMalformedCredentials},
		{"comma-joined", lead, hdr(leadron.SignatureHeader, goodSig+","+goodSig), provider.ErrMalformedCredentials},
		{"tampered body", tampered, sig(lead), provider.ErrBadSignature},
		{"wrong secret", lead, signed(otherSecret, lead), provider.ErrBadSignature},
		{"well-formed wrong signature", lead, hdr(leadron.SignatureHeader, strings.Repeat("ab", 32)), provider.ErrBadSignature},
		{"bad signature, bad body", []byte("{"), signed(otherSecret, []byte("{")), provider.ErrBadSignature},

		// Body.
		{"empty body", []byte{}, sig([]byte{}), provider.ErrEmptyBody},
		{"nil body", nil, sig(nil), provider.ErrEmptyBody},
		{"blank body", []byte(" \n"), sig([]byte(" \n")), provider.ErrEmptyBody},
		{"malformed JSON", lead[:len(lead)-1], sig(lead[:len(lead)-1]), provider.ErrMalformedJSON},
		{"trailing data", append(bytes.Clone(lead), '}'), sig(append(bytes.Clone(lead), '}')), provider.ErrMalformedJSON},
		{"two objects", append(bytes.Clone(lead), lead...), sig(append(bytes.Clone(lead), lead...)), provider.ErrMalformedJSON},
		notEnvelope("array", `[`+string(lead)+`]`),
		notEnvelope("null", `null`),
		notEnvelope("string", `"lead.created"`),
		notEnvelope("number", `42`),
		notEnvelope("empty object", `{}`),

		// The one strict decode reads all of the body.
		strict("id repeated", `{"id":"evt_1","id":"evt_2","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_1"}}`),
		strict("id repeated through an escape", `{"id":"evt_1","\u0069d":"evt_2","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_1"}}`),
		strict("leadId repeated in data", `{"id":"evt_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_1","leadId":"ld_2"}}`),
		strict("member repeated in an unknown type's data", `{"id":"evt_1","type":"lead.merged","createdAt":"2026-05-27T23:34:12Z","data":{"x":1,"x":2}}`),
		strict("invalid UTF-8 in an unknown member", "{\"id\":\"evt_1\",\"type\":\"lead.created\",\"createdAt\":\"2026-05-27T23:34:12Z\",\"data\":{\"leadId\":\"ld_1\"},\"x\":\"\xff\"}"),
		strict("35,000 members in data, the last repeated", string(manyMembers(35000, true))),
	}

	envelope := []struct {
		name   string
		change func(env map[string]any)
	}{
		{"id missing", func(e map[string]any) { delete(e, "id") }},
		{"id empty", func(e map[string]any) { e["id"] = "" }},
		{"id null", func(e map[string]any) { e["id"] = nil }},
		{"id number", func(e map[string]any) { e["id"] = 42 }},
		{"type missing", func(e map[string]any) { delete(e, "type") }},
		{"type empty", func(e map[string]any) { e["type"] = "" }},
		{"type object", func(e map[string]any) { e["type"] = map[string]any{"name": "lead.created"} }},
		{"type uppercase", func(e map[string]any) { e["type"] = "Lead.Created" }},
		{"type with space", func(e map[string]any) { e["type"] = "lead created" }},
		{"type leading dot", func(e map[string]any) { e["type"] = ".lead" }},
		{"type too long", func(e map[string]any) { e["type"] = strings.Repeat("x", 101) }},
		{"type with newline", func(e map[string]any) { e["type"] = "lead.created\n" }},
		{"createdAt missing", func(e map[string]any) { delete(e, "createdAt") }},
		{"createdAt empty", func(e map[string]any) { e["createdAt"] = "" }},
		{"createdAt number", func(e map[string]any) { e["createdAt"] = 1716214515227 }},
		{"createdAt not a time", func(e map[string]any) { e["createdAt"] = "yesterday" }},
		{"createdAt without zone", func(e map[string]any) { e["createdAt"] = "2026-05-27T23:34:12" }},
		{"createdAt with space", func(e map[string]any) { e["createdAt"] = "2026-05-27 23:34:12Z" }},
		{"createdAt month 13", func(e map[string]any) { e["createdAt"] = "2026-13-27T23:34:12Z" }},
		{"createdAt one-digit hour", func(e map[string]any) { e["createdAt"] = "2026-05-27T3:34:12.000Z" }},
		{"createdAt date only", func(e map[string]any) { e["createdAt"] = "2026-05-27" }},
		{"createdAt unix string", func(e map[string]any) { e["createdAt"] = "1716214515" }},
		{"data missing", func(e map[string]any) { delete(e, "data") }},
		{"data null", func(e map[string]any) { e["data"] = nil }},
		{"data array", func(e map[string]any) { e["data"] = []any{map[string]any{"leadId": "ld_123"}} }},
		{"data string", func(e map[string]any) { e["data"] = `{"leadId":"ld_123"}` }},
		{"unknown type, data array", func(e map[string]any) { e["type"] = "lead.merged"; e["data"] = []any{} }},
	}
	for _, c := range envelope {
		b := withEnv(c.change)
		cases = append(cases, rejectCase{c.name, b, sig(b), provider.ErrInvalidPayload})
	}

	// Each documented event without its id field, or with a bad one.
	idFields := map[string]string{
		"lead.created": "leadId", "lead.updated": "leadId", "lead.deleted": "leadId",
		"opportunity.created": "opportunityId", "opportunity.stage_changed": "opportunityId",
		"opportunity.won": "opportunityId", "opportunity.lost": "opportunityId",
		"partner.registered": "partnerId", "partner.approved": "partnerId",
		"commission.earned": "commissionId", "commission.paid": "commissionId",
		"task.created": "taskId", "task.completed": "taskId",
		"form.submitted": "formId",
	}
	for typ, idField := range idFields {
		for what, change := range map[string]func(d map[string]any){
			"missing": func(d map[string]any) { delete(d, idField) },
			"empty":   func(d map[string]any) { d[idField] = "" },
			"null":    func(d map[string]any) { d[idField] = nil },
			"number":  func(d map[string]any) { d[idField] = 123 },
			"object":  func(d map[string]any) { d[idField] = map[string]any{"id": "x_1"} },
		} {
			b := mutate(t, "events/"+typ+".json", func(_, d map[string]any) { change(d) })
			cases = append(cases, rejectCase{typ + " " + idField + " " + what, b, sig(b), provider.ErrInvalidPayload})
		}
	}
	return cases
}

func TestVerifyRejects(t *testing.T) {
	v := newVerifier(t, testSecret, oldSecret)
	for _, tc := range rejectCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			d, err := v.Verify(tc.body, tc.header)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			n := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%v wraps %d sentinels, want 1", err, n)
			}
			if !reflect.DeepEqual(d, provider.Delivery{}) {
				t.Errorf("a rejection returned a delivery: %+v", d)
			}
		})
	}
}

// TestErrorsDoNotLeak checks that no rejection names a secret, a signature
// or anything from the body.
func TestErrorsDoNotLeak(t *testing.T) {
	v := newVerifier(t, testSecret, oldSecret)
	for _, tc := range rejectCases(t) {
		_, err := v.Verify(tc.body, tc.header)
		if err == nil {
			t.Fatalf("%s: accepted", tc.name)
		}
		msg := err.Error()
		secrets := []string{testSecret, oldSecret, "whsec", "jane@", "evt_", "ld_", "opp_", "ptr_", "com_", "tsk_", "frm_",
			"web_form", "Lead.Created", "yesterday", "2026-", "1716214515227", "lead.merged", "xxxx"}
		for _, vals := range tc.header {
			for _, val := range vals {
				if hexSig := strings.TrimPrefix(val, "sha256="); len(hexSig) >= 8 {
					secrets = append(secrets, hexSig[:8])
				}
			}
		}
		for _, s := range secrets {
			if strings.Contains(msg, s) {
				t.Errorf("%s: error %q contains %q", tc.name, msg, s)
			}
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	v := newVerifier(b, testSecret)
	body := fixture(b, "events/lead.created.json")
	h := signed(testSecret, body)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(body, h); err != nil {
			b.Fatal(err)
		}
	}
}

// manyMembers returns a lead.created body whose data has n members besides
// its leadId ("0000":0,… about 9 bytes each); with dup the last name is
// given twice.
func manyMembers(n int, dup bool) []byte {
	var b bytes.Buffer
	b.WriteString(`{"id":"evt_many","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_many"`)
	name := func(i int) string { return fmt.Sprintf(`,"%04s":0`, strconv.FormatInt(int64(i), 36)) }
	for i := range n {
		b.WriteString(name(i))
	}
	if dup {
		b.WriteString(name(n - 1))
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// TestExactNames: member names match as written, so the event id, type and
// entity come from the exact-case members whatever else the body carries;
// 35,000 distinct members are read (each checked against the others).
func TestExactNames(t *testing.T) {
	v := newVerifier(t, testSecret)
	body := []byte(`{"ID":"evt_evil","id":"evt_1","Type":"task.created","type":"lead.created","createdAt":"2026-05-27T23:34:12Z",` +
		`"Data":{"leadId":"ld_evil"},"data":{"LeadId":"ld_evil","leadId":"ld_1","EMAIL":"eve@evil.example","email":"jane@acme.com"}}`)
	d, err := v.Verify(body, signed(testSecret, body))
	if err != nil {
		t.Fatal(err)
	}
	if d.Meta["id"] != "evt_1" || d.Type != "leadron.lead.created" || d.EntityID != "ld_1" || d.Normalized.Lead.Email != "jane@acme.com" {
		t.Errorf("delivery = %+v, want evt_1, lead.created, ld_1, jane@acme.com", d)
	}
	body = manyMembers(35000, false)
	if d, err := v.Verify(body, signed(testSecret, body)); err != nil || d.EntityID != "ld_many" {
		t.Errorf("35,000 distinct members: %q, %v", d.EntityID, err)
	}
}
