package sqlite

import (
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store/storetest"
)

func TestAttemptsContract(t *testing.T) {
	storetest.RunAttempts(t, func(t *testing.T) storetest.AttemptStore { return newStore(t) })
}

// The history goes with its event: Purge deletes both.
func TestPurgeDeletesAttempts(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	old := storetest.NewEvent("leadron", "evt_att_purge", now.Add(-40*24*time.Hour))
	old.ExpiresAt = now.Add(-time.Hour)
	if _, err := s.Put(ctx, old, now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAttempt(ctx, storetest.NewAttempt(old, "crm", 1, now.Add(-2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Attempts(ctx, old.ID); err != nil || len(got) != 1 {
		t.Fatalf("Attempts before purge = %v, %v", got, err)
	}
	if n, err := s.Purge(ctx, now); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if got, err := s.Attempts(ctx, old.ID); err != nil || len(got) != 0 {
		t.Fatalf("Attempts after purge = %v, %v", got, err)
	}
	// An attempt of an event that is gone is dropped, not an error.
	if err := s.RecordAttempt(ctx, storetest.NewAttempt(old, "crm", 2, now)); err != nil {
		t.Fatalf("RecordAttempt of a purged event: %v", err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM attempts`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("attempts rows = %d, %v", n, err)
	}
}
