package deliver_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

// mustHaveResponse checks that a failed outcome carries the start of the
// destination's answer (for the attempt history) and returns the Response
// an outcome table compares: "" for a failure, as is for a success.
func mustHaveResponse(t *testing.T, o deliver.Outcome) string {
	t.Helper()
	if o.OK {
		return o.Response
	}
	if o.Response == "" {
		t.Errorf("failed outcome %+v has no Response", o)
	}
	return ""
}

// answering is an HTTP destination answering the n-th request with
// answers[n-1] (the last one after that).
func answering(t *testing.T, answers ...struct {
	code int
	body string
}) string {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := answers[min(int(n.Add(1)), len(answers))-1]
		w.WriteHeader(a.code)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

type answer = struct {
	code int
	body string
}

// TestHistoryOnSQLite: every attempt is one history entry with its outcome,
// status, class, duration and the start of the answer; a replay's attempts
// follow the old ones, numbered from 1 again.
func TestHistoryOnSQLite(t *testing.T) {
	st := openSQLite(t)
	ev := testEvent("01JHISTORY")
	putEvent(t, st, ev)
	url := answering(t, answer{503, `{"error":"busy"}`}, answer{200, strings.Repeat("ok", 3000)})
	c := newClock()
	p := newProcessor(st, c)
	d := httpDest("crm", url, "raw", "leadron.*")
	p.Routes = []deliver.Route{{Config: d, Dest: newHTTP(t, d)}}

	drain(t, p, c, ev.ID)
	hist, err := st.Attempts(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 {
		t.Fatalf("history = %+v, want 2 attempts", hist)
	}
	first, second := hist[0], hist[1]
	if first.Destination != "crm" || first.Number != 1 || first.Outcome != deliver.OutcomeRetry ||
		first.StatusCode != 503 || first.Error != "http_503" || first.Response != `{"error":"busy"}` ||
		first.Duration <= 0 || !first.At.Equal(newClock().Now()) {
		t.Errorf("first attempt = %+v", first)
	}
	if second.Number != 2 || second.Outcome != deliver.OutcomeDelivered || second.StatusCode != 200 ||
		second.Error != "" || len(second.Response) != store.MaxResponseBytes || !second.At.After(first.At) {
		t.Errorf("second attempt = %+v (response %d bytes, want the first %d)", second, len(second.Response), store.MaxResponseBytes)
	}

	// A replay (as hookline replay and the console do it): state cleared.
	got, err := st.Get(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := st.SaveDeliveries(t.Context(), ev.ID, got.Version, nil, store.StatusQueued); !ok || err != nil {
		t.Fatalf("replay: %v, %v", ok, err)
	}
	c.Add(time.Hour)
	drain(t, p, c, ev.ID)
	hist, err = st.Attempts(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[2].Number != 1 || hist[2].Outcome != deliver.OutcomeDelivered || !hist[2].At.After(hist[1].At) {
		t.Fatalf("history after replay = %+v, want a third entry, attempt 1, delivered", hist)
	}
}

// failingRecorder refuses every history write.
type failingRecorder struct{ calls atomic.Int64 }

func (f *failingRecorder) RecordAttempt(context.Context, store.Attempt) error {
	f.calls.Add(1)
	return errors.Join(store.ErrUnavailable, errors.New("history down"))
}

// TestHistoryIsOptional: a store without history delivers as before, and a
// failing history never holds up a delivery.
func TestHistoryIsOptional(t *testing.T) {
	for _, withHistory := range []bool{false, true} {
		ev := testEvent("01JHISTORYOPT")
		ms := newMemStore(ev)
		dest := &fakeDest{name: "crm", script: []deliver.Outcome{ok200}}
		c := newClock()
		p := newProcessor(ms, c, route(dest, 3, "leadron.*"))
		rec := &failingRecorder{}
		if withHistory {
			p.History = rec
		}
		if res := process(t, p, ev.ID); !res.Done || res.Status != store.StatusDelivered {
			t.Fatalf("history %v: Process = %+v, want done, delivered", withHistory, res)
		}
		if got := ms.event(ev.ID); got.Status != store.StatusDelivered {
			t.Fatalf("history %v: stored status %q", withHistory, got.Status)
		}
		if want := map[bool]int64{false: 0, true: 1}[withHistory]; rec.calls.Load() != want {
			t.Errorf("history %v: %d history writes, want %d", withHistory, rec.calls.Load(), want)
		}
	}
}

// The HTTP destination keeps only the first MaxResponseBytes of an answer.
func TestHTTPResponseExcerpt(t *testing.T) {
	url := answering(t, answer{400, strings.Repeat("x", 5000)})
	d := httpDest("crm", url, "raw", "leadron.*")
	o := newHTTP(t, d).Deliver(t.Context(), testEvent("01JEXCERPT"), 1)
	if o.StatusCode != 400 || len(o.Response) != store.MaxResponseBytes {
		t.Fatalf("outcome %d with %d response bytes, want 400 with %d", o.StatusCode, len(o.Response), store.MaxResponseBytes)
	}
}

// TestHistoryOnDynamoDB: the Lambda processor on DynamoDB Local and SQS
// (moto) records each attempt in the event's partition.
func TestHistoryOnDynamoDB(t *testing.T) {
	a := newAWS(t, false, time.Second)
	flaky := newSink(t, answerStatus(1, http.StatusServiceUnavailable), secretA)
	a.route(t, httpDest("flaky", flaky.url(), "cloudevents", "leadron.*"))
	ev := testEvent(ulid.Make().String())
	a.enqueue(t, ev)
	for range 2 {
		if failed := a.handle(t, a.receive(t, a.url, 1, 10*time.Second)); len(failed) > 1 {
			t.Fatalf("batch failures %v", failed)
		}
	}
	if got := a.event(t, ev.ID); got.Status != store.StatusDelivered {
		t.Fatalf("event %q, want delivered", got.Status)
	}
	hist, err := a.st.Attempts(t.Context(), ev.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Outcome != deliver.OutcomeRetry || hist[0].StatusCode != 503 ||
		hist[1].Outcome != deliver.OutcomeDelivered || hist[1].Number != 2 {
		t.Fatalf("history = %+v, want a retry on 503 then delivered on attempt 2", hist)
	}
	// The store is a deliver.StateSaver: each save wrote one state item
	// carrying its attempt, and no separate attempt item.
	out, err := a.ddb.Query(t.Context(), &dynamodb.QueryInput{
		TableName:                 &a.table,
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "EVT#" + ev.ID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var sks []string
	for _, item := range out.Items {
		sks = append(sks, item["sk"].(*types.AttributeValueMemberS).Value)
	}
	if want := []string{"ATT#v0000000001", "ATT#v0000000002", "EVT"}; !slices.Equal(sks, want) {
		t.Fatalf("event partition %v, want %v", sks, want)
	}
}
