package embedded

import (
	"context"
	"time"

	"github.com/hookline/hookline/shared/queue"
)

// ListDead returns up to limit dead letters, the most recently
// dead-lettered first, for the console (DeadLetters serves the contract
// tests and keeps its order).
func (q *Queue) ListDead(ctx context.Context, limit int) ([]queue.DeadLetter, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := q.db.QueryContext(ctx, `
		SELECT event_id, event_type, receive_count, COALESCE(dead_at, 0) FROM queue_messages
		WHERE dead = 1 ORDER BY dead_at DESC, id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, unavailable("dead letters", err)
	}
	defer rows.Close()
	var out []queue.DeadLetter
	for rows.Next() {
		var (
			d  queue.DeadLetter
			at int64
		)
		if err := rows.Scan(&d.EventID, &d.Type, &d.ReceiveCount, &at); err != nil {
			return nil, unavailable("dead letters: scan", err)
		}
		if at > 0 {
			d.At = time.UnixMilli(at).UTC()
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, unavailable("dead letters", err)
	}
	return out, nil
}

// CountDead counts the dead letters of eventID (of every event when "").
func (q *Queue) CountDead(ctx context.Context, eventID string) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM queue_messages WHERE dead = 1 AND (?1 = '' OR event_id = ?1)`,
		eventID).Scan(&n)
	if err != nil {
		return 0, unavailable("count dead letters", err)
	}
	return n, nil
}

// RedriveDead returns the dead letters of eventID (every dead letter when
// "": Redrive) to the queue, visible at once with their receive count reset,
// and says how many it moved.
func (q *Queue) RedriveDead(ctx context.Context, eventID string) (int, error) {
	if eventID == "" {
		return q.Redrive(ctx)
	}
	res, err := q.db.ExecContext(ctx, `
		UPDATE queue_messages
		SET dead = 0, dead_at = NULL, receive_count = 0, visible_at = ?, lease = ''
		WHERE dead = 1 AND event_id = ?`, q.now().UnixMilli(), eventID)
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
