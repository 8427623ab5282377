// Package lambdaemu runs a Lambda function's real bootstrap executable under
// a minimal Lambda Runtime API (version 2018-06-01) on 127.0.0.1: the process
// polls GET /2018-06-01/runtime/invocation/next, answers with POST
// …/invocation/{id}/response or …/invocation/{id}/error, and reports a
// failed start with POST …/runtime/init/error. It is what `sam local invoke`
// does without Docker: `hookline invoke` and the tests run the bootstrap
// that `sam build` makes (built for the host) on an event file.
//
// Each invocation has a deadline, as on Lambda: the function's Timeout from
// the moment Invoke hands the event over, or one the caller gives
// (InvokeUntil). The function sees it as Lambda-Runtime-Deadline-Ms (the
// context deadline of aws-lambda-go), and when it passes without an answer
// the process is killed, as Lambda does: the invocation fails with
// ErrTimedOut and the Runtime is over (start another one, a cold start, for
// the next invocation).
package lambdaemu

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	prefix      = "/2018-06-01/runtime/"
	initTimeout = 10 * time.Second // Lambda's limit for an on-demand init
)

// Function is the process to run and the settings Lambda would give it.
type Function struct {
	Name      string        // AWS_LAMBDA_FUNCTION_NAME (default "function")
	Bootstrap string        // the executable
	Env       []string      // KEY=VALUE; the variables Lambda sets are added (and win)
	MemoryMB  int           // AWS_LAMBDA_FUNCTION_MEMORY_SIZE (default 128)
	Timeout   time.Duration // of one invocation (default 3 s, Lambda's)
	// LoggingConfig's LogFormat and ApplicationLogLevel. As Lambda does, a
	// function with the JSON format gets AWS_LAMBDA_LOG_FORMAT=JSON and
	// AWS_LAMBDA_LOG_LEVEL (default INFO), which aws-lambda-go's log handler
	// follows; with Text (or "") it gets neither. The emulator does not
	// filter the lines by level itself.
	LogFormat string
	LogLevel  string
	// The function's stdout and stderr (default discarded). An *os.File
	// gets the writes directly, so what the function wrote before
	// answering is in it when Invoke returns; any other writer is fed
	// through a pipe and has everything only once the process has exited.
	Stdout io.Writer
	Stderr io.Writer
}

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	Payload   []byte        // the response, or the error document when Error
	Error     bool          // the function reported an error ({"errorMessage", "errorType"})
	Duration  time.Duration // from handing the event over to the function's answer
}

// BilledDuration is the duration Lambda bills for the invocation: Duration
// rounded up to the next millisecond (at least 1 ms).
func (r Result) BilledDuration() time.Duration {
	return max(time.Millisecond, (r.Duration + time.Millisecond - 1).Truncate(time.Millisecond))
}

// Runtime is one started function process and its Runtime API.
type Runtime struct {
	fn       Function
	srv      *http.Server
	cmd      *exec.Cmd
	started  time.Time
	initDur  time.Duration
	ready    chan struct{} // closed at the first poll for an event
	once     sync.Once
	exited   chan struct{} // closed when the process has exited
	invokes  chan *invocation
	mu       sync.Mutex
	inflight *invocation
	initErr  []byte
}

type invocation struct {
	id       string
	event    []byte
	deadline time.Time
	sentAt   time.Time
	answers  chan Result
}

// ErrTimedOut is the error of an invocation whose deadline passed before
// the function answered (the process was killed).
var ErrTimedOut = errors.New("task timed out")

// Start runs the bootstrap and waits until it polls for its first event
// (init done), reports an init error, exits, takes longer than Lambda's 10 s
// init limit, or ctx ends.
func Start(ctx context.Context, fn Function) (*Runtime, error) {
	if fn.Name == "" {
		fn.Name = "function"
	}
	if fn.MemoryMB == 0 {
		fn.MemoryMB = 128
	}
	if fn.Timeout == 0 {
		fn.Timeout = 3 * time.Second
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Runtime{fn: fn, ready: make(chan struct{}), exited: make(chan struct{}), invokes: make(chan *invocation)}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()

	r.cmd = exec.Command(fn.Bootstrap)
	r.cmd.Env = append(append([]string{}, fn.Env...),
		"AWS_LAMBDA_RUNTIME_API="+ln.Addr().String(),
		"AWS_LAMBDA_FUNCTION_NAME="+fn.Name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(fn.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/"+fn.Name,
		"AWS_LAMBDA_LOG_STREAM_NAME="+time.Now().UTC().Format("2006/01/02")+"/[$LATEST]"+randomHex(16),
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"LAMBDA_TASK_ROOT="+filepath.Dir(fn.Bootstrap),
		"_HANDLER=bootstrap",
		"TZ=:UTC",
	)
	if strings.EqualFold(fn.LogFormat, "JSON") {
		level := fn.LogLevel
		if level == "" {
			level = "INFO"
		}
		r.cmd.Env = append(r.cmd.Env, "AWS_LAMBDA_LOG_FORMAT=JSON", "AWS_LAMBDA_LOG_LEVEL="+strings.ToUpper(level))
	}
	r.cmd.Stdout, r.cmd.Stderr = fn.Stdout, fn.Stderr
	r.mu.Lock() // the handler reads started: order it with the process's first poll
	r.started = time.Now()
	r.mu.Unlock()
	if err := r.cmd.Start(); err != nil {
		_ = r.srv.Close()
		return nil, fmt.Errorf("lambdaemu: start %s: %w", fn.Bootstrap, err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()

	select {
	case <-r.ready:
		return r, nil
	case <-r.exited:
		r.mu.Lock()
		defer r.mu.Unlock()
		_ = r.srv.Close()
		if r.initErr != nil {
			return nil, fmt.Errorf("lambdaemu: init error: %s", bytes.TrimSpace(r.initErr))
		}
		return nil, fmt.Errorf("lambdaemu: %s exited during init: %s", fn.Name, r.cmd.ProcessState)
	case <-time.After(initTimeout):
		_, _ = r.Close()
		return nil, fmt.Errorf("lambdaemu: %s did not finish init within %s", fn.Name, initTimeout)
	case <-ctx.Done():
		_, _ = r.Close()
		return nil, ctx.Err()
	}
}

// InitDuration is the time from starting the process to its first poll.
func (r *Runtime) InitDuration() time.Duration { return r.initDur }

// Invoke hands event to the function and waits for its answer. When the
// function's timeout passes first the process is killed, as on Lambda.
func (r *Runtime) Invoke(ctx context.Context, event []byte) (Result, error) {
	return r.InvokeUntil(ctx, event, time.Now().Add(r.fn.Timeout))
}

// InvokeUntil is Invoke with this invocation's own deadline instead of
// now plus the function's timeout: the function gets it in
// Lambda-Runtime-Deadline-Ms, and is killed when it passes (ErrTimedOut).
func (r *Runtime) InvokeUntil(ctx context.Context, event []byte, deadline time.Time) (Result, error) {
	inv := &invocation{id: requestID(), event: event, deadline: deadline, answers: make(chan Result, 1)}
	limit := time.Until(deadline)
	timeout := time.NewTimer(limit)
	defer timeout.Stop()
	select {
	case r.invokes <- inv:
	case <-r.exited:
		return Result{}, fmt.Errorf("lambdaemu: %s is not running: %s", r.fn.Name, r.cmd.ProcessState)
	case <-timeout.C:
		_, _ = r.Close()
		return Result{}, fmt.Errorf("lambdaemu: %s did not poll for the event before its deadline: %w", r.fn.Name, ErrTimedOut)
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	select {
	case res := <-inv.answers:
		return res, nil
	case <-r.exited:
		return Result{}, fmt.Errorf("lambdaemu: %s exited during invocation %s: %s", r.fn.Name, inv.id, r.cmd.ProcessState)
	case <-timeout.C:
		_, _ = r.Close()
		return Result{}, fmt.Errorf("lambdaemu: %s: %w after %s", r.fn.Name, ErrTimedOut, limit.Round(time.Millisecond))
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Close kills the process (Lambda's shutdown of a function without
// extensions) and returns its peak resident set size in bytes: Linux's
// VmHWM, read just before; 0 elsewhere or if the process had exited.
// (getrusage's maxrss is no use here: Go starts a child in the parent's
// address space, whose high-water mark the child then inherits.)
func (r *Runtime) Close() (peakRSS int64, err error) {
	select {
	case <-r.exited:
	default:
		peakRSS = PeakRSS(r.cmd.Process.Pid)
		_ = r.cmd.Process.Kill()
	}
	<-r.exited
	return peakRSS, r.srv.Close()
}

// PeakRSS reads a running process's peak resident set size in bytes from
// /proc/<pid>/status (VmHWM); 0 where there is none.
func PeakRSS(pid int) int64 {
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// serve is the Runtime API.
func (r *Runtime) serve(w http.ResponseWriter, req *http.Request) {
	path, _ := strings.CutPrefix(req.URL.Path, prefix)
	switch {
	case req.Method == http.MethodGet && path == "invocation/next":
		r.next(w, req)
	case req.Method == http.MethodPost && path == "init/error":
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.initErr = body
		r.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	case req.Method == http.MethodPost && strings.HasPrefix(path, "invocation/"):
		id, kind, _ := strings.Cut(strings.TrimPrefix(path, "invocation/"), "/")
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		inv := r.inflight
		if inv == nil || inv.id != id || (kind != "response" && kind != "error") {
			r.mu.Unlock()
			http.Error(w, `{"errorMessage":"unknown invocation","errorType":"InvalidRequestID"}`, http.StatusBadRequest)
			return
		}
		r.inflight = nil
		r.mu.Unlock()
		inv.answers <- Result{RequestID: id, Payload: body, Error: kind == "error", Duration: time.Since(inv.sentAt)}
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, req)
	}
}

// next long-polls for the next event.
func (r *Runtime) next(w http.ResponseWriter, req *http.Request) {
	r.once.Do(func() {
		r.mu.Lock()
		r.initDur = time.Since(r.started)
		r.mu.Unlock()
		close(r.ready)
	})
	select {
	case inv := <-r.invokes:
		h := w.Header()
		h.Set("Lambda-Runtime-Aws-Request-Id", inv.id)
		h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(inv.deadline.UnixMilli(), 10))
		h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:"+r.region()+":000000000000:function:"+r.fn.Name)
		h.Set("Lambda-Runtime-Trace-Id", fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", time.Now().Unix(), randomHex(12), randomHex(8)))
		h.Set("Content-Type", "application/json")
		r.mu.Lock()
		inv.sentAt = time.Now()
		r.inflight = inv
		r.mu.Unlock()
		_, _ = w.Write(inv.event)
	case <-req.Context().Done():
	}
}

func (r *Runtime) region() string {
	for _, kv := range r.fn.Env {
		if v, ok := strings.CutPrefix(kv, "AWS_REGION="); ok && v != "" {
			return v
		}
	}
	return "us-east-1"
}

// requestID is a random UUID, like Lambda's request ids.
func requestID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
