package awsenv_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"time"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/costmeter"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
	"github.com/hookline/hookline/shared/template"
)

// ingestTableActions are the DynamoDB actions template.yaml grants every
// ingest function (IngestPolicy).
func ingestTableActions(t *testing.T) []string {
	t.Helper()
	tpl, err := template.Load("../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := tpl.Resources["IngestPolicy"].Properties["PolicyDocument"].(map[string]any)
	stmts, _ := doc["Statement"].([]any)
	var actions []string
	for _, s := range stmts {
		m, _ := s.(map[string]any)
		as := m["Action"]
		if one, ok := as.(string); ok {
			as = []any{one}
		}
		list, _ := as.([]any)
		for _, a := range list {
			if a, _ := a.(string); strings.HasPrefix(a, "dynamodb:") {
				actions = append(actions, strings.TrimPrefix(a, "dynamodb:"))
			}
		}
	}
	if len(actions) == 0 {
		t.Fatal("no dynamodb action in IngestPolicy")
	}
	return actions
}

// TestRejectionsOnDynamoDB runs the real JourneyBee Lambda handler against
// DynamoDB Local: with ingest.record_rejections off nothing is written for
// a refused delivery; with it on, one rejection item (24 h TTL) carrying
// the token's claims; with quarantine on, the delivery is kept, and once
// the config holds the right secret, re-verify ingests it (then a
// duplicate). Every DynamoDB call on the way is one IngestPolicy grants.
func TestRejectionsOnDynamoDB(t *testing.T) {
	table, queueURL := awsStandIns(t)
	rec := &costmeter.Recorder{}
	proxy, err := costmeter.Proxy(storetest.DynamoEndpoint(t), rec)
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(proxy)
	t.Cleanup(ps.Close)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ps.URL)
	ctx := context.Background()
	// Deliveries signed with the development secrets, which the functions
	// here are not configured with: every one is refused (bad_signature).
	e := sampleEvent(t, "journeybee", "../../events/journeybee/lead_created.json")
	hdr, _, err := samples.Resign("journeybee", headerOf(e), []byte(e.Body), testSecrets, devSecrets)
	if err != nil {
		t.Fatal(err)
	}
	e.Headers = map[string]string{"content-type": "application/json", "authorization": hdr.Get("Authorization")}

	refuse := func(cfg string) []store.Rejection {
		t.Helper()
		lambdaEnv(t, table, queueURL)
		writeConfig(t, testSecrets.ConfigYAML()+cfg)
		h, err := awsenv.IngestHandler(ctx, "journeybee")
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.HandleAPIGateway(ctx, e)
		if err != nil || out.StatusCode != 401 || !strings.Contains(out.Body, "bad_signature") {
			t.Fatalf("%q: %d %s %v", cfg, out.StatusCode, out.Body, err)
		}
		env, err := awsenv.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := env.Store.Rejections(ctx, store.MaxRejectionsPerPage)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}

	rec.Reset()
	if rs := refuse(""); len(rs) != 0 {
		t.Fatalf("record_rejections off: %d rejections written", len(rs))
	}
	for _, c := range rec.Calls() {
		if c.Service == "DynamoDB" && c.Op != "Query" {
			t.Errorf("record_rejections off: a refused delivery made a DynamoDB %s", c.Op)
		}
	}

	rec.Reset()
	rs := refuse("ingest:\n  record_rejections: true\n")
	if len(rs) != 1 || rs[0].Reason != "bad_signature" || rs[0].Status != 401 || rs[0].Quarantined ||
		rs[0].Claims["company_uuid"] == "" || rs[0].Claims["event_id"] != "lead_created" {
		t.Fatalf("record_rejections on: %+v", rs)
	}
	if d := time.Since(rs[0].At); d < 0 || d > time.Minute {
		t.Errorf("rejection at %v", rs[0].At)
	}

	rs = refuse("ingest:\n  record_rejections: true\n  quarantine: { ttl: 2h }\n")
	if len(rs) != 2 || !rs[0].Quarantined || rs[0].QuarantineExpiresAt.Sub(rs[0].At) != 2*time.Hour {
		t.Fatalf("quarantine on: %+v", rs)
	}
	granted := ingestTableActions(t)
	var seen []string
	for _, c := range rec.Calls() {
		op, _, _ := strings.Cut(c.Op, " ")
		seen = append(seen, op)
		if c.Service == "DynamoDB" && op != "Query" && !slices.Contains(granted, op) { // Query: the test's own read
			t.Errorf("the ingest function called dynamodb:%s, which IngestPolicy does not grant (%v)", op, granted)
		}
	}

	for _, op := range []string{"PutItem", "GetItem", "UpdateItem"} { // the rejection, the quarantine's counter
		if !slices.Contains(seen, op) {
			t.Errorf("no %s seen through the proxy (%v): the grant check checked nothing", op, seen)
		}
	}

	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q, err := env.Store.Quarantined(ctx, rs[0].ID)
	if err != nil || q.Body == nil || q.Header.Get("Authorization") != e.Headers["authorization"] || len(q.Header) != 1 {
		t.Fatalf("kept: %+v %v", q, err)
	}
	// The config fixed (the secret the deliveries were signed with):
	// re-verify ingests the kept delivery once.
	writeConfig(t, devSecrets.ConfigYAML()+"ingest:\n  quarantine: { ttl: 2h }\n")
	fixed, err := awsenv.IngestHandler(ctx, "journeybee")
	if err != nil {
		t.Fatal(err)
	}
	first, err := fixed.Reverify(ctx, q)
	if err != nil || first.Status != "accepted" {
		t.Fatalf("re-verify: %+v %v", first, err)
	}
	again, err := fixed.Reverify(ctx, q)
	if err != nil || again.Status != "duplicate" || again.EventID != first.EventID {
		t.Errorf("re-verify again: %+v %v", again, err)
	}
	ev, err := env.Store.Get(ctx, first.EventID)
	if err != nil || string(ev.Raw) != e.Body || ev.Meta["reverified_from"] != q.ID {
		t.Errorf("stored %+v %v", ev.Meta, err)
	}
}

func headerOf(e events.APIGatewayV2HTTPRequest) http.Header {
	h := http.Header{}
	for k, v := range e.Headers {
		h.Set(k, v)
	}
	return h
}
