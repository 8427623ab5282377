package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// RejectionStore keeps rejections and the quarantine (store.Rejection,
// store.Quarantined): store/sqlite and store/dynamo.
type RejectionStore interface {
	store.RejectionReader
	store.QuarantineStore
	RecordRejection(ctx context.Context, r store.Rejection) error
}

// RunRejections runs the contract suite of recent rejections and the
// quarantine. newStore must return a fresh, empty store for each call.
func RunRejections(t *testing.T, newStore func(t *testing.T) RejectionStore) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s RejectionStore)
	}{
		{"ClaimsRoundTrip", testRejectionClaims},
		{"QuarantineRoundTrip", testQuarantineRoundTrip},
		{"QuarantineCountBound", testQuarantineCount},
		{"QuarantineBytesBound", testQuarantineBytes},
		{"QuarantineExpires", testQuarantineExpires},
		{"Unknown", testQuarantineUnknown},
		{"EmptyBody", testQuarantineEmptyBody},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.fn(t, newStore(t))
		})
	}
}

// NewRejection is a bad_signature rejection of body received at at.
func NewRejection(provider string, body []byte, at time.Time) store.Rejection {
	sum := sha256.Sum256(body)
	return store.Rejection{At: at.UTC(), Provider: provider, Method: http.MethodPost, Route: "/webhooks/" + provider,
		Status: 401, Reason: "bad_signature", BodyBytes: len(body), BodySHA256: hex.EncodeToString(sum[:]),
		Headers: []string{"Content-Type", "X-Leadron-Signature"}}
}

// NewQuarantined is the kept delivery of body for ttl.
func NewQuarantined(provider string, body []byte, at time.Time, ttl time.Duration) store.Quarantined {
	return store.Quarantined{Provider: provider, At: at.UTC(), Method: http.MethodPost, Body: body,
		Header: http.Header{"X-Leadron-Signature": {"sha256=" + hex.EncodeToString(body[:min(8, len(body))])}}, ExpiresAt: at.Add(ttl).UTC()}
}

// find returns the kept rejection of body (by its SHA-256).
func find(t *testing.T, s RejectionStore, body []byte) store.Rejection {
	t.Helper()
	sum := sha256.Sum256(body)
	rs, err := s.Rejections(t.Context(), store.MaxRejectionsPerPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.BodySHA256 == hex.EncodeToString(sum[:]) {
			return r
		}
	}
	t.Fatalf("no rejection of %q among %d", body, len(rs))
	return store.Rejection{}
}

func testRejectionClaims(t *testing.T, s RejectionStore) {
	r := NewRejection("journeybee", []byte(`{"lead":{}}`), time.Now())
	r.Claims = map[string]string{"company_uuid": "company_1", "event_id": "lead_created", "exp": "1716218115"}
	if err := s.RecordRejection(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	plain := NewRejection("tomba", []byte(`{}`), time.Now())
	if err := s.RecordRejection(t.Context(), plain); err != nil {
		t.Fatal(err)
	}
	got := find(t, s, []byte(`{"lead":{}}`))
	if !maps.Equal(got.Claims, r.Claims) || got.Quarantined || got.ID == "" || got.Reason != "bad_signature" ||
		!got.At.Equal(r.At) || got.Status != 401 || len(got.Headers) != 2 {
		t.Errorf("got %+v, want %+v", got, r)
	}
	if g := find(t, s, []byte(`{}`)); g.Claims != nil {
		t.Errorf("claims %v, want none", g.Claims)
	}
	if _, err := s.Quarantined(t.Context(), got.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Quarantined of a rejection kept without its delivery: %v, want ErrNotFound", err)
	}
	bad := r
	bad.Claims = map[string]string{"company_uuid": string(bytes.Repeat([]byte("x"), store.MaxRejectionNameLen+1))}
	if err := s.RecordRejection(t.Context(), bad); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("oversized claim: %v, want ErrInvalid", err)
	}
}

var roomy = store.QuarantineBounds{MaxCount: 100, MaxBytes: 1 << 20}

func testQuarantineRoundTrip(t *testing.T, s RejectionStore) {
	body := []byte(`{"id":"evt_q1","type":"lead.created"}`)
	now := time.Now()
	q := NewQuarantined("leadron", body, now, time.Hour)
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", body, now), q, roomy); err != nil {
		t.Fatal(err)
	}
	r := find(t, s, body)
	if !r.Quarantined || !r.QuarantineExpiresAt.Equal(q.ExpiresAt) {
		t.Errorf("rejection %+v: want quarantined until %v", r, q.ExpiresAt)
	}
	got, err := s.Quarantined(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != r.ID || got.Provider != "leadron" || !got.At.Equal(q.At) || got.Method != http.MethodPost ||
		!bytes.Equal(got.Body, body) || got.Header.Get("X-Leadron-Signature") != q.Header.Get("X-Leadron-Signature") ||
		len(got.Header) != 1 || !got.ExpiresAt.Equal(q.ExpiresAt) {
		t.Errorf("Quarantined = %+v, want %+v", got, q)
	}
}

func testQuarantineCount(t *testing.T, s RejectionStore) {
	now := time.Now()
	bounds := store.QuarantineBounds{MaxCount: 2, MaxBytes: 1 << 20}
	for i, b := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		body := []byte(b)
		err := s.RecordQuarantined(t.Context(), NewRejection("leadron", body, now), NewQuarantined("leadron", body, now, time.Hour), bounds)
		if want := i >= 2; errors.Is(err, store.ErrQuarantineFull) != want || (!want && err != nil) {
			t.Fatalf("delivery %d: %v (full expected: %v)", i+1, err, want)
		}
		if r := find(t, s, body); r.Quarantined != (i < 2) {
			t.Errorf("delivery %d: quarantined %v", i+1, r.Quarantined)
		}
	}
}

func testQuarantineBytes(t *testing.T, s RejectionStore) {
	now := time.Now()
	big := bytes.Repeat([]byte("a"), 600)
	one := NewQuarantined("leadron", big, now, time.Hour)
	bounds := store.QuarantineBounds{MaxCount: 100, MaxBytes: 2*one.Size() - 1}
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", big, now), one, bounds); err != nil {
		t.Fatal(err)
	}
	other := bytes.Repeat([]byte("b"), 600)
	err := s.RecordQuarantined(t.Context(), NewRejection("leadron", other, now), NewQuarantined("leadron", other, now, time.Hour), bounds)
	if !errors.Is(err, store.ErrQuarantineFull) {
		t.Fatalf("over max_bytes: %v, want ErrQuarantineFull", err)
	}
	if r := find(t, s, other); r.Quarantined {
		t.Error("the delivery over the bytes bound was kept")
	}
	small := []byte(`{}`)
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", small, now), NewQuarantined("leadron", small, now, time.Hour), bounds); err != nil {
		t.Errorf("a small one still fits: %v", err)
	}
}

func testQuarantineExpires(t *testing.T, s RejectionStore) {
	old := time.Now().Add(-3 * time.Hour)
	bounds := store.QuarantineBounds{MaxCount: 1, MaxBytes: 1 << 20}
	body := []byte(`{"old":true}`)
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", body, old), NewQuarantined("leadron", body, old, time.Hour), bounds); err != nil {
		t.Fatal(err)
	}
	r := find(t, s, body)
	if r.Quarantined {
		t.Errorf("an expired delivery is listed as quarantined: %+v", r)
	}
	if _, err := s.Quarantined(t.Context(), r.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired delivery: %v, want ErrNotFound", err)
	}
	fresh := []byte(`{"new":true}`)
	now := time.Now()
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", fresh, now), NewQuarantined("leadron", fresh, now, time.Hour), bounds); err != nil {
		t.Errorf("an expired delivery still counts against the bound: %v", err)
	}
}

func testQuarantineUnknown(t *testing.T, s RejectionStore) {
	for _, id := range []string{"", "0", "12345", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "not an id"} {
		if _, err := s.Quarantined(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Quarantined(%q): %v, want ErrNotFound", id, err)
		}
	}
}

// An empty body refused for its signature is kept too (its header is what
// matters).
func testQuarantineEmptyBody(t *testing.T, s RejectionStore) {
	now := time.Now()
	q := NewQuarantined("leadron", []byte{}, now, time.Hour)
	q.Header = http.Header{"X-Leadron-Signature": {"sha256=00"}}
	if err := s.RecordQuarantined(t.Context(), NewRejection("leadron", nil, now), q, roomy); err != nil {
		t.Fatal(err)
	}
	r := find(t, s, nil)
	got, err := s.Quarantined(t.Context(), r.ID)
	if err != nil || len(got.Body) != 0 || got.Header.Get("X-Leadron-Signature") != "sha256=00" {
		t.Errorf("Quarantined = %+v, %v", got, err)
	}
}
