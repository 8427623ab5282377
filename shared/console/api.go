package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

//go:embed web
var webFiles embed.FS

// DefaultPage is the list's page size when the request names none.
const DefaultPage = 50

// maxReplayBody bounds a replay request's body.
const maxReplayBody = 4 << 10

// readBody decodes the optional JSON body of a POST into v: at most
// maxReplayBody bytes (413 too_large beyond), unknown members refused (400
// bad_request saying want); no body leaves v as it is. It reports whether
// the handler goes on (an answer was written if not).
func readBody(w http.ResponseWriter, r *http.Request, v any, want string) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReplayBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", "the request body is over 4 KiB")
		return false
	}
	if len(strings.TrimSpace(string(body))) > 0 {
		if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
			writeError(w, http.StatusBadRequest, "bad_request", want)
			return false
		}
	}
	return true
}

// knownDestination answers 400 unknown_destination, and reports false, for
// a destination name the config does not have ("" is every destination;
// without the config's names, as on console --aws, any name goes).
func (c *Console) knownDestination(w http.ResponseWriter, name string) bool {
	if name != "" && len(c.o.Destinations) > 0 && !slices.Contains(c.o.Destinations, name) {
		writeError(w, http.StatusBadRequest, "unknown_destination", "no destination is configured with that name")
		return false
	}
	return true
}

func (c *Console) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/events", c.listEvents)
	mux.HandleFunc("GET /api/events/{id}", c.getEvent)
	mux.HandleFunc("POST /api/events/{id}/replay", c.replay)
	mux.HandleFunc("GET /api/stats", c.stats)
	mux.HandleFunc("GET /api/stats/minutes", c.minutes)
	c.bulkRoutes(mux)
	mux.HandleFunc("GET /api/rejections", c.rejections)
	mux.HandleFunc("POST /api/rejections/{id}/reverify", c.reverifyOne)
	mux.HandleFunc("POST /api/rejections/reverify", c.reverifyAll)
	mux.HandleFunc("GET /api/stream", c.stream)
	mux.HandleFunc("GET /api/config", c.config)
	mux.HandleFunc("GET /api/deadletters", c.deadLetters)
	mux.HandleFunc("POST /api/deadletters/redrive", c.redriveDead)
	mux.HandleFunc("GET /api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such API route")
	})
	web, _ := fs.Sub(webFiles, "web")
	files := http.FileServerFS(web)
	mux.Handle("GET /", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	}))
}

// Views: what the API answers (DESIGN.md "Console" is the contract).

type deliveryView struct {
	Destination    string     `json:"destination"`
	State          string     `json:"state"` // pending, delivered, failed, filtered
	Attempts       int        `json:"attempts"`
	LastStatusCode int        `json:"last_status_code,omitzero"`
	LastError      string     `json:"last_error,omitzero"`
	LastAttemptAt  *time.Time `json:"last_attempt_at,omitzero"`
	NextAttemptAt  *time.Time `json:"next_attempt_at,omitzero"`
	DeliveredAt    *time.Time `json:"delivered_at,omitzero"`
	FailedAt       *time.Time `json:"failed_at,omitzero"`
	// Overdue: pending, and its next attempt was due more than the grace
	// ago (the processor is not keeping up, or not running).
	Overdue bool `json:"overdue"`
	// Stuck (detail only): pending longer than its retry schedule allows.
	Stuck   bool          `json:"stuck,omitzero"`
	History []attemptView `json:"history,omitzero"` // detail only
}

type attemptView struct {
	Attempt    int       `json:"attempt"`
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error"`
	DurationMS float64   `json:"duration_ms"`
	Response   string    `json:"response"`
}

type eventView struct {
	ID         string         `json:"id"`
	Provider   string         `json:"provider"`
	Type       string         `json:"type"`
	Status     string         `json:"status"`
	ReceivedAt time.Time      `json:"received_at"`
	OccurredAt *time.Time     `json:"occurred_at"`
	EntityID   string         `json:"entity_id"`
	Tenant     string         `json:"tenant"`
	Deliveries []deliveryView `json:"deliveries"`
	// Stuck: the event waits for work nobody is doing (see health);
	// StuckReason says what.
	Stuck       bool   `json:"stuck"`
	StuckReason string `json:"stuck_reason,omitzero"`
}

type detailView struct {
	eventView
	Meta       map[string]string `json:"meta"`
	BodyBytes  int               `json:"body_bytes"`
	Body       jsontext.Value    `json:"body"`
	Normalized jsontext.Value    `json:"normalized"`
	CloudEvent jsontext.Value    `json:"cloudevent"`
	Previews   []previewView     `json:"previews"` // what each destination would receive (preview.go)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func viewAttempt(a store.Attempt) attemptView {
	return attemptView{Attempt: a.Number, At: a.At, Outcome: a.Outcome, StatusCode: a.StatusCode, Error: a.Error,
		DurationMS: ms(a.Duration), Response: a.Response}
}

func stateOf(d store.Delivery) string {
	switch {
	case d.Delivered():
		return "delivered"
	case d.Filtered():
		return "filtered"
	case d.Settled():
		return "failed"
	}
	return "pending"
}

// view is an event's list entry, with its health at now.
func (c *Console) view(ev store.Event, now time.Time) eventView {
	v := eventView{
		ID: ev.ID, Provider: ev.Provider, Type: ev.Type, Status: string(ev.Status),
		ReceivedAt: ev.ReceivedAt, OccurredAt: timePtr(ev.OccurredAt), EntityID: ev.EntityID, Tenant: ev.Tenant,
		Deliveries: []deliveryView{},
	}
	for _, d := range ev.Deliveries {
		dv := deliveryView{
			Destination: d.Destination, State: stateOf(d), Attempts: d.Attempts,
			LastStatusCode: d.LastStatusCode, LastError: d.LastClass,
			LastAttemptAt: timePtr(d.LastAttemptAt), NextAttemptAt: timePtr(d.NextAttemptAt),
			DeliveredAt: timePtr(d.DeliveredAt), FailedAt: timePtr(d.FailedAt),
		}
		dv.Overdue = !d.Settled() && !d.NextAttemptAt.IsZero() && now.Sub(d.NextAttemptAt) > c.o.Grace
		if dv.Overdue && !v.Stuck {
			v.Stuck = true
			v.StuckReason = fmt.Sprintf("%s: next attempt was due at %s", d.Destination, d.NextAttemptAt.UTC().Format(time.RFC3339))
		}
		v.Deliveries = append(v.Deliveries, dv)
	}
	// An open event with no attempt yet: the queue or the processor is not
	// moving it. (A replay clears the state and sets UpdatedAt.)
	if (ev.Status == store.StatusReceived || ev.Status == store.StatusQueued) && len(ev.Deliveries) == 0 {
		since := ev.ReceivedAt
		if ev.UpdatedAt.After(since) {
			since = ev.UpdatedAt
		}
		if now.Sub(since) > c.o.Grace {
			v.Stuck = true
			v.StuckReason = fmt.Sprintf("%s since %s with no attempt", ev.Status, since.UTC().Format(time.RFC3339))
		}
	}
	return v
}

func (c *Console) listEvents(w http.ResponseWriter, r *http.Request) {
	q, err := c.parseQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	page, err := c.st.ListEvents(r.Context(), q)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	now := c.o.Now()
	out := struct {
		Events []eventView `json:"events"`
		Next   string      `json:"next"`
	}{Events: make([]eventView, 0, len(page.Events)), Next: page.Next}
	for _, ev := range page.Events {
		out.Events = append(out.Events, c.view(ev, now))
	}
	writeJSON(w, http.StatusOK, out)
}

// parseQuery reads the list's query parameters. since and until are RFC
// 3339 times or durations before now ("24h", "7d").
func (c *Console) parseQuery(r *http.Request) (store.EventQuery, error) {
	p := r.URL.Query()
	q := store.EventQuery{
		Provider:    p.Get("provider"),
		TypeGlob:    p.Get("type"),
		Status:      store.Status(p.Get("status")),
		Destination: p.Get("destination"),
		Text:        strings.TrimSpace(p.Get("q")),
		Cursor:      p.Get("cursor"),
		Limit:       DefaultPage,
	}
	if v := p.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxEventPage {
			return q, fmt.Errorf("limit must be 1 to %d", store.MaxEventPage)
		}
		q.Limit = n
	}
	var err error
	if q.Since, err = c.parseTime(p.Get("since")); err != nil {
		return q, fmt.Errorf("since: %w", err)
	}
	if q.Until, err = c.parseTime(p.Get("until")); err != nil {
		return q, fmt.Errorf("until: %w", err)
	}
	if err := q.Validate(); err != nil {
		return q, errors.Unwrap(err) // without the "store: invalid" prefix
	}
	return q, nil
}

func (c *Console) parseTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	d, err := parseDuration(v)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time or a duration such as 24h or 7d")
	}
	return c.o.Now().Add(-d), nil
}

// parseDuration is time.ParseDuration that also takes whole days ("7d").
func parseDuration(v string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 3650 {
			return 0, errors.New("bad days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}

func (c *Console) getEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ev, err := c.st.Get(r.Context(), id)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	hist, err := c.st.Attempts(r.Context(), id)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	v := c.detail(ev, hist, c.o.Now())
	v.Previews = c.previews(r.Context(), ev)
	writeJSON(w, http.StatusOK, v)
}

// detail is the event's list entry with its bodies and, per destination,
// its history. A destination that has history but no state (a replay
// cleared it) is listed as pending with no attempts yet.
func (c *Console) detail(ev store.Event, hist []store.Attempt, now time.Time) detailView {
	v := detailView{eventView: c.view(ev, now), Meta: ev.Meta, BodyBytes: len(ev.Raw)}
	if v.Meta == nil {
		v.Meta = map[string]string{}
	}
	v.Body = asJSON(ev.Raw)
	v.Normalized = asJSON(ev.Normalized)
	if ce, err := deliver.NewCloudEvent(ev, false).Marshal(); err == nil {
		v.CloudEvent = asJSON(ce)
	} else {
		v.CloudEvent = jsontext.Value("null")
	}
	index := map[string]int{}
	for i, d := range v.Deliveries {
		index[d.Destination] = i
	}
	for _, a := range hist {
		i, ok := index[a.Destination]
		if !ok {
			v.Deliveries = append(v.Deliveries, deliveryView{Destination: a.Destination, State: "pending"})
			i = len(v.Deliveries) - 1
			index[a.Destination] = i
		}
		v.Deliveries[i].History = append(v.Deliveries[i].History, viewAttempt(a))
	}
	// Pending longer than the retry schedule allows: measured from this
	// round's first attempt (the last attempt numbered 1).
	if c.o.Schedule != nil {
		for i := range v.Deliveries {
			d := &v.Deliveries[i]
			if d.State != "pending" {
				continue
			}
			var since time.Time
			for _, a := range d.History {
				if a.Attempt == 1 {
					since = a.At
				}
			}
			if limit := c.o.Schedule(d.Destination); !since.IsZero() && limit > 0 && now.Sub(since) > limit+c.o.Grace {
				d.Stuck = true
				if !v.Stuck {
					v.Stuck = true
					v.StuckReason = fmt.Sprintf("%s: pending since %s, longer than its retry schedule allows (%s)",
						d.Destination, since.UTC().Format(time.RFC3339), limit)
				}
			}
		}
	}
	return v
}

// asJSON is b when it is valid JSON, else b as a JSON string (never
// expected: ingest stores only valid JSON), null when empty.
func asJSON(b []byte) jsontext.Value {
	if len(b) == 0 {
		return jsontext.Value("null")
	}
	if v := jsontext.Value(b); v.IsValid() {
		return v
	}
	s, _ := json.Marshal(string(b))
	return s
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Destination string `json:"destination"`
	}
	if !readBody(w, r, &req, `want {"destination": "<name>"} or no body`) || !c.knownDestination(w, req.Destination) {
		return
	}
	ev, err := c.st.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	if err := Replay(r.Context(), c.st, c.enqueue, ev, req.Destination); err != nil {
		c.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]int{"replayed": 1})
}

// ReplayStore is what Replay needs of a store.
type ReplayStore interface {
	Get(ctx context.Context, id string) (store.Event, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
}

// ErrContended: the event kept changing while Replay tried to reset it.
var ErrContended = errors.New("console: the event keeps changing; try again")

// Replay re-delivers ev: it clears the delivery state of destination (of
// every destination when it is ""), sets the event back to queued, and
// enqueues it. The attempt history stays, so the new attempts follow the
// old ones. Deliveries carry the same webhook-id (the event id), so
// receivers dedupe. If a processor saves the event meanwhile, Replay
// reloads it and tries again.
func Replay(ctx context.Context, st ReplayStore, enqueue Enqueue, ev store.Event, destination string) error {
	for range 5 {
		keep := []store.Delivery{}
		if destination != "" {
			for _, d := range ev.Deliveries {
				if d.Destination != destination {
					keep = append(keep, d)
				}
			}
		}
		ok, err := st.SaveDeliveries(ctx, ev.ID, ev.Version, keep, store.StatusQueued)
		if err != nil {
			return err
		}
		if ok {
			return enqueue(ctx, ev.ID, ev.Type)
		}
		if ev, err = st.Get(ctx, ev.ID); err != nil {
			return err
		}
	}
	return ErrContended
}

// DefaultRejections is how many rejections a request gets without limit.
const DefaultRejections = 100

type rejectionView struct {
	ID         string    `json:"id"`
	At         time.Time `json:"at"`
	Provider   string    `json:"provider"`
	Method     string    `json:"method"`
	Route      string    `json:"route"`
	Status     int       `json:"status"`
	Reason     string    `json:"reason"`
	BodyBytes  int       `json:"body_bytes"`
	BodySHA256 string    `json:"body_sha256"`
	Headers    []string  `json:"headers"` // names only
	// Claims of a JourneyBee token refused only for its signature or
	// expiry (never api_key or external_settings).
	Claims map[string]string `json:"claims,omitzero"`
	// Quarantined: the delivery is kept and can be re-verified until
	// QuarantineExpiresAt.
	Quarantined         bool       `json:"quarantined"`
	QuarantineExpiresAt *time.Time `json:"quarantine_expires_at,omitzero"`
}

func (c *Console) rejections(w http.ResponseWriter, r *http.Request) {
	limit := DefaultRejections
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxRejectionsPerPage {
			writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("limit must be 1 to %d", store.MaxRejectionsPerPage))
			return
		}
		limit = n
	}
	rs, err := c.st.Rejections(r.Context(), limit)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	out := struct {
		Rejections []rejectionView `json:"rejections"`
	}{Rejections: make([]rejectionView, 0, len(rs))}
	for _, x := range rs {
		headers := x.Headers
		if headers == nil {
			headers = []string{}
		}
		out.Rejections = append(out.Rejections, rejectionView{ID: x.ID, At: x.At, Provider: x.Provider, Method: x.Method,
			Route: x.Route, Status: x.Status, Reason: x.Reason, BodyBytes: x.BodyBytes, BodySHA256: x.BodySHA256, Headers: headers,
			Claims: x.Claims, Quarantined: x.Quarantined, QuarantineExpiresAt: timePtr(x.QuarantineExpiresAt)})
	}
	writeJSON(w, http.StatusOK, out)
}

// maxWindow bounds the stats window.
const maxWindow = 30 * 24 * time.Hour

type providerStats struct {
	Accepted  int `json:"accepted"`
	Duplicate int `json:"duplicate"`
	Rejected  int `json:"rejected"`
}

type destinationStats struct {
	Attempts    int     `json:"attempts"`
	Delivered   int     `json:"delivered"`
	Retried     int     `json:"retried"`
	Failed      int     `json:"failed"`
	Filtered    int     `json:"filtered"`     // turned away by its filter: not attempts
	SuccessRate float64 `json:"success_rate"` // delivered / attempts; 0 without attempts
	P50MS       float64 `json:"p50_ms"`
	P99MS       float64 `json:"p99_ms"`
}

func (c *Console) stats(w http.ResponseWriter, r *http.Request) {
	window := time.Hour
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < time.Minute || d > maxWindow {
			writeError(w, http.StatusBadRequest, "bad_request", "window must be a duration from 1m to 30d, e.g. 1h or 7d")
			return
		}
		window = d
	}
	now := c.o.Now()
	since := now.Add(-window)
	c.flushMu.RLock()
	ws, err := c.st.Stats(r.Context(), since)
	mem := c.hub.since(since)
	c.flushMu.RUnlock()
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	out := struct {
		Window       string                      `json:"window"`
		Since        time.Time                   `json:"since"`
		CountedSince time.Time                   `json:"counted_since"` // duplicate and rejected: counted since this when not Durable
		Durable      bool                        `json:"durable"`       // duplicate and rejected are stored (per minute) and survive a restart
		Providers    map[string]providerStats    `json:"providers"`
		Destinations map[string]destinationStats `json:"destinations"`
		// Sampled: the destinations' figures are those of the window's
		// newest events only (DynamoDB: see store/dynamo).
		Sampled bool `json:"sampled"`
		// CountsFrom: where duplicate and rejected come from: "cloudwatch",
		// "store" or "memory" (countsFrom).
		CountsFrom string `json:"counts_from"`
	}{Sampled: ws.Sampled, Window: window.String(), Since: since, CountedSince: c.started, Durable: c.durable.Load(),
		CountsFrom: c.countsFrom(),
		Providers:  map[string]providerStats{}, Destinations: map[string]destinationStats{}}
	for _, p := range c.o.Providers {
		out.Providers[p] = providerStats{}
	}
	for p, n := range ws.Accepted {
		s := out.Providers[p]
		s.Accepted = n
		out.Providers[p] = s
	}
	for p, n := range ws.Duplicate {
		s := out.Providers[p]
		s.Duplicate += n
		out.Providers[p] = s
	}
	for p, n := range ws.Rejected {
		s := out.Providers[p]
		s.Rejected += n
		out.Providers[p] = s
	}
	for p, n := range mem { // not flushed yet
		s := out.Providers[p]
		s.Duplicate += n.duplicate
		s.Rejected += n.rejected
		out.Providers[p] = s
	}
	for _, d := range c.o.Destinations {
		out.Destinations[d] = destinationStats{}
	}
	for name, d := range ws.Destinations {
		out.Destinations[name] = viewDestination(d)
	}
	writeJSON(w, http.StatusOK, out)
}

// config tells the page what it needs to draw its filters.
func (c *Console) config(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"providers":    nonNil(c.o.Providers),
		"destinations": nonNil(c.o.Destinations),
		"statuses":     []string{"received", "queued", "delivered", "failed"},
		"page_size":    DefaultPage,
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// heartbeat keeps idle stream connections (and proxies) open.
const heartbeat = 15 * time.Second

// stream sends server-sent events until the client goes: "event" for a
// new delivery, "rejection", "attempt" for a delivery attempt, "replay"
// when a bulk replay job ends.
func (c *Console) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // lift the server's write timeout for this one
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	ch, cancel := c.hub.subscribe()
	defer cancel()
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, "retry: 2000\n: hookline console stream\n\n"); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			_, err = io.WriteString(w, ": ping\n\n")
		case m := <-ch:
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", m.name, m.data)
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}

// storeError answers a store failure: 404 for an unknown event, 400 for a
// refused call, else 503 (logged without details the client could see).
func (c *Console) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no event with that id")
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, "bad_request", "the request was refused by the store")
	case errors.Is(err, ErrContended):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		c.o.Log.LogAttrs(r.Context(), slog.LevelError, "console_error",
			slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the store or the queue is unavailable")
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v, json.Deterministic(true))
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "could not encode the answer")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := json.Marshal(map[string]string{"error": code, "message": msg}, json.Deterministic(true))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
