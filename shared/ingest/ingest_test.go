package ingest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/store"
)

const (
	ldSecret = "test-leadron-secret-do-not-log"
	jbSecret = "6a1f0b2c-3d4e-4f50-8a61-7b8c9d0e1f2a"
)

var leadBody = []byte(`{"id":"evt_01HZXN8Y9K0M7R6Q5P4N3T2S1A","type":"lead.created","createdAt":"2026-05-27T23:34:12.000Z","data":{"leadId":"ld_123","email":"jane@acme.com","source":"web_form"}}`)

type rig struct {
	h   *ingest.Handler
	st  *memStore
	q   *memQueue
	log *bytes.Buffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	v, err := leadron.New([]string{ldSecret})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: newMemStore(), q: &memQueue{}, log: &bytes.Buffer{}}
	r.h = &ingest.Handler{
		Provider: "leadron", Verifier: v, Store: r.st, Queue: r.q,
		Log: slog.New(slog.NewJSONHandler(&lockedWriter{w: r.log}, nil)),
	}
	return r
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func signed(body []byte) ingest.Request {
	return ingest.Request{Method: http.MethodPost, Body: body, Header: http.Header{
		"Content-Type":        {"application/json"},
		"X-Leadron-Signature": {"sha256=" + leadron.Sign(ldSecret, body)},
	}}
}

type answer struct {
	Status  string `json:"status"`
	EventID string `json:"event_id"`
	Error   string `json:"error"`
	Message string `json:"message"`
}

func decode(t *testing.T, resp ingest.Response) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(resp.Body, &a); err != nil {
		t.Fatalf("answer %q is not JSON: %v", resp.Body, err)
	}
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", resp.Header.Get("Content-Type"))
	}
	return a
}

func TestNewThenDuplicate(t *testing.T) {
	r := newRig(t)
	resp := r.h.Handle(context.Background(), signed(leadBody))
	a := decode(t, resp)
	if resp.Status != 200 || a.Status != "accepted" || a.EventID == "" {
		t.Fatalf("first delivery: %d %+v", resp.Status, a)
	}
	evs := r.st.all()
	if len(evs) != 1 {
		t.Fatalf("stored %d events", len(evs))
	}
	ev := evs[0]
	if ev.ID != a.EventID || ev.Status != store.StatusQueued || ev.Type != "leadron.lead.created" ||
		!bytes.Equal(ev.Raw, leadBody) || ev.EntityID != "ld_123" || ev.ExpiresAt.Sub(ev.ReceivedAt) != 30*24*time.Hour {
		t.Errorf("stored event = %+v", ev)
	}
	if !json.Valid(ev.Normalized) || !strings.Contains(string(ev.Normalized), `"kind":"lead"`) {
		t.Errorf("normalized = %s", ev.Normalized)
	}
	if got := r.q.sent(); len(got) != 1 || got[0] != a.EventID {
		t.Errorf("enqueued %v", got)
	}

	resp = r.h.Handle(context.Background(), signed(leadBody))
	b := decode(t, resp)
	if resp.Status != 200 || b.Status != "duplicate" || b.EventID != a.EventID {
		t.Fatalf("redelivery: %d %+v, want duplicate of %s", resp.Status, b, a.EventID)
	}
	if len(r.st.all()) != 1 || len(r.q.sent()) != 1 {
		t.Errorf("a duplicate stored or enqueued again: %d events, %d messages", len(r.st.all()), len(r.q.sent()))
	}
}

func TestJourneyBeeResignedRedeliveryIsDuplicate(t *testing.T) {
	v, err := journeybee.New([]string{jbSecret})
	if err != nil {
		t.Fatal(err)
	}
	st, q := newMemStore(), &memQueue{}
	h := &ingest.Handler{Provider: "journeybee", Verifier: v, Store: st, Queue: q}
	body := []byte(`{"lead":{"uuid":"lead_1","email":"a@b.co","created_at":1716214515227},"configuration":[]}`)
	send := func(iat time.Time) answer {
		tok, err := journeybee.Sign(jbSecret, journeybee.Claims{CompanyUUID: "company_1", UserUUID: "user_1", EventID: "lead_created", IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		resp := h.Handle(context.Background(), ingest.Request{Method: "POST", Body: body, Header: http.Header{"Authorization": {"Bearer " + tok}}})
		if resp.Status != 200 {
			t.Fatalf("status %d: %s", resp.Status, resp.Body)
		}
		return decode(t, resp)
	}
	now := time.Now().Truncate(time.Second)
	first := send(now.Add(-2 * time.Minute))
	second := send(now)
	if second.Status != "duplicate" || second.EventID != first.EventID {
		t.Fatalf("re-signed redelivery = %+v, want duplicate of %s", second, first.EventID)
	}
	if len(st.all()) != 1 {
		t.Errorf("stored %d events", len(st.all()))
	}
}

func TestConcurrentDuplicates(t *testing.T) {
	r := newRig(t)
	var wg sync.WaitGroup
	ids := make([]string, 20)
	codes := make([]int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := r.h.Handle(context.Background(), signed(leadBody))
			codes[i] = resp.Status
			var a answer
			_ = json.Unmarshal(resp.Body, &a)
			ids[i] = a.EventID
		}()
	}
	wg.Wait()
	for i := range 20 {
		if codes[i] != 200 || ids[i] != ids[0] || ids[i] == "" {
			t.Fatalf("delivery %d: %d %q (first %q)", i, codes[i], ids[i], ids[0])
		}
	}
	if n := len(r.st.all()); n != 1 {
		t.Fatalf("stored %d events, want 1", n)
	}
}

func TestRejections(t *testing.T) {
	big := append(append([]byte(`{"pad":"`), bytes.Repeat([]byte("x"), 256<<10)...), `"}`...)
	cases := []struct {
		name   string
		req    func() ingest.Request
		status int
		code   string
	}{
		{"GET", func() ingest.Request { r := signed(leadBody); r.Method = "GET"; return r }, 405, "method_not_allowed"},
		{"PUT on a POST route", func() ingest.Request { r := signed(leadBody); r.Method = "PUT"; return r }, 405, "method_not_allowed"},
		{"over the limit", func() ingest.Request { return signed(big) }, 413, "body_too_large"},
		{"text/plain", func() ingest.Request { r := signed(leadBody); r.Header.Set("Content-Type", "text/plain"); return r }, 415, "unsupported_media_type"},
		{"form encoded", func() ingest.Request {
			r := signed(leadBody)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, 415, "unsupported_media_type"},
		{"no signature", func() ingest.Request { r := signed(leadBody); r.Header.Del("X-Leadron-Signature"); return r }, 401, "missing_credentials"},
		{"wrong secret", func() ingest.Request {
			r := signed(leadBody)
			r.Header.Set("X-Leadron-Signature", leadron.Sign("other", leadBody))
			return r
		}, 401, "bad_signature"},
		{"tampered body", func() ingest.Request {
			r := signed(leadBody)
			r.Body = bytes.Replace(leadBody, []byte("jane"), []byte("evil"), 1)
			return r
		}, 401, "bad_signature"},
		{"not JSON", func() ingest.Request { return signed([]byte("lead=1")) }, 400, "malformed_json"},
		{"duplicate keys", func() ingest.Request {
			return signed(bytes.Replace(leadBody, []byte(`"leadId":"ld_123"`), []byte(`"leadId":"ld_123","leadId":"ld_999"`), 1))
		}, 400, "malformed_json"},
		{"invalid UTF-8", func() ingest.Request {
			return signed(bytes.Replace(leadBody, []byte("jane"), []byte("j\xffne"), 1))
		}, 400, "malformed_json"},
		{"missing id field", func() ingest.Request {
			return signed(bytes.Replace(leadBody, []byte(`"leadId":"ld_123",`), nil, 1))
		}, 400, "invalid_payload"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			resp := r.h.Handle(context.Background(), tc.req())
			a := decode(t, resp)
			if resp.Status != tc.status || a.Error != tc.code || a.Message == "" {
				t.Fatalf("got %d %+v, want %d %s", resp.Status, a, tc.status, tc.code)
			}
			if n, m := len(r.st.all()), len(r.q.sent()); n != 0 || m != 0 {
				t.Errorf("a rejected delivery changed state: %d stored, %d enqueued", n, m)
			}
			if strings.Contains(string(resp.Body), ldSecret) || strings.Contains(string(resp.Body), "jane@acme.com") {
				t.Errorf("error body leaks: %s", resp.Body)
			}
			if tc.status == 405 && resp.Header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestMissingContentTypeIsAccepted(t *testing.T) {
	r := newRig(t)
	req := signed(leadBody)
	req.Header.Del("Content-Type")
	if resp := r.h.Handle(context.Background(), req); resp.Status != 200 {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	req = signed(leadBody)
	req.Header.Set("Content-Type", "application/cloudevents+json; charset=utf-8")
	if resp := r.h.Handle(context.Background(), req); resp.Status != 200 {
		t.Fatalf("+json type: status %d", resp.Status)
	}
}

func TestStoreDownIs503AndWritesNothing(t *testing.T) {
	r := newRig(t)
	r.st.setDown(true)
	resp := r.h.Handle(context.Background(), signed(leadBody))
	a := decode(t, resp)
	if resp.Status != 503 || resp.Header.Get("Retry-After") == "" || a.Error != "store_unavailable" {
		t.Fatalf("got %d %+v retry-after=%q", resp.Status, a, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(string(resp.Body), "connection refused") {
		t.Errorf("internal error leaked: %s", resp.Body)
	}
	r.st.setDown(false)
	if len(r.st.all()) != 0 || len(r.q.sent()) != 0 {
		t.Fatal("state changed while the store was down")
	}
}

func TestQueueDownThenRetryEnqueues(t *testing.T) {
	r := newRig(t)
	r.q.setDown(true)
	resp := r.h.Handle(context.Background(), signed(leadBody))
	if a := decode(t, resp); resp.Status != 503 || a.Error != "queue_unavailable" {
		t.Fatalf("queue down: %d %+v", resp.Status, a)
	}
	evs := r.st.all()
	if len(evs) != 1 || evs[0].Status != store.StatusReceived {
		t.Fatalf("want the event stored as received, got %+v", evs)
	}
	r.q.setDown(false)
	resp = r.h.Handle(context.Background(), signed(leadBody))
	a := decode(t, resp)
	if resp.Status != 200 || a.Status != "duplicate" || a.EventID != evs[0].ID {
		t.Fatalf("retry: %d %+v", resp.Status, a)
	}
	if got := r.q.sent(); len(got) != 1 || got[0] != evs[0].ID {
		t.Fatalf("retry did not enqueue the stored event: %v", got)
	}
	if st := r.st.all()[0].Status; st != store.StatusQueued {
		t.Errorf("status after requeue = %s", st)
	}
	if !strings.Contains(r.log.String(), `"outcome":"requeued"`) {
		t.Errorf("log has no requeued outcome:\n%s", r.log)
	}
	// A third delivery is a plain duplicate: not enqueued again.
	r.h.Handle(context.Background(), signed(leadBody))
	if n := len(r.q.sent()); n != 1 {
		t.Errorf("enqueued %d times", n)
	}
}

func TestSweeperRequeuesStuckEvents(t *testing.T) {
	r := newRig(t)
	r.q.setDown(true)
	r.h.Handle(context.Background(), signed(leadBody))
	r.q.setDown(false)
	now := time.Now()
	sw := &ingest.Sweeper{Store: r.st, Queue: r.q, After: time.Minute, Now: func() time.Time { return now }}
	if n, err := sw.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("young event swept: n=%d err=%v", n, err)
	}
	now = now.Add(2 * time.Minute)
	if n, err := sw.Sweep(context.Background()); err != nil || n != 1 {
		t.Fatalf("sweep: n=%d err=%v", n, err)
	}
	if got := r.q.sent(); len(got) != 1 || r.st.all()[0].Status != store.StatusQueued {
		t.Fatalf("after sweep: enqueued %v, status %s", got, r.st.all()[0].Status)
	}
	if n, _ := sw.Sweep(context.Background()); n != 0 {
		t.Errorf("second sweep re-enqueued %d", n)
	}
}

func TestLogLineIsWideAndClean(t *testing.T) {
	r := newRig(t)
	req := signed(leadBody)
	req.RequestID = "req-42"
	r.h.Handle(context.Background(), req)
	bad := signed(leadBody)
	bad.Header.Set("X-Leadron-Signature", "sha256="+strings.Repeat("ab", 32))
	r.h.Handle(context.Background(), bad)

	lines := strings.Split(strings.TrimSpace(r.log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per delivery, got %d:\n%s", len(lines), r.log)
	}
	var first, second map[string]any
	_ = json.Unmarshal([]byte(lines[0]), &first)
	_ = json.Unmarshal([]byte(lines[1]), &second)
	for k, want := range map[string]any{"provider": "leadron", "type": "leadron.lead.created", "outcome": "new", "status": 200.0, "request_id": "req-42"} {
		if first[k] != want {
			t.Errorf("log %s = %v, want %v", k, first[k], want)
		}
	}
	if first["event_id"] == "" || first["duration_ms"] == nil {
		t.Errorf("log lacks event_id/duration: %v", first)
	}
	if second["outcome"] != "rejected" || second["reason"] != "bad_signature" || second["status"] != 401.0 {
		t.Errorf("rejection log = %v", second)
	}
	for _, secret := range []string{ldSecret, "jane@acme.com", leadron.Sign(ldSecret, leadBody), strings.Repeat("ab", 32)} {
		if strings.Contains(r.log.String(), secret) {
			t.Errorf("log contains %q", secret)
		}
	}
}

func TestAPIGatewayAdapter(t *testing.T) {
	r := newRig(t)
	e := events.APIGatewayV2HTTPRequest{
		Headers: map[string]string{
			"content-type":        "application/json",
			"x-leadron-signature": leadron.Sign(ldSecret, leadBody),
		},
		Body:            base64.StdEncoding.EncodeToString(leadBody),
		IsBase64Encoded: true,
	}
	e.RequestContext.HTTP.Method = "POST"
	e.RequestContext.RequestID = "apigw-1"
	out, err := r.h.HandleAPIGateway(context.Background(), e)
	if err != nil || out.StatusCode != 200 || out.Headers["Content-Type"] != "application/json" {
		t.Fatalf("got %+v, %v", out, err)
	}
	if evs := r.st.all(); len(evs) != 1 || !bytes.Equal(evs[0].Raw, leadBody) {
		t.Fatalf("base64 body not decoded to the raw bytes")
	}
	e.Body = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("x"), 300<<10))
	if out, _ := r.h.HandleAPIGateway(context.Background(), e); out.StatusCode != 413 {
		t.Errorf("oversize base64 body: %d", out.StatusCode)
	}
}

func TestServeHTTPAdapter(t *testing.T) {
	r := newRig(t)
	srv := httptest.NewServer(r.h)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL, bytes.NewReader(leadBody))
	req.Header = signed(leadBody).Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || len(r.st.all()) != 1 {
		t.Fatalf("status %d, stored %d", resp.StatusCode, len(r.st.all()))
	}
	big := bytes.Repeat([]byte("x"), 1<<20)
	resp, err = http.Post(srv.URL, "application/json", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("1 MiB body: %d", resp.StatusCode)
	}
}

// queuingStore stores and enqueues in one step, like the embedded mode.
type queuingStore struct {
	*memStore
	q     *memQueue
	calls int
}

func (s *queuingStore) PutQueued(ctx context.Context, ev store.Event, exp time.Time) (store.PutResult, error) {
	s.calls++
	ev.Status = store.StatusQueued
	res, err := s.Put(ctx, ev, exp)
	if err == nil && !res.Duplicate {
		res.Status = store.StatusQueued
		_ = s.q.Enqueue(ctx, ev.ID, ev.Type)
	}
	return res, err
}

func TestQueuingStoreIsOneStep(t *testing.T) {
	r := newRig(t)
	qs := &queuingStore{memStore: r.st, q: r.q}
	r.h.Store = qs
	r.h.Queue = &memQueue{down: true} // never used for a new event
	for i, want := range []string{"accepted", "duplicate"} {
		resp := r.h.Handle(context.Background(), signed(leadBody))
		if a := decode(t, resp); resp.Status != 200 || a.Status != want {
			t.Fatalf("delivery %d: %d %+v", i+1, resp.Status, a)
		}
	}
	if qs.calls != 2 || len(r.q.sent()) != 1 || r.st.all()[0].Status != store.StatusQueued {
		t.Fatalf("PutQueued calls %d, enqueued %v, status %s", qs.calls, r.q.sent(), r.st.all()[0].Status)
	}
}

// TestLeaveReceived: with LeaveReceived (the AWS path) the enqueue of a new
// event is not followed by a transition; the event stays received, so the
// first duplicate before the processor's save enqueues it again (harmless:
// the processor dedupes) and marks it queued, and later ones do not; the
// sweeper finds an event the processor never saved.
func TestLeaveReceived(t *testing.T) {
	r := newRig(t)
	r.h.LeaveReceived = true
	resp := r.h.Handle(context.Background(), signed(leadBody))
	a := decode(t, resp)
	if resp.Status != 200 || a.Status != "accepted" {
		t.Fatalf("first delivery: %d %+v", resp.Status, a)
	}
	if evs := r.st.all(); len(evs) != 1 || evs[0].Status != store.StatusReceived || evs[0].Version != 0 {
		t.Fatalf("stored %+v, want one event left received at version 0", evs)
	}
	if got := r.q.sent(); len(got) != 1 || got[0] != a.EventID {
		t.Fatalf("enqueued %v", got)
	}
	resp = r.h.Handle(context.Background(), signed(leadBody))
	if b := decode(t, resp); resp.Status != 200 || b.Status != "duplicate" || b.EventID != a.EventID {
		t.Fatalf("redelivery: %d %+v", resp.Status, b)
	}
	if got := r.q.sent(); len(got) != 2 || r.st.all()[0].Status != store.StatusQueued {
		t.Fatalf("after a duplicate of a received event: enqueued %d times in all, status %s; want 2, queued", len(got), r.st.all()[0].Status)
	}
	r.h.Handle(context.Background(), signed(leadBody))
	if got := r.q.sent(); len(got) != 2 {
		t.Fatalf("a second duplicate enqueued again: %d messages", len(got))
	}

	r = newRig(t)
	r.h.LeaveReceived = true
	r.h.Handle(context.Background(), signed(leadBody))
	now := time.Now().Add(2 * time.Minute)
	sw := &ingest.Sweeper{Store: r.st, Queue: r.q, After: time.Minute, Now: func() time.Time { return now }}
	if n, err := sw.Sweep(context.Background()); err != nil || n != 1 || r.st.all()[0].Status != store.StatusQueued {
		t.Fatalf("sweep: n=%d err=%v status %s; want the unsaved event enqueued and marked", n, err, r.st.all()[0].Status)
	}
}
