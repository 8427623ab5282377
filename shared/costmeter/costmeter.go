// Package costmeter turns what one webhook event did on the AWS path into
// dollars per million events at list prices: the DynamoDB units and SQS
// requests a recording proxy saw (Proxy, Recorder), the Lambda invocations
// and their billed milliseconds, the API Gateway requests and the CloudWatch
// Logs bytes. `hookline cost` runs the real Lambda bootstraps under the
// emulator against DynamoDB Local and moto behind these proxies and prints
// Report.Markdown; this package holds the arithmetic and the dated price
// table (prices.go), nothing that runs a function.
//
// Hand-written: AWS offers no library that prices usage offline, and the
// proxy is httputil.ReverseProxy with the body rewritten and read.
package costmeter

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// Invocation is one Lambda invocation the meter made.
type Invocation struct {
	Phase    string // "ingest", "processor"
	Function string // logical id in template.yaml
	MemoryMB int    // the template's MemorySize
	// Duration is from handing the event over to the answer; Billed is
	// what Lambda bills of it (rounded up to the millisecond).
	Duration, Billed time.Duration
	// LogBytes is what the function wrote to stdout and stderr during the
	// invocation (its JSON lines and EMF lines); SystemLogBytes is the
	// START/END/REPORT lines Lambda adds.
	LogBytes, SystemLogBytes int
}

// GBSeconds is the invocation's billed duration times its memory.
func (i Invocation) GBSeconds() float64 {
	return i.Billed.Seconds() * float64(i.MemoryMB) / 1024
}

// Report is what the meter measured for Events events of one kind.
type Report struct {
	Event     string // e.g. journeybee.lead_created
	BodyBytes int    // the provider's body
	Events    int    // how many accepted events the figures cover
	Batch     int    // the processor's batch size (messages per invocation)
	Calls     []Call
	Lambda    []Invocation
	// APIRequests is the deliveries that came through API Gateway (one per
	// ingest invocation); AccessLogBytes the access-log lines the template's
	// AccessLogSettings make of them.
	APIRequests    int
	AccessLogBytes int
	// Destination is the requests the HTTP destination received.
	Destination int
}

// Usage is what one event uses of each priced item.
type Usage struct {
	WriteUnits, ReadUnits float64
	SQSRequests           float64 // 64 KB chunks
	LambdaRequests        float64
	LambdaMs              float64 // billed
	LambdaGBSeconds       float64
	APIRequests           float64
	LogBytes              float64 // function output + Lambda's lines + API access log
}

// Usage is the report's usage per event.
func (r Report) Usage() Usage {
	var u Usage
	for _, c := range r.Calls {
		switch c.Service {
		case "DynamoDB":
			u.WriteUnits += c.WriteUnits
			u.ReadUnits += c.ReadUnits
		case "SQS":
			u.SQSRequests += float64(c.Chunks)
		}
	}
	for _, i := range r.Lambda {
		u.LambdaRequests++
		u.LambdaMs += float64(i.Billed.Milliseconds())
		u.LambdaGBSeconds += i.GBSeconds()
		u.LogBytes += float64(i.LogBytes + i.SystemLogBytes)
	}
	u.APIRequests = float64(r.APIRequests)
	u.LogBytes += float64(r.AccessLogBytes)
	n := float64(max(r.Events, 1))
	u.WriteUnits /= n
	u.ReadUnits /= n
	u.SQSRequests /= n
	u.LambdaRequests /= n
	u.LambdaMs /= n
	u.LambdaGBSeconds /= n
	u.APIRequests /= n
	u.LogBytes /= n
	return u
}

// Part is one priced part of an event's cost.
type Part struct {
	Name       string
	Usage      string  // per event, in words
	PerMillion float64 // USD per million events
	Share      float64 // of the total, 0..1
}

// Bill prices a usage: its parts, in a fixed order, and the total in USD
// per million events.
func (u Usage) Bill() (parts []Part, total float64) {
	parts = []Part{
		{Name: "DynamoDB writes", Usage: fmt.Sprintf("%s WRU", num(u.WriteUnits)), PerMillion: u.WriteUnits * DynamoDBWrite.PerUnit() * 1e6},
		{Name: "DynamoDB reads", Usage: fmt.Sprintf("%s RRU", num(u.ReadUnits)), PerMillion: u.ReadUnits * DynamoDBRead.PerUnit() * 1e6},
		{Name: "SQS", Usage: fmt.Sprintf("%s requests", num(u.SQSRequests)), PerMillion: u.SQSRequests * SQSRequest.PerUnit() * 1e6},
		{Name: "Lambda requests", Usage: fmt.Sprintf("%s invocations", num(u.LambdaRequests)), PerMillion: u.LambdaRequests * LambdaRequest.PerUnit() * 1e6},
		{Name: "Lambda duration", Usage: fmt.Sprintf("%s ms billed, %.6f GB-s", num(u.LambdaMs), u.LambdaGBSeconds), PerMillion: u.LambdaGBSeconds * LambdaArmGBSecond.PerUnit() * 1e6},
		{Name: "API Gateway", Usage: fmt.Sprintf("%s HTTP API requests", num(u.APIRequests)), PerMillion: u.APIRequests * HTTPAPIRequest.PerUnit() * 1e6},
		{Name: "CloudWatch Logs", Usage: fmt.Sprintf("%s bytes ingested", num(u.LogBytes)), PerMillion: u.LogBytes * LogsIngestGB.PerUnit() * 1e6},
	}
	for _, p := range parts {
		total += p.PerMillion
	}
	for i := range parts {
		if total > 0 {
			parts[i].Share = parts[i].PerMillion / total
		}
	}
	return parts, total
}

// num prints a per-event quantity: whole numbers without decimals.
func num(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// Summary is one line: the event, the total and each part's share.
func (r Report) Summary() string {
	parts, total := r.Usage().Bill()
	var shares []string
	for _, p := range parts {
		shares = append(shares, fmt.Sprintf("%s %.1f%%", p.Name, 100*p.Share))
	}
	return fmt.Sprintf("cost: %s $%.2f per million events (%s)", r.Event, total, strings.Join(shares, ", "))
}

// Markdown writes the report: what each step did, then the priced parts.
func (r Report) Markdown(w io.Writer) {
	n := float64(max(r.Events, 1))
	fmt.Fprintf(w, "### %s (body %d bytes; mean of %d accepted events, each delivered to one HTTP destination; processor batches of %d)\n\n", r.Event, r.BodyBytes, r.Events, max(r.Batch, 1))
	fmt.Fprintf(w, "| step | what | per event |\n|---|---|---|\n")
	for _, c := range r.Calls {
		var units string
		switch {
		case c.Service == "DynamoDB" && c.WriteUnits > 0 && c.ReadUnits > 0:
			units = fmt.Sprintf(", %s WRU + %s RRU", num(c.WriteUnits/n), num(c.ReadUnits/n))
		case c.Service == "DynamoDB" && c.ReadUnits > 0:
			units = fmt.Sprintf(", %s RRU", num(c.ReadUnits/n))
		case c.Service == "DynamoDB":
			units = fmt.Sprintf(", %s WRU", num(c.WriteUnits/n))
		case c.Service == "SQS":
			units = fmt.Sprintf(", %s billed requests", num(float64(c.Chunks)/n))
		default:
			units = " (not priced)"
		}
		fmt.Fprintf(w, "| %s | %s %s | %s calls%s (%.1f ms in the stand-in) |\n", c.Phase, c.Service, c.Op,
			num(float64(c.Count)/n), units, float64(c.Time.Microseconds())/1000/n)
	}
	type fnSum struct {
		phase, name           string
		mem, count            int
		ms, billed, log, sysl float64
	}
	var fns []*fnSum
	for _, i := range r.Lambda {
		var s *fnSum
		for _, f := range fns {
			if f.name == i.Function {
				s = f
			}
		}
		if s == nil {
			s = &fnSum{phase: i.Phase, name: i.Function, mem: i.MemoryMB}
			fns = append(fns, s)
		}
		s.count++
		s.ms += float64(i.Duration.Microseconds()) / 1000
		s.billed += float64(i.Billed.Milliseconds())
		s.log += float64(i.LogBytes)
		s.sysl += float64(i.SystemLogBytes)
	}
	for _, f := range fns {
		var waited time.Duration
		for _, c := range r.Calls {
			if c.Phase == f.phase {
				waited += c.Time
			}
		}
		fmt.Fprintf(w, "| %s | Lambda %s (%d MB) | %s invocations, %.2f ms (%.1f ms of it waiting on the stand-ins), %s ms billed; "+
			"logs %s bytes + Lambda's START/END/REPORT %s bytes |\n",
			f.phase, f.name, f.mem, num(float64(f.count)/n), f.ms/n, float64(waited.Microseconds())/1000/n, num(f.billed/n),
			num(f.log/n), num(f.sysl/n))
	}
	fmt.Fprintf(w, "| ingest | API Gateway HTTP API | %s requests; access log %s bytes |\n", num(float64(r.APIRequests)/n), num(float64(r.AccessLogBytes)/n))
	fmt.Fprintf(w, "| processor | HTTP destination | %s requests received |\n\n", num(float64(r.Destination)/n))

	parts, total := r.Usage().Bill()
	fmt.Fprintf(w, "| part | per event | $ per million events | share |\n|---|---|---|---|\n")
	for _, p := range parts {
		fmt.Fprintf(w, "| %s | %s | %.3f | %.1f%% |\n", p.Name, p.Usage, p.PerMillion, 100*p.Share)
	}
	fmt.Fprintf(w, "| **total** | | **%.2f** | 100%% |\n\n", total)
}

// PriceTable writes the dated price table.
func PriceTable(w io.Writer) {
	fmt.Fprintf(w, "Prices: AWS list prices, %s, first tier, no free tier, as of %s:\n\n", PricesRegion, PricesAsOf)
	fmt.Fprintf(w, "| item | USD | per | source |\n|---|---|---|---|\n")
	for _, p := range Prices() {
		per := fmt.Sprintf("%g %s", p.Per, p.Unit)
		switch p.Per {
		case 1e6:
			per = "1 million " + p.Unit
		case 1:
			per = "1 " + p.Unit
		case 1 << 30:
			per = "1 GB (2^30 bytes)"
		}
		fmt.Fprintf(w, "| %s | %g | %s | %s |\n", p.Item, p.USD, per, p.Source)
	}
	fmt.Fprintln(w)
}
