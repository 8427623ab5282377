package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/wire"
)

// loadDelivery is one prepared request.
type loadDelivery struct {
	prov   string
	body   []byte
	hdr    http.Header
	unique int // index of the unique event it carries
}

// loadResult is what one load run measured.
type loadResult struct {
	Sent, Unique, Accepted, Duplicates, Non2xx, Errors int
	Mismatched                                         int // a redelivery answered with another event id
	Elapsed                                            time.Duration
	P50, P90, P99, Max                                 time.Duration
	IDs                                                []string // event id of each unique event
}

// buildLoad prepares n deliveries over every provider and sample event, a
// fraction dup of them exact redeliveries of earlier ones (JourneyBee
// re-signed with a fresh token, as JourneyBee would).
func buildLoad(n int, dup float64, s samples.Secrets, seed uint64) ([]loadDelivery, int, error) {
	return buildLoadFor(n, dup, s, seed, nil)
}

// buildLoadFor is buildLoad over the sample events of the given providers
// only (all of them when providers is empty).
func buildLoadFor(n int, dup float64, s samples.Secrets, seed uint64, providers []string) ([]loadDelivery, int, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type kind struct{ prov, event string }
	var kinds []kind
	for _, p := range wire.Providers {
		if len(providers) > 0 && !slices.Contains(providers, p) {
			continue
		}
		for _, e := range samples.Events(p) {
			kinds = append(kinds, kind{p, e})
		}
	}
	if len(kinds) == 0 {
		return nil, 0, fmt.Errorf("load: no sample events for providers %q (have: %s)", providers, strings.Join(wire.Providers, ", "))
	}
	type uniq struct {
		k    kind
		body []byte
		tok  samples.Token
	}
	var uniques []uniq
	out := make([]loadDelivery, 0, n)
	now := time.Now()
	for i := 0; i < n; i++ {
		var u uniq
		idx := len(uniques)
		if len(uniques) > 0 && rng.Float64() < dup {
			idx = rng.IntN(len(uniques))
			u = uniques[idx]
			u.tok.IssuedAt = now.Add(time.Duration(i) * time.Millisecond) // a fresh token, same event
		} else {
			k := kinds[i%len(kinds)]
			body, err := samples.Body(k.prov, k.event)
			if err != nil {
				return nil, 0, err
			}
			body = uniqueBody(k.prov, body, idx)
			tok := samples.DefaultToken(now)
			tok.CompanyUUID = fmt.Sprintf("company_load-%d", idx)
			u = uniq{k, body, tok}
			uniques = append(uniques, u)
		}
		u.tok.ExpiresAt = u.tok.IssuedAt.Add(time.Hour)
		hdr, err := samples.Headers(u.k.prov, u.k.event, u.body, s, u.tok)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, loadDelivery{prov: u.k.prov, body: u.body, hdr: hdr, unique: idx})
	}
	return out, len(uniques), nil
}

// uniqueBody makes a sample body a distinct event: Leadron's event id and
// Tomba's email change (JourneyBee's key includes the company, which the
// token varies).
func uniqueBody(prov string, body []byte, i int) []byte {
	switch prov {
	case "leadron":
		return bytes.Replace(body, []byte(`"id":"evt_`), []byte(fmt.Sprintf(`"id":"evt_L%d_`, i)), 1)
	case "tomba":
		return bytes.Replace(body, []byte(`"email":"`), []byte(fmt.Sprintf(`"email":"n%d.`, i)), 1)
	}
	return body
}

// runLoad posts the deliveries with the given concurrency and checks every
// answer: 2xx, and every redelivery named the same event id as the first.
func runLoad(ctx context.Context, base string, ds []loadDelivery, unique, concurrency int) loadResult {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}, Timeout: 30 * time.Second}
	res := loadResult{Sent: len(ds), Unique: unique, IDs: make([]string, unique)}
	lat := make([]time.Duration, len(ds))
	var next atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ds) || ctx.Err() != nil {
					return
				}
				d := ds[i]
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/webhooks/"+d.prov, bytes.NewReader(d.body))
				req.Header = d.hdr
				t0 := time.Now()
				resp, err := client.Do(req)
				var a struct {
					Status  string `json:"status"`
					EventID string `json:"event_id"`
				}
				if err == nil {
					err = json.NewDecoder(resp.Body).Decode(&a)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				lat[i] = time.Since(t0)
				mu.Lock()
				switch {
				case err != nil:
					res.Errors++
				case resp.StatusCode/100 != 2:
					res.Non2xx++
				default:
					if a.Status == "duplicate" {
						res.Duplicates++
					} else {
						res.Accepted++
					}
					if prev := res.IDs[d.unique]; prev == "" {
						res.IDs[d.unique] = a.EventID
					} else if prev != a.EventID {
						res.Mismatched++
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.P50, res.P90, res.P99, res.Max = q(0.50), q(0.90), q(0.99), lat[len(lat)-1]
	return res
}

// ok reports whether the run lost or confused nothing.
func (r loadResult) ok() error {
	var bad []string
	if r.Non2xx+r.Errors > 0 {
		bad = append(bad, fmt.Sprintf("%d non-2xx and %d errors", r.Non2xx, r.Errors))
	}
	if r.Mismatched > 0 {
		bad = append(bad, fmt.Sprintf("%d redeliveries answered with another event id", r.Mismatched))
	}
	if r.Accepted != r.Unique {
		bad = append(bad, fmt.Sprintf("%d accepted as new, want %d unique events", r.Accepted, r.Unique))
	}
	if len(bad) > 0 {
		return fmt.Errorf("load: %s", strings.Join(bad, "; "))
	}
	return nil
}

func (r loadResult) table(w io.Writer, concurrency int) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }
	fmt.Fprintf(w, "| deliveries | unique | accepted | duplicate | non-2xx | concurrency | accepted/s | deliveries/s | p50 | p90 | p99 | max |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %d | %d | %.0f | %.0f | %s | %s | %s | %s |\n",
		r.Sent, r.Unique, r.Accepted, r.Duplicates, r.Non2xx+r.Errors, concurrency,
		float64(r.Accepted)/r.Elapsed.Seconds(), float64(r.Sent)/r.Elapsed.Seconds(),
		ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
}

type loadFlags struct {
	url, config, providers *string
	n, concurrency         *int
	dup                    *float64
}

func newLoadFlags() (*flag.FlagSet, loadFlags) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	return fs, loadFlags{
		url:         fs.String("url", "http://127.0.0.1:8080", "hookline's base `URL`"),
		n:           fs.Int("n", 20000, "`deliveries` to send"),
		concurrency: fs.Int("concurrency", 50, "`requests` in flight"),
		dup:         fs.Float64("dup", 0.2, "`fraction` of deliveries that are exact redeliveries"),
		config:      fs.String("config", "", "config `file` with the secrets (default hookline.yaml if present, else the development config)"),
		providers: fs.String("providers", "", "comma-separated `providers` whose sample events to send "+
			"(default: every provider, the mixed load)"),
	}
}

// load: hookline load [--url URL] [--n N] [--concurrency C] [--dup F] [--providers P,...]
func load(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newLoadFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	base, n, concurrency, dup, cfgFile, providers := f.url, f.n, f.concurrency, f.dup, f.config, f.providers
	cfg, _, err := loadLocalConfig(ctx, *cfgFile)
	if err != nil {
		return err
	}
	ds, unique, err := buildLoadFor(*n, *dup, secretsOf(cfg), uint64(time.Now().UnixNano()), splitList(*providers))
	if err != nil {
		return err
	}
	r := runLoad(ctx, strings.TrimRight(*base, "/"), ds, unique, *concurrency)
	r.table(stdout, *concurrency)
	return r.ok()
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
