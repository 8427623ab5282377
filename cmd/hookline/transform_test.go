package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gopkg.in/yaml.v3"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
)

// readmeExamples returns the yaml block of the README's "Filters and
// transforms" section: the examples the tests run are the ones users read.
func readmeExamples(t testing.TB) []map[string]any {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Filters and transforms\n")
	if !ok {
		t.Fatal("README has no Filters and transforms section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("the Filters and transforms section has no yaml block")
	}
	block, _, _ = strings.Cut(block, "\n```")
	var doc struct {
		Destinations []map[string]any `yaml:"destinations"`
	}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("README example: %v", err)
	}
	return doc.Destinations
}

// recordingSink keeps every request, after checking its Standard Webhooks
// signature with the reference library.
type recordingSink struct {
	t   testing.TB
	wh  *standardwebhooks.Webhook
	srv *httptest.Server

	mu   sync.Mutex
	reqs map[string]sinkRequest // by webhook-id
	n    int
}

type sinkRequest struct {
	header http.Header
	body   string
}

func newRecordingSink(t testing.TB, secret string) *recordingSink {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	s := &recordingSink{t: t, wh: wh, reqs: map[string]sinkRequest{}}
	s.srv = httptest.NewServer(s)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *recordingSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if err := s.wh.Verify(body, r.Header); err != nil {
		s.t.Errorf("sink: signature of %s: %v", r.Header.Get("webhook-id"), err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	s.mu.Lock()
	s.reqs[r.Header.Get("webhook-id")] = sinkRequest{r.Header.Clone(), string(body)}
	s.n++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *recordingSink) snapshot() (map[string]sinkRequest, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]sinkRequest, len(s.reqs))
	for k, v := range s.reqs {
		out[k] = v
	}
	return out, s.n
}

// exampleSecret is the signing secret of the README examples.
const exampleSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// exampleConfig writes the README examples as a config whose destinations
// post to sinks (one per destination, by name), with the development
// sources.
func exampleConfig(t *testing.T, sinks map[string]*recordingSink) string {
	t.Helper()
	dests := readmeExamples(t)
	for _, d := range dests {
		name, _ := d["name"].(string)
		s, ok := sinks[name]
		if !ok {
			t.Fatalf("README example %q has no sink in this test", name)
		}
		if d["secret"] != exampleSecret {
			t.Fatalf("README example %q: secret %v", name, d["secret"])
		}
		d["url"] = s.srv.URL + "/hook"
	}
	if len(dests) != len(sinks) {
		t.Fatalf("README has %d examples, the test %d sinks", len(dests), len(sinks))
	}
	var dev map[string]any
	if err := yaml.Unmarshal([]byte(config.DevelopmentYAML), &dev); err != nil {
		t.Fatal(err)
	}
	out, err := yaml.Marshal(map[string]any{"sources": dev["sources"], "destinations": dests})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "hookline.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// signed is a sample delivery of prov's event with body, signed with the
// development secrets (JourneyBee's token from company).
func signed(t *testing.T, prov, event string, body []byte, company string) http.Header {
	t.Helper()
	tok := samples.DefaultToken(time.Now())
	if company != "" {
		tok.CompanyUUID = company
	}
	h, err := samples.Headers(prov, event, body, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, tok)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func sampleBody(t *testing.T, prov, event string) []byte {
	t.Helper()
	b, err := samples.Body(prov, event)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// runHookline runs the built binary and returns its stdout, stderr and
// exit code.
func runHookline(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return o.String(), e.String(), code
}

const (
	companyAcme  = "company_12345678-1234-5678-9012-123456789abc" // the README's tenant filter, samples.DefaultToken's company
	companyOther = "company_99999999-9999-4999-8999-999999999999"
)

// TestTransformExamples runs the README's four examples in a real hookline
// serve: Tomba and JourneyBee leads to Slack (a Tomba lead under score 50
// filtered out), every lead to a HubSpot-style contact, Leadron's
// lead.created to a sheet row, and one JourneyBee company's events to its
// own destination. Each receiver checks the signature; the test checks
// every body byte for byte, then hookline transform on the stored events
// and on files.
func TestTransformExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	sinks := map[string]*recordingSink{}
	for _, name := range []string{"slack-hot-leads", "hubspot-contacts", "sheet-leads", "acme-crm"} {
		sinks[name] = newRecordingSink(t, exampleSecret)
	}
	cfgFile := exampleConfig(t, sinks)
	t.Setenv("HUBSPOT_TOKEN", "pat-test-token")
	data := t.TempDir()
	s := startServe(t, data, "--config", cfgFile)

	tombaHot := sampleBody(t, "tomba", "save_lead")
	tombaCold := bytes.Replace(tombaHot, []byte(`"score":92`), []byte(`"score":31`), 1)
	jb := sampleBody(t, "journeybee", "lead_created")
	leadron := sampleBody(t, "leadron", "lead.created")
	ids := map[string]string{}
	for _, d := range []struct {
		key, prov, event string
		body             []byte
		company          string
	}{
		{"tomba-hot", "tomba", "save_lead", tombaHot, ""},
		{"tomba-cold", "tomba", "save_lead", tombaCold, ""},
		{"jb-acme", "journeybee", "lead_created", jb, companyAcme},
		{"jb-other", "journeybee", "lead_created", jb, companyOther},
		{"leadron", "leadron", "lead.created", leadron, ""},
	} {
		code, id, err := post(s.url+"/webhooks/"+d.prov, d.body, signed(t, d.prov, d.event, d.body, d.company))
		if err != nil || code != 200 {
			t.Fatalf("%s: %d %v", d.key, code, err)
		}
		ids[d.key] = id
	}

	slackTomba := `{"text":"New lead: Jane Doe, Acme Corp, jane.doe@acme-corp.com (source: Tomba.io, score 92)"}`
	slackJB := `{"text":"New lead: Jane Doe, Prospect Company Inc, contact@prospect.com (source: JourneyBee, referred by TechCorp Solutions)"}`
	hubTomba := `{"properties":{"company":"Acme Corp","email":"jane.doe@acme-corp.com","firstname":"Jane","jobtitle":"VP Sales","lastname":"Doe","lifecyclestage":"lead","phone":"+1 415 555 0134","website":"https://acme-corp.com"}}`
	hubJB := `{"properties":{"company":"Prospect Company Inc","email":"contact@prospect.com","firstname":"Jane","lastname":"Doe","lifecyclestage":"lead","phone":"+1-555-123-4567"}}`
	want := map[string]map[string]string{ // sink → webhook-id → body ("" for a CloudEvent, checked below)
		"slack-hot-leads": {ids["tomba-hot"]: slackTomba, ids["jb-acme"]: slackJB, ids["jb-other"]: slackJB},
		"hubspot-contacts": {ids["tomba-hot"]: hubTomba, ids["tomba-cold"]: hubTomba, ids["jb-acme"]: hubJB, ids["jb-other"]: hubJB,
			ids["leadron"]: `{"properties":{"email":"jane@acme.com","lifecyclestage":"lead"}}`},
		"sheet-leads": {ids["leadron"]: `["2026-05-27T23:34:12Z","evt_01JX3K8Q2M4N6P8R0T2V4W6Y8A","ld_123","jane@acme.com","web_form","` + ids["leadron"] + `"]`},
		"acme-crm":    {ids["jb-acme"]: ""},
	}
	deadline := time.Now().Add(30 * time.Second)
	for name, w := range want {
		for {
			got, n := sinks[name].snapshot()
			if n >= len(w) || time.Now().After(deadline) {
				if n != len(w) || len(got) != len(w) {
					t.Fatalf("%s got %d requests %v, want %d\n%s", name, n, got, len(w), s.logs)
				}
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(200 * time.Millisecond) // nothing more may arrive
	for name, w := range want {
		got, n := sinks[name].snapshot()
		if n != len(w) {
			t.Errorf("%s got %d requests, want %d", name, n, len(w))
		}
		for id, body := range w {
			r, ok := got[id]
			if !ok {
				t.Errorf("%s did not get event %s", name, id)
				continue
			}
			ct := r.header.Get("Content-Type")
			if body == "" { // acme-crm: no transform, the CloudEvent of the acme company's event
				var ce struct {
					ID     string          `json:"id"`
					Tenant string          `json:"tenant"`
					Data   json.RawMessage `json:"data"`
				}
				if err := json.Unmarshal([]byte(r.body), &ce); err != nil || ce.ID != id || ce.Tenant != companyAcme || ct != "application/cloudevents+json" {
					t.Errorf("%s: %s (%s), %v", name, r.body, ct, err)
				}
				continue
			}
			if r.body != body || ct != "application/json" {
				t.Errorf("%s, event %s:\n got %s (%s)\nwant %s (application/json)", name, id, r.body, ct, body)
			}
		}
	}
	if r := first(sinks["hubspot-contacts"]); r.header.Get("Authorization") != "Bearer pat-test-token" {
		t.Errorf("hubspot Authorization = %q", r.header.Get("Authorization"))
	}

	// The delivery states: filtered where a filter said no, not an attempt.
	states := eventStates(t, data, ids["tomba-cold"], ids["jb-other"])
	for _, w := range []string{
		ids["tomba-cold"] + " delivered slack-hot-leads:filtered/0 hubspot-contacts:delivered/1",
		ids["jb-other"] + " delivered slack-hot-leads:delivered/1 hubspot-contacts:delivered/1 acme-crm:filtered/0",
	} {
		if !strings.Contains(states, w) {
			t.Errorf("events: want %q in\n%s", w, states)
		}
	}
	// Nothing of a lead in the logs.
	for _, line := range strings.Split(s.logs.String(), "\n") {
		for _, leak := range []string{"jane", "Jane", "pat-test-token", "New lead"} {
			if strings.HasPrefix(line, "{") && strings.Contains(line, leak) {
				t.Errorf("log line contains %q: %s", leak, line)
			}
		}
	}

	dir := t.TempDir()
	t.Run("transform a stored event", func(t *testing.T) {
		out, stderr, code := runHookline(t, dir, "transform", "--config", cfgFile, "--data", data,
			"--destination", "slack-hot-leads", "--event", ids["tomba-hot"])
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		checkPrinted(t, out, ids["tomba-hot"], slackTomba)
		if !strings.Contains(out, "filter       true: delivered") {
			t.Errorf("output:\n%s", out)
		}
		out, _, code = runHookline(t, dir, "transform", "--config", cfgFile, "--data", data,
			"--destination", "slack-hot-leads", "--event", ids["tomba-cold"])
		if code != 0 || !strings.Contains(out, "filter       false: filtered out, nothing is sent") || strings.Contains(out, "POST") {
			t.Errorf("filtered event: exit %d\n%s", code, out)
		}
	})
	t.Run("transform a file", func(t *testing.T) {
		for _, c := range []struct {
			dest, file, prov, typ string
			body                  []byte
			extra                 []string
			want                  string
		}{
			{"slack-hot-leads", "tomba.json", "tomba", "save_lead", tombaHot, nil, slackTomba},
			{"hubspot-contacts", "jb.json", "journeybee", "journeybee.lead_created", jb, nil, hubJB},
			{"acme-crm", "jb.json", "journeybee", "lead_created", jb, []string{"--tenant", companyOther}, "filtered"},
			{"acme-crm", "jb.json", "journeybee", "lead_created", jb, nil, "cloudevent"},
			{"sheet-leads", "leadron.json", "leadron", "lead.created", leadron, []string{"--document"}, "row"},
		} {
			if err := os.WriteFile(filepath.Join(dir, c.file), c.body, 0o600); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"transform", "--config", cfgFile, "--destination", c.dest,
				"--file", c.file, "--provider", c.prov, "--type", c.typ}, c.extra...)
			out, stderr, code := runHookline(t, dir, args...)
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", args, code, stderr)
			}
			id := strings.Fields(strings.TrimPrefix(lineWith(out, "event "), "event"))[0]
			switch c.want {
			case "filtered":
				if !strings.Contains(out, "filter       false") {
					t.Errorf("%v:\n%s", args, out)
				}
			case "cloudevent":
				if !strings.Contains(out, "Content-Type: application/cloudevents+json") || !strings.Contains(out, `"tenant":"`+companyAcme+`"`) {
					t.Errorf("%v:\n%s", args, out)
				}
			case "row":
				checkPrinted(t, out, id, `["2026-05-27T23:34:12Z","evt_01JX3K8Q2M4N6P8R0T2V4W6Y8A","ld_123","jane@acme.com","web_form","`+id+`"]`)
				if doc := lineWith(out, "document "); !strings.Contains(doc, `"data":{"createdAt":"2026-05-27T23:34:12.000Z"`) {
					t.Errorf("document line = %s", doc)
				}
			default:
				checkPrinted(t, out, id, c.want)
			}
		}
	})
}

// first is any request a sink got.
func first(s *recordingSink) sinkRequest {
	got, _ := s.snapshot()
	for _, r := range got {
		return r
	}
	return sinkRequest{header: http.Header{}}
}

// eventStates is `hookline events` for ids, once their events are settled.
func eventStates(t *testing.T, data string, ids ...string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		args := []string{"events", "--data", data}
		for _, id := range ids {
			args = append(args, "--id", id)
		}
		out, stderr, code := runHookline(t, t.TempDir(), args...)
		if code != 0 {
			t.Fatalf("hookline events: %s", stderr)
		}
		// Squeeze the columns: "<id> <status> <type> <time> <states>".
		var lines []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 4 {
				lines = append(lines, strings.Join(append(f[:2:2], f[4:]...), " "))
			}
		}
		joined := strings.Join(lines, "\n")
		if strings.Count(joined, " delivered ") == len(ids) || time.Now().After(deadline) {
			return joined
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// lineWith returns the first line of out that starts with prefix.
func lineWith(out, prefix string) string {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			return sc.Text()
		}
	}
	return ""
}

// checkPrinted checks what hookline transform printed for an HTTP
// destination: the headers, then the body exactly, signed as it would be
// sent (verified with the reference library from the printed lines).
func checkPrinted(t *testing.T, out, id, body string) {
	t.Helper()
	_, req, ok := strings.Cut(out, "\nPOST ")
	if !ok {
		t.Fatalf("no request printed:\n%s", out)
	}
	head, printed, ok := strings.Cut(req, "\n\n")
	if !ok || printed != body+"\n" {
		t.Fatalf("printed body %q, want %q", printed, body+"\n")
	}
	h := http.Header{}
	for _, l := range strings.Split(head, "\n")[1:] {
		k, v, _ := strings.Cut(l, ": ")
		h.Add(k, v)
	}
	wh, _ := standardwebhooks.NewWebhook(exampleSecret)
	if err := wh.Verify([]byte(body), h); err != nil {
		t.Errorf("printed signature does not verify: %v\n%s", err, head)
	}
	if h.Get("Webhook-Id") != id || h.Get("Content-Length") != fmt.Sprint(len(body)) {
		t.Errorf("printed headers:\n%s", head)
	}
}

// A filter or transform error exits 1 with the message; so does a config
// whose program does not compile, in hookline transform and hookline serve.
func TestTransformCommandErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lead.json"), sampleBody(t, "tomba", "save_lead"), 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(dest string) string {
		f := filepath.Join(t.TempDir(), "hookline.yaml")
		doc := config.DevelopmentYAML + "  - name: crm\n    type: http\n    url: https://crm.example.com\n    secret: " + exampleSecret + "\n" + dest
		if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, c := range []struct{ name, dest, stderr, stdout string }{
		{"transform raises", "    transform: 'error(\"no owner for \\(.type)\")'\n",
			"hookline: destination crm: transform: error: no owner for tomba.save_lead", "transform    error: a permanent failure, class transform_error"},
		{"filter not boolean", "    filter: .data.data.email\n",
			"hookline: destination crm: filter: produced a string, not true or false", "filter       error"},
		{"transform never ends", "    transform: 'last(range(infinite))'\n",
			"hookline: destination crm: transform: stopped after running for its bound of 500ms", ""},
		{"syntax", "    filter: |\n      .provider == \"tomba\"\n        and (.data.data.score >\n",
			"hookline: destination crm: filter: syntax error at line 3, column 1: unexpected EOF", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := runHookline(t, dir, "transform", "--config", write(c.dest), "--destination", "crm",
				"--file", "lead.json", "--provider", "tomba", "--type", "save_lead")
			if code != 1 || !strings.Contains(stderr, c.stderr) || !strings.Contains(out, c.stdout) {
				t.Errorf("exit %d\nstderr %s\nstdout %s\nwant %q", code, stderr, out, c.stderr)
			}
		})
	}
	// hookline serve refuses the config too, before it listens.
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--config",
		write("    transform: '{text: .data.data.email'\n"))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 ||
		!strings.Contains(string(out), "destination crm: transform: syntax error at line 1, column 24: unexpected EOF") {
		t.Errorf("serve with a bad transform: %v\n%s", err, out)
	}
}
