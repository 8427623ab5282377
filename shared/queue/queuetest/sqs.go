package queuetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/oklog/ulid/v2"
)

// Environment variables read by the helpers.
const (
	// EnvMoto is the base URL of a running moto_server
	// (`eval "$(.ci/moto start)"` sets it).
	EnvMoto = "HOOKLINE_TEST_MOTO"
	// EnvRequireServices, set to 1, turns a missing service into a test
	// failure instead of a skip, so that `make test` never skips silently.
	EnvRequireServices = "HOOKLINE_REQUIRE_SERVICES"
)

// SQSMaxReceives is the maxReceiveCount of the RedrivePolicy that
// NewSQSQueue gives a queue with a dead-letter queue.
const SQSMaxReceives = 2

// EventID returns a new unique event id (a ULID, as the stores make).
func EventID() string { return ulid.Make().String() }

// MotoEndpoint returns the moto_server URL from HOOKLINE_TEST_MOTO. If it is
// unset, the test is skipped, or fails when HOOKLINE_REQUIRE_SERVICES=1.
func MotoEndpoint(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvMoto)
	if url == "" {
		msg := EnvMoto + " is not set: start moto with `eval \"$(.ci/moto start)\"` to run the tests that need SQS"
		if os.Getenv(EnvRequireServices) == "1" {
			t.Fatal(msg + " (" + EnvRequireServices + "=1 forbids skipping)")
		}
		t.Skip(msg)
	}
	return url
}

// SQSClient returns an SQS client for the moto_server named by
// HOOKLINE_TEST_MOTO (see MotoEndpoint): static credentials test/test,
// region us-east-1.
func SQSClient(t testing.TB) *sqs.Client {
	t.Helper()
	return sqs.New(sqs.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(MotoEndpoint(t)),
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
}

// NewSQSQueue creates a uniquely named standard queue for this test, deleted
// when the test ends, and returns its URL. With withDLQ it also creates a
// dead-letter queue and gives the queue a RedrivePolicy to it with
// maxReceiveCount SQSMaxReceives; dlqURL is empty otherwise. The queues'
// default visibility timeout is 30 s.
func NewSQSQueue(t testing.TB, client *sqs.Client, withDLQ bool) (url, dlqURL string) {
	t.Helper()
	ctx := context.Background()
	base := queueName(t)
	attrs := map[string]string{}
	if withDLQ {
		dlqURL = createQueue(t, client, base+"-dlq", nil)
		out, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl:       aws.String(dlqURL),
			AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
		})
		if err != nil {
			t.Fatalf("get the dead-letter queue's ARN: %v", err)
		}
		policy, err := json.Marshal(map[string]string{
			"deadLetterTargetArn": out.Attributes[string(types.QueueAttributeNameQueueArn)],
			"maxReceiveCount":     strconv.Itoa(SQSMaxReceives),
		})
		if err != nil {
			t.Fatal(err)
		}
		attrs[string(types.QueueAttributeNameRedrivePolicy)] = string(policy)
	}
	url = createQueue(t, client, base, attrs)
	return url, dlqURL
}

func createQueue(t testing.TB, client *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out, err := client.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatalf("create queue %s: %v", name, err)
	}
	url := aws.ToString(out.QueueUrl)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := client.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(url)}); err != nil {
			t.Logf("delete queue %s: %v", name, err)
		}
	})
	return url
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// queueName is "hl-<test name>-<random>", within SQS's 80 characters even
// with a "-dlq" suffix.
func queueName(t testing.TB) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := unsafeName.ReplaceAllString(t.Name(), "_")
	if len(name) > 60 {
		name = name[len(name)-60:]
	}
	return "hl-" + name + "-" + hex.EncodeToString(b[:])
}
