package main

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"

	"github.com/hookline/hookline/shared/queue/queuetest"
	"github.com/hookline/hookline/shared/store/storetest"
)

// The cost meter, once over the real bootstraps against DynamoDB Local and
// moto: every part of each event's bill is there and adds up. (The figures
// themselves are make bench's business.)
func TestCostMeter(t *testing.T) {
	storetest.DynamoEndpoint(t)
	queuetest.MotoEndpoint(t)
	tmpl := loadTemplate(t)
	boot := map[string]string{"ProcessorFunction": hostBootstrap(t, "ProcessorFunction")}
	for _, k := range costKinds {
		id := routeFunction(t, tmpl, k.prov)
		boot[id] = hostBootstrap(t, id)
	}
	reports, err := meterCost(context.Background(), costOptions{Template: tmpl, Bootstraps: boot, Events: 2, Kinds: costKinds})
	if err != nil {
		t.Fatal(err)
	}
	if len(reports) != len(costKinds) {
		t.Fatalf("%d reports", len(reports))
	}
	for i, r := range reports {
		var md bytes.Buffer
		r.Markdown(&md)
		u := r.Usage()
		// Two accepted events in one batch (the template's BatchSize is 10):
		// per event at least one write unit (the idempotent store), a read in
		// the processor, the enqueue and half the event source's receive and
		// delete, one ingest and half a processor invocation, billed, one API
		// request, some log bytes; two deliveries at the destination.
		if r.Event != costKinds[i].prov+"."+costKinds[i].event || r.Events != 2 || r.Batch != 10 || r.BodyBytes == 0 ||
			u.WriteUnits < 1 || u.ReadUnits <= 0 || u.SQSRequests != 2 || u.LambdaRequests != 1.5 || u.LambdaMs < 1 ||
			u.LambdaGBSeconds <= 0 || u.APIRequests != 1 || u.LogBytes <= float64(r.AccessLogBytes)/2 || r.Destination != 2 {
			t.Errorf("%s: usage %+v, destination %d\n%s", r.Event, u, r.Destination, md.String())
		}
		var ops []string
		for _, c := range r.Calls {
			ops = append(ops, c.Phase+" "+c.Service+" "+c.Op)
		}
		joined := strings.Join(ops, ", ")
		for _, want := range []string{"ingest SQS SendMessage", "event source SQS ReceiveMessage", "event source SQS DeleteMessage", "processor DynamoDB "} {
			if !strings.Contains(joined, want) {
				t.Errorf("%s: no %q among %s", r.Event, want, joined)
			}
		}
		for _, inv := range r.Lambda {
			fn, err := tmpl.Function(inv.Function)
			if err != nil {
				t.Fatal(err)
			}
			// Lambda's START/REPORT lines only where the template's
			// SystemLogLevel lets Lambda send them.
			if inv.Billed < inv.Duration || (inv.SystemLogBytes == 0) != (fn.SystemLogLevel() == "WARN") || inv.MemoryMB == 0 {
				t.Errorf("%s: invocation %+v (SystemLogLevel %q)", r.Event, inv, fn.SystemLogLevel())
			}
		}
		parts, total := u.Bill()
		var sum, shares float64
		for _, p := range parts {
			if p.PerMillion <= 0 {
				t.Errorf("%s: part %s is $%v", r.Event, p.Name, p.PerMillion)
			}
			sum += p.PerMillion
			shares += p.Share
		}
		if math.Abs(sum-total) > 1e-9 || math.Abs(shares-1) > 1e-9 {
			t.Errorf("%s: parts sum to %v of %v, shares to %v", r.Event, sum, total, shares)
		}
	}
}

func TestCostUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--events", "0"}, {"extra"}} {
		var out bytes.Buffer
		if err := costCmd(context.Background(), append([]string{"--template", templatePath}, args...), &out); err == nil {
			t.Errorf("cost %q: no error", args)
		}
	}
	t.Setenv("HOOKLINE_TEST_DYNAMODB", "")
	var out bytes.Buffer
	err := costCmd(context.Background(), []string{"--template", templatePath, "--events", "1"}, &out)
	if err == nil || !strings.Contains(err.Error(), "needs HOOKLINE_TEST_DYNAMODB") {
		t.Errorf("without the stand-ins: %v", err)
	}
}
