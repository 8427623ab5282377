package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/hookline/hookline/shared/store"
)

// RejectionRecorder keeps recent rejected deliveries for the operator
// console (store/sqlite; on AWS nothing implements it: a write per
// rejection is a cost there). Optional: a Handler without one records
// nothing. Recording is not "changing state": no event, key or message is
// written, and what is kept holds no body, header value or token.
type RejectionRecorder interface {
	RecordRejection(ctx context.Context, r store.Rejection) error
}

// recordRejection keeps a refused delivery (a 4xx, the provider's fault)
// in h.Rejections: route, status, reason code, the body's size and SHA-256,
// and the header names only. A failure to record is ignored: the provider
// gets its 4xx either way.
func (h *Handler) recordRejection(ctx context.Context, req Request, res Result) {
	if h.Rejections == nil || res.Outcome != OutcomeRejected {
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
	_ = h.Rejections.RecordRejection(context.WithoutCancel(ctx), store.Rejection{
		At:         h.now().UTC(),
		Provider:   h.Provider,
		Method:     method,
		Route:      "/webhooks/" + h.Provider,
		Status:     res.Status,
		Reason:     res.Reason,
		BodyBytes:  len(req.Body),
		BodySHA256: hex.EncodeToString(sum[:]),
		Headers:    names,
	})
}
