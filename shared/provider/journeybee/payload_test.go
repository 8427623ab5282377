package journeybee

import (
	"bytes"
	"github.com/go-json-experiment/json"
	"reflect"
	"testing"
	"time"
)

func TestIdempotencyKey(t *testing.T) {
	v := newVerifier(t, []string{testSecret, prevSecret})
	key := func(body []byte, c Claims, secret string) string {
		t.Helper()
		d, err := v.Verify(body, signedHeader(t, secret, c))
		if err != nil {
			t.Fatal(err)
		}
		if len(d.IdempotencyKey) == 0 || len(d.IdempotencyKey) > 128 {
			t.Fatalf("key length %d", len(d.IdempotencyKey))
		}
		for _, r := range d.IdempotencyKey {
			if r > 0x7e || r < 0x21 {
				t.Fatalf("key %q is not printable ASCII", d.IdempotencyKey)
			}
		}
		return d.IdempotencyKey
	}
	updated := fixture(t, "lead_updated")
	base := key(updated, claimsFor("lead_updated"), testSecret)

	// A redelivery: same body, a freshly signed token (other iat/exp, even
	// the other secret during a rotation).
	again := claimsFor("lead_updated")
	again.IssuedAt, again.ExpiresAt = testNow, testNow.Add(30*time.Minute)
	if k := key(updated, again, prevSecret); k != base {
		t.Errorf("redelivery: key %s, want %s", k, base)
	}
	// The dotted spelling of the same event is the same event.
	if k := key(updated, claimsFor("leads.update"), testSecret); k != base {
		t.Errorf("leads.update: key %s, want %s", k, base)
	}
	// Another body for the same entity (a later update).
	later := bytes.Replace(updated, []byte("1716300915000"), []byte("1716300999000"), 1)
	if bytes.Equal(later, updated) {
		t.Fatal("body not changed")
	}
	if k := key(later, claimsFor("lead_updated"), testSecret); k == base {
		t.Error("a different body gave the same key")
	}
	// Same body, another event (lead_deleted after lead_updated).
	if k := key(updated, claimsFor("lead_deleted"), testSecret); k == base {
		t.Error("a different event gave the same key")
	}
	// Same body and event, another company.
	other := claimsFor("lead_updated")
	other.CompanyUUID = "company_99999999-9999-9999-9999-999999999999"
	if k := key(updated, other, testSecret); k == base {
		t.Error("a different company gave the same key")
	}
	// Another user doing the same thing is the same event.
	user := claimsFor("lead_updated")
	user.UserUUID = "user_00000000-0000-4000-8000-000000000000"
	if k := key(updated, user, testSecret); k != base {
		t.Errorf("a different user: key %s, want %s", k, base)
	}
}

// TestTolerantDecoding: optional fields of an unexpected type are left
// unset; the delivery is still accepted and the rest normalized.
func TestTolerantDecoding(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	body := []byte(`{
		"lead": {
			"uuid": "lead_1", "email": 5, "first_name": "Jane", "last_name": null,
			"created_at": "yesterday", "updated_at": {"ms": 1}, "phone_number": ["+1"],
			"tags": "hot", "custom_fields": {"x": 1},
			"assigned_users": [1, {"uuid": 2, "email": "a@b.c"}, null],
			"received_from_company": "partner", "sent_to_companies": [{"any": "thing"}, 3],
			"brand_new_field": {"nested": [1, 2]}
		},
		"company_uuid": "body-company", "user_uuid": "body-user", "event_id": "deal_deleted", "api_key": "jb_api_body",
		"configuration": [{"id": "lead_integration_settings", "selected": [1, {"id": "unique_field_lead", "value": 7}, {"id": "x", "value": "email"}]}],
		"extra": true
	}`)
	d, err := v.Verify(body, signedHeader(t, testSecret, claimsFor("lead_created")))
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	l := d.Normalized.Lead
	if l.ID != "lead_1" || l.FirstName != "Jane" || l.Email != "" || l.Phone != "" || l.Tags != nil || l.CustomFields != nil || l.Partner != nil {
		t.Errorf("lead = %+v", l)
	}
	if len(l.Owners) != 3 || l.Owners[1].Email != "a@b.c" || l.Owners[1].ID != "" {
		t.Errorf("Owners = %+v", l.Owners)
	}
	if l.CreatedAt != nil || l.UpdatedAt != nil || !d.OccurredAt.Equal(testNow.Add(-15*time.Second)) {
		t.Errorf("times: %v %v %v, want none and OccurredAt = iat", l.CreatedAt, l.UpdatedAt, d.OccurredAt)
	}
	// The token, not the body, says who and what.
	if d.Tenant != "company_12345678-1234-5678-9012-123456789abc" || d.Event != "lead_created" || d.Meta["user_uuid"] != "user_87654321-4321-8765-2109-876543210987" {
		t.Errorf("body keys overrode the token: %+v", d)
	}
	cfg := d.Payload.(*Payload).Configuration
	if len(cfg) != 1 || len(cfg[0].Selected) != 3 || cfg[0].Selected[1].ID != "unique_field_lead" || cfg[0].Selected[2].Value != "email" {
		t.Errorf("Configuration = %+v", cfg)
	}

	// Deal: a number as a string is read, an overflowing one is not; ids as
	// strings or numbers; an odd commission calculation is kept raw.
	deal := []byte(`{"deal": {"uuid": "deal_1", "deal_value": "48000", "total_commission_value": 1e400,
		"commission_calculation": 12, "assigned_users": [{"id": "abc"}, {"id": 7.5}, {"id": true}],
		"payments": [{"uuid": "p", "payment_date": "2024-06-24", "payment_value": "x"}],
		"deal_owned_by_reseller": "yes", "tags": [{"uuid": "t", "label": 3}]}}`)
	d, err = v.Verify(deal, signedHeader(t, testSecret, claimsFor("deal_updated")))
	if err != nil {
		t.Fatalf("Verify deal: %v", err)
	}
	g := d.Normalized.Deal
	if g.ID != "deal_1" || g.Amount == nil || *g.Amount != 48000 || g.Commission != nil || g.Tags != nil || g.Partner != nil {
		t.Errorf("deal = %+v", g)
	}
	if len(g.Owners) != 3 || g.Owners[0].ID != "abc" || g.Owners[1].ID != "7.5" || g.Owners[2].ID != "" {
		t.Errorf("deal owners = %+v", g.Owners)
	}
	p := d.Payload.(*Payload).Deal
	if string(p.CommissionCalculation) != "12" || !p.Payments[0].PaymentDate.Equal(time.Date(2024, 6, 24, 0, 0, 0, 0, time.UTC)) ||
		p.Payments[0].PaymentValue.Set || p.DealOwnedByReseller.Set {
		t.Errorf("payload deal = %+v", p)
	}

	// Message: content null, attachments with a string size.
	msg := []byte(`{"message": {"uuid": "m1", "content": null, "replied_to_message_uuid": 9,
		"attachments": [{"uuid": "a", "file_size": "12kB"}]}}`)
	d, err = v.Verify(msg, signedHeader(t, testSecret, claimsFor("message_updated")))
	if err != nil {
		t.Fatalf("Verify message: %v", err)
	}
	if m := d.Normalized.Message; m.Content != nil || m.ReplyTo != "" || len(m.Attachments) != 1 || m.Attachments[0].Size != 0 {
		t.Errorf("message = %+v", m)
	}
	if _, err := json.Marshal(d.Normalized); err != nil {
		t.Errorf("normalized record does not marshal: %v", err)
	}
}

func TestTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, tc := range []struct {
		in   string
		want time.Time // zero: unset
	}{
		{`1716214515227`, utc(2024, 5, 20, 14, 15, 15, 227e6)},
		{`1716214515`, utc(2024, 5, 20, 14, 15, 15, 0)},
		{`1716214515.5`, utc(2024, 5, 20, 14, 15, 15, 5e8)},
		{`1716214515227.0`, utc(2024, 5, 20, 14, 15, 15, 227e6)},
		{`1e12`, utc(2001, 9, 9, 1, 46, 40, 0)},
		{`999999999999`, time.Time{}}, // seconds: the year 33658, out of range
		{`0`, time.Unix(0, 0).UTC()},
		{`-86400`, utc(1969, 12, 31, 0, 0, 0, 0)},
		{`"2023-11-07T05:31:56Z"`, utc(2023, 11, 7, 5, 31, 56, 0)},
		{`"2024-01-15T00:00:00.000Z"`, utc(2024, 1, 15, 0, 0, 0, 0)},
		{`"2023-11-07T07:31:56.123+02:00"`, utc(2023, 11, 7, 5, 31, 56, 123e6)},
		{`"2023-11-07T05:31:56"`, utc(2023, 11, 7, 5, 31, 56, 0)},
		{`"2023-11-07 05:31:56"`, utc(2023, 11, 7, 5, 31, 56, 0)},
		{`"2024-01-15"`, utc(2024, 1, 15, 0, 0, 0, 0)},
		{`"1716214515227"`, utc(2024, 5, 20, 14, 15, 15, 227e6)},
		{`null`, time.Time{}},
		{`""`, time.Time{}},
		{`"yesterday"`, time.Time{}},
		{`"2023-13-45T99:00:00Z"`, time.Time{}},
		{`true`, time.Time{}},
		{`{"ms":1}`, time.Time{}},
		{`[1716214515227]`, time.Time{}},
		{`1e300`, time.Time{}},
		{`-1e300`, time.Time{}},
		{`99999999999999999999`, time.Time{}},
		{`"99999999999999999999"`, time.Time{}},
	} {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tc.in), &ts); err != nil {
			t.Errorf("%s: error %v", tc.in, err)
			continue
		}
		if !ts.Equal(tc.want) || (!ts.IsZero() && ts.Location() != time.UTC) {
			t.Errorf("%s: got %v, want %v", tc.in, ts.Time, tc.want)
		}
	}

	// A bad timestamp does not stop the rest of a struct from decoding.
	var n Note
	if err := json.Unmarshal([]byte(`{"created_at": "soon", "uuid": "n1", "updated_at": 1716214515227}`), &n); err != nil || n.UUID != "n1" || n.UpdatedAt.IsZero() {
		t.Errorf("note = %+v, %v", n, err)
	}

	// Marshalling: RFC 3339, null when unset.
	b, _ := json.Marshal(struct{ A, B Timestamp }{A: Timestamp{utc(2024, 5, 20, 14, 15, 15, 227e6)}})
	if string(b) != `{"A":"2024-05-20T14:15:15.227Z","B":null}` {
		t.Errorf("marshal = %s", b)
	}
}

func TestNumberAndBool(t *testing.T) {
	for _, tc := range []struct {
		in  string
		val float64
		set bool
	}{
		{`48000`, 48000, true},
		{`-12.5`, -12.5, true},
		{`0`, 0, true},
		{`"48000.00"`, 48000, true},
		{`1e400`, 0, false},
		{`"NaN"`, 0, false},
		{`"Inf"`, 0, false},
		{`"48k"`, 0, false},
		{`null`, 0, false},
		{`true`, 0, false},
		{`[1]`, 0, false},
	} {
		var n Number
		if err := json.Unmarshal([]byte(tc.in), &n); err != nil || n.Value != tc.val || n.Set != tc.set {
			t.Errorf("Number %s = %+v, %v; want {%v %v}", tc.in, n, err, tc.val, tc.set)
		}
	}
	for _, tc := range []struct {
		in       string
		val, set bool
	}{
		{`true`, true, true}, {`false`, false, true}, {`null`, false, false}, {`"true"`, false, false}, {`1`, false, false},
	} {
		var v Bool
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil || v.Value != tc.val || v.Set != tc.set {
			t.Errorf("Bool %s = %+v, %v", tc.in, v, err)
		}
	}
	b, _ := json.Marshal(struct {
		A, B Number
		C, D Bool
	}{A: Number{Value: 4800, Set: true}, C: Bool{Value: false, Set: true}})
	if string(b) != `{"A":4800,"B":null,"C":false,"D":null}` {
		t.Errorf("marshal = %s", b)
	}
}

func TestConfigurationAccepted(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	for _, tc := range []struct {
		cfg  string
		want []Configuration
	}{
		{`null`, nil},
		{`[]`, []Configuration{}},
		{`[{"id":"lead_integration_settings","selected":[]}]`, []Configuration{{ID: "lead_integration_settings", Selected: []SelectedOption{}}}},
		{`[{"id":"a","selected":[{"id":"unique_field_lead","value":"email"}]},{"id":"b","selected":[{"id":"x"}],"extra":1}]`,
			[]Configuration{{ID: "a", Selected: []SelectedOption{{ID: "unique_field_lead", Value: "email"}}}, {ID: "b", Selected: []SelectedOption{{ID: "x"}}}}},
	} {
		d, err := v.Verify([]byte(`{"lead":{"uuid":"l1"},"configuration":`+tc.cfg+`}`), signedHeader(t, testSecret, claimsFor("lead_created")))
		if err != nil {
			t.Errorf("%s: %v", tc.cfg, err)
			continue
		}
		if got := d.Payload.(*Payload).Configuration; !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Configuration = %#v, want %#v", tc.cfg, got, tc.want)
		}
	}
}

// TestStrictDecodeAccepts: what the one strict decode accepts, and that
// member names match exactly as written, so the entity, its uuid and the
// normalized record come from the exact-case members whatever else the
// body carries.
func TestStrictDecodeAccepts(t *testing.T) {
	v := newVerifier(t, []string{testSecret})
	h := signedHeader(t, testSecret, claimsFor("lead_created"))

	body := []byte(`{"LEAD":{"uuid":"B-222","email":"b@evil.example"},` +
		`"lead":{"UUID":"C-333","uuid":"A-111","Email":"c@evil.example","email":"a@good.example","First_Name":"Eve","first_name":"Ann"},` +
		`"Lead":{"uuid":"D-444"}}`)
	d, err := v.Verify(body, h)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	l := d.Normalized.Lead
	if d.EntityID != "A-111" || l == nil || l.ID != "A-111" || l.Email != "a@good.example" || l.FirstName != "Ann" {
		t.Errorf("entity %q, lead %+v: want A-111, a@good.example, Ann (the exact-case members)", d.EntityID, l)
	}

	// 35,000 distinct members: every name is checked against the others,
	// in linear time (BenchmarkVerifyManyMembers).
	d, err = v.Verify(manyMembers(35000, false), h)
	if err != nil || d.EntityID != "lead_many" {
		t.Errorf("35,000 distinct members: entity %q, %v", d.EntityID, err)
	}

	// Nesting up to jsontext's bound of 10,000 levels.
	if d, err := v.Verify(nested(10000), h); err != nil || d.EntityID != "lead_deep" {
		t.Errorf("10,000 levels: entity %q, %v", d.EntityID, err)
	}

	// Events without a documented body: any JSON object, read all the same.
	for _, event := range []string{"payments.completed", "mdf.payout_failed", "leads.merged"} {
		if _, err := v.Verify([]byte(`{"payment":{"id":1,"amount":"12.50"},"LEAD":[]}`), signedHeader(t, testSecret, claimsFor(event))); err != nil {
			t.Errorf("%s: %v", event, err)
		}
	}
}
