package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/store"
)

// Poll streams what other processes write to the store: a new event, then
// its delivery state changing; nothing while it stays the same.
func TestPoll(t *testing.T) {
	s := newSetup(t, console.Options{})
	old := s.put(t, "tomba", "tb_before", time.Now().UTC().Add(-time.Minute))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.c.Poll(ctx, 20*time.Millisecond); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	resp, err := http.Get(s.url + "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	read := readEvents(resp.Body)
	<-read
	time.Sleep(100 * time.Millisecond) // the baseline: old is not announced

	ev := s.put(t, "leadron", "evt_polled", time.Now().UTC())
	next := func(what string) string {
		t.Helper()
		for {
			select {
			case got := <-read:
				if strings.HasPrefix(got, ":") {
					continue
				}
				return got
			case <-time.After(5 * time.Second):
				t.Fatalf("%s never came", what)
			}
		}
	}
	got := next("the new event")
	if !strings.HasPrefix(got, "event: event\n") || !strings.Contains(got, `"id":"`+ev.ID+`"`) {
		t.Fatalf("first message = %q, want the new event %s (not %s)", got, ev.ID, old.ID)
	}
	if ok, err := s.st.SaveDeliveries(t.Context(), ev.ID, 0, []store.Delivery{{Destination: "crm", Attempts: 1, LastStatusCode: 503,
		LastClass: "http_503", LastAttemptAt: time.Now()}}, store.StatusQueued); !ok || err != nil {
		t.Fatal(ok, err)
	}
	got = next("the attempt")
	if !strings.HasPrefix(got, "event: attempt\n") || !strings.Contains(got, `"event_id":"`+ev.ID+`"`) || !strings.Contains(got, `"destination":"crm"`) {
		t.Fatalf("second message = %q", got)
	}
	select {
	case got := <-read:
		t.Errorf("unchanged store, yet %q", got)
	case <-time.After(200 * time.Millisecond):
	}
}
