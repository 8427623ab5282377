package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/lambdaemu"
)

const compareDoc = `Side by side on this machine: "BIN serve" of the baseline build, "BIN serve"
of the new build (each from an empty directory with a fresh --data
directory: the development config) and this binary's null server (Go
net/http: reads the body, answers the accepted JSON), one after another
under the same load (hookline load's code, in this process): JourneyBee
only, then the mixed load (every provider's sample events), each with a
fraction --dup of redeliveries. Every round runs each load against all three, the order of
the servers rotating from round to round. Prints one table: deliveries/s
(median of the rounds and their range), p99 (median), the server's peak RSS
(VmHWM, the largest of the rounds), non-2xx answers and errors (all rounds),
and new/baseline and new/null (median and range of the per-round ratios of
deliveries/s). --base and --new are required. make bench-compare builds the
baseline from git.
`

// compareLoad is one load of the comparison.
type compareLoad struct {
	name      string
	providers []string
}

var compareLoads = []compareLoad{{"JourneyBee only", []string{"journeybee"}}, {"mixed", nil}}

// compareServer is one server of the comparison.
type compareServer struct {
	name string
	bin  string
	args func(addr, data string) []string
	null bool // never answers "duplicate": skip the load's dedup check
}

// compareRun is one run of a load against a server.
type compareRun struct {
	res     loadResult
	peakRSS int64
	check   error // the load's own check (hookline servers only)
}

func (r compareRun) rate() float64 { return float64(r.res.Sent) / r.res.Elapsed.Seconds() }

type compareFlags struct {
	base, baseLabel, next, nextLabel, null *string
	rounds, n, concurrency                 *int
	dup                                    *float64
}

func newCompareFlags() (*flag.FlagSet, compareFlags) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	return fs, compareFlags{
		base:        fs.String("base", "", "the baseline build of hookline (a `binary`)"),
		baseLabel:   fs.String("base-label", "baseline", "the baseline's `name` in the table"),
		next:        fs.String("new", "", "the new build of hookline (a `binary`)"),
		nextLabel:   fs.String("new-label", "new", "the new build's `name` in the table"),
		null:        fs.String("null", "", "the hookline `binary` whose nullserver to run (default: this one)"),
		rounds:      fs.Int("rounds", 3, "`rounds` (each runs every load against every server)"),
		n:           fs.Int("n", 20000, "`deliveries` per run"),
		concurrency: fs.Int("concurrency", 50, "`requests` in flight"),
		dup:         fs.Float64("dup", 0.2, "`fraction` of deliveries that are exact redeliveries"),
	}
}

// compareCmd is `hookline compare`.
func compareCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newCompareFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	base, baseLabel, next, nextLabel, null := f.base, f.baseLabel, f.next, f.nextLabel, f.null
	rounds, n, concurrency, dup := f.rounds, f.n, f.concurrency, f.dup
	if *base == "" || *next == "" || len(args) != 0 || *rounds < 1 || *n < 1 || *concurrency < 1 {
		return errors.New("compare: want --base and --new binaries, no arguments, rounds, n and concurrency of at least 1 (hookline compare -h)")
	}
	self := *null
	if self == "" {
		if self, err = os.Executable(); err != nil {
			return err
		}
	}
	serve := func(bin string) func(addr, data string) []string {
		return func(addr, data string) []string { return []string{bin, "serve", "--addr", addr, "--data", data} }
	}
	servers := []compareServer{
		{name: *baseLabel, bin: *base, args: serve(*base)},
		{name: *nextLabel, bin: *next, args: serve(*next)},
		{name: "null net/http", bin: self, null: true,
			args: func(addr, _ string) []string { return []string{self, "nullserver", "--addr", addr} }},
	}
	for _, s := range servers {
		if _, err := os.Stat(s.bin); err != nil {
			return fmt.Errorf("compare: %s: %w", s.name, err)
		}
	}
	runs, err := compareRounds(ctx, stdout, servers, compareLoads, *rounds, *n, *concurrency, *dup)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d deliveries per run, concurrency %d, %.0f %% redeliveries, %d round(s), server order rotating:\n\n",
		*n, *concurrency, 100**dup, *rounds)
	compareTable(stdout, servers, compareLoads, runs)
	return nil
}

// compareRounds runs every load against every server, rounds times.
// runs[load][server] holds one run per round.
func compareRounds(ctx context.Context, progress io.Writer, servers []compareServer, loads []compareLoad,
	rounds, n, concurrency int, dup float64) ([][][]compareRun, error) {
	runs := make([][][]compareRun, len(loads))
	for l := range runs {
		runs[l] = make([][]compareRun, len(servers))
	}
	secrets := secretsOf(config.Development())
	for r := 0; r < rounds; r++ {
		for l, ld := range loads {
			for i := range servers {
				s := (i + r) % len(servers)
				ds, unique, err := buildLoadFor(n, dup, secrets, uint64(time.Now().UnixNano()), ld.providers)
				if err != nil {
					return nil, err
				}
				run, err := compareOne(ctx, servers[s], ds, unique, concurrency)
				if err != nil {
					return nil, fmt.Errorf("compare: round %d, %s, %s: %w", r+1, ld.name, servers[s].name, err)
				}
				runs[l][s] = append(runs[l][s], run)
				fmt.Fprintf(progress, "round %d/%d  %-15s  %-28s %6.0f deliveries/s  p99 %5.1f ms  peak RSS %4.0f MiB  %d non-2xx\n",
					r+1, rounds, ld.name, servers[s].name, run.rate(), ms(run.res.P99), float64(run.peakRSS)/(1<<20),
					run.res.Non2xx+run.res.Errors)
			}
		}
	}
	return runs, nil
}

// compareOne starts the server from an empty directory with a fresh data
// directory, waits for /healthz, runs the load against it, reads its peak
// RSS and kills it.
func compareOne(ctx context.Context, s compareServer, ds []loadDelivery, unique, concurrency int) (compareRun, error) {
	dir, err := os.MkdirTemp("", "hookline-compare-")
	if err != nil {
		return compareRun{}, err
	}
	defer os.RemoveAll(dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return compareRun{}, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return compareRun{}, err
	}
	defer logFile.Close()
	argv := s.args(addr, filepath.Join(dir, "data"))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return compareRun{}, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	if err := waitHealthy(ctx, base, 30*time.Second); err != nil {
		data, _ := os.ReadFile(logFile.Name())
		return compareRun{}, fmt.Errorf("%w\n%s", err, data[max(0, len(data)-2000):])
	}
	run := compareRun{res: runLoad(ctx, base, ds, unique, concurrency)}
	run.peakRSS = lambdaemu.PeakRSS(cmd.Process.Pid)
	if !s.null {
		run.check = run.res.ok()
	}
	return run, ctx.Err()
}

// waitHealthy polls base/healthz until it answers 200.
func waitHealthy(ctx context.Context, base string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no 200 from %s/healthz within %s: %v", base, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is "median (min–max)" of xs, or just the value for one round.
func spread(xs []float64, format string) string {
	if len(xs) == 1 {
		return fmt.Sprintf(format, xs[0])
	}
	return fmt.Sprintf(format+" ("+format+"–"+format+")", median(xs), slices.Min(xs), slices.Max(xs))
}

// compareTable prints the table; servers[0] is the baseline, [1] the new
// build, [2] the null server.
func compareTable(w io.Writer, servers []compareServer, loads []compareLoad, runs [][][]compareRun) {
	fmt.Fprintln(w, "| load | server | deliveries/s | p99 | peak RSS | non-2xx | new/baseline | new/null |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	var notes []string
	for l, ld := range loads {
		ratio := func(other int) string {
			var rs []float64
			for r := range runs[l][1] {
				rs = append(rs, runs[l][1][r].rate()/runs[l][other][r].rate())
			}
			return spread(rs, "%.2f")
		}
		for s, srv := range servers {
			var rates, p99s []float64
			var rss int64
			bad := 0
			for r, run := range runs[l][s] {
				rates = append(rates, run.rate())
				p99s = append(p99s, ms(run.res.P99))
				rss = max(rss, run.peakRSS)
				bad += run.res.Non2xx + run.res.Errors
				if run.check != nil {
					notes = append(notes, fmt.Sprintf("round %d, %s, %s: %v", r+1, ld.name, srv.name, run.check))
				}
			}
			vsBase, vsNull := "", ""
			if s == 1 {
				vsBase, vsNull = ratio(0), ratio(2)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %.1f ms | %.0f MiB | %d | %s | %s |\n", ld.name, srv.name,
				spread(rates, "%.0f"), median(p99s), float64(rss)/(1<<20), bad, vsBase, vsNull)
		}
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\nLoad checks that failed:\n- %s\n", strings.Join(notes, "\n- "))
	}
}
