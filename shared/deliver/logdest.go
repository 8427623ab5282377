package deliver

import (
	"context"
	"log/slog"

	"github.com/hookline/hookline/shared/store"
)

// Log is the log destination: one line per event on the processor's logger,
// with the event's id, type, provider and the destination's name. Never the
// body or any of its fields. It always succeeds.
type Log struct {
	name string
	log  *slog.Logger
}

// NewLog returns the log destination name, writing to log (nil: discarded).
func NewLog(name string, log *slog.Logger) *Log {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Log{name: name, log: log}
}

// Name is the destination's configured name.
func (l *Log) Name() string { return l.name }

// Deliver writes the summary line.
func (l *Log) Deliver(ctx context.Context, ev store.Event, attempt int) Outcome {
	l.log.LogAttrs(ctx, slog.LevelInfo, "event",
		slog.String("event_id", ev.ID),
		slog.String("type", ev.Type),
		slog.String("provider", ev.Provider),
		slog.String("destination", l.name),
	)
	return Outcome{OK: true}
}
