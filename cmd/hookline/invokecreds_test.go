package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Without --local, a function run by hookline invoke gets the credentials
// this shell's profile resolves to in its environment, where Lambda puts
// them (the bootstraps read no profile); an access key already in its
// environment is left as it is.
func TestInvokePassesTheShellsCredentials(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials")
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(creds, []byte("[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SECRETDEV\naws_session_token = TOKENDEV\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg, []byte("[profile dev]\nregion = eu-central-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_PROFILE", "dev")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", cfg)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ctx := context.Background()

	env, notes, err := lambdaCredentials(ctx, []string{"AWS_PROFILE=dev", "AWS_SESSION_TOKEN=", "HOOKLINE_TABLE=t"})
	if err != nil || len(notes) != 0 {
		t.Fatalf("lambdaCredentials: %v, notes %q", err, notes)
	}
	slices.Sort(env)
	want := []string{"AWS_ACCESS_KEY_ID=AKIDDEV", "AWS_PROFILE=dev", "AWS_REGION=eu-central-1",
		"AWS_SECRET_ACCESS_KEY=SECRETDEV", "AWS_SESSION_TOKEN=TOKENDEV", "HOOKLINE_TABLE=t"}
	if !slices.Equal(env, want) {
		t.Errorf("environment %q\nwant %q", env, want)
	}

	// The region the function is given stays; so do keys it already has.
	env, _, err = lambdaCredentials(ctx, []string{"AWS_REGION=us-east-1", "HOOKLINE_TABLE=t"})
	if err != nil || !slices.Contains(env, "AWS_REGION=us-east-1") || !slices.Contains(env, "AWS_ACCESS_KEY_ID=AKIDDEV") {
		t.Errorf("with a region: %q, %v", env, err)
	}
	given := []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1"}
	if env, _, err := lambdaCredentials(ctx, given); err != nil || !slices.Equal(env, given) {
		t.Errorf("with keys given: %q, %v; want them unchanged", env, err)
	}

	// A shell without credentials: the function runs without, with a note.
	if err := os.WriteFile(creds, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_PROFILE", "")
	env, notes, err = lambdaCredentials(ctx, []string{"HOOKLINE_TABLE=t"})
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], "no AWS credentials") || !slices.Equal(env, []string{"HOOKLINE_TABLE=t"}) {
		t.Errorf("no credentials: %q, notes %q, %v", env, notes, err)
	}
}
