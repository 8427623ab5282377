package store

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Attempt is one delivery attempt as kept in an event's attempt history (the
// console's timeline). Stores that keep a history (store/sqlite,
// store/dynamo) implement, checked by storetest.RunAttempts:
//
//	RecordAttempt(ctx, a Attempt) error
//	    One small write. It refuses, with ErrInvalid and before writing, an
//	    attempt that fails Validate. An attempt of an event that no longer
//	    exists may be dropped (SQLite) or kept until ExpiresAt (DynamoDB).
//	Attempts(ctx, eventID string) ([]Attempt, error)
//	    Every recorded attempt of the event, oldest first (At, then the
//	    order recorded); none for an unknown event. ExpiresAt comes back
//	    zero (it only drives the store's expiry).
//
// The history only grows: a replay clears the delivery state (so its next
// attempt is number 1 again) but never the history, so the replay's attempts
// show as new entries after the old ones. It is kept as long as the event
// (DynamoDB TTL on ExpiresAt; SQLite deletes it with the event).
type Attempt struct {
	EventID     string
	Destination string
	Number      int       // 1 for the first attempt since the delivery state was last cleared
	At          time.Time // when the attempt started
	Outcome     string    // delivered, retry or failed (deliver.Outcome*)
	StatusCode  int       // HTTP status where there was one
	Error       string    // the error class when not delivered ("http_503", "timeout", …)
	Duration    time.Duration
	// Response is the first MaxResponseBytes of the destination's answer
	// (HTTP: the response body; EventBridge and SQS: the error), valid UTF-8
	// (see ResponseExcerpt).
	Response  string
	ExpiresAt time.Time // the event's retention; zero: kept
}

// MaxResponseBytes bounds Attempt.Response; MaxOutcomeLen Attempt.Outcome.
const (
	MaxResponseBytes = 1024
	MaxOutcomeLen    = 32
)

// Validate reports whether a can be recorded: EventID, Destination (at most
// MaxDestinationLen bytes), Outcome (at most MaxOutcomeLen) and At set,
// Number at least 1, StatusCode and Duration not negative, Error at most
// MaxClassLen bytes, Response at most MaxResponseBytes, every string UTF-8,
// times in range. The error wraps ErrInvalid.
func (a Attempt) Validate() error {
	switch {
	case a.EventID == "" || !utf8.ValidString(a.EventID):
		return fmt.Errorf("%w: attempt has no EventID", ErrInvalid)
	case a.Destination == "" || len(a.Destination) > MaxDestinationLen || !utf8.ValidString(a.Destination):
		return fmt.Errorf("%w: attempt Destination must be 1 to %d bytes of UTF-8", ErrInvalid, MaxDestinationLen)
	case a.Number < 1:
		return fmt.Errorf("%w: attempt Number %d", ErrInvalid, a.Number)
	case a.At.IsZero():
		return fmt.Errorf("%w: attempt has no At", ErrInvalid)
	case a.Outcome == "" || len(a.Outcome) > MaxOutcomeLen || !utf8.ValidString(a.Outcome):
		return fmt.Errorf("%w: attempt Outcome must be 1 to %d bytes of UTF-8", ErrInvalid, MaxOutcomeLen)
	case a.StatusCode < 0 || a.Duration < 0:
		return fmt.Errorf("%w: negative attempt StatusCode or Duration", ErrInvalid)
	case len(a.Error) > MaxClassLen || !utf8.ValidString(a.Error):
		return fmt.Errorf("%w: attempt Error must be at most %d bytes of UTF-8", ErrInvalid, MaxClassLen)
	case len(a.Response) > MaxResponseBytes || !utf8.ValidString(a.Response):
		return fmt.Errorf("%w: attempt Response must be at most %d bytes of UTF-8", ErrInvalid, MaxResponseBytes)
	}
	for _, t := range []time.Time{a.At, a.ExpiresAt} {
		if err := CheckTime(t); err != nil {
			return fmt.Errorf("attempt: %w", err)
		}
	}
	return nil
}

// ResponseExcerpt returns the first MaxResponseBytes of b as valid UTF-8:
// invalid bytes become U+FFFD and a character cut by the limit is dropped.
func ResponseExcerpt(b []byte) string {
	if len(b) > MaxResponseBytes {
		b = b[:MaxResponseBytes]
		// Drop a character the cut left incomplete.
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > MaxResponseBytes {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}
