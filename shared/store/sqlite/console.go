package sqlite

// What the operator console (shared/console) reads and writes beyond the
// event store: the attempt history, and the event list it pages through.
//
// # Schema
//
// The console's tables live beside the store's and are created by Open with
// CREATE … IF NOT EXISTS (consoleSchema), apart from the numbered
// migrations so that the store's own schema and the console's evolve
// without renumbering each other:
//
//	attempts(seq) → event_id (references events(id), ON DELETE CASCADE: the
//	    history is purged with its event), destination, attempt, at (Unix
//	    nanoseconds), outcome, status_code, error, duration_ns, response
//	    (at most store.MaxResponseBytes of UTF-8, NULL when empty).
//	    Indexes: (event_id, at, seq) for an event's timeline, (at) for the
//	    stats window and the live stream.
//
// RecordAttempt is one INSERT through the group commit: one small row per
// attempt, sharing the fsync of whatever else commits at that moment.

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hookline/hookline/shared/store"
)

const consoleSchema = `
	CREATE TABLE IF NOT EXISTS attempts (
		seq         INTEGER PRIMARY KEY,
		event_id    TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
		destination TEXT    NOT NULL,
		attempt     INTEGER NOT NULL,
		at          INTEGER NOT NULL,
		outcome     TEXT    NOT NULL,
		status_code INTEGER NOT NULL,
		error       TEXT    NOT NULL,
		duration_ns INTEGER NOT NULL,
		response    TEXT
	);
	CREATE INDEX IF NOT EXISTS attempts_event ON attempts (event_id, at, seq);
	CREATE INDEX IF NOT EXISTS attempts_at ON attempts (at);`

// openConsole creates the console's tables if they are missing.
func openConsole(db *sql.DB) error {
	if _, err := db.Exec(consoleSchema); err != nil {
		return fmt.Errorf("sqlite: console schema: %w", err)
	}
	return nil
}

// recordAttemptSQL inserts nothing when the event is gone (purged between
// the attempt and its record): the foreign key is never violated.
const recordAttemptSQL = `INSERT INTO attempts (event_id, destination, attempt, at, outcome, status_code, error,
		duration_ns, response)
	SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM events WHERE id = ?1)`

// RecordAttempt adds a to its event's attempt history (see store.Attempt):
// one row, committed with the next group commit. An attempt of an event that
// no longer exists is dropped.
func (s *Store) RecordAttempt(ctx context.Context, a store.Attempt) error {
	if err := a.Validate(); err != nil {
		return err
	}
	var response any
	if a.Response != "" {
		response = a.Response
	}
	return s.write(ctx, func(tx *groupTx) error {
		if _, err := tx.Exec(recordAttemptSQL, a.EventID, a.Destination, a.Number, a.At.UnixNano(), a.Outcome,
			a.StatusCode, a.Error, int64(a.Duration), response); err != nil {
			return unavailable("record attempt", err)
		}
		return nil
	}, true)
}

const attemptColumns = `event_id, destination, attempt, at, outcome, status_code, error, duration_ns, response`

// Attempts returns the attempt history of the event id, oldest first.
func (s *Store) Attempts(ctx context.Context, id string) ([]store.Attempt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+attemptColumns+` FROM attempts WHERE event_id = ?1 ORDER BY at, seq`, id)
	if err != nil {
		return nil, unavailable("attempts", err)
	}
	return scanAttempts(rows)
}

// scanAttempts reads rows of attemptColumns and closes rows.
func scanAttempts(rows *sql.Rows) ([]store.Attempt, error) {
	defer rows.Close()
	var out []store.Attempt
	for rows.Next() {
		var (
			a        store.Attempt
			at, dur  int64
			response sql.NullString
		)
		if err := rows.Scan(&a.EventID, &a.Destination, &a.Number, &at, &a.Outcome, &a.StatusCode, &a.Error,
			&dur, &response); err != nil {
			return nil, unavailable("attempts", err)
		}
		a.At = time.Unix(0, at).UTC()
		a.Duration = time.Duration(dur)
		a.Response = response.String
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("attempts", err)
	}
	return out, nil
}
