package console

import (
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/go-json-experiment/json"

	"github.com/hookline/hookline/shared/store"
)

// maxReverifyBody bounds a bulk re-verify request's body.
const maxReverifyBody = 4 << 10

// reverifyOne answers POST /api/rejections/{id}/reverify: 200 with
// {"status", "event_id", "reason"}; 404 not_quarantined when no delivery is
// kept for the id (or quarantine_off).
func (c *Console) reverifyOne(w http.ResponseWriter, r *http.Request) {
	if c.o.Reverify == nil {
		writeError(w, http.StatusNotFound, "quarantine_off", "quarantine is off: set ingest.quarantine in the config")
		return
	}
	q, err := c.st.Quarantined(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_quarantined",
			"no delivery is kept for this rejection (not a credential refusal, over the quarantine's bounds, or expired)")
		return
	}
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	res, err := c.o.Reverify(r.Context(), q)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type bulkResult struct {
	ID string `json:"id"`
	Reverified
}

// reverifyAll answers POST /api/rejections/reverify {"provider", "dry_run"}:
// every delivery quarantined for the provider, re-verified oldest first;
// with dry_run only {"count"}.
func (c *Console) reverifyAll(w http.ResponseWriter, r *http.Request) {
	if c.o.Reverify == nil {
		writeError(w, http.StatusNotFound, "quarantine_off", "quarantine is off: set ingest.quarantine in the config")
		return
	}
	var req struct {
		Provider string `json:"provider"`
		DryRun   bool   `json:"dry_run"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxReverifyBody))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || !slices.Contains(c.o.Providers, req.Provider) {
		writeError(w, http.StatusBadRequest, "bad_request", `send {"provider": "<a configured provider>", "dry_run": true|false}`)
		return
	}
	rs, err := c.st.Rejections(r.Context(), store.MaxRejectionsPerPage)
	if err != nil {
		c.storeError(w, r, err)
		return
	}
	var ids []string
	for _, x := range slices.Backward(rs) { // oldest first: the order they came
		if x.Quarantined && x.Provider == req.Provider {
			ids = append(ids, x.ID)
		}
	}
	out := struct {
		Provider  string       `json:"provider"`
		DryRun    bool         `json:"dry_run"`
		Count     int          `json:"count"`
		Accepted  int          `json:"accepted"`
		Duplicate int          `json:"duplicate"`
		Rejected  int          `json:"rejected"`
		Results   []bulkResult `json:"results"`
	}{Provider: req.Provider, DryRun: req.DryRun, Count: len(ids), Results: []bulkResult{}}
	if req.DryRun {
		writeJSON(w, http.StatusOK, out)
		return
	}
	for _, id := range ids {
		q, err := c.st.Quarantined(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) { // expired meanwhile
			continue
		}
		if err != nil {
			c.storeError(w, r, err)
			return
		}
		res, err := c.o.Reverify(r.Context(), q)
		if err != nil {
			c.storeError(w, r, err)
			return
		}
		switch res.Status {
		case "accepted":
			out.Accepted++
		case "duplicate":
			out.Duplicate++
		default:
			out.Rejected++
		}
		out.Results = append(out.Results, bulkResult{ID: id, Reverified: res})
	}
	writeJSON(w, http.StatusOK, out)
}

// SetReverify sets Options.Reverify on a console built before the ingest
// handlers that re-verify (they report to the console): call it before
// Serve.
func (c *Console) SetReverify(fn Reverify) { c.o.Reverify = fn }
