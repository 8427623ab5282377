package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/store/storetest"
)

// seedHour stores an hour of traffic in the SQLite file of dir, as serve
// would have left it: per minute a few events of each provider, their
// attempts at crm (latency rising and falling), a partner-api outage in
// the middle of the hour (given-up attempts), and the flushed duplicate
// and rejection counts.
func seedHour(t *testing.T, dir string, now time.Time) (accepted int) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(dir, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	start := now.Truncate(time.Minute).Add(-59 * time.Minute)
	var counts []store.MinuteCount
	for m := range 60 {
		at := start.Add(time.Duration(m) * time.Minute)
		for p, n := range map[string]int{"leadron": 2 + m%4, "tomba": 1 + (m/7)%3, "journeybee": (m % 3)} {
			for i := range n {
				ev := storetest.NewEvent(p, fmt.Sprintf("seed_%s_%d_%d", p, m, i), at.Add(time.Duration(i*7)*time.Second))
				ev.Type = map[string]string{"leadron": "leadron.lead.created", "tomba": "tomba.save_lead", "journeybee": "journeybee.deal_created"}[p]
				if _, err := st.Put(ctx, ev, ev.ReceivedAt.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				accepted++
				crm := 40 + 30*math.Sin(float64(m)/8) + float64(i*9)
				att := store.Attempt{EventID: ev.ID, Destination: "crm", Number: 1, At: ev.ReceivedAt.Add(time.Second),
					Outcome: "delivered", StatusCode: 200, Duration: time.Duration(crm * float64(time.Millisecond))}
				if err := st.RecordAttempt(ctx, att); err != nil {
					t.Fatal(err)
				}
				done := att.At.Add(att.Duration)
				ds := []store.Delivery{{Destination: "crm", Attempts: 1, LastStatusCode: 200, LastAttemptAt: att.At, DeliveredAt: done}}
				status := store.StatusDelivered
				filtered := att
				filtered.Destination, filtered.Outcome, filtered.StatusCode, filtered.Duration = "hot-leads", "filtered", 0, 0
				if err := st.RecordAttempt(ctx, filtered); err != nil {
					t.Fatal(err)
				}
				if p == "journeybee" {
					att.Destination, att.Duration = "partner-api", time.Duration(120+m*3)*time.Millisecond
					d := store.Delivery{Destination: "partner-api", Attempts: 1, LastStatusCode: 200, LastAttemptAt: att.At, DeliveredAt: done}
					if m >= 25 && m < 35 {
						att.Outcome, att.StatusCode, att.Error = "failed", 503, "http_503"
						d.LastStatusCode, d.LastClass, d.DeliveredAt, d.FailedAt = 503, "http_503", time.Time{}, done
						status = store.StatusFailed
					}
					if err := st.RecordAttempt(ctx, att); err != nil {
						t.Fatal(err)
					}
					ds = append(ds, d, store.Delivery{Destination: "hot-leads", FilteredAt: done})
				} else {
					ds = append(ds, store.Delivery{Destination: "hot-leads", FilteredAt: done},
						store.Delivery{Destination: "audit-log", Attempts: 1, LastAttemptAt: att.At, DeliveredAt: done})
					att.Destination, att.Duration = "audit-log", time.Duration(40+m)*time.Microsecond
					if err := st.RecordAttempt(ctx, att); err != nil {
						t.Fatal(err)
					}
				}
				// Settled as the processor leaves them: nothing for serve's
				// sweeper to send again.
				if ok, err := st.SaveDeliveries(ctx, ev.ID, 0, ds, status); !ok || err != nil {
					t.Fatalf("SaveDeliveries: %v %v", ok, err)
				}
			}
		}
		counts = append(counts, store.MinuteCount{Minute: at, Provider: "leadron", Duplicate: m % 2, Rejected: map[bool]int{true: 3}[m >= 40 && m < 44]},
			store.MinuteCount{Minute: at, Provider: "tomba", Duplicate: (m / 5) % 2})
	}
	if err := st.AddMinuteCounts(ctx, counts); err != nil {
		t.Fatal(err)
	}
	return accepted
}

// TestConsoleChartsInBrowser: over an hour of stored traffic, the Charts
// page draws a bar in every minute that had deliveries, the rejections
// where there were some, and a latency line per destination; the
// Destinations page draws each card's sparkline. It saves both
// screenshots (the README's charts.png and destinations.png).
func TestConsoleChartsInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	dir := t.TempDir()
	if n := seedHour(t, dir, time.Now()); n < 200 {
		t.Fatalf("seeded %d events", n)
	}
	cfg := consoleConfig(t, flakySink(t), refusingSink(t))
	s := startConsoleServe(t, "--config", cfg, "--data", dir) // the last --data wins
	ctx := browser(t)
	if err := do(ctx, chromedp.Navigate(s.consoleURL+"#/charts"), chromedp.WaitVisible(css("#charts"))); err != nil {
		t.Fatalf("%v\n%s", err, s.logs)
	}
	// leadron has deliveries in each of the 60 seeded minutes (the first
	// may have left the window if a minute turned since the seeding).
	if n, err := count(ctx, `#charts .chart.ingest[data-provider="leadron"] rect.k-accepted`); err != nil || n < 59 {
		t.Errorf("leadron: %d accepted bars (%v), want one per minute of the hour", n, err)
	}
	waitCount(t, ctx, `#charts .chart.ingest[data-provider="leadron"] rect.k-rejected`, 4)
	for _, sel := range []string{`.chart.latency[data-destination="crm"] path.k-p50`, `.chart.latency[data-destination="partner-api"] path.k-p99`} {
		if n, err := count(ctx, "#charts "+sel); err != nil || n != 1 {
			t.Errorf("%s: %d (%v)", sel, n, err)
		}
	}
	if total, err := text(ctx, `#charts .chart.latency[data-destination="partner-api"] .chead`); err != nil || !strings.Contains(total, "given up") {
		t.Errorf("partner-api's totals = %q (%v): want its given-up attempts", total, err)
	}
	shot(t, ctx, "charts")

	if err := do(ctx, chromedp.Navigate(s.consoleURL+"#/destinations"), chromedp.WaitVisible(css("#destinations"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#destinations .dest svg.spark`, 4)
	// The outage: the minutes of partner-api's given-up attempts are red.
	if n, err := count(ctx, `#destinations .dest[data-destination="partner-api"] svg.spark rect.sfail`); err != nil || n < 5 {
		t.Errorf("partner-api's sparkline has %d red minutes (%v), want the outage's", n, err)
	}
	shot(t, ctx, "destinations")
}
