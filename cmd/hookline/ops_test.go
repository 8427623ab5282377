package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// sink counts deliveries per webhook-id.
type sink struct {
	mu  sync.Mutex
	ids []string
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.ids = append(s.ids, r.Header.Get("webhook-id"))
	s.mu.Unlock()
}

func (s *sink) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.ids...)
}

// localSetup stores one accepted Leadron delivery in a fresh data dir with
// an HTTP destination, delivers it once and empties the queue, as a
// finished `hookline serve` would leave it.
func localSetup(t *testing.T) (dir, id string, sk *sink, cfg *config.Config) {
	t.Helper()
	sk = &sink{}
	srv := httptest.NewServer(sk)
	t.Cleanup(srv.Close)
	doc := config.DevelopmentYAML + "  - name: crm\n    type: http\n    url: " + srv.URL +
		"\n    secret: whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")) + "\n"
	cfg, err := config.Parse(context.Background(), []byte(doc), func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	withLocal(t, dir, cfg, func(st *sqlite.Store, q *embedded.Queue, h *ingest.Handler, p *deliver.Processor) {
		body, _ := samples.Body("leadron", "lead.created")
		hdr, _ := samples.Headers("leadron", "lead.created", body, secretsOf(cfg), samples.DefaultToken(time.Now()))
		resp := h.Handle(context.Background(), ingest.Request{Method: "POST", Header: hdr, Body: body})
		if resp.Status != 200 {
			t.Fatalf("ingest: %d %s", resp.Status, resp.Body)
		}
		id = drain(t, q, p)[0]
	})
	if got := sk.got(); len(got) != 1 || got[0] != id {
		t.Fatalf("first delivery: sink saw %v, want [%s]", got, id)
	}
	return dir, id, sk, cfg
}

func withLocal(t *testing.T, dir string, cfg *config.Config, fn func(*sqlite.Store, *embedded.Queue, *ingest.Handler, *deliver.Processor)) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := embedded.New(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := wire.Handler(cfg, "leadron", st, q, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := deliver.NewProcessor(cfg, st, deliver.DefaultBuilders(log, deliver.NewHTTPClient()), log)
	if err != nil {
		t.Fatal(err)
	}
	fn(st, q, h, p)
}

// drain processes and deletes every visible message, returning the event ids.
func drain(t *testing.T, q *embedded.Queue, p *deliver.Processor) []string {
	t.Helper()
	var ids []string
	msgs, err := q.Receive(context.Background(), 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if r, err := p.Process(context.Background(), m.EventID); err != nil || !r.Done {
			t.Fatalf("process %s: %+v %v", m.EventID, r, err)
		}
		if err := q.Delete(context.Background(), m.Receipt); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.EventID)
	}
	return ids
}

func TestReplayRedeliversWithTheSameWebhookID(t *testing.T) {
	dir, id, sk, cfg := localSetup(t)
	ctx := context.Background()

	var before store.Event
	withLocal(t, dir, cfg, func(st *sqlite.Store, _ *embedded.Queue, _ *ingest.Handler, _ *deliver.Processor) {
		before, _ = st.Get(ctx, id)
	})
	if before.Status != store.StatusDelivered {
		t.Fatalf("status before replay = %s", before.Status)
	}

	var out bytes.Buffer
	if err := replay(ctx, []string{"--data", dir, "--provider", "leadron", "--dry-run"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "would replay "+id) {
		t.Fatalf("dry run printed %q", out.String())
	}
	withLocal(t, dir, cfg, func(st *sqlite.Store, q *embedded.Queue, _ *ingest.Handler, _ *deliver.Processor) {
		after, _ := st.Get(ctx, id)
		visible, inFlight, dead, _ := q.Stats(ctx)
		if after.Version != before.Version || after.Status != before.Status || visible+inFlight+dead != 0 {
			t.Fatalf("dry run changed state: version %d→%d, status %s, queue %d/%d/%d",
				before.Version, after.Version, after.Status, visible, inFlight, dead)
		}
	})

	out.Reset()
	if err := replay(ctx, []string{"--data", dir, "--id", id, "--destination", "crm"}, &out); err != nil {
		t.Fatal(err)
	}
	withLocal(t, dir, cfg, func(st *sqlite.Store, q *embedded.Queue, _ *ingest.Handler, p *deliver.Processor) {
		ev, _ := st.Get(ctx, id)
		if ev.Status != store.StatusQueued {
			t.Fatalf("status after replay = %s", ev.Status)
		}
		for _, d := range ev.Deliveries {
			if d.Destination == "crm" {
				t.Fatalf("crm's delivery state kept: %+v", d)
			}
		}
		if got := drain(t, q, p); len(got) != 1 || got[0] != id {
			t.Fatalf("replay enqueued %v", got)
		}
		if ev, _ := st.Get(ctx, id); ev.Status != store.StatusDelivered {
			t.Errorf("after the replayed delivery: %s", ev.Status)
		}
	})
	if got := sk.got(); len(got) != 2 || got[1] != id {
		t.Fatalf("sink saw %v, want two deliveries with webhook-id %s", got, id)
	}

	out.Reset()
	if err := eventsCmd(ctx, []string{"--data", dir}, &out); err != nil || !strings.Contains(out.String(), id) ||
		!strings.Contains(out.String(), "crm:delivered") {
		t.Fatalf("events: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := eventsCmd(ctx, []string{"--data", dir, "show", id}, &out); err != nil || !strings.Contains(out.String(), `"body_bytes"`) ||
		strings.Contains(out.String(), "jane@acme.com") {
		t.Fatalf("events show: %v\n%s", err, out.String())
	}
}

func TestReplayNeedsASelection(t *testing.T) {
	if err := replay(context.Background(), []string{"--data", t.TempDir()}, io.Discard); err == nil {
		t.Fatal("replay without a selection replayed everything")
	}
}

func TestRedriveLocal(t *testing.T) {
	dir, _, _, cfg := localSetup(t)
	ctx := context.Background()
	var out bytes.Buffer
	if err := redrive(ctx, []string{"--data", dir}, &out); err != nil || !strings.Contains(out.String(), "redrove 0") {
		t.Fatalf("redrive: %v %q", err, out.String())
	}
	withLocal(t, dir, cfg, func(_ *sqlite.Store, q *embedded.Queue, _ *ingest.Handler, _ *deliver.Processor) {
		if err := q.Enqueue(ctx, "01TESTDEADLETTER0000000000", "leadron.lead.created"); err != nil {
			t.Fatal(err)
		}
		for range q.MaxReceives() + 1 { // the receive past the maximum dead-letters it
			if _, err := q.Receive(ctx, 1, 0); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, dead, _ := q.Stats(ctx); dead != 1 {
			t.Fatalf("dead letters = %d", dead)
		}
	})
	out.Reset()
	if err := redrive(ctx, []string{"--data", dir}, &out); err != nil || !strings.Contains(out.String(), "redrove 1") {
		t.Fatalf("redrive: %v %q", err, out.String())
	}
}
