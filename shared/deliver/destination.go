// Package deliver is hookline's processor: given an event id from the queue,
// it loads the event, finds every configured destination whose event globs
// match the canonical type, delivers to each one that has not succeeded yet,
// records every attempt with the event, and says whether the message still
// has transient work (retry later) or is done.
package deliver

import (
	"context"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// Destination is one configured place events go to (http, eventbridge, sqs,
// log). Implementations are safe for concurrent use.
type Destination interface {
	// Name is the destination's configured name.
	Name() string
	// Deliver makes one attempt (attempt starts at 1) and classifies the
	// result. It never retries by itself.
	Deliver(ctx context.Context, ev store.Event, attempt int) Outcome
}

// Outcome is the result of one attempt.
type Outcome struct {
	// OK: the destination accepted the event.
	OK bool
	// Permanent: retrying cannot help (e.g. HTTP 400, 404, 410); the
	// destination is marked failed at once. Ignored when OK.
	Permanent bool
	// StatusCode is the HTTP status where there is one (0 otherwise).
	StatusCode int
	// Class is a short, log- and metric-safe error class when not OK:
	// "http_503", "timeout", "connection", "throttled", "rejected", …
	// Never a body, URL with credentials, or secret.
	Class string
	// RetryAfter is the destination's own hint (HTTP Retry-After), 0 if none.
	RetryAfter time.Duration
	// Response is the start of the destination's answer for the attempt
	// history (HTTP: the response body; EventBridge, SQS: the error's code
	// and message); the processor keeps its first store.MaxResponseBytes.
	// It goes to the store only, never to a log line or metric.
	Response string
	// Error is a message kept with the delivery state where the class says
	// too little (a filter or transform error), at most
	// store.MaxErrorLen bytes. Never logged.
	Error string
}
