package console_test

import (
	"context"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/console"
)

// TestCountsFrom: both stats answers say where their duplicate and
// rejected counts come from: this console's memory, the store once the
// flusher runs, or what Options.CountsFrom names (console --aws:
// cloudwatch).
func TestCountsFrom(t *testing.T) {
	type from struct {
		CountsFrom string `json:"counts_from"`
	}
	check := func(name string, s *setup, want string) {
		t.Helper()
		for _, path := range []string{"/api/stats?window=1h", "/api/stats/minutes?window=1h"} {
			a := s.do(t, "GET", path, "")
			if a.status != 200 {
				t.Fatalf("%s %s: %d %s", name, path, a.status, a.body)
			}
			if got := decode[from](t, a).CountsFrom; got != want {
				t.Errorf("%s %s: counts_from %q, want %q", name, path, got, want)
			}
		}
	}
	s := newSetup(t, console.Options{})
	check("serve before the flusher", s, "memory")
	ctx, cancel := context.WithCancel(t.Context())
	cancel() // RunFlusher marks the counts stored, flushes once and returns
	s.c.RunFlusher(ctx, s.st, time.Minute)
	check("serve with the flusher", s, "store")
	check("console --aws", newSetup(t, console.Options{CountsFrom: "cloudwatch"}), "cloudwatch")
}
