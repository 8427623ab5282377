package storetest

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Environment variables the tests read.
const (
	// EnvDynamoDB is the DynamoDB Local endpoint, as printed by
	// `.ci/dynamodb-local start`, e.g. http://127.0.0.1:8100.
	EnvDynamoDB = "HOOKLINE_TEST_DYNAMODB"
	// EnvRequireServices, when "1", turns a missing service endpoint from a
	// skip into a failure, so a full run (make test, CI) never silently
	// skips the tests against real stand-ins.
	EnvRequireServices = "HOOKLINE_REQUIRE_SERVICES"
)

// Endpoint returns the value of the environment variable env naming a test
// service's endpoint. If it is unset, the test is skipped, or fails when
// HOOKLINE_REQUIRE_SERVICES=1. start says how to start the service.
func Endpoint(t testing.TB, env, start string) string {
	t.Helper()
	if v := os.Getenv(env); v != "" {
		return v
	}
	msg := fmt.Sprintf("%s is not set; start the service with: %s", env, start)
	if os.Getenv(EnvRequireServices) == "1" {
		t.Fatalf("%s (required: %s=1)", msg, EnvRequireServices)
	}
	t.Skip(msg)
	return ""
}

// DynamoEndpoint returns the DynamoDB Local endpoint from HOOKLINE_TEST_DYNAMODB,
// or skips the test (fails it when HOOKLINE_REQUIRE_SERVICES=1).
func DynamoEndpoint(t testing.TB) string {
	t.Helper()
	return Endpoint(t, EnvDynamoDB, `eval "$(.ci/dynamodb-local start)"`)
}

// DynamoClient returns a client for the DynamoDB Local named by
// HOOKLINE_TEST_DYNAMODB (see DynamoEndpoint).
func DynamoClient(t testing.TB) *dynamodb.Client {
	t.Helper()
	return NewDynamoClient(DynamoEndpoint(t))
}

// NewDynamoClient returns a DynamoDB client for a local stand-in at endpoint:
// static test credentials, region us-east-1, and response checksum
// validation off (DynamoDB Local's error responses carry no checksum).
// optFns adjust the options further (timeouts, retries).
func NewDynamoClient(endpoint string, optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	opts := dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test", Source: "storetest"}, nil
		}),
		DisableValidateResponseChecksum: true,
	}
	return dynamodb.New(opts, optFns...)
}
