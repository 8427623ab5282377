package dynamo

// Recent rejections and the quarantine (store.Rejection, store.Quarantined)
// on DynamoDB: written by the ingest functions when ingest.record_rejections
// or ingest.quarantine is on, read by the console (store.RejectionReader).
//
// Rejection item, one per refused delivery:
//
//	pk           "REJ#<shard>"  (<shard> 00 to 15 from the id, as the indexes')
//	sk           "<id>"         a ULID: sorts by time, newest last
//	at           N  Unix nanoseconds
//	provider, method, route, reason, body_sha256   S
//	status, body_bytes                             N
//	headers      S  a JSON array of header names
//	claims       S  a JSON object (absent: none)
//	q_expires_at N  the kept delivery's expiry, Unix nanoseconds (absent: none kept)
//	ttl          N  at + 24 h (store.RejectionTTL), or the kept delivery's
//	                expiry if later
//
// An item is a few hundred bytes: one write unit. Spread over 16
// partitions, a flood of forged deliveries stays under one partition's
// write rate ten times longer; the event items are in other partitions
// anyway.
//
// Quarantined delivery item, one per kept delivery:
//
//	pk           "QTN#<rejection id>"
//	sk           "QTN"
//	provider, method   S
//	at, expires_at     N  Unix nanoseconds
//	body               B  (absent when empty)
//	header             S  the credential headers, a JSON object of lists
//	bytes              N  store.Quarantined.Size
//	ttl                N  expires_at in Unix seconds, rounded up
//
// Quarantine counter items bound what is kept (store.QuarantineBounds):
//
//	pk     "QTN#COUNT"
//	sk     "<window>"  the receive time divided by the quarantine's TTL
//	count, bytes  N    deliveries kept in that window
//	ttl    N           the end of the next window: by then every delivery
//	                   counted here has expired
//
// A delivery kept in window w expires before window w+2 starts, so what is
// kept at any time is counted in the current and the previous window.
// RecordQuarantined reads the previous window's counter (GetItem), then
// adds the delivery to the current one with one UpdateItem whose condition
// keeps the sum of both within the bounds (DynamoDB conditions have no
// arithmetic: the caller computes what is left), then puts the delivery
// and the rejection. A failed condition records the rejection alone
// (store.ErrQuarantineFull). Should a later write fail, the counter counts
// one delivery too many until its window ends: the bound errs on the safe
// side. Every call is one the ingest role already holds (PutItem, GetItem,
// UpdateItem on the table).
//
// DynamoDB's TTL deletes expired items late, so every read leaves out what
// is past its time. Rejections queries the 16 partitions newest first (the
// console's role: dynamodb:Query) and merges them.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/store"
)

const (
	pkRejectionPrefix  = "REJ#"
	pkQuarantinePrefix = "QTN#"
	pkQuarantineCount  = "QTN#COUNT"
	skQuarantine       = "QTN"

	attrMethod     = "method"
	attrRoute      = "route"
	attrStatusN    = "status"
	attrReason     = "reason"
	attrBodyBytes  = "body_bytes"
	attrBodySHA256 = "body_sha256"
	attrHeaders    = "headers"
	attrClaims     = "claims"
	attrQExpiresAt = "q_expires_at"
	attrHeader     = "header"
	attrBytes      = "bytes"
	attrCount      = "count"
)

// RecordRejection records r for a day (see the top of this file): one
// PutItem.
func (s *Store) RecordRejection(ctx context.Context, r store.Rejection) error {
	return s.putRejection(ctx, r, time.Time{})
}

// RecordQuarantined records r and keeps q for re-verify, within bounds
// (see the top of this file); over them it records r alone and returns
// store.ErrQuarantineFull.
func (s *Store) RecordQuarantined(ctx context.Context, r store.Rejection, q store.Quarantined, bounds store.QuarantineBounds) error {
	if err := r.Validate(); err != nil {
		return err
	}
	ttl := q.ExpiresAt.Sub(r.At)
	if ttl <= 0 || len(q.Body) == 0 && len(q.Header) == 0 {
		return fmt.Errorf("%w: a quarantined delivery needs an ExpiresAt after At and content", store.ErrInvalid)
	}
	header, err := json.Marshal(q.Header)
	if err != nil || len(header) > store.MaxQuarantineHeaderBytes {
		return fmt.Errorf("%w: quarantined header over %d bytes", store.ErrInvalid, store.MaxQuarantineHeaderBytes)
	}
	if len(q.Body) > MaxBodyBytes {
		return fmt.Errorf("%w: quarantined body", ErrTooLarge)
	}
	size := q.Size()
	window := r.At.UnixNano() / int64(ttl)
	prev, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            map[string]types.AttributeValue{attrPK: str(pkQuarantineCount), attrSK: str(strconv.FormatInt(window-1, 10))},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return unavailable("quarantine count", err)
	}
	d := decoder{item: prev.Item}
	countLeft := int64(bounds.MaxCount) - d.int(attrCount) - 1
	bytesLeft := bounds.MaxBytes - d.int(attrBytes) - size
	if d.err != nil {
		return fmt.Errorf("dynamo: quarantine count: %w", d.err)
	}
	if countLeft < 0 || bytesLeft < 0 {
		return s.full(ctx, r)
	}
	windowEnd := time.Unix(0, (window+2)*int64(ttl))
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                &s.table,
		Key:                      map[string]types.AttributeValue{attrPK: str(pkQuarantineCount), attrSK: str(strconv.FormatInt(window, 10))},
		UpdateExpression:         aws.String("ADD #count :one, #bytes :size SET #ttl = :ttl"),
		ConditionExpression:      aws.String("attribute_not_exists(#count) OR (#count <= :countLeft AND #bytes <= :bytesLeft)"),
		ExpressionAttributeNames: map[string]string{"#count": attrCount, "#bytes": attrBytes, "#ttl": attrTTL},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":size": num(size), ":ttl": num(ttlSeconds(windowEnd)),
			":countLeft": num(countLeft), ":bytesLeft": num(bytesLeft),
		},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return s.full(ctx, r)
	}
	if err != nil {
		return unavailable("quarantine count", err)
	}
	id := newRejectionID(r.At)
	item := map[string]types.AttributeValue{
		attrPK:        str(pkQuarantinePrefix + id),
		attrSK:        str(skQuarantine),
		attrProvider:  str(q.Provider),
		attrMethod:    str(q.Method),
		attrAt:        num(r.At.UnixNano()),
		attrExpiresAt: num(q.ExpiresAt.UnixNano()),
		attrHeader:    str(string(header)),
		attrBytes:     num(size),
		attrTTL:       num(ttlSeconds(q.ExpiresAt)),
	}
	if len(q.Body) > 0 {
		item[attrBody] = &types.AttributeValueMemberB{Value: q.Body}
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return unavailable("quarantine", err)
	}
	r.ID = id
	return s.putRejection(ctx, r, q.ExpiresAt)
}

// full records r alone: the quarantine is at its bounds.
func (s *Store) full(ctx context.Context, r store.Rejection) error {
	if err := s.putRejection(ctx, r, time.Time{}); err != nil {
		return err
	}
	return store.ErrQuarantineFull
}

func newRejectionID(at time.Time) string {
	return ulid.MustNew(ulid.Timestamp(at), ulid.DefaultEntropy()).String()
}

// putRejection writes r's item; qExpires is its kept delivery's expiry
// (zero: none). r.ID is the item's id when set, else a new one.
func (s *Store) putRejection(ctx context.Context, r store.Rejection, qExpires time.Time) error {
	if err := r.Validate(); err != nil {
		return err
	}
	id := r.ID
	if id == "" {
		id = newRejectionID(r.At)
	}
	headers := r.Headers
	if headers == nil {
		headers = []string{}
	}
	names, err := json.Marshal(headers)
	if err != nil {
		return fmt.Errorf("%w: headers: %w", store.ErrInvalid, err)
	}
	expires := r.At.Add(store.RejectionTTL)
	if qExpires.After(expires) {
		expires = qExpires
	}
	item := map[string]types.AttributeValue{
		attrPK:         str(rejectionPK(id)),
		attrSK:         str(id),
		attrAt:         num(r.At.UnixNano()),
		attrProvider:   str(r.Provider),
		attrMethod:     str(r.Method),
		attrRoute:      str(r.Route),
		attrStatusN:    num(int64(r.Status)),
		attrReason:     str(r.Reason),
		attrBodyBytes:  num(int64(r.BodyBytes)),
		attrBodySHA256: str(r.BodySHA256),
		attrHeaders:    str(string(names)),
		attrTTL:        num(ttlSeconds(expires)),
	}
	if len(r.Claims) > 0 {
		b, err := json.Marshal(r.Claims)
		if err != nil {
			return fmt.Errorf("%w: claims: %w", store.ErrInvalid, err)
		}
		item[attrClaims] = str(string(b))
	}
	if !qExpires.IsZero() {
		item[attrQExpiresAt] = num(qExpires.UnixNano())
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &s.table, Item: item}); err != nil {
		return unavailable("record rejection", err)
	}
	return nil
}

func rejectionPK(id string) string {
	return shardValue(strings.TrimSuffix(pkRejectionPrefix, "#"), shard(id))
}

// Rejections returns up to limit rejections not past their TTL, newest
// first: one Query per partition, newest first, in parallel.
func (s *Store) Rejections(ctx context.Context, limit int) ([]store.Rejection, error) {
	if limit < 1 || limit > store.MaxRejectionsPerPage {
		return nil, fmt.Errorf("%w: limit %d, want 1 to %d", store.ErrInvalid, limit, store.MaxRejectionsPerPage)
	}
	now := time.Now()
	var (
		mu   sync.Mutex
		all  []store.Rejection
		errs = make([]error, Shards)
		wg   sync.WaitGroup
	)
	for i := range Shards {
		wg.Go(func() {
			rs, err := s.rejectionShard(ctx, shardValue(strings.TrimSuffix(pkRejectionPrefix, "#"), i), limit, now)
			errs[i] = err
			mu.Lock()
			all = append(all, rs...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(all, func(a, b store.Rejection) int { return strings.Compare(b.ID, a.ID) })
	return all[:min(limit, len(all))], nil
}

func (s *Store) rejectionShard(ctx context.Context, pk string, limit int, now time.Time) ([]store.Rejection, error) {
	var out []store.Rejection
	in := &dynamodb.QueryInput{
		TableName:                 &s.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": str(pk)},
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(limit)),
	}
	for len(out) < limit {
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return nil, unavailable("rejections", err)
		}
		for _, item := range res.Items {
			r, expired, err := decodeRejection(item, now)
			if err != nil {
				return nil, err
			}
			if !expired && len(out) < limit {
				out = append(out, r)
			}
		}
		if res.LastEvaluatedKey == nil {
			break
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
	return out, nil
}

func decodeRejection(item map[string]types.AttributeValue, now time.Time) (r store.Rejection, expired bool, err error) {
	d := decoder{item: item}
	r = store.Rejection{
		ID:         d.str(attrSK),
		At:         d.time(attrAt),
		Provider:   d.str(attrProvider),
		Method:     d.str(attrMethod),
		Route:      d.str(attrRoute),
		Status:     int(d.int(attrStatusN)),
		Reason:     d.str(attrReason),
		BodyBytes:  int(d.int(attrBodyBytes)),
		BodySHA256: d.str(attrBodySHA256),
	}
	ttl := d.int(attrTTL)
	qexp := d.time(attrQExpiresAt)
	headers, claims := d.str(attrHeaders), d.str(attrClaims)
	if d.err != nil {
		return r, false, fmt.Errorf("dynamo: rejection %s: %w", r.ID, d.err)
	}
	if err := json.Unmarshal([]byte(headers), &r.Headers); err != nil {
		return r, false, fmt.Errorf("dynamo: rejection %s: headers: %w", r.ID, err)
	}
	if claims != "" {
		if err := json.Unmarshal([]byte(claims), &r.Claims); err != nil {
			return r, false, fmt.Errorf("dynamo: rejection %s: claims: %w", r.ID, err)
		}
	}
	if !qexp.IsZero() && qexp.After(now) {
		r.Quarantined, r.QuarantineExpiresAt = true, qexp
	}
	return r, ttl != 0 && ttl <= now.Unix(), nil
}

// Quarantined returns the delivery kept for the rejection id, or
// store.ErrNotFound when none is (or it has expired): one GetItem.
func (s *Store) Quarantined(ctx context.Context, id string) (store.Quarantined, error) {
	if _, err := ulid.ParseStrict(id); err != nil {
		return store.Quarantined{}, fmt.Errorf("%w: no quarantined delivery %q", store.ErrNotFound, id)
	}
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            map[string]types.AttributeValue{attrPK: str(pkQuarantinePrefix + id), attrSK: str(skQuarantine)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return store.Quarantined{}, unavailable("quarantined", err)
	}
	d := decoder{item: res.Item}
	q := store.Quarantined{
		ID:        id,
		Provider:  d.str(attrProvider),
		At:        d.time(attrAt),
		Method:    d.str(attrMethod),
		ExpiresAt: d.time(attrExpiresAt),
		Body:      d.bytes(attrBody, attrBody+"_gz"),
	}
	header := d.str(attrHeader)
	if d.err != nil {
		return store.Quarantined{}, fmt.Errorf("dynamo: quarantined %s: %w", id, d.err)
	}
	if res.Item == nil || !q.ExpiresAt.After(time.Now()) {
		return store.Quarantined{}, fmt.Errorf("%w: no quarantined delivery %q", store.ErrNotFound, id)
	}
	if err := json.Unmarshal([]byte(header), &q.Header); err != nil {
		return store.Quarantined{}, fmt.Errorf("dynamo: quarantined %s: header: %w", id, err)
	}
	if q.Header == nil {
		q.Header = http.Header{}
	}
	return q, nil
}
