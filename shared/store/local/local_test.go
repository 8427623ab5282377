package local_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/queue"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/local"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/store/storetest"
)

func open(t *testing.T) (*local.Store, *embedded.Queue) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := embedded.New(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	ls, err := local.New(st, q)
	if err != nil {
		t.Fatal(err)
	}
	return ls, q
}

func TestPutQueued(t *testing.T) {
	ls, q := open(t)
	ctx := t.Context()
	at := time.Now().UTC()
	ev := storetest.NewEvent("leadron", "evt_local", at)
	res, err := ls.PutQueued(ctx, ev, at.Add(time.Hour))
	if err != nil || res != (store.PutResult{ID: ev.ID, Status: store.StatusQueued}) {
		t.Fatalf("PutQueued = %+v, %v", res, err)
	}
	got, err := ls.Get(ctx, ev.ID)
	if err != nil || got.Status != store.StatusQueued {
		t.Errorf("Get = %+v, %v; want queued", got, err)
	}

	// A duplicate returns the first event and enqueues nothing more.
	dup := storetest.NewEvent("leadron", "evt_local", at)
	res, err = ls.PutQueued(ctx, dup, at.Add(time.Hour))
	if err != nil || res != (store.PutResult{Duplicate: true, ID: ev.ID, Status: store.StatusQueued}) {
		t.Errorf("duplicate PutQueued = %+v, %v", res, err)
	}
	msgs, err := q.Receive(ctx, 10, time.Minute)
	if err != nil || len(msgs) != 1 || msgs[0].EventID != ev.ID || msgs[0].Type != ev.Type {
		t.Errorf("Receive = %+v, %v; want one message for %s", msgs, err, ev.ID)
	}
}

// If the enqueue fails, the event is not stored either: a retry of the
// webhook is then new, not a duplicate of an event that was never queued.
func TestPutQueuedIsAtomic(t *testing.T) {
	ls, q := open(t)
	ctx := t.Context()
	if err := ls.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`ALTER TABLE queue_messages RENAME TO queue_messages_away`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	ev := storetest.NewEvent("tomba", "tb_atomic", at)
	if _, err := ls.PutQueued(ctx, ev, at.Add(time.Hour)); !errors.Is(err, queue.ErrUnavailable) {
		t.Fatalf("PutQueued without a queue table = %v, want queue.ErrUnavailable", err)
	}
	if _, err := ls.Get(ctx, ev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}

	if err := ls.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`ALTER TABLE queue_messages_away RENAME TO queue_messages`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	retry := storetest.NewEvent("tomba", "tb_atomic", at)
	res, err := ls.PutQueued(ctx, retry, at.Add(time.Hour))
	if err != nil || res.Duplicate {
		t.Fatalf("retry = %+v, %v; want new", res, err)
	}
	if visible, _, _, err := q.Stats(ctx); err != nil || visible != 1 {
		t.Errorf("visible = %d, %v; want 1", visible, err)
	}
}

func TestNewRefusesNil(t *testing.T) {
	if _, err := local.New(nil, nil); err == nil {
		t.Error("New(nil, nil) succeeded")
	}
}

// The ingest handlers take the atomic path with this store.
var _ ingest.QueuingStore = (*local.Store)(nil)

// An event that no destination takes is stored delivered and not enqueued:
// the processor would have nothing to do but mark it delivered.
func TestPutQueuedUnrouted(t *testing.T) {
	ls, q := open(t)
	ls.Routed = func(eventType string) bool { return eventType != "leadron.lead.created" }
	ctx := t.Context()
	at := time.Now().UTC()
	ev := storetest.NewEvent("leadron", "evt_unrouted", at)
	if ev.Type != "leadron.lead.created" {
		t.Fatalf("sample type %q", ev.Type)
	}
	res, err := ls.PutQueued(ctx, ev, at.Add(time.Hour))
	if err != nil || res != (store.PutResult{ID: ev.ID, Status: store.StatusDelivered}) {
		t.Fatalf("PutQueued = %+v, %v; want new, delivered", res, err)
	}
	if got, err := ls.Get(ctx, ev.ID); err != nil || got.Status != store.StatusDelivered || len(got.Deliveries) != 0 {
		t.Errorf("Get = %+v, %v; want delivered, no deliveries", got, err)
	}
	dup := storetest.NewEvent("leadron", "evt_unrouted", at)
	if res, err := ls.PutQueued(ctx, dup, at.Add(time.Hour)); err != nil || res != (store.PutResult{Duplicate: true, ID: ev.ID, Status: store.StatusDelivered}) {
		t.Errorf("duplicate = %+v, %v", res, err)
	}
	if visible, inFlight, dead, err := q.Stats(ctx); err != nil || visible+inFlight+dead != 0 {
		t.Errorf("queue holds %d/%d/%d, %v; want nothing", visible, inFlight, dead, err)
	}
}
