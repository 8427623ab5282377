package deliver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// Test signing secrets: whsec_ + base64 of 24 bytes.
const (
	secretA = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	secretB = "whsec_c2Vjb25kLXNpZ25pbmcta2V5LWZvci10ZXN0cw=="
)

// sink is a real HTTP receiver: it verifies every request's Standard
// Webhooks signature with the standard-webhooks library (independently of
// hookline's signer), keeps the requests, counts them per webhook-id, and
// answers what answer says.
type sink struct {
	t      testing.TB
	srv    *httptest.Server
	hooks  []*standardwebhooks.Webhook                         // one per secret the receiver knows
	answer func(n int, w http.ResponseWriter, r *http.Request) // n: 1 for the first request

	mu    sync.Mutex
	reqs  []request
	perID map[string]int
	bad   []string // verification failures
}

// request is one request as the sink saw it.
type request struct {
	header http.Header
	body   []byte
}

// newSink starts a sink that knows secrets and answers 204 unless answer
// says otherwise (answer may be nil).
func newSink(t testing.TB, answer func(n int, w http.ResponseWriter, r *http.Request), secrets ...string) *sink {
	t.Helper()
	s := &sink{t: t, answer: answer, perID: map[string]int{}}
	for _, sec := range secrets {
		wh, err := standardwebhooks.NewWebhook(sec)
		if err != nil {
			t.Fatal(err)
		}
		s.hooks = append(s.hooks, wh)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, b := range s.bad {
			t.Errorf("sink: %s", b)
		}
	})
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.reqs = append(s.reqs, request{header: r.Header.Clone(), body: body})
	n := len(s.reqs)
	id := r.Header.Get("webhook-id")
	s.perID[id]++
	for i, wh := range s.hooks {
		if err := wh.Verify(body, r.Header); err != nil {
			s.bad = append(s.bad, fmt.Sprintf("request %d (%s): secret %d: %v", n, id, i+1, err))
		}
	}
	if r.Method != http.MethodPost {
		s.bad = append(s.bad, fmt.Sprintf("request %d: method %s", n, r.Method))
	}
	s.mu.Unlock()
	if s.answer != nil {
		s.answer(n, w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// url is where to deliver.
func (s *sink) url() string { return s.srv.URL + "/hooks" }

// count is how many requests carried webhook-id id.
func (s *sink) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perID[id]
}

// total is how many requests arrived.
func (s *sink) total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// last returns the latest request.
func (s *sink) last() request {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reqs) == 0 {
		s.t.Fatal("sink: no request")
	}
	return s.reqs[len(s.reqs)-1]
}

// answerStatus answers code to the first n requests, then 204.
func answerStatus(n, code int, header ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(i int, w http.ResponseWriter, _ *http.Request) {
		if i > n {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		for j := 0; j+1 < len(header); j += 2 {
			w.Header().Set(header[j], header[j+1])
		}
		w.WriteHeader(code)
	}
}

// httpDest is an http destination config for url.
func httpDest(name, url, format string, events ...string) config.Destination {
	return config.Destination{
		Name: name, Type: "http", URL: url, Secret: secretA, Format: format, Events: events,
		Headers:     map[string]string{"X-Team": "growth"},
		Timeout:     config.Duration(5 * time.Second),
		MaxAttempts: config.DefaultMaxAttempts,
	}
}

// testEvent is a stored leadron event with a body that is valid JSON with
// whitespace and non-ASCII text (so byte-exactness shows).
func testEvent(id string) store.Event {
	at := time.Date(2025, 11, 25, 14, 3, 7, 123456789, time.UTC)
	return store.Event{
		ID:             id,
		Provider:       "leadron",
		Type:           "leadron.lead.created",
		IdempotencyKey: "evt_" + id,
		EntityID:       "lead_42",
		Tenant:         "acme",
		ReceivedAt:     at,
		OccurredAt:     at.Add(-2 * time.Second),
		Raw:            []byte("{\n  \"id\": \"evt_1\",\n  \"type\": \"lead.created\",\n  \"data\": {\"name\": \"Zoë <Q> & co\", \"email\": \"zoe@example.com\"}\n}\n"),
		Normalized:     []byte(`{"kind":"lead","action":"created","lead":{"name":"Zoë <Q> & co","email":"zoe@example.com"}}`),
		Status:         store.StatusQueued,
		UpdatedAt:      at,
		ExpiresAt:      at.Add(30 * 24 * time.Hour),
	}
}

// cloudEvent is the envelope a receiver decodes.
type cloudEvent struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Time            string          `json:"time"`
	Subject         string          `json:"subject"`
	DataContentType string          `json:"datacontenttype"`
	Tenant          string          `json:"tenant"`
	Data            json.RawMessage `json:"data"`
}

// checkCloudEvent checks a CloudEvents 1.0 structured body against ev, with
// data equal (as JSON) to wantData.
func checkCloudEvent(t *testing.T, r request, ev store.Event, wantData []byte) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/cloudevents+json" {
		t.Errorf("Content-Type = %q, want application/cloudevents+json", ct)
	}
	var ce cloudEvent
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ce); err != nil {
		t.Fatalf("body is not a CloudEvent: %v", err)
	}
	want := cloudEvent{
		SpecVersion: "1.0", ID: ev.ID, Source: "hookline/" + ev.Provider, Type: ev.Type,
		Time: ev.OccurredAt.Format(time.RFC3339Nano), Subject: ev.EntityID,
		DataContentType: "application/json", Tenant: ev.Tenant,
	}
	got := ce
	got.Data = nil
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("envelope = %+v, want %+v", got, want)
	}
	if !strings.HasPrefix(strings.TrimSpace(string(ce.Data)), "{") {
		t.Fatalf("data = %s, want the JSON object itself (not a string)", ce.Data)
	}
	var g, w any
	if err := json.Unmarshal(ce.Data, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wantData, &w); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Errorf("data = %s, want %s", ce.Data, wantData)
	}
}
