package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store"
)

// Message attributes the SQS destination sets (all of DataType String).
const (
	SQSAttrEventID     = "event_id"     // hookline's event id, the same on every retry
	SQSAttrEventType   = "event_type"   // the canonical type, e.g. leadron.lead.created
	SQSAttrContentType = "content-type" // ContentTypeCloudEvents
)

// MaxSQSMessageBytes is the largest message SQS takes: the body plus every
// message attribute's name, data type and value, in bytes. It was 256 KiB
// until AWS raised it on 2026-01-29; the SendMessage reference of the SDK
// this module pins says 1 MiB, which is also the default MaximumMessageSize
// of a new queue. A queue configured lower answers InvalidParameterValue
// ("Message must be shorter than …"), which is classified "too_large" too.
const MaxSQSMessageBytes = 1 << 20

// sqsMaxFIFOToken bounds MessageGroupId and MessageDeduplicationId.
const sqsMaxFIFOToken = 128

// SQSDest is a destination that sends each event to an SQS queue as one
// message: the body is the CloudEvents 1.0 JSON of the event (NewCloudEvent:
// data is the provider's original body, or the canonical record with format
// "normalized"), or with a transform its output (DeliverBody), with the
// message attributes SQSAttrEventID, SQSAttrEventType (omitted if the event
// has no type) and SQSAttrContentType.
//
// A queue whose URL ends in ".fifo" is a FIFO queue and gets:
//
//   - MessageGroupId "<provider>/<tenant>" (just "<provider>" without a
//     tenant), so events of one provider account keep their order while
//     different accounts proceed in parallel. A tenant that is not a valid
//     group id (over 128 characters with the provider, or characters other
//     than ASCII letters, digits and punctuation) is replaced by the hex
//     SHA-256 of it. Order is the order hookline delivers in: an event
//     retried after a transient failure lands after later ones.
//   - MessageDeduplicationId the event id, so a retry or replay within SQS's
//     5-minute deduplication window is dropped by SQS. After the window a
//     retry is a second message: consumers dedupe on the event_id attribute
//     (or the CloudEvent id) in every case.
//
// Outcomes are classified as for EventBridge (see its doc): too_large for a
// message over MaxSQSMessageBytes (checked before any call, never truncated)
// or over the queue's own MaximumMessageSize; not_found for a queue that
// does not exist (QueueDoesNotExist); access_denied for denied access,
// KMS access denied and bad credentials; rejected for any other client
// error (InvalidMessageContents, KMS disabled, …); transient throttled
// (RequestThrottled, KmsThrottled, HTTP 429), server_error (5xx),
// timeout, connection, canceled, credentials, sdk_error. StatusCode is the
// HTTP status of a failed call. Class never holds a message, body, URL or
// credential.
//
// Deliver makes one SendMessage call; the client's retryer may resend within
// it (see EventBridge). It is safe for concurrent use and never logs.
type SQSDest struct {
	client     *sqs.Client
	name       string
	queueURL   string
	fifo       bool
	normalized bool
	timeout    time.Duration
}

// NewSQS returns the sqs destination d, sending to d.QueueURL through client
// (built once by the caller). d.Timeout, when set, bounds each Deliver call.
func NewSQS(client *sqs.Client, d config.Destination) *SQSDest {
	return &SQSDest{
		client:     client,
		name:       d.Name,
		queueURL:   d.QueueURL,
		fifo:       strings.HasSuffix(d.QueueURL, ".fifo"),
		normalized: d.Format == "normalized",
		timeout:    d.Timeout.D(),
	}
}

// Name is the destination's configured name.
func (s *SQSDest) Name() string { return s.name }

// Deliver sends ev to the queue; attempt does not change what is sent.
func (s *SQSDest) Deliver(ctx context.Context, ev store.Event, attempt int) Outcome {
	return s.send(ctx, ev, nil)
}

// DeliverBody sends body, a transform's output, as the message body (its
// content-type attribute application/json).
func (s *SQSDest) DeliverBody(ctx context.Context, ev store.Event, attempt int, body []byte) Outcome {
	return s.send(ctx, ev, body)
}

// MaxBodyBytes bounds a transformed message body: the message's limit.
func (s *SQSDest) MaxBodyBytes() int { return MaxSQSMessageBytes }

// Message is the SendMessage input of ev, as Deliver sends it (and hookline
// transform prints it): the CloudEvent, or transformed (a transform's
// output, when not nil) as the body.
func (s *SQSDest) Message(ev store.Event, transformed []byte) (*sqs.SendMessageInput, error) {
	body, contentType := transformed, ContentTypeJSON
	if body == nil {
		var err error
		if body, err = NewCloudEvent(ev, s.normalized).Marshal(); err != nil {
			return nil, err
		}
		contentType = ContentTypeCloudEvents
	}
	attrs := map[string]sqstypes.MessageAttributeValue{
		SQSAttrEventID:     sqsString(ev.ID),
		SQSAttrContentType: sqsString(contentType),
	}
	if ev.Type != "" {
		attrs[SQSAttrEventType] = sqsString(ev.Type)
	}
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(s.queueURL),
		MessageBody:       aws.String(string(body)),
		MessageAttributes: attrs,
	}
	if s.fifo {
		in.MessageGroupId = aws.String(sqsGroupID(ev))
		in.MessageDeduplicationId = aws.String(sqsFIFOToken(ev.ID))
	}
	return in, nil
}

func (s *SQSDest) send(ctx context.Context, ev store.Event, transformed []byte) Outcome {
	in, err := s.Message(ev, transformed)
	if err != nil {
		return Outcome{Permanent: true, Class: "bad_event"}
	}
	if sqsMessageSize(aws.ToString(in.MessageBody), in.MessageAttributes) > MaxSQSMessageBytes {
		return Outcome{Permanent: true, Class: "too_large"}
	}

	ctx, cancel := awsCallContext(ctx, s.timeout)
	defer cancel()
	if _, err := s.client.SendMessage(ctx, in); err != nil {
		return awsErrorOutcome(err)
	}
	return Outcome{OK: true}
}

func sqsString(v string) sqstypes.MessageAttributeValue {
	return sqstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// sqsMessageSize is the message's size as SQS counts it: the body plus each
// attribute's name, data type and value.
func sqsMessageSize(body string, attrs map[string]sqstypes.MessageAttributeValue) int {
	n := len(body)
	for name, v := range attrs {
		n += len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue)) + len(v.BinaryValue)
	}
	return n
}

// sqsGroupID is the FIFO MessageGroupId of ev: "<provider>/<tenant>", or the
// provider alone when there is no tenant.
func sqsGroupID(ev store.Event) string {
	if ev.Tenant == "" {
		return sqsFIFOToken(ev.Provider)
	}
	prefix := ev.Provider + "/"
	if g := prefix + ev.Tenant; sqsValidFIFOToken(g) {
		return g
	}
	return sqsFIFOToken(prefix + sqsHash(ev.Tenant))
}

// sqsFIFOToken returns s if SQS accepts it as a MessageGroupId or
// MessageDeduplicationId, else the hex SHA-256 of s (stable, and valid).
func sqsFIFOToken(s string) string {
	if sqsValidFIFOToken(s) {
		return s
	}
	return sqsHash(s)
}

// sqsValidFIFOToken: 1 to 128 characters, each an ASCII letter, digit or
// punctuation mark.
func sqsValidFIFOToken(s string) bool {
	if s == "" || len(s) > sqsMaxFIFOToken {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

func sqsHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// AWS error classification, shared by the EventBridge and SQS destinations.

// awsCallContext bounds one AWS call by the destination's timeout (none
// when timeout is 0).
func awsCallContext(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, timeout)
}

// awsErrorOutcome classifies an error returned by an AWS SDK call: an API
// error by its code, fault and HTTP status (awsCodeOutcome); anything else
// never got an answer from the service and is transient.
func awsErrorOutcome(err error) Outcome {
	var api smithy.APIError
	if errors.As(err, &api) {
		status := 0
		var withStatus interface{ HTTPStatusCode() int }
		if errors.As(err, &withStatus) {
			status = withStatus.HTTPStatusCode()
		}
		o := awsCodeOutcome(api.ErrorCode(), api.ErrorFault(), status, api.ErrorMessage())
		o.Response = api.ErrorCode() + ": " + api.ErrorMessage()
		return o
	}
	var timeout interface{ Timeout() bool }
	var send *smithyhttp.RequestSendError
	o := Outcome{Class: "sdk_error", Response: err.Error()}
	switch {
	case errors.Is(err, context.Canceled):
		o.Class = "canceled"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		o.Class = "timeout"
	case errors.As(err, &send):
		o.Class = "connection"
	}
	return o
}

// AWS error codes by meaning. SQS sends query-compatible codes such as
// AWS.SimpleQueueService.NonExistentQueue or KMS.ThrottlingException:
// awsCodeOutcome looks up both the whole code and the part after the last dot.
var (
	awsThrottleCodes = map[string]bool{
		"RequestThrottled": true, "KmsThrottled": true, "OverLimit": true, // SQS
	}
	awsServerCodes = map[string]bool{
		"InternalFailure": true, "InternalError": true, "InternalException": true,
		"InternalServerError": true, "ServiceUnavailable": true, "ServiceUnavailableException": true,
	}
	awsExpiredCodes = map[string]bool{
		"ExpiredToken": true, "ExpiredTokenException": true, "RequestExpired": true,
	}
	awsNotFoundCodes = map[string]bool{
		"ResourceNotFoundException": true, "QueueDoesNotExist": true, "NonExistentQueue": true,
	}
	awsDeniedCodes = map[string]bool{
		"AccessDenied": true, "AccessDeniedException": true,
		"NotAuthorizedForSourceException": true, "NotAuthorizedForDetailTypeException": true,
		"UnrecognizedClientException": true, "InvalidClientTokenId": true,
		"MissingAuthenticationToken": true, "InvalidSignatureException": true,
		"SignatureDoesNotMatch": true, "KmsAccessDenied": true,
	}
	// awsInvalidCodes are the non-retryable entry codes EventBridge
	// documents, which come without an HTTP status or fault.
	awsInvalidCodes = map[string]bool{
		"ValidationException": true, "InvalidArgument": true, "MalformedDetail": true,
		"InvalidAccountIdException": true, "RedactionFailure": true,
	}
)

// awsTooLargeMessages are the parts of the messages EventBridge and SQS give
// for a payload over their limit (a bus with a lower limit than
// MaxEventBridgeEntryBytes, a queue whose MaximumMessageSize is below
// MaxSQSMessageBytes). Only used to pick the class: the answer is permanent
// either way.
var awsTooLargeMessages = []string{
	"Total size of the entries",    // EventBridge: Total size of the entries in the request is over the limit.
	"Message must be shorter than", // SQS: … Reason: Message must be shorter than 262144 bytes.
}

// awsCodeOutcome classifies an AWS error code, with the error's fault and
// HTTP status when it came as an API error (FaultUnknown and 0 for a failed
// EventBridge entry). msg only refines "rejected" into "too_large"; it never
// reaches the outcome.
func awsCodeOutcome(code string, fault smithy.ErrorFault, status int, msg string) Outcome {
	short := code[strings.LastIndex(code, ".")+1:]
	in := func(set map[string]bool) bool { return set[code] || set[short] }
	_, sdkThrottle := retry.DefaultThrottleErrorCodes[short]
	_, sdkRetryable := retry.DefaultRetryableErrorCodes[short]

	o := Outcome{StatusCode: status}
	switch {
	case sdkThrottle || in(awsThrottleCodes) || status == 429:
		o.Class = "throttled"
	case sdkRetryable:
		o.Class = "timeout"
	case in(awsServerCodes) || fault == smithy.FaultServer || status >= 500:
		o.Class = "server_error"
	case in(awsExpiredCodes):
		o.Class = "credentials"
	case in(awsNotFoundCodes):
		o.Permanent, o.Class = true, "not_found"
	case in(awsDeniedCodes):
		o.Permanent, o.Class = true, "access_denied"
	case in(awsInvalidCodes) || fault == smithy.FaultClient || (status >= 400 && status < 500):
		o.Permanent, o.Class = true, "rejected"
		for _, m := range awsTooLargeMessages {
			if strings.Contains(msg, m) {
				o.Class = "too_large"
			}
		}
	default:
		o.Class = "aws_error"
	}
	return o
}
