package awsenv_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/awsenv"
	"github.com/hookline/hookline/shared/queue/queuetest"
	sqsq "github.com/hookline/hookline/shared/queue/sqs"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
)

// outage is a TCP proxy in front of a stand-in that can be cut: while down
// it closes every new connection and the ones open, as a stopped service
// would.
type outage struct {
	ln     net.Listener
	target string
	down   atomic.Bool
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

func newOutage(t *testing.T, endpoint string) *outage {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := &outage{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); o.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if o.down.Load() {
				c.Close()
				continue
			}
			go o.pipe(c)
		}
	}()
	return o
}

func (o *outage) url() string { return "http://" + o.ln.Addr().String() }

func (o *outage) pipe(c net.Conn) {
	b, err := net.Dial("tcp", o.target)
	if err != nil {
		c.Close()
		return
	}
	o.mu.Lock()
	o.conns[c], o.conns[b] = true, true
	o.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); b.Close() }()
	_, _ = io.Copy(c, b)
	c.Close()
}

func (o *outage) cut() {
	o.down.Store(true)
	o.mu.Lock()
	defer o.mu.Unlock()
	for c := range o.conns {
		c.Close()
	}
	clear(o.conns)
}

func (o *outage) restore() { o.down.Store(false) }

// TestStandInOutages stops DynamoDB and then SQS (by cutting a proxy in
// front of DynamoDB Local and moto) while the real Lambda handler takes
// deliveries: every answer during an outage is 503 (never a 4xx, never a
// 2xx without a stored and queued event); after recovery the providers'
// retries are accepted, and nothing acknowledged is missing.
func TestStandInOutages(t *testing.T) {
	table, queueURL := awsStandIns(t)
	ddb := newOutage(t, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	moto := newOutage(t, os.Getenv("AWS_ENDPOINT_URL"))
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb.url())
	t.Setenv("AWS_ENDPOINT_URL", moto.url())
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	lambdaEnv(t, table, queueURL)
	ctx := context.Background()
	h, err := awsenv.IngestHandler(ctx, "leadron")
	if err != nil {
		t.Fatal(err)
	}
	h.Observe = nil
	env, err := awsenv.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}

	body := func(i int) []byte {
		b, _ := samples.Body("leadron", "lead.created")
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		m["id"] = "evt_outage_" + time.Now().Format("150405.000000") + "_" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		out, _ := json.Marshal(m)
		return out
	}
	send := func(b []byte) (int, string) {
		hdr, _ := samples.Headers("leadron", "lead.created", b, testSecrets, samples.Token{})
		e := events.APIGatewayV2HTTPRequest{Headers: map[string]string{}, Body: string(b)}
		for k := range hdr {
			e.Headers[k] = hdr.Get(k)
		}
		e.RequestContext.HTTP.Method = "POST"
		out, _ := h.HandleAPIGateway(ctx, e)
		var a struct {
			EventID string `json:"event_id"`
		}
		_ = json.Unmarshal([]byte(out.Body), &a)
		return out.StatusCode, a.EventID
	}

	var acked []string
	check := func(phase string, bodies [][]byte, wantDown bool) {
		for _, b := range bodies {
			code, id := send(b)
			switch {
			case wantDown && code != 503:
				t.Fatalf("%s: answered %d during the outage, want 503", phase, code)
			case !wantDown && code != 200:
				t.Fatalf("%s: answered %d after recovery, want 200", phase, code)
			}
			if code == 200 {
				acked = append(acked, id)
			}
		}
	}
	var batch [][]byte
	for i := range 10 {
		batch = append(batch, body(i))
	}

	// DynamoDB stopped: 503, and the retries are accepted once it is back.
	ddb.cut()
	check("dynamodb down", batch, true)
	ddb.restore()
	check("dynamodb back", batch, false)

	// SQS stopped: 503 (the events are stored as received); the retries
	// re-enqueue them once it is back.
	var batch2 [][]byte
	for i := range 10 {
		batch2 = append(batch2, body(100+i))
	}
	moto.cut()
	check("sqs down", batch2, true)
	moto.restore()
	check("sqs back", batch2, false)

	// Nothing acknowledged is missing: stored, queued, and on the queue.
	q := sqsq.New(queuetest.SQSClient(t), queueURL)
	onQueue := map[string]bool{}
	for len(onQueue) < len(acked) {
		msgs, err := q.Receive(ctx, 10, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			onQueue[m.EventID] = true
		}
	}
	for _, id := range acked {
		ev, err := env.Store.Get(ctx, id)
		// A new event is left received for the processor's first save; a
		// requeued duplicate is marked queued (Handler.LeaveReceived).
		if err != nil || (ev.Status != store.StatusReceived && ev.Status != store.StatusQueued) {
			t.Fatalf("acknowledged %s: %v %v", id, ev.Status, err)
		}
		if !onQueue[id] {
			t.Fatalf("acknowledged %s is not on the queue", id)
		}
	}
	if len(acked) != 20 {
		t.Fatalf("%d acknowledged, want 20", len(acked))
	}
}
