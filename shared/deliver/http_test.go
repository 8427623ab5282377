package deliver_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
)

func newHTTP(t testing.TB, d config.Destination) *deliver.HTTP {
	t.Helper()
	h, err := deliver.NewHTTP(d, deliver.NewHTTPClient())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHTTPFormats(t *testing.T) {
	ev := testEvent("01JHTTPFORMATS")
	for _, c := range []struct {
		format string
		check  func(t *testing.T, r request)
	}{
		{"cloudevents", func(t *testing.T, r request) { checkCloudEvent(t, r, ev, ev.Raw) }},
		{"normalized", func(t *testing.T, r request) { checkCloudEvent(t, r, ev, ev.Normalized) }},
		{"raw", func(t *testing.T, r request) {
			if !bytes.Equal(r.body, ev.Raw) {
				t.Errorf("raw body = %q, want the provider's body byte for byte %q", r.body, ev.Raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		}},
	} {
		t.Run(c.format, func(t *testing.T) {
			s := newSink(t, nil, secretA)
			o := newHTTP(t, httpDest("crm", s.url(), c.format)).Deliver(t.Context(), ev, 1)
			if !o.OK || o.StatusCode != 204 {
				t.Fatalf("Deliver = %+v, want OK 204", o)
			}
			r := s.last()
			c.check(t, r)
			for k, want := range map[string]string{
				"webhook-id": ev.ID, "X-Team": "growth", "User-Agent": deliver.UserAgent,
			} {
				if got := r.header.Get(k); got != want {
					t.Errorf("header %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestHTTPSignatureRotation: with a secret and a previous one, a receiver
// that knows either verifies (the sink checks with both, independently).
func TestHTTPSignatureRotation(t *testing.T) {
	ev := testEvent("01JROTATION")
	s := newSink(t, nil, secretA, secretB)
	d := httpDest("crm", s.url(), "cloudevents")
	d.Secrets = []string{secretB}
	if o := newHTTP(t, d).Deliver(t.Context(), ev, 1); !o.OK {
		t.Fatalf("Deliver = %+v", o)
	}
	sig := s.last().header.Get("webhook-signature")
	if parts := strings.Split(sig, " "); len(parts) != 2 || !strings.HasPrefix(parts[0], "v1,") || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("webhook-signature = %q, want two space-separated v1 signatures", sig)
	}
	// A receiver with an unrelated secret refuses it.
	other, err := standardwebhooks.NewWebhook("whsec_" + "b3RoZXItc2VjcmV0LW5vdC1vdXJz")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Verify(s.last().body, s.last().header); err == nil {
		t.Fatal("a receiver with another secret verified the delivery")
	}
}

// TestHTTPSameIDEveryAttempt: webhook-id is the event id on every attempt,
// the timestamp and signature are the attempt's own.
func TestHTTPSameIDEveryAttempt(t *testing.T) {
	ev := testEvent("01JSAMEID")
	s := newSink(t, answerStatus(2, 503), secretA)
	h := newHTTP(t, httpDest("crm", s.url(), "cloudevents"))
	for n := 1; n <= 3; n++ {
		h.Deliver(t.Context(), ev, n)
	}
	if got := s.count(ev.ID); got != 3 {
		t.Fatalf("%d requests with webhook-id %s, want 3", got, ev.ID)
	}
}

func TestHTTPStatusClasses(t *testing.T) {
	ev := testEvent("01JSTATUS")
	for _, c := range []struct {
		code      int
		ok, perm  bool
		class     string
		retryHint time.Duration
		header    []string
	}{
		{code: 200, ok: true},
		{code: 202, ok: true},
		{code: 400, perm: true, class: "http_400"},
		{code: 401, perm: true, class: "http_401"},
		{code: 404, perm: true, class: "http_404"},
		{code: 410, perm: true, class: "http_410"},
		{code: 422, perm: true, class: "http_422"},
		{code: 408, class: "http_408"},
		{code: 425, class: "http_425"},
		{code: 429, class: "http_429", retryHint: 7 * time.Second, header: []string{"Retry-After", "7"}},
		{code: 500, class: "http_500"},
		{code: 502, class: "http_502"},
		{code: 503, class: "http_503", retryHint: 2 * time.Minute, header: []string{"Retry-After", "120"}},
		// Redirects are not followed: the configured URL is wrong (permanent).
		{code: 301, perm: true, class: "http_301", header: []string{"Location", "/elsewhere"}},
		{code: 302, perm: true, class: "http_302", header: []string{"Location", "/elsewhere"}},
		{code: 307, perm: true, class: "http_307", header: []string{"Location", "/elsewhere"}},
		{code: 308, perm: true, class: "http_308", header: []string{"Location", "/elsewhere"}},
	} {
		t.Run(http.StatusText(c.code), func(t *testing.T) {
			s := newSink(t, answerStatus(1, c.code, c.header...), secretA)
			o := newHTTP(t, httpDest("crm", s.url(), "raw")).Deliver(t.Context(), ev, 1)
			want := deliver.Outcome{OK: c.ok, Permanent: c.perm, StatusCode: c.code, Class: c.class, RetryAfter: c.retryHint}
			if o != want {
				t.Errorf("Deliver = %+v, want %+v", o, want)
			}
			if got := s.total(); got != 1 {
				t.Errorf("%d requests reached the sink, want 1 (a redirect must not be followed)", got)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"30", 30 * time.Second},
		{" 30 ", 30 * time.Second},
		{"86400", 11 * time.Hour}, // bounded by MaxRetryAfter: one SQS visibility, 12 h from the receive, less room
		{"Wed, 26 Nov 2025 14:00:00 GMT", 11 * time.Hour},
		{"Tue, 25 Nov 2025 14:01:30 GMT", 90 * time.Second},
		{"Tue, 25 Nov 2025 13:59:00 GMT", 0}, // past
		{"soon", 0},
	} {
		if got := deliver.ParseRetryAfter(c.v, now); got != c.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

// TestHTTPTimeoutIsTransient: a destination that never answers is cut off
// at its timeout, and that is a transient failure.
func TestHTTPTimeoutIsTransient(t *testing.T) {
	release := make(chan struct{})
	s := newSink(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}, secretA)
	defer close(release)
	d := httpDest("slow", s.url(), "cloudevents")
	d.Timeout = config.Duration(100 * time.Millisecond)
	o := newHTTP(t, d).Deliver(t.Context(), testEvent("01JHANG"), 1)
	if want := (deliver.Outcome{Class: "timeout"}); o != want {
		t.Fatalf("Deliver to a hanging destination = %+v, want %+v", o, want)
	}
}

func TestHTTPNoAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String() + "/hooks"
	l.Close()
	h := newHTTP(t, httpDest("down", url, "raw"))
	if o := h.Deliver(t.Context(), testEvent("01JDOWN"), 1); o != (deliver.Outcome{Class: "connection"}) {
		t.Errorf("Deliver to a closed port = %+v, want transient connection", o)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if o := h.Deliver(ctx, testEvent("01JDOWN"), 1); o != (deliver.Outcome{Class: "canceled"}) {
		t.Errorf("Deliver with a canceled context = %+v, want transient canceled", o)
	}
}

func TestHTTPBadStoredBody(t *testing.T) {
	s := newSink(t, nil, secretA)
	ev := testEvent("01JBADBODY")
	ev.Raw = []byte(`{"truncated":`)
	o := newHTTP(t, httpDest("crm", s.url(), "cloudevents")).Deliver(t.Context(), ev, 1)
	if o != (deliver.Outcome{Permanent: true, Class: "bad_event"}) || s.total() != 0 {
		t.Fatalf("Deliver of a corrupt body = %+v, %d requests; want permanent bad_event, none sent", o, s.total())
	}
}

func TestNewHTTPRefuses(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(d *config.Destination)
	}{
		{"secret not base64", func(d *config.Destination) { d.Secret = "whsec_not base64!" }},
		{"secret without prefix", func(d *config.Destination) { d.Secret = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" }},
		{"rotation secret bad", func(d *config.Destination) { d.Secrets = []string{"whsec_%%%"} }},
		{"signature header", func(d *config.Destination) { d.Headers = map[string]string{"Webhook-Signature": "x"} }},
		{"content type header", func(d *config.Destination) { d.Headers = map[string]string{"content-type": "text/plain"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := httpDest("crm", "https://crm.example.com/hooks", "raw")
			c.change(&d)
			_, err := deliver.NewHTTP(d, deliver.NewHTTPClient())
			if err == nil {
				t.Fatal("NewHTTP succeeded")
			}
			if strings.Contains(err.Error(), "MfKQ9r8") || strings.Contains(err.Error(), "not base64!") {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}
