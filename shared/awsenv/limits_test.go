package awsenv_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/awsenv/processor"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/store/dynamo"
)

// The tests of this file hold issue 10's input edges on the AWS path: the
// real Lambda handler built by awsenv as at cold start, DynamoDB Local and
// moto's SQS.

// withConfig sets the function environment with doc as the config file.
func withConfig(t *testing.T, table, queueURL, doc string) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(awsenv.EnvConfig, file)
	t.Setenv(awsenv.EnvTable, table)
	t.Setenv(awsenv.EnvQueueURL, queueURL)
}

type gwAnswer struct {
	code                   int
	Status, EventID, Error string
}

func (a gwAnswer) String() string {
	return fmt.Sprintf("%d %s%s %s", a.code, a.Status, a.Error, a.EventID)
}

// deliver sends one request through the handler's API Gateway adapter.
func deliver(t *testing.T, h *ingest.Handler, body []byte, hdr http.Header) gwAnswer {
	t.Helper()
	e := events.APIGatewayV2HTTPRequest{Headers: map[string]string{}, Body: string(body)}
	for k := range hdr {
		e.Headers[strings.ToLower(k)] = hdr.Get(k)
	}
	e.RequestContext.HTTP.Method = "POST"
	out, err := h.HandleAPIGateway(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	var a struct {
		Status  string `json:"status"`
		EventID string `json:"event_id"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(out.Body), &a); err != nil {
		t.Fatalf("answer %d %q: %v", out.StatusCode, out.Body, err)
	}
	return gwAnswer{code: out.StatusCode, Status: a.Status, EventID: a.EventID, Error: a.Error}
}

func leadronHeader(body []byte) http.Header {
	return leadronHeaderWith(config.DevLeadronSecret, body)
}

// leadronHeaderWith signs body with secret (testSecrets.Leadron under
// lambdaEnv's config).
func leadronHeaderWith(secret string, body []byte) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Leadron-Signature": {leadron.Sign(secret, body)}}
}

// incompressibleLeadron is a lead.updated body of exactly n bytes whose
// changes carry random base64: gzip saves a quarter at most, and the
// canonical record copies the changes, so raw plus normalized is about 2n.
func incompressibleLeadron(t *testing.T, n int) []byte {
	t.Helper()
	head := `{"id":"evt_incompressible","type":"lead.updated","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_big","changes":{"notes":"`
	tail := `"}}}`
	pad := make([]byte, (n-len(head)-len(tail))*3/4+3)
	if _, err := rand.Read(pad); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString(pad)[:n-len(head)-len(tail)]
	body := []byte(head + b64 + tail)
	if len(body) != n || !json.Valid(body) {
		t.Fatalf("built a body of %d bytes, valid %v", len(body), json.Valid(body))
	}
	return body
}

// TestMaxBodyIncompressibleOnDynamoDB: a verified, incompressible body of
// exactly max_body_bytes (256 KiB) is stored whole on DynamoDB (raw plus
// normalized is over the 400 KB item limit: the normalized record goes to
// part items), not answered 500 on every retry.
func TestMaxBodyIncompressibleOnDynamoDB(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()
	h, err := awsenv.IngestHandler(ctx, "leadron")
	if err != nil {
		t.Fatal(err)
	}
	body := incompressibleLeadron(t, config.DefaultMaxBodyBytes)
	first := deliver(t, h, body, leadronHeaderWith(testSecrets.Leadron, body))
	if first.code != 200 || first.Status != "accepted" {
		t.Fatalf("256 KiB incompressible body: %v, want 200 accepted", first)
	}
	if again := deliver(t, h, body, leadronHeaderWith(testSecrets.Leadron, body)); again.code != 200 || again.Status != "duplicate" || again.EventID != first.EventID {
		t.Fatalf("redelivery: %v, want duplicate of %s", again, first.EventID)
	}
	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := env.Store.Get(ctx, first.EventID)
	if err != nil {
		t.Fatal(err)
	}
	notes := body[bytes.Index(body, []byte(`"notes":"`))+9 : len(body)-4]
	if !bytes.Equal(ev.Raw, body) || !bytes.Contains(ev.Normalized, notes) || len(ev.Normalized) < len(notes) {
		t.Fatalf("stored raw %d bytes (equal %v), normalized %d bytes (has the changes %v)",
			len(ev.Raw), bytes.Equal(ev.Raw, body), len(ev.Normalized), bytes.Contains(ev.Normalized, notes))
	}
	// One byte over the limit is the provider's 413, as before.
	over := incompressibleLeadron(t, config.DefaultMaxBodyBytes+1)
	if a := deliver(t, h, over, leadronHeaderWith(testSecrets.Leadron, over)); a.code != 413 {
		t.Fatalf("one byte over: %v, want 413", a)
	}
}

// TestMaxBodyOverDynamoDBLimitRefused: the AWS functions refuse, at cold
// start, a max_body_bytes that a DynamoDB item cannot always hold.
func TestMaxBodyOverDynamoDBLimitRefused(t *testing.T) {
	table, queueURL := awsStandIns(t)
	ctx := context.Background()
	withConfig(t, table, queueURL, config.DevelopmentYAML+fmt.Sprintf("ingest: { max_body_bytes: %d }\n", dynamo.MaxBodyBytes+1))
	for _, build := range []func() error{
		func() error { _, err := awsenv.IngestHandler(ctx, "leadron"); return err },
		func() error { _, err := processor.Handler(ctx); return err },
	} {
		if err := build(); err == nil || !strings.Contains(err.Error(), "ingest.max_body_bytes") || !strings.Contains(err.Error(), "DynamoDB") {
			t.Fatalf("cold start with max_body_bytes over %d: %v", dynamo.MaxBodyBytes, err)
		}
	}
	withConfig(t, table, queueURL, config.DevelopmentYAML+fmt.Sprintf("ingest: { max_body_bytes: %d }\n", dynamo.MaxBodyBytes))
	if _, err := awsenv.IngestHandler(ctx, "leadron"); err != nil {
		t.Fatalf("max_body_bytes at the limit: %v", err)
	}
}

// TestOccurredAtOutOfRangeOnDynamoDB: Leadron's createdAt in 2300, signed,
// is accepted and stored with OccurredAt zero (DynamoDB holds times to the
// nanosecond in years 1678 to 2262 only), its value in Meta.
func TestOccurredAtOutOfRangeOnDynamoDB(t *testing.T) {
	table, queueURL := awsStandIns(t)
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()
	h, err := awsenv.IngestHandler(ctx, "leadron")
	if err != nil {
		t.Fatal(err)
	}
	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []string{"2300-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00"} {
		body := []byte(`{"id":"evt_` + at[:4] + `","type":"lead.created","createdAt":"` + at + `","data":{"leadId":"ld_1","email":"a@b.co"}}`)
		a := deliver(t, h, body, leadronHeaderWith(testSecrets.Leadron, body))
		if a.code != 200 || a.Status != "accepted" {
			t.Fatalf("createdAt %s: %v, want 200 accepted", at, a)
		}
		ev, err := env.Store.Get(ctx, a.EventID)
		if err != nil || !ev.OccurredAt.IsZero() || ev.Meta["occurred_at_out_of_range"] == "" || !bytes.Equal(ev.Raw, body) {
			t.Fatalf("createdAt %s stored: OccurredAt %v, Meta %v, %v", at, ev.OccurredAt, ev.Meta, err)
		}
	}
}

// countingSink is an HTTP destination that counts deliveries per event.
type countingSink struct {
	mu  sync.Mutex
	ids []string
}

func (s *countingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	s.mu.Lock()
	s.ids = append(s.ids, r.Header.Get("webhook-id"))
	s.mu.Unlock()
}

func (s *countingSink) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.ids) }

// forwardAll receives every message on the queue and runs the processor
// function on it.
func forwardAll(t *testing.T, queueURL string) {
	t.Helper()
	ctx := context.Background()
	p, err := processor.Handler(ctx)
	if err != nil {
		t.Fatal(err)
	}
	q := sqsq.New(queuetest.SQSClient(t), queueURL)
	for {
		msgs, err := q.ReceiveWait(ctx, 10, 30*time.Second, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			return
		}
		var e events.SQSEvent
		for i, m := range msgs {
			e.Records = append(e.Records, events.SQSMessage{MessageId: fmt.Sprint("m-", i), ReceiptHandle: m.Receipt, Body: m.EventID,
				Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
		}
		resp, err := p.Handle(ctx, e)
		if err != nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("processor: %+v, %v", resp, err)
		}
		for _, m := range msgs {
			if err := q.Delete(ctx, m.Receipt); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// sinkConfig is the development config with an HTTP destination at url.
func sinkConfig(url, extra string) string {
	return strings.Replace(config.DevelopmentYAML, "destinations:\n", "destinations:\n  - name: sink\n    type: http\n    url: "+url+
		"\n    secret: whsec_"+base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n", 1) + extra
}

// TestDedupeWindowOnDynamoDB: Tomba and JourneyBee keys hash the body, so
// they get the 24 h dedupe_window. On DynamoDB Local, with the handler's
// clock moved: a retry within the window is forwarded once; A→B→A, the
// second A after the window, is forwarded three times. Leadron's event-id
// key keeps the 7-day idempotency_window.
func TestDedupeWindowOnDynamoDB(t *testing.T) {
	table, queueURL := awsStandIns(t)
	sk := &countingSink{}
	srv := httptest.NewServer(sk)
	defer srv.Close()
	withConfig(t, table, queueURL, sinkConfig(srv.URL, ""))
	ctx := context.Background()
	start := time.Now().UTC()
	clock := start
	handler := func(p string) *ingest.Handler {
		h, err := awsenv.IngestHandler(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		h.Now = func() time.Time { return clock }
		return h
	}
	tb, jb, ld := handler("tomba"), handler("journeybee"), handler("leadron")
	tomba := func(score int) gwAnswer {
		body := fmt.Appendf(nil, `{"data":{"email":"ada@example.com","score":%d}}`, score)
		return deliver(t, tb, body, http.Header{"Content-Type": {"application/json"}, "X-Tomba-Token": {config.DevTombaToken}})
	}
	journey := func(note string) gwAnswer {
		body := []byte(`{"partnership":{"uuid":"p_1","notes":"` + note + `"}}`)
		now := time.Now()
		hdr, err := journeybee.SignHeader(config.DevJourneyBeeSecret, journeybee.Claims{CompanyUUID: "c_1", UserUUID: "u_1",
			EventID: "partnership_updated", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return deliver(t, jb, body, http.Header{"Content-Type": {"application/json"}, "Authorization": {hdr}})
	}
	ldBody := []byte(`{"id":"evt_window","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_1"}}`)
	var got []string
	step := func(a gwAnswer) {
		t.Helper()
		if a.code != 200 {
			t.Fatalf("delivery: %v", a)
		}
		got = append(got, a.Status)
	}

	// A retry within the window: forwarded once.
	step(tomba(50))
	step(journey("A"))
	step(deliver(t, ld, ldBody, leadronHeader(ldBody)))
	clock = start.Add(time.Hour)
	step(tomba(50))
	step(journey("A"))
	forwardAll(t, queueURL)
	if n := sk.count(); n != 3 {
		t.Fatalf("retries within the window: %d forwarded, want 3 (one per provider); answers %v", n, got)
	}
	// A→B→A: B now, A again after A's window.
	clock = start.Add(2 * time.Hour)
	step(tomba(60))
	step(journey("B"))
	clock = start.Add(25 * time.Hour)
	step(tomba(50))
	step(journey("A"))
	step(deliver(t, ld, ldBody, leadronHeader(ldBody))) // Leadron: still within 7 days
	forwardAll(t, queueURL)
	if want := "accepted,accepted,accepted,duplicate,duplicate,accepted,accepted,accepted,accepted,duplicate"; strings.Join(got, ",") != want {
		t.Fatalf("answers %v, want %s", got, want)
	}
	if n := sk.count(); n != 7 {
		t.Fatalf("%d forwarded in all, want 7: each provider's A, B, A again, and Leadron's once", n)
	}
}

// TestReusedTokenOnDynamoDB: with sources.journeybee.reject_reused_tokens,
// one token with another body is 401 token_reused and stores nothing; the
// same token and body again is still a duplicate.
func TestReusedTokenOnDynamoDB(t *testing.T) {
	table, queueURL := awsStandIns(t)
	doc := strings.Replace(config.DevelopmentYAML, `journeybee: { secrets: ["`+config.DevJourneyBeeSecret+`"] }`,
		`journeybee: { secrets: ["`+config.DevJourneyBeeSecret+`"], reject_reused_tokens: true }`, 1)
	if doc == config.DevelopmentYAML {
		t.Fatal("could not turn reject_reused_tokens on")
	}
	withConfig(t, table, queueURL, doc)
	ctx := context.Background()
	h, err := awsenv.IngestHandler(ctx, "journeybee")
	if err != nil {
		t.Fatal(err)
	}
	token := func() http.Header {
		now := time.Now()
		v, err := journeybee.SignHeader(config.DevJourneyBeeSecret, journeybee.Claims{CompanyUUID: "c_1", UserUUID: "u_1",
			EventID: "lead_created", IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Content-Type": {"application/json"}, "Authorization": {v}}
	}
	a, b := []byte(`{"lead":{"uuid":"lead_a"}}`), []byte(`{"lead":{"uuid":"lead_b"}}`)
	t1 := token()
	first := deliver(t, h, a, t1)
	if first.code != 200 || first.Status != "accepted" {
		t.Fatalf("first: %v", first)
	}
	if r := deliver(t, h, b, t1); r.code != 401 || r.Error != "token_reused" {
		t.Fatalf("same token, another body: %v, want 401 token_reused", r)
	}
	if r := deliver(t, h, a, t1); r.code != 200 || r.Status != "duplicate" || r.EventID != first.EventID {
		t.Fatalf("same token, same body: %v, want duplicate of %s", r, first.EventID)
	}
	time.Sleep(1100 * time.Millisecond) // a new iat: a new token
	if r := deliver(t, h, b, token()); r.code != 200 || r.Status != "accepted" {
		t.Fatalf("another token with the second body: %v, want accepted", r)
	}
}
