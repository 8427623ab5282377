package deliver

import (
	"context"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// EventBridgeSourcePrefix starts the Source of every event hookline puts on
// a bus: "hookline.<provider>", e.g. hookline.leadron. (EventBridge reserves
// "aws." sources; rules match on this one.)
const EventBridgeSourcePrefix = "hookline."

// MaxEventBridgeEntryBytes is the largest PutEvents entry EventBridge takes,
// measured its way (see eventBridgeEntrySize). The limit was 256 KB until
// AWS raised it on 2026-01-29; the API reference of the SDK this module pins
// now says "the total entry size must be less than 1MB". Where a bus still
// refuses a smaller entry, EventBridge's own "over the limit" answer is
// classified "too_large" too.
const MaxEventBridgeEntryBytes = 1<<20 - 1

// EventBridge is a destination that puts each event on an EventBridge bus as
// one PutEvents entry:
//
//   - Source "hookline.<provider>", DetailType the canonical type
//     (journeybee.lead_created), EventBusName the configured bus (name or
//     ARN; "default" unless configured), Time the event's occurred-at, else
//     its received-at.
//   - Detail the CloudEvents 1.0 JSON of the event (NewCloudEvent): data is
//     the provider's original body, or the canonical record with format
//     "normalized". With a transform, its output is the detail instead
//     (DeliverBody; it must be a JSON object). Rules therefore match on detail.data.<field>, and
//     detail.id is hookline's event id, the same on every retry (EventBridge
//     gives every put a new event id of its own, so consumers dedupe on
//     detail.id).
//
// Outcomes: OK when the entry was accepted. Otherwise Class says why, and
// Permanent says that retrying cannot help:
//
//	too_large      permanent  the entry is over MaxEventBridgeEntryBytes (checked
//	                          before any call: hookline never truncates an event),
//	                          or EventBridge said the request is over its limit
//	not_found      permanent  the bus does not exist (ResourceNotFoundException)
//	access_denied  permanent  AccessDeniedException, NotAuthorizedForSource/DetailType,
//	                          unknown or invalid credentials
//	rejected       permanent  any other 4xx or client-fault answer
//	                          (ValidationException, InvalidArgument, MalformedDetail, …)
//	bad_event      permanent  the stored event cannot be encoded (corrupt Raw)
//	throttled      transient  ThrottlingException and the SDK's throttling codes, HTTP 429
//	server_error   transient  InternalFailure / InternalException, HTTP 5xx
//	timeout        transient  the call ran out of time (the destination's timeout,
//	                          the caller's deadline, or the HTTP client's)
//	connection     transient  no answer: refused, reset, DNS
//	canceled       transient  the caller's context was canceled
//	credentials    transient  expired credentials or request (refreshed on retry)
//	sdk_error      transient  the SDK failed before sending (e.g. no credentials)
//	aws_error      transient  an error code hookline does not know, with no HTTP status
//
// The same classification applies to a whole failed call and to a failed
// entry (FailedEntryCount > 0, the entry's ErrorCode). StatusCode is the HTTP
// status of a failed API call (0 for a failed entry, and when nothing
// answered). Class never holds a message, body or credential.
//
// Deliver makes one PutEvents call. The client's own retryer may resend
// within that call (the SDK's default makes up to 3 attempts on throttling,
// 5xx and connection errors); build the client with aws.NopRetryer if every
// try must be its own recorded attempt. It is safe for concurrent use and
// never logs.
type EventBridge struct {
	client     *eventbridge.Client
	name       string
	bus        string
	normalized bool
	timeout    time.Duration
}

// NewEventBridge returns the eventbridge destination d, sending through
// client (built once by the caller). d.Timeout, when set, bounds each
// Deliver call.
func NewEventBridge(client *eventbridge.Client, d config.Destination) *EventBridge {
	return &EventBridge{
		client:     client,
		name:       d.Name,
		bus:        d.EventBus,
		normalized: d.Format == "normalized",
		timeout:    d.Timeout.D(),
	}
}

// Name is the destination's configured name.
func (e *EventBridge) Name() string { return e.name }

// Deliver puts ev on the bus; attempt does not change what is sent.
func (e *EventBridge) Deliver(ctx context.Context, ev store.Event, attempt int) Outcome {
	return e.put(ctx, ev, nil)
}

// DeliverBody puts ev on the bus with body, a transform's output, as the
// entry's detail. EventBridge takes only a JSON object there: any other
// value is a permanent transform_error.
func (e *EventBridge) DeliverBody(ctx context.Context, ev store.Event, attempt int, body []byte) Outcome {
	return e.put(ctx, ev, body)
}

// errDetailNotObject: a transform's output that EventBridge cannot take.
var errDetailNotObject = errors.New("transform: an EventBridge detail must be a JSON object")

// MaxBodyBytes bounds a transformed detail: the entry's limit.
func (e *EventBridge) MaxBodyBytes() int { return MaxEventBridgeEntryBytes }

// Entry is the PutEvents entry of ev, as Deliver sends it (and hookline
// transform prints it): detail the CloudEvent, or transformed (a
// transform's output, when not nil; it must be a JSON object).
func (e *EventBridge) Entry(ev store.Event, transformed []byte) (ebtypes.PutEventsRequestEntry, error) {
	detail := transformed
	if detail != nil && !isJSONObject(detail) {
		return ebtypes.PutEventsRequestEntry{}, errDetailNotObject
	}
	if detail == nil {
		var err error
		if detail, err = NewCloudEvent(ev, e.normalized).Marshal(); err != nil {
			return ebtypes.PutEventsRequestEntry{}, err
		}
	}
	at := ev.OccurredAt
	if at.IsZero() {
		at = ev.ReceivedAt
	}
	entry := ebtypes.PutEventsRequestEntry{
		Source:     aws.String(EventBridgeSourcePrefix + ev.Provider),
		DetailType: aws.String(ev.Type),
		Detail:     aws.String(string(detail)),
		Time:       aws.Time(at.UTC()),
	}
	if e.bus != "" {
		entry.EventBusName = aws.String(e.bus)
	}
	return entry, nil
}

func (e *EventBridge) put(ctx context.Context, ev store.Event, transformed []byte) Outcome {
	entry, err := e.Entry(ev, transformed)
	if errors.Is(err, errDetailNotObject) {
		return Outcome{Permanent: true, Class: "transform_error", Error: err.Error()}
	}
	if err != nil {
		return Outcome{Permanent: true, Class: "bad_event"}
	}
	if eventBridgeEntrySize(entry) > MaxEventBridgeEntryBytes {
		return Outcome{Permanent: true, Class: "too_large"}
	}

	ctx, cancel := awsCallContext(ctx, e.timeout)
	defer cancel()
	out, err := e.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{entry}})
	if err != nil {
		return awsErrorOutcome(err)
	}
	var code, msg string
	if len(out.Entries) > 0 {
		code, msg = aws.ToString(out.Entries[0].ErrorCode), aws.ToString(out.Entries[0].ErrorMessage)
	}
	if code == "" && out.FailedEntryCount == 0 {
		return Outcome{OK: true}
	}
	// A failed entry: EventBridge answered 200 and said why in the entry.
	o := awsCodeOutcome(code, smithy.FaultUnknown, 0, "")
	o.Response = code + ": " + msg
	return o
}

// eventBridgeEntrySize is the entry's size as EventBridge counts it
// ("Calculating PutEvents event entry size"): 14 bytes for Time if set, plus
// the UTF-8 bytes of Source, DetailType, Detail and each Resource.
// EventBusName does not count.
func eventBridgeEntrySize(e ebtypes.PutEventsRequestEntry) int {
	n := len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	if e.Time != nil {
		n += 14
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}
