package costmeter

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// fakeAWS answers like DynamoDB (the capacity it is asked for) and SQS,
// and keeps the request bodies it got.
type fakeAWS struct {
	bodies []map[string]any
}

func (f *fakeAWS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	f.bodies = append(f.bodies, m)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "DynamoDB_20120810.TransactWriteItems":
		if m["ReturnConsumedCapacity"] != "TOTAL" {
			_, _ = io.WriteString(w, `{}`)
			return
		}
		_, _ = io.WriteString(w, `{"ConsumedCapacity":[{"TableName":"a","CapacityUnits":16.0},{"TableName":"b","CapacityUnits":2.0}]}`)
	case "DynamoDB_20120810.GetItem":
		_, _ = io.WriteString(w, `{"Item":{},"ConsumedCapacity":{"TableName":"a","CapacityUnits":0.5}}`)
	case "DynamoDB_20120810.UpdateItem":
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}`)
	case "AmazonSQS.ReceiveMessage":
		_, _ = io.WriteString(w, `{"Messages":[{"Body":"`+strings.Repeat("x", 70<<10)+`"}]}`)
	default:
		_, _ = io.WriteString(w, `{}`)
	}
}

func post(t *testing.T, url, target, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("X-Amz-Target", target)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return out
}

// The proxy asks DynamoDB for its consumed capacity, records it by phase
// and operation as read or write units, counts SQS requests in 64 KB
// chunks, labels failed calls, and passes every answer through unchanged.
func TestProxyRecords(t *testing.T) {
	fake := &fakeAWS{}
	upstream := httptest.NewServer(fake)
	defer upstream.Close()
	rec := &Recorder{}
	p, err := Proxy(upstream.URL, rec)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(p)
	defer proxy.Close()

	rec.SetPhase("ingest")
	ans := post(t, proxy.URL, "DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[],"ReturnConsumedCapacity":"NONE"}`)
	if !bytes.Contains(ans, []byte(`"CapacityUnits":16.0`)) {
		t.Fatalf("answer changed: %s", ans)
	}
	post(t, proxy.URL, "DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[]}`)
	post(t, proxy.URL, "AmazonSQS.SendMessage", `{"MessageBody":"`+strings.Repeat("b", 100<<10)+`"}`)
	rec.SetPhase("processor")
	post(t, proxy.URL, "DynamoDB_20120810.GetItem", `{"Key":{}}`)
	post(t, proxy.URL, "DynamoDB_20120810.UpdateItem", `{"Key":{}}`)
	post(t, proxy.URL, "AmazonSQS.ReceiveMessage", `{}`)
	post(t, proxy.URL, "AmazonSSM.GetParameter", `{}`)

	if got := fake.bodies[0]["ReturnConsumedCapacity"]; got != "TOTAL" {
		t.Errorf("DynamoDB got ReturnConsumedCapacity %v", got)
	}
	if _, ok := fake.bodies[2]["ReturnConsumedCapacity"]; ok {
		t.Error("the SQS request was changed")
	}
	want := []Call{
		{Phase: "ingest", Service: "DynamoDB", Op: "TransactWriteItems", Count: 2, WriteUnits: 36},
		{Phase: "ingest", Service: "SQS", Op: "SendMessage", Count: 1, Chunks: 2},
		{Phase: "processor", Service: "DynamoDB", Op: "GetItem", Count: 1, ReadUnits: 0.5},
		{Phase: "processor", Service: "DynamoDB", Op: "UpdateItem (HTTP 400)", Count: 1},
		{Phase: "processor", Service: "SQS", Op: "ReceiveMessage", Count: 1, Chunks: 2},
		{Phase: "processor", Service: "AmazonSSM", Op: "GetParameter", Count: 1},
	}
	got := rec.Calls()
	if len(got) != len(want) {
		t.Fatalf("calls %+v", got)
	}
	for i := range want {
		if got[i].Time <= 0 {
			t.Errorf("call %d: no time recorded", i)
		}
		got[i].Time = 0
		if got[i] != want[i] {
			t.Errorf("call %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	rec.Reset()
	if len(rec.Calls()) != 0 {
		t.Error("Reset kept calls")
	}
	if _, err := Proxy("not a url", rec); err == nil {
		t.Error("a target without a host was taken")
	}
}

// The bill: each part at its list price, shares summing to 100%.
func TestBill(t *testing.T) {
	r := Report{Event: "x.y", Events: 2, APIRequests: 2, AccessLogBytes: 600,
		Calls: []Call{
			{Service: "DynamoDB", Op: "TransactWriteItems", Count: 2, WriteUnits: 40},
			{Service: "DynamoDB", Op: "GetItem", Count: 2, ReadUnits: 2},
			{Service: "SQS", Op: "SendMessage", Count: 2, Chunks: 2},
			{Service: "AmazonSSM", Op: "GetParameter", Count: 2},
		},
		Lambda: []Invocation{
			{Function: "F", MemoryMB: 256, Duration: 3500 * time.Microsecond, Billed: 4 * time.Millisecond, LogBytes: 700, SystemLogBytes: 300},
			{Function: "F", MemoryMB: 256, Duration: 3900 * time.Microsecond, Billed: 4 * time.Millisecond, LogBytes: 700, SystemLogBytes: 300},
			{Function: "P", MemoryMB: 512, Duration: 1900 * time.Microsecond, Billed: 2 * time.Millisecond, LogBytes: 100},
			{Function: "P", MemoryMB: 512, Duration: 1900 * time.Microsecond, Billed: 2 * time.Millisecond, LogBytes: 100},
		}}
	u := r.Usage()
	want := Usage{WriteUnits: 20, ReadUnits: 1, SQSRequests: 1, LambdaRequests: 2, LambdaMs: 6,
		LambdaGBSeconds: 0.004*0.25 + 0.002*0.5, APIRequests: 1, LogBytes: 1000 + 100 + 300}
	if math.Abs(u.LambdaGBSeconds-want.LambdaGBSeconds) > 1e-12 {
		t.Fatalf("GB-s %v, want %v", u.LambdaGBSeconds, want.LambdaGBSeconds)
	}
	u.LambdaGBSeconds = want.LambdaGBSeconds
	if u != want {
		t.Fatalf("usage %+v, want %+v", u, want)
	}
	parts, total := u.Bill()
	wantUSD := map[string]float64{
		"DynamoDB writes": 20 * 0.625, "DynamoDB reads": 0.125, "SQS": 0.40, "Lambda requests": 0.40,
		"Lambda duration": 0.002 * 0.0000133334 * 1e6, "API Gateway": 1.00, "CloudWatch Logs": 1400 * 0.50 / (1 << 30) * 1e6,
	}
	var sum, shares float64
	for _, p := range parts {
		if math.Abs(p.PerMillion-wantUSD[p.Name]) > 1e-9 {
			t.Errorf("%s: $%v per million, want %v", p.Name, p.PerMillion, wantUSD[p.Name])
		}
		sum += p.PerMillion
		shares += p.Share
	}
	if len(parts) != len(wantUSD) || math.Abs(sum-total) > 1e-9 || math.Abs(shares-1) > 1e-9 {
		t.Fatalf("%d parts, sum %v, total %v, shares %v", len(parts), sum, total, shares)
	}
	var out bytes.Buffer
	r.Markdown(&out)
	PriceTable(&out)
	for _, s := range []string{"| DynamoDB writes | 20 WRU | 12.500 |", "AmazonSSM GetParameter | 1 calls (not priced)", "| **total** |", PricesAsOf} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("output lacks %q:\n%s", s, out.String())
		}
	}
	if s := r.Summary(); !strings.HasPrefix(s, "cost: x.y $") || !strings.Contains(s, "DynamoDB writes ") {
		t.Errorf("summary %q", s)
	}
}
