package awsenv

// The functions' AWS SDK configuration, read from the environment Lambda
// gives them, without aws-sdk-go-v2/config.
//
// Why not config.LoadDefaultConfig: importing that package links its whole
// credential chain (the STS, SSO, SSO OIDC and Sign-In clients, the shared
// config and credentials file parsers, the IMDS client): about 1.9 MB of
// every 12 MB bootstrap, none of which a function uses, since Lambda hands
// a function its role's credentials and its region in the environment
// (measured with go tool nm; the bootstraps must stay under 12,000,000
// bytes). What this file reads is the part of the SDK's environment
// settings (docs.aws.amazon.com/sdkref/latest/guide/settings-reference.html)
// that a function can be given, by Lambda, by sam local invoke and hookline
// invoke, or by its template:
//
//   - AWS_REGION, else AWS_DEFAULT_REGION;
//   - AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (and the
//     SDK's AWS_ACCESS_KEY / AWS_SECRET_KEY aliases), AWS_ACCOUNT_ID;
//   - AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> (the service's SDK id,
//     upper case, spaces as underscores: DYNAMODB, SQS, SSM,
//     SECRETS_MANAGER, EVENTBRIDGE), AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
//   - AWS_USE_FIPS_ENDPOINT, AWS_USE_DUALSTACK_ENDPOINT;
//   - AWS_MAX_ATTEMPTS, AWS_RETRY_MODE;
//   - AWS_REQUEST_CHECKSUM_CALCULATION, AWS_RESPONSE_CHECKSUM_VALIDATION.
//
// Each is read with the SDK's meaning and the service clients apply them
// (the per-service endpoints and the FIPS and dual-stack settings through
// aws.Config.ConfigSources, as for LoadDefaultConfig's). Profiles, the
// shared config and credentials files, and container, web-identity or
// instance credentials are not read: a function with no credentials in its
// environment fails at cold start, saying so. (The hookline CLI keeps the
// SDK's default chain; `hookline invoke` hands a function the credentials
// it resolved, as sam local invoke does.)

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/logging"
)

// sdkConfig builds the SDK configuration from the process environment.
// Errors name the variable, never a value of the credentials.
func sdkConfig() (aws.Config, error) {
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	if region == "" {
		return aws.Config{}, errors.New("AWS_REGION not set")
	}
	key := cmp.Or(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_ACCESS_KEY"))
	secret := cmp.Or(os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SECRET_KEY"))
	if key == "" || secret == "" {
		return aws.Config{}, errors.New("no AWS credentials in the environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
			"as Lambda sets them (profiles and shared config files are not read)")
	}
	creds := credentials.NewStaticCredentialsProvider(key, secret, os.Getenv("AWS_SESSION_TOKEN"))
	creds.Value.AccountID = os.Getenv("AWS_ACCOUNT_ID")

	src, err := readEnvSource()
	if err != nil {
		return aws.Config{}, err
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(creds),
		// As LoadDefaultConfig: the SDK's few warnings go to stderr.
		Logger:                     logging.NewStandardLogger(os.Stderr),
		ConfigSources:              []any{src},
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenSupported,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenSupported,
	}
	if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" && !src.ignoreEndpoints {
		cfg.BaseEndpoint = aws.String(u)
	}
	if v := os.Getenv("AWS_MAX_ATTEMPTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return aws.Config{}, fmt.Errorf("AWS_MAX_ATTEMPTS=%q: want a whole number", v)
		}
		cfg.RetryMaxAttempts = n
	}
	if v := os.Getenv("AWS_RETRY_MODE"); v != "" {
		m, err := aws.ParseRetryMode(v)
		if err != nil {
			return aws.Config{}, fmt.Errorf("AWS_RETRY_MODE: %w", err)
		}
		cfg.RetryMode = m
	}
	switch v := os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION"); strings.ToLower(v) {
	case "", "when_supported":
	case "when_required":
		cfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	default:
		return aws.Config{}, fmt.Errorf("AWS_REQUEST_CHECKSUM_CALCULATION=%q: want when_supported or when_required", v)
	}
	switch v := os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION"); strings.ToLower(v) {
	case "", "when_supported":
	case "when_required":
		cfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	default:
		return aws.Config{}, fmt.Errorf("AWS_RESPONSE_CHECKSUM_VALIDATION=%q: want when_supported or when_required", v)
	}
	return cfg, nil
}

// envSource is the configuration source the service clients consult (the
// interfaces of aws-sdk-go-v2/internal/configsources, which the config
// package's EnvConfig implements too): per-service endpoints, whether
// configured endpoints are ignored, FIPS and dual-stack endpoints.
type envSource struct {
	ignoreEndpoints bool
	fips            aws.FIPSEndpointState
	dualStack       aws.DualStackEndpointState
}

func readEnvSource() (envSource, error) {
	var s envSource
	var err error
	if s.ignoreEndpoints, err = envBool("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"); err != nil {
		return s, err
	}
	if os.Getenv("AWS_USE_FIPS_ENDPOINT") != "" {
		on, err := envBool("AWS_USE_FIPS_ENDPOINT")
		if err != nil {
			return s, err
		}
		s.fips = aws.FIPSEndpointStateDisabled
		if on {
			s.fips = aws.FIPSEndpointStateEnabled
		}
	}
	if os.Getenv("AWS_USE_DUALSTACK_ENDPOINT") != "" {
		on, err := envBool("AWS_USE_DUALSTACK_ENDPOINT")
		if err != nil {
			return s, err
		}
		s.dualStack = aws.DualStackEndpointStateDisabled
		if on {
			s.dualStack = aws.DualStackEndpointStateEnabled
		}
	}
	return s, nil
}

// envBool reads true or false (any case); unset or empty is false.
func envBool(k string) (bool, error) {
	switch v := os.Getenv(k); {
	case v == "", strings.EqualFold(v, "false"):
		return false, nil
	case strings.EqualFold(v, "true"):
		return true, nil
	default:
		return false, fmt.Errorf("%s=%q: want true or false", k, v)
	}
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SERVICE>, the SDK id in
// upper case with spaces as underscores.
func (s envSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if s.ignoreEndpoints {
		return "", false, nil
	}
	v := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints returns AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (s envSource) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return s.ignoreEndpoints, s.ignoreEndpoints, nil
}

// GetUseFIPSEndpoint returns AWS_USE_FIPS_ENDPOINT, when set.
func (s envSource) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	return s.fips, s.fips != aws.FIPSEndpointStateUnset, nil
}

// GetUseDualStackEndpoint returns AWS_USE_DUALSTACK_ENDPOINT, when set.
func (s envSource) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	return s.dualStack, s.dualStack != aws.DualStackEndpointStateUnset, nil
}
