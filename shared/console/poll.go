package console

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/store"
)

// pollPage is how many of the newest events Poll looks at each time.
const pollPage = 50

// Poll feeds the live stream from the store, for a console whose events are
// written by other processes (`hookline console --aws`: the Lambdas), where
// ObserveIngest and Recorder never run. While a page is subscribed, every
// interval it lists the newest pollPage events and publishes "event" for an
// id it has not seen and "attempt" (event id and destination) for a
// delivery whose attempts or state changed since its last look. The first
// look after a quiet spell only takes note. It runs until ctx ends. On
// DynamoDB a look is one list page (see store/dynamo: about 50 read units),
// so at 5 s about 36,000 read units an hour while a page is open.
func (c *Console) Poll(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var seen map[string]string // event id → its deliveries' signature; nil: no baseline
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if !c.hub.subscribed() {
			seen = nil
			continue
		}
		page, err := c.st.ListEvents(ctx, store.EventQuery{Limit: pollPage})
		if err != nil {
			c.o.Log.LogAttrs(ctx, slog.LevelWarn, "console_poll", slog.String("error", err.Error()))
			continue
		}
		next := make(map[string]string, len(page.Events))
		// Oldest first, so the page gets them in the order they happened.
		for i := len(page.Events) - 1; i >= 0; i-- {
			ev := page.Events[i]
			sig := signature(ev)
			next[ev.ID] = sig
			if seen == nil {
				continue
			}
			old, ok := seen[ev.ID]
			switch {
			case !ok:
				c.hub.publish("event", streamEvent{ID: ev.ID, Provider: ev.Provider, Type: ev.Type, Outcome: ingest.OutcomeNew, Status: 200})
			case old != sig:
				for _, d := range ev.Deliveries {
					c.hub.publish("attempt", streamAttempt{EventID: ev.ID, Destination: d.Destination, Attempt: d.Attempts,
						At: d.LastAttemptAt, StatusCode: d.LastStatusCode, Error: d.LastClass, Outcome: stateOf(d)})
				}
			}
		}
		seen = next
	}
}

// signature is what Poll compares of an event: its status and each
// delivery's attempts and state.
func signature(ev store.Event) string {
	s := string(ev.Status)
	for _, d := range ev.Deliveries {
		s += "|" + d.Destination + ":" + stateOf(d) + ":" + strconv.Itoa(d.Attempts)
	}
	return s
}
