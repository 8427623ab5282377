package awsenv_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/hookline/hookline/shared/awsenv"
)

// clearAWSEnv unsets every AWS_* variable for the test, and keeps the SDK's
// default chain (the reference below) off this machine's files and IMDS.
func clearAWSEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// clients is what the functions' service clients resolve from a config:
// region, endpoint, FIPS and dual-stack, retries, checksums, credentials.
func clients(t *testing.T, cfg aws.Config) string {
	t.Helper()
	var b strings.Builder
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil {
		t.Fatalf("credentials: %v", err)
	}
	fmt.Fprintf(&b, "credentials %s/%s/%s account %q; checksums %v/%v\n", creds.AccessKeyID, creds.SecretAccessKey,
		creds.SessionToken, creds.AccountID, cfg.RequestChecksumCalculation, cfg.ResponseChecksumValidation)
	line := func(name, region string, base *string, fips aws.FIPSEndpointState, dual aws.DualStackEndpointState,
		attempts int, mode aws.RetryMode, r aws.Retryer) {
		fmt.Fprintf(&b, "%s: region %s endpoint %q fips %v dualstack %v attempts %d mode %q retryer max %d\n",
			name, region, aws.ToString(base), fips, dual, attempts, mode, r.MaxAttempts())
	}
	d := dynamodb.NewFromConfig(cfg).Options()
	line("dynamodb", d.Region, d.BaseEndpoint, d.EndpointOptions.UseFIPSEndpoint, d.EndpointOptions.UseDualStackEndpoint, d.RetryMaxAttempts, d.RetryMode, d.Retryer)
	q := sqs.NewFromConfig(cfg).Options()
	line("sqs", q.Region, q.BaseEndpoint, q.EndpointOptions.UseFIPSEndpoint, q.EndpointOptions.UseDualStackEndpoint, q.RetryMaxAttempts, q.RetryMode, q.Retryer)
	s := ssm.NewFromConfig(cfg).Options()
	line("ssm", s.Region, s.BaseEndpoint, s.EndpointOptions.UseFIPSEndpoint, s.EndpointOptions.UseDualStackEndpoint, s.RetryMaxAttempts, s.RetryMode, s.Retryer)
	m := secretsmanager.NewFromConfig(cfg).Options()
	line("secretsmanager", m.Region, m.BaseEndpoint, m.EndpointOptions.UseFIPSEndpoint, m.EndpointOptions.UseDualStackEndpoint, m.RetryMaxAttempts, m.RetryMode, m.Retryer)
	e := eventbridge.NewFromConfig(cfg).Options()
	line("eventbridge", e.Region, e.BaseEndpoint, e.EndpointOptions.UseFIPSEndpoint, e.EndpointOptions.UseDualStackEndpoint, e.RetryMaxAttempts, e.RetryMode, e.Retryer)
	return b.String()
}

// The functions read their AWS settings from the environment without
// aws-sdk-go-v2/config (sdkconfig.go). For every setting they read, the
// service clients come out as with config.LoadDefaultConfig.
func TestSDKConfigAsTheDefaultChain(t *testing.T) {
	lambda := map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1",
		"AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example", "AWS_SESSION_TOKEN": "token-example"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range lambda {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	tests := []struct {
		name string
		env  map[string]string
	}{
		{"Lambda's environment", lambda},
		// The template declares them empty, for sam local invoke.
		{"deployed: endpoints declared empty", with(map[string]string{"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": ""})},
		{"AWS_DEFAULT_REGION only", map[string]string{"AWS_DEFAULT_REGION": "us-west-2", "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "s"}},
		{"the SDK's key aliases", map[string]string{"AWS_REGION": "us-east-1", "AWS_ACCESS_KEY": "AKIAEXAMPLE", "AWS_SECRET_KEY": "s"}},
		{"account id", with(map[string]string{"AWS_ACCOUNT_ID": "123456789012"})},
		{"stand-ins", with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
			"AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"})},
		{"service endpoints only", with(map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4000",
			"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:4001", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:4002", "AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4003"})},
		{"configured endpoints ignored", with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
			"AWS_ENDPOINT_URL_SQS": "http://127.0.0.1:4003", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})},
		{"configured endpoints not ignored", with(map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "False"})},
		{"FIPS and dual-stack", with(map[string]string{"AWS_USE_FIPS_ENDPOINT": "true", "AWS_USE_DUALSTACK_ENDPOINT": "TRUE"})},
		{"FIPS off", with(map[string]string{"AWS_USE_FIPS_ENDPOINT": "false"})},
		{"retries", with(map[string]string{"AWS_MAX_ATTEMPTS": "2", "AWS_RETRY_MODE": "adaptive"})},
		{"checksums when required", with(map[string]string{"AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED", "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required"})},
		{"checksums when supported", with(map[string]string{"AWS_REQUEST_CHECKSUM_CALCULATION": "when_supported", "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_SUPPORTED"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearAWSEnv(t)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			ref, err := awsconfig.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatalf("LoadDefaultConfig: %v", err)
			}
			got, err := awsenv.SDKConfig()
			if err != nil {
				t.Fatalf("SDKConfig: %v", err)
			}
			if g, w := clients(t, got), clients(t, ref); g != w {
				t.Errorf("the functions' clients:\n%s\nLoadDefaultConfig's:\n%s", g, w)
			}
		})
	}
}

// Settings the default chain refuses, the functions refuse at cold start,
// naming the variable; and without a region or credentials in the
// environment (where the default chain would look further, or fail at the
// first call) they do not start. No error shows a credential.
func TestSDKConfigRefuses(t *testing.T) {
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret-example"}
	tests := []struct {
		name, set, value, want string
		defaultChainRefuses    bool
	}{
		{"no region", "AWS_REGION", "", "AWS_REGION not set", false},
		{"no key id", "AWS_ACCESS_KEY_ID", "", "no AWS credentials in the environment", false},
		{"no secret", "AWS_SECRET_ACCESS_KEY", "", "no AWS credentials in the environment", false},
		{"max attempts", "AWS_MAX_ATTEMPTS", "two", "AWS_MAX_ATTEMPTS", true},
		{"retry mode", "AWS_RETRY_MODE", "eager", "AWS_RETRY_MODE", true},
		{"request checksums", "AWS_REQUEST_CHECKSUM_CALCULATION", "always", "AWS_REQUEST_CHECKSUM_CALCULATION", true},
		{"response checksums", "AWS_RESPONSE_CHECKSUM_VALIDATION", "never", "AWS_RESPONSE_CHECKSUM_VALIDATION", true},
		{"ignore endpoints", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "yes", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", true},
		{"FIPS", "AWS_USE_FIPS_ENDPOINT", "1", "AWS_USE_FIPS_ENDPOINT", true},
		{"dual-stack", "AWS_USE_DUALSTACK_ENDPOINT", "on", "AWS_USE_DUALSTACK_ENDPOINT", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearAWSEnv(t)
			for k, v := range base {
				t.Setenv(k, v)
			}
			if tt.value == "" {
				os.Unsetenv(tt.set)
			} else {
				t.Setenv(tt.set, tt.value)
			}
			_, err := awsenv.SDKConfig()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("SDKConfig with %s=%q: %v; want an error naming %q", tt.set, tt.value, err, tt.want)
			}
			if strings.Contains(err.Error(), "secret-example") || strings.Contains(err.Error(), "ASIAEXAMPLE") {
				t.Errorf("the error shows a credential: %v", err)
			}
			if _, refErr := awsconfig.LoadDefaultConfig(context.Background()); (refErr != nil) != tt.defaultChainRefuses {
				t.Errorf("LoadDefaultConfig with %s=%q: %v (the table says refuses: %v)", tt.set, tt.value, refErr, tt.defaultChainRefuses)
			}
		})
	}
}
