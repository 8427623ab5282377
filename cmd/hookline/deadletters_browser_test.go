package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDeadLettersInBrowser drives the Dead letters tab in headless Chromium
// on serve's console and on console --aws's: two dead letters are listed
// with their reason; redriving one asks with the dry run's count, and the
// message is back on the queue; "Redrive all" moves the other.
func TestDeadLettersInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a browser")
	}
	ctx := browser(t)
	bothConsoles(t, loopbackFlags, func(t *testing.T, b *consoleBackend) {
		at := time.Now().UTC().Add(-time.Minute)
		first := b.put(t, "leadron", "evt_browser_dead", at)
		second := b.put(t, "tomba", "tb_browser_dead", at)
		b.deadLetter(t, first.ID, first.Type)
		b.deadLetter(t, second.ID, second.Type)

		if err := do(ctx,
			chromedp.Navigate(b.url+"/#/deadletters"),
			chromedp.WaitVisible(css("#deadletters")),
		); err != nil {
			t.Fatal(err)
		}
		waitCount(t, ctx, "#deadletters tr.deadletter", 2)
		if why, err := text(ctx, `#deadletters tr.deadletter[data-id="`+first.ID+`"] td.why`); err != nil ||
			!strings.Contains(why, "no delivery was recorded") {
			t.Errorf("reason = %q, %v", why, err)
		}
		shot(t, ctx, "deadletters-"+b.name)

		if err := do(ctx,
			chromedp.Click(css(`#deadletters tr.deadletter[data-id="%s"] button.redrive`, first.ID)),
			chromedp.WaitVisible(css("#redrive-confirm")),
		); err != nil {
			t.Fatal(err)
		}
		if msg, err := text(ctx, "#redrive-text"); err != nil || !strings.HasPrefix(msg, "1 dead-lettered message will") {
			t.Errorf("confirmation = %q, %v", msg, err)
		}
		if err := do(ctx, chromedp.Click(css("#redrive-ok"))); err != nil {
			t.Fatal(err)
		}
		waitCount(t, ctx, "#deadletters tr.deadletter", 1)
		if got := b.received(t); !slices.Equal(got, []string{first.ID}) {
			t.Errorf("queue after redriving one = %v, want %s", got, first.ID)
		}

		if err := do(ctx,
			chromedp.Click(css("#redrive-all")),
			chromedp.WaitVisible(css("#redrive-confirm")),
			chromedp.Click(css("#redrive-ok")),
		); err != nil {
			t.Fatal(err)
		}
		waitCount(t, ctx, "#deadletters tr.deadletter", 0)
		waitCount(t, ctx, "#deadletters tr.empty", 1)
		if got := b.received(t); !slices.Equal(got, []string{second.ID}) {
			t.Errorf("queue after redriving all = %v, want %s", got, second.ID)
		}
	})
}
