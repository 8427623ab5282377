package deliver

import (
	"context"
	"fmt"
	"io"
	"net/http"

	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/store"
)

// Preview is what one attempt at a route would send for an event, made by
// the code that sends it but without sending anything: hookline transform
// prints it.
type Preview struct {
	// Matches: the destination's event globs take the event's type (the
	// processor would not route it otherwise; the preview is made anyway).
	Matches bool
	// Filter is the filter's answer, nil without a filter. Filtered: it said
	// false, nothing would be sent, and the rest is empty.
	Filter   *bool
	Filtered bool
	// Transformed: the body is a transform's output.
	Transformed bool
	// Body is what would be sent: the HTTP body, the EventBridge detail or
	// the SQS message body (nil for a log destination).
	Body []byte
	// One of these, by the destination's type: the signed HTTP request (its
	// body already read into Body), the PutEvents entry, the SendMessage
	// input.
	Request *http.Request
	Entry   *ebtypes.PutEventsRequestEntry
	Message *sqs.SendMessageInput
}

// PreviewRoute previews an attempt at r for ev: the filter and transform,
// as the processor runs them, then the request, entry or message the
// destination would send, signed with the current time. A filter or
// transform failure is returned as a *ProgramError (the permanent failure
// the processor would record).
func PreviewRoute(ctx context.Context, r Route, ev store.Event) (Preview, error) {
	pv := Preview{Matches: r.Config.Matches(ev.Type)}
	var body []byte
	if r.Programs != nil {
		doc, err := Document(ev)
		if err != nil {
			return pv, fmt.Errorf("event document: %w", err)
		}
		limit := 0
		if s, ok := r.Dest.(BodySender); ok {
			limit = s.MaxBodyBytes()
		}
		pass, out, perr := r.Programs.Apply(ctx, doc, limit)
		if perr != nil {
			return pv, perr
		}
		if r.Programs.Filter != nil {
			pv.Filter = &pass
		}
		if !pass {
			pv.Filtered = true
			return pv, nil
		}
		body, pv.Transformed = out, out != nil
	}
	switch d := r.Dest.(type) {
	case *HTTP:
		req, err := d.Request(ctx, ev, body)
		if err != nil {
			return pv, err
		}
		if pv.Body, err = io.ReadAll(req.Body); err != nil {
			return pv, err
		}
		pv.Request = req
	case *EventBridge:
		entry, err := d.Entry(ev, body)
		if err != nil {
			return pv, err
		}
		pv.Entry, pv.Body = &entry, []byte(*entry.Detail)
	case *SQSDest:
		in, err := d.Message(ev, body)
		if err != nil {
			return pv, err
		}
		pv.Message, pv.Body = in, []byte(*in.MessageBody)
	}
	return pv, nil
}
