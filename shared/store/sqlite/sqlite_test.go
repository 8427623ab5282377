package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func newStore(t testing.TB) *Store {
	t.Helper()
	// A path with characters a plain DSN would misread.
	return open(t, filepath.Join(t.TempDir(), "events ?#%.db"))
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookline.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ev := storetest.NewEvent("leadron", "evt_reopen", time.Now().UTC())
	if _, err := s.Put(t.Context(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, path) // migrations run again: nothing to do
	got, err := s.Get(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := storetest.EqualEvents(got, ev); d != "" {
		t.Fatal(d)
	}
	res, err := s.Put(t.Context(), storetest.NewEvent("leadron", "evt_reopen", time.Now().UTC()), time.Now().Add(time.Hour))
	if err != nil || !res.Duplicate || res.ID != ev.ID {
		t.Fatalf("Put after reopen = %+v, %v; want duplicate of %s", res, err, ev.ID)
	}
	var v int
	if err := s.DB().QueryRow(`PRAGMA user_version`).Scan(&v); err != nil || v != len(migrations) {
		t.Fatalf("user_version = %d, %v; want %d", v, err, len(migrations))
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hookline.db")
	s := open(t, path)
	if _, err := s.DB().Exec(fmt.Sprintf(`PRAGMA user_version = %d`, len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s2, err := Open(path); err == nil {
		_ = s2.Close()
		t.Fatal("Open of a file from a newer build succeeded")
	}
}

func TestPragmas(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		db     *sql.DB
		pragma string
		want   string
	}{
		{s.w, "journal_mode", "wal"},
		{s.w, "synchronous", "2"}, // FULL
		{s.w, "foreign_keys", "1"},
		{s.w, "busy_timeout", "10000"},
		{s.w, "temp_store", "2"}, // MEMORY: savepoint sub-journals
		{s.r, "synchronous", "2"},
		{s.r, "foreign_keys", "1"},
		{s.r, "query_only", "1"},
	} {
		var got string
		if err := c.db.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

func TestQueryPlansUseIndexes(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		query, index string
		args         []any
	}{
		{byStatusSQL, "events_open", []any{"received", 1, 10}},
		{byProviderSQL, "events_by_provider", []any{"leadron", 0, 1, 10}},
	} {
		rows, err := s.r.Query("EXPLAIN QUERY PLAN "+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, " | ")
		if !strings.Contains(p, c.index) || strings.Contains(p, "TEMP B-TREE") {
			t.Errorf("plan for %s: %s; want %s without a sort", c.index, p, c.index)
		}
	}
}

func TestClosedIsUnavailable(t *testing.T) {
	s := newStore(t)
	ev := storetest.NewEvent("leadron", "evt_closed", time.Now().UTC())
	if _, err := s.Put(t.Context(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := t.Context()
	_, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_closed_2", time.Now().UTC()), time.Now().Add(time.Hour))
	check := func(op string, err error) {
		t.Helper()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s after Close: %v, want ErrUnavailable", op, err)
		}
	}
	check("Put", err)
	_, err = s.Get(ctx, ev.ID)
	check("Get", err)
	_, err = s.Transition(ctx, ev.ID, store.StatusReceived, store.StatusQueued)
	check("Transition", err)
	_, err = s.SaveDeliveries(ctx, ev.ID, 0, nil, store.StatusDelivered)
	check("SaveDeliveries", err)
	_, err = s.ListByStatus(ctx, store.StatusReceived, time.Now(), 10)
	check("ListByStatus", err)
	_, err = s.ListByProvider(ctx, "leadron", time.Now().Add(-time.Hour), time.Now(), 10)
	check("ListByProvider", err)
	_, err = s.Purge(ctx, time.Now())
	check("Purge", err)
}

// holdWriter keeps the writer goroutine busy until the returned release is
// called, so that writes queued meanwhile run as one group. queue starts fn
// in a goroutine and returns once its write is queued, keeping the order.
func holdWriter(t *testing.T, s *Store) (queue func(fn func()), release func()) {
	t.Helper()
	hold := make(chan struct{})
	held := make(chan error, 1)
	go func() {
		held <- s.Write(t.Context(), func(*sql.Tx) error { <-hold; return nil })
	}()
	for len(s.writes) > 0 || s.w.Stats().InUse != 1 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	queue = func(fn func()) {
		n := len(s.writes)
		wg.Go(fn)
		for len(s.writes) == n {
			time.Sleep(100 * time.Microsecond)
		}
	}
	release = func() {
		close(hold)
		wg.Wait()
		if err := <-held; err != nil {
			t.Fatal(err)
		}
	}
	return queue, release
}

// TestGroupCommit runs writes as one group: each is atomic on its own, a
// failing caller's write rolls back alone, a write whose caller has gone is
// skipped, and writes within the group see each other.
func TestGroupCommit(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.DB().Exec(`CREATE TABLE scratch (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	queue, release := holdWriter(t, s)

	at := time.Now().UTC()
	first := storetest.NewEvent("leadron", "evt_group", at)
	dup := storetest.NewEvent("leadron", "evt_group", at)
	clash := storetest.NewEvent("leadron", "evt_clash", at)
	clash.ID = first.ID
	other := storetest.NewEvent("tomba", "tb_group", at)
	canceled, cancel := context.WithCancel(ctx)

	var resFirst, resDup, resOther store.PutResult
	var errFirst, errDup, errClash, errOther, errFailing, errCanceled, errTransition error
	var changed bool
	queue(func() { resFirst, errFirst = s.Put(ctx, first, at.Add(time.Hour)) })
	queue(func() { resDup, errDup = s.Put(ctx, dup, at.Add(time.Hour)) })
	queue(func() { _, errClash = s.Put(ctx, clash, at.Add(time.Hour)) })
	queue(func() {
		errFailing = s.Write(ctx, func(tx *sql.Tx) error {
			if _, err := tx.Exec(`INSERT INTO scratch VALUES ('rolled back')`); err != nil {
				return err
			}
			return errors.New("boom")
		})
	})
	queue(func() {
		errCanceled = s.Write(canceled, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO scratch VALUES ('skipped')`)
			return err
		})
	})
	queue(func() { changed, errTransition = s.Transition(ctx, first.ID, store.StatusReceived, store.StatusQueued) })
	queue(func() { resOther, errOther = s.Put(ctx, other, at.Add(time.Hour)) })
	cancel()
	release()

	if errFirst != nil || resFirst.Duplicate || resFirst.ID != first.ID {
		t.Errorf("first = %+v, %v", resFirst, errFirst)
	}
	if errDup != nil || !resDup.Duplicate || resDup.ID != first.ID || resDup.Status != store.StatusReceived {
		t.Errorf("dup = %+v, %v; want duplicate of %s, received", resDup, errDup, first.ID)
	}
	if !errors.Is(errClash, store.ErrInvalid) {
		t.Errorf("clash = %v, want ErrInvalid", errClash)
	}
	if errFailing == nil || errors.Is(errFailing, store.ErrUnavailable) {
		t.Errorf("failing write = %v, want its own error", errFailing)
	}
	if !errors.Is(errCanceled, context.Canceled) {
		t.Errorf("canceled write = %v, want context.Canceled", errCanceled)
	}
	if errTransition != nil || !changed {
		t.Errorf("transition = %v, %v", changed, errTransition)
	}
	if errOther != nil || resOther.Duplicate {
		t.Errorf("other = %+v, %v", resOther, errOther)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM scratch`).Scan(&n); err != nil || n != 0 {
		t.Errorf("scratch rows = %d, %v; want 0", n, err)
	}
	if got, err := s.Get(ctx, first.ID); err != nil || got.Status != store.StatusQueued || got.IdempotencyKey != "evt_group" {
		t.Errorf("first stored = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, other.ID); err != nil {
		t.Errorf("other: %v", err)
	}
	// The clash claimed nothing.
	if res, err := s.Put(ctx, storetest.NewEvent("leadron", "evt_clash", at), at.Add(time.Hour)); err != nil || res.Duplicate {
		t.Errorf("Put evt_clash = %+v, %v; want new", res, err)
	}
}

// TestFailedCommitFailsGroup makes a group's COMMIT fail (a deferred foreign
// key left dangling, in a table of the test's own): no write of the group may
// report success, none is stored, and the store goes on working.
func TestFailedCommitFailsGroup(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	at := time.Now().UTC()
	if err := s.Write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`CREATE TABLE dangling_refs (event_id TEXT NOT NULL
			REFERENCES events (id) DEFERRABLE INITIALLY DEFERRED)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	dangling := func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO dangling_refs VALUES ('no-such-event')`)
		return err
	}
	for _, alone := range []bool{true, false} {
		a := storetest.NewEvent("leadron", fmt.Sprintf("evt_a_%v", alone), at)
		b := storetest.NewEvent("tomba", fmt.Sprintf("tb_b_%v", alone), at)
		var errA, errB, errD error
		if alone {
			errD = s.Write(ctx, dangling)
		} else {
			queue, release := holdWriter(t, s)
			queue(func() { _, errA = s.Put(ctx, a, at.Add(time.Hour)) })
			queue(func() { errD = s.Write(ctx, dangling) })
			queue(func() { _, errB = s.Put(ctx, b, at.Add(time.Hour)) })
			release()
			for _, c := range []struct {
				err error
				ev  store.Event
			}{{errA, a}, {errB, b}} {
				if !errors.Is(c.err, store.ErrUnavailable) {
					t.Errorf("Put %s in a failed group: %v, want ErrUnavailable", c.ev.IdempotencyKey, c.err)
				}
				if _, err := s.Get(ctx, c.ev.ID); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("Get %s: %v, want ErrNotFound", c.ev.IdempotencyKey, err)
				}
			}
		}
		if !errors.Is(errD, store.ErrUnavailable) {
			t.Errorf("alone=%v: dangling write = %v, want ErrUnavailable (commit failed)", alone, errD)
		}
		// Still working, and nothing of the group was claimed.
		for _, ev := range []store.Event{a, b} {
			if res, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil || res.Duplicate {
				t.Errorf("alone=%v: Put %s afterwards = %+v, %v; want new", alone, ev.IdempotencyKey, res, err)
			}
		}
	}
}

// TestDatabaseErrorAbortsGroup makes the event INSERT of one Put fail after
// its key claim (a trigger raises an error): that Put must leave no claim
// behind, so the whole group is rolled back and every write in it fails.
func TestDatabaseErrorAbortsGroup(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.DB().Exec(`CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.type = 'boom'
		BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END`); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	for _, alone := range []bool{true, false} {
		ok := storetest.NewEvent("leadron", fmt.Sprintf("evt_ok_%v", alone), at)
		boom := storetest.NewEvent("leadron", fmt.Sprintf("evt_boom_%v", alone), at)
		boom.Type = "boom"
		var errOK, errBoom error
		if alone {
			_, errBoom = s.Put(ctx, boom, at.Add(time.Hour))
		} else {
			queue, release := holdWriter(t, s)
			queue(func() { _, errOK = s.Put(ctx, ok, at.Add(time.Hour)) })
			queue(func() { _, errBoom = s.Put(ctx, boom, at.Add(time.Hour)) })
			release()
			if !errors.Is(errOK, store.ErrUnavailable) {
				t.Errorf("Put in an aborted group: %v, want ErrUnavailable", errOK)
			}
		}
		if !errors.Is(errBoom, store.ErrUnavailable) {
			t.Errorf("alone=%v: failing Put = %v, want ErrUnavailable", alone, errBoom)
		}
		boom.Type = "leadron.lead.created"
		for _, ev := range []store.Event{ok, boom} {
			if res, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil || res.Duplicate {
				t.Errorf("alone=%v: Put %s afterwards = %+v, %v; want new (no claim left)", alone, ev.IdempotencyKey, res, err)
			}
		}
	}
}

func TestPurge(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	old := storetest.NewEvent("leadron", "evt_old", now.Add(-40*24*time.Hour))
	old.ExpiresAt = now.Add(-10 * 24 * time.Hour)
	keep := storetest.NewEvent("leadron", "evt_keep", now.Add(-time.Hour))
	forever := storetest.NewEvent("leadron", "evt_forever", now.Add(-time.Hour))
	forever.ExpiresAt = time.Time{}
	stale := storetest.NewEvent("tomba", "sha256:stale", now.Add(-8*24*time.Hour)) // key expired, event kept
	credOld := storetest.NewEvent("journeybee", "jb:old", now.Add(-2*time.Hour))   // token expired
	credOld.Credential = store.Credential{ID: "tok-old", ExpiresAt: now.Add(-time.Hour)}
	credLive := storetest.NewEvent("journeybee", "jb:live", now.Add(-2*time.Hour))
	credLive.Credential = store.Credential{ID: "tok-live", ExpiresAt: now.Add(time.Hour)}
	for _, c := range []struct {
		ev     store.Event
		keyExp time.Time
	}{
		{old, old.ReceivedAt.Add(7 * 24 * time.Hour)},
		{keep, keep.ReceivedAt.Add(7 * 24 * time.Hour)},
		{forever, time.Time{}},
		{stale, stale.ReceivedAt.Add(7 * 24 * time.Hour)},
		{credOld, now.Add(time.Hour)},
		{credLive, now.Add(time.Hour)},
	} {
		if _, err := s.Put(ctx, c.ev, c.keyExp); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Purge(ctx, now)
	if err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	if _, err := s.Get(ctx, old.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("old event: %v, want ErrNotFound", err)
	}
	for _, ev := range []store.Event{keep, forever, stale, credOld, credLive} {
		if _, err := s.Get(ctx, ev.ID); err != nil {
			t.Errorf("%s: %v", ev.IdempotencyKey, err)
		}
	}
	for table, want := range map[string]int{"idempotency_keys": 4, "events": 5, "event_bodies": 5, "credential_claims": 1} {
		var n int
		if err := s.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil || n != want {
			t.Errorf("%s rows left = %d, %v; want %d", table, n, err, want)
		}
	}
	// The live keys still hold; the purged ones are free.
	for _, c := range []struct {
		provider, key string
		dup           bool
	}{{"leadron", "evt_keep", true}, {"leadron", "evt_forever", true}, {"leadron", "evt_old", false}, {"tomba", "sha256:stale", false}} {
		res, err := s.Put(ctx, storetest.NewEvent(c.provider, c.key, now), now.Add(time.Hour))
		if err != nil || res.Duplicate != c.dup {
			t.Errorf("Put %s = %+v, %v; want duplicate %v", c.key, res, err, c.dup)
		}
	}
}

// TestKill9LosesNothing runs Puts in a child process and kills it with
// SIGKILL mid-stream: every Put the child saw succeed must be in the file.
func TestKill9LosesNothing(t *testing.T) {
	if os.Getenv("HOOKLINE_SQLITE_KILL_CHILD") != "" {
		t.Skip("child mode")
	}
	path := filepath.Join(t.TempDir(), "kill.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.v")
	cmd.Env = append(os.Environ(), "HOOKLINE_SQLITE_KILL_CHILD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 300 {
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no deferred Close, no flush
	for sc.Scan() {        // acks printed before the kill landed count too
		if id, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked = append(acked, id)
		}
	}
	_ = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d Puts", len(acked))
	}

	s := open(t, path)
	for _, id := range acked {
		if _, err := s.Get(t.Context(), id); err != nil {
			t.Fatalf("acknowledged event %s: %v", id, err)
		}
	}
	t.Logf("%d acknowledged events all present after kill -9", len(acked))
}

// TestKillChild is the child of TestKill9LosesNothing: it Puts from 8
// goroutines until killed, printing each acknowledged id.
func TestKillChild(t *testing.T) {
	path := os.Getenv("HOOKLINE_SQLITE_KILL_CHILD")
	if path == "" {
		t.Skip("runs only as the child of TestKill9LosesNothing")
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				ev := storetest.NewEvent("leadron", fmt.Sprintf("evt_kill_%d_%d", g, i), time.Now().UTC())
				if _, err := s.Put(context.Background(), ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					return
				}
				mu.Lock()
				fmt.Fprintln(w, "ACK", ev.ID)
				_ = w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func BenchmarkPut(b *testing.B) {
	storetest.BenchPut(b, newStore(b))
}

func BenchmarkPutParallel50(b *testing.B) {
	storetest.BenchPutParallel(b, newStore(b), 50)
}

func BenchmarkIngestParallel50(b *testing.B) {
	storetest.BenchIngestParallel(b, newStore(b), 50)
}

func BenchmarkGet(b *testing.B) {
	s := newStore(b)
	ev := storetest.NewEvent("leadron", "evt_get", time.Now().UTC())
	ev.Raw = make([]byte, storetest.BenchBodySize)
	if _, err := s.Put(b.Context(), ev, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(b.Context(), ev.ID); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTransitionMaxBody moves one event with a 256 KiB body back and
// forth between two statuses: the cost of a status change must not depend on
// the body's size.
func BenchmarkTransitionMaxBody(b *testing.B) {
	s := newStore(b)
	ev := storetest.NewEvent("leadron", "evt_transition_bench", time.Now().UTC())
	ev.Raw = make([]byte, storetest.MaxBody)
	if _, err := s.Put(b.Context(), ev, time.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	from, to := store.StatusReceived, store.StatusQueued
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := s.Transition(b.Context(), ev.ID, from, to); err != nil || !ok {
			b.Fatalf("Transition = %v, %v", ok, err)
		}
		from, to = to, from
	}
}

// TestMigrationKeepsOldEvents opens a file written by the first schema (no
// version, no deliveries) and checks its events read as Version 0 with no
// delivery state, and take a SaveDeliveries.
func TestMigrationKeepsOldEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	wdsn, err := dsn(path, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", wdsn)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	for _, q := range []string{
		migrations[0],
		`PRAGMA user_version = 1`,
		fmt.Sprintf(`INSERT INTO events (id, provider, type, idempotency_key, entity_id, tenant, status, received_at)
			VALUES ('01OLD', 'leadron', 'leadron.lead.created', 'evt_old', '', '', 'queued', %d)`, at.UnixNano()),
		`INSERT INTO event_bodies (seq, raw) VALUES (last_insert_rowid(), X'7B7D')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	ev, err := s.Get(t.Context(), "01OLD")
	if err != nil || ev.Version != 0 || ev.Deliveries != nil || string(ev.Raw) != "{}" {
		t.Fatalf("old event = %+v, %v; want Version 0, no deliveries", ev, err)
	}
	ok, err := s.SaveDeliveries(t.Context(), "01OLD", 0, storetest.NewDeliveries(at, "crm"), store.StatusDelivered)
	if err != nil || !ok {
		t.Fatalf("SaveDeliveries on an old event = %v, %v", ok, err)
	}
}

// TestPutWith runs also in the put's own step of a group commit: a new event
// is stored with the given status together with also's writes; if also
// fails, neither is, and the key stays free; a duplicate does not run also.
// The other writes of the group are untouched either way.
func TestPutWith(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.DB().Exec(`CREATE TABLE scratch (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	insert := func(v string, fail error) func(tx *sql.Tx, r store.PutResult) error {
		return func(tx *sql.Tx, r store.PutResult) error {
			if _, err := tx.Exec(`INSERT INTO scratch VALUES (?)`, v+":"+string(r.Status)); err != nil {
				return err
			}
			return fail
		}
	}
	boom := errors.New("boom")
	at := time.Now().UTC()
	kept := storetest.NewEvent("leadron", "evt_with_kept", at)
	dup := storetest.NewEvent("leadron", "evt_with_kept", at)
	failed := storetest.NewEvent("leadron", "evt_with_failed", at)
	other := storetest.NewEvent("tomba", "tb_with_other", at)

	queue, release := holdWriter(t, s)
	var resKept, resDup, resOther store.PutResult
	var errKept, errDup, errFailed, errOther, errWrite error
	queue(func() {
		resKept, errKept = s.PutWith(ctx, kept, at.Add(time.Hour), store.StatusQueued, insert("kept", nil))
	})
	// A caller's write before the failed put: the group is rolled back and
	// run again without the failed put, so it runs twice and commits once.
	queue(func() {
		errWrite = s.Write(ctx, func(tx *sql.Tx) error {
			_, err := tx.Exec(`INSERT INTO scratch VALUES ('write')`)
			return err
		})
	})
	queue(func() {
		_, errFailed = s.PutWith(ctx, failed, at.Add(time.Hour), store.StatusQueued, insert("failed", boom))
	})
	queue(func() {
		resDup, errDup = s.PutWith(ctx, dup, at.Add(time.Hour), store.StatusQueued, insert("dup", nil))
	})
	queue(func() { resOther, errOther = s.Put(ctx, other, at.Add(time.Hour)) })
	release()

	if errKept != nil || resKept != (store.PutResult{ID: kept.ID, Status: store.StatusQueued}) {
		t.Errorf("kept = %+v, %v", resKept, errKept)
	}
	if !errors.Is(errFailed, boom) {
		t.Errorf("failed = %v, want also's error", errFailed)
	}
	if errDup != nil || resDup != (store.PutResult{Duplicate: true, ID: kept.ID, Status: store.StatusQueued}) {
		t.Errorf("dup = %+v, %v; want duplicate of %s, queued", resDup, errDup, kept.ID)
	}
	if errOther != nil || resOther.Duplicate {
		t.Errorf("other = %+v, %v", resOther, errOther)
	}
	if errWrite != nil {
		t.Errorf("write = %v", errWrite)
	}
	if got := scratch(t, s); fmt.Sprint(got) != "[kept:queued write]" {
		t.Errorf("scratch = %v, want kept's and the write's rows, once each", got)
	}
	if got, err := s.Get(ctx, kept.ID); err != nil || got.Status != store.StatusQueued {
		t.Errorf("kept stored = %+v, %v", got, err)
	}
	if _, err := s.Get(ctx, failed.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("failed stored: Get = %v, want ErrNotFound", err)
	}
	if got, err := s.Get(ctx, other.ID); err != nil || got.Status != store.StatusReceived {
		t.Errorf("other stored = %+v, %v", got, err)
	}
	// The failed put claimed nothing: its key is free.
	again := storetest.NewEvent("leadron", "evt_with_failed", at)
	if res, err := s.Put(ctx, again, at.Add(time.Hour)); err != nil || res.Duplicate {
		t.Errorf("Put evt_with_failed again = %+v, %v; want new", res, err)
	}
}

// TestPutWithAloneRollsBack: a PutWith alone in its group (no savepoint)
// whose also fails stores nothing either, and an existing id is refused
// without running also.
func TestPutWithAloneRollsBack(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if _, err := s.DB().Exec(`CREATE TABLE scratch (v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	ev := storetest.NewEvent("leadron", "evt_alone", at)
	boom := errors.New("boom")
	_, err := s.PutWith(ctx, ev, at.Add(time.Hour), store.StatusQueued, func(tx *sql.Tx, r store.PutResult) error {
		if _, err := tx.Exec(`INSERT INTO scratch VALUES ('alone')`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("PutWith = %v, want also's error", err)
	}
	if _, err := s.Get(ctx, ev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	if got := scratch(t, s); len(got) != 0 {
		t.Errorf("scratch = %v, want empty", got)
	}

	if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	clash := storetest.NewEvent("leadron", "evt_alone_clash", at)
	clash.ID = ev.ID
	called := false
	_, err = s.PutWith(ctx, clash, at.Add(time.Hour), store.StatusQueued, func(*sql.Tx, store.PutResult) error {
		called = true
		return nil
	})
	if !errors.Is(err, store.ErrInvalid) || called {
		t.Errorf("PutWith of an existing id = %v (also called: %v), want ErrInvalid without also", err, called)
	}
}

func TestPutWithValidates(t *testing.T) {
	s := newStore(t)
	ev := storetest.NewEvent("leadron", "evt_validate", time.Now().UTC())
	nop := func(*sql.Tx, store.PutResult) error { return nil }
	if _, err := s.PutWith(t.Context(), ev, time.Time{}, "bogus", nop); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad status: %v, want ErrInvalid", err)
	}
	if _, err := s.PutWith(t.Context(), ev, time.Time{}, store.StatusQueued, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("nil also: %v, want ErrInvalid", err)
	}
	if _, err := s.Get(t.Context(), ev.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
}

func scratch(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT v FROM scratch ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCheckpointsOffCommitPath: the writer connection never checkpoints
// (wal_autocheckpoint=0); the checkpointer does, after commits.
func TestCheckpointsOffCommitPath(t *testing.T) {
	s := newStore(t)
	var auto int
	if err := s.w.QueryRow(`PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer's wal_autocheckpoint = %d, %v; want 0", auto, err)
	}
	at := time.Now().UTC()
	for i := range 20 {
		if _, err := s.Put(t.Context(), storetest.NewEvent("leadron", fmt.Sprintf("evt_ckpt_%d", i), at), at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.ckpt.passive.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint within 10 s of the writes")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestWALBoundedUnderSustainedLoad writes without pause (many writers, big
// bodies, readers alongside) far more than restartFrames pages: the WAL
// file must stay bounded, because PASSIVE checkpoints never catch up with a
// writer that never pauses and the checkpointer then restarts the WAL.
func TestWALBoundedUnderSustainedLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained load")
	}
	every, frames := checkpointEvery, restartFrames
	checkpointEvery, restartFrames = 5*time.Millisecond, 256 // 1 MiB
	t.Cleanup(func() { checkpointEvery, restartFrames = every, frames })

	path := filepath.Join(t.TempDir(), "wal.db")
	s := open(t, path)
	ctx := t.Context()
	at := time.Now().UTC()
	body := []byte(`{"pad":"` + strings.Repeat("x", 8000) + `"}`)
	const writers, each = 16, 150 // 2,400 events of 8 KB: about 20 MiB of pages
	var maxWAL atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > maxWAL.Load() {
				maxWAL.Store(fi.Size())
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				ev := storetest.NewEvent("leadron", fmt.Sprintf("evt_wal_%d_%d", w, i), at)
				ev.Raw = body
				if _, err := s.Put(ctx, ev, at.Add(time.Hour)); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.Get(ctx, ev.ID); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	const bound = 16 << 20
	t.Logf("largest WAL %.1f MiB; %d passive, %d restart checkpoints; largest WAL a checkpoint saw %d pages",
		float64(maxWAL.Load())/(1<<20), s.ckpt.passive.Load(), s.ckpt.restart.Load(), s.ckpt.maxFrames.Load())
	if maxWAL.Load() > bound {
		t.Errorf("WAL grew to %d bytes under sustained writes, want at most %d", maxWAL.Load(), bound)
	}
}

// TestMigration4KeepsClaims opens a file of schema 3 (keys with a foreign
// key to their event): its claims still hold after migration 4, and the
// table has no index on event_id and no foreign key any more.
func TestMigration4KeepsClaims(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v3.db")
	wdsn, err := dsn(path, false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", wdsn)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC()
	for _, q := range []string{
		migrations[0], migrations[1], migrations[2],
		`PRAGMA user_version = 3`,
		fmt.Sprintf(`INSERT INTO events (id, provider, type, idempotency_key, entity_id, tenant, status, received_at)
			VALUES ('01V3', 'leadron', 'leadron.lead.created', 'evt_v3', '', '', 'queued', %d)`, at.UnixNano()),
		`INSERT INTO event_bodies (seq, raw) VALUES (last_insert_rowid(), X'7B7D')`,
		fmt.Sprintf(`INSERT INTO idempotency_keys VALUES ('leadron', 'evt_v3', '01V3', %d)`, at.Add(time.Hour).UnixNano()),
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s := open(t, path)
	res, err := s.Put(t.Context(), storetest.NewEvent("leadron", "evt_v3", at), at.Add(time.Hour))
	if err != nil || !res.Duplicate || res.ID != "01V3" || res.Status != store.StatusQueued {
		t.Fatalf("Put of the v3 key = %+v, %v; want a duplicate of 01V3 (queued)", res, err)
	}
	var n int
	if err := s.DB().QueryRow(`SELECT (SELECT count(*) FROM pragma_index_list('idempotency_keys') WHERE name = 'idempotency_keys_event')
		+ (SELECT count(*) FROM pragma_foreign_key_list('idempotency_keys'))`).Scan(&n); err != nil || n != 0 {
		t.Errorf("idempotency_keys: event index + foreign keys = %d, %v; want 0", n, err)
	}
	if err := s.DB().QueryRow(`SELECT count(*) FROM pragma_index_list('idempotency_keys') WHERE name = 'idempotency_keys_expiry'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("idempotency_keys_expiry: %d, %v; want the index", n, err)
	}
}

// TestClaimOfAPurgedEventIsTakenOver: a key that outlives its event (purged
// by its own ExpiresAt before the key expired) does not hold: the next event
// with that key is new, and its key is claimed for it.
func TestClaimOfAPurgedEventIsTakenOver(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Now().UTC()
	gone := storetest.NewEvent("leadron", "evt_outlived", now.Add(-2*time.Hour))
	gone.ExpiresAt = now.Add(-time.Hour)
	if _, err := s.Put(ctx, gone, now.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx, now); err != nil || n != 1 {
		t.Fatalf("Purge = %d, %v; want 1", n, err)
	}
	again := storetest.NewEvent("leadron", "evt_outlived", now)
	res, err := s.Put(ctx, again, now.Add(24*time.Hour))
	if err != nil || res.Duplicate || res.ID != again.ID {
		t.Fatalf("Put after the purge = %+v, %v; want new %s", res, err, again.ID)
	}
	res, err = s.Put(ctx, storetest.NewEvent("leadron", "evt_outlived", now), now.Add(24*time.Hour))
	if err != nil || !res.Duplicate || res.ID != again.ID {
		t.Fatalf("Put once more = %+v, %v; want a duplicate of %s", res, err, again.ID)
	}
}
