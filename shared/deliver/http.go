package deliver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// UserAgent is sent with every HTTP delivery.
const UserAgent = "hookline/1"

// ContentTypeJSON is the media type of format raw.
const ContentTypeJSON = "application/json"

// reservedHeaders are set by the HTTP destination itself; a configured
// static header may not override them.
var reservedHeaders = []string{HeaderWebhookID, HeaderWebhookTimestamp, HeaderWebhookSignature,
	"Content-Type", "Content-Length", "Host", "Transfer-Encoding"}

// HTTP is the http destination: one signed POST per attempt.
//
// The body follows the destination's format: cloudevents sends the
// CloudEvents 1.0 structured JSON of the event (NewCloudEvent, data = the
// provider's body) as application/cloudevents+json; normalized the same
// envelope with data = the canonical record; raw the provider's body byte
// for byte as application/json. With a transform, the transform's output
// is the body (DeliverBody), as the configured content_type (default
// application/json). Every request carries the configured static
// headers, User-Agent, and the Standard Webhooks headers: webhook-id (the
// event id, the same on every retry), webhook-timestamp (the attempt's Unix
// seconds) and webhook-signature (see Signer).
//
// Outcomes, by answer:
//
//	2xx                          OK
//	408, 425, 429, 5xx           transient, Class "http_<code>", Retry-After honoured
//	3xx                          permanent, Class "http_<code>": redirects are not
//	                             followed (the configured URL is wrong, and following
//	                             would send signed lead data to a place nobody
//	                             configured); fix the URL and replay
//	other 4xx (400, 404, 410…)   permanent, Class "http_<code>"
//	no answer in time            transient, Class "timeout"
//	no answer (refused, reset,   transient, Class "connection"
//	DNS, TLS)
//	the caller gave up           transient, Class "canceled"
//	the event cannot be encoded  permanent, Class "bad_event"
//
// Errors and classes never contain the URL, a header value, the body or a
// secret. It is safe for concurrent use and never logs.
type HTTP struct {
	name    string
	url     string
	format  string
	headers http.Header
	timeout time.Duration
	signer  *Signer
	client  *http.Client
	now     func() time.Time

	contentType string // of a transformed body
}

// NewHTTP returns the http destination d, posting through client (share one
// NewHTTPClient between destinations). It fails on a signing secret that is
// not whsec_<base64> and on a static header that would override one the
// destination sets itself.
func NewHTTP(d config.Destination, client *http.Client) (*HTTP, error) {
	signer, err := NewSigner(append([]string{d.Secret}, d.Secrets...)...)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", d.Name, err)
	}
	h := &HTTP{
		name:    d.Name,
		url:     d.URL,
		format:  d.Format,
		headers: make(http.Header, len(d.Headers)),
		timeout: d.Timeout.D(),
		signer:  signer,
		client:  client,
		now:     time.Now,

		contentType: d.ContentType,
	}
	for k, v := range d.Headers {
		for _, r := range reservedHeaders {
			if strings.EqualFold(k, r) {
				return nil, fmt.Errorf("destination %s: header %s is set by hookline and cannot be configured", d.Name, r)
			}
		}
		h.headers.Set(k, v)
	}
	if h.timeout <= 0 {
		h.timeout = config.DefaultHTTPTimeout
	}
	if h.contentType == "" {
		h.contentType = config.DefaultTransformContentType
	}
	return h, nil
}

// NewHTTPClient returns the client HTTP destinations share: redirects are
// returned, never followed, and idle connections are kept per host for the
// processor's concurrency. Timeouts come from each destination.
func NewHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Name is the destination's configured name.
func (h *HTTP) Name() string { return h.name }

// Deliver makes one POST; attempt does not change what is sent.
func (h *HTTP) Deliver(ctx context.Context, ev store.Event, attempt int) Outcome {
	return h.post(ctx, ev, nil)
}

// DeliverBody makes one POST of body, a transform's output, as the
// destination's content_type.
func (h *HTTP) DeliverBody(ctx context.Context, ev store.Event, attempt int, body []byte) Outcome {
	return h.post(ctx, ev, body)
}

// MaxHTTPBodyBytes bounds a transformed HTTP body.
const MaxHTTPBodyBytes = 1 << 20

// MaxBodyBytes is the largest transformed body the destination sends.
func (h *HTTP) MaxBodyBytes() int { return MaxHTTPBodyBytes }

func (h *HTTP) post(ctx context.Context, ev store.Event, transformed []byte) Outcome {
	actx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	req, err := h.Request(actx, ev, transformed)
	if errors.Is(err, errBadEvent) {
		return Outcome{Permanent: true, Class: "bad_event"}
	}
	if err != nil {
		return Outcome{Permanent: true, Class: "bad_request"} // the URL was validated at start-up
	}

	resp, err := h.client.Do(req)
	if err != nil {
		return Outcome{Class: transportClass(ctx, actx, err)}
	}
	// Read a little of the answer so the connection can be reused; never
	// more (a huge or endless answer must not hold the worker). Its start
	// goes to the attempt history.
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_ = resp.Body.Close()
	o := StatusOutcome(resp.StatusCode, resp.Header.Get("Retry-After"), h.now())
	o.Response = string(answer[:min(len(answer), store.MaxResponseBytes)])
	return o
}

// errBadEvent: the stored event cannot be encoded.
var errBadEvent = errors.New("the event cannot be encoded")

// Request builds the signed POST of one attempt at ev, as Deliver sends it
// (and hookline transform prints it): the body in the destination's format,
// or transformed (a transform's output, when not nil) as its content_type,
// signed with the attempt's time.
func (h *HTTP) Request(ctx context.Context, ev store.Event, transformed []byte) (*http.Request, error) {
	body, contentType := transformed, h.contentType
	if transformed == nil {
		var err error
		if body, contentType, err = h.body(ev); err != nil {
			return nil, errBadEvent
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for k, v := range h.headers {
		req.Header[k] = v
	}
	now := h.now()
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderWebhookID, ev.ID)
	req.Header.Set(HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(HeaderWebhookSignature, h.signer.Sign(ev.ID, now, body))
	return req, nil
}

// body encodes ev in the destination's format.
func (h *HTTP) body(ev store.Event) ([]byte, string, error) {
	switch h.format {
	case "raw":
		return ev.Raw, ContentTypeJSON, nil
	case "normalized":
		b, err := NewCloudEvent(ev, true).Marshal()
		return b, ContentTypeCloudEvents, err
	default:
		b, err := NewCloudEvent(ev, false).Marshal()
		return b, ContentTypeCloudEvents, err
	}
}

// StatusOutcome classifies an HTTP answer (see HTTP): 2xx is OK; 408, 425,
// 429 and 5xx are transient, with retryAfter (a Retry-After header value:
// delay seconds or an HTTP date, read against now) honoured; everything else
// is permanent.
func StatusOutcome(code int, retryAfter string, now time.Time) Outcome {
	if code >= 200 && code < 300 {
		return Outcome{OK: true, StatusCode: code}
	}
	o := Outcome{StatusCode: code, Class: "http_" + strconv.Itoa(code)}
	switch {
	case code == http.StatusRequestTimeout, code == http.StatusTooEarly, code == http.StatusTooManyRequests, code >= 500:
		o.RetryAfter = ParseRetryAfter(retryAfter, now)
	default:
		o.Permanent = true
	}
	return o
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// It returns 0 for an empty, malformed or past value.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		return time.Duration(min(secs, int64(MaxRetryAfter/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// transportClass classifies a request that got no answer: the caller's
// context ended (canceled), the attempt ran out of time (timeout), or the
// connection failed.
func transportClass(parent, attempt context.Context, err error) string {
	if parent.Err() != nil {
		if errors.Is(parent.Err(), context.DeadlineExceeded) {
			return "timeout"
		}
		return "canceled"
	}
	var ne net.Error
	if attempt.Err() != nil || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timeout"
	}
	return "connection"
}
