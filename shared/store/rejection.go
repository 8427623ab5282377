package store

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Rejection is one refused delivery as the console lists it: what was
// refused and why, never what it carried. No body, no header value, no
// token: the body's size and SHA-256 (to match it with the provider's own
// delivery log) and the header names. Store/sqlite keeps the newest
// RejectionsKept:
//
//	RecordRejection(ctx, r Rejection) error   // one small write; the oldest beyond the bound go
//	Rejections(ctx, limit int) ([]Rejection, error)   // newest first; ID is set
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
}

// Bounds of a Rejection.
const (
	RejectionsKept       = 1000 // how many the SQLite store keeps
	MaxRejectionHeaders  = 64
	MaxRejectionNameLen  = 128 // a header name, provider, method, route or reason
	MaxRejectionsPerPage = 1000
)

// Validate reports whether r can be recorded: At and Provider set, strings
// UTF-8 of at most MaxRejectionNameLen bytes, at most MaxRejectionHeaders
// header names, a status and size not negative. The error wraps ErrInvalid.
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
	for _, s := range append([]string{r.Provider, r.Method, r.Route, r.Reason, r.BodySHA256}, r.Headers...) {
		if len(s) > MaxRejectionNameLen || !utf8.ValidString(s) {
			return fmt.Errorf("%w: rejection field over %d bytes or not UTF-8", ErrInvalid, MaxRejectionNameLen)
		}
	}
	return nil
}
