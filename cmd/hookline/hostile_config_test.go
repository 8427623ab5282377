package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/config"
)

// TestHostileStartUp is the hostile-input table of start-up: configurations
// and addresses `hookline serve` must refuse before it listens. Each exits
// non-zero with a message naming the place (a key path, a reference) and
// never the value. The Lambda side of the same checks: the config tests
// (shared/config) and TestColdStartRefusesDevelopmentSecrets,
// TestInvokeRefusesDevelopmentSecrets.
func TestHostileStartUp(t *testing.T) {
	bin, err := buildOnce()
	if err != nil {
		t.Fatal(err)
	}
	const value = "Qx7hunter2Zk" // a secret no message may show any part of
	leadronDoc := func(secret string) string {
		return "sources:\n  leadron: { secrets: [\"" + secret + "\"] }\n"
	}
	tests := []struct {
		name   string
		addr   string
		config string            // "" runs without a config file
		env    map[string]string // the server's environment
		want   []string
	}{
		{name: "development config on every interface", addr: ":0",
			want: []string{"--addr :0 is not a loopback address", "development config", "Write a hookline.yaml", "sources:", "--addr 127.0.0.1:8080"}},
		{name: "development config on a public address", addr: "0.0.0.0:0",
			want: []string{"not a loopback address", "Write a hookline.yaml"}},
		{name: "development config on IPv6's every interface", addr: "[::]:0",
			want: []string{"not a loopback address", "Write a hookline.yaml"}},
		{name: "a development secret in a config file, on every interface", addr: ":0",
			config: "sources:\n  leadron: { secrets: [\"" + value + "\", \"" + config.DevLeadronSecret + "\"] }\n",
			want:   []string{"the config uses the public development secrets (sources.leadron.secrets[1])"}},
		{name: "a secret with a trailing newline", addr: "127.0.0.1:0", config: leadronDoc("${LEADRON_SECRET}"),
			env:  map[string]string{"LEADRON_SECRET": value + "\n"},
			want: []string{"sources.leadron.secrets[0] (${LEADRON_SECRET}): the secret starts or ends with whitespace"}},
		{name: "a secret with a leading space", addr: "127.0.0.1:0", config: leadronDoc(" " + value),
			want: []string{"sources.leadron.secrets[0]: the secret starts or ends with whitespace"}},
		{name: "a destination secret with CR LF", addr: "127.0.0.1:0",
			config: leadronDoc("ok") + "destinations: [{ name: crm, type: http, url: \"https://crm.example.com\", secret: \"${CRM_SECRET}\" }]\n",
			env:    map[string]string{"CRM_SECRET": "whsec_" + value + "\r\n"},
			want:   []string{"destinations[0].secret (${CRM_SECRET}): the secret starts or ends with whitespace"}},
		{name: "a header value that adds a header", addr: "127.0.0.1:0",
			config: leadronDoc("ok") + "destinations: [{ name: crm, type: log, headers: { X-Team: \"${TEAM}\" } }]\n",
			env:    map[string]string{"TEAM": "crm\r\nX-Api-Key: " + value},
			want:   []string{"destinations[0].headers.X-Team: the value holds a control character"}},
		{name: "a header value with a bare LF", addr: "127.0.0.1:0",
			config: leadronDoc("ok") + "destinations: [{ name: crm, type: log, headers: { X-Key: \"" + value + "\\n\" } }]\n",
			want:   []string{"destinations[0].headers.X-Key: the value holds a control character"}},
		{name: "secrets written as a scalar", addr: "127.0.0.1:0",
			config: "sources:\n  leadron:\n    secrets: " + value + "\n",
			want:   []string{"line 3 (sources.leadron.secrets): found a string where a list of strings belongs"}},
		{name: "a secret reference written as a scalar", addr: "127.0.0.1:0",
			config: "sources:\n  leadron:\n    secrets: ${LEADRON_SECRET}\n", env: map[string]string{"LEADRON_SECRET": value},
			want: []string{"line 3 (sources.leadron.secrets): found a string where a list of strings belongs"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"serve", "--addr", tt.addr, "--data", filepath.Join(dir, "data")}
			if tt.config != "" {
				file := filepath.Join(dir, "hookline.yaml")
				if err := os.WriteFile(file, []byte(tt.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", file)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, args...)
			cmd.Dir = t.TempDir() // no hookline.yaml here
			cmd.Env = os.Environ()
			for k, v := range tt.env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if ctx.Err() != nil || !errors.As(err, &exit) {
				t.Fatalf("serve did not refuse to start (%v):\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for i := 0; i+4 <= len(value); i++ {
				if strings.Contains(string(out), value[i:i+4]) {
					t.Fatalf("the output shows %q of a secret:\n%s", value[i:i+4], out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
				t.Error("serve created its data directory before refusing")
			}
		})
	}
}

// Which addresses the development secrets may be served on.
func TestDevOnLoopbackOnly(t *testing.T) {
	own, err := config.Parse(context.Background(), []byte("sources:\n  leadron: { secrets: [mine] }\n"), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := config.Development()
	tests := []struct {
		addr      string
		loopback  bool
		devOK     bool // the built-in development config
		devFileOK bool // a config file holding a development secret
	}{
		{"127.0.0.1:8080", true, true, true}, // make run
		{"127.5.5.5:8080", true, true, true},
		{"localhost:8080", true, true, true},
		{"[::1]:8080", true, true, true},
		{":8080", false, false, false},
		{"0.0.0.0:8080", false, false, false},
		{"[::]:8080", false, false, false},
		{"192.168.1.10:8080", false, false, false},
		{"example.com:8080", false, false, false},
		{"[fe80::1%eth0]:8080", false, false, false},
		{"127.0.0.1", false, false, false}, // no port: not an address serve can listen on either
	}
	for _, tt := range tests {
		if got := loopback(tt.addr); got != tt.loopback {
			t.Errorf("loopback(%q) = %v", tt.addr, got)
		}
		if err := devOnLoopbackOnly(tt.addr, dev, true); (err == nil) != tt.devOK {
			t.Errorf("%s with the development config: %v", tt.addr, err)
		}
		if err := devOnLoopbackOnly(tt.addr, dev, false); (err == nil) != tt.devFileOK {
			t.Errorf("%s with development secrets in a file: %v", tt.addr, err)
		}
		if err := devOnLoopbackOnly(tt.addr, own, false); err != nil {
			t.Errorf("%s with own secrets: %v", tt.addr, err)
		}
	}
}
