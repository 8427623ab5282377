package dynamo

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestPutFailure covers the cancellation reasons DynamoDB Local never
// produces (it runs transactions one at a time, so never TransactionConflict).
// The errors are built as the SDK decodes them; no client is involved.
func TestPutFailure(t *testing.T) {
	reason := func(code string, item map[string]types.AttributeValue) types.CancellationReason {
		return types.CancellationReason{Code: aws.String(code), Item: item}
	}
	claimed := map[string]types.AttributeValue{attrEventID: str("01FIRST")}
	cancel := func(rs ...types.CancellationReason) error {
		// Wrapped, as the SDK returns it inside an OperationError.
		return fmt.Errorf("operation error: %w", &types.TransactionCanceledException{CancellationReasons: rs})
	}
	none := reason("None", nil)
	for _, c := range []struct {
		name  string
		err   error
		want  int
		first string
	}{
		{"duplicate", cancel(reason("ConditionalCheckFailed", claimed), reason("None", nil)), duplicate, "01FIRST"},
		{"id taken", cancel(reason("None", nil), reason("ConditionalCheckFailed", nil)), idTaken, ""},
		{"id taken wins", cancel(reason("ConditionalCheckFailed", claimed), reason("ConditionalCheckFailed", nil)), idTaken, ""},
		{"conflict on key", cancel(reason("TransactionConflict", nil), reason("None", nil)), conflict, ""},
		{"conflict on event", cancel(reason("None", nil), reason("TransactionConflict", nil)), conflict, ""},
		{"throttled", cancel(reason("ThrottlingError", nil), reason("None", nil)), failed, ""},
		{"key item without event id", cancel(reason("ConditionalCheckFailed", nil), reason("None", nil)), failed, ""},
		{"wrong reason count", cancel(reason("ConditionalCheckFailed", claimed)), failed, ""},
		{"other error", errors.New("connection refused"), failed, ""},
		{"duplicate with normalized parts", cancel(reason("ConditionalCheckFailed", claimed), none, none, none), duplicate, "01FIRST"},
		{"conflict on a part", cancel(none, none, reason("TransactionConflict", nil)), conflict, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, first := putFailure(c.err, false)
			if got != c.want || first != c.first {
				t.Errorf("putFailure = %d, %q; want %d, %q", got, first, c.want, c.first)
			}
		})
	}
	// With a credential item third.
	for _, c := range []struct {
		name  string
		err   error
		want  int
		first string
	}{
		{"credential reused", cancel(none, none, reason("ConditionalCheckFailed", nil)), credentialReused, ""},
		{"credential reused wins over duplicate", cancel(reason("ConditionalCheckFailed", claimed), none, reason("ConditionalCheckFailed", nil)), credentialReused, ""},
		{"duplicate, credential fine", cancel(reason("ConditionalCheckFailed", claimed), none, none), duplicate, "01FIRST"},
		{"id taken wins over credential", cancel(none, reason("ConditionalCheckFailed", nil), reason("ConditionalCheckFailed", nil)), idTaken, ""},
		{"conflict on the credential", cancel(none, none, reason("TransactionConflict", nil)), conflict, ""},
		{"too few reasons", cancel(reason("ConditionalCheckFailed", claimed), none), failed, ""},
	} {
		t.Run("bound/"+c.name, func(t *testing.T) {
			got, first := putFailure(c.err, true)
			if got != c.want || first != c.first {
				t.Errorf("putFailure = %d, %q; want %d, %q", got, first, c.want, c.first)
			}
		})
	}
}

func TestSortTimeOrdersLikeTime(t *testing.T) {
	// Different widths of fractions and years must not break the order.
	times := []string{"1970-01-01T00:00:00Z", "1999-12-31T23:59:59.999999999Z", "2000-01-01T00:00:00Z",
		"2025-11-25T14:03:07.1Z", "2025-11-25T14:03:07.100000001Z", "2025-11-25T14:03:07.12Z", "2262-01-01T00:00:00Z"}
	prev := ""
	for _, s := range times {
		tm, err := parse(s)
		if err != nil {
			t.Fatal(err)
		}
		got := sortTime(tm)
		if len(got) != len("2006-01-02T15:04:05.000000000Z") || got <= prev {
			t.Errorf("sortTime(%s) = %q after %q", s, got, prev)
		}
		prev = got
	}
}

func parse(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }
