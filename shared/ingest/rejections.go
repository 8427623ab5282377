package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/hookline/hookline/shared/provider"
	"github.com/hookline/hookline/shared/store"
)

// RejectionRecorder keeps recent rejected deliveries for the operator
// console (store/sqlite; store/dynamo when ingest.record_rejections is on:
// a write per rejection is a cost there). Optional: a Handler without one
// records nothing. Recording is not "changing state": no event, key or
// message is written, and what is kept holds no body, header value or
// token.
type RejectionRecorder interface {
	RecordRejection(ctx context.Context, r store.Rejection) error
}

// Quarantine keeps, for re-verify, the deliveries refused for their
// credentials (see Quarantinable): the raw body and the credential headers
// only, bounded, for TTL. ingest.quarantine in the config; nil is off.
type Quarantine struct {
	Store   store.QuarantineStore
	TTL     time.Duration
	Bounds  store.QuarantineBounds
	Headers []string // the credential header names kept with their values (canonical)
}

// Quarantinable reports whether a rejection's reason is a credential
// refusal that a fixed secret can cure: a signature that matches no
// configured secret (bad_signature: also Tomba's unknown token) or an
// expired token (a verifier clock or max age fixed since).
func Quarantinable(reason string) bool {
	return reason == "bad_signature" || reason == "expired"
}

// recordRejection keeps a refused delivery (a 4xx, the provider's fault)
// in h.Rejections: route, status, reason code, the body's size and SHA-256,
// the header names only, and the claims of a JourneyBee token refused only
// for its signature or expiry; with h.Quarantine, a credential refusal is
// kept in full beside it. A failure to record is logged (its class, never
// a value): the provider gets its 4xx either way.
func (h *Handler) recordRejection(ctx context.Context, req Request, res Result, verr error) {
	if res.Outcome != OutcomeRejected || (h.Rejections == nil && h.Quarantine == nil) {
		return
	}
	sum := sha256.Sum256(req.Body)
	names := make([]string, 0, len(req.Header))
	for name := range req.Header {
		if len(name) <= store.MaxRejectionNameLen && len(names) < store.MaxRejectionHeaders {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	method := req.Method
	if len(method) > store.MaxRejectionNameLen {
		method = method[:store.MaxRejectionNameLen]
	}
	var claims map[string]string
	for k, v := range provider.ClaimsOf(verr) {
		if len(k) <= store.MaxRejectionNameLen && len(v) <= store.MaxRejectionNameLen && len(claims) < store.MaxRejectionClaims {
			if claims == nil {
				claims = map[string]string{}
			}
			claims[k] = v
		}
	}
	now := h.now().UTC()
	r := store.Rejection{
		At:         now,
		Provider:   h.Provider,
		Method:     method,
		Route:      "/webhooks/" + h.Provider,
		Status:     res.Status,
		Reason:     res.Reason,
		BodyBytes:  len(req.Body),
		BodySHA256: hex.EncodeToString(sum[:]),
		Headers:    names,
		Claims:     claims,
	}
	ctx = context.WithoutCancel(ctx)
	var err error
	switch q := h.Quarantine; {
	case q != nil && q.Store != nil && Quarantinable(res.Reason):
		kept := http.Header{}
		for _, name := range q.Headers {
			if vs := req.Header.Values(name); len(vs) > 0 {
				kept[http.CanonicalHeaderKey(name)] = slices.Clone(vs)
			}
		}
		err = q.Store.RecordQuarantined(ctx, r, store.Quarantined{
			Provider: h.Provider, At: now, Method: method, Body: req.Body, Header: kept, ExpiresAt: now.Add(q.TTL),
		}, q.Bounds)
	case h.Rejections != nil:
		err = h.Rejections.RecordRejection(ctx, r)
	}
	if err != nil && h.Log != nil {
		what := "rejection_not_recorded"
		if errors.Is(err, store.ErrQuarantineFull) {
			what = "quarantine_full" // recorded, not kept
		}
		_, _, _, cause := classify(err)
		h.Log.LogAttrs(ctx, slog.LevelWarn, what,
			slog.String("provider", h.Provider), slog.String("reason", res.Reason), slog.String("cause", cause))
	}
}
