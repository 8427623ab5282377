// Package console is hookline's operator console: a JSON API over the event
// store (events newest first with filters, one event with its body and every
// attempt and what each destination would receive, replay of one event or of
// everything a filter matches, recovery of a destination's failures, stats
// and per-minute series, a live stream) and a web page that uses it. The
// page is static files embedded in the binary (web/): plain HTML, CSS and
// JavaScript, no build step and no third-party code.
//
// `hookline serve` runs it on its own listener (--console-addr, default
// 127.0.0.1:8081), never on the webhook listener that faces providers.
// `hookline console --aws` runs the same console on the operator's machine
// over a deployed stack (store/dynamo's Console, the SQS dead-letter queue,
// Poll for the live list).
//
// # Security model
//
// The event list holds lead names and emails, and a loopback console is
// reachable from every web page the operator's browser opens. So, in this
// order, for every request (Handler):
//
//   - Host must be the console's own address: 127.0.0.1:PORT,
//     localhost:PORT, [::1]:PORT, the listen address, or a name given in
//     Options.Hosts (with the port). Anything else is 403: a DNS rebinding
//     page (evil.example resolving to 127.0.0.1) sends its own name.
//   - A request a browser marks as coming from another site or origin
//     (Sec-Fetch-Site: cross-site or same-site; another port on localhost is
//     same-site) is 403 on /api/.
//   - A state-changing request (anything but GET and HEAD) needs an Origin
//     that is the console's own, or, without Origin, the header
//     X-Hookline-Console, which an HTML form cannot send and a cross-site
//     script can only send after a CORS preflight that never succeeds. A
//     cross-site POST is 403.
//   - With a token (Options.Token; required when the address is not
//     loopback: New refuses to start without one), every /api/ request
//     needs Authorization: Bearer <token>, compared in constant time; 401
//     otherwise. The page asks for the token and keeps it in the tab's
//     sessionStorage; the stream is read with fetch, so the token never
//     goes in a URL.
//   - No CORS header is ever sent; every answer forbids framing and
//     sniffing, and the page's Content-Security-Policy allows only its own
//     scripts and styles.
//
// Hand-written code: the security checks are a few comparisons net/http
// has no single helper for (its CrossOriginProtection, Go 1.25, covers the
// Origin/Sec-Fetch-Site part but not Host pinning or the token), and the
// server-sent events framing is three lines of text.
package console

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

// DefaultAddr is the console's default listen address.
const DefaultAddr = "127.0.0.1:8081"

// HeaderConsole is the custom header the page sends with every
// state-changing request (see the package doc).
const HeaderConsole = "X-Hookline-Console"

// Store is what the console reads and writes (store/sqlite).
type Store interface {
	Get(ctx context.Context, id string) (store.Event, error)
	SaveDeliveries(ctx context.Context, id string, version int64, ds []store.Delivery, s store.Status) (bool, error)
	ListEvents(ctx context.Context, q store.EventQuery) (store.EventPage, error)
	Attempts(ctx context.Context, eventID string) ([]store.Attempt, error)
	Stats(ctx context.Context, since time.Time) (store.WindowStats, error)
	Series(ctx context.Context, q store.SeriesQuery) (store.Series, error)
	store.RejectionReader // Rejections, and Quarantined for re-verify
}

// Reverified is what re-verifying a quarantined delivery did (the answer of
// POST /api/rejections/{id}/reverify): Status accepted | duplicate |
// rejected, EventID when accepted or duplicate, Reason when rejected.
type Reverified struct {
	Status  string `json:"status"`
	EventID string `json:"event_id,omitzero"`
	Reason  string `json:"reason,omitzero"`
}

// Reverify runs a quarantined delivery through its provider's verification
// again (with the current config's secrets, the clock at its receive time)
// and ingests it if it passes (ingest.Handler.Reverify). An error is our
// own failure (503).
type Reverify func(ctx context.Context, q store.Quarantined) (Reverified, error)

// Enqueue puts an event id on the processor's queue.
type Enqueue func(ctx context.Context, eventID, eventType string) error

// Options configure a Console.
type Options struct {
	// Addr is the listen address (default DefaultAddr).
	Addr string
	// Token, if set, is the bearer token every /api/ request must carry.
	// Required when Addr is not a loopback address.
	Token string
	// Hosts are more names the console answers to in the Host header
	// (e.g. console.internal), for a console behind a name; the listen
	// port is added when a name has none.
	Hosts []string
	// Providers and Destinations are the configured names: the page's
	// filter choices and health rows; a replay names one of Destinations.
	Providers, Destinations []string
	// Routes, if set, are the configured destinations as the processor
	// runs them: an event's detail previews what each would receive (its
	// filter and transform applied; deliver.PreviewRoute).
	Routes []deliver.Route
	// Schedule, if set, is the longest a delivery to a destination can stay
	// pending under its retry schedule; a delivery pending longer is
	// flagged stuck in an event's detail.
	Schedule func(destination string) time.Duration
	// Grace is how late a due attempt may be before it is flagged overdue,
	// and how long an event may wait for its first attempt (default 1m).
	Grace time.Duration
	// MaxBulk bounds the events of one bulk replay or recovery (default
	// MaxBulkReplay).
	MaxBulk int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log gets the console's own failures (never a body or token).
	Log *slog.Logger
	// DeadLetters, if set, is the queue's dead letters (deadletters.go).
	DeadLetters DeadLetterQueue
	// Reverify, if set, re-verifies quarantined deliveries (quarantine
	// on); without it the re-verify routes answer 404 quarantine_off.
	Reverify Reverify
	// CountsFrom, if set, says where the store's duplicate and rejected
	// counts come from ("cloudwatch": console --aws reads the ingest
	// functions' metrics); the stats answer it as counts_from. Unset:
	// "store" once RunFlusher runs, else "memory" (counted since start).
	CountsFrom string
}

// ErrNeedsToken: a console on a non-loopback address must have a token.
var ErrNeedsToken = errors.New("console: a console address that is not loopback needs --console-token")

// Console is the operator console. Build it with New.
type Console struct {
	st      Store
	enqueue Enqueue
	o       Options
	hub     *hub
	token   [sha256.Size]byte
	started time.Time

	jobs     jobs            // bulk replays (bulk.go)
	jobCtx   context.Context // their life: until Serve returns
	stopJobs context.CancelFunc
	flushMu  sync.RWMutex // a flush against the reads of counts (series.go)
	durable  atomic.Bool  // RunFlusher runs: duplicate/rejected counts are stored
}

// New returns the console of st, replaying through enqueue. It refuses a
// non-loopback Addr without a Token (ErrNeedsToken).
func New(st Store, enqueue Enqueue, o Options) (*Console, error) {
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	if o.Grace <= 0 {
		o.Grace = time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxBulk <= 0 {
		o.MaxBulk = MaxBulkReplay
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("console: address %q: %w", o.Addr, err)
	}
	if o.Token == "" && !IsLoopback(host) {
		return nil, fmt.Errorf("%w (address %s)", ErrNeedsToken, o.Addr)
	}
	c := &Console{st: st, enqueue: enqueue, o: o, hub: newHub(o.Now), started: o.Now(),
		jobs: jobs{byID: map[string]*job{}}}
	c.jobCtx, c.stopJobs = context.WithCancel(context.Background())
	if o.Token != "" {
		c.token = sha256.Sum256([]byte(o.Token))
	}
	return c, nil
}

// IsLoopback reports whether host (no port) is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Listen opens the console's listener on Options.Addr.
func (c *Console) Listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", c.o.Addr)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return ln, nil
}

// Serve answers on ln until ctx ends, then shuts down (the stream's
// connections are closed).
func (c *Console) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           c.Handler(ln.Addr().String()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // the stream lifts it for itself
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	defer c.stopJobs()
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	return nil
}

// Handler is the console's HTTP handler for a listener bound to bound
// (host:port, as ln.Addr().String()): the API, the page, and the checks of
// the package doc around them.
func (c *Console) Handler(bound string) http.Handler {
	mux := http.NewServeMux()
	c.routes(mux)
	hosts := c.allowedHosts(bound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		if !hosts[strings.ToLower(r.Host)] {
			writeError(w, http.StatusForbidden, "forbidden_host", "this console answers only to its own address")
			return
		}
		api := strings.HasPrefix(r.URL.Path, "/api/")
		if site := r.Header.Get("Sec-Fetch-Site"); api && (site == "cross-site" || site == "same-site") {
			writeError(w, http.StatusForbidden, "cross_site", "cross-site requests are refused")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !c.sameOrigin(r) {
			writeError(w, http.StatusForbidden, "cross_origin",
				"a state-changing request needs a same-origin Origin or the "+HeaderConsole+" header")
			return
		}
		if api && !c.authorized(r) {
			h.Set("WWW-Authenticate", `Bearer realm="hookline console"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "this console needs its token: Authorization: Bearer <token>")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// allowedHosts are the Host values the console answers to (lower case).
func (c *Console) allowedHosts(bound string) map[string]bool {
	hosts := map[string]bool{}
	host, port, err := net.SplitHostPort(bound)
	if err != nil {
		return hosts
	}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		hosts[h+":"+port] = true
	}
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		hosts[strings.ToLower(net.JoinHostPort(host, port))] = true
	}
	if h, _, err := net.SplitHostPort(c.o.Addr); err == nil && h != "" {
		if ip := net.ParseIP(h); ip == nil || !ip.IsUnspecified() {
			hosts[strings.ToLower(net.JoinHostPort(h, port))] = true
		}
	}
	for _, name := range c.o.Hosts {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(name); err != nil {
			name = net.JoinHostPort(name, port)
		}
		hosts[name] = true
	}
	return hosts
}

// sameOrigin: the request's Origin is the console's own (the Host the
// checks above accepted), or there is no Origin and the custom header is
// set.
func (c *Console) sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get(HeaderConsole) != ""
	}
	return strings.EqualFold(origin, "http://"+r.Host) || strings.EqualFold(origin, "https://"+r.Host)
}

// authorized: no token is configured, or the request carries it.
func (c *Console) authorized(r *http.Request) bool {
	if c.o.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	sum := sha256.Sum256([]byte(got))
	return subtle.ConstantTimeCompare(sum[:], c.token[:]) == 1
}
