package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// Checkpoints: see "Checkpoints" in the package doc.
var (
	checkpointEvery = 100 * time.Millisecond
	restartFrames   = 16384 // 64 MiB of 4 KiB pages: journal_size_limit
)

// checkpointer runs the WAL checkpoints of one store (see Checkpoints).
type checkpointer struct {
	db   *sql.DB // its own connection to the store's file
	kick chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// large is set when a PASSIVE checkpoint found restartFrames pages or
	// more: the writer runs a RESTART before its next group.
	large atomic.Bool

	passive, restart atomic.Int64 // checkpoints run, for tests
	maxFrames        atomic.Int64 // the largest WAL (in pages) a checkpoint found
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// committed tells the checkpointer that the WAL grew. It never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTimer(checkpointEvery)
	t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-c.kick:
		}
		// Let commits accumulate: one checkpoint per interval at most, and
		// the last commit of a burst is checkpointed checkpointEvery after
		// it (when the writer is idle).
		t.Reset(checkpointEvery)
		select {
		case <-c.stop:
			t.Stop()
			return
		case <-t.C:
		}
		c.checkpoint()
	}
}

// checkpoint runs a PASSIVE checkpoint and flags a large WAL for a RESTART.
// Errors are left for the next round: a checkpoint that failed (say, another
// process checkpointing at the same moment) loses nothing.
func (c *checkpointer) checkpoint() {
	frames, err := c.run1(c.db, "PASSIVE")
	if err != nil {
		return
	}
	c.passive.Add(1)
	if frames >= int64(restartFrames) {
		c.large.Store(true)
	}
}

// restartIfLarge runs, on the writer's connection w and between two groups,
// a RESTART checkpoint if the last PASSIVE one found the WAL large. It runs
// there, not on the checkpointer's connection, because a RESTART needs the
// write lock, which the writer takes again right after every commit: the
// checkpointer would wait for it (in SQLite's busy handler, polling) as
// long as the load lasts. PASSIVE copied most of the WAL already, so this
// copies little before the WAL starts over.
func (c *checkpointer) restartIfLarge(w *sql.DB) {
	if !c.large.Load() {
		return
	}
	c.large.Store(false)
	if _, err := c.run1(w, "RESTART"); err == nil {
		c.restart.Add(1)
	}
}

// run1 runs one checkpoint of mode on db and returns the WAL's size in
// pages before it.
func (c *checkpointer) run1(db *sql.DB, mode string) (int64, error) {
	var busy, frames, copied int64
	if err := db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &copied); err != nil {
		return 0, err
	}
	for {
		m := c.maxFrames.Load()
		if frames <= m || c.maxFrames.CompareAndSwap(m, frames) {
			break
		}
	}
	return frames, nil
}

// close stops the checkpointer; the database is the caller's to close.
func (c *checkpointer) close() {
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
