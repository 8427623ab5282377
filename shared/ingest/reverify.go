package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// Reverified is what re-verifying a quarantined delivery did: Status
// "accepted" (EventID the new event), "duplicate" (EventID the first
// event: re-verified before, or delivered again meanwhile) or "rejected"
// (Reason the stable code it still fails with).
type Reverified struct {
	Status  string
	EventID string
	Reason  string
}

// ErrNoVerifierAt: the Handler has no VerifierAt, so it cannot re-verify.
var ErrNoVerifierAt = errors.New("ingest: re-verify needs the handler's VerifierAt")

// MetaReverified is the metadata key of an event ingested by re-verify:
// the rejection id it came from (and MetaQuarantinedAt its receive time).
const (
	MetaReverified    = "reverified_from"
	MetaQuarantinedAt = "quarantined_at"
)

// Reverify runs a quarantined delivery through the provider's verification
// again, with the verifier of the current config (VerifierAt) whose clock
// is set to the delivery's original receive time, so a token that was
// valid then still verifies; if it passes, the delivery goes through the
// same pipeline as a new one (stored, enqueued: idempotent, so a second
// re-verify is a duplicate). It logs one line like a delivery, and records
// no rejection when it still fails. An error is our own failure (the store
// or the queue: wraps store.ErrUnavailable) or a delivery of another
// provider (store.ErrInvalid).
func (h *Handler) Reverify(ctx context.Context, q store.Quarantined) (Reverified, error) {
	if q.Provider != h.Provider {
		return Reverified{}, fmt.Errorf("%w: a %s delivery re-verified by the %s handler", store.ErrInvalid, q.Provider, h.Provider)
	}
	if h.VerifierAt == nil {
		return Reverified{}, ErrNoVerifierAt
	}
	v, err := h.VerifierAt(q.At)
	if err != nil {
		return Reverified{}, fmt.Errorf("ingest: re-verify: %w", err)
	}
	start := h.now()
	res := Result{Provider: h.Provider}
	var verr error
	req := Request{Method: q.Method, Header: q.Header.Clone(), Body: q.Body, RequestID: "reverify-" + q.ID}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	meta := map[string]string{MetaReverified: q.ID, MetaQuarantinedAt: q.At.UTC().Format(time.RFC3339Nano)}
	resp := h.handle(ctx, req, start, &res, v, meta, &verr)
	res.Status = resp.Status
	res.Duration = h.now().Sub(start)
	h.log(ctx, req, res)
	if h.Observe != nil {
		h.Observe(res)
	}
	switch {
	case resp.Status >= 500:
		return Reverified{}, fmt.Errorf("%w: re-verify: %s", store.ErrUnavailable, res.Reason)
	case resp.Status >= 400:
		return Reverified{Status: "rejected", Reason: res.Reason}, nil
	case res.Outcome == OutcomeNew:
		return Reverified{Status: "accepted", EventID: res.EventID}, nil
	}
	return Reverified{Status: "duplicate", EventID: res.EventID}, nil
}
