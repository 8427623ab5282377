package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// # Checkpoints
//
// The writer connection runs with wal_autocheckpoint=0: SQLite's automatic
// checkpoint would otherwise run inside the COMMIT that crosses 1000 WAL
// pages, on the writer goroutine, with every caller of that group (and every
// write queued behind it) waiting for it. Instead, a checkpointer goroutine
// on its own connection does the work beside the writer:
//
//   - after commits, at most every checkpointEvery, a PASSIVE checkpoint: it
//     copies the WAL's committed pages into the database file without taking
//     any lock a writer or reader waits for. When it caught up with the whole
//     WAL, the writer's next transaction starts the WAL over from its
//     beginning (the file does not grow);
//   - under sustained load the writer commits again before a PASSIVE
//     checkpoint has caught up, so the WAL would only grow. When it holds
//     restartFrames pages or more, the checkpointer runs a RESTART
//     checkpoint: it waits for the writer's current transaction, copies what
//     PASSIVE had not copied yet (little: PASSIVE keeps up), and makes the
//     writer start the WAL over. journal_size_limit then trims the file. The
//     WAL file stays around restartFrames pages at most, whatever the load.
//
// Durability does not change: a commit is durable once its WAL frames are
// fsynced (synchronous=FULL), checkpointed or not; recovery after a crash
// replays the WAL.
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

// checkpoint runs a PASSIVE checkpoint and, if the WAL is large, a RESTART.
// Errors are left for the next round: a checkpoint that failed (say, another
// process checkpointing at the same moment) loses nothing.
func (c *checkpointer) checkpoint() {
	frames, err := c.run1("PASSIVE")
	if err != nil {
		return
	}
	c.passive.Add(1)
	if frames >= int64(restartFrames) {
		if _, err := c.run1("RESTART"); err == nil {
			c.restart.Add(1)
		}
	}
}

// run1 runs one checkpoint of mode and returns the WAL's size in pages
// before it.
func (c *checkpointer) run1(mode string) (int64, error) {
	var busy, frames, copied int64
	if err := c.db.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(`+mode+`)`).Scan(&busy, &frames, &copied); err != nil {
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
