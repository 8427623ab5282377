package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/wire"
)

// TestDedupeWindowForwarded runs the serve stack (a real SQLite file, the
// embedded queue, the processor, an HTTP destination) with the handlers'
// clock moved. Keys hashed from the body (Tomba, JourneyBee) live for the
// 24 h dedupe_window: a retry within it is forwarded once; A→B→A with the
// second A after the window is forwarded three times (before, it was
// answered duplicate and the destination was left at B). Leadron's key, its
// event id, keeps the 7-day idempotency_window.
func TestDedupeWindowForwarded(t *testing.T) {
	sk := &sink{}
	srv := httptest.NewServer(sk)
	defer srv.Close()
	doc := config.DevelopmentYAML + "  - name: crm\n    type: http\n    url: " + srv.URL +
		"\n    secret: whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef")) + "\n"
	cfg, err := config.Parse(context.Background(), []byte(doc), func(string) (string, bool) { return "", false }, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, q, ls := embeddedStack(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := deliver.NewProcessor(cfg, st, deliver.DefaultBuilders(log, deliver.NewHTTPClient()), log)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	clock := start
	hs := map[string]*ingest.Handler{}
	for _, prov := range wire.Providers {
		h, err := wire.Handler(cfg, prov, ls, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Now = func() time.Time { return clock }
		hs[prov] = h
	}
	var got []string
	send := func(prov string, body []byte, hdr http.Header) {
		t.Helper()
		resp := hs[prov].Handle(context.Background(), ingest.Request{Method: "POST", Body: body, Header: hdr})
		if resp.Status != 200 {
			t.Fatalf("%s: %d %s", prov, resp.Status, resp.Body)
		}
		status, _, _ := strings.Cut(strings.TrimPrefix(string(resp.Body), `{"status":"`), `"`)
		got = append(got, prov+":"+status)
	}
	tomba := func(score int) {
		send("tomba", fmt.Appendf(nil, `{"data":{"email":"ada@example.com","score":%d}}`, score), tbHeader(config.DevTombaToken))
	}
	partnership := func(notes string) { // no updated_at: an edit back gives the same body
		now := time.Now()
		send("journeybee", []byte(`{"partnership":{"uuid":"p_1","notes":"`+notes+`"}}`), jbHeader(t, config.DevJourneyBeeSecret,
			journeybee.Claims{CompanyUUID: "c_1", UserUUID: "u_1", EventID: "partnership_updated", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}))
	}
	ld := []byte(`{"id":"evt_window","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_1"}}`)

	tomba(50)
	partnership("A")
	send("leadron", ld, ldHeader(ld))
	clock = start.Add(time.Hour) // retries within the window
	tomba(50)
	partnership("A")
	if n := len(drain(t, q, p)); n != 3 || len(sk.got()) != 3 {
		t.Fatalf("after retries within the window: %d processed, %d forwarded; want 3 (one per provider); answers %v", n, len(sk.got()), got)
	}
	clock = start.Add(2 * time.Hour)
	tomba(60)
	partnership("B")
	clock = start.Add(25 * time.Hour) // A's window is over
	tomba(50)
	partnership("A")
	send("leadron", ld, ldHeader(ld)) // within Leadron's 7 days
	drain(t, q, p)
	want := "tomba:accepted journeybee:accepted leadron:accepted tomba:duplicate journeybee:duplicate " +
		"tomba:accepted journeybee:accepted tomba:accepted journeybee:accepted leadron:duplicate"
	if strings.Join(got, " ") != want {
		t.Fatalf("answers\n %v\nwant\n %s", got, want)
	}
	ids := sk.got()
	if len(ids) != 7 {
		t.Fatalf("%d forwarded, want 7: A, B and A again for Tomba and JourneyBee, Leadron's once", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %s forwarded twice", id)
		}
		seen[id] = true
	}
}
