package console

// Bulk replay: everything a filter matches (POST /api/replay), and
// "recover failed since T" for one destination (POST /api/recover). Both
// take a dry run that answers the count, then run as a job whose progress
// GET /api/replay/{job} reports. A job resolves its set once, when it is
// created (at most MaxBulkReplay events, else 422), and replays each event
// of that set exactly once with the same Replay as POST
// /api/events/{id}/replay and `hookline replay`: events that arrive while
// it runs are not in it, and a replay re-sends only to what it asked (every
// destination, or the one named).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// MaxBulkReplay bounds the events one bulk replay or recovery takes: a
// larger set is refused (422 too_many), so an operator narrows the filter
// rather than re-sending a store by mistake.
const MaxBulkReplay = 10_000

// jobsKept is how many finished jobs GET /api/replay/{job} still knows.
const jobsKept = 20

// maxJobErrors bounds the per-event errors a job keeps.
const maxJobErrors = 20

func (c *Console) bulkRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/replay", c.bulkReplay)
	mux.HandleFunc("POST /api/recover", c.recoverFailed)
	mux.HandleFunc("GET /api/replay/{job}", c.getJob)
}

// job is one bulk replay in progress or done.
type job struct {
	mu   sync.Mutex
	view jobView
}

type jobError struct {
	EventID string `json:"event_id"`
	Error   string `json:"error"`
}

type jobView struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`  // replay or recover
	State       string     `json:"state"` // running, done, cancelled
	Destination string     `json:"destination"`
	Total       int        `json:"total"`
	Done        int        `json:"done"`   // replayed
	Failed      int        `json:"failed"` // could not be replayed (see errors)
	Errors      []jobError `json:"errors"`
	StartedAt   time.Time  `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

func (j *job) snapshot() jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := j.view
	v.Errors = slices.Clone(v.Errors)
	return v
}

// jobs are the console's bulk replays: one runs at a time.
type jobs struct {
	mu    sync.Mutex
	byID  map[string]*job
	order []string
}

// bulkBody is the body of POST /api/replay and /api/recover.
type bulkBody struct {
	Destination string `json:"destination"` // replay: only to this one; recover: the destination
	DryRun      bool   `json:"dry_run"`
	Since       string `json:"since"` // recover: failed at or after (RFC 3339 or a duration: 24h)
}

func (c *Console) readBulk(w http.ResponseWriter, r *http.Request) (bulkBody, bool) {
	var b bulkBody
	if !readBody(w, r, &b, `want {"destination": "<name>", "dry_run": true|false, "since": "<time>"}`) ||
		!c.knownDestination(w, b.Destination) {
		return b, false
	}
	return b, true
}

// bulkReplay: POST /api/replay?<the filters of GET /api/events> with
// {"destination", "dry_run"}.
func (c *Console) bulkReplay(w http.ResponseWriter, r *http.Request) {
	q, err := c.parseQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	if q.Cursor != "" {
		writeError(w, http.StatusBadRequest, "bad_request", "a bulk replay takes every page: no cursor")
		return
	}
	b, ok := c.readBulk(w, r)
	if !ok {
		return
	}
	// The set is fixed now: what arrives later is not replayed.
	if q.Until.IsZero() {
		q.Until = c.o.Now()
	}
	c.runBulk(w, r, "replay", q, b)
}

// recoverFailed: POST /api/recover with {"destination", "since",
// "dry_run"}: every event whose delivery to destination was given up at or
// after since, replayed to that destination only.
func (c *Console) recoverFailed(w http.ResponseWriter, r *http.Request) {
	b, ok := c.readBulk(w, r)
	if !ok {
		return
	}
	if b.Destination == "" {
		writeError(w, http.StatusBadRequest, "bad_request", "recover needs a destination")
		return
	}
	since, err := c.parseTime(b.Since)
	if err != nil || since.IsZero() {
		writeError(w, http.StatusBadRequest, "bad_request", "since: want an RFC 3339 time or a duration such as 1h or 7d")
		return
	}
	q := store.EventQuery{Destination: b.Destination, FailedSince: since, Limit: 1}
	if err := q.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", errors.Unwrap(err).Error())
		return
	}
	c.runBulk(w, r, "recover", q, b)
}

// selection is the answer of a dry run: how many events, and the filter
// with its times resolved (the page sends it back for the real run, so a
// relative "1h" does not move between the two).
type selection struct {
	Count       int       `json:"count"`
	Destination string    `json:"destination"`
	Since       time.Time `json:"since,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	Query       string    `json:"query"` // the filters as the query string of the real run
	DryRun      bool      `json:"dry_run"`
}

func (c *Console) runBulk(w http.ResponseWriter, r *http.Request, kind string, q store.EventQuery, b bulkBody) {
	ids, err := c.collect(r.Context(), q)
	if errors.Is(err, errTooMany) {
		writeError(w, http.StatusUnprocessableEntity, "too_many",
			fmt.Sprintf("the filter matches more than %d events: narrow it (provider, type, status, since/until)", c.o.MaxBulk))
		return
	}
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	sel := selection{Count: len(ids), Destination: b.Destination, Since: q.Since, Until: q.Until, Query: queryOf(q), DryRun: b.DryRun}
	if kind == "recover" {
		sel.Since = q.FailedSince
	}
	if b.DryRun {
		writeJSON(w, http.StatusOK, sel)
		return
	}
	j, err := c.startJob(kind, b.Destination, ids)
	if err != nil {
		writeError(w, http.StatusConflict, "busy", err.Error())
		return
	}
	w.Header().Set("Location", "/api/replay/"+j.ID)
	writeJSON(w, http.StatusAccepted, j)
}

var errTooMany = errors.New("console: too many events for one bulk replay")

// collect pages through q's events, newest first, at most Options.MaxBulk.
func (c *Console) collect(ctx context.Context, q store.EventQuery) ([]string, error) {
	q.Limit, q.Cursor = store.MaxEventPage, ""
	var ids []string
	for {
		page, err := c.st.ListEvents(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, ev := range page.Events {
			ids = append(ids, ev.ID)
		}
		if len(ids) > c.o.MaxBulk {
			return nil, errTooMany
		}
		if page.Next == "" {
			return ids, nil
		}
		q.Cursor = page.Next
	}
}

// queryOf is q's filters as a query string, times as RFC 3339.
func queryOf(q store.EventQuery) string {
	v := url.Values{}
	for k, s := range map[string]string{"provider": q.Provider, "type": q.TypeGlob, "status": string(q.Status),
		"destination": q.Destination, "q": q.Text} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	return v.Encode()
}

// startJob starts replaying ids; it refuses while another job runs.
func (c *Console) startJob(kind, destination string, ids []string) (jobView, error) {
	c.jobs.mu.Lock()
	defer c.jobs.mu.Unlock()
	for _, id := range c.jobs.order {
		if v := c.jobs.byID[id].snapshot(); v.State == "running" {
			return jobView{}, fmt.Errorf("replay %s is still running (%d of %d done)", v.ID, v.Done+v.Failed, v.Total)
		}
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	j := &job{view: jobView{ID: hex.EncodeToString(b[:]), Kind: kind, State: "running", Destination: destination,
		Total: len(ids), Errors: []jobError{}, StartedAt: c.o.Now().UTC()}}
	c.jobs.byID[j.view.ID] = j
	c.jobs.order = append(c.jobs.order, j.view.ID)
	if len(c.jobs.order) > jobsKept {
		delete(c.jobs.byID, c.jobs.order[0])
		c.jobs.order = c.jobs.order[1:]
	}
	v := j.snapshot()
	go c.runJob(j, destination, ids)
	return v, nil
}

// runJob replays each event once. An event gone meanwhile (retention) or
// one that fails is counted as failed with its reason; the job goes on.
func (c *Console) runJob(j *job, destination string, ids []string) {
	ctx := c.jobCtx
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		err := func() error {
			ev, err := c.st.Get(ctx, id)
			if err != nil {
				return err
			}
			return Replay(ctx, c.st, c.enqueue, ev, destination)
		}()
		j.mu.Lock()
		if err != nil {
			j.view.Failed++
			if len(j.view.Errors) < maxJobErrors {
				j.view.Errors = append(j.view.Errors, jobError{EventID: id, Error: replayError(err)})
			}
		} else {
			j.view.Done++
		}
		j.mu.Unlock()
	}
	j.mu.Lock()
	j.view.State = "done"
	if ctx.Err() != nil && j.view.Done+j.view.Failed < j.view.Total {
		j.view.State = "cancelled"
	}
	now := c.o.Now().UTC()
	j.view.FinishedAt = &now
	v := j.view
	j.mu.Unlock()
	c.hub.publish("replay", map[string]any{"id": v.ID, "state": v.State, "done": v.Done, "failed": v.Failed, "total": v.Total})
}

// replayError is what a job says of one event's failure: never the
// backend's own message.
func replayError(err error) string {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "not_found: the event is gone (retention)"
	case errors.Is(err, ErrContended):
		return "conflict: the event kept changing"
	}
	return "unavailable: the store or the queue failed"
}

func (c *Console) getJob(w http.ResponseWriter, r *http.Request) {
	c.jobs.mu.Lock()
	j := c.jobs.byID[r.PathValue("job")]
	c.jobs.mu.Unlock()
	if j == nil {
		writeError(w, http.StatusNotFound, "not_found", "no replay job with that id")
		return
	}
	writeJSON(w, http.StatusOK, j.snapshot())
}
