package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/store"
)

// quarantineLog is a hand-written store.QuarantineStore and
// RejectionRecorder: it keeps what it is given, within the bounds, or
// fails with err.
type quarantineLog struct {
	mu         sync.Mutex
	rejections []store.Rejection
	kept       []store.Quarantined
	err        error
}

func (l *quarantineLog) RecordRejection(_ context.Context, r store.Rejection) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.rejections = append(l.rejections, r)
	return nil
}

func (l *quarantineLog) RecordQuarantined(_ context.Context, r store.Rejection, q store.Quarantined, b store.QuarantineBounds) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.rejections = append(l.rejections, r)
	if len(l.kept)+1 > b.MaxCount {
		return store.ErrQuarantineFull
	}
	q.ID = "q" + string(rune('0'+len(l.kept)))
	l.kept = append(l.kept, q)
	return nil
}

const (
	wrongUUID = "11111111-2222-3333-4444-555555555555" // the secret configured by mistake
	rightUUID = "7c9e6679-7425-40de-944b-e07fc1f90ae7" // the integration's UUID
)

// jbRig is a JourneyBee handler configured with wrongUUID whose clock is
// *now, quarantining into ql; VerifierAt builds the verifier of *secrets.
func jbRig(t *testing.T, now *time.Time, secrets *[]string) (*ingest.Handler, *memStore, *memQueue, *quarantineLog, *bytes.Buffer) {
	t.Helper()
	clock := func() time.Time { return *now }
	v, err := journeybee.New([]string{wrongUUID}, journeybee.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	st, q, ql, logs := newMemStore(), &memQueue{}, &quarantineLog{}, &bytes.Buffer{}
	h := &ingest.Handler{
		Provider: "journeybee", Verifier: v, Store: st, Queue: q, Now: clock,
		Log:        slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
		Rejections: ql,
		Quarantine: &ingest.Quarantine{Store: ql, TTL: 24 * time.Hour, Bounds: store.QuarantineBounds{MaxCount: 10, MaxBytes: 1 << 20},
			Headers: []string{"Authorization"}},
		VerifierAt: func(at time.Time) (ingest.Verifier, error) {
			return journeybee.New(*secrets, journeybee.WithClock(func() time.Time { return at }))
		},
	}
	return h, st, q, ql, logs
}

func jbDelivery(t *testing.T, secret string, at time.Time) (ingest.Request, string) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("..", "samples", "bodies", "journeybee", "lead_created.json"))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := journeybee.SignHeader(secret, journeybee.Claims{
		CompanyUUID: "company_12345678-1234-5678-9012-123456789abc", UserUUID: "user_8765", EventID: "lead_created",
		APIKey: "jb_api_do_not_keep", IssuedAt: at.Add(-time.Second), ExpiresAt: at.Add(time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ingest.Request{Method: http.MethodPost, Body: body, Header: http.Header{
		"Content-Type": {"application/json"}, "Authorization": {auth}, "X-Other": {"not-kept"},
	}}, auth
}

// TestQuarantineAndReverify: a delivery signed with the integration's
// UUID while the config has a wrong one is refused and kept; once the
// config is fixed, re-verify (hours later: the token has expired by then)
// checks it at its receive time and ingests it once; again is a
// duplicate; with a still-wrong config it stays rejected.
func TestQuarantineAndReverify(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	now := t0
	secrets := []string{wrongUUID}
	h, st, q, ql, logs := jbRig(t, &now, &secrets)
	req, token := jbDelivery(t, rightUUID, t0)

	resp := h.Handle(context.Background(), req)
	if resp.Status != http.StatusUnauthorized || !strings.Contains(string(resp.Body), "bad_signature") {
		t.Fatalf("wrong secret: %d %s", resp.Status, resp.Body)
	}
	if len(st.all()) != 0 || len(q.sent()) != 0 {
		t.Fatal("a refused delivery was stored or queued")
	}
	if len(ql.kept) != 1 || len(ql.rejections) != 1 {
		t.Fatalf("kept %d, rejections %d", len(ql.kept), len(ql.rejections))
	}
	kept, rej := ql.kept[0], ql.rejections[0]
	if !bytes.Equal(kept.Body, req.Body) || kept.Header.Get("Authorization") != token || len(kept.Header) != 1 ||
		!kept.At.Equal(t0) || !kept.ExpiresAt.Equal(t0.Add(24*time.Hour)) || kept.Method != http.MethodPost {
		t.Errorf("kept %+v", kept)
	}
	if rej.Claims["company_uuid"] != "company_12345678-1234-5678-9012-123456789abc" || rej.Claims["event_id"] != "lead_created" {
		t.Errorf("claims %v", rej.Claims)
	}
	if _, ok := rej.Claims["api_key"]; ok {
		t.Error("api_key claim kept")
	}

	now = t0.Add(3 * time.Hour) // the token expired two hours ago
	if got, err := h.Reverify(context.Background(), kept); err != nil || got.Status != "rejected" || got.Reason != "bad_signature" {
		t.Errorf("re-verify before the fix: %+v, %v", got, err)
	}
	secrets = []string{rightUUID, wrongUUID} // the config is fixed
	got, err := h.Reverify(context.Background(), kept)
	if err != nil || got.Status != "accepted" || got.EventID == "" {
		t.Fatalf("re-verify after the fix: %+v, %v", got, err)
	}
	evs := st.all()
	if len(evs) != 1 || evs[0].ID != got.EventID || !bytes.Equal(evs[0].Raw, req.Body) ||
		evs[0].Meta[ingest.MetaReverified] != kept.ID || !slices.Equal(q.sent(), []string{got.EventID}) {
		t.Errorf("stored %+v, queued %v", evs, q.sent())
	}
	again, err := h.Reverify(context.Background(), kept)
	if err != nil || again.Status != "duplicate" || again.EventID != got.EventID {
		t.Errorf("second re-verify: %+v, %v", again, err)
	}
	if len(q.sent()) != 1 {
		t.Errorf("queued %v, want once", q.sent())
	}
	// Without the original receive time the token is expired: the clock is
	// what makes it verify.
	late := kept
	late.At = now
	if r, err := h.Reverify(context.Background(), late); err != nil || r.Status != "rejected" || r.Reason != "expired" {
		t.Errorf("re-verify at the current time: %+v, %v", r, err)
	}
	if len(ql.rejections) != 1 {
		t.Errorf("re-verify recorded rejections: %d", len(ql.rejections))
	}
	for _, secret := range []string{token, rightUUID, wrongUUID, "jb_api_do_not_keep", "jane", `"lead"`} {
		if strings.Contains(logs.String(), secret) || strings.Contains(string(resp.Body), secret) {
			t.Errorf("a log line or the answer carries %q", secret)
		}
	}
	if _, err := h.Reverify(context.Background(), store.Quarantined{Provider: "tomba"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("another provider's delivery: %v", err)
	}
}

// Only credential refusals are quarantined; a failure to record, or a full
// quarantine, never changes the answer, and is logged without values.
func TestQuarantineNeverChangesTheAnswer(t *testing.T) {
	t0 := time.Now()
	now := t0
	secrets := []string{wrongUUID}
	h, _, _, ql, logs := jbRig(t, &now, &secrets)
	req, token := jbDelivery(t, rightUUID, t0)
	want := h.Handle(context.Background(), req)

	malformed := req
	malformed.Header = req.Header.Clone()
	malformed.Header.Set("Authorization", "Bearer not-a-jwt")
	if r := h.Handle(context.Background(), malformed); r.Status != 401 || len(ql.kept) != 1 || len(ql.rejections) != 2 {
		t.Errorf("malformed token: %d; kept %d (want only the bad signature), rejections %d", r.Status, len(ql.kept), len(ql.rejections))
	}

	h.Quarantine.Bounds.MaxCount = 1
	full := h.Handle(context.Background(), req)
	ql.err = errors.Join(store.ErrUnavailable, errors.New("dynamodb: throttled"))
	failed := h.Handle(context.Background(), req)
	for name, r := range map[string]ingest.Response{"full": full, "store failing": failed} {
		if r.Status != want.Status || !bytes.Equal(r.Body, want.Body) {
			t.Errorf("%s: %d %s, want %d %s", name, r.Status, r.Body, want.Status, want.Body)
		}
	}
	for _, line := range []string{`"msg":"quarantine_full"`, `"msg":"rejection_not_recorded"`, `"cause":"store_unavailable"`} {
		if !strings.Contains(logs.String(), line) {
			t.Errorf("no %s in the log:\n%s", line, logs)
		}
	}
	if strings.Contains(logs.String(), token) || strings.Contains(logs.String(), "throttled") {
		t.Errorf("the log carries the token or an error text:\n%s", logs)
	}
}
