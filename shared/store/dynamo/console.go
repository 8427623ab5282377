package dynamo

// The attempt history of the operator console (see store.Attempt).
//
// Attempt item, one per delivery attempt, in its event's partition:
//
//	pk           "EVT#<event id>"
//	sk           "ATT#<at, fixed-width RFC 3339 with 9 decimals>#<attempt, 4 digits>#<destination>"
//	destination  S
//	attempt      N
//	at           N  Unix nanoseconds
//	outcome      S
//	status_code  N  (absent: 0)
//	error        S  (absent: empty)
//	duration_ns  N
//	response     S  at most store.MaxResponseBytes (absent: empty)
//	ttl          N  the event's ExpiresAt in Unix seconds, rounded up: the
//	                history expires with its event (absent: kept)
//
// The item has none of the index attributes, so it is in neither index, and
// GetItem of the event item (sk "EVT") never sees it. RecordAttempt is one
// UpdateItem that creates the item (an upsert: the processor's role already
// holds UpdateItem on the table, so the history needs no new permission);
// an item is at most about 1.5 KB, one write unit and change. Attempts is one
// Query on pk with begins_with(sk, "ATT#"), strongly consistent, in sk order:
// oldest first.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/shared/store"
)

const (
	skAttemptPrefix = "ATT#"

	attrDestination = "destination"
	attrAttempt     = "attempt"
	attrAt          = "at"
	attrOutcome     = "outcome"
	attrStatusCode  = "status_code"
	attrError       = "error"
	attrDurationNs  = "duration_ns"
	attrResponse    = "response"
)

// RecordAttempt adds a to its event's attempt history: one UpdateItem that
// creates the attempt item (see the top of this file).
func (s *Store) RecordAttempt(ctx context.Context, a store.Attempt) error {
	if err := a.Validate(); err != nil {
		return err
	}
	names := map[string]string{}
	values := map[string]types.AttributeValue{}
	var set []string
	add := func(attr string, v types.AttributeValue) {
		n, p := "#"+attr, ":"+attr
		names[n], values[p] = attr, v
		set = append(set, n+" = "+p)
	}
	add(attrDestination, str(a.Destination))
	add(attrAttempt, num(int64(a.Number)))
	add(attrAt, num(a.At.UnixNano()))
	add(attrOutcome, str(a.Outcome))
	add(attrDurationNs, num(int64(a.Duration)))
	if a.StatusCode != 0 {
		add(attrStatusCode, num(int64(a.StatusCode)))
	}
	if a.Error != "" {
		add(attrError, str(a.Error))
	}
	if a.Response != "" {
		add(attrResponse, str(a.Response))
	}
	if !a.ExpiresAt.IsZero() {
		add(attrTTL, num(ttlSeconds(a.ExpiresAt)))
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.table,
		Key: map[string]types.AttributeValue{
			attrPK: str("EVT#" + a.EventID),
			attrSK: str(attemptSK(a)),
		},
		UpdateExpression:          aws.String("SET " + strings.Join(set, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return unavailable("record attempt", err)
	}
	return nil
}

func attemptSK(a store.Attempt) string {
	return fmt.Sprintf("%s%s#%04d#%s", skAttemptPrefix, sortTime(a.At), a.Number, a.Destination)
}

// Attempts returns the attempt history of the event id, oldest first.
func (s *Store) Attempts(ctx context.Context, id string) ([]store.Attempt, error) {
	if id == "" || !utf8.ValidString(id) {
		return nil, nil
	}
	in := &dynamodb.QueryInput{
		TableName:              &s.table,
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :att)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":  str("EVT#" + id),
			":att": str(skAttemptPrefix),
		},
		ConsistentRead: aws.Bool(true),
	}
	var out []store.Attempt
	for {
		page, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("query attempts", err)
		}
		for _, item := range page.Items {
			if sk, _ := item[attrSK].(*types.AttributeValueMemberS); sk != nil && strings.HasPrefix(sk.Value, skStatePrefix) {
				as, err := stateAttempts(id, item) // the processor's: with the state they made (state.go)
				if err != nil {
					return nil, err
				}
				out = append(out, as...)
				continue
			}
			a, err := decodeAttempt(id, item)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
		if page.LastEvaluatedKey == nil {
			slices.SortStableFunc(out, func(a, b store.Attempt) int { return a.At.Compare(b.At) })
			return out, nil
		}
		in.ExclusiveStartKey = page.LastEvaluatedKey
	}
}

func decodeAttempt(id string, item map[string]types.AttributeValue) (store.Attempt, error) {
	d := decoder{item: item}
	a := store.Attempt{
		EventID:     id,
		Destination: d.str(attrDestination),
		Number:      int(d.int(attrAttempt)),
		At:          d.time(attrAt),
		Outcome:     d.str(attrOutcome),
		StatusCode:  int(d.int(attrStatusCode)),
		Error:       d.str(attrError),
		Duration:    time.Duration(d.int(attrDurationNs)),
		Response:    d.str(attrResponse),
	}
	if d.err != nil {
		sk, _ := item[attrSK].(*types.AttributeValueMemberS)
		name := ""
		if sk != nil {
			name = sk.Value
		}
		return store.Attempt{}, fmt.Errorf("dynamo: attempt item %s %s: %w", id, strconv.Quote(name), d.err)
	}
	return a, nil
}
