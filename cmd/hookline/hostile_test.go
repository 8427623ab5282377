package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/canonical"
	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/local"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// hostile is one malicious or malformed delivery.
type hostile struct {
	name   string
	method string
	route  string
	hdr    http.Header
	body   []byte
	status int
	prefix string // "/raised": served with max_body_bytes raised to 512 KiB
}

func jbHeader(t *testing.T, secret string, c journeybee.Claims) http.Header {
	t.Helper()
	v, err := journeybee.SignHeader(secret, c)
	if err != nil {
		t.Fatal(err)
	}
	return http.Header{"Content-Type": {"application/json"}, "Authorization": {v}}
}

// rawJWT signs arbitrary header/claims JSON with HMAC-SHA256 (for tokens
// Sign refuses to make).
func rawJWT(header, claims, secret string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

func ldHeader(body []byte) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Leadron-Signature": {"sha256=" + leadron.Sign(config.DevLeadronSecret, body)}}
}

func tbHeader(token string) http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Tomba-Token": {token}}
}

// TestHostileInput sends forged, replayed, malformed and oversized
// deliveries to all three routes of the serve stack (SQLite store,
// embedded queue, development config with reject_reused_tokens on). Each
// gets its documented status and a JSON error without secrets; nothing is
// stored or enqueued; the server still accepts a good delivery afterwards.
// Then genuine deliveries at the input edges (times the stores cannot keep,
// an incompressible body at the limit, a token's second body, a repeat
// after the dedupe window) get their documented answer, never a 5xx.
func TestHostileInput(t *testing.T) {
	st, q, ls := embeddedStack(t)
	cfg := config.Development()
	cfg.Sources.JourneyBee.RejectReusedTokens = true
	mux := http.NewServeMux()
	clock := time.Now()
	var clockMu sync.Mutex
	for _, p := range wire.Providers {
		h, err := wire.Handler(cfg, p, ls, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
		h.Rejections = st // as serve does: the console's recent rejections
		mux.Handle("/webhooks/"+p, h)
	}
	raised := config.Development()
	raised.Ingest.MaxBodyBytes = 512 << 10
	for _, p := range wire.Providers {
		h, err := wire.Handler(raised, p, ls, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Rejections = st
		mux.Handle("/raised/webhooks/"+p, h)
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	now := time.Now()
	claims := journeybee.Claims{CompanyUUID: "company_1", UserUUID: "user_1", EventID: "lead_created", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	jbBody, _ := samples.Body("journeybee", "lead_created")
	good := jbHeader(t, config.DevJourneyBeeSecret, claims)
	jb := func(name string, hdr http.Header, body []byte, status int) hostile {
		return hostile{name: "journeybee/" + name, method: "POST", route: "journeybee", hdr: hdr, body: body, status: status}
	}
	withAuth := func(v ...string) http.Header {
		return http.Header{"Content-Type": {"application/json"}, "Authorization": v}
	}
	expired, future, payments := claims, claims, claims
	payments.EventID = "payments.completed"
	expired.IssuedAt, expired.ExpiresAt = now.Add(-3*time.Hour), now.Add(-2*time.Hour)
	future.IssuedAt, future.ExpiresAt = now.Add(time.Hour), now.Add(2*time.Hour)
	claimsJSON := func(drop string) string {
		m := map[string]any{"company_uuid": "c", "user_uuid": "u", "event_id": "lead_created", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		delete(m, drop)
		b, _ := json.Marshal(m)
		return string(b)
	}
	hs256 := `{"alg":"HS256","typ":"JWT"}`
	goodTok := strings.TrimPrefix(good.Get("Authorization"), "Bearer ")
	parts := strings.Split(goodTok, ".")
	tamperedClaims := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(claimsJSON(""), `"c"`, `"evil"`, 1)))
	deep := []byte(`{"lead":` + strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000) + `}`)
	big := append(append([]byte(`{"lead":{"uuid":"x","pad":"`), bytes.Repeat([]byte("x"), 256<<10)...), `"}}`...)

	cases := []hostile{
		jb("no authorization", http.Header{"Content-Type": {"application/json"}}, jbBody, 401),
		jb("basic scheme", withAuth("Basic dXNlcjpwYXNz"), jbBody, 401),
		jb("empty bearer", withAuth("Bearer "), jbBody, 401),
		jb("garbage token", withAuth("Bearer not.a.jwt"), jbBody, 401),
		jb("alg none", withAuth("Bearer "+rawJWT(`{"alg":"none","typ":"JWT"}`, claimsJSON(""), "")[:len(rawJWT(`{"alg":"none","typ":"JWT"}`, claimsJSON(""), ""))-43]), jbBody, 401),
		jb("RS256 header signed with the secret", withAuth("Bearer "+rawJWT(`{"alg":"RS256","typ":"JWT"}`, claimsJSON(""), config.DevJourneyBeeSecret)), jbBody, 401),
		jb("HS512", withAuth("Bearer "+rawJWT(`{"alg":"HS512","typ":"JWT"}`, claimsJSON(""), config.DevJourneyBeeSecret)), jbBody, 401),
		jb("another tenant's secret", jbHeader(t, "99999999-2222-4333-8444-555555555555", claims), jbBody, 401),
		jb("expired token replayed", jbHeader(t, config.DevJourneyBeeSecret, expired), jbBody, 401),
		jb("issued in the future", jbHeader(t, config.DevJourneyBeeSecret, future), jbBody, 401),
		jb("no exp", withAuth("Bearer "+rawJWT(hs256, claimsJSON("exp"), config.DevJourneyBeeSecret)), jbBody, 401),
		jb("no company_uuid", withAuth("Bearer "+rawJWT(hs256, claimsJSON("company_uuid"), config.DevJourneyBeeSecret)), jbBody, 401),
		jb("no event_id", withAuth("Bearer "+rawJWT(hs256, claimsJSON("event_id"), config.DevJourneyBeeSecret)), jbBody, 401),
		jb("claims tampered after signing", withAuth("Bearer "+parts[0]+"."+tamperedClaims+"."+parts[2]), jbBody, 401),
		jb("signature stripped", withAuth("Bearer "+parts[0]+"."+parts[1]+"."), jbBody, 401),
		jb("two authorization headers", withAuth(good.Get("Authorization"), good.Get("Authorization")), jbBody, 401),
		jb("oversized token", withAuth("Bearer "+strings.Repeat("a", 16<<10)), jbBody, 401),
		jb("empty body", good, nil, 400),
		jb("not JSON with a JSON type", good, []byte("lead=1&x=2"), 400),
		jb("array body", good, []byte(`[{"lead":{"uuid":"a"}}]`), 400),
		jb("lead missing", good, []byte(`{"configuration":[]}`), 400),
		jb("lead without uuid", good, []byte(`{"lead":{"email":"a@b.co"}}`), 400),
		jb("lead uuid empty", good, []byte(`{"lead":{"uuid":""}}`), 400),
		jb("lead not an object", good, []byte(`{"lead":"lead_1"}`), 400),
		jb("configuration not an array", good, []byte(`{"lead":{"uuid":"a"},"configuration":{}}`), 400),
		jb("10,000 levels deep", good, deep, 400),
		jb("duplicate keys", good, []byte(`{"lead":{"uuid":"a"},"lead":{"uuid":"b"}}`), 400),
		jb("duplicate nested keys", good, []byte(`{"lead":{"uuid":"a","email":"x@y.co","email":"z@y.co"}}`), 400),
		jb("invalid UTF-8", good, []byte("{\"lead\":{\"uuid\":\"a\xff\"}}"), 400),
		jb("member repeated through an escape", good, []byte(`{"lead":{"uuid":"a"},"\u006cead":{"uuid":"b"}}`), 400),
		jb("entity member repeated through an escape", good, []byte(`{"lead":{"uuid":"a","\u0075uid":"b"}}`), 400),
		jb("duplicate keys in an unknown member", good, []byte(`{"lead":{"uuid":"a"},"x":[{"k":1,"k":2}]}`), 400),
		jb("duplicate keys, event without a documented body", jbHeader(t, config.DevJourneyBeeSecret, payments), []byte(`{"p":1,"p":2}`), 400),
		hostile{name: "journeybee/35,000 members, the last repeated (max_body_bytes raised)", method: "POST", route: "journeybee", prefix: "/raised",
			hdr: good, body: manyMembers(`{"lead":{"uuid":"lead_many"`, 35000, true), status: 400},
		jb("members filling 256 KiB, the last repeated", good, fill256KiB(`{"lead":{"uuid":"lead_many"`, true), 400),
		jb("35,000 members at the default max_body_bytes", good, manyMembers(`{"lead":{"uuid":"lead_many"`, 35000, false), 413),
		jb("truncated JSON", good, jbBody[:len(jbBody)/2], 400),
		jb("lead uuid over 1 KiB", good, []byte(`{"lead":{"uuid":"`+strings.Repeat("u", 1025)+`"}}`), 400),
		jb("company_uuid over 1 KiB", jbHeader(t, config.DevJourneyBeeSecret, journeybee.Claims{CompanyUUID: strings.Repeat("c", 1025),
			UserUUID: "u", EventID: "lead_created", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}), jbBody, 400),
		jb("256 KiB + 1", good, big, 413),
		jb("text/plain", http.Header{"Content-Type": {"text/plain"}, "Authorization": good["Authorization"]}, jbBody, 415),
		{name: "journeybee/GET", method: "GET", route: "journeybee", hdr: good, status: 405},
		{name: "journeybee/PUT", method: "PUT", route: "journeybee", hdr: good, body: jbBody, status: 405},
	}

	ldBody, _ := samples.Body("leadron", "lead.created")
	ldLong := func(field string) []byte { // field's value far over its store bound
		v := map[string]string{"id": "evt_1", "leadId": "l"}
		v[field] = strings.Repeat("x", 5000)
		return fmt.Appendf(nil, `{"id":%q,"type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":%q}}`, v["id"], v["leadId"])
	}
	escapedID := []byte(`{"id":"evt_1","\u0069d":"evt_2","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"l"}}`)
	ldMany := fill256KiB(`{"id":"evt_many","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_many"`, true)
	ld := func(name string, hdr http.Header, body []byte, status int) hostile {
		return hostile{name: "leadron/" + name, method: "POST", route: "leadron", hdr: hdr, body: body, status: status}
	}
	sigHeader := func(v ...string) http.Header {
		return http.Header{"Content-Type": {"application/json"}, "X-Leadron-Signature": v}
	}
	cases = append(cases,
		ld("no signature", http.Header{"Content-Type": {"application/json"}}, ldBody, 401),
		ld("not hex", sigHeader("sha256=zzzz"), ldBody, 401),
		ld("sha1 prefix", sigHeader("sha1="+leadron.Sign(config.DevLeadronSecret, ldBody)), ldBody, 401),
		ld("wrong secret", sigHeader(leadron.Sign("not-the-secret", ldBody)), ldBody, 401),
		ld("tampered body", ldHeader(ldBody), bytes.Replace(ldBody, []byte("jane"), []byte("evil"), 1), 401),
		ld("two signature headers", sigHeader(leadron.Sign(config.DevLeadronSecret, ldBody), leadron.Sign(config.DevLeadronSecret, ldBody)), ldBody, 401),
		ld("empty body, signed", ldHeader(nil), nil, 400),
		ld("not JSON, signed", ldHeader([]byte("id=1")), []byte("id=1"), 400),
		ld("data not an object", ldHeader([]byte(`{"id":"evt_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":[1]}`)),
			[]byte(`{"id":"evt_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":[1]}`), 400),
		ld("no createdAt", ldHeader([]byte(`{"id":"evt_1","type":"lead.created","data":{"leadId":"l"}}`)),
			[]byte(`{"id":"evt_1","type":"lead.created","data":{"leadId":"l"}}`), 400),
		ld("createdAt not RFC 3339", ldHeader([]byte(`{"id":"evt_1","type":"lead.created","createdAt":"yesterday","data":{"leadId":"l"}}`)),
			[]byte(`{"id":"evt_1","type":"lead.created","createdAt":"yesterday","data":{"leadId":"l"}}`), 400),
		ld("duplicate id", ldHeader([]byte(`{"id":"evt_1","id":"evt_2","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"l"}}`)),
			[]byte(`{"id":"evt_1","id":"evt_2","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"l"}}`), 400),
		ld("lead id over 1 KiB", ldHeader(ldLong("leadId")), ldLong("leadId"), 400),
		ld("envelope id over 4 KiB", ldHeader(ldLong("id")), ldLong("id"), 400),
		ld("id repeated through an escape", ldHeader(escapedID), escapedID, 400),
		ld("members filling 256 KiB, the last repeated", ldHeader(ldMany), ldMany, 400),
		ld("huge number id field", ldHeader([]byte(`{"id":"evt_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":1e999}}`)),
			[]byte(`{"id":"evt_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":1e999}}`), 400),
	)
	for _, typ := range samples.Events("leadron") {
		body, _ := samples.Body("leadron", typ)
		var env map[string]any
		_ = json.Unmarshal(body, &env)
		data := env["data"].(map[string]any)
		field := map[string]string{"lead": "leadId", "opportunity": "opportunityId", "partner": "partnerId",
			"commission": "commissionId", "task": "taskId", "form": "formId"}[strings.Split(typ, ".")[0]]
		delete(data, field)
		b, _ := json.Marshal(env)
		cases = append(cases, ld(typ+" without "+field, ldHeader(b), b, 400))
	}

	tbBody, _ := samples.Body("tomba", "save_lead")
	tb := func(name string, hdr http.Header, body []byte, status int) hostile {
		return hostile{name: "tomba/" + name, method: "POST", route: "tomba", hdr: hdr, body: body, status: status}
	}
	cases = append(cases,
		tb("no token", http.Header{"Content-Type": {"application/json"}}, tbBody, 401),
		tb("wrong token", tbHeader("guess"), tbBody, 401),
		tb("token prefix", tbHeader(config.DevTombaToken[:10]), tbBody, 401),
		tb("token in the wrong header", http.Header{"Content-Type": {"application/json"}, "Authorization": {config.DevTombaToken}}, tbBody, 401),
		tb("empty body", tbHeader(config.DevTombaToken), nil, 400),
		tb("no email", tbHeader(config.DevTombaToken), []byte(`{"data":{"company":"Acme"}}`), 400),
		tb("score with a fraction", tbHeader(config.DevTombaToken), []byte(`{"data":{"email":"a@b.co","score":1.5}}`), 400),
		tb("duplicate email", tbHeader(config.DevTombaToken), []byte(`{"data":{"email":"a@b.co","email":"c@d.co"}}`), 400),
		tb("data repeated through an escape", tbHeader(config.DevTombaToken), []byte(`{"data":{"email":"a@b.co"},"\u0064ata":{"email":"c@d.co"}}`), 400),
		hostile{name: "tomba/35,000 members, the last repeated (max_body_bytes raised)", method: "POST", route: "tomba", prefix: "/raised",
			hdr: tbHeader(config.DevTombaToken), body: manyMembers(`{"data":{"email":"a@b.co"`, 35000, true), status: 400},
		tb("members filling 256 KiB, the last repeated", tbHeader(config.DevTombaToken), fill256KiB(`{"data":{"email":"a@b.co"`, true), 400),
		tb("data an array", tbHeader(config.DevTombaToken), []byte(`{"data":[]}`), 400),
		tb("company a number", tbHeader(config.DevTombaToken), []byte(`{"data":{"email":"a@b.co","company":7}}`), 400),
		hostile{name: "tomba/DELETE", method: "DELETE", route: "tomba", hdr: tbHeader(config.DevTombaToken), status: 405},
	)
	if len(cases) < 50 {
		t.Fatalf("only %d hostile cases", len(cases))
	}

	secrets := []string{config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken, goodTok}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.prefix+"/webhooks/"+tc.route, bytes.NewReader(tc.body))
			req.Header = tc.hdr.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct{ Error, Message string }
			if resp.StatusCode != tc.status || json.Unmarshal(body, &e) != nil || e.Error == "" || e.Message == "" {
				t.Fatalf("got %d %s, want %d with a JSON error", resp.StatusCode, body, tc.status)
			}
			for _, s := range secrets {
				if strings.Contains(string(body), s) {
					t.Fatalf("error body leaks a credential: %s", body)
				}
			}
			if n := countEvents(t, st); n != 0 {
				t.Fatalf("%d events stored", n)
			}
			if v, f, d, err := q.Stats(ctx); err != nil || v+f+d != 0 {
				t.Fatalf("queue %d/%d/%d %v", v, f, d, err)
			}
		})
	}

	// Each refusal is in the console's rejections, with no body, header
	// value or credential.
	kept, err := st.Rejections(ctx, 1000)
	if err != nil || len(kept) != len(cases) {
		t.Fatalf("%d rejections kept (%v), want %d", len(kept), err, len(cases))
	}
	for _, r := range kept {
		row, _ := json.Marshal(r)
		leaks := append([]string{}, secrets...)
		for _, tc := range cases {
			for _, vs := range tc.hdr {
				for _, v := range vs {
					if len(v) >= 8 && v != "application/json" {
						leaks = append(leaks, v)
					}
				}
			}
			if len(tc.body) >= 8 {
				leaks = append(leaks, string(tc.body))
			}
		}
		for _, l := range leaks {
			if strings.Contains(string(row), l) {
				t.Fatalf("rejection %s keeps %.40q", row, l)
			}
		}
	}

	// Still healthy: a good delivery of each provider is accepted.
	for _, p := range wire.Providers {
		event := map[string]string{"journeybee": "lead_created", "leadron": "lead.created", "tomba": "save_lead"}[p]
		body, _ := samples.Body(p, event)
		hdr, _ := samples.Headers(p, event, body, secretsOf(cfg), samples.DefaultToken(time.Now()))
		code, id, err := post(srv.URL+"/webhooks/"+p, body, hdr)
		if err != nil || code != 200 || id == "" {
			t.Fatalf("%s after the hostile table: %d %v", p, code, err)
		}
	}
	if n := countEvents(t, st); n != 3 {
		t.Fatalf("%d events after three good deliveries", n)
	}

	// Genuine deliveries at the input edges, in order: each gets its
	// documented answer and never a 5xx (a 5xx is retried forever, and the
	// lead is lost when the provider gives up).
	// A token of its own (HS256 is deterministic: the same claims in the
	// same second are the same token as good's), bound to its first body.
	tokClaims := claims
	tokClaims.UserUUID = "user_2"
	tok := jbHeader(t, config.DevJourneyBeeSecret, tokClaims)
	farExp := claims
	farExp.ExpiresAt = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) // beyond what the stores keep
	ld2300 := []byte(`{"id":"evt_2300","type":"lead.created","createdAt":"2300-01-01T00:00:00Z","data":{"leadId":"ld_2300"}}`)
	ld10000 := []byte(`{"id":"evt_10000","type":"lead.created","createdAt":"9999-12-31T23:59:59-01:00","data":{"leadId":"ld_10000"}}`)
	jb9000 := []byte(`{"lead":{"uuid":"lead_9000","created_at":"9000-01-01T00:00:00Z"}}`)
	incompressible := incompressibleLeadron(t, config.DefaultMaxBodyBytes)
	tomba := func(score int) []byte {
		return fmt.Appendf(nil, `{"data":{"email":"ada@example.com","score":%d}}`, score)
	}
	zeroOccurred := func(t *testing.T, ev store.Event) {
		if !ev.OccurredAt.IsZero() || ev.Meta["occurred_at_out_of_range"] == "" {
			t.Errorf("OccurredAt %v, Meta %v; want zero, the value in Meta", ev.OccurredAt, ev.Meta)
		}
	}
	edges := []struct {
		name    string
		route   string
		hdr     http.Header
		body    []byte
		advance time.Duration // the handlers' clock moves this much first
		status  int
		answer  string // status of a 2xx, error code otherwise
		check   func(t *testing.T, ev store.Event)
	}{
		{name: "leadron/createdAt in 2300", route: "leadron", hdr: ldHeader(ld2300), body: ld2300, status: 200, answer: "accepted", check: zeroOccurred},
		{name: "leadron/createdAt in year 10000 UTC", route: "leadron", hdr: ldHeader(ld10000), body: ld10000, status: 200, answer: "accepted", check: zeroOccurred},
		{name: "leadron/incompressible 256 KiB", route: "leadron", hdr: ldHeader(incompressible), body: incompressible, status: 200, answer: "accepted",
			check: func(t *testing.T, ev store.Event) {
				if !bytes.Equal(ev.Raw, incompressible) || len(ev.Normalized) < 200<<10 {
					t.Errorf("stored %d bytes raw, %d normalized", len(ev.Raw), len(ev.Normalized))
				}
			}},
		{name: "journeybee/created_at in 9000", route: "journeybee", hdr: good, body: jb9000, status: 200, answer: "accepted", check: zeroOccurred},
		{name: "journeybee/exp in 9999, token bound for ever", route: "journeybee", hdr: jbHeader(t, config.DevJourneyBeeSecret, farExp),
			body: []byte(`{"lead":{"uuid":"lead_far"}}`), status: 200, answer: "accepted"},
		{name: "journeybee/token's first body", route: "journeybee", hdr: tok, body: []byte(`{"lead":{"uuid":"lead_A"}}`), status: 200, answer: "accepted"},
		{name: "journeybee/same token, another body", route: "journeybee", hdr: tok, body: []byte(`{"lead":{"uuid":"lead_B"}}`), status: 401, answer: "token_reused"},
		{name: "journeybee/same token, same body", route: "journeybee", hdr: tok, body: []byte(`{"lead":{"uuid":"lead_A"}}`), status: 200, answer: "duplicate"},
		{name: "tomba/A", route: "tomba", hdr: tbHeader(config.DevTombaToken), body: tomba(50), status: 200, answer: "accepted"},
		{name: "tomba/A again within the dedupe window", route: "tomba", hdr: tbHeader(config.DevTombaToken), body: tomba(50), advance: time.Hour, status: 200, answer: "duplicate"},
		{name: "tomba/B", route: "tomba", hdr: tbHeader(config.DevTombaToken), body: tomba(60), advance: time.Hour, status: 200, answer: "accepted"},
		{name: "tomba/A after the dedupe window", route: "tomba", hdr: tbHeader(config.DevTombaToken), body: tomba(50), advance: 23 * time.Hour, status: 200, answer: "accepted"},
	}
	for _, e := range edges {
		t.Run(e.name, func(t *testing.T) {
			clockMu.Lock()
			clock = clock.Add(e.advance)
			clockMu.Unlock()
			before := countEvents(t, st)
			req, _ := http.NewRequest("POST", srv.URL+"/webhooks/"+e.route, bytes.NewReader(e.body))
			req.Header = e.hdr.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var a struct {
				Status  string `json:"status"`
				Error   string `json:"error"`
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal(body, &a)
			got := a.Status
			if resp.StatusCode != 200 {
				got = a.Error
			}
			if resp.StatusCode != e.status || got != e.answer {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, body, e.status, e.answer)
			}
			want := before
			if e.answer == "accepted" {
				want++
			}
			if n := countEvents(t, st); n != want {
				t.Fatalf("%d events, want %d", n, want)
			}
			if e.check != nil {
				ev, err := st.Get(context.Background(), a.EventID)
				if err != nil {
					t.Fatal(err)
				}
				e.check(t, ev)
			}
		})
	}
}

// incompressibleLeadron is a signed-to-be lead.updated body of exactly n
// bytes whose changes carry random base64 (gzip saves a quarter at most;
// the canonical record copies the changes).
func incompressibleLeadron(t *testing.T, n int) []byte {
	t.Helper()
	head := `{"id":"evt_incompressible","type":"lead.updated","createdAt":"2026-05-27T23:34:12Z","data":{"leadId":"ld_big","changes":{"notes":"`
	tail := `"}}}`
	pad := make([]byte, n)
	if _, err := rand.Read(pad); err != nil {
		t.Fatal(err)
	}
	body := []byte(head + base64.StdEncoding.EncodeToString(pad)[:n-len(head)-len(tail)] + tail)
	if len(body) != n || !json.Valid(body) {
		t.Fatalf("built a body of %d bytes, valid %v", len(body), json.Valid(body))
	}
	return body
}

func countEvents(t *testing.T, st *sqlite.Store) int {
	t.Helper()
	n := 0
	for _, p := range wire.Providers {
		evs, err := st.ListByProvider(context.Background(), p, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(1000*time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
	}
	return n
}

// manyMembers closes the object opened by prefix after n more members
// ("0000":0,… four base-36 digits, 9 bytes each) and closes it and the
// body; with dup the last name is given twice. 35,000 members make about
// 310 KB: the body that took seconds of CPU with a quadratic duplicate
// check.
func manyMembers(prefix string, n int, dup bool) []byte {
	var b bytes.Buffer
	b.WriteString(prefix)
	name := func(i int) string { return fmt.Sprintf(`,"%04s":0`, strconv.FormatInt(int64(i), 36)) }
	for i := range n {
		b.WriteString(name(i))
	}
	if dup {
		b.WriteString(name(n - 1))
	}
	b.WriteString(`}}`)
	return b.Bytes()
}

// fill256KiB is manyMembers with as many members as fit in 256 KiB, the
// default max_body_bytes.
func fill256KiB(prefix string, dup bool) []byte {
	room := 256<<10 - len(prefix) - len(`}}`)
	if dup {
		room -= len(`,"0000":0`)
	}
	return manyMembers(prefix, room/len(`,"0000":0`), dup)
}

// TestManyMembersAndExactNames sends the bodies the hostile table refuses
// without their flaw, to the serve stack: 35,000 distinct members (with
// max_body_bytes raised) and as many as fit in 256 KiB are accepted and
// stored once; a body naming its entity and its members again in other
// cases is stored with the entity id, normalized record and CloudEvent
// subject of the exact-case members, as an exact-match reader of the
// forwarded raw body sees them. (How fast: BenchmarkVerifyManyMembers in
// shared/provider/journeybee.)
func TestManyMembersAndExactNames(t *testing.T) {
	st, q, ls := embeddedStack(t)
	mux := http.NewServeMux()
	for prefix, max := range map[string]int64{"": 0, "/raised": 512 << 10} {
		cfg := config.Development()
		if max > 0 {
			cfg.Ingest.MaxBodyBytes = max
		}
		for _, p := range wire.Providers {
			h, err := wire.Handler(cfg, p, ls, q, nil)
			if err != nil {
				t.Fatal(err)
			}
			mux.Handle(prefix+"/webhooks/"+p, h)
		}
	}
	srv := httptest.NewServer(mux)
	defer srv.Close()

	now := time.Now()
	jbHdr := func(event string) http.Header {
		return jbHeader(t, config.DevJourneyBeeSecret, journeybee.Claims{CompanyUUID: "company_1", UserUUID: "user_1", EventID: event, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	stored := func(url string, body []byte, hdr http.Header) store.Event {
		t.Helper()
		code, id, err := post(srv.URL+url, body, hdr)
		if err != nil || code != 200 || id == "" {
			t.Fatalf("%s (%d bytes): %d %v", url, len(body), code, err)
		}
		ev, err := st.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(ev.Raw, body) {
			t.Fatal("stored body differs from the one sent")
		}
		return ev
	}

	many := manyMembers(`{"lead":{"uuid":"lead_35k"`, 35000, false)
	if len(many) <= 256<<10 || len(many) > 512<<10 {
		t.Fatalf("35,000 members make %d bytes, want 256–512 KiB", len(many))
	}
	if ev := stored("/raised/webhooks/journeybee", many, jbHdr("lead_created")); ev.EntityID != "lead_35k" {
		t.Errorf("35,000 members: entity %q", ev.EntityID)
	}
	full := fill256KiB(`{"lead":{"uuid":"lead_full"`, false)
	if len(full) > 256<<10 || len(full) <= 256<<10-9 {
		t.Fatalf("filled body is %d bytes", len(full))
	}
	if ev := stored("/webhooks/journeybee", full, jbHdr("lead_created")); ev.EntityID != "lead_full" {
		t.Errorf("256 KiB of members: entity %q", ev.EntityID)
	}
	tbFull := fill256KiB(`{"data":{"email":"full@acme.example"`, false)
	stored("/webhooks/tomba", tbFull, tbHeader(config.DevTombaToken))

	// Names repeated in other cases, at the top level and in the entity.
	jb := []byte(`{"LEAD":{"uuid":"B-222","email":"b@evil.example"},` +
		`"lead":{"UUID":"C-333","uuid":"A-111","Email":"c@evil.example","email":"a@good.example"},"Lead":{"uuid":"D-444"}}`)
	ld := []byte(`{"ID":"evt_evil","id":"evt_case_1","type":"lead.created","createdAt":"2026-05-27T23:34:12Z",` +
		`"Data":{"leadId":"B-222"},"data":{"LeadId":"B-222","leadId":"A-111","EMAIL":"b@evil.example","email":"a@good.example"}}`)
	for _, tc := range []struct {
		name, url string
		body      []byte
		hdr       http.Header
	}{
		{"journeybee", "/webhooks/journeybee", jb, jbHdr("lead_created")},
		{"leadron", "/webhooks/leadron", ld, ldHeader(ld)},
	} {
		ev := stored(tc.url, tc.body, tc.hdr)
		var rec canonical.Record
		if err := json.Unmarshal(ev.Normalized, &rec); err != nil {
			t.Fatal(err)
		}
		if ev.EntityID != "A-111" || rec.Lead == nil || rec.Lead.ID != "A-111" || rec.Lead.Email != "a@good.example" {
			t.Errorf("%s: entity %q, normalized %s; want A-111 and a@good.example", tc.name, ev.EntityID, ev.Normalized)
		}
		for _, normalized := range []bool{false, true} {
			if ce := deliver.NewCloudEvent(ev, normalized); ce.Subject != "A-111" {
				t.Errorf("%s: CloudEvent subject %q, want A-111", tc.name, ce.Subject)
			}
		}
	}
}

// embeddedStack opens what serve runs on, in a test's temporary directory:
// a real SQLite file, the embedded queue in it, and the local store over
// both. The file is closed when the test ends.
func embeddedStack(t *testing.T) (*sqlite.Store, *embedded.Queue, *local.Store) {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q, err := embedded.New(st.DB(), embedded.WithWriter(st.Write))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := local.New(st, q)
	if err != nil {
		t.Fatal(err)
	}
	return st, q, ls
}
