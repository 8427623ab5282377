package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
)

// TestReverifyInBrowser drives the Rejections tab in headless Chromium:
// deliveries refused under a wrong secret are listed as quarantined (the
// JourneyBee one with its token's claims); after the config is fixed (serve
// restarted on the same data) the row's Re-verify button ingests one, and
// the bulk action for Leadron, confirmed with its dry-run count, ingests
// the genuine delivery and leaves the forged one refused.
func TestReverifyInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	sink := newCountingSink(t)
	dir, data := t.TempDir(), t.TempDir()
	s1 := startConsoleServe(t, "--config", quarantineConfig(t, dir, wrongJourneyBee, wrongLeadron, sink.url), "--data", data)
	secrets := samples.Secrets{JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret}
	jb, _ := samples.Body("journeybee", "lead_created")
	ld, _ := samples.Body("leadron", "lead.created")
	forged := bytes.Replace(ld, []byte(`"id":"`), []byte(`"id":"forged-`), 1)
	for _, d := range []struct {
		prov, event string
		body        []byte
		sec         samples.Secrets
		want        int
	}{
		{"leadron", "lead.created", forged, samples.Secrets{Leadron: "an-attackers-guess"}, 401},
		{"journeybee", "lead_created", jb, secrets, 401},
		{"leadron", "lead.created", ld, secrets, 401},
		{"leadron", "lead.created", []byte(`{"id":`), secrets, 401}, // refused before its body is read: kept too
	} {
		hdr, err := samples.Headers(d.prov, d.event, d.body, d.sec, samples.DefaultToken(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if code, _, _ := post(s1.url+"/webhooks/"+d.prov, d.body, hdr); code != d.want {
			t.Fatalf("%s: %d, want %d", d.prov, code, d.want)
		}
	}
	if err := s1.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = s1.cmd.Wait()
	s := startConsoleServe(t, "--config", quarantineConfig(t, dir, config.DevJourneyBeeSecret, config.DevLeadronSecret, sink.url), "--data", data)

	ctx := browser(t)
	if err := do(ctx, chromedp.Navigate(s.consoleURL+"#/rejections"), chromedp.WaitVisible(css("#rejections"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, "#rejections tr.rejection button.reverify", 4)
	if claims, err := text(ctx, `#rejections tr.rejection td.why .claims`); err != nil ||
		!strings.Contains(claims, "company_uuid") || !strings.Contains(claims, "lead_created") || strings.Contains(claims, "api_key") {
		t.Errorf("claims shown = %q, %v", claims, err)
	}
	if page, err := text(ctx, "#rejections"); err != nil || strings.Contains(page, "Bearer") || strings.Contains(page, config.DevLeadronSecret) {
		t.Errorf("the page shows a credential: %v", err)
	}

	// The JourneyBee row's button (the row with the token's claims).
	if err := do(ctx, chromedp.Click(css(`#rejections tr.rejection:has(td.why .claims) button.reverify`))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#rejections .reverified[data-status="accepted"]`, 1)
	link, err := text(ctx, `#rejections .reverified[data-status="accepted"] a`)
	if err != nil || link == "" {
		t.Fatalf("no event link after re-verify: %q %v", link, err)
	}
	shot(t, ctx, "rejections-reverified")

	// Re-verify all quarantined for Leadron: the dialog shows the dry-run
	// count, then the results land in the rows.
	if err := do(ctx, chromedp.Click(css(`button.bulk-reverify[data-provider="leadron"]`)), chromedp.WaitVisible(css("#reverify-confirm"))); err != nil {
		t.Fatal(err)
	}
	if msg, err := text(ctx, "#reverify-text"); err != nil || !strings.Contains(msg, "3 kept deliveries of leadron") {
		t.Errorf("confirmation = %q, %v", msg, err)
	}
	shot(t, ctx, "reverify-confirm")
	if err := do(ctx, chromedp.Click(css("#reverify-ok"))); err != nil {
		t.Fatal(err)
	}
	waitCount(t, ctx, `#rejections .reverified[data-status="accepted"]`, 1) // the page reloaded: only Leadron's results
	waitCount(t, ctx, `#rejections .reverified[data-status="rejected"]`, 2)
	shot(t, ctx, "rejections")
	deadline := time.Now().Add(20 * time.Second)
	for sink.total() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %v, want the two genuine deliveries", sink.counts())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got, err := step(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#rejections tr.rejection").length`)); err != nil || got != 4 {
		t.Errorf("%d rows, want 4 (%v)", got, err)
	}
}
