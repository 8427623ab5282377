package main

import (
	"context"
	"fmt"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// lambdaCredentials gives a function the credentials Lambda would put in
// its environment, as sam local invoke does: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (and AWS_REGION when the
// environment has none), resolved from this shell with the SDK's default
// chain (profiles, SSO, assumed roles). The bootstraps read credentials from
// their environment only (shared/awsenv), never a profile. An environment
// that holds an access key already is returned as it is. When this shell
// has no credentials the environment is returned with a note: the function
// then says at cold start what it misses.
func lambdaCredentials(ctx context.Context, env []string) ([]string, []string, error) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	if vars["AWS_ACCESS_KEY_ID"] != "" || vars["AWS_ACCESS_KEY"] != "" {
		return env, nil, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("invoke: AWS config of this shell: %w", err)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return env, []string{fmt.Sprintf("no AWS credentials from this shell (%v): the function gets none", err)}, nil
	}
	out := make([]string, 0, len(env)+4)
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN":
		case "AWS_REGION":
			if vars[k] != "" {
				out = append(out, kv)
			}
		default:
			out = append(out, kv)
		}
	}
	out = append(out, "AWS_ACCESS_KEY_ID="+creds.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey)
	if creds.SessionToken != "" {
		out = append(out, "AWS_SESSION_TOKEN="+creds.SessionToken)
	}
	if vars["AWS_REGION"] == "" && cfg.Region != "" {
		out = append(out, "AWS_REGION="+cfg.Region)
	}
	return out, nil, nil
}
