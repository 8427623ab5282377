package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/wire"
)

// secretsOf picks the first (current) secret of each provider.
func secretsOf(c *config.Config) samples.Secrets {
	first := func(s []string) string {
		if len(s) == 0 {
			return ""
		}
		return s[0]
	}
	return samples.Secrets{
		JourneyBee:  first(c.Sources.JourneyBee.Secrets),
		Leadron:     first(c.Sources.Leadron.Secrets),
		TombaHeader: c.Sources.Tomba.Header,
		TombaToken:  first(c.Sources.Tomba.Secrets),
	}
}

type sendFlags struct{ url, config *string }

func newSendFlags() (*flag.FlagSet, sendFlags) {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	return fs, sendFlags{
		url:    fs.String("url", "http://127.0.0.1:8080", "hookline's base `URL`"),
		config: fs.String("config", "", "config `file` with the secrets (default hookline.yaml if present, else the development config)"),
	}
}

// send signs a sample delivery with the configured secret and posts it.
func send(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newSendFlags()
	args, err := parseArgs(fs, args, stdout)
	if err != nil {
		return err
	}
	base, cfgFile := f.url, f.config
	if len(args) != 2 {
		var b strings.Builder
		for _, p := range wire.Providers {
			fmt.Fprintf(&b, "\n  %s: %s", p, strings.Join(samples.Events(p), " "))
		}
		return fmt.Errorf("usage: hookline send [--url URL] [--config FILE] <provider> <event>; samples:%s", b.String())
	}
	prov, event := args[0], args[1]
	cfg, _, err := loadLocalConfig(ctx, *cfgFile)
	if err != nil {
		return err
	}
	body, err := samples.Body(prov, event)
	if err != nil {
		return err
	}
	hdr, err := samples.Headers(prov, event, body, secretsOf(cfg), samples.DefaultToken(time.Now()))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(*base, "/")+"/webhooks/"+prov, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = hdr
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(stdout, "%d %s\n", resp.StatusCode, bytes.TrimSpace(out))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s answered %s", req.URL, resp.Status)
	}
	return nil
}

// Sample tokens are issued at a fixed time and expire after 2100, so the
// committed samples verify for the rest of the century and regenerate to
// the same bytes.
var (
	sampleIssued  = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sampleExpires = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
)

// samples writes events/<provider>/<event>.json: API Gateway HTTP API
// (payload format 2.0) events carrying each sample body signed with the
// development secrets, for `sam local invoke`, `hookline invoke` and tests.
func newSamplesFlags() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("samples", flag.ContinueOnError)
	return fs, fs.String("out", "events", "`directory` to write into")
}

func samplesCmd(args []string, stdout io.Writer) error {
	fs, out := newSamplesFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	files, err := SampleEvents()
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(*out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d files under %s\n", len(files), *out)
	return nil
}

// SampleEvents renders every file of events/, keyed by its path under
// events/: the API Gateway events of every provider sample, the processor's
// SQS events and the sweeper's scheduled event (localSamples), and
// env.local.json.
func SampleEvents() (map[string][]byte, error) {
	files, err := apiGatewaySamples()
	if err != nil {
		return nil, err
	}
	more, err := localSamples()
	if err != nil {
		return nil, err
	}
	maps.Copy(files, more)
	return files, nil
}

// apiGatewaySamples renders events/<provider>/<event>.json.
func apiGatewaySamples() (map[string][]byte, error) {
	dev := config.Development()
	tok := samples.DefaultToken(sampleIssued)
	tok.ExpiresAt = sampleExpires
	files := map[string][]byte{}
	for _, prov := range wire.Providers {
		for _, event := range samples.Events(prov) {
			body, err := samples.Body(prov, event)
			if err != nil {
				return nil, err
			}
			hdr, err := samples.Headers(prov, event, body, secretsOf(dev), tok)
			if err != nil {
				return nil, err
			}
			data, err := json.MarshalIndent(apiGatewayEvent(prov, hdr, body), "", "  ")
			if err != nil {
				return nil, err
			}
			files[filepath.Join(prov, event+".json")] = append(data, '\n')
		}
	}
	return files, nil
}

func apiGatewayEvent(prov string, hdr http.Header, body []byte) events.APIGatewayV2HTTPRequest {
	path := "/webhooks/" + prov
	headers := map[string]string{
		"host":              "abcdef1234.execute-api.us-east-1.amazonaws.com",
		"user-agent":        "hookline-samples",
		"x-forwarded-proto": "https",
	}
	for k := range hdr {
		headers[strings.ToLower(k)] = hdr.Get(k)
	}
	e := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "POST " + path,
		RawPath:        path,
		RawQueryString: "",
		Headers:        headers,
		Body:           string(body),
	}
	rc := &e.RequestContext
	rc.AccountID = "123456789012"
	rc.APIID = "abcdef1234"
	rc.DomainName = "abcdef1234.execute-api.us-east-1.amazonaws.com"
	rc.DomainPrefix = "abcdef1234"
	rc.Stage = "$default"
	rc.RouteKey = e.RouteKey
	rc.RequestID = "sample-" + prov
	rc.Time = sampleIssued.Format("02/Jan/2006:15:04:05 -0700")
	rc.TimeEpoch = sampleIssued.UnixMilli()
	rc.HTTP.Method = http.MethodPost
	rc.HTTP.Path = path
	rc.HTTP.Protocol = "HTTP/1.1"
	rc.HTTP.SourceIP = "203.0.113.10"
	rc.HTTP.UserAgent = "hookline-samples"
	return e
}
