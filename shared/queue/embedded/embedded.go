// Package embedded is a durable message queue kept in a SQLite database
// (modernc.org/sqlite), for hookline serve. It shares the database file with
// the embedded event store: New creates its own table on the *sql.DB it is
// given and touches nothing else.
//
// Its semantics follow SQS, so that the processor behaves the same in both
// modes (the queue/queuetest contract suite runs against both):
//
//   - Enqueue makes a message visible at once.
//   - Receive claims up to max visible messages in one transaction: each one's
//     receive count goes up by one and it is hidden (in flight) for the given
//     visibility. A message that was already received MaxReceives times is
//     moved to the dead-letter state by the receive that finds it, instead of
//     being returned (like an SQS redrive policy with maxReceiveCount).
//   - Every receive gives the message a new lease token, carried in the
//     receipt. Delete and ChangeVisibility act only on the current lease, so
//     the receipt of a receiver whose visibility ran out and whose message was
//     received again is stale: it returns queue.ErrInvalidReceipt and touches
//     nothing.
//   - ChangeVisibility(receipt, d) makes the message visible again after d
//     (0: at once); it is how the processor backs off.
//   - Redrive returns every dead letter to the queue, visible, with its receive
//     count reset.
//
// Writes: Enqueue, Delete and ChangeVisibility are group-committed: the calls
// waiting at one moment share one transaction (one fsync), and each returns
// after its own commit. EnqueueTx writes a message inside the caller's
// transaction instead (the embedded store's group commit, so that an event
// and its message commit atomically). With WithWriter, the queue's writes
// (its group commits and Receive's claim) go through the embedded store's
// group commit altogether: one fsync for the store's writes and the queue's.
//
// Waiting: ReceiveWait blocks until a message is visible or its wait ends.
// Enqueue, Redrive, ChangeVisibility and Wake in this process wake waiters at once;
// a waiter also wakes when the next in-flight message's visibility runs out,
// and re-checks at least every second, so messages written by another process
// on the same file (such as `hookline redrive`) are seen too.
//
// Any *sql.DB works, including the store's single-connection write pool: the
// queue never holds one connection while it waits for another.
//
// Statements: every statement of the write path is prepared once, by New
// (Receive's per batch size, on first use: see receiveFor); Close releases
// them.
//
// Every failure of the database itself wraps queue.ErrUnavailable.
package embedded

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline/shared/queue"
)

// DefaultMaxReceives is how many times a message may be received before the
// next receive moves it to the dead-letter state.
const DefaultMaxReceives = 10

// recheck bounds how long ReceiveWait sleeps between looks at the table, for
// writes that this process was not told about.
const recheck = time.Second

const schema = `
CREATE TABLE IF NOT EXISTS queue_messages (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	event_id      TEXT    NOT NULL,
	event_type    TEXT    NOT NULL,
	dead          INTEGER NOT NULL DEFAULT 0, -- 1: dead-lettered
	visible_at    INTEGER NOT NULL,           -- unix ms; in flight while in the future
	receive_count INTEGER NOT NULL DEFAULT 0,
	lease         TEXT    NOT NULL DEFAULT '', -- token of the current receive
	enqueued_at   INTEGER NOT NULL,           -- unix ms
	dead_at       INTEGER                     -- unix ms, while dead
);
CREATE INDEX IF NOT EXISTS queue_messages_ready ON queue_messages (dead, visible_at, id);
`

// Queue is a durable queue in a SQLite database. It is safe for concurrent
// use; several Queues (or processes) may share one database.
type Queue struct {
	db          *sql.DB
	maxReceives int
	now         func() time.Time
	writer      func(ctx context.Context, fn func(tx *sql.Tx) error) error // nil: own transactions on db

	// The statements, prepared once on db (SQLite parses each only once;
	// in a transaction they are bound to it with Tx.Stmt).
	insert, del, hide *sql.Stmt
	smu               sync.Mutex
	receives          map[int]receiveStmts // by limit: Receive's statements

	mu      sync.Mutex
	changed chan struct{} // closed (and replaced) when messages may have become visible

	bmu      sync.Mutex // guards the group commit of Enqueue, Delete and ChangeVisibility
	pending  []*op      // writes waiting for the next commit
	flushing bool       // some call leads a commit now
}

// Option configures a Queue.
type Option func(*Queue)

// WithMaxReceives sets how many times a message may be received; the receive
// after that moves it to the dead-letter state. Default DefaultMaxReceives.
func WithMaxReceives(n int) Option { return func(q *Queue) { q.maxReceives = n } }

// WithWriter makes the queue run its writes (the group commits of Enqueue,
// Delete and ChangeVisibility, and Receive's claim) through write, which
// must run fn in a transaction on the queue's database and return once it
// committed: the embedded store's Write (sqlite.Store.Write), whose group
// commit then carries the queue's writes and the store's in one fsync
// instead of one each. fn returns an error only when the database failed;
// write must then roll fn's work back.
func WithWriter(write func(ctx context.Context, fn func(tx *sql.Tx) error) error) Option {
	return func(q *Queue) { q.writer = write }
}

// WithClock sets the clock used for visibility and timestamps (default
// time.Now). ReceiveWait still waits in real time.
func WithClock(now func() time.Time) Option { return func(q *Queue) { q.now = now } }

// New returns a queue kept in db, creating its table and index if they do
// not exist. The caller opens db (WAL mode and a busy timeout are expected)
// and closes it.
func New(db *sql.DB, opts ...Option) (*Queue, error) {
	if db == nil {
		return nil, errors.New("embedded queue: nil *sql.DB")
	}
	q := &Queue{db: db, maxReceives: DefaultMaxReceives, now: time.Now, changed: make(chan struct{})}
	for _, o := range opts {
		o(q)
	}
	if q.maxReceives < 1 {
		return nil, fmt.Errorf("embedded queue: max receives must be at least 1, got %d", q.maxReceives)
	}
	if q.now == nil {
		return nil, errors.New("embedded queue: nil clock")
	}

	if _, err := db.Exec(schema); err != nil {
		return nil, unavailable("create schema", err)
	}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&q.insert, insertSQL}, {&q.del, deleteSQL}, {&q.hide, hideSQL},
	} {
		st, err := db.Prepare(p.sql)
		if err != nil {
			q.Close()
			return nil, unavailable("prepare", err)
		}
		*p.dst = st
	}
	return q, nil
}

// Close releases the queue's prepared statements. The database stays open
// (it is the caller's); a Queue is not used after Close.
func (q *Queue) Close() error {
	var errs []error
	stmts := []*sql.Stmt{q.insert, q.del, q.hide}
	q.smu.Lock()
	for _, r := range q.receives {
		stmts = append(stmts, r.deadLetter, r.claim)
	}
	q.receives = nil
	q.smu.Unlock()
	for _, st := range stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// receiveStmts are Receive's statements for one limit.
type receiveStmts struct{ deadLetter, claim *sql.Stmt }

// maxStmtLimit bounds the limits whose statements are kept prepared.
const maxStmtLimit = 64

// receiveFor returns Receive's statements for the limit n, prepared once per
// limit. The limit is a literal in their text, not a parameter: SQLite
// plans a LIMIT with the value bound to it, so rebinding the parameter would
// make it parse and plan the statement again on every Receive. Beyond
// maxStmtLimit it returns nothing: the caller runs the text.
func (q *Queue) receiveFor(n int) (receiveStmts, error) {
	if n > maxStmtLimit {
		return receiveStmts{}, nil
	}
	q.smu.Lock()
	defer q.smu.Unlock()
	if r, ok := q.receives[n]; ok {
		return r, nil
	}
	d, err := q.db.Prepare(fmt.Sprintf(deadLetterSQL, n))
	if err != nil {
		return receiveStmts{}, unavailable("receive: prepare", err)
	}
	c, err := q.db.Prepare(fmt.Sprintf(claimSQL, n))
	if err != nil {
		d.Close()
		return receiveStmts{}, unavailable("receive: prepare", err)
	}
	if q.receives == nil {
		q.receives = make(map[int]receiveStmts)
	}
	r := receiveStmts{deadLetter: d, claim: c}
	q.receives[n] = r
	return r, nil
}

// MaxReceives reports how many receives a message gets before the next one
// dead-letters it.
func (q *Queue) MaxReceives() int { return q.maxReceives }

// Enqueue adds a message for the event, visible at once. It returns after the
// message is committed. Enqueueing the same event twice gives two messages, as
// on SQS: the processor dedupes per destination.
//
// Enqueue, Delete and ChangeVisibility share one group commit: concurrent
// calls are written in one transaction (see write).
func (q *Queue) Enqueue(ctx context.Context, eventID, eventType string) error {
	if eventID == "" {
		return errors.New("embedded queue: enqueue: empty event id")
	}
	return q.write(ctx, &op{kind: opEnqueue, eventID: eventID, eventType: eventType})
}

// EnqueueTx adds a message for the event inside tx, a transaction the caller
// opened on the queue's database (such as the embedded store's group commit,
// so that an event and its message commit together, or neither does). The
// message exists once tx commits; after that, call Wake so that waiting
// receivers in this process see it at once (they would otherwise find it at
// their next periodic look).
func (q *Queue) EnqueueTx(tx *sql.Tx, eventID, eventType string) error {
	if eventID == "" {
		return errors.New("embedded queue: enqueue: empty event id")
	}
	now := q.now().UnixMilli()
	if _, err := tx.Stmt(q.insert).Exec(eventID, eventType, now, now); err != nil {
		return unavailable("enqueue", err)
	}
	return nil
}

// Wake wakes every ReceiveWait in this process, to look for messages at
// once: call it after committing messages written with EnqueueTx.
func (q *Queue) Wake() { q.signal() }

// The write statements of the group commit.
const (
	insertSQL = `INSERT INTO queue_messages (event_id, event_type, visible_at, enqueued_at) VALUES (?, ?, ?, ?)`
	deleteSQL = `DELETE FROM queue_messages WHERE id = ? AND lease = ? AND dead = 0`
	hideSQL   = `UPDATE queue_messages SET visible_at = ? WHERE id = ? AND lease = ? AND dead = 0`
	// Receive's claim: exhausted messages at the head of the queue go to
	// the dead-letter state, then up to %d (the limit, see receiveFor)
	// visible ones are claimed.
	deadLetterSQL = `
		UPDATE queue_messages SET dead = 1, dead_at = ?1, lease = ''
		WHERE id IN (SELECT id FROM queue_messages
		             WHERE dead = 0 AND visible_at <= ?1
		             ORDER BY visible_at, id LIMIT %d)
		  AND receive_count >= ?2`
	claimSQL = `
		UPDATE queue_messages
		SET receive_count = receive_count + 1, visible_at = ?1 + ?2, lease = ?3
		WHERE id IN (SELECT id FROM queue_messages
		             WHERE dead = 0 AND visible_at <= ?1 AND receive_count < ?4
		             ORDER BY visible_at, id LIMIT %d)
		RETURNING id, event_id, event_type, receive_count`
)

type opKind int

const (
	opEnqueue opKind = iota
	opDelete
	opChangeVisibility
)

var opNames = [...]string{opEnqueue: "enqueue", opDelete: "delete", opChangeVisibility: "change visibility"}

// op is one Enqueue, Delete or ChangeVisibility waiting for its group to
// commit.
type op struct {
	kind               opKind
	eventID, eventType string     // enqueue
	id                 int64      // delete, change visibility: the receipt's row
	lease              string     // and lease
	visibleAt          int64      // change visibility: unix ms
	done               chan error // the commit's result for this op, or errLead
}

// errLead tells a waiting call to commit the pending group itself.
var errLead = errors.New("embedded queue: lead the next batch")

// maxBatch bounds one group commit.
const maxBatch = 512

// write runs o in the next group commit and returns its result once that
// commit is durable.
//
// Concurrent writes share one transaction (group commit): with
// synchronous=FULL every commit costs an fsync, and batching them is what
// lets many webhooks, and many processed messages, at once go faster than one
// fsync each. Each call still returns only after its own write is durable.
// Delete and ChangeVisibility act on the current lease only: a stale receipt
// matches no row, so it changes nothing and fails alone with
// queue.ErrInvalidReceipt while the rest of its group commits. A database
// error fails the whole group (nothing of it commits). Once its write has
// joined a group, a call waits for that commit even if ctx ends meanwhile
// (bounded by the database's busy timeout), so that nobody is left holding
// the group.
func (q *Queue) write(ctx context.Context, o *op) error {
	if err := ctx.Err(); err != nil {
		return unavailable(opNames[o.kind], err)
	}
	o.done = make(chan error, 1)
	q.bmu.Lock()
	q.pending = append(q.pending, o)
	lead := !q.flushing
	q.flushing = true
	q.bmu.Unlock()
	if !lead {
		if err := <-o.done; err != errLead {
			return err
		}
	}
	// This call leads: commit what is pending (its own write included),
	// then hand the lead to the next waiting call, if any.
	q.flush(context.WithoutCancel(ctx))
	return <-o.done
}

// flush commits up to maxBatch pending writes in one transaction, answers
// each, and passes the lead on (or clears flushing).
func (q *Queue) flush(ctx context.Context) {
	q.bmu.Lock()
	n := min(len(q.pending), maxBatch)
	batch := slices.Clone(q.pending[:n])
	q.pending = slices.Delete(q.pending, 0, n)
	q.bmu.Unlock()

	errs, wake := q.apply(ctx, batch)
	for i, o := range batch {
		o.done <- errs[i]
	}
	if wake {
		q.signal()
	}

	q.bmu.Lock()
	if len(q.pending) > 0 {
		q.pending[0].done <- errLead // still flushing: the next one leads
	} else {
		q.flushing = false
	}
	q.bmu.Unlock()
}

// execer runs one of the queue's prepared statements: as it is (on the
// database, autocommit) or bound to a transaction.
type execer func(*sql.Stmt) *sql.Stmt

func onDB(st *sql.Stmt) *sql.Stmt { return st }

func inTx(tx *sql.Tx) execer { return func(st *sql.Stmt) *sql.Stmt { return tx.Stmt(st) } }

// apply writes the batch, in one transaction unless it is a single write
// (one autocommit statement), and returns each write's result, and whether
// messages may have become visible.
func (q *Queue) apply(ctx context.Context, batch []*op) (errs []error, wake bool) {
	fail := func(err error) ([]error, bool) {
		errs = make([]error, len(batch))
		for i := range errs {
			errs[i] = err
		}
		return errs, false
	}
	if q.writer != nil {
		err := q.writer(ctx, func(tx *sql.Tx) error {
			var err error
			errs, wake, err = q.applyOps(ctx, inTx(tx), batch)
			return err
		})
		if err != nil {
			return fail(q.writerErr("group commit", err))
		}
		return errs, wake
	}
	var ex execer = onDB
	var tx *sql.Tx
	if len(batch) > 1 {
		var err error
		if tx, err = q.db.BeginTx(ctx, nil); err != nil {
			return fail(unavailable("group commit", err))
		}
		defer tx.Rollback() // a no-op after Commit
		ex = inTx(tx)
	}
	errs, wake, err := q.applyOps(ctx, ex, batch)
	if err != nil {
		return fail(err)
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return fail(unavailable("group commit", err))
		}
	}
	return errs, wake
}

// writerErr wraps an error of the writer (WithWriter) as the queue's.
func (q *Queue) writerErr(op string, err error) error {
	if errors.Is(err, queue.ErrUnavailable) {
		return err
	}
	return unavailable(op, err)
}

// applyOps runs the batch's statements on ex: each write's result, whether
// messages may have become visible, and an error only if the database
// failed (then nothing of the batch may commit).
func (q *Queue) applyOps(ctx context.Context, ex execer, batch []*op) (errs []error, wake bool, dbErr error) {
	errs = make([]error, len(batch))
	now := q.now().UnixMilli()
	for i, o := range batch {
		var res sql.Result
		var err error
		switch o.kind {
		case opEnqueue:
			_, err = ex(q.insert).ExecContext(ctx, o.eventID, o.eventType, now, now)
		case opDelete:
			res, err = ex(q.del).ExecContext(ctx, o.id, o.lease)
		case opChangeVisibility:
			res, err = ex(q.hide).ExecContext(ctx, o.visibleAt, o.id, o.lease)
		}
		if err != nil {
			return nil, false, unavailable(opNames[o.kind], err)
		}
		if res != nil {
			if err := checkOne(res, opNames[o.kind]); errors.Is(err, queue.ErrInvalidReceipt) {
				errs[i] = err // stale: it changed nothing
				continue
			} else if err != nil {
				return nil, false, err
			}
		}
		if o.kind != opDelete {
			wake = true
		}
	}
	return errs, wake, nil
}

// Receive claims up to maxMsgs visible messages (oldest visibility first), hides
// each for visibility and returns them with their new receipts and receive
// counts (1 on the first receive). It does not wait: with nothing visible it
// returns no messages and no error. Messages whose receive count reached
// MaxReceives are dead-lettered instead of returned.
func (q *Queue) Receive(ctx context.Context, maxMsgs int, visibility time.Duration) ([]queue.Message, error) {
	if maxMsgs < 1 {
		return nil, fmt.Errorf("embedded queue: receive: max must be at least 1, got %d", maxMsgs)
	}
	if visibility < 0 {
		return nil, fmt.Errorf("embedded queue: receive: negative visibility %v", visibility)
	}
	lease, err := newLease()
	if err != nil {
		return nil, err
	}
	now := q.now().UnixMilli()
	// Prepared before the claim: with WithWriter, the claim runs on the
	// writer's one connection, which Prepare would wait for.
	stmts, err := q.receiveFor(maxMsgs)
	if err != nil {
		return nil, err
	}

	var got []claimed
	claim := func(tx *sql.Tx) error {
		var err error
		got, err = q.claim(ctx, tx, stmts, now, maxMsgs, visibility, lease)
		return err
	}
	if q.writer != nil {
		if err := q.writer(ctx, claim); err != nil {
			return nil, q.writerErr("receive", err)
		}
	} else {
		tx, err := q.db.BeginTx(ctx, nil)
		if err != nil {
			return nil, unavailable("receive", err)
		}
		defer tx.Rollback() // a no-op after Commit
		if err := claim(tx); err != nil {
			return nil, err
		}
		if err := tx.Commit(); err != nil {
			return nil, unavailable("receive: commit", err)
		}
	}
	slices.SortFunc(got, func(a, b claimed) int { return cmp.Compare(a.id, b.id) })
	msgs := make([]queue.Message, len(got))
	for i, c := range got {
		msgs[i] = c.msg
	}
	return msgs, nil
}

// claimed is one message a receive claimed, with its row id.
type claimed struct {
	id  int64
	msg queue.Message
}

// claim is Receive's work in tx: dead-letter the exhausted messages at the
// head of the queue, then claim up to maxMsgs visible ones under lease.
func (q *Queue) claim(ctx context.Context, tx *sql.Tx, stmts receiveStmts, now int64, maxMsgs int, visibility time.Duration, lease string) ([]claimed, error) {
	deadLetter := func(args ...any) (sql.Result, error) {
		if stmts.deadLetter == nil {
			return tx.ExecContext(ctx, fmt.Sprintf(deadLetterSQL, maxMsgs), args...)
		}
		return tx.Stmt(stmts.deadLetter).ExecContext(ctx, args...)
	}
	claim := func(args ...any) (*sql.Rows, error) {
		if stmts.claim == nil {
			return tx.QueryContext(ctx, fmt.Sprintf(claimSQL, maxMsgs), args...)
		}
		return tx.Stmt(stmts.claim).QueryContext(ctx, args...)
	}
	// The first statement writes, so the transaction takes the write lock
	// (honouring busy_timeout) before it reads anything: no stale snapshot.
	// Exhausted messages at the head of the queue go to the dead-letter state.
	if _, err := deadLetter(now, q.maxReceives); err != nil {
		return nil, unavailable("receive: dead-letter", err)
	}
	rows, err := claim(now, ceilMillis(visibility), lease, q.maxReceives)
	if err != nil {
		return nil, unavailable("receive: claim", err)
	}
	var got []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.msg.EventID, &c.msg.Type, &c.msg.ReceiveCount); err != nil {
			rows.Close()
			return nil, unavailable("receive: scan", err)
		}
		c.msg.Receipt = receipt(c.id, lease)
		got = append(got, c)
	}
	if err := rows.Close(); err != nil {
		return nil, unavailable("receive: claim", err)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("receive: claim", err)
	}
	return got, nil
}

// ReceiveWait is Receive that waits up to wait for a message to become
// visible. It returns as soon as it claimed at least one message, or with no
// messages and no error when wait ran out, or ctx.Err() if ctx ended while it
// waited. It wakes on Enqueue, Redrive and ChangeVisibility in this process,
// when the next in-flight message's visibility runs out, and at least every
// second, so it never busy-polls.
func (q *Queue) ReceiveWait(ctx context.Context, maxMsgs int, visibility, wait time.Duration) ([]queue.Message, error) {
	deadline := time.Now().Add(wait)
	for {
		changed := q.waitChan() // before the look, so no signal is missed
		msgs, err := q.Receive(ctx, maxMsgs, visibility)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		sleep := time.Until(deadline)
		if sleep <= 0 {
			return nil, nil
		}
		sleep = min(sleep, recheck)
		if next, ok, err := q.nextVisible(ctx); err != nil {
			return nil, err
		} else if ok {
			sleep = max(min(sleep, next.Sub(q.now())), time.Millisecond)
		}
		t := time.NewTimer(sleep)
		select {
		case <-changed:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
		t.Stop()
	}
}

// Delete removes the message received with receipt. A receipt that is not
// the message's current lease (deleted, dead-lettered, or received again by
// someone else) gives queue.ErrInvalidReceipt and deletes nothing. Concurrent
// Deletes share a group commit with Enqueue and ChangeVisibility; each
// returns after its own commit.
func (q *Queue) Delete(ctx context.Context, receipt string) error {
	id, lease, err := parseReceipt(receipt)
	if err != nil {
		return err
	}
	return q.write(ctx, &op{kind: opDelete, id: id, lease: lease})
}

// ChangeVisibility makes the message received with receipt visible again
// after d (0: at once), counted from now. It is the processor's backoff. The
// receipt stays valid until the message is received again. A stale receipt
// gives queue.ErrInvalidReceipt and changes nothing. It shares the group
// commit of Enqueue and Delete.
func (q *Queue) ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("embedded queue: change visibility: negative duration %v", d)
	}
	id, lease, err := parseReceipt(receipt)
	if err != nil {
		return err
	}
	return q.write(ctx, &op{kind: opChangeVisibility, id: id, lease: lease, visibleAt: q.now().UnixMilli() + ceilMillis(d)})
}

// DeadLetters returns up to limit dead-lettered messages, oldest first, with
// the receive count they had and no receipt.
func (q *Queue) DeadLetters(ctx context.Context, limit int) ([]queue.Message, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := q.db.QueryContext(ctx, `
		SELECT event_id, event_type, receive_count FROM queue_messages
		WHERE dead = 1 ORDER BY id LIMIT ?`, limit)
	if err != nil {
		return nil, unavailable("dead letters", err)
	}
	defer rows.Close()
	var out []queue.Message
	for rows.Next() {
		var m queue.Message
		if err := rows.Scan(&m.EventID, &m.Type, &m.ReceiveCount); err != nil {
			return nil, unavailable("dead letters: scan", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("dead letters", err)
	}
	return out, nil
}

// Redrive returns every dead letter to the queue, visible at once with its
// receive count reset to 0, and says how many it moved.
func (q *Queue) Redrive(ctx context.Context) (int, error) {
	res, err := q.db.ExecContext(ctx, `
		UPDATE queue_messages
		SET dead = 0, dead_at = NULL, receive_count = 0, visible_at = ?, lease = ''
		WHERE dead = 1`, q.now().UnixMilli())
	if err != nil {
		return 0, unavailable("redrive", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, unavailable("redrive", err)
	}
	if n > 0 {
		q.signal()
	}
	return int(n), nil
}

// Stats counts the messages that are visible (waiting to be received,
// including any about to be dead-lettered by the next receive), in flight
// (received and hidden) and dead-lettered.
func (q *Queue) Stats(ctx context.Context) (visible, inFlight, dead int, err error) {
	err = q.db.QueryRowContext(ctx, `
		SELECT COALESCE(SUM(dead = 0 AND visible_at <= ?1), 0),
		       COALESCE(SUM(dead = 0 AND visible_at > ?1), 0),
		       COALESCE(SUM(dead = 1), 0)
		FROM queue_messages`, q.now().UnixMilli()).Scan(&visible, &inFlight, &dead)
	if err != nil {
		return 0, 0, 0, unavailable("stats", err)
	}
	return visible, inFlight, dead, nil
}

// nextVisible returns when the earliest live message becomes visible.
func (q *Queue) nextVisible(ctx context.Context) (time.Time, bool, error) {
	var ms sql.NullInt64
	if err := q.db.QueryRowContext(ctx,
		`SELECT MIN(visible_at) FROM queue_messages WHERE dead = 0`).Scan(&ms); err != nil {
		return time.Time{}, false, unavailable("receive: next visible", err)
	}
	if !ms.Valid {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(ms.Int64), true, nil
}

// signal wakes every ReceiveWait in this process.
func (q *Queue) signal() {
	q.mu.Lock()
	close(q.changed)
	q.changed = make(chan struct{})
	q.mu.Unlock()
}

func (q *Queue) waitChan() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changed
}

// newLease returns a fresh random token for one receive.
func newLease() (string, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("embedded queue: lease token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// receipt is "<row id>.<lease token>".
func receipt(id int64, lease string) string {
	return strconv.FormatInt(id, 10) + "." + lease
}

func parseReceipt(r string) (int64, string, error) {
	ids, lease, ok := strings.Cut(r, ".")
	id, err := strconv.ParseInt(ids, 10, 64)
	if !ok || err != nil || lease == "" {
		return 0, "", fmt.Errorf("embedded queue: malformed receipt: %w", queue.ErrInvalidReceipt)
	}
	return id, lease, nil
}

func checkOne(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return unavailable(op, err)
	}
	if n == 0 {
		return fmt.Errorf("embedded queue: %s: %w", op, queue.ErrInvalidReceipt)
	}
	return nil
}

// ceilMillis rounds d up to whole milliseconds, so that a positive
// visibility never becomes 0.
func ceilMillis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

func unavailable(op string, err error) error {
	return fmt.Errorf("embedded queue: %s: %w: %w", op, queue.ErrUnavailable, err)
}
