package deliver

import (
	"context"
	"errors"
	"fmt"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// Per-destination filters and transforms (DESIGN.md "Filters and
// transforms"): the processor runs a destination's filter on the event
// document before an attempt, and its transform to make the body the
// destination sends in place of its format.
//
//   - filter false: the event is filtered out for that destination. That is
//     no failure and no attempt: the delivery is settled as filtered
//     (store.Delivery.FilteredAt) with Attempts unchanged.
//   - filter true, or no filter: the attempt is made; with a transform its
//     output is the body: the HTTP body (signed: the webhook-signature
//     covers it; Content-Type the destination's content_type, default
//     application/json), the EventBridge entry's detail, the SQS message
//     body.
//   - A filter or transform that fails (an error, no value or several, a
//     filter value that is not a boolean, a run over EvalTimeout, a
//     transform output over the destination's limit) fails the attempt
//     permanently: one attempt, class filter_error or transform_error, the
//     message in store.Delivery.LastError. Only a run cut short by the
//     attempt's context (the processor stopping, or a destination timeout
//     shorter than EvalTimeout) is not the program's fault: that attempt is
//     transient (canceled or timeout).

// BodySender is a destination that can send a transform's output in place
// of its format. Every destination type that sends a body (http,
// eventbridge, sqs) is one.
type BodySender interface {
	Destination
	// DeliverBody makes one attempt with body as what is sent.
	DeliverBody(ctx context.Context, ev store.Event, attempt int, body []byte) Outcome
	// MaxBodyBytes is the largest body the destination takes.
	MaxBodyBytes() int
}

// Programs are a destination's compiled filter and transform (either may
// be nil).
type Programs struct {
	Filter, Transform *Program
}

// CompilePrograms compiles the filter and transform of d: nil when d has
// neither. The error names the destination, and for a syntax error the
// line and column in the program.
func CompilePrograms(d config.Destination) (*Programs, error) {
	if d.Filter == "" && d.Transform == "" {
		return nil, nil
	}
	var ps Programs
	var err error
	if d.Filter != "" {
		if ps.Filter, err = CompileProgram(KindFilter, d.Filter); err != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, err)
		}
	}
	if d.Transform != "" {
		if ps.Transform, err = CompileProgram(KindTransform, d.Transform); err != nil {
			return nil, fmt.Errorf("destination %s: %w", d.Name, err)
		}
	}
	return &ps, nil
}

// Apply runs the filter (if any), then, when it passes, the transform (if
// any) with limit as the output's bound. pass is false when the filter
// turned the event away; body is nil without a transform.
func (ps *Programs) Apply(ctx context.Context, doc map[string]any, limit int) (pass bool, body []byte, err *ProgramError) {
	if ps.Filter != nil {
		ok, err := ps.Filter.Filter(ctx, doc)
		if err != nil || !ok {
			return false, nil, err
		}
	}
	if ps.Transform == nil {
		return true, nil, nil
	}
	body, err = ps.Transform.Transform(ctx, doc, limit)
	if err != nil {
		return false, nil, err
	}
	return true, body, nil
}

// attemptRoute makes one attempt at r for ev: straight to the destination
// without programs, else the filter and transform first (on doc, built once
// per Process). filtered reports an event the filter turned away (out is
// then empty and no attempt was made).
func attemptRoute(ctx context.Context, r Route, ev store.Event, doc *lazyDocument, attempt int) (out Outcome, filtered bool) {
	if r.Programs == nil {
		return r.Dest.Deliver(ctx, ev, attempt), false
	}
	d, err := doc.get()
	if err != nil {
		return Outcome{Permanent: true, Class: "bad_event", Error: "event document: " + err.Error()}, false
	}
	sender, _ := r.Dest.(BodySender)
	limit := 0
	if sender != nil {
		limit = sender.MaxBodyBytes()
	}
	pass, body, perr := r.Programs.Apply(ctx, d, limit)
	switch {
	case perr != nil && perr.Stopped:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Outcome{Class: "timeout"}, false
		}
		return Outcome{Class: "canceled"}, false
	case perr != nil:
		return Outcome{Permanent: true, Class: perr.Class(), Error: perr.Error()}, false
	case !pass:
		return Outcome{}, true
	case body == nil:
		return r.Dest.Deliver(ctx, ev, attempt), false
	case sender == nil: // NewRoutes refuses this
		return Outcome{Permanent: true, Class: "transform_error", Error: "transform: the destination cannot send a body"}, false
	}
	return sender.DeliverBody(ctx, ev, attempt, body), false
}

// isJSONObject reports whether b, valid JSON, is an object.
func isJSONObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// errNoBody: a transform on a destination that sends no body.
var errNoBody = errors.New("a transform needs a destination that sends a body (http, eventbridge, sqs)")
