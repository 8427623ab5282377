package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/store/storetest"
)

// EnvChromium names the Chromium binary of the browser tests (make test
// sets it from .ci/chromium); else /usr/bin/chromium or chromium on PATH.
const EnvChromium = "HOOKLINE_CHROMIUM"

// chromiumPath finds Chromium, or skips the test: fails it under
// HOOKLINE_REQUIRE_SERVICES=1 (make test), where a skipped browser test
// would pass a console nobody looked at.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv(EnvChromium), "/usr/bin/chromium"} {
		if c != "" {
			if _, err := os.Stat(c); err == nil {
				return c
			}
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	msg := "Chromium not found; install it with: .ci/chromium install"
	if os.Getenv(storetest.EnvRequireServices) == "1" {
		t.Fatalf("%s (required: %s=1)", msg, storetest.EnvRequireServices)
	}
	t.Skip(msg)
	return ""
}

// browser starts a headless Chromium for the test: no sandbox (containers),
// nothing that reaches out to the network (the machine has none), a fresh
// profile, and rebind.test resolving to 127.0.0.1 (the DNS rebinding case).
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP rebind.test 127.0.0.1"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser now, with no deadline on this first call (its
	// context is the browser's life); every later step has its own (step).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// stepTimeout bounds one browser step.
const stepTimeout = 30 * time.Second

// do runs browser actions with stepTimeout.
func do(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// step runs one browser action with stepTimeout and returns its value.
func step[T any](ctx context.Context, a chromedp.Action[T]) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	return chromedp.Run(ctx, a)
}

// shot saves a full-page screenshot as name.png in the test's artifact
// directory (go test -artifacts -outputdir DIR keeps them).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := step(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(t.ArtifactDir(), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// flakySink is an HTTP destination that answers each event's first
// delivery 503 and every later one 200.
func flakySink(t *testing.T) string {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.Header.Get("webhook-id")]++
		n := seen[r.Header.Get("webhook-id")]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if n == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprint(w, `{"error":"crm is busy, retry later"}`)
			return
		}
		fmt.Fprintf(w, `{"ok":true,"received":%q}`, r.Header.Get("webhook-id"))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// refusingSink is an HTTP destination that refuses every delivery (422).
func refusingSink(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		fmt.Fprint(w, `{"error":"unknown deal pipeline"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// consoleConfig writes a config with the development secrets, an HTTP
// destination at sink for every event, one at refusing for JourneyBee
// deals, a log destination, one whose filter takes only Tomba, and a fast
// retry schedule.
func consoleConfig(t *testing.T, sink, refusing string) string {
	yaml := fmt.Sprintf(`sources:
  journeybee: { secrets: [%q] }
  leadron:    { secrets: [%q] }
  tomba:      { header: X-Tomba-Token, secrets: [%q] }
destinations:
  - name: crm
    type: http
    url: %s
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    events: ["*"]
  - name: partner-api
    type: http
    url: %s
    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
    events: ["journeybee.deal_*"]
  - name: audit-log
    type: log
    events: ["leadron.*", "tomba.*"]
  - name: hot-leads
    type: log
    events: ["*"]
    filter: '.provider == "tomba"'
processor:
  backoff_base: 200ms
  backoff_cap: 400ms
`, config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken, sink, refusing)
	path := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// sendSample runs `hookline send` against s.
func sendSample(t *testing.T, s *consoleServe, cfg, provider, event string) {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "send", "--url", s.url, "--config", cfg, provider, event).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"accepted"`) {
		t.Fatalf("hookline send %s %s: %v\n%s", provider, event, err, out)
	}
}

// count returns how many elements match the CSS selector sel right now.
func count(ctx context.Context, sel string) (int, error) {
	return step(ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
}

// text is the text of the first element matching the CSS selector sel.
func text(ctx context.Context, sel string) (string, error) {
	return step(ctx, chromedp.Text(chromedp.CSS(sel)))
}

// waitCount waits until exactly want nodes match sel.
func waitCount(t *testing.T, ctx context.Context, sel string, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		n, err := count(ctx, sel)
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			html, _ := step(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
			t.Fatalf("%d nodes match %s, want %d; main:\n%.3000s", n, sel, want, html)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitText waits until the text of the first node matching sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := step(ctx, chromedp.Evaluate[string](fmt.Sprintf("(document.querySelector(%q) || {}).textContent || ''", sel)))
		if err == nil && strings.Contains(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: text %q (%v), want it to contain %q", sel, got, err, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAttempts waits until the console's stats count n attempts at dest
// over the last hour.
func waitAttempts(t *testing.T, s *consoleServe, dest string, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var st struct {
			Destinations map[string]struct {
				Attempts int `json:"attempts"`
			} `json:"destinations"`
		}
		getJSON(t, s.consoleURL+"api/stats?window=1h", &st)
		if st.Destinations[dest].Attempts == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d attempts, want %d", dest, st.Destinations[dest].Attempts, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// css is a CSS selector (a plain string would be a DOM search, which also
// matches text).
func css(format string, a ...any) chromedp.CSS { return chromedp.CSS(fmt.Sprintf(format, a...)) }

// TestConsoleInBrowser drives the console page in headless Chromium against
// a real hookline serve: the page loads; a delivery sent with hookline send
// appears live (no reload); its detail shows the attempts (a 503, then the
// success the retry got, arriving live); a replay, confirmed in the dialog,
// adds a new attempt; a filtered delivery shows as filtered, and the detail
// previews what each destination receives; the destinations page shows
// health and sparklines; Recover failed and Replay all matching show the
// dry run's count before anything is sent, then the job's progress; a
// forged delivery shows in Rejections with its reason; the charts draw it
// and the deliveries; the console under another name is refused (DNS
// rebinding); a console with a token asks for it. It saves a screenshot of
// each page.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	start := time.Now()
	cfg := consoleConfig(t, flakySink(t), refusingSink(t))
	s := startConsoleServe(t, "--config", cfg)
	t.Logf("serve up after %v", time.Since(start))
	ctx := browser(t)
	t.Logf("browser up after %v", time.Since(start))

	// The page loads, with its filters and an empty list, and goes live.
	if err := do(ctx,
		chromedp.Navigate(s.consoleURL),
		chromedp.WaitVisible(css("#events")),
		chromedp.WaitVisible(css("#live.on")),
	); err != nil {
		t.Fatalf("load the page: %v\n%s", err, s.logs)
	}
	waitCount(t, ctx, "#events tr.event", 0)
	t.Logf("page loaded after %v", time.Since(start))

	// hookline send: the row appears without a reload.
	sendSample(t, s, cfg, "leadron", "lead.created")
	waitCount(t, ctx, "#events tr.event", 1)
	attr, err := step(ctx, chromedp.AttributeValue(css("#events tr.event"), "data-id"))
	id := attr.Value
	if err != nil || id == "" {
		t.Fatalf("row id: %q %v", id, err)
	}
	for _, p := range [][2]string{{"tomba", "save_lead"}, {"journeybee", "lead_created"}, {"leadron", "opportunity.won"}, {"journeybee", "deal_created"}} {
		sendSample(t, s, cfg, p[0], p[1])
	}
	waitCount(t, ctx, "#events tr.event", 5)
	// Every crm delivery is retried once (the sink's 503), then delivered;
	// partner-api refuses the deal (422): failed after one attempt;
	// hot-leads' filter takes the Tomba event only.
	waitCount(t, ctx, "#events .chip.s-delivered", 9)
	waitCount(t, ctx, "#events .chip.s-failed", 1)
	waitCount(t, ctx, "#events .chip.s-filtered", 4)
	t.Logf("5 events delivered after %v", time.Since(start))
	shot(t, ctx, "events")

	// Open the first event: its attempts as a timeline, the retry included.
	if err := do(ctx,
		chromedp.Click(css(`#events tr.event[data-id="%s"]`, id)),
		chromedp.WaitVisible(css("#detail")),
	); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#detail .delivery[data-destination="crm"] .attempt`, 2)
	waitCount(t, ctx, `#detail .delivery[data-destination="crm"] .attempt[data-outcome="retry"]`, 1)
	waitCount(t, ctx, `#detail .delivery[data-destination="audit-log"] .attempt[data-outcome="delivered"]`, 1)
	if response, err := text(ctx, `#detail .delivery[data-destination="crm"] .attempt[data-outcome="retry"] pre.response`); err != nil ||
		!strings.Contains(response, "crm is busy") {
		t.Errorf("the retry's response excerpt = %q, %v", response, err)
	}
	if body, err := text(ctx, "#detail pre.json"); err != nil || !strings.Contains(body, `"type": "lead.created"`) {
		t.Errorf("pretty-printed body = %.200q, %v", body, err)
	}
	// The filtered delivery, and what each destination would receive.
	waitCount(t, ctx, `#detail .delivery[data-destination="hot-leads"] .dhead .pill.s-filtered`, 1)
	waitCount(t, ctx, `#previews details.preview[data-destination="hot-leads"][data-filtered="1"]`, 1)
	waitCount(t, ctx, `#previews details.preview[data-destination="crm"][data-filtered="0"] pre.json`, 1)
	if ce, err := text(ctx, `#previews details.preview[data-destination="crm"] pre.json`); err != nil || !strings.Contains(ce, `"specversion": "1.0"`) {
		t.Errorf("crm's preview = %.200q, %v: want the CloudEvent it receives", ce, err)
	}
	shot(t, ctx, "event")

	// Replay: the dialog asks, then the new attempt shows in the timeline.
	if err := do(ctx,
		chromedp.Click(css("#replay-all")),
		chromedp.WaitVisible(css("#confirm")),
	); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, "replay-confirm")
	if err := do(ctx, chromedp.Click(css("#confirm-ok"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#detail .delivery[data-destination="crm"] .attempt`, 3)
	waitCount(t, ctx, `#detail .delivery[data-destination="crm"] .attempt[data-outcome="delivered"]`, 2)
	waitCount(t, ctx, `#detail .delivery[data-destination="audit-log"] .attempt`, 2)
	t.Logf("replayed after %v", time.Since(start))
	shot(t, ctx, "event-replayed")

	// Destinations: health per destination.
	if err := do(ctx,
		chromedp.Click(css(`nav a[data-nav="destinations"]`)),
		chromedp.WaitVisible(css("#destinations")),
	); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#destinations .dest`, 4)
	if rate, err := text(ctx, `#destinations .dest[data-destination="audit-log"] .big`); err != nil || rate != "100.0%" {
		t.Errorf("audit-log success rate = %q, %v", rate, err)
	}
	// Each card's latency sparkline, and hot-leads' filtered events apart
	// from its attempts (4, and the replayed event filtered again).
	waitCount(t, ctx, `#destinations .dest svg.spark`, 4)
	waitCount(t, ctx, `#destinations .dest[data-destination="crm"] svg.spark rect.sok`, 1)
	waitText(t, ctx, `#destinations .dest[data-destination="hot-leads"] .dfoot`, "5 filtered out")
	shot(t, ctx, "destinations")

	// Recover: the dialog counts partner-api's given-up delivery (the deal)
	// before anything is replayed.
	if err := do(ctx, chromedp.Click(css(`#destinations button[data-recover="partner-api"]`)), chromedp.WaitVisible(css("#bulk"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#bulk-count", "1 event will be replayed")
	shot(t, ctx, "recover-confirm")
	if err := do(ctx, chromedp.Click(css("#bulk-cancel"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#bulk", 0)

	// Bulk replay from the events list: the confirmation shows the dry
	// run's count of every matching event, then the job's progress.
	if err := do(ctx,
		chromedp.Click(css(`nav a[data-nav="events"]`)),
		chromedp.WaitVisible(css("#events")),
		chromedp.SetValue(css(`#filters select[name="provider"]`), "leadron"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#filters select[name="provider"]').dispatchEvent(new Event("change"))`),
	); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#events tr.event", 2)
	if err := do(ctx, chromedp.Click(css("#replay-matching")), chromedp.WaitVisible(css("#bulk"))); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#bulk-count", "2 events will be replayed")
	shot(t, ctx, "bulk-replay-confirm")
	if err := do(ctx, chromedp.Click(css("#bulk-ok"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#bulk[data-state="done"]`, 1)
	waitText(t, ctx, "#bulk-status", "2 of 2 replayed")
	shot(t, ctx, "bulk-replay-done")
	if err := do(ctx, chromedp.Click(css("#bulk-cancel"))); err != nil {
		t.Fatal(err)
	}
	// Each leadron event's audit-log delivery goes again: 2 attempts more
	// than the 3 first ones and the single replay's.
	waitAttempts(t, s, "audit-log", 3+1+2)

	// A forged delivery: listed in Rejections, live, with its reason in words.
	if err := do(ctx, chromedp.Click(css(`nav a[data-nav="rejections"]`)), chromedp.WaitVisible(css("#rejections"))); err != nil {
		t.Fatal(err)
	}
	body, hdr := delivery(t, "leadron", 99)
	hdr.Set("X-Leadron-Signature", "sha256="+strings.Repeat("0", 64))
	if code, _, _ := post(s.url+"/webhooks/leadron", body, hdr); code != 401 {
		t.Fatalf("forged delivery answered %d, want 401", code)
	}
	waitCount(t, ctx, `#rejections tr.rejection[data-reason="bad_signature"]`, 1)
	if why, err := text(ctx, "#rejections tr.rejection td.why"); err != nil || !strings.Contains(why, "signing secret in Leadron") {
		t.Errorf("the rejection's reason in words = %q, %v", why, err)
	}
	if row, err := text(ctx, "#rejections tr.rejection"); err != nil || strings.Contains(row, strings.Repeat("0", 64)) || !strings.Contains(row, "X-Leadron-Signature") {
		t.Errorf("the rejection row = %q (%v): want the header's name, never its value", row, err)
	}
	shot(t, ctx, "rejections")

	// Charts: per-minute ingest per provider (the rejection included) and
	// latency per destination, drawn with data.
	if err := do(ctx, chromedp.Click(css(`nav a[data-nav="charts"]`)), chromedp.WaitVisible(css("#charts"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#charts .chart.ingest", 3)
	waitCount(t, ctx, `#charts .chart.ingest[data-provider="leadron"] rect.k-rejected`, 1)
	waitCount(t, ctx, "#charts .chart.latency", 4)
	for _, sel := range []string{`.chart.ingest[data-provider="leadron"] rect.k-accepted`, `.chart.ingest[data-provider="tomba"] rect.k-accepted`,
		`.chart.latency[data-destination="crm"] path.k-p50`, `.chart.latency[data-destination="crm"] path.k-p99`} {
		if n, err := count(ctx, "#charts "+sel); err != nil || n < 1 {
			t.Errorf("charts: %d of %s (%v)", n, sel, err)
		}
	}
	shot(t, ctx, "charts")

	// DNS rebinding: the same console under another name is refused.
	port := s.consoleURL[strings.LastIndex(s.consoleURL, ":")+1 : len(s.consoleURL)-1]
	if err := do(ctx, chromedp.Navigate("http://rebind.test:"+port+"/")); err != nil {
		t.Fatal(err)
	}
	if refused, err := text(ctx, "body"); err != nil || !strings.Contains(refused, "forbidden_host") {
		t.Errorf("the console under rebind.test answered %q (%v), want forbidden_host", refused, err)
	}

	// In a new tab of the same browser (one browser start per run).
	t.Run("token", func(t *testing.T) {
		tab, cancel := chromedp.NewContext(ctx)
		defer cancel()
		if err := chromedp.Do(tab); err != nil { // open the tab, with no deadline: its context is the tab's life
			t.Fatal(err)
		}
		consoleTokenFlow(t, tab)
	})
}

// consoleTokenFlow: a console with a token asks for it, and works once it
// is given.
func consoleTokenFlow(t *testing.T, ctx context.Context) {
	s := startConsoleServe(t, "--console-token", "correct-horse")
	sendSample(t, s, "", "tomba", "save_lead")
	if err := do(ctx,
		chromedp.Navigate(s.consoleURL),
		chromedp.WaitVisible(css("#token-input")),
	); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#events tr.event", 0)
	shot(t, ctx, "token")
	if err := do(ctx,
		chromedp.SendKeys(css("#token-input"), "correct-horse"),
		chromedp.Submit(css("#token-input")),
		chromedp.WaitVisible(css("#events tr.event")),
		chromedp.WaitVisible(css("#live.on")),
	); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#events tr.event", 1)
}
