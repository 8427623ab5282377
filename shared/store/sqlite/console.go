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
//	    stats window.
//	events_received on events (received_at, id): the unfiltered list,
//	    newest first, without a sort; events_entity and events_tenant (partial:
//	    non-empty only): the search. Three more index entries per event, no
//	    more writes.
//
// RecordAttempt is one INSERT through the group commit: one small row per
// attempt, sharing the fsync of whatever else commits at that moment.
//
//	rejections(seq) → at, provider, method, route, status, reason,
//	    body_bytes, body_sha256, headers (a JSON array of names), claims (a
//	    JSON object, NULL when none): the newest store.RejectionsKept
//	    refused deliveries, plus those still quarantined; RecordRejection
//	    inserts one and deletes those beyond the bound in the same write.
//	quarantine(seq) → references rejections(seq) (ON DELETE CASCADE),
//	    provider, at, method, body, header (the credential headers, a JSON
//	    object of lists), bytes (store.Quarantined.Size), expires_at (Unix
//	    nanoseconds; index): the deliveries kept for re-verify.
//	    RecordQuarantined deletes the expired ones, counts what is left
//	    against the bounds, and inserts the rejection and its delivery, in
//	    one write.
//
// # The event list
//
// ListEvents pages newest first by (received_at, id): the cursor is the
// last event shown, "<received_at ns>.<id>", and a page reads only the small
// events row (no body). The order is an index's, so a page stops after
// limit rows: events_received without filters, events_by_provider with a
// provider, events_open for the open statuses; other filters are terms
// checked on the rows walked, so a rare match walks further (see the
// benchmark in shared/console). The type glob is hookline_glob, path.Match
// registered as an SQL function, so the list matches types exactly as
// destinations do.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"

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
	CREATE INDEX IF NOT EXISTS attempts_at ON attempts (at);
	CREATE INDEX IF NOT EXISTS events_received ON events (received_at, id);
	CREATE INDEX IF NOT EXISTS events_entity ON events (entity_id) WHERE entity_id <> '';
	CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant) WHERE tenant <> '';
	CREATE TABLE IF NOT EXISTS rejections (
		seq         INTEGER PRIMARY KEY,
		at          INTEGER NOT NULL,
		provider    TEXT    NOT NULL,
		method      TEXT    NOT NULL,
		route       TEXT    NOT NULL,
		status      INTEGER NOT NULL,
		reason      TEXT    NOT NULL,
		body_bytes  INTEGER NOT NULL,
		body_sha256 TEXT    NOT NULL,
		headers     TEXT    NOT NULL
	);
	CREATE TABLE IF NOT EXISTS quarantine (
		seq         INTEGER PRIMARY KEY REFERENCES rejections (seq) ON DELETE CASCADE,
		provider    TEXT    NOT NULL,
		at          INTEGER NOT NULL,
		method      TEXT    NOT NULL,
		body        BLOB    NOT NULL,
		header      TEXT    NOT NULL,
		bytes       INTEGER NOT NULL,
		expires_at  INTEGER NOT NULL
	);
	CREATE INDEX IF NOT EXISTS quarantine_expires ON quarantine (expires_at);`

// registerGlob registers hookline_glob(pattern, value): path.Match, false
// for a malformed pattern. Functions are registered with the driver, for
// the connections it opens afterwards, once per process.
var registerGlob = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction("hookline_glob", 2,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			pattern, _ := args[0].(string)
			value, _ := args[1].(string)
			ok, _ := path.Match(pattern, value)
			return ok, nil
		})
})

// openConsole creates the console's tables if they are missing, and
// registers its SQL function (before Open opens the read connections that
// use it).
func openConsole(db *sql.DB) error {
	if err := registerGlob(); err != nil {
		return fmt.Errorf("sqlite: register hookline_glob: %w", err)
	}
	if _, err := db.Exec(consoleSchema + seriesSchema); err != nil {
		return fmt.Errorf("sqlite: console schema: %w", err)
	}
	// rejections.claims came after the table: add it to older files.
	var has int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('rejections') WHERE name = 'claims'`).Scan(&has); err != nil {
		return fmt.Errorf("sqlite: console schema: %w", err)
	}
	if has == 0 {
		if _, err := db.Exec(`ALTER TABLE rejections ADD COLUMN claims TEXT`); err != nil {
			return fmt.Errorf("sqlite: console schema: %w", err)
		}
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
		if _, err := tx.stmt(s.recordAttempt).Exec(a.EventID, a.Destination, a.Number, a.At.UnixNano(), a.Outcome,
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

// listColumns are the events row without bodies.
const listColumns = `e.id, e.provider, e.type, e.idempotency_key, e.entity_id, e.tenant, e.status,
	e.received_at, e.occurred_at, e.updated_at, e.expires_at, e.version, e.deliveries`

// ListEvents returns the events q selects, newest first, without Raw,
// Normalized and Meta (see store.EventQuery).
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error) {
	query, args, err := listQuery(q)
	if err != nil {
		return store.EventPage{}, err
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return store.EventPage{}, unavailable("list events", err)
	}
	defer rows.Close()
	var page store.EventPage
	for rows.Next() {
		var (
			ev                         store.Event
			received                   int64
			status                     string
			occurred, updated, expires sql.NullInt64
			deliveries                 sql.NullString
		)
		if err := rows.Scan(&ev.ID, &ev.Provider, &ev.Type, &ev.IdempotencyKey, &ev.EntityID, &ev.Tenant, &status,
			&received, &occurred, &updated, &expires, &ev.Version, &deliveries); err != nil {
			return store.EventPage{}, unavailable("list events", err)
		}
		ev.Status = store.Status(status)
		ev.ReceivedAt = time.Unix(0, received).UTC()
		ev.OccurredAt, ev.UpdatedAt, ev.ExpiresAt = fromNanos(occurred), fromNanos(updated), fromNanos(expires)
		if deliveries.Valid {
			if ev.Deliveries, err = store.UnmarshalDeliveries([]byte(deliveries.String)); err != nil {
				return store.EventPage{}, fmt.Errorf("event %s: %w", ev.ID, err)
			}
		}
		page.Events = append(page.Events, ev)
	}
	if err := rows.Err(); err != nil {
		return store.EventPage{}, unavailable("list events", err)
	}
	if len(page.Events) > q.Limit {
		page.Events = page.Events[:q.Limit]
		last := page.Events[q.Limit-1]
		page.Next = strconv.FormatInt(last.ReceivedAt.UnixNano(), 10) + "." + last.ID
	}
	return page, nil
}

// listQuery is the SQL of ListEvents and its arguments.
func listQuery(q store.EventQuery) (string, []any, error) {
	if err := q.Validate(); err != nil {
		return "", nil, err
	}
	var (
		where []string
		args  []any
	)
	term := func(sql string, vs ...any) {
		where = append(where, sql)
		args = append(args, vs...)
	}
	if q.Cursor != "" {
		at, id, ok := strings.Cut(q.Cursor, ".")
		ns, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || id == "" {
			return "", nil, fmt.Errorf("%w: cursor %q", store.ErrInvalid, q.Cursor)
		}
		term("(e.received_at, e.id) < (?, ?)", ns, id)
	}
	if q.Provider != "" {
		term("e.provider = ?", q.Provider)
	}
	if q.TypeGlob != "" {
		term("hookline_glob(?, e.type)", q.TypeGlob)
	}
	if q.Status != "" {
		term("e.status = ?", string(q.Status))
		if store.Listable(q.Status) {
			where = append(where, "e.status <> 'delivered'") // lets SQLite use the partial index events_open
		}
	}
	if q.Destination != "" {
		term("EXISTS (SELECT 1 FROM json_each(e.deliveries) d WHERE d.value ->> '$.destination' = ?)", q.Destination)
	}
	if !q.FailedSince.IsZero() {
		// A given-up delivery makes the event failed (or queued again by a
		// replay of another destination), never delivered: every candidate
		// is in the partial index events_open, which the query is made to
		// walk (below; the planner would rather walk events_received to
		// avoid a sort, reading every delivered event's JSON: 460 ms at
		// 100,000 events).
		term(`e.status <> 'delivered' AND EXISTS (SELECT 1 FROM json_each(e.deliveries) d
			WHERE d.value ->> '$.destination' = ? AND d.value ->> '$.failed_at' IS NOT NULL
			AND unixepoch(d.value ->> '$.failed_at', 'subsec') >= ?)`,
			q.Destination, float64(q.FailedSince.UnixNano())/1e9)
	}
	if !q.Since.IsZero() {
		term("e.received_at >= ?", q.Since.UnixNano())
	}
	if !q.Until.IsZero() {
		term("e.received_at < ?", q.Until.UnixNano())
	}
	if q.Text != "" {
		// An id pasted whole, or the start of one: index range scans, not
		// a scan of every event. (A substring search would read every
		// row: 0.5 s at 100,000 events.)
		hi := q.Text + "\U0010FFFF" // above every string starting with q.Text
		term(`(e.id = ? OR (e.entity_id >= ? AND e.entity_id < ? AND e.entity_id <> '')
			OR (e.tenant >= ? AND e.tenant < ? AND e.tenant <> ''))`, q.Text, q.Text, hi, q.Text, hi)
	}
	query := `SELECT ` + listColumns + ` FROM events e`
	if !q.FailedSince.IsZero() && q.Text == "" && q.Provider == "" {
		query += ` INDEXED BY events_open`
	}
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY e.received_at DESC, e.id DESC LIMIT ?`
	args = append(args, q.Limit+1) // one more: is there a next page?
	return query, args, nil
}

// maxStatsAttempts bounds how many attempt durations Stats reads for its
// percentiles; beyond it, the newest are used.
const maxStatsAttempts = 200_000

// Stats counts the events accepted per provider and the attempts per
// destination since since; the percentiles come from at most
// maxStatsAttempts of the newest attempts.
func (s *Store) Stats(ctx context.Context, since time.Time) (store.WindowStats, error) {
	if err := store.CheckTime(since); err != nil {
		return store.WindowStats{}, err
	}
	out := store.WindowStats{Since: since.UTC(), Accepted: map[string]int{}, Destinations: map[string]store.DestinationStats{}}
	cut := since.UnixNano()
	rows, err := s.r.QueryContext(ctx, `SELECT provider, count(*) FROM events WHERE received_at >= ? GROUP BY provider`, cut)
	if err != nil {
		return store.WindowStats{}, unavailable("stats", err)
	}
	for rows.Next() {
		var (
			p string
			n int
		)
		if err := rows.Scan(&p, &n); err != nil {
			rows.Close()
			return store.WindowStats{}, unavailable("stats", err)
		}
		out.Accepted[p] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.WindowStats{}, unavailable("stats", err)
	}

	if out.Duplicate, out.Rejected, err = s.minuteTotals(ctx, since); err != nil {
		return store.WindowStats{}, err
	}

	rows, err = s.r.QueryContext(ctx, `SELECT destination, outcome, duration_ns FROM attempts WHERE at >= ?
		ORDER BY at DESC LIMIT ?`, cut, maxStatsAttempts)
	if err != nil {
		return store.WindowStats{}, unavailable("stats", err)
	}
	defer rows.Close()
	var tally store.Tally
	for rows.Next() {
		var (
			dest, outcome string
			dur           int64
		)
		if err := rows.Scan(&dest, &outcome, &dur); err != nil {
			return store.WindowStats{}, unavailable("stats", err)
		}
		tally.Add(dest, outcome, time.Duration(dur))
	}
	if err := rows.Err(); err != nil {
		return store.WindowStats{}, unavailable("stats", err)
	}
	out.Destinations = tally.Stats()
	return out, nil
}

// RecordRejection keeps r among the newest store.RejectionsKept rejections
// (see store.Rejection): one insert, and the oldest beyond the bound
// deleted (not those still quarantined), in one write of the group commit.
func (s *Store) RecordRejection(ctx context.Context, r store.Rejection) error {
	return s.recordRejection(ctx, r, nil, store.QuarantineBounds{})
}

// RecordQuarantined records r and keeps q with it for re-verify, unless
// the entries not expired at r.At would then be over bounds: then r alone
// is recorded and the error is store.ErrQuarantineFull. One write.
func (s *Store) RecordQuarantined(ctx context.Context, r store.Rejection, q store.Quarantined, bounds store.QuarantineBounds) error {
	if q.ExpiresAt.IsZero() || len(q.Body) == 0 && len(q.Header) == 0 {
		return fmt.Errorf("%w: a quarantined delivery needs ExpiresAt and content", store.ErrInvalid)
	}
	return s.recordRejection(ctx, r, &q, bounds)
}

func (s *Store) recordRejection(ctx context.Context, r store.Rejection, q *store.Quarantined, bounds store.QuarantineBounds) error {
	if err := r.Validate(); err != nil {
		return err
	}
	headers := r.Headers
	if headers == nil {
		headers = []string{}
	}
	names, err := json.Marshal(headers)
	if err != nil {
		return fmt.Errorf("%w: headers: %w", store.ErrInvalid, err)
	}
	var claims any // NULL without claims
	if len(r.Claims) > 0 {
		b, err := json.Marshal(r.Claims)
		if err != nil {
			return fmt.Errorf("%w: claims: %w", store.ErrInvalid, err)
		}
		claims = string(b)
	}
	var qheader []byte
	if q != nil {
		if qheader, err = json.Marshal(q.Header); err != nil || len(qheader) > store.MaxQuarantineHeaderBytes {
			return fmt.Errorf("%w: quarantined header over %d bytes", store.ErrInvalid, store.MaxQuarantineHeaderBytes)
		}
	}
	full := false
	err = s.write(ctx, func(tx *groupTx) error {
		full = false
		res, err := tx.Exec(`INSERT INTO rejections (at, provider, method, route, status, reason, body_bytes, body_sha256, headers, claims)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.At.UnixNano(), r.Provider, r.Method, r.Route, r.Status, r.Reason,
			r.BodyBytes, r.BodySHA256, string(names), claims)
		if err != nil {
			return unavailable("record rejection", err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return unavailable("record rejection", err)
		}
		if _, err := tx.Exec(`DELETE FROM quarantine WHERE expires_at <= ?`, r.At.UnixNano()); err != nil {
			return unavailable("record rejection", err)
		}
		if q != nil {
			var count, bytes int64
			if err := tx.QueryRow(`SELECT count(*), coalesce(sum(bytes), 0) FROM quarantine`).Scan(&count, &bytes); err != nil {
				return unavailable("record rejection", err)
			}
			if count+1 > int64(bounds.MaxCount) || bytes+q.Size() > bounds.MaxBytes {
				full = true
			} else if _, err := tx.Exec(`INSERT INTO quarantine (seq, provider, at, method, body, header, bytes, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seq, r.Provider, r.At.UnixNano(), r.Method, append([]byte{}, q.Body...), string(qheader),
				q.Size(), q.ExpiresAt.UnixNano()); err != nil {
				return unavailable("record rejection", err)
			}
		}
		if _, err := tx.Exec(`DELETE FROM rejections WHERE seq <= ? AND seq NOT IN (SELECT seq FROM quarantine)`,
			seq-store.RejectionsKept); err != nil {
			return unavailable("record rejection", err)
		}
		return nil
	}, true)
	if err == nil && full {
		return store.ErrQuarantineFull
	}
	return err
}

// Rejections returns up to limit of the kept rejections, newest first.
func (s *Store) Rejections(ctx context.Context, limit int) ([]store.Rejection, error) {
	if limit < 1 || limit > store.MaxRejectionsPerPage {
		return nil, fmt.Errorf("%w: limit %d, want 1 to %d", store.ErrInvalid, limit, store.MaxRejectionsPerPage)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT r.seq, r.at, r.provider, r.method, r.route, r.status, r.reason, r.body_bytes,
			r.body_sha256, r.headers, r.claims, q.expires_at
		FROM rejections r LEFT JOIN quarantine q ON q.seq = r.seq AND q.expires_at > ?
		ORDER BY r.seq DESC LIMIT ?`, time.Now().UnixNano(), limit)
	if err != nil {
		return nil, unavailable("rejections", err)
	}
	defer rows.Close()
	var out []store.Rejection
	for rows.Next() {
		var (
			r       store.Rejection
			seq, at int64
			headers string
			claims  sql.NullString
			qexp    sql.NullInt64
		)
		if err := rows.Scan(&seq, &at, &r.Provider, &r.Method, &r.Route, &r.Status, &r.Reason, &r.BodyBytes,
			&r.BodySHA256, &headers, &claims, &qexp); err != nil {
			return nil, unavailable("rejections", err)
		}
		r.ID, r.At = strconv.FormatInt(seq, 10), time.Unix(0, at).UTC()
		if err := json.Unmarshal([]byte(headers), &r.Headers); err != nil {
			return nil, fmt.Errorf("rejection %d: headers: %w", seq, err)
		}
		if claims.Valid {
			if err := json.Unmarshal([]byte(claims.String), &r.Claims); err != nil {
				return nil, fmt.Errorf("rejection %d: claims: %w", seq, err)
			}
		}
		if qexp.Valid {
			r.Quarantined, r.QuarantineExpiresAt = true, time.Unix(0, qexp.Int64).UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("rejections", err)
	}
	return out, nil
}

// Quarantined returns the delivery kept for the rejection id, or
// store.ErrNotFound when none is (or it has expired).
func (s *Store) Quarantined(ctx context.Context, id string) (store.Quarantined, error) {
	seq, err := strconv.ParseInt(id, 10, 64)
	if err != nil || seq < 1 {
		return store.Quarantined{}, fmt.Errorf("%w: no quarantined delivery %q", store.ErrNotFound, id)
	}
	var (
		q       store.Quarantined
		at, exp int64
		header  string
	)
	err = s.r.QueryRowContext(ctx, `SELECT provider, at, method, body, header, expires_at FROM quarantine
		WHERE seq = ? AND expires_at > ?`, seq, time.Now().UnixNano()).Scan(&q.Provider, &at, &q.Method, &q.Body, &header, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Quarantined{}, fmt.Errorf("%w: no quarantined delivery %q", store.ErrNotFound, id)
	}
	if err != nil {
		return store.Quarantined{}, unavailable("quarantined", err)
	}
	if err := json.Unmarshal([]byte(header), &q.Header); err != nil {
		return store.Quarantined{}, fmt.Errorf("quarantined %d: header: %w", seq, err)
	}
	q.ID, q.At, q.ExpiresAt = id, time.Unix(0, at).UTC(), time.Unix(0, exp).UTC()
	return q, nil
}
