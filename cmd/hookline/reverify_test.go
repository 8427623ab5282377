package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
)

const (
	wrongJourneyBee = "9b2d4e61-0c7a-4f3e-8d21-5a6b7c8d9e0f" // an integration UUID pasted by mistake
	wrongLeadron    = "whsec_not_the_leadron_secret"
)

// quarantineConfig writes a config with the given JourneyBee and Leadron
// secrets, quarantine on, and one HTTP destination.
func quarantineConfig(t *testing.T, dir, jb, ld, sink string) string {
	yaml := fmt.Sprintf(`sources:
  journeybee: { secrets: [%q] }
  leadron:    { secrets: [%q] }
destinations:
  - { name: crm, type: http, url: %s, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw }
ingest:
  quarantine: { ttl: 1h, max_count: 50 }
processor: { backoff_base: 200ms, backoff_cap: 400ms }
`, jb, ld, sink)
	path := filepath.Join(dir, fmt.Sprintf("hookline-%d.yaml", time.Now().UnixNano()))
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// postConsole POSTs a JSON body to the console as the page does, and
// returns the status and the answer.
func postConsole(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Hookline-Console", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type rejectionsAnswer struct {
	Rejections []struct {
		ID          string            `json:"id"`
		Provider    string            `json:"provider"`
		Reason      string            `json:"reason"`
		Claims      map[string]string `json:"claims"`
		Quarantined bool              `json:"quarantined"`
	} `json:"rejections"`
}

type reverifyAnswer struct {
	Status  string `json:"status"`
	EventID string `json:"event_id"`
	Reason  string `json:"reason"`
}

// TestReverifyInServe: serve runs with the wrong JourneyBee and Leadron
// secrets; genuine deliveries are refused (401) and quarantined, and so is
// a forged one. The operator fixes the config (serve has no reload: it is
// restarted on the same data directory) and re-verifies: the genuine
// deliveries are accepted and delivered once to a real HTTP destination,
// re-verifying again is a duplicate, the forged one stays rejected with
// its reason. No secret, token or body shows in a log line or an answer.
func TestReverifyInServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hookline serve twice")
	}
	sink := newCountingSink(t)
	dir, data := t.TempDir(), t.TempDir()

	s1 := startConsoleServe(t, "--config", quarantineConfig(t, dir, wrongJourneyBee, wrongLeadron, sink.url), "--data", data)
	secrets := samples.Secrets{JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken}
	send := func(s *consoleServe, prov, event string, body []byte, sec samples.Secrets) (int, string) {
		t.Helper()
		hdr, err := samples.Headers(prov, event, body, sec, samples.DefaultToken(time.Now()))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, s.url+"/webhooks/"+prov, bytes.NewReader(body))
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b) + " " + hdr.Get("Authorization") + hdr.Get("X-Leadron-Signature")
	}
	jbBody, _ := samples.Body("journeybee", "lead_created")
	ldBody, _ := samples.Body("leadron", "lead.created")
	forged := bytes.Replace(ldBody, []byte(`"id":"`), []byte(`"id":"forged-`), 1)
	var answers, credentials []string
	for _, d := range []struct {
		prov, event string
		body        []byte
		sec         samples.Secrets
	}{
		{"journeybee", "lead_created", jbBody, secrets},
		{"leadron", "lead.created", ldBody, secrets},
		{"leadron", "lead.created", forged, samples.Secrets{Leadron: "an-attackers-guess"}},
	} {
		status, out := send(s1, d.prov, d.event, d.body, d.sec)
		answer, cred, _ := strings.Cut(out, " ")
		if status != http.StatusUnauthorized || !strings.Contains(answer, "bad_signature") {
			t.Fatalf("%s with the wrong secret configured: %d %s\n%s", d.prov, status, answer, s1.logs)
		}
		answers, credentials = append(answers, answer), append(credentials, strings.TrimPrefix(cred, "Bearer "))
	}
	var rej rejectionsAnswer
	if code := getJSON(t, s1.consoleURL+"api/rejections", &rej); code != 200 || len(rej.Rejections) != 3 {
		t.Fatalf("rejections: %d %+v", code, rej)
	}
	ids := map[string]string{} // provider+reason order → id
	for _, r := range rej.Rejections {
		if !r.Quarantined || r.Reason != "bad_signature" {
			t.Errorf("rejection %+v: want quarantined bad_signature", r)
		}
		if r.Provider == "journeybee" {
			ids["journeybee"] = r.ID
			if r.Claims["company_uuid"] == "" || r.Claims["event_id"] != "lead_created" || r.Claims["api_key"] != "" {
				t.Errorf("journeybee claims %v", r.Claims)
			}
		}
	}
	if sink.total() != 0 {
		t.Fatal("a refused delivery was forwarded")
	}
	code, out := postConsole(t, s1.consoleURL+"api/rejections/"+ids["journeybee"]+"/reverify", "")
	var still reverifyAnswer
	if err := json.Unmarshal(out, &still); code != 200 || err != nil || still.Status != "rejected" || still.Reason != "bad_signature" {
		t.Errorf("re-verify before the fix: %d %s", code, out)
	}
	if err := s1.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = s1.cmd.Wait()

	// The config fixed, serve started again on the same data.
	s2 := startConsoleServe(t, "--config", quarantineConfig(t, dir, config.DevJourneyBeeSecret, config.DevLeadronSecret, sink.url), "--data", data)
	code, out = postConsole(t, s2.consoleURL+"api/rejections/reverify", `{"provider":"leadron","dry_run":true}`)
	var dry struct {
		Count  int  `json:"count"`
		DryRun bool `json:"dry_run"`
	}
	if err := json.Unmarshal(out, &dry); code != 200 || err != nil || dry.Count != 2 || !dry.DryRun || sink.total() != 0 {
		t.Fatalf("dry run: %d %s", code, out)
	}
	var first, again reverifyAnswer
	code, out = postConsole(t, s2.consoleURL+"api/rejections/"+ids["journeybee"]+"/reverify", "")
	if err := json.Unmarshal(out, &first); code != 200 || err != nil || first.Status != "accepted" || first.EventID == "" {
		t.Fatalf("re-verify: %d %s", code, out)
	}
	code, out = postConsole(t, s2.consoleURL+"api/rejections/"+ids["journeybee"]+"/reverify", "")
	if err := json.Unmarshal(out, &again); code != 200 || err != nil || again.Status != "duplicate" || again.EventID != first.EventID {
		t.Errorf("re-verify again: %d %s", code, out)
	}
	code, out = postConsole(t, s2.consoleURL+"api/rejections/reverify", `{"provider":"leadron"}`)
	var bulk struct {
		Count, Accepted, Duplicate, Rejected int
		Results                              []reverifyAnswer
	}
	if err := json.Unmarshal(out, &bulk); code != 200 || err != nil || bulk.Count != 2 || bulk.Accepted != 1 || bulk.Rejected != 1 {
		t.Fatalf("bulk re-verify: %d %s", code, out)
	}
	var leadronID string
	for _, r := range bulk.Results {
		if r.Status == "rejected" && r.Reason != "bad_signature" {
			t.Errorf("the forged delivery: %+v", r)
		}
		if r.Status == "accepted" {
			leadronID = r.EventID
		}
	}
	code, out = postConsole(t, s2.consoleURL+"api/rejections/reverify", `{"provider":"leadron"}`)
	if err := json.Unmarshal(out, &bulk); code != 200 || err != nil || bulk.Duplicate != 1 || bulk.Rejected != 1 || bulk.Accepted != 0 {
		t.Errorf("bulk again: %d %s", code, out)
	}
	if code, out := postConsole(t, s2.consoleURL+"api/rejections/99999/reverify", ""); code != 404 || !strings.Contains(string(out), "not_quarantined") {
		t.Errorf("unknown rejection: %d %s", code, out)
	}
	if code, _ := postConsole(t, s2.consoleURL+"api/rejections/reverify", `{"provider":"nope"}`); code != 400 {
		t.Errorf("unknown provider: %d", code)
	}

	deadline := time.Now().Add(20 * time.Second)
	for sink.count(first.EventID) < 1 || sink.count(leadronID) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("not delivered: journeybee %d, leadron %d\n%s", sink.count(first.EventID), sink.count(leadronID), s2.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second) // room for a second delivery, which must not come
	if sink.count(first.EventID) != 1 || sink.count(leadronID) != 1 || sink.total() != 2 {
		t.Errorf("delivered %v, want each once", sink.counts())
	}
	var ev struct {
		ID   string            `json:"id"`
		Meta map[string]string `json:"meta"`
	}
	if code := getJSON(t, s2.consoleURL+"api/events/"+first.EventID, &ev); code != 200 || ev.Meta["reverified_from"] != ids["journeybee"] {
		t.Errorf("event %s: %d %+v", first.EventID, code, ev)
	}

	logs := s1.logs.String() + s2.logs.String()
	for _, secret := range append(credentials, config.DevJourneyBeeSecret, config.DevLeadronSecret, wrongJourneyBee, wrongLeadron, "an-attackers-guess") {
		for where, text := range map[string]string{"logs": logs, "answers": strings.Join(answers, " ")} {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("%s carry a secret or token (%.12s…)", where, secret)
			}
		}
	}
	for _, content := range []string{"jane", "lead_", `"lead"`} {
		if strings.Contains(strings.Join(answers, " "), content) {
			t.Errorf("an answer carries body content %q", content)
		}
	}
}

// TestReverifyCommand: `hookline reverify` on a stopped serve's data, with
// the fixed config: a dry run changes nothing; then the genuine delivery is
// accepted and the forged one stays rejected; again, a duplicate. Serve,
// started again, delivers the accepted event once.
func TestReverifyCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs hookline serve twice")
	}
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	sink := newCountingSink(t)
	dir, data := t.TempDir(), t.TempDir()
	s1 := startConsoleServe(t, "--config", quarantineConfig(t, dir, wrongJourneyBee, wrongLeadron, sink.url), "--data", data)
	ld, _ := samples.Body("leadron", "lead.created")
	for _, sec := range []string{config.DevLeadronSecret, "an-attackers-guess"} {
		hdr, _ := samples.Headers("leadron", "lead.created", ld, samples.Secrets{Leadron: sec}, samples.Token{})
		if code, _, _ := post(s1.url+"/webhooks/leadron", ld, hdr); code != 401 {
			t.Fatalf("with the wrong secret configured: %d", code)
		}
	}
	if err := s1.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = s1.cmd.Wait()
	fixed := quarantineConfig(t, dir, config.DevJourneyBeeSecret, config.DevLeadronSecret, sink.url)
	reverify := func(extra ...string) string {
		t.Helper()
		out, err := exec.Command(bin, append([]string{"reverify", "--data", data, "--config", fixed}, extra...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("hookline reverify %v: %v\n%s", extra, err, out)
		}
		return string(out)
	}
	if out := reverify("--provider", "leadron", "--dry-run"); !strings.Contains(out, "2 kept deliveries selected (dry run") {
		t.Errorf("dry run:\n%s", out)
	}
	if out := reverify("--provider", "leadron"); !strings.Contains(out, "1 accepted, 0 duplicate, 1 rejected") || !strings.Contains(out, "rejected bad_signature") {
		t.Errorf("re-verify:\n%s", out)
	}
	if out := reverify("--provider", "leadron"); !strings.Contains(out, "0 accepted, 1 duplicate, 1 rejected") {
		t.Errorf("again:\n%s", out)
	}
	if out, err := exec.Command(bin, "reverify", "--data", data, "--config", fixed).CombinedOutput(); err == nil {
		t.Errorf("no selection accepted:\n%s", out)
	}
	startConsoleServe(t, "--config", fixed, "--data", data)
	deadline := time.Now().Add(20 * time.Second)
	for sink.total() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("the re-verified event was not delivered")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	if sink.total() != 1 || len(sink.counts()) != 1 {
		t.Errorf("delivered %v, want one event once", sink.counts())
	}
}
