package console

import (
	"context"
	"sync"
	"time"

	"github.com/go-json-experiment/json"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
)

// message is one server-sent event: its name and JSON data.
type message struct {
	name string
	data []byte
}

// hub fans messages out to the stream's subscribers and counts ingest
// outcomes per provider and minute (what the store does not keep:
// duplicates and rejections).
type hub struct {
	now func() time.Time

	mu     sync.Mutex
	subs   map[chan message]struct{}
	counts map[int64]map[string]*ingestCounts // minute (Unix) → provider
}

type ingestCounts struct{ accepted, duplicate, rejected int }

// subscriberBuffer is how many messages a slow stream client may fall
// behind before messages are dropped for it (the page refreshes from the
// API on the next one, so a drop loses nothing stored).
const subscriberBuffer = 256

// countsKept is how long the ingest counters are kept.
const countsKept = 24 * time.Hour

func newHub(now func() time.Time) *hub {
	return &hub{now: now, subs: map[chan message]struct{}{}, counts: map[int64]map[string]*ingestCounts{}}
}

func (h *hub) subscribe() (<-chan message, func()) {
	ch := make(chan message, subscriberBuffer)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	return ch, func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}
}

// subscribed reports whether any stream is open.
func (h *hub) subscribed() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs) > 0
}

func (h *hub) publish(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	m := message{name: name, data: data}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- m:
		default: // a slow client: drop
		}
	}
}

// count adds one ingest outcome of provider.
func (h *hub) count(provider, outcome string) {
	now := h.now()
	minute := now.Unix() / 60
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.counts[minute]
	if m == nil {
		m = map[string]*ingestCounts{}
		h.counts[minute] = m
		for k := range h.counts {
			if k < (now.Add(-countsKept).Unix())/60 {
				delete(h.counts, k)
			}
		}
	}
	c := m[provider]
	if c == nil {
		c = &ingestCounts{}
		m[provider] = c
	}
	switch outcome {
	case ingest.OutcomeNew:
		c.accepted++
	case ingest.OutcomeDuplicate, ingest.OutcomeRequeued:
		c.duplicate++
	case ingest.OutcomeRejected:
		c.rejected++
	}
}

// pending are the duplicate and rejection counts of the minutes before
// before (Unix minutes), for a flush.
func (h *hub) pending(before int64) []store.MinuteCount {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []store.MinuteCount
	for minute, m := range h.counts {
		if minute >= before {
			continue
		}
		for p, c := range m {
			if c.duplicate > 0 || c.rejected > 0 {
				out = append(out, store.MinuteCount{Minute: time.Unix(minute*60, 0).UTC(), Provider: p,
					Duplicate: c.duplicate, Rejected: c.rejected})
			}
		}
	}
	return out
}

// subtract takes flushed counts off (more may have been counted in the
// same minute since pending), and drops the minutes left at zero.
func (h *hub) subtract(cs []store.MinuteCount) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, fc := range cs {
		minute := fc.Minute.Unix() / 60
		m := h.counts[minute]
		if c := m[fc.Provider]; c != nil {
			c.duplicate -= fc.Duplicate
			c.rejected -= fc.Rejected
			c.accepted = 0 // accepted events are counted from the store
			if c.duplicate == 0 && c.rejected == 0 {
				delete(m, fc.Provider)
			}
		}
		if len(m) == 0 {
			delete(h.counts, minute)
		}
	}
}

// minutes copies the counters of the minutes from from to before to.
func (h *hub) minutes(from, to int64) map[int64]map[string]ingestCounts {
	out := map[int64]map[string]ingestCounts{}
	h.mu.Lock()
	defer h.mu.Unlock()
	for minute, m := range h.counts {
		if minute < from || minute >= to {
			continue
		}
		cp := map[string]ingestCounts{}
		for p, c := range m {
			cp[p] = *c
		}
		out[minute] = cp
	}
	return out
}

// since sums the counters of the minutes from since on.
func (h *hub) since(since time.Time) map[string]ingestCounts {
	out := map[string]ingestCounts{}
	from := since.Unix() / 60
	h.mu.Lock()
	defer h.mu.Unlock()
	for minute, m := range h.counts {
		if minute < from {
			continue
		}
		for p, c := range m {
			s := out[p]
			s.accepted += c.accepted
			s.duplicate += c.duplicate
			s.rejected += c.rejected
			out[p] = s
		}
	}
	return out
}

// streamEvent is the data of a stream "event" message: a delivery was
// accepted (new, or a duplicate re-enqueued), or rejected.
type streamEvent struct {
	ID       string `json:"id,omitzero"`
	Provider string `json:"provider"`
	Type     string `json:"type,omitzero"`
	Outcome  string `json:"outcome"`
	Status   int    `json:"status"`
	Reason   string `json:"reason,omitzero"`
}

// ObserveIngest is an ingest.Handler Observe hook: it counts the outcome
// and tells the stream about new events ("event") and rejections
// ("rejection"). Nothing of the body or headers is in the result.
func (c *Console) ObserveIngest(r ingest.Result) {
	c.hub.count(r.Provider, r.Outcome)
	m := streamEvent{ID: r.EventID, Provider: r.Provider, Type: r.Type, Outcome: r.Outcome, Status: r.Status, Reason: r.Reason}
	switch r.Outcome {
	case ingest.OutcomeNew, ingest.OutcomeRequeued:
		c.hub.publish("event", m)
	case ingest.OutcomeRejected:
		c.hub.publish("rejection", m)
	}
}

// Recorder wraps the attempt history rec: every attempt recorded is also
// told to the stream ("attempt"), after it is stored, so a page that
// reloads the event on the message sees it.
func (c *Console) Recorder(rec deliver.AttemptRecorder) deliver.AttemptRecorder {
	return recorder{rec: rec, c: c}
}

type recorder struct {
	rec deliver.AttemptRecorder
	c   *Console
}

func (r recorder) RecordAttempt(ctx context.Context, a store.Attempt) error {
	err := r.rec.RecordAttempt(ctx, a)
	r.c.hub.publish("attempt", attemptMessage(a))
	return err
}

// streamAttempt is the data of a stream "attempt" message: the attempt
// without its response (the page reads that with the event).
type streamAttempt struct {
	EventID     string    `json:"event_id"`
	Destination string    `json:"destination"`
	Attempt     int       `json:"attempt"`
	At          time.Time `json:"at"`
	Outcome     string    `json:"outcome"`
	StatusCode  int       `json:"status_code"`
	Error       string    `json:"error"`
	DurationMS  float64   `json:"duration_ms"`
}

func attemptMessage(a store.Attempt) streamAttempt {
	return streamAttempt{EventID: a.EventID, Destination: a.Destination, Attempt: a.Number, At: a.At,
		Outcome: a.Outcome, StatusCode: a.StatusCode, Error: a.Error, DurationMS: ms(a.Duration)}
}
