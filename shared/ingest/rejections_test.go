package ingest_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
)

// rejectionLog is a hand-written RejectionRecorder.
type rejectionLog struct {
	mu   sync.Mutex
	kept []store.Rejection
}

func (l *rejectionLog) RecordRejection(_ context.Context, r store.Rejection) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.kept = append(l.kept, r)
	return nil
}

func (l *rejectionLog) all() []store.Rejection {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.kept)
}

// TestRecordsRejections: a refused delivery is kept with its route,
// status, reason, body size and hash and header names, never a header value
// or the body; accepted deliveries and our own failures are not kept.
func TestRecordsRejections(t *testing.T) {
	r := newRig(t)
	rec := &rejectionLog{}
	r.h.Rejections = rec

	forged := signed(leadBody)
	forged.Header.Set("X-Leadron-Signature", "sha256="+strings.Repeat("ab", 32))
	forged.Header.Set("X-Custom-Secret", "do-not-keep-this-value")
	if resp := r.h.Handle(context.Background(), forged); resp.Status != 401 {
		t.Fatalf("forged delivery: %d", resp.Status)
	}
	if resp := r.h.Handle(context.Background(), signed(leadBody)); resp.Status != 200 {
		t.Fatalf("genuine delivery: %d", resp.Status)
	}
	r.st.setDown(true)
	if resp := r.h.Handle(context.Background(), signed([]byte(strings.Replace(string(leadBody), "evt_01", "evt_02", 1)))); resp.Status != 503 {
		t.Fatalf("store down: %d", resp.Status)
	}
	r.st.setDown(false)
	bad := signed([]byte(`{"id":"evt_1"`))
	if resp := r.h.Handle(context.Background(), bad); resp.Status != 400 {
		t.Fatalf("malformed: %d", resp.Status)
	}

	got := rec.all()
	if len(got) != 2 {
		t.Fatalf("kept %d rejections %+v, want the forged and the malformed one", len(got), got)
	}
	f := got[0]
	sum := sha256.Sum256(leadBody)
	if f.Provider != "leadron" || f.Route != "/webhooks/leadron" || f.Method != http.MethodPost || f.Status != 401 ||
		f.Reason != "bad_signature" || f.BodyBytes != len(leadBody) || f.BodySHA256 != hex.EncodeToString(sum[:]) || f.At.IsZero() {
		t.Errorf("forged = %+v", f)
	}
	if want := []string{"Content-Type", "X-Custom-Secret", "X-Leadron-Signature"}; !slices.Equal(f.Headers, want) {
		t.Errorf("header names = %v, want %v", f.Headers, want)
	}
	if err := f.Validate(); err != nil {
		t.Errorf("kept rejection is invalid: %v", err)
	}
	for _, x := range got {
		all := strings.Join(append(x.Headers, x.Reason, x.Route, x.Method, x.BodySHA256), " ")
		for _, secret := range []string{"do-not-keep", "abab", "jane@acme.com", ldSecret} {
			if strings.Contains(all, secret) {
				t.Errorf("rejection keeps %q: %+v", secret, x)
			}
		}
	}
	if got[1].Status != 400 || got[1].Reason != "malformed_json" {
		t.Errorf("malformed = %+v", got[1])
	}
	var _ ingest.RejectionRecorder = rec
}
