package costmeter

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Call is what the proxies saw of one kind of call in one phase.
type Call struct {
	Phase   string // what the meter was doing, e.g. "ingest"
	Service string // DynamoDB, SQS, or the X-Amz-Target prefix of anything else
	Op      string // e.g. TransactWriteItems; " (HTTP 400)" appended when it failed
	Count   int
	// DynamoDB: the consumed capacity DynamoDB reported (ReturnConsumedCapacity
	// TOTAL), as read or write units by the operation's kind.
	ReadUnits, WriteUnits float64
	// SQS: billed requests, one per started 64 KB of the larger of the
	// request and response bodies.
	Chunks int
	// Time is spent waiting for the stand-in's answers (part of the
	// functions' durations here; AWS answers in other times).
	Time time.Duration
}

// Recorder collects the calls that pass its proxies, under the phase set last.
type Recorder struct {
	mu    sync.Mutex
	phase string
	calls []*Call
}

// SetPhase labels the calls from now on.
func (r *Recorder) SetPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

// Reset forgets every call seen so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// Calls returns the calls seen, one per phase, service and operation, in
// the order each was first seen.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Call, len(r.calls))
	for i, c := range r.calls {
		out[i] = *c
	}
	return out
}

func (r *Recorder) add(c Call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.calls {
		if s.Phase == r.phase && s.Service == c.Service && s.Op == c.Op {
			s.Count++
			s.ReadUnits += c.ReadUnits
			s.WriteUnits += c.WriteUnits
			s.Chunks += c.Chunks
			s.Time += c.Time
			return
		}
	}
	c.Phase, c.Count = r.phase, 1
	r.calls = append(r.calls, &c)
}

// dynamoPrefix starts the X-Amz-Target of every DynamoDB call.
const dynamoPrefix = "DynamoDB_20120810."

// dynamoWrites are the DynamoDB operations whose capacity is write units.
var dynamoWrites = map[string]bool{
	"PutItem": true, "UpdateItem": true, "DeleteItem": true, "BatchWriteItem": true,
	"TransactWriteItems": true, "ExecuteTransaction": true,
}

// chunk is SQS's billing unit of payload.
const chunk = 64 << 10

// Proxy is an HTTP reverse proxy to an AWS service endpoint (DynamoDB
// Local, moto) that records every AWS API call passing it in rec. To each
// DynamoDB call it adds "ReturnConsumedCapacity": "TOTAL" and records the
// ConsumedCapacity of the answer; responses pass unchanged. Point a
// function's AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL at it. (DynamoDB
// Local does not check request signatures, so changing the body is safe
// there; it would not be against AWS.)
func Proxy(target string, rec *Recorder) (http.Handler, error) {
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("costmeter: proxy target %q is not a URL", target)
	}
	type callKey struct{}
	p := &httputil.ReverseProxy{
		// Bodies are read and passed on as they are: no transparent gzip.
		Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 16},
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = u.Host
		},
		ModifyResponse: func(resp *http.Response) error {
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				return err
			}
			resp.Body = io.NopCloser(bytes.NewReader(body))
			c, _ := resp.Request.Context().Value(callKey{}).(*pending)
			if c != nil {
				c.record(rec, resp, body)
			}
			return nil
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		c := identify(req, body)
		if c.service == "DynamoDB" {
			body = withConsumedCapacity(body)
		}
		c.reqBytes, c.start = len(body), time.Now()
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.ContentLength = int64(len(body))
		req.Header.Del("Content-Length")
		req = req.WithContext(context.WithValue(req.Context(), callKey{}, c))
		p.ServeHTTP(w, req)
	}), nil
}

// pending is one call on its way through the proxy.
type pending struct {
	service, op string
	reqBytes    int
	start       time.Time
}

// identify names the service and operation of a request: AWS JSON protocols
// carry X-Amz-Target ("DynamoDB_20120810.GetItem", "AmazonSQS.SendMessage"),
// the query protocol an Action form field.
func identify(req *http.Request, body []byte) *pending {
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		svc, op, ok := strings.Cut(t, ".")
		if !ok {
			return &pending{service: "unknown", op: t}
		}
		switch {
		case t == dynamoPrefix+op:
			svc = "DynamoDB"
		case svc == "AmazonSQS":
			svc = "SQS"
		}
		return &pending{service: svc, op: op}
	}
	if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
		svc := "unknown"
		if form.Has("QueueUrl") || form.Has("QueueName") {
			svc = "SQS"
		}
		return &pending{service: svc, op: form.Get("Action")}
	}
	return &pending{service: "unknown", op: req.Method + " " + req.URL.Path}
}

// withConsumedCapacity sets ReturnConsumedCapacity to TOTAL in a DynamoDB
// request body (a JSON object); anything else passes unchanged.
func withConsumedCapacity(body []byte) []byte {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return body
	}
	m["ReturnConsumedCapacity"] = json.RawMessage(`"TOTAL"`)
	out, err := json.Marshal(m)
	if err != nil {
		return body
	}
	return out
}

// capacity is one ConsumedCapacity entry of a DynamoDB answer.
type capacity struct {
	CapacityUnits      float64 `json:"CapacityUnits"`
	ReadCapacityUnits  float64 `json:"ReadCapacityUnits"`
	WriteCapacityUnits float64 `json:"WriteCapacityUnits"`
}

func (c *pending) record(rec *Recorder, resp *http.Response, body []byte) {
	call := Call{Service: c.service, Op: c.op, Time: time.Since(c.start)}
	if resp.StatusCode/100 != 2 {
		call.Op = fmt.Sprintf("%s (HTTP %d)", c.op, resp.StatusCode)
	}
	switch c.service {
	case "DynamoDB":
		call.ReadUnits, call.WriteUnits = consumed(c.op, decoded(resp, body))
	case "SQS":
		n := max(c.reqBytes, len(body))
		call.Chunks = max(1, (n+chunk-1)/chunk)
	}
	rec.add(call)
}

// consumed reads the read and write units of a DynamoDB answer: one
// ConsumedCapacity object (single-item calls, Query, Scan) or a list of them
// (batch and transaction calls, one per table).
func consumed(op string, body []byte) (read, write float64) {
	var ans struct {
		ConsumedCapacity json.RawMessage `json:"ConsumedCapacity"`
	}
	if json.Unmarshal(body, &ans) != nil || len(ans.ConsumedCapacity) == 0 {
		return 0, 0
	}
	var list []capacity
	if err := json.Unmarshal(ans.ConsumedCapacity, &list); err != nil {
		var one capacity
		if json.Unmarshal(ans.ConsumedCapacity, &one) != nil {
			return 0, 0
		}
		list = []capacity{one}
	}
	for _, c := range list {
		if c.ReadCapacityUnits != 0 || c.WriteCapacityUnits != 0 {
			read += c.ReadCapacityUnits
			write += c.WriteCapacityUnits
			continue
		}
		if dynamoWrites[op] {
			write += c.CapacityUnits
		} else {
			read += c.CapacityUnits
		}
	}
	return read, write
}

// decoded is a response body as JSON text (gunzipped if the answer was).
func decoded(resp *http.Response, body []byte) []byte {
	if !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil
	}
	out, _ := io.ReadAll(zr)
	return out
}
