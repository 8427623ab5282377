// Package ingest is the provider-agnostic receiving side of hookline:
// adapt the request → bound and check it → verify with the provider value →
// one atomic claim+store → enqueue → answer. The same Handler serves API
// Gateway (Lambda) and net/http (hookline serve).
//
// The no-loss rule (DESIGN.md): a 2xx is only ever sent once the event is
// durably stored AND on the queue. If the store step succeeded but the
// enqueue failed, the answer is 503; the provider's retry is then a duplicate
// of an event still in status received, which is enqueued again before the
// 2xx. The Sweeper catches events whose provider never retried.
//
// Bad input is never a 5xx (the provider would retry it forever), and our
// own failure is never a 4xx (the provider would give up on a good lead).
// So the mapping from a verified Delivery to a stored Event (newEvent) makes
// every verified delivery storable or refuses it as a 400 first:
//
//   - An OccurredAt the stores cannot keep (outside years 1678 to 2262, e.g.
//     Leadron's createdAt "2300-01-01T00:00:00Z") is stored as zero (unknown),
//     its value kept in Meta["occurred_at_out_of_range"]: a real lead with a
//     silly timestamp is not lost, and the raw body, stored and forwarded
//     byte for byte, still carries it.
//   - Type, EntityID, Tenant and Meta over the store's bounds (kilobytes:
//     no real id is that long) are refused as invalid_payload.
//
// Every error becomes a status in one place, classify, which also names the
// cause of every 5xx as a safe class for the log line and the metrics.
package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/store"
)

// Verifier is a provider value (journeybee, leadron, tomba). Its Verify
// reads the whole body once with provider.DecodeJSON, the one strict JSON
// decode (a member named twice, invalid UTF-8, bad syntax: malformed_json),
// whatever the event: ingest adds no JSON check of its own.
type Verifier interface {
	Verify(raw []byte, h http.Header) (provider.Delivery, error)
}

// Store is what ingest needs of an event store (store/dynamo, store/sqlite).
type Store interface {
	Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error)
	Transition(ctx context.Context, id string, from, to store.Status) (bool, error)
}

// QueuingStore is a Store that can also enqueue a new event in the same
// atomic step, storing it directly as queued: the embedded mode, where store
// and queue share one SQLite file. A new event then costs one commit instead
// of three (put, enqueue, mark queued).
type QueuingStore interface {
	PutQueued(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error)
}

// Queue is what ingest needs of a queue (queue/sqs, queue/embedded).
type Queue interface {
	Enqueue(ctx context.Context, eventID, eventType string) error
}

// Outcomes, as logged and counted.
const (
	OutcomeNew       = "new"
	OutcomeDuplicate = "duplicate"
	OutcomeRequeued  = "requeued" // a duplicate of an event that never reached the queue
	OutcomeRejected  = "rejected" // the provider's fault: 4xx
	OutcomeError     = "error"    // our fault: 5xx, the provider retries
)

// Handler receives one provider's deliveries.
type Handler struct {
	Provider string
	Verifier Verifier
	Store    Store
	Queue    Queue
	Log      *slog.Logger

	// Methods allowed (default POST). Tomba lets its user pick the method.
	Methods []string
	// MaxBody bounds the body in bytes (default 256 KiB).
	MaxBody int64
	// KeyWindow is how long idempotency keys are remembered (default 7
	// days; config.KeyWindow gives each provider its own: 24 hours for keys
	// hashed from the body); Retention how long events are kept (default 30
	// days).
	KeyWindow, Retention time.Duration
	// BindCredential, if set, identifies the credential of a verified
	// delivery (a digest, never the credential) and how long it stays
	// valid; the store then binds it to the delivery's key and refuses it
	// with another body (401 token_reused). journeybee.Credential, when
	// sources.journeybee.reject_reused_tokens is on.
	BindCredential func(h http.Header, d provider.Delivery) (id string, validUntil time.Time, err error)
	// LeaveReceived, if set, skips the store Transition received→queued
	// after the enqueue of a new event: it stays received until the
	// processor saves its delivery state. On DynamoDB that transition
	// rewrites the whole event item and moves it in the by_status index
	// (about a third of an event's write units before this existed), to
	// tell the sweeper what the processor's first save tells it a moment
	// later anyway. The price, both harmless (the processor dedupes per
	// destination): an event still waiting in the queue after the sweeper's
	// After is enqueued once more by the sweeper, and the first duplicate
	// delivery that arrives before the processor's save enqueues it once
	// more. That duplicate does transition the event, so later ones do not.
	LeaveReceived bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Observe, if set, is called once per delivery with its result (metrics).
	Observe func(Result)
	// LineAttrs, if set, adds attributes to the wide line of a delivery,
	// except those it already has (the Lambdas: the CloudWatch EMF members
	// of its metrics, so that the one line is also the metrics document).
	LineAttrs func(Result) []slog.Attr
	// Rejections, if set, keeps every rejected delivery (rejections.go).
	Rejections RejectionRecorder
	// Quarantine, if set, keeps deliveries refused for their credentials
	// for re-verify (rejections.go).
	Quarantine *Quarantine
	// VerifierAt, if set, builds the provider's verifier from the current
	// config with its clock at a past receive time: what Reverify uses.
	VerifierAt func(at time.Time) (Verifier, error)
}

// Request is one delivery as the transport saw it.
type Request struct {
	Method    string
	Header    http.Header
	Body      []byte
	RequestID string
	// TooLarge is set by adapters that stopped reading at MaxBody.
	TooLarge bool
}

// Response is what to answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Result is what happened to one delivery, for logs and metrics.
type Result struct {
	Provider string
	Type     string // canonical type, when verified
	EventID  string
	Outcome  string
	Reason   string // why it was rejected or failed
	Status   int
	Duration time.Duration
}

// Body of every 2xx answer (contract).
type accepted struct {
	Status  string `json:"status"` // accepted | duplicate
	EventID string `json:"event_id"`
}

// Body of every error answer (contract). Message is safe text only.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// Errors of the transport layer, mapped like the provider sentinels.
var (
	errMethod    = errors.New("method not allowed")
	errTooLarge  = errors.New("body too large")
	errMediaType = errors.New("content type is not JSON")
	// Our own failures before the store (500).
	errEncode     = errors.New("cannot encode the normalized record")
	errCredential = errors.New("cannot identify the credential")
)

// Handle runs one delivery through the pipeline. It never returns a 2xx
// unless the event is stored and enqueued.
func (h *Handler) Handle(ctx context.Context, req Request) Response {
	start := h.now()
	res := Result{Provider: h.Provider}
	var verr error // the verifier's refusal, for the rejection's claims
	resp := h.handle(ctx, req, start, &res, h.Verifier, nil, &verr)
	res.Status = resp.Status
	res.Duration = h.now().Sub(start)
	h.log(ctx, req, res)
	h.recordRejection(ctx, req, res, verr)
	if h.Observe != nil {
		h.Observe(res)
	}
	return resp
}

// handle runs the pipeline with verifier v; meta, if set, is added to the
// verified delivery's metadata (re-verify); *verr gets the verifier's
// refusal.
func (h *Handler) handle(ctx context.Context, req Request, now time.Time, res *Result, v Verifier, meta map[string]string, verr *error) Response {
	if err := h.checkTransport(req); err != nil {
		return h.fail(res, err)
	}
	d, err := v.Verify(req.Body, req.Header)
	if err != nil {
		*verr = err
		return h.fail(res, err)
	}
	res.Type = d.Type
	if len(meta) > 0 {
		m := maps.Clone(d.Meta)
		if m == nil {
			m = map[string]string{}
		}
		maps.Copy(m, meta)
		d.Meta = m
	}

	ev, err := NewEvent(d, now, h.retention())
	if err != nil {
		return h.fail(res, err)
	}
	if h.BindCredential != nil {
		id, until, err := h.BindCredential(req.Header, d)
		if err != nil {
			return h.fail(res, fmt.Errorf("%w: %w", errCredential, err))
		}
		if store.CheckTime(until) != nil {
			until = time.Time{} // beyond what a store keeps: never expires
		}
		ev.Credential = store.Credential{ID: id, ExpiresAt: until}
	}
	var put store.PutResult
	qs, atomic := h.Store.(QueuingStore)
	if atomic {
		put, err = qs.PutQueued(ctx, ev, now.Add(h.keyWindow()))
	} else {
		put, err = h.Store.Put(ctx, ev, now.Add(h.keyWindow()))
	}
	if err != nil {
		return h.fail(res, err)
	}
	res.EventID = put.ID
	if atomic && !put.Duplicate {
		res.Outcome = OutcomeNew
		return h.ok("accepted", put.ID)
	}

	if put.Duplicate && put.Status != store.StatusReceived {
		res.Outcome = OutcomeDuplicate
		return h.ok(OutcomeDuplicate, put.ID)
	}
	// A new event, or a duplicate of one that never reached the queue.
	if err := h.Queue.Enqueue(ctx, put.ID, d.Type); err != nil {
		return h.fail(res, err)
	}
	// The event is durable and queued: the answer is 2xx whatever happens
	// next. A failed transition leaves it "received", so the sweeper enqueues
	// it once more and the processor's per-destination state dedupes.
	if !h.LeaveReceived || put.Duplicate {
		if _, err := h.Store.Transition(ctx, put.ID, store.StatusReceived, store.StatusQueued); err != nil {
			res.Reason = "mark_queued_failed"
		}
	}
	if put.Duplicate {
		res.Outcome = OutcomeRequeued
		return h.ok(OutcomeDuplicate, put.ID)
	}
	res.Outcome = OutcomeNew
	return h.ok("accepted", put.ID)
}

func (h *Handler) checkTransport(req Request) error {
	methods := h.Methods
	if len(methods) == 0 {
		methods = []string{http.MethodPost}
	}
	if !slices.Contains(methods, req.Method) {
		return errMethod
	}
	if req.TooLarge || int64(len(req.Body)) > h.maxBody() {
		return errTooLarge
	}
	// A missing Content-Type is allowed (the body must still be JSON): no
	// provider documents sending one, and refusing would lose leads. An
	// explicit non-JSON type is refused.
	if ct := req.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errMediaType
		}
	}
	return nil
}

// Meta key holding an OccurredAt the stores cannot keep (see the package doc).
const metaOccurredOutOfRange = "occurred_at_out_of_range"

// NewEvent builds the stored event from a verified delivery received at now,
// kept for retention (a new ULID, status received), so that any store can
// keep it (see the package doc); the error is a 400 for a field the store
// cannot keep, a 500 for our own encoding failure.
func NewEvent(d provider.Delivery, now time.Time, retention time.Duration) (store.Event, error) {
	norm, err := json.Marshal(d.Normalized)
	if err != nil {
		return store.Event{}, fmt.Errorf("%w: %w", errEncode, err)
	}
	ev := store.Event{
		ID:             ulid.MustNew(ulid.Timestamp(now), ulid.DefaultEntropy()).String(),
		Provider:       d.Provider,
		Type:           d.Type,
		IdempotencyKey: d.IdempotencyKey,
		EntityID:       d.EntityID,
		Tenant:         d.Tenant,
		ReceivedAt:     now.UTC(),
		OccurredAt:     d.OccurredAt,
		Raw:            d.Raw,
		Meta:           d.Meta,
		Normalized:     norm,
		Status:         store.StatusReceived,
		UpdatedAt:      now.UTC(),
		ExpiresAt:      now.Add(retention).UTC(),
	}
	if store.CheckTime(ev.OccurredAt) != nil {
		ev.Meta = maps.Clone(d.Meta) // the provider's map is the caller's
		if ev.Meta == nil {
			ev.Meta = map[string]string{}
		}
		ev.Meta[metaOccurredOutOfRange] = ev.OccurredAt.UTC().Format(time.RFC3339Nano)
		ev.OccurredAt = time.Time{}
	}
	if field, size, limit := store.Oversized(ev); field != "" {
		// The only fields that can be over a bound come from the body or
		// the token; the message names the field, never its value.
		what := map[string]string{"Type": "event type", "EntityID": "entity id", "Tenant": "tenant", "Meta": "verified metadata"}[field]
		if what == "" {
			what = field
		}
		return store.Event{}, fmt.Errorf("the delivery's %s is %d bytes, over %d: %w", what, size, limit, provider.ErrInvalidPayload)
	}
	return ev, nil
}

// Causes of a 5xx, as logged and counted (Result.Reason): safe classes that
// tell an operator where to look, never an error's text.
const (
	CauseStoreUnavailable = "store_unavailable" // the store's backend failed (503)
	CauseStoreTimeout     = "store_timeout"     // the store did not answer in time (503)
	CauseQueueUnavailable = "queue_unavailable" // the queue failed (503)
	CauseQueueTimeout     = "queue_timeout"     // the queue did not answer in time (503)
	CauseTimeout          = "timeout"           // the request's deadline passed (503)
	CauseCanceled         = "canceled"          // the request was canceled (503)
	CauseStoreLimit       = "store_limit"       // the store refused the event's size (500)
	CauseStoreRefused     = "store_refused"     // the store refused the event otherwise (500)
	CauseNoSecret         = "no_secret"         // the provider has no secret (500)
	CauseEncode           = "encode_failed"     // the normalized record did not encode (500)
	CauseCredential       = "credential_unreadable"
	CauseInternal         = "internal" // anything else (500)
)

// classify maps an error to its status, its reason code and safe message
// (the answer's), and its cause (Result.Reason: the code, or for a 5xx a
// finer class, one of the Cause constants). It is the one place where
// errors become HTTP statuses.
func classify(err error) (status int, code, message, cause string) {
	timeout := errors.Is(err, context.DeadlineExceeded)
	switch {
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "method_not_allowed", "this route accepts the provider's webhook method only", "method_not_allowed"
	case errors.Is(err, errTooLarge):
		return http.StatusRequestEntityTooLarge, "body_too_large", "the body is over the configured limit", "body_too_large"
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json", "unsupported_media_type"
	case errors.Is(err, store.ErrCredentialReused):
		return http.StatusUnauthorized, "token_reused", "the delivery's credentials were already used with another body", "token_reused"
	case errors.Is(err, store.ErrUnavailable):
		c := CauseStoreUnavailable
		if timeout {
			c = CauseStoreTimeout
		}
		return http.StatusServiceUnavailable, "store_unavailable", "temporarily unable to store the delivery; retry later", c
	case errors.Is(err, queue.ErrUnavailable):
		c := CauseQueueUnavailable
		if timeout {
			c = CauseQueueTimeout
		}
		return http.StatusServiceUnavailable, "queue_unavailable", "temporarily unable to queue the delivery; retry later", c
	case timeout:
		return http.StatusServiceUnavailable, "store_unavailable", "temporarily unable to store the delivery; retry later", CauseTimeout
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, "store_unavailable", "temporarily unable to store the delivery; retry later", CauseCanceled
	}
	const internal = "internal error; retry later"
	if reason := provider.Reason(err); reason != "" {
		if provider.IsAuth(err) {
			return http.StatusUnauthorized, reason, "the delivery's credentials were not accepted", reason
		}
		if errors.Is(err, provider.ErrNoSecret) {
			return http.StatusInternalServerError, "internal", internal, CauseNoSecret
		}
		// Payload errors carry a safe message (field names, never values).
		return http.StatusBadRequest, reason, err.Error(), reason
	}
	cause = CauseInternal
	switch {
	case errors.Is(err, store.ErrTooLarge):
		cause = CauseStoreLimit
	case errors.Is(err, store.ErrInvalid):
		cause = CauseStoreRefused
	case errors.Is(err, errEncode):
		cause = CauseEncode
	case errors.Is(err, errCredential):
		cause = CauseCredential
	}
	return http.StatusInternalServerError, "internal", internal, cause
}

func (h *Handler) fail(res *Result, err error) Response {
	status, code, msg, cause := classify(err)
	res.Reason = cause
	if status >= 500 {
		res.Outcome = OutcomeError
	} else {
		res.Outcome = OutcomeRejected
	}
	hdr := http.Header{"Content-Type": {"application/json"}}
	switch status {
	case http.StatusServiceUnavailable:
		hdr.Set("Retry-After", "5")
	case http.StatusMethodNotAllowed:
		m := h.Methods
		if len(m) == 0 {
			m = []string{http.MethodPost}
		}
		hdr.Set("Allow", strings.Join(m, ", "))
	}
	body, _ := json.Marshal(errorBody{Error: code, Message: msg})
	return Response{Status: status, Header: hdr, Body: body}
}

func (h *Handler) ok(status, id string) Response {
	body, _ := json.Marshal(accepted{Status: status, EventID: id})
	return Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: body}
}

// log writes the one wide line per delivery. Never the body, a header value
// or a secret: only what Result holds.
func (h *Handler) log(ctx context.Context, req Request, r Result) {
	if h.Log == nil {
		return
	}
	level := slog.LevelInfo
	if r.Status >= 500 {
		level = slog.LevelError
	} else if r.Status >= 400 {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("provider", r.Provider),
		slog.String("type", r.Type),
		slog.String("event_id", r.EventID),
		slog.String("outcome", r.Outcome),
		slog.String("reason", r.Reason),
		slog.Int("status", r.Status),
		slog.Int("bytes", len(req.Body)),
		slog.Float64("duration_ms", float64(r.Duration.Microseconds())/1000),
		slog.String("request_id", req.RequestID),
	}
	if h.LineAttrs != nil {
		// The line is also the metrics document: latency is duration_ms,
		// and what is empty is left out (CloudWatch Logs bills every byte).
		attrs = slices.DeleteFunc(attrs, func(a slog.Attr) bool {
			return a.Key == "duration_ms" || a.Value.Kind() == slog.KindString && a.Value.String() == ""
		})
		attrs = appendNew(attrs, h.LineAttrs(r))
	}
	h.Log.LogAttrs(ctx, level, "delivery", attrs...)
}

// appendNew appends the attributes of extra whose keys attrs does not have.
func appendNew(attrs, extra []slog.Attr) []slog.Attr {
	n := len(attrs)
	for _, a := range extra {
		if !slices.ContainsFunc(attrs[:n], func(b slog.Attr) bool { return b.Key == a.Key }) {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

func (h *Handler) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Handler) maxBody() int64 {
	if h.MaxBody > 0 {
		return h.MaxBody
	}
	return 256 << 10
}

func (h *Handler) keyWindow() time.Duration {
	if h.KeyWindow > 0 {
		return h.KeyWindow
	}
	return 7 * 24 * time.Hour
}

func (h *Handler) retention() time.Duration {
	if h.Retention > 0 {
		return h.Retention
	}
	return 30 * 24 * time.Hour
}
