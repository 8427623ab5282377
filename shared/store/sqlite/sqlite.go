// Package sqlite is the event store of the embedded mode (hookline serve): one
// SQLite file, pure Go (modernc.org/sqlite, no cgo), with the semantics of
// package store, checked by store/storetest.
//
// # Durability
//
// The file runs in WAL mode with synchronous=FULL: a write returns only after
// its commit reached the disk (the WAL is fsynced), so a 2xx sent after Put
// survives a kill -9 or a power cut right after.
//
// # Group commit
//
// Every write (Put, Transition, SaveDeliveries, and the caller's own through
// Write) goes to one writer goroutine. It takes every write waiting at that
// moment (up to 256; under load it waits up to 500 µs for more, see
// writer), runs them in one transaction, and commits once: one fsync for
// the whole group. Each caller is answered only after that commit, so the
// durability guarantee is per write, exactly as with one transaction per
// write. A caller's write (Write) runs in its own savepoint: if it fails, it
// rolls back to it without touching the others. The store's own writes
// (Put, PutWith, Transition, SaveDeliveries, RecordAttempt) run without one:
// they refuse before writing anything, and a PutWith whose also fails after
// the insert has the group rolled back and run again without it. A failed
// commit fails them all. Alone, a
// write pays one fsync; under concurrency, the fsync is shared, which is what
// lets the serve path accept thousands of deliveries per second on a disk
// whose fsync takes a fraction of a millisecond.
//
// If a caller's context ends while its write waits, the write is skipped; if
// it ends after the write ran but before the commit, the write still commits
// (the caller got an error: a provider retry is then a duplicate, which is
// what the no-loss rule expects).
//
// # Schema
//
//	idempotency_keys(provider, idem_key) → event_id, expires_at
//	    a claim; re-claimed by an upsert when expires_at < the new event's
//	    receive time or its event is gone. Index: expires_at, for Purge.
//	    (Until migration 4, event_id referenced events(id), deferred, with
//	    ON DELETE CASCADE and an index on event_id: an index entry and a
//	    foreign-key check per event that only Purge's deletes used.)
//	events(seq) → id (unique) and every small Event field; times as Unix
//	    nanoseconds, zero as NULL. Indexes: (status, received_at, id) for
//	    the open statuses only (delivered is not indexed), (provider,
//	    received_at, id), and expires_at for Purge.
//	    Migration 2 adds version (the optimistic lock, 0 for a new event)
//	    and deliveries (store.MarshalDeliveries JSON, NULL when none): small,
//	    so they live in the events row that every status change rewrites.
//	credential_claims(provider, cred_id) → idem_key, event_id, expires_at
//	    (migration 3) a credential's binding to the key it first came
//	    with (store.Credential); checked before the key claim and written
//	    with a new event, in the same transaction. Purge deletes expired ones.
//	event_bodies(seq) → raw, meta (a JSON object), normalized: apart, so
//	    that a status change rewrites a small row, not a 256 KiB one
//	    (SQLite rewrites a whole row, overflow pages included, when its
//	    size changes). Deleted with its event (cascade).
//
// Migrations are numbered by PRAGMA user_version and applied by Open.
//
// # Checkpoints
//
// The writer connection runs with wal_autocheckpoint=0: SQLite's automatic
// checkpoint would otherwise run inside the COMMIT that crosses 1000 WAL
// pages, on the writer goroutine, with every caller of that group (and every
// write queued behind it) waiting for it. Instead:
//
//   - a checkpointer goroutine on its own connection runs a PASSIVE
//     checkpoint after commits, at most every checkpointEvery (100 ms): it
//     copies the WAL's committed pages into the database file beside the
//     writer, without taking a lock the writer or a reader waits for. When
//     it caught up with the whole WAL (the writer paused), the writer's next
//     transaction starts the WAL over from its beginning;
//   - under sustained load the writer commits again before a PASSIVE
//     checkpoint catches up, so the WAL would only grow. When a PASSIVE
//     checkpoint finds restartFrames pages or more (64 MiB of 4 KiB pages),
//     the writer goroutine runs a RESTART checkpoint between two groups: it
//     copies the little PASSIVE had not, and the next transaction starts the
//     WAL over; journal_size_limit trims the file. So the WAL stays near
//     restartFrames pages whatever the load, and the commit path pays for a
//     checkpoint only once per restartFrames pages, and only for its tail.
//
// Durability does not change: a commit is durable once its WAL frames are
// fsynced (synchronous=FULL), checkpointed or not; recovery replays the WAL.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/hookline/hookline/shared/store"
)

// Store is the SQLite event store. It is safe for concurrent use.
type Store struct {
	w *sql.DB // one connection: every write, serialized by the writer goroutine
	r *sql.DB // read-only connections for Get and the lists
	c *sql.DB // one connection: the checkpointer's

	exists, claim, dupOf, insert, insertBody, transition, saveDeliveries *sql.Stmt // on w
	credOf, credClaim, recordAttempt                                     *sql.Stmt // on w
	savepoint, release, rollbackTo                                       *sql.Stmt // on w
	get, byStatus, byProvider                                            *sql.Stmt // on r

	ckpt *checkpointer // WAL checkpoints, off the writer's commit path

	writes chan *write
	mu     sync.RWMutex // guards closed against sends on writes
	closed bool
	done   chan struct{} // closed when the writer goroutine has ended
}

// A write is one unit of work for the writer goroutine.
type write struct {
	ctx context.Context
	fn  func(tx *groupTx) error
	// own marks the store's own writes (Put, Transition): they refuse a call
	// before writing anything, so they need no savepoint, and a database
	// error in one of them aborts the whole group. A caller's write (Write)
	// runs in a savepoint and fails alone.
	own  bool
	done chan error // buffered: the writer never blocks on an abandoned caller
}

// maxGroup bounds how many writes share one commit.
const maxGroup = 256

// migrations are applied in order; PRAGMA user_version counts those applied.
// Never edit one that has shipped: append.
var migrations = []string{
	`CREATE TABLE events (
		seq             INTEGER PRIMARY KEY,
		id              TEXT    NOT NULL UNIQUE,
		provider        TEXT    NOT NULL,
		type            TEXT    NOT NULL,
		idempotency_key TEXT    NOT NULL,
		entity_id       TEXT    NOT NULL,
		tenant          TEXT    NOT NULL,
		status          TEXT    NOT NULL,
		received_at     INTEGER NOT NULL,
		occurred_at     INTEGER,
		updated_at      INTEGER,
		expires_at      INTEGER
	);
	CREATE INDEX events_open ON events (status, received_at, id) WHERE status <> 'delivered';
	CREATE INDEX events_by_provider ON events (provider, received_at, id);
	CREATE INDEX events_expiry ON events (expires_at) WHERE expires_at IS NOT NULL;
	CREATE TABLE event_bodies (
		seq        INTEGER PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE,
		raw        BLOB,
		meta       TEXT,
		normalized BLOB
	);
	CREATE TABLE idempotency_keys (
		provider   TEXT    NOT NULL,
		idem_key   TEXT    NOT NULL,
		event_id   TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (provider, idem_key)
	) WITHOUT ROWID;
	CREATE INDEX idempotency_keys_event ON idempotency_keys (event_id);
	CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`,
	`ALTER TABLE events ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE events ADD COLUMN deliveries TEXT;`,
	`CREATE TABLE credential_claims (
		provider   TEXT    NOT NULL,
		cred_id    TEXT    NOT NULL,
		idem_key   TEXT    NOT NULL,
		event_id   TEXT    NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (provider, cred_id)
	) WITHOUT ROWID;
	CREATE INDEX credential_claims_expiry ON credential_claims (expires_at);`,
	// 4: idempotency_keys without its foreign key to events(id) and without
	// the index on event_id that the key's ON DELETE CASCADE needed: one
	// index entry (and one deferred foreign-key check) less per event. A
	// claim whose event was purged is taken over by the next claim of its
	// key (claimSQL), and leaves the file at its own expiry (Purge).
	`CREATE TABLE idempotency_keys_4 (
		provider   TEXT    NOT NULL,
		idem_key   TEXT    NOT NULL,
		event_id   TEXT    NOT NULL,
		expires_at INTEGER NOT NULL,
		PRIMARY KEY (provider, idem_key)
	) WITHOUT ROWID;
	INSERT INTO idempotency_keys_4 (provider, idem_key, event_id, expires_at)
		SELECT provider, idem_key, event_id, expires_at FROM idempotency_keys;
	DROP TABLE idempotency_keys;
	ALTER TABLE idempotency_keys_4 RENAME TO idempotency_keys;
	CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`,
}

const eventColumns = `e.id, e.provider, e.type, e.idempotency_key, e.entity_id, e.tenant, e.status,
	e.received_at, e.occurred_at, e.updated_at, e.expires_at, b.raw, b.meta, b.normalized,
	e.version, e.deliveries`

// The statements. claimSQL claims the key (?1, ?2) for the event ?3 unless
// an event ?3 exists already; ?5 is the new event's receive time: an existing
// claim is taken over only if it expired before it, or if its event is gone
// (purged: migration 4 dropped the cascade that deleted its keys). No row back: the key is
// claimed (dupOfSQL names by whom) or the id is taken. One row changed: the
// key is ?3's. (No RETURNING: SQLite would buffer its row in an ephemeral
// table, and database/sql would watch the Rows with a goroutine, per event.)
const (
	claimSQL = `INSERT INTO idempotency_keys (provider, idem_key, event_id, expires_at)
		SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = ?3)
		ON CONFLICT (provider, idem_key) DO UPDATE
			SET event_id = excluded.event_id, expires_at = excluded.expires_at
			WHERE idempotency_keys.expires_at < ?5
				OR NOT EXISTS (SELECT 1 FROM events WHERE id = idempotency_keys.event_id)`
	dupOfSQL = `SELECT k.event_id, e.status FROM idempotency_keys k
		LEFT JOIN events e ON e.id = k.event_id
		WHERE k.provider = ?1 AND k.idem_key = ?2`
	insertSQL = `INSERT INTO events (id, provider, type, idempotency_key, entity_id, tenant,
		status, received_at, occurred_at, updated_at, expires_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`
	// Right after insertSQL on the same connection: last_insert_rowid() is
	// the new event's seq (idempotency_keys has no rowid, so the claim does
	// not change it).
	insertBodySQL = `INSERT INTO event_bodies (seq, raw, meta, normalized)
		VALUES (last_insert_rowid(), ?1, ?2, ?3)`
	existsSQL = `SELECT EXISTS (SELECT 1 FROM events WHERE id = ?1)`
	// credOfSQL reads a credential's binding; credClaimSQL binds it (again).
	credOfSQL    = `SELECT idem_key, expires_at FROM credential_claims WHERE provider = ?1 AND cred_id = ?2`
	credClaimSQL = `INSERT INTO credential_claims (provider, cred_id, idem_key, event_id, expires_at)
		VALUES (?1, ?2, ?3, ?4, ?5)
		ON CONFLICT (provider, cred_id) DO UPDATE
			SET idem_key = excluded.idem_key, event_id = excluded.event_id, expires_at = excluded.expires_at`
	transitionSQL = `UPDATE events SET status = ?3, updated_at = ?4, version = version + 1
		WHERE id = ?1 AND status = ?2`
	// ?4 NULL keeps the status.
	saveDeliveriesSQL = `UPDATE events SET deliveries = ?3, status = COALESCE(?4, status),
		updated_at = ?5, version = version + 1 WHERE id = ?1 AND version = ?2`
	getSQL = `SELECT ` + eventColumns + ` FROM events e JOIN event_bodies b USING (seq) WHERE e.id = ?1`
	// The literal status term lets SQLite use the partial index events_open.
	byStatusSQL = `SELECT ` + eventColumns + ` FROM events e JOIN event_bodies b USING (seq)
		WHERE e.status = ?1 AND e.status <> 'delivered' AND e.received_at < ?2
		ORDER BY e.received_at, e.id LIMIT ?3`
	byProviderSQL = `SELECT ` + eventColumns + ` FROM events e JOIN event_bodies b USING (seq)
		WHERE e.provider = ?1 AND e.received_at >= ?2 AND e.received_at < ?3
		ORDER BY e.received_at, e.id LIMIT ?4`
)

// dsn returns the connection string for path: a file: URI (so any character
// in the path is safe) with the pragmas every connection needs. SQLite
// applies them per connection, so they live in the DSN, not in one Exec.
func dsn(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "1")
	q.Set("_synchronous", "FULL")
	if readOnly {
		q.Set("_query_only", "1")
	} else {
		q.Set("_journal_mode", "WAL")
		// Checkpoints leave the WAL file at most this big.
		q.Add("_pragma", "journal_size_limit(67108864)")
		// No checkpoint inside a COMMIT: the checkpointer runs them on its
		// own connection (see Checkpoints).
		q.Add("_pragma", "wal_autocheckpoint(0)")
		// Take the write lock at BEGIN: a transaction never has to upgrade.
		q.Set("_txlock", "immediate")
		// Savepoint sub-journals and statement journals in memory: they only
		// serve rollbacks inside the open transaction (never recovery), and
		// every savepoint of a group commit would otherwise write each page
		// it touches to a temporary file, on the writer goroutine.
		q.Add("_pragma", "temp_store(memory)")
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}
	return u.String(), nil
}

// Open opens the store in the file at path (its directory must exist),
// creating the file and its schema if needed (migrations are idempotent),
// and starts the writer. Close it when done.
func Open(path string) (*Store, error) {
	wdsn, err := dsn(path, false)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	rdsn, err := dsn(path, true)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	s := &Store{writes: make(chan *write, maxGroup), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			s.closeDBs()
		}
	}()

	if s.w, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, unavailable("open", err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := migrate(s.w); err != nil {
		return nil, err
	}
	if err := openConsole(s.w); err != nil {
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", rdsn); err != nil {
		return nil, unavailable("open", err)
	}
	s.r.SetMaxOpenConns(4)
	s.r.SetMaxIdleConns(4)
	s.r.SetConnMaxIdleTime(0)
	if s.c, err = sql.Open("sqlite", wdsn); err != nil {
		return nil, unavailable("open", err)
	}
	s.c.SetMaxOpenConns(1)
	s.c.SetMaxIdleConns(1)
	s.c.SetConnMaxLifetime(0)
	s.c.SetConnMaxIdleTime(0)

	for _, p := range []struct {
		db  *sql.DB
		dst **sql.Stmt
		sql string
	}{
		{s.w, &s.exists, existsSQL},
		{s.w, &s.claim, claimSQL},
		{s.w, &s.dupOf, dupOfSQL},
		{s.w, &s.insert, insertSQL},
		{s.w, &s.insertBody, insertBodySQL},
		{s.w, &s.transition, transitionSQL},
		{s.w, &s.saveDeliveries, saveDeliveriesSQL},
		{s.w, &s.credOf, credOfSQL},
		{s.w, &s.credClaim, credClaimSQL},
		{s.w, &s.recordAttempt, recordAttemptSQL},
		{s.w, &s.savepoint, `SAVEPOINT w`},
		{s.w, &s.release, `RELEASE w`},
		{s.w, &s.rollbackTo, `ROLLBACK TO w`},
		{s.r, &s.get, getSQL},
		{s.r, &s.byStatus, byStatusSQL},
		{s.r, &s.byProvider, byProviderSQL},
	} {
		if *p.dst, err = p.db.Prepare(p.sql); err != nil {
			return nil, unavailable("prepare", err)
		}
	}
	ok = true
	s.ckpt = newCheckpointer(s.c)
	go s.writer()
	return s, nil
}

// migrate applies the migrations the file has not seen yet, each with its
// user_version bump in one transaction.
func migrate(db *sql.DB) error {
	ctx := context.Background()
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return unavailable("migrate", err)
		}
		var v int
		if err := tx.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			_ = tx.Rollback()
			return unavailable("migrate", err)
		}
		if v > len(migrations) {
			_ = tx.Rollback()
			return fmt.Errorf("sqlite: the file's schema version %d is newer than this build's %d", v, len(migrations))
		}
		if v == len(migrations) {
			return tx.Rollback()
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("sqlite: migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			_ = tx.Rollback()
			return unavailable("migrate", err)
		}
		if err := tx.Commit(); err != nil {
			return unavailable("migrate", err)
		}
	}
}

// DB returns the write pool: the one connection to the store's file that
// the writer goroutine also uses (WAL, synchronous=FULL, foreign keys on). An
// embedded queue keeping its tables in the same file can use it; its writes
// then queue behind the store's instead of meeting SQLITE_BUSY. Keep each
// use short: while it holds the connection, every write of the store waits.
// Writes that should share the store's group commit (one fsync for many)
// go through Write instead.
func (s *Store) DB() *sql.DB { return s.w }

// Write runs fn inside the next group commit, in its own savepoint, and
// returns nil once that commit is durable, or fn's own error after rolling
// fn's work back. If the commit itself fails, every write of the group gets
// an error wrapping store.ErrUnavailable. fn runs on the writer goroutine: it
// must be short, use only tx, and never call the Store or DB (the writer
// holds the one connection: that would deadlock). fn may run more than once:
// if a PutWith of its group fails after writing, the group is rolled back
// and run again without it, so fn must set its results afresh on each run.
func (s *Store) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.write(ctx, func(tx *groupTx) error { return fn(tx.Tx) }, false)
}

// groupTx is the transaction of one group, with the store's statements
// bound to it once per group rather than once per write.
type groupTx struct {
	*sql.Tx
	stmts map[*sql.Stmt]*sql.Stmt
}

func (t *groupTx) stmt(s *sql.Stmt) *sql.Stmt {
	ts, ok := t.stmts[s]
	if !ok {
		ts = t.Tx.Stmt(s)
		t.stmts[s] = ts
	}
	return ts
}

func (s *Store) write(ctx context.Context, fn func(tx *groupTx) error, own bool) error {
	w := &write{ctx: ctx, fn: fn, own: own, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return unavailable("write", errClosed)
	}
	select {
	case s.writes <- w:
	case <-ctx.Done():
		s.mu.RUnlock()
		return unavailable("write", ctx.Err())
	}
	s.mu.RUnlock()
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		return unavailable("write", ctx.Err())
	}
}

var errClosed = errors.New("store closed")

// writer runs groups of writes until the channel is closed.
//
// Under load it gathers: a group that found fewer than gatherMin writes
// waiting, right after a commit that carried more than one, waits up to
// gatherWait for more before it commits. A commit's cost hardly depends on
// how many writes it carries (every b-tree it touches writes at least one
// page to the WAL, then the checkpoint copies it, and every commit pays an
// fsync), while the writes of a busy server arrive a few at a time: without
// the wait, serve committed about 6 writes per commit at 50 concurrent
// deliveries. A lone write (the previous group had one) never waits.
func (s *Store) writer() {
	defer close(s.done)
	group := make([]*write, 0, maxGroup)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	busy := false
	for w := range s.writes {
		group = append(group[:0], w)
		open := s.drain(&group)
		if open && busy && len(group) < gatherMin {
			timer.Reset(gatherWait)
		gather:
			for len(group) < gatherMin {
				select {
				case w, ok := <-s.writes:
					if !ok {
						break gather
					}
					group = append(group, w)
				case <-timer.C:
					break gather
				}
			}
			timer.Stop()
			s.drain(&group)
		}
		busy = len(group) > 1
		s.commit(group)
		s.ckpt.restartIfLarge(s.w)
	}
}

// Gathering (see writer).
const (
	gatherMin  = 32
	gatherWait = 500 * time.Microsecond
)

// drain adds the writes waiting now to group, up to maxGroup. It returns
// false if the channel is closed.
func (s *Store) drain(group *[]*write) bool {
	for len(*group) < maxGroup {
		select {
		case w, ok := <-s.writes:
			if !ok {
				return false
			}
			*group = append(*group, w)
		default:
			return true
		}
	}
	return true
}

// commit runs one group in one transaction and answers every write after
// the commit. If an own write must be undone after it wrote (an undo error:
// PutWith's also failed), the transaction is rolled back, that write gets
// its error, and the rest of the group runs again in a new transaction.
func (s *Store) commit(group []*write) {
	for len(group) > 0 {
		group = s.commitOnce(group)
	}
}

// undoError marks the failure of an own write that wrote before it failed:
// commitOnce rolls the group back and runs the others again without it.
type undoError struct{ err error }

func (e undoError) Error() string { return e.err.Error() }

// commitOnce runs group in one transaction and answers every write, or, if
// an own write failed with an undoError, answers that one, rolls back, and
// returns the others to run again.
func (s *Store) commitOnce(group []*write) (again []*write) {
	errs := make([]error, len(group))
	answer := func(all error) []*write {
		for i, w := range group {
			if errs[i] == nil {
				errs[i] = all
			}
			w.done <- errs[i]
		}
		return nil
	}
	sqlTx, err := s.w.BeginTx(context.Background(), nil)
	if err != nil {
		return answer(unavailable("begin", err))
	}
	tx := &groupTx{Tx: sqlTx, stmts: make(map[*sql.Stmt]*sql.Stmt, 4)}
	// A lone write needs no savepoint: its failure rolls back the transaction.
	alone := len(group) == 1
	pending := 0
	for i, w := range group {
		if err := w.ctx.Err(); err != nil {
			errs[i] = unavailable("write", err) // the caller is gone: skip
			continue
		}
		savepoint := !w.own && !alone
		if savepoint {
			if _, err := tx.stmt(s.savepoint).Exec(); err != nil {
				_ = tx.Rollback()
				return answer(unavailable("savepoint", err))
			}
		}
		err := w.fn(tx)
		var undo undoError
		switch {
		case err == nil && savepoint:
			if _, err := tx.stmt(s.release).Exec(); err != nil {
				_ = tx.Rollback()
				return answer(unavailable("release", err))
			}
		case err == nil:
		case errors.As(err, &undo):
			_ = tx.Rollback()
			w.done <- undo.err
			return slices.Delete(slices.Clone(group), i, i+1)
		case alone:
			errs[i] = err
			_ = tx.Rollback()
			return answer(nil)
		case savepoint:
			errs[i] = err
			// If the error rolled the whole transaction back (SQLite does so
			// on some I/O errors), ROLLBACK TO fails: then nothing of the
			// group may commit.
			if rerr := s.rollbackToSavepoint(tx); rerr != nil {
				_ = tx.Rollback()
				return answer(unavailable("rollback", rerr))
			}
		case errors.Is(err, store.ErrUnavailable):
			// The store's own write failed in the database, maybe halfway:
			// nothing of the group may commit.
			_ = tx.Rollback()
			return answer(err)
		default:
			errs[i] = err // refused before it wrote anything
		}
		if err == nil {
			pending++
		}
	}
	if pending == 0 {
		_ = tx.Rollback()
		return answer(nil)
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			errs[i] = nil // every write of the group is lost: all fail
		}
		return answer(unavailable("commit", err))
	}
	s.ckpt.committed()
	return answer(nil)
}

func (s *Store) rollbackToSavepoint(tx *groupTx) error {
	if _, err := tx.stmt(s.rollbackTo).Exec(); err != nil {
		return err
	}
	_, err := tx.stmt(s.release).Exec()
	return err
}

// Close stops the writer after the writes already accepted, and closes the
// database. Calls after Close fail with store.ErrUnavailable.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.writes)
	s.mu.Unlock()
	<-s.done
	s.ckpt.close()
	return s.closeDBs()
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, st := range []*sql.Stmt{s.exists, s.claim, s.dupOf, s.insert, s.insertBody, s.transition, s.saveDeliveries,
		s.credOf, s.credClaim, s.recordAttempt, s.savepoint, s.release, s.rollbackTo, s.get, s.byStatus, s.byProvider} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	for _, db := range []*sql.DB{s.c, s.r, s.w} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// Put claims ev's idempotency key and stores ev in one step (see package
// store). It returns once the event is durable.
func (s *Store) Put(ctx context.Context, ev store.Event, keyExpiresAt time.Time) (store.PutResult, error) {
	return s.put(ctx, ev, keyExpiresAt, store.StatusReceived, nil)
}

// PutStatus is Put that stores a new event with status st (Put's is
// store.StatusReceived): one write, as Put's.
func (s *Store) PutStatus(ctx context.Context, ev store.Event, keyExpiresAt time.Time, st store.Status) (store.PutResult, error) {
	if !st.Valid() {
		return store.PutResult{}, fmt.Errorf("%w: status %q", store.ErrInvalid, st)
	}
	return s.put(ctx, ev, keyExpiresAt, st, nil)
}

// PutWith is Put that stores a new event with status st (Put's is
// store.StatusReceived) and runs also in the same transaction, right after
// the insert, with the result (ID = ev.ID, Status = st): the event and also's
// writes commit together in the next group commit, or neither does. If also
// fails, the put is rolled back and PutWith returns also's error. also runs
// only for a new event: a duplicate returns the first event's id and status
// as Put does, and an existing id fails as with Put. also runs on the writer
// goroutine, under the rules of Write: short, tx only, never the Store or DB.
//
// It is how the embedded mode stores a webhook already queued (its queue
// lives in the same file): one commit instead of three.
func (s *Store) PutWith(ctx context.Context, ev store.Event, keyExpiresAt time.Time, st store.Status,
	also func(tx *sql.Tx, r store.PutResult) error) (store.PutResult, error) {
	if !st.Valid() {
		return store.PutResult{}, fmt.Errorf("%w: status %q", store.ErrInvalid, st)
	}
	if also == nil {
		return store.PutResult{}, fmt.Errorf("%w: nil also", store.ErrInvalid)
	}
	return s.put(ctx, ev, keyExpiresAt, st, also)
}

// put is Put and PutWith: one of the store's own writes, without a
// savepoint (a savepoint copies every page it touches to the sub-journal
// first). It refuses before writing anything; only also can fail after the
// claim and the insert are written, and then the writer rolls the group
// back and runs its other writes again without this one (undoError).
func (s *Store) put(ctx context.Context, ev store.Event, keyExpiresAt time.Time, st store.Status,
	also func(tx *sql.Tx, r store.PutResult) error) (store.PutResult, error) {
	if err := ev.Validate(); err != nil {
		return store.PutResult{}, err
	}
	if err := store.CheckTime(keyExpiresAt); err != nil {
		return store.PutResult{}, fmt.Errorf("keyExpiresAt: %w", err)
	}
	meta, err := encodeMeta(ev.Meta)
	if err != nil {
		return store.PutResult{}, err
	}
	keyExp := neverAfter(keyExpiresAt)
	received := ev.ReceivedAt.UnixNano()
	cred := ev.Credential

	var res store.PutResult
	err = s.write(ctx, func(tx *groupTx) error {
		// A credential bound to another key refuses the event before
		// anything is written. The writer goroutine runs one write at a
		// time, so nothing changes the binding between this read and the
		// claim below.
		if cred.ID != "" {
			var key string
			var exp int64
			err := tx.stmt(s.credOf).QueryRow(ev.Provider, cred.ID).Scan(&key, &exp)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return unavailable("put", err)
			case key != ev.IdempotencyKey && exp >= received:
				return fmt.Errorf("%w: provider %s", store.ErrCredentialReused, ev.Provider)
			}
		}
		// The claim refuses an existing id before writing anything: this
		// write has no savepoint to roll back to.
		r, err := tx.stmt(s.claim).Exec(ev.Provider, ev.IdempotencyKey, ev.ID, keyExp, received)
		if err != nil {
			return unavailable("put", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return unavailable("put", err)
		}
		if n == 0 {
			var id string
			var exists bool
			if err := tx.stmt(s.exists).QueryRow(ev.ID).Scan(&exists); err != nil {
				return unavailable("put", err)
			}
			if exists {
				return fmt.Errorf("%w: an event with id %s already exists", store.ErrInvalid, ev.ID)
			}
			// Claimed by another event whose claim has not expired.
			var status sql.NullString
			if err := tx.stmt(s.dupOf).QueryRow(ev.Provider, ev.IdempotencyKey).Scan(&id, &status); err != nil {
				return unavailable("put", err)
			}
			res = store.PutResult{Duplicate: true, ID: id, Status: store.Status(status.String)}
			return nil
		}
		if _, err := tx.stmt(s.insert).Exec(ev.ID, ev.Provider, ev.Type, ev.IdempotencyKey, ev.EntityID, ev.Tenant,
			string(st), received, nanos(ev.OccurredAt), nanos(ev.UpdatedAt), nanos(ev.ExpiresAt)); err != nil {
			return unavailable("put", err)
		}
		if _, err := tx.stmt(s.insertBody).Exec(blob(ev.Raw), meta, blob(ev.Normalized)); err != nil {
			return unavailable("put", err)
		}
		if cred.ID != "" {
			if _, err := tx.stmt(s.credClaim).Exec(ev.Provider, cred.ID, ev.IdempotencyKey, ev.ID, neverAfter(cred.ExpiresAt)); err != nil {
				return unavailable("put", err)
			}
		}
		res = store.PutResult{ID: ev.ID, Status: st}
		if also != nil {
			if err := also(tx.Tx, res); err != nil {
				return undoError{err} // the claim and the insert are written: roll back
			}
		}
		return nil
	}, true)
	if err != nil {
		return store.PutResult{}, err
	}
	return res, nil
}

// Get returns the event with id, or store.ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (store.Event, error) {
	ev, err := scanEvent(s.get.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Event{}, store.ErrNotFound
	}
	if err != nil {
		return store.Event{}, unavailable("get", err)
	}
	return ev, nil
}

// Transition moves the event id from status from to status to, sets its
// UpdatedAt and increments its Version. It returns false if the event is
// missing or not in from.
func (s *Store) Transition(ctx context.Context, id string, from, to store.Status) (bool, error) {
	var changed bool
	err := s.write(ctx, func(tx *groupTx) error {
		r, err := tx.stmt(s.transition).Exec(id, string(from), string(to), time.Now().UnixNano())
		if err != nil {
			return unavailable("transition", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return unavailable("transition", err)
		}
		changed = n == 1
		return nil
	}, true)
	return changed, err
}

// SaveDeliveries replaces the delivery state of the event id, sets its
// status (an empty st keeps it) and UpdatedAt, and increments its Version,
// if the Version is still version (see package store). It returns false if
// the event is missing or its Version moved.
func (s *Store) SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, st store.Status) (bool, error) {
	b, err := store.EncodeDeliveries(ds, st)
	if err != nil {
		return false, err
	}
	var deliveries, status any
	if b != nil {
		deliveries = string(b)
	}
	if st != "" {
		status = string(st)
	}
	var saved bool
	err = s.write(ctx, func(tx *groupTx) error {
		r, err := tx.stmt(s.saveDeliveries).Exec(id, version, deliveries, status, time.Now().UnixNano())
		if err != nil {
			return unavailable("save deliveries", err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return unavailable("save deliveries", err)
		}
		saved = n == 1
		return nil
	}, true)
	return saved, err
}

// ListByStatus returns up to limit events in status st received before
// receivedBefore, oldest first. st must be store.Listable.
func (s *Store) ListByStatus(ctx context.Context, st store.Status, receivedBefore time.Time, limit int) ([]store.Event, error) {
	if !store.Listable(st) {
		return nil, fmt.Errorf("%w: status %q is not listable", store.ErrInvalid, st)
	}
	if err := store.CheckList(limit, receivedBefore); err != nil {
		return nil, err
	}
	return s.list(ctx, s.byStatus, string(st), receivedBefore.UnixNano(), limit)
}

// ListByProvider returns up to limit events of provider received in
// [from, to), oldest first.
func (s *Store) ListByProvider(ctx context.Context, provider string, from, to time.Time, limit int) ([]store.Event, error) {
	if err := store.CheckList(limit, from, to); err != nil {
		return nil, err
	}
	return s.list(ctx, s.byProvider, provider, from.UnixNano(), to.UnixNano(), limit)
}

func (s *Store) list(ctx context.Context, stmt *sql.Stmt, args ...any) ([]store.Event, error) {
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return nil, unavailable("list", err)
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, unavailable("list", err)
		}
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("list", err)
	}
	return out, nil
}

// Purge deletes the idempotency keys and credential bindings that expired
// before now and the events whose ExpiresAt is before now (a key that
// outlives its event no longer holds: the next claim of it takes it over,
// and it leaves at its own expiry): the embedded counterpart of DynamoDB's TTL. It deletes in small groups, so
// writes interleave, and returns how many events it deleted.
func (s *Store) Purge(ctx context.Context, now time.Time) (int64, error) {
	if err := store.CheckTime(now); err != nil {
		return 0, err
	}
	const batch = 500
	cut := now.UnixNano()
	step := func(query string) (int64, error) {
		var n int64
		err := s.Write(ctx, func(tx *sql.Tx) error {
			r, err := tx.Exec(query, cut, batch)
			if err != nil {
				return unavailable("purge", err)
			}
			n, err = r.RowsAffected()
			if err != nil {
				return unavailable("purge", err)
			}
			return nil
		})
		return n, err
	}
	for _, query := range []string{
		`DELETE FROM idempotency_keys WHERE (provider, idem_key) IN
			(SELECT provider, idem_key FROM idempotency_keys WHERE expires_at < ?1 LIMIT ?2)`,
		`DELETE FROM credential_claims WHERE (provider, cred_id) IN
			(SELECT provider, cred_id FROM credential_claims WHERE expires_at < ?1 LIMIT ?2)`,
	} {
		for {
			n, err := step(query)
			if err != nil {
				return 0, err
			}
			if n < batch {
				break
			}
		}
	}
	var total int64
	for {
		n, err := step(`DELETE FROM events WHERE seq IN
			(SELECT seq FROM events WHERE expires_at < ?1 LIMIT ?2)`)
		total += n
		if err != nil {
			return total, err
		}
		if n < batch {
			return total, nil
		}
	}
}

// unavailable wraps an error of the database itself.
func unavailable(op string, err error) error {
	return fmt.Errorf("%w: sqlite %s: %w", store.ErrUnavailable, op, err)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanEvent(r scanner) (store.Event, error) {
	var (
		ev                         store.Event
		status                     string
		received                   int64
		occurred, updated, expires sql.NullInt64
		meta, deliveries           sql.NullString
		raw, normalized            []byte
	)
	if err := r.Scan(&ev.ID, &ev.Provider, &ev.Type, &ev.IdempotencyKey, &ev.EntityID, &ev.Tenant, &status,
		&received, &occurred, &updated, &expires, &raw, &meta, &normalized, &ev.Version, &deliveries); err != nil {
		return store.Event{}, err
	}
	ev.Status = store.Status(status)
	ev.ReceivedAt = time.Unix(0, received).UTC()
	ev.OccurredAt = fromNanos(occurred)
	ev.UpdatedAt = fromNanos(updated)
	ev.ExpiresAt = fromNanos(expires)
	if len(raw) > 0 {
		ev.Raw = raw
	}
	if len(normalized) > 0 {
		ev.Normalized = normalized
	}
	if meta.Valid {
		if err := json.Unmarshal([]byte(meta.String), &ev.Meta); err != nil {
			return store.Event{}, fmt.Errorf("event %s: meta: %w", ev.ID, err)
		}
	}
	if deliveries.Valid {
		ds, err := store.UnmarshalDeliveries([]byte(deliveries.String))
		if err != nil {
			return store.Event{}, fmt.Errorf("event %s: %w", ev.ID, err)
		}
		ev.Deliveries = ds
	}
	return ev, nil
}

func encodeMeta(m map[string]string) (any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: meta: %w", store.ErrInvalid, err)
	}
	return string(b), nil
}

// neverAfter stores a claim's expiry as Unix nanoseconds, a zero time
// (never) as the largest.
func neverAfter(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// nanos stores a time as Unix nanoseconds, a zero time as NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// blob stores empty bytes as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
