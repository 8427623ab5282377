package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// consoleServe is a running `hookline serve` with its console.
type consoleServe struct {
	*server           // url is the webhook listener
	consoleURL string // the console, from the start-up line
}

var consoleLine = regexp.MustCompile(`hookline: console on (http://\S+/)`)

// startConsoleServe runs hookline serve as startServe does (development
// config, a temporary data directory unless extra names one, the console
// on a free loopback port), plus extra flags, and waits for the console's
// start-up line too.
func startConsoleServe(t testing.TB, extra ...string) *consoleServe {
	t.Helper()
	s := startServe(t, t.TempDir(), extra...)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if m := consoleLine.FindStringSubmatch(s.logs.String()); m != nil {
			return &consoleServe{server: s, consoleURL: m[1]}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookline serve did not print its console's address:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(t testing.TB, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if v != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", url, err, b)
		}
	}
	return resp.StatusCode
}

// TestServeConsole: serve prints the console's URL, the console answers on
// its own listener only, and a delivery shows in it with its attempt.
func TestServeConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	s := startConsoleServe(t)
	if !strings.HasPrefix(s.consoleURL, "http://127.0.0.1:") || strings.HasPrefix(s.consoleURL, s.url) {
		t.Fatalf("console URL %s, webhook URL %s: want its own loopback listener", s.consoleURL, s.url)
	}
	// Not on the webhook listener, which faces providers.
	for _, p := range []string{"/api/events", "/", "/app.js"} {
		if code := getJSON(t, s.url+p, nil); code != 404 {
			t.Errorf("webhook listener answers %s with %d, want 404", p, code)
		}
	}
	body, hdr := delivery(t, "leadron", 1)
	code, id, err := post(s.url+"/webhooks/leadron", body, hdr)
	if err != nil || code != 200 {
		t.Fatalf("post: %d %v", code, err)
	}
	var list struct {
		Events []struct {
			ID, Status string
		} `json:"events"`
	}
	var detail struct {
		Status     string `json:"status"`
		Deliveries []struct {
			Destination string `json:"destination"`
			History     []struct {
				Outcome string `json:"outcome"`
			} `json:"history"`
		} `json:"deliveries"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		getJSON(t, s.consoleURL+"api/events", &list)
		getJSON(t, s.consoleURL+"api/events/"+id, &detail)
		if len(list.Events) == 1 && list.Events[0].ID == id && detail.Status == "delivered" &&
			len(detail.Deliveries) == 1 && len(detail.Deliveries[0].History) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console list %+v, detail %+v: want the event delivered with one attempt\n%s", list, detail, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d := detail.Deliveries[0]; d.Destination != "log" || d.History[0].Outcome != "delivered" {
		t.Errorf("delivery = %+v, want the development config's log destination, delivered", d)
	}
}

// TestServeRefusesOpenConsoleWithoutToken: a console address that is not
// loopback needs --console-token; serve refuses to start without one (and
// never opens the webhook listener), and starts with one.
func TestServeRefusesOpenConsoleWithoutToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
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
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", t.TempDir(), "--console-addr", "0.0.0.0:0")
	cmd.Dir = t.TempDir()
	cmd.Env = append(cmd.Environ(), EnvConsoleToken+"=")
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("serve with an open console and no token did not exit")
	}
	if err == nil || !strings.Contains(string(out), "--console-token") {
		t.Fatalf("serve = %v: %s; want a refusal naming --console-token", err, out)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the webhook listener was opened by a refused start")
	}

	// With a token it starts, and the API wants it.
	s := startConsoleServe(t, "--console-addr", "0.0.0.0:0", "--console-token", "t0ken")
	url := strings.Replace(s.consoleURL, "0.0.0.0", "127.0.0.1", 1) // the Host the console answers to
	url = strings.Replace(url, "[::]", "127.0.0.1", 1)
	if code := getJSON(t, url+"api/events", nil); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	req, _ := http.NewRequest("GET", url+"api/events", nil)
	req.Header.Set("Authorization", "Bearer t0ken")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("with the token: %d, want 200", resp.StatusCode)
	}
	if strings.Contains(s.logs.String(), "t0ken") {
		t.Error("the token was logged")
	}
}
