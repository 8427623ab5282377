package deliver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/itchyny/gojq"

	"github.com/hookline/hookline/shared/store"
)

// The event document is what filters and transforms read (DESIGN.md
// "Filters and transforms"):
//
//	{"id", "type", "provider", "source", "time", "subject", "tenant",
//	 "data": <the provider's body as JSON>, "normalized": <the canonical record>}
//
// id, type, source, time, subject and tenant are the CloudEvent's
// (NewCloudEvent: source "hookline/<provider>", time the occurred-at else
// the received-at in RFC 3339 UTC, subject the entity id); subject and
// tenant are null when the event has none, and normalized is null for an
// event stored without a record.

// errDocument: the stored body or record is not JSON (a corrupt store:
// ingest stores only bodies that are).
var errDocument = errors.New("the stored body or normalized record is not JSON")

// Document returns the event document of ev as gojq's values: objects are
// map[string]any, numbers json.Number (so large integers and decimals keep
// every digit). It fails only when ev's body or record is not valid JSON
// and UTF-8.
func Document(ev store.Event) (map[string]any, error) {
	ce := NewCloudEvent(ev, false)
	data, err := decodeJSON(ev.Raw)
	if err != nil {
		return nil, err
	}
	normalized, err := decodeJSON(ev.Normalized)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id":         ce.ID,
		"type":       ce.Type,
		"provider":   ev.Provider,
		"source":     ce.Source,
		"time":       ce.Time,
		"subject":    orNull(ce.Subject),
		"tenant":     orNull(ce.Tenant),
		"data":       data,
		"normalized": normalized,
	}, nil
}

// DocumentJSON returns the event document of ev as JSON (keys sorted), as
// hookline transform --document prints it.
func DocumentJSON(ev store.Event) ([]byte, error) {
	doc, err := Document(ev)
	if err != nil {
		return nil, err
	}
	return gojq.Marshal(doc)
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// decodeJSON decodes one JSON value (empty input: null) into gojq's values,
// numbers as json.Number. The tokens come from json/v2's jsontext, reading
// b in place through a bytes.Buffer (one pass, without a copy: about half
// the time of encoding/json's Decoder, which copies and scans a value
// twice); building map[string]any, []any and json.Number from them is
// the only hand-written part: no library makes gojq's value types with
// numbers kept exact. As encoding/json would, it takes a member named
// twice (the last wins) and an escaped lone surrogate (as U+FFFD); it
// refuses bytes that are not UTF-8 and anything after the value.
func decodeJSON(b []byte) (any, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if !utf8.Valid(b) {
		return nil, errDocument
	}
	dec := jsontext.NewDecoder(bytes.NewBuffer(b), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	v, err := readValue(dec)
	if err != nil {
		return nil, errDocument
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return nil, errDocument // trailing data
	}
	return v, nil
}

// readValue reads the next JSON value of dec.
func readValue(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return nil, nil
	case 'f', 't':
		return tok.Bool(), nil
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case '{':
		m := make(map[string]any)
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := name.String() // a token is valid until the next read
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	}
	return nil, errDocument
}

// lazyDocument builds an event's document once, on first use, for every
// route of one Process that has a filter or transform.
type lazyDocument struct {
	ev   store.Event
	once sync.Once
	doc  map[string]any
	err  error
}

func (l *lazyDocument) get() (map[string]any, error) {
	l.once.Do(func() { l.doc, l.err = Document(l.ev) })
	return l.doc, l.err
}
