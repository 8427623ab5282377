package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store/dynamo"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/wire"
)

// TestConsoleAWSReverify: an ingest function of a stack configured with the
// wrong JourneyBee secret refuses a genuine delivery and quarantines it in
// DynamoDB; console --aws --config with the fixed config lists it and
// re-verifies it: accepted (stored and on the SQS queue), then duplicate.
// Without --config, re-verify is off (404).
func TestConsoleAWSReverify(t *testing.T) {
	ctx := t.Context()
	ddb, _ := awsEnv(t)
	res := newStackResources(t, ddb)
	table := dynamo.New(storetest.NewDynamoClient(ddb), res.table)
	ac, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := sqs.New(awssqs.NewFromConfig(ac), res.queueURL)
	dir := t.TempDir()
	load := func(jb string) *config.Config {
		cfg, _, err := loadLocalConfig(ctx, quarantineConfig(t, dir, jb, config.DevLeadronSecret, "http://127.0.0.1:1"))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	wrong, fixed := load(wrongJourneyBee), load(config.DevJourneyBeeSecret)

	h, err := wire.Handler(wrong, "journeybee", table, q, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	h.Quarantine = wire.Quarantine(wrong, "journeybee", table)
	h.Rejections = table
	body, _ := samples.Body("journeybee", "lead_created")
	hdr, err := samples.Headers("journeybee", "lead_created", body, samples.Secrets{JourneyBee: config.DevJourneyBeeSecret}, samples.DefaultToken(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/journeybee", bytes.NewReader(body))
	req.Header = hdr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("with the wrong secret: %d %s", rec.Code, rec.Body)
	}

	off, err := awsConsole(ac, res, loopbackFlags(), nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	con, err := awsConsole(ac, res, loopbackFlags(), fixed, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	offURL, url := runConsole(t, off), runConsole(t, con)

	var rej rejectionsAnswer
	if code := getJSON(t, url+"/api/rejections", &rej); code != 200 || len(rej.Rejections) != 1 || !rej.Rejections[0].Quarantined {
		t.Fatalf("rejections: %d %+v", code, rej)
	}
	id := rej.Rejections[0].ID
	if code, out := postConsole(t, offURL+"/api/rejections/"+id+"/reverify", ""); code != http.StatusNotFound {
		t.Errorf("re-verify without --config: %d %s, want 404", code, out)
	}
	var first, again reverifyAnswer
	for _, a := range []*reverifyAnswer{&first, &again} {
		code, out := postConsole(t, url+"/api/rejections/"+id+"/reverify", "")
		if code != 200 {
			t.Fatalf("re-verify: %d %s", code, out)
		}
		if err := json.Unmarshal(out, a); err != nil {
			t.Fatal(err)
		}
	}
	if first.Status != "accepted" || first.EventID == "" || again.Status != "duplicate" {
		t.Fatalf("re-verify: %+v then %+v, want accepted then duplicate", first, again)
	}
	if ev, err := table.Get(ctx, first.EventID); err != nil || ev.Provider != "journeybee" {
		t.Errorf("stored event: %+v %v", ev, err)
	}
}
