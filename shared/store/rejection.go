package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"
)

// Rejection is one refused delivery as the console lists it: what was
// refused and why, never what it carried. No body, no header value, no
// token: the body's size and SHA-256 (to match it with the provider's own
// delivery log), the header names, and, for a JourneyBee token refused only
// for its signature or its expiry, the claims it carried (company_uuid,
// user_uuid, event_id, iat, exp: never api_key or external_settings).
// Store/sqlite keeps the newest RejectionsKept; store/dynamo keeps each for
// a day (TTL):
//
//	RecordRejection(ctx, r Rejection) error   // one small write; the oldest beyond the bound go
//	Rejections(ctx, limit int) ([]Rejection, error)   // newest first; ID is set
//
// With quarantine on (ingest.quarantine), a delivery refused for its
// credentials is kept in full beside its rejection (Quarantined): see
// QuarantineStore.
type Rejection struct {
	ID         string // set by the store
	At         time.Time
	Provider   string
	Method     string
	Route      string
	Status     int    // the HTTP status answered
	Reason     string // the stable reason code: bad_signature, expired, invalid_payload, …
	BodyBytes  int
	BodySHA256 string   // hex
	Headers    []string // the request's header names, canonical, sorted
	// Claims are the verified-shape claims of a JourneyBee token refused
	// only for its signature or expiry (nil otherwise): names and values
	// of at most MaxRejectionNameLen bytes, at most MaxRejectionClaims.
	Claims map[string]string
	// Quarantined: the delivery itself is kept (store.Quarantined, same ID)
	// until QuarantineExpiresAt. Set by the store.
	Quarantined         bool
	QuarantineExpiresAt time.Time
}

// Bounds of a Rejection.
const (
	RejectionsKept       = 1000 // how many the SQLite store keeps
	MaxRejectionHeaders  = 64
	MaxRejectionNameLen  = 128 // a header name, provider, method, route, reason, claim name or value
	MaxRejectionClaims   = 16
	MaxRejectionsPerPage = 1000
	// RejectionTTL is how long store/dynamo keeps a rejection (its TTL).
	RejectionTTL = 24 * time.Hour
)

// Validate reports whether r can be recorded: At and Provider set, strings
// UTF-8 of at most MaxRejectionNameLen bytes, at most MaxRejectionHeaders
// header names and MaxRejectionClaims claims, a status and size not
// negative. The error wraps ErrInvalid.
func (r Rejection) Validate() error {
	if r.At.IsZero() || r.Provider == "" {
		return fmt.Errorf("%w: rejection needs At and Provider", ErrInvalid)
	}
	if err := CheckTime(r.At); err != nil {
		return err
	}
	if r.Status < 0 || r.BodyBytes < 0 {
		return fmt.Errorf("%w: negative rejection Status or BodyBytes", ErrInvalid)
	}
	if len(r.Headers) > MaxRejectionHeaders {
		return fmt.Errorf("%w: %d header names, over %d", ErrInvalid, len(r.Headers), MaxRejectionHeaders)
	}
	if len(r.Claims) > MaxRejectionClaims {
		return fmt.Errorf("%w: %d claims, over %d", ErrInvalid, len(r.Claims), MaxRejectionClaims)
	}
	strs := append([]string{r.Provider, r.Method, r.Route, r.Reason, r.BodySHA256}, r.Headers...)
	for k, v := range r.Claims {
		strs = append(strs, k, v)
	}
	for _, s := range strs {
		if len(s) > MaxRejectionNameLen || !utf8.ValidString(s) {
			return fmt.Errorf("%w: rejection field over %d bytes or not UTF-8", ErrInvalid, MaxRejectionNameLen)
		}
	}
	return nil
}

// Quarantined is a delivery refused for its credentials (bad signature,
// unknown secret, expired token) and kept in full, so that once the
// operator has fixed a secret it can be verified again (re-verify) and
// ingested. It is never forwarded as it is; it expires at ExpiresAt.
type Quarantined struct {
	ID        string // its Rejection's ID
	Provider  string
	At        time.Time // when it was received: re-verify checks token times against it
	Method    string
	Body      []byte      // exactly as received
	Header    http.Header // the credential header(s) only, with their values
	ExpiresAt time.Time
}

// Size is what a kept delivery counts against QuarantineBounds.MaxBytes:
// its body and its header names and values.
func (q Quarantined) Size() int64 {
	n := int64(len(q.Body))
	for k, vs := range q.Header {
		for _, v := range vs {
			n += int64(len(k) + len(v))
		}
	}
	return n
}

// QuarantineBounds bound what a store keeps in quarantine at any time
// (entries not yet expired).
type QuarantineBounds struct {
	MaxCount int
	MaxBytes int64
}

// ErrQuarantineFull: keeping one more delivery would go over the bounds;
// the rejection is recorded without it.
var ErrQuarantineFull = errors.New("store: quarantine full")

// MaxQuarantineHeaderBytes bounds the kept credential headers (names and
// values): a JourneyBee token is a few hundred bytes.
const MaxQuarantineHeaderBytes = 16 << 10

// RejectionReader is what the operator console reads of rejections, on
// both stores (store/sqlite, store/dynamo):
//
//   - Rejections: up to limit (1 to MaxRejectionsPerPage) kept
//     rejections, newest first, those past their TTL left out.
//   - Quarantined: the delivery kept for the rejection id, ErrNotFound
//     when none is kept (quarantine off, over the bounds, expired).
type RejectionReader interface {
	Rejections(ctx context.Context, limit int) ([]Rejection, error)
	Quarantined(ctx context.Context, id string) (Quarantined, error)
}

// QuarantineStore records a rejection together with its kept delivery:
//
//   - RecordQuarantined records r and keeps q (ID, Quarantined and
//     QuarantineExpiresAt are set by the store) unless that would take
//     the entries not expired at r.At over bounds; then it records r alone
//     and returns ErrQuarantineFull.
type QuarantineStore interface {
	RecordQuarantined(ctx context.Context, r Rejection, q Quarantined, bounds QuarantineBounds) error
}
