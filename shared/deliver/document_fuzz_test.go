package deliver_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
)

// sampleEvents are the stored events of every sample body (shared/samples),
// as ingest stores them after the provider's own validation.
func sampleEvents(t testing.TB) []store.Event {
	t.Helper()
	now := time.Now().UTC()
	var out []store.Event
	for _, prov := range []string{"journeybee", "leadron", "tomba"} {
		for _, event := range samples.Events(prov) {
			body, err := samples.Body(prov, event)
			if err != nil {
				t.Fatal(err)
			}
			d, err := samples.Parse(prov, event, body, samples.DefaultToken(now))
			if err != nil {
				t.Fatalf("%s %s: %v", prov, event, err)
			}
			ev, err := ingest.NewEvent(d, now, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, ev)
		}
	}
	return out
}

// decodeNumbers decodes JSON as the document builder does (numbers as
// json.Number), for comparison.
func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

// FuzzDocument: over every sample event and mutations of it, the event
// document builder fails exactly when the stored body or record is not
// one JSON value of valid UTF-8; otherwise the document is valid JSON with
// the nine fields, data equal to the stored body and normalized to the
// stored record.
func FuzzDocument(f *testing.F) {
	for _, ev := range sampleEvents(f) {
		f.Add(ev.Provider, ev.Type, ev.EntityID, ev.Tenant, ev.Raw, ev.Normalized)
	}
	f.Add("leadron", "leadron.lead.created", "", "", []byte(`{"n":12345678901234567890123456789,"f":-0.0e-7,"s":"\ud800 \u0000 <&>"}`), []byte(nil))
	f.Fuzz(func(t *testing.T, prov, typ, entity, tenant string, raw, normalized []byte) {
		at := time.Date(2026, 5, 27, 23, 34, 12, 5, time.UTC)
		ev := store.Event{
			ID: "01JFUZZ", Provider: strings.ToValidUTF8(prov, ""), Type: strings.ToValidUTF8(typ, ""),
			EntityID: strings.ToValidUTF8(entity, ""), Tenant: strings.ToValidUTF8(tenant, ""),
			ReceivedAt: at, OccurredAt: at.Add(-time.Second), Raw: raw, Normalized: normalized,
		}
		valid := func(b []byte) bool { return len(b) == 0 || (utf8.Valid(b) && json.Valid(b)) }
		rawBefore, normBefore := bytes.Clone(raw), bytes.Clone(normalized)
		out, err := deliver.DocumentJSON(ev)
		if !bytes.Equal(raw, rawBefore) || !bytes.Equal(normalized, normBefore) {
			t.Fatal("DocumentJSON modified the stored body or record")
		}
		if want := valid(raw) && valid(normalized); (err == nil) != want {
			t.Fatalf("DocumentJSON error %v, want error: %v (raw %q, normalized %q)", err, !want, raw, normalized)
		}
		if err != nil {
			return
		}
		if !json.Valid(out) || !utf8.Valid(out) {
			t.Fatalf("document is not valid JSON: %q", out)
		}
		doc, ok := decodeNumbers(t, out).(map[string]any)
		if !ok || len(doc) != 9 {
			t.Fatalf("document %s: want an object of 9 fields", out)
		}
		for _, b := range []struct {
			field  string
			stored []byte
		}{{"data", raw}, {"normalized", normalized}} {
			var want any
			if len(b.stored) > 0 {
				want = decodeNumbers(t, b.stored)
			}
			if !reflect.DeepEqual(doc[b.field], want) {
				t.Fatalf("document %s = %#v, want the stored %s", b.field, doc[b.field], b.stored)
			}
		}
		for field, want := range map[string]any{
			"id": ev.ID, "provider": ev.Provider, "type": ev.Type, "source": "hookline/" + ev.Provider,
			"time": "2026-05-27T23:34:11.000000005Z", "subject": orNil(ev.EntityID), "tenant": orNil(ev.Tenant),
		} {
			if doc[field] != want {
				t.Fatalf("document %s = %#v, want %#v", field, doc[field], want)
			}
		}
	})
}

func orNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// TestDocumentOfEverySample runs the fuzz target's property on every
// sample event in the ordinary test run, and checks that the provider's
// body and record are really there.
func TestDocumentOfEverySample(t *testing.T) {
	evs := sampleEvents(t)
	if len(evs) < 30 {
		t.Fatalf("%d sample events", len(evs))
	}
	for _, ev := range evs {
		doc, err := deliver.Document(ev)
		if err != nil {
			t.Fatalf("%s: %v", ev.Type, err)
		}
		if !reflect.DeepEqual(doc["data"], decodeNumbers(t, ev.Raw)) || !reflect.DeepEqual(doc["normalized"], decodeNumbers(t, ev.Normalized)) {
			t.Errorf("%s: data or normalized differ from the stored event", ev.Type)
		}
		if doc["type"] != ev.Type || doc["provider"] != ev.Provider {
			t.Errorf("%s: document = %v", ev.Type, doc)
		}
	}
}
