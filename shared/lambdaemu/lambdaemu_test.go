package lambdaemu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/lambdaemu"
)

// bin is testdata/fn (a real aws-lambda-go function), built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdaemu-test")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "./testdata/fn")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testdata/fn: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func start(t *testing.T, timeout time.Duration, env ...string) (*lambdaemu.Runtime, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	rt, err := lambdaemu.Start(context.Background(), lambdaemu.Function{
		Name: "fn-test", Bootstrap: bin, Env: append(env, "AWS_REGION=eu-west-1"),
		Timeout: timeout, Stdout: logs, Stderr: logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = rt.Close() })
	return rt, logs
}

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

type answer struct {
	Said, RequestID, Function, Custom string
	Deadline                          bool
	BadStatus                         int
	LogFormat, LogLevel               string
	deadlineMS                        int64 // compared apart: it changes with every invocation
}

func decode(t *testing.T, res lambdaemu.Result) answer {
	t.Helper()
	var a struct {
		Said       string `json:"said"`
		RequestID  string `json:"request_id"`
		Function   string `json:"function"`
		Custom     string `json:"custom"`
		Deadline   bool   `json:"deadline"`
		DeadlineMS int64  `json:"deadline_ms"`
		BadStatus  int    `json:"bad_status"`
		LogFormat  string `json:"log_format"`
		LogLevel   string `json:"log_level"`
	}
	if err := json.Unmarshal(res.Payload, &a); err != nil {
		t.Fatalf("payload %s: %v", res.Payload, err)
	}
	return answer{Said: a.Said, RequestID: a.RequestID, Function: a.Function, Custom: a.Custom,
		Deadline: a.Deadline, BadStatus: a.BadStatus, deadlineMS: a.DeadlineMS, LogFormat: a.LogFormat, LogLevel: a.LogLevel}
}

func TestInvokeRunsTheHandler(t *testing.T) {
	rt, logs := start(t, 5*time.Second, "FN_CUSTOM=from-env")
	if rt.InitDuration() <= 0 || rt.InitDuration() > 5*time.Second {
		t.Errorf("init duration %v", rt.InitDuration())
	}
	// Warm invocations reuse the same process.
	for _, say := range []string{"one", "two"} {
		res, err := rt.Invoke(context.Background(), []byte(`{"say":"`+say+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		a := decode(t, res)
		want := answer{Said: say, RequestID: res.RequestID, Function: "fn-test", Custom: "from-env", Deadline: true, deadlineMS: a.deadlineMS}
		if res.Error || a != want || len(res.RequestID) != 36 {
			t.Errorf("invoke %q: %+v %+v, want %+v", say, res, a, want)
		}
		if res.Duration <= 0 {
			t.Errorf("duration %v", res.Duration)
		}
	}
	rss, err := rt.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Once the process has exited, everything it wrote has been copied.
	if got := logs.String(); !strings.Contains(got, `{"msg":"init"}`) || strings.Count(got, `"msg":"invoke"`) != 2 {
		t.Errorf("logs:\n%s", got)
	}
	if runtime.GOOS == "linux" && (rss < 1<<20 || rss > 1<<30) {
		t.Errorf("peak RSS %d bytes", rss)
	}
	if _, err := rt.Invoke(context.Background(), []byte(`{}`)); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Errorf("invoke after Close: %v", err)
	}
}

// The function sees the log settings Lambda derives from its LoggingConfig:
// AWS_LAMBDA_LOG_FORMAT and AWS_LAMBDA_LOG_LEVEL, with the JSON format only;
// they win over the same names in Env.
func TestLoggingConfigSetsLambdasVariables(t *testing.T) {
	tests := []struct{ format, level, wantFormat, wantLevel string }{
		{"", "", "TEXT", ""}, // Lambda sets nothing: Env's value stays
		{"Text", "DEBUG", "TEXT", ""},
		{"JSON", "", "JSON", "INFO"},
		{"JSON", "warn", "JSON", "WARN"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.level, func(t *testing.T) {
			rt, err := lambdaemu.Start(context.Background(), lambdaemu.Function{Bootstrap: bin,
				LogFormat: tt.format, LogLevel: tt.level, Env: []string{"AWS_LAMBDA_LOG_FORMAT=TEXT"}})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = rt.Close() })
			res, err := rt.Invoke(context.Background(), []byte(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			if a := decode(t, res); a.LogFormat != tt.wantFormat || a.LogLevel != tt.wantLevel {
				t.Fatalf("AWS_LAMBDA_LOG_FORMAT=%q AWS_LAMBDA_LOG_LEVEL=%q, want %q %q", a.LogFormat, a.LogLevel, tt.wantFormat, tt.wantLevel)
			}
		})
	}
}

func TestInvokeReportsFunctionErrors(t *testing.T) {
	rt, _ := start(t, 5*time.Second)
	res, err := rt.Invoke(context.Background(), []byte(`{"fail":true}`))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}
	if !res.Error || json.Unmarshal(res.Payload, &e) != nil || e.Message != "asked to fail" || e.Type == "" {
		t.Fatalf("error result %+v (%s)", res, res.Payload)
	}
	// The function keeps serving after a handler error, as on Lambda.
	res, err = rt.Invoke(context.Background(), []byte(`{"say":"again"}`))
	if err != nil || res.Error || decode(t, res).Said != "again" {
		t.Fatalf("after an error: %+v %v", res, err)
	}
}

func TestAnswerForAnotherInvocationIsRefused(t *testing.T) {
	rt, _ := start(t, 5*time.Second)
	res, err := rt.Invoke(context.Background(), []byte(`{"say":"x","bad_answer":true}`))
	if err != nil {
		t.Fatal(err)
	}
	if a := decode(t, res); a.BadStatus != 400 || a.Said != "x" {
		t.Fatalf("answer for an unknown request id: %+v", a)
	}
}

func TestTimeoutKillsTheProcess(t *testing.T) {
	rt, _ := start(t, 300*time.Millisecond)
	begin := time.Now()
	_, err := rt.Invoke(context.Background(), []byte(`{"sleep_ms":5000}`))
	if !errors.Is(err, lambdaemu.ErrTimedOut) || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("slow invocation: %v", err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Errorf("timeout took %v", d)
	}
	if _, err := rt.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Fatal("the function still answers after timing out")
	}
}

// TestInvokeUntilGivesItsDeadline: an invocation with its own deadline
// (shorter than the function's timeout) hands that deadline to the
// function, as Lambda-Runtime-Deadline-Ms, and kills the process when it
// passes without an answer, as Lambda does; the function's own timeout
// still applies to the other invocations.
func TestInvokeUntilGivesItsDeadline(t *testing.T) {
	rt, _ := start(t, 30*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	res, err := rt.InvokeUntil(context.Background(), []byte(`{"say":"quick"}`), deadline)
	if err != nil {
		t.Fatal(err)
	}
	if a := decode(t, res); !a.Deadline || a.deadlineMS != deadline.UnixMilli() {
		t.Fatalf("function saw deadline %d (%v), want %d", a.deadlineMS, a.Deadline, deadline.UnixMilli())
	}
	// The function's timeout for an ordinary invocation.
	before := time.Now()
	res, err = rt.Invoke(context.Background(), []byte(`{"say":"plain"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.UnixMilli(decode(t, res).deadlineMS); got.Before(before.Add(29*time.Second)) || got.After(time.Now().Add(30*time.Second)) {
		t.Fatalf("ordinary invocation's deadline %v, want 30 s after %v", got, before)
	}
	// A short deadline passes during the invocation: killed.
	_, err = rt.InvokeUntil(context.Background(), []byte(`{"sleep_ms":20000}`), time.Now().Add(500*time.Millisecond))
	if !errors.Is(err, lambdaemu.ErrTimedOut) {
		t.Fatalf("invocation past its deadline: %v, want ErrTimedOut", err)
	}
	if _, err := rt.Invoke(context.Background(), []byte(`{}`)); err == nil {
		t.Fatal("the function still answers after its invocation timed out")
	}
}

func TestInitFailures(t *testing.T) {
	tests := []struct {
		name, init, want string
	}{
		{"reported init error", "error", `init error: {"errorMessage":"no config","errorType":"InitError"}`},
		{"exit without a word", "exit", "exited during init: exit status 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, err := lambdaemu.Start(context.Background(), lambdaemu.Function{Bootstrap: bin, Env: []string{"FN_INIT=" + tt.init}})
			if err == nil {
				_, _ = rt.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := lambdaemu.Start(context.Background(), lambdaemu.Function{Bootstrap: filepath.Join(t.TempDir(), "missing")}); err == nil {
		t.Fatal("started a missing bootstrap")
	}
}
