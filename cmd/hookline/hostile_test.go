package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/samples"
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
// embedded queue, development config). Each gets its documented status and
// a JSON error without secrets; nothing is stored or enqueued; the server
// still accepts a good delivery afterwards.
func TestHostileInput(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := embedded.New(st.DB(), embedded.WithWriter(st.Write))
	if err != nil {
		t.Fatal(err)
	}
	ls, err := local.New(st, q)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Development()
	mux := http.NewServeMux()
	for _, p := range wire.Providers {
		h, err := wire.Handler(cfg, p, ls, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.Rejections = st // as serve does: the console's recent rejections
		mux.Handle("/webhooks/"+p, h)
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
	expired, future := claims, claims
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
		jb("truncated JSON", good, jbBody[:len(jbBody)/2], 400),
		jb("256 KiB + 1", good, big, 413),
		jb("text/plain", http.Header{"Content-Type": {"text/plain"}, "Authorization": good["Authorization"]}, jbBody, 415),
		{name: "journeybee/GET", method: "GET", route: "journeybee", hdr: good, status: 405},
		{name: "journeybee/PUT", method: "PUT", route: "journeybee", hdr: good, body: jbBody, status: 405},
	}

	ldBody, _ := samples.Body("leadron", "lead.created")
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
			req, _ := http.NewRequest(tc.method, srv.URL+"/webhooks/"+tc.route, bytes.NewReader(tc.body))
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
}

func countEvents(t *testing.T, st *sqlite.Store) int {
	t.Helper()
	n := 0
	for _, p := range wire.Providers {
		evs, err := st.ListByProvider(context.Background(), p, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Now().Add(time.Hour), 1000)
		if err != nil {
			t.Fatal(err)
		}
		n += len(evs)
	}
	return n
}
