package provider

import (
	"errors"
	"fmt"
	"strings"

	// The json/v2 API. When the standard library ships encoding/json/v2
	// (and encoding/json/jsontext), switching is an import change: these
	// two paths become "encoding/json/v2" and "encoding/json/jsontext".
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// jsonOptions are the options every provider body (and every JourneyBee
// token's claims) is decoded with. Each is json/v2's default today; they
// are spelled out so that no change of default can loosen them.
//
//   - A member named twice in one object is refused (parsers disagree on
//     which value wins, and the raw body is forwarded as received); names
//     are compared after unescaping, so "lead" and "\u006cead" are the same
//     name.
//   - Invalid UTF-8 is refused (JSON is UTF-8; a receiver's parser may
//     refuse what we stored and forwarded).
//   - Member names match struct fields exactly, as written: "LEAD" is not
//     "lead", so what we read is what an exact-match reader of the raw body
//     reads.
//   - Nesting deeper than 10,000 levels is refused: jsontext's fixed bound
//     (it is not configurable). Skipped and raw values are read without
//     recursion; typed values nest no deeper than the provider's types.
var jsonOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(false), // providers add fields; they are kept in the raw body
)

// DecodeJSON is the one strict decode of a provider body: it reads all of
// body, exactly once, into v (a pointer to a struct), with the options
// above. It is also how a JourneyBee token's claims are read.
//
// The body must be one JSON object. The error wraps ErrEmptyBody for a
// body of white space only; ErrMalformedJSON for anything that is not
// strict JSON (syntax, a name twice, invalid UTF-8, depth, trailing data);
// ErrInvalidPayload for JSON that is not an object (ErrNotObject) or does
// not fit v's types (a *TypeError says where). json/v2 stops at the first
// value that does not fit, so on that path (a refusal) the rest of the
// body is then checked too, to tell the two apart. Messages never contain
// body content: jsontext's own errors quote member names, so they are not
// wrapped.
func DecodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v, jsonOptions)
	if err == nil && firstByte(body) == '{' {
		return nil
	}
	return decodeError(body, err)
}

// decodeError classifies DecodeJSON's failures. It is apart from DecodeJSON
// so that the error variables errors.As needs are allocated on this path
// only, not on every successful decode.
func decodeError(body []byte, err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && firstByte(body) == 0:
		return ErrEmptyBody
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fmt.Errorf("JSON names an object member twice (offset %d): %w", syn.ByteOffset, ErrMalformedJSON)
	case errors.As(err, &syn):
		return fmt.Errorf("not valid UTF-8 JSON (offset %d): %w", syn.ByteOffset, ErrMalformedJSON)
	case !jsontext.Value(body).IsValid(jsonOptions):
		return fmt.Errorf("not valid UTF-8 JSON: %w", ErrMalformedJSON)
	case err == nil || errors.As(err, &sem) && sem.JSONPointer == "":
		return ErrNotObject
	case errors.As(err, &sem):
		return &TypeError{Pointer: string(sem.JSONPointer), Kind: sem.JSONKind}
	default: // not expected: a provider type failing on valid JSON
		return fmt.Errorf("JSON does not decode: %w", ErrInvalidPayload)
	}
}

// ErrNotObject is DecodeJSON's error for valid JSON that is not an object.
var ErrNotObject = fmt.Errorf("JSON is not an object: %w", ErrInvalidPayload)

// TypeError is DecodeJSON's error for JSON that does not fit the target's
// types, such as an array where an object is required. It wraps
// ErrInvalidPayload.
type TypeError struct {
	// Pointer is where, as an RFC 6901 JSON Pointer ("/data/email"). Its
	// names are the target's own field names, never the body's.
	Pointer string
	// Kind is the kind of JSON value found there ('{', '[', '"', '0', 't',
	// 'f', 'n').
	Kind jsontext.Kind
}

// Field is Pointer as a dotted path ("data.email").
func (e *TypeError) Field() string {
	return strings.ReplaceAll(strings.TrimPrefix(e.Pointer, "/"), "/", ".")
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("%s has the wrong JSON type (%s): %s", e.Field(), e.Kind, ErrInvalidPayload)
}

func (e *TypeError) Unwrap() error { return ErrInvalidPayload }

// firstByte returns the first byte of b that is not JSON white space, or 0.
func firstByte(b []byte) byte {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
	}
	return 0
}

// The lenient types below read provider fields whose JSON type drifts
// (PROVIDERS.md: optional fields of a drifting type are tolerated, not
// rejected). json/v2 stops at the first value of an unexpected type; these
// take any value instead: one of the expected kind is decoded as usual,
// any other is skipped (still checked by the one strict decode) and leaves
// the field as it was (zero). Each reads its value from the decoder's
// stream, once.

// Lenient is the whole of a lenient type's UnmarshalJSONFrom method: the
// next value is decoded by json/v2's default for the type if it is of kind
// want, and skipped otherwise. A struct type whose fields are lenient is
// made lenient as a whole with
//
//	func (x *Lead) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
//		return provider.Lenient(dec, '{')
//	}
func Lenient(dec *jsontext.Decoder, want jsontext.Kind) error {
	if dec.PeekKind() == want {
		return errors.ErrUnsupported // json/v2: decode it the default way
	}
	return dec.SkipValue()
}

// String is a JSON string, or "" for any other JSON value.
type String string

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (s *String) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return Lenient(dec, '"') }

// List is a JSON array of T, or nil for any other JSON value; an empty
// array is an empty, non-nil List. Each element is decoded as a T, so T
// should be lenient too.
type List[T any] []T

// UnmarshalJSONFrom implements json.UnmarshalerFrom.
func (l *List[T]) UnmarshalJSONFrom(dec *jsontext.Decoder) error { return Lenient(dec, '[') }
