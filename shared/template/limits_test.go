package template_test

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/template"
)

// TestProcessorLimitsMatchTheTemplate: the limits the code assumes about
// the processor's deployment are the template's.
//
//   - The processor function's Timeout is config.ProcessorFunctionTimeout,
//     from which config.MaxDestinationTimeout is derived: the longest
//     destination timeout, plus the time to load the event (up to
//     MinAttemptTime late still starts an attempt) and deliver's save
//     margin, fits in one invocation.
//   - Its queue's visibility timeout (the longest the event source can
//     hold a message before invoking) is within deliver.DefaultMaxHold, so
//     the SQS handler's idea of when a message was received is safe.
//   - The longest wait (deliver.MaxRetryAfter) fits in one visibility even
//     for a message held that long and an invocation that ran to its
//     timeout: it comes back once, when due, never early.
func TestProcessorLimitsMatchTheTemplate(t *testing.T) {
	tmpl := repoTemplate(t)
	fn, err := tmpl.Function("ProcessorFunction")
	if err != nil {
		t.Fatal(err)
	}
	if fn.Timeout() != config.ProcessorFunctionTimeout {
		t.Errorf("ProcessorFunction Timeout %v, config.ProcessorFunctionTimeout %v: change both", fn.Timeout(), config.ProcessorFunctionTimeout)
	}
	if config.MaxDestinationTimeout+config.ProcessorReserve != fn.Timeout() ||
		config.ProcessorReserve < deliver.DefaultSaveMargin+deliver.MinAttemptTime {
		t.Errorf("max destination timeout %v + reserve %v vs the function's %v; reserve vs save margin %v",
			config.MaxDestinationTimeout, config.ProcessorReserve, fn.Timeout(), deliver.DefaultSaveMargin)
	}
	if config.DefaultHTTPTimeout > config.MaxDestinationTimeout {
		t.Errorf("default destination timeout %v over the maximum %v", config.DefaultHTTPTimeout, config.MaxDestinationTimeout)
	}

	var sqs template.Event
	for _, e := range fn.Events() {
		if e.Type == "SQS" {
			sqs = e
		}
	}
	queue, _ := getAtt(sqs.Properties["Queue"])
	hold := time.Duration(num(tmpl.Resources[queue].Properties["VisibilityTimeout"])) * time.Second
	if hold <= 0 || hold > deliver.DefaultMaxHold {
		t.Errorf("%s: visibility timeout %v, want at most deliver.DefaultMaxHold (%v)", queue, hold, deliver.DefaultMaxHold)
	}
	receive := time.Date(2025, 11, 25, 14, 0, 0, 0, time.UTC)
	start := receive.Add(hold)
	if left := deliver.VisibilityLeft(deliver.EarliestReceive(events.SQSMessage{}, start, deliver.DefaultMaxHold), start.Add(fn.Timeout())); left < deliver.MaxRetryAfter {
		t.Errorf("a message held %v and processed for %v has %v of visibility left, under the longest wait %v", hold, fn.Timeout(), left, deliver.MaxRetryAfter)
	}
	if deliver.MaxRetryAfter != config.MaxBackoffCap {
		t.Errorf("MaxRetryAfter %v, MaxBackoffCap %v", deliver.MaxRetryAfter, config.MaxBackoffCap)
	}
}
