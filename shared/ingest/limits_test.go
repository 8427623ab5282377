package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/provider/tomba"
	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/store"
)

func leadronAt(createdAt string) []byte {
	return fmt.Appendf(nil, `{"id":"evt_%s","type":"lead.created","createdAt":%q,"data":{"leadId":"ld_1","email":"a@b.co"}}`,
		strings.NewReplacer(":", "", "-", "", "+", "").Replace(createdAt), createdAt)
}

// TestOccurredAtOutOfRangeIsKeptAsZero: a verified delivery whose time the
// stores cannot keep (years 1678 to 2262) is accepted, not answered 500 on
// every retry: OccurredAt is stored as zero, the value in Meta, the body
// untouched.
func TestOccurredAtOutOfRangeIsKeptAsZero(t *testing.T) {
	for _, c := range []struct{ createdAt, kept string }{
		{"2300-01-01T00:00:00Z", "2300-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59-01:00", "10000-01-01T00:59:59Z"}, // year 10000 in UTC
		{"0001-01-01T00:00:01Z", "0001-01-01T00:00:01Z"},
		{"1677-01-01T00:00:00Z", "1677-01-01T00:00:00Z"},
	} {
		t.Run(c.createdAt, func(t *testing.T) {
			r := newRig(t)
			body := leadronAt(c.createdAt)
			resp := r.h.Handle(context.Background(), signed(body))
			if a := decode(t, resp); resp.Status != 200 || a.Status != "accepted" {
				t.Fatalf("got %d %+v, want 200 accepted", resp.Status, a)
			}
			evs := r.st.all()
			if len(evs) != 1 {
				t.Fatalf("stored %d events", len(evs))
			}
			ev := evs[0]
			if !ev.OccurredAt.IsZero() || ev.Meta["occurred_at_out_of_range"] != c.kept || ev.Meta["id"] == "" || !bytes.Equal(ev.Raw, body) {
				t.Errorf("stored OccurredAt %v, Meta %v; want zero, the value kept, the provider's meta too, the body as sent", ev.OccurredAt, ev.Meta)
			}
		})
	}
	// In range: kept as is, no extra meta.
	r := newRig(t)
	r.h.Handle(context.Background(), signed(leadronAt("2262-01-01T00:00:00Z")))
	if ev := r.st.all()[0]; !ev.OccurredAt.Equal(time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)) || ev.Meta["occurred_at_out_of_range"] != "" {
		t.Errorf("in range: OccurredAt %v, Meta %v", ev.OccurredAt, ev.Meta)
	}
}

// TestOversizedFieldsAreInvalidPayload: an id or type the stores' bounds
// refuse (kilobytes long) is the provider's bad input: 400, nothing stored,
// never the 500 a store refusal would give.
func TestOversizedFieldsAreInvalidPayload(t *testing.T) {
	long := strings.Repeat("x", store.MaxFieldLen+1)
	for name, body := range map[string][]byte{
		"entity id": fmt.Appendf(nil, `{"id":"evt_1","type":"lead.created","createdAt":"2026-01-01T00:00:00Z","data":{"leadId":%q}}`, long),
		"verified metadata": fmt.Appendf(nil, `{"id":%q,"type":"lead.created","createdAt":"2026-01-01T00:00:00Z","data":{"leadId":"l"}}`,
			strings.Repeat("i", store.MaxMetaBytes)),
	} {
		t.Run(name, func(t *testing.T) {
			r := newRig(t)
			resp := r.h.Handle(context.Background(), signed(body))
			a := decode(t, resp)
			if resp.Status != 400 || a.Error != "invalid_payload" || !strings.Contains(a.Message, name) || strings.Contains(a.Message, "xxxx") {
				t.Fatalf("got %d %+v, want 400 invalid_payload naming the %s", resp.Status, a, name)
			}
			if len(r.st.all()) != 0 || len(r.q.sent()) != 0 {
				t.Error("state changed")
			}
		})
	}
}

type logLine struct {
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
	Status  int    `json:"status"`
}

func lastLine(t *testing.T, r *rig) logLine {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
	var l logLine
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// TestFailureCauses: every 5xx log line (and metric) names its cause as a
// safe class, and the answer keeps its stable code.
func TestFailureCauses(t *testing.T) {
	tooLarge := fmt.Errorf("%w for a DynamoDB item: event 01X is 500000 bytes", store.ErrTooLarge)
	for _, c := range []struct {
		name        string
		storeErr    error
		queueErr    error
		status      int
		code, cause string
	}{
		{"store unavailable", fmt.Errorf("%w: dynamodb put: connection refused", store.ErrUnavailable), nil, 503, "store_unavailable", "store_unavailable"},
		{"store timeout", fmt.Errorf("%w: dynamodb put: %w", store.ErrUnavailable, context.DeadlineExceeded), nil, 503, "store_unavailable", "store_timeout"},
		{"queue unavailable", nil, fmt.Errorf("%w: sqs send: connection refused", queue.ErrUnavailable), 503, "queue_unavailable", "queue_unavailable"},
		{"queue timeout", nil, fmt.Errorf("%w: sqs send: %w", queue.ErrUnavailable, context.DeadlineExceeded), 503, "queue_unavailable", "queue_timeout"},
		{"bare deadline", context.DeadlineExceeded, nil, 503, "store_unavailable", "timeout"},
		{"canceled", fmt.Errorf("wait: %w", context.Canceled), nil, 503, "store_unavailable", "canceled"},
		{"store size limit", tooLarge, nil, 500, "internal", "store_limit"},
		{"store refusal", fmt.Errorf("%w: an event with id 01X already exists", store.ErrInvalid), nil, 500, "internal", "store_refused"},
		{"anything else", errors.New("boom"), nil, 500, "internal", "internal"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			r.st.setFail(c.storeErr)
			r.q.fail = c.queueErr
			resp := r.h.Handle(context.Background(), signed(leadBody))
			a := decode(t, resp)
			if resp.Status != c.status || a.Error != c.code {
				t.Fatalf("got %d %+v, want %d %s", resp.Status, a, c.status, c.code)
			}
			if c.status == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			l := lastLine(t, r)
			if l.Outcome != "error" || l.Reason != c.cause || l.Status != c.status {
				t.Errorf("log line %+v, want outcome error, reason %s", l, c.cause)
			}
			for _, leak := range []string{"connection refused", "boom", "500000", "01X"} {
				if strings.Contains(string(resp.Body), leak) || strings.Contains(r.log.String(), leak) {
					t.Errorf("%q leaked: %s / %s", leak, resp.Body, r.log)
				}
			}
		})
	}
}

// TestCredentialBinding: with BindCredential set, the delivery's credential
// reaches the store with its expiry, a store's ErrCredentialReused is 401
// token_reused, and a BindCredential failure is our 500.
func TestCredentialBinding(t *testing.T) {
	r := newRig(t)
	var gotHeader http.Header
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r.h.BindCredential = func(h http.Header, d provider.Delivery) (string, time.Time, error) {
		gotHeader = h
		return "digest-1", until, nil
	}
	if resp := r.h.Handle(context.Background(), signed(leadBody)); resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	if ev := r.st.all()[0]; ev.Credential != (store.Credential{ID: "digest-1", ExpiresAt: until}) || gotHeader.Get("X-Leadron-Signature") == "" {
		t.Errorf("stored credential %+v, header seen %v", ev.Credential, gotHeader)
	}

	// An expiry beyond what a store keeps is "never".
	r = newRig(t)
	r.h.BindCredential = func(http.Header, provider.Delivery) (string, time.Time, error) {
		return "digest-2", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	r.h.Handle(context.Background(), signed(leadBody))
	if ev := r.st.all()[0]; ev.Credential != (store.Credential{ID: "digest-2"}) {
		t.Errorf("stored credential %+v, want no expiry", ev.Credential)
	}

	r = newRig(t)
	r.h.BindCredential = func(http.Header, provider.Delivery) (string, time.Time, error) { return "d", until, nil }
	r.st.setFail(fmt.Errorf("%w: provider leadron", store.ErrCredentialReused))
	resp := r.h.Handle(context.Background(), signed(leadBody))
	if a := decode(t, resp); resp.Status != 401 || a.Error != "token_reused" || lastLine(t, r).Outcome != "rejected" {
		t.Fatalf("reused: %d %+v", resp.Status, a)
	}

	r = newRig(t)
	r.h.BindCredential = func(http.Header, provider.Delivery) (string, time.Time, error) {
		return "", time.Time{}, errors.New("no exp")
	}
	resp = r.h.Handle(context.Background(), signed(leadBody))
	if a := decode(t, resp); resp.Status != 500 || a.Error != "internal" || lastLine(t, r).Reason != "credential_unreadable" || len(r.st.all()) != 0 {
		t.Fatalf("unreadable credential: %d %+v %s", resp.Status, a, r.log)
	}
}

// TestKeyWindowWithClock: a content-hash key (Tomba) with a 24 h window:
// a retry within it is a duplicate, A→B→A after it is three new events.
func TestKeyWindowWithClock(t *testing.T) {
	v, err := tomba.New("X-Tomba-Token", []string{"tok"})
	if err != nil {
		t.Fatal(err)
	}
	st, q := newMemStore(), &memQueue{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &ingest.Handler{Provider: "tomba", Verifier: v, Store: st, Queue: q, KeyWindow: 24 * time.Hour,
		Now: func() time.Time { return now }}
	send := func(score int) string {
		t.Helper()
		body := fmt.Appendf(nil, `{"data":{"email":"ada@example.com","score":%d}}`, score)
		resp := h.Handle(context.Background(), ingest.Request{Method: "POST", Body: body, Header: http.Header{"X-Tomba-Token": {"tok"}}})
		a := decode(t, resp)
		if resp.Status != 200 {
			t.Fatalf("status %d %+v", resp.Status, a)
		}
		return a.Status
	}
	var got []string
	got = append(got, send(50))
	now = now.Add(time.Hour)
	got = append(got, send(50)) // a retry within the window
	now = now.Add(time.Hour)
	got = append(got, send(60))
	now = now.Add(23 * time.Hour) // A's window (from its first arrival) is over
	got = append(got, send(50))
	if want := "accepted,duplicate,accepted,accepted"; strings.Join(got, ",") != want {
		t.Fatalf("answers %v, want %s", got, want)
	}
	if n := len(q.sent()); n != 3 {
		t.Fatalf("%d events enqueued, want 3", n)
	}
}
