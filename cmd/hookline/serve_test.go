package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store/sqlite"
)

// buildHookline builds this command once per test binary.
var buildOnce = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "hookline-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "hookline")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

type server struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer // read while the process writes it
}

// startServe runs `hookline serve` on a free port with data in dataDir,
// from an empty working directory (so without --config in extra the
// development config is used).
func startServe(t testing.TB, dataDir string, extra ...string) *server {
	t.Helper()
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{url: "http://" + addr, logs: &syncBuffer{}}
	args := []string{"serve", "--addr", addr, "--data", dataDir}
	if !slices.Contains(extra, "--console-addr") {
		args = append(args, "--console-addr", "127.0.0.1:0") // tests run side by side: never the fixed default port
	}
	s.cmd = exec.Command(bin, append(args, extra...)...)
	s.cmd.Dir = t.TempDir()
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.cmd.Process.Kill(); _ = s.cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookline serve did not come up: %v\n%s", err, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// delivery builds the i-th unique signed delivery of a provider from its
// sample bodies, made unique by rewriting the first id in the body.
func delivery(t *testing.T, prov string, i int) (body []byte, hdr http.Header) {
	t.Helper()
	event := map[string]string{"journeybee": "lead_created", "leadron": "lead.created", "tomba": "save_lead"}[prov]
	body, err := samples.Body(prov, event)
	if err != nil {
		t.Fatal(err)
	}
	marker := map[string]string{"journeybee": `"uuid": "`, "leadron": `"id":"`, "tomba": `"email":"`}[prov]
	if !bytes.Contains(body, []byte(marker)) {
		t.Fatalf("%s sample has no %s", prov, marker)
	}
	body = bytes.Replace(body, []byte(marker), []byte(fmt.Sprintf("%sn%d-", marker, i)), 1)
	hdr, err = samples.Headers(prov, event, body, samples.Secrets{
		JourneyBee: config.DevJourneyBeeSecret, Leadron: config.DevLeadronSecret, TombaToken: config.DevTombaToken,
	}, samples.DefaultToken(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	return body, hdr
}

func post(url string, body []byte, hdr http.Header) (int, string, error) {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var a struct {
		Status  string `json:"status"`
		EventID string `json:"event_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return resp.StatusCode, "", err
	}
	return resp.StatusCode, a.EventID, nil
}

// TestServeSurvivesKill9 posts a burst of signed deliveries of all three
// providers, kills the server with SIGKILL right after the last 2xx,
// restarts it on the same data and checks every acknowledged event is in
// the SQLite file and is still deduplicated.
func TestServeSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	data := t.TempDir()
	s := startServe(t, data)

	const perProvider = 60
	type acked struct {
		prov string
		i    int
		id   string
	}
	var mu sync.Mutex
	var got []acked
	var wg sync.WaitGroup
	errs := make(chan error, 3*perProvider)
	for _, prov := range []string{"journeybee", "leadron", "tomba"} {
		for i := range perProvider {
			body, hdr := delivery(t, prov, i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, id, err := post(s.url+"/webhooks/"+prov, body, hdr)
				if err != nil || code != 200 || id == "" {
					errs <- fmt.Errorf("%s #%d: %d %v", prov, i, code, err)
					return
				}
				mu.Lock()
				got = append(got, acked{prov, i, id})
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()

	s2 := startServe(t, data)
	st, err := sqlite.Open(filepath.Join(data, "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, a := range got {
		ev, err := st.Get(context.Background(), a.id)
		if err != nil || ev.Provider != a.prov {
			t.Fatalf("acknowledged %s event %s lost after kill -9: %v", a.prov, a.id, err)
		}
	}
	if len(got) != 3*perProvider {
		t.Fatalf("%d acknowledged, want %d", len(got), 3*perProvider)
	}
	// The restarted server still knows every key: a redelivery is a duplicate.
	for _, a := range got[:9] {
		body, hdr := delivery(t, a.prov, a.i)
		code, id, err := post(s2.url+"/webhooks/"+a.prov, body, hdr)
		if err != nil || code != 200 || id != a.id {
			t.Errorf("redelivery of %s #%d after restart: %d %s (first %s) %v", a.prov, a.i, code, id, a.id, err)
		}
	}
	// The development secrets are printed once at start-up, by design; no
	// JSON log line may carry a secret or a lead's data.
	for _, line := range strings.Split(s.logs.String()+s2.logs.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		for _, secret := range []string{config.DevJourneyBeeSecret, config.DevLeadronSecret, config.DevTombaToken, "@", "Bearer"} {
			if strings.Contains(line, secret) {
				t.Errorf("log line contains %q: %s", secret, line)
			}
		}
	}
}

// The embedded queue must not dead-letter a message while the processor may
// still attempt one of its destinations: its threshold exceeds the sum of
// every destination's max_attempts.
func TestMaxReceivesExceedsAttempts(t *testing.T) {
	cfg := config.Development()
	cfg.Destinations = []config.Destination{
		{Name: "a", Type: "log", MaxAttempts: 25},
		{Name: "b", Type: "log", MaxAttempts: 100},
		{Name: "c", Type: "log"}, // unset: the default
	}
	total := 25 + 100 + config.DefaultMaxAttempts
	if got := maxReceives(cfg); got <= total {
		t.Errorf("maxReceives = %d, want more than %d", got, total)
	}
	cfg.Destinations = nil
	if got := maxReceives(cfg); got < 1 {
		t.Errorf("maxReceives without destinations = %d, want at least 1", got)
	}
}
