// Package queuetest is the contract suite that every queue adapter passes
// (queue/embedded, and queue/sqs against moto_server), and the helpers that
// tests use to reach the SQS stand-in (SQSClient, NewSQSQueue).
//
// Run checks the behaviour the processor relies on: a message is received
// with its event id, type and receive count; it is hidden while in flight and
// comes back when its visibility runs out; ChangeVisibility moves that moment
// (0: at once); Delete removes it; a stale receipt cannot delete or move the
// new receiver's lease; an empty receive returns nothing after a bounded wait;
// a waiting receive wakes when a message arrives; and, for queues that
// dead-letter, a message received MaxReceives times goes to the dead letters
// on the next receive and Redrive brings it back.
package queuetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/queue"
)

// Queue is what the suite needs of a queue adapter.
type Queue interface {
	Enqueue(ctx context.Context, eventID, eventType string) error
	Receive(ctx context.Context, maxMsgs int, visibility time.Duration) ([]queue.Message, error)
	ReceiveWait(ctx context.Context, maxMsgs int, visibility, wait time.Duration) ([]queue.Message, error)
	Delete(ctx context.Context, receipt string) error
	ChangeVisibility(ctx context.Context, receipt string, d time.Duration) error
}

// DeadLettering is implemented by a queue under test that dead-letters
// messages; the suite's dead-letter test runs only for those.
type DeadLettering interface {
	// MaxReceives is how many receives a message gets; the next receive
	// dead-letters it.
	MaxReceives() int
	// DeadLetters returns up to limit dead-lettered messages (EventID and
	// Type set) without moving them.
	DeadLetters(ctx context.Context, limit int) ([]queue.Message, error)
	// Redrive puts every dead letter back on the queue.
	Redrive(ctx context.Context) (int, error)
}

// UnfencedReceipts is implemented by a queue under test whose backend does
// not promise that a stale receipt leaves the message alone (SQS). The suite
// then skips that check, with the reason given.
type UnfencedReceipts interface {
	StaleReceiptsUnfenced() (reason string)
}

// Long is the visibility the suite uses when a message must stay hidden for
// the whole test.
const Long = 30 * time.Second

// Run runs the contract suite. newQueue must return a new, empty queue for
// each call (the subtests run in parallel), cleaned up by t.Cleanup.
// Visibilities used are whole seconds, as SQS needs.
func Run(t *testing.T, newQueue func(t *testing.T) Queue) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, q Queue)
	}{
		{"ReceiveGetsMessage", testReceiveGetsMessage},
		{"ReceiveRespectsMax", testReceiveRespectsMax},
		{"HiddenWhileInFlight", testHiddenWhileInFlight},
		{"ReappearsAfterVisibility", testReappearsAfterVisibility},
		{"ChangeVisibilityZero", testChangeVisibilityZero},
		{"ChangeVisibilityExtends", testChangeVisibilityExtends},
		{"DeleteRemoves", testDeleteRemoves},
		{"StaleReceipt", testStaleReceipt},
		{"EmptyReceive", testEmptyReceive},
		{"ReceiveWaitWakesOnEnqueue", testReceiveWaitWakes},
		{"DeadLetterAndRedrive", testDeadLetterAndRedrive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newQueue(t))
		})
	}
}

func testReceiveGetsMessage(t *testing.T, q Queue) {
	ctx := t.Context()
	id := EventID()
	mustEnqueue(t, q, id, "leadron.lead.created")
	m := receiveOne(t, q, Long)
	if m.EventID != id || m.Type != "leadron.lead.created" {
		t.Errorf("received (%q, %q), want (%q, %q)", m.EventID, m.Type, id, "leadron.lead.created")
	}
	if m.ReceiveCount != 1 {
		t.Errorf("ReceiveCount = %d on the first receive, want 1", m.ReceiveCount)
	}
	if m.Receipt == "" {
		t.Error("empty receipt")
	}
	if err := q.Delete(ctx, m.Receipt); err != nil {
		t.Errorf("Delete: %v", err)
	}
}

func testReceiveRespectsMax(t *testing.T, q Queue) {
	ctx := t.Context()
	want := []string{EventID(), EventID(), EventID()}
	for _, id := range want {
		mustEnqueue(t, q, id, "tomba.save_lead")
	}
	first, err := q.ReceiveWait(ctx, 2, Long, 2*time.Second)
	if err != nil {
		t.Fatalf("ReceiveWait: %v", err)
	}
	if len(first) != 2 {
		t.Fatalf("ReceiveWait(max 2) got %d messages, want 2", len(first))
	}
	rest, err := q.ReceiveWait(ctx, 10, Long, 2*time.Second)
	if err != nil {
		t.Fatalf("ReceiveWait: %v", err)
	}
	var got []string
	for _, m := range append(first, rest...) {
		got = append(got, m.EventID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("received %v, want each of %v once", got, want)
	}
}

func testHiddenWhileInFlight(t *testing.T, q Queue) {
	mustEnqueue(t, q, EventID(), "leadron.lead.created")
	receiveOne(t, q, Long)
	expectNone(t, q, time.Second, "while the only message is in flight")
}

func testReappearsAfterVisibility(t *testing.T, q Queue) {
	id := EventID()
	mustEnqueue(t, q, id, "leadron.lead.created")
	first := receiveOne(t, q, time.Second)
	at := time.Now()
	again, err := q.ReceiveWait(t.Context(), 10, Long, 5*time.Second)
	if err != nil {
		t.Fatalf("ReceiveWait: %v", err)
	}
	if len(again) != 1 || again[0].EventID != id {
		t.Fatalf("after the visibility ran out: got %v, want the message %s again", again, id)
	}
	if waited := time.Since(at); waited < 800*time.Millisecond {
		t.Errorf("the message came back after %v, before its 1 s visibility ran out", waited)
	}
	if again[0].ReceiveCount != 2 {
		t.Errorf("ReceiveCount = %d on the second receive, want 2", again[0].ReceiveCount)
	}
	if again[0].Receipt == first.Receipt {
		t.Error("the second receive gave the same receipt as the first")
	}
}

func testChangeVisibilityZero(t *testing.T, q Queue) {
	ctx := t.Context()
	id := EventID()
	mustEnqueue(t, q, id, "leadron.lead.created")
	m := receiveOne(t, q, Long)
	if err := q.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
		t.Fatalf("ChangeVisibility(0): %v", err)
	}
	again, err := q.ReceiveWait(ctx, 10, Long, 2*time.Second)
	if err != nil {
		t.Fatalf("ReceiveWait: %v", err)
	}
	if len(again) != 1 || again[0].EventID != id || again[0].ReceiveCount != 2 {
		t.Fatalf("after ChangeVisibility(0): got %v, want %s with ReceiveCount 2", again, id)
	}
}

func testChangeVisibilityExtends(t *testing.T, q Queue) {
	ctx := t.Context()
	mustEnqueue(t, q, EventID(), "leadron.lead.created")
	m := receiveOne(t, q, time.Second)
	if err := q.ChangeVisibility(ctx, m.Receipt, Long); err != nil {
		t.Fatalf("ChangeVisibility(%v): %v", Long, err)
	}
	// Past the first 1 s visibility: the extension must hold it back.
	expectNone(t, q, 2*time.Second, "after ChangeVisibility extended the visibility")
	// The receipt is still the current lease: it can delete.
	if err := q.Delete(ctx, m.Receipt); err != nil {
		t.Errorf("Delete after ChangeVisibility: %v", err)
	}
}

func testDeleteRemoves(t *testing.T, q Queue) {
	ctx := t.Context()
	mustEnqueue(t, q, EventID(), "leadron.lead.created")
	m := receiveOne(t, q, time.Second)
	if err := q.Delete(ctx, m.Receipt); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	// Had Delete not deleted, the message would be back after 1 s.
	expectNone(t, q, 2*time.Second, "after Delete")
}

func testStaleReceipt(t *testing.T, q Queue) {
	if u, ok := q.(UnfencedReceipts); ok {
		t.Skip("not promised by this backend: " + u.StaleReceiptsUnfenced())
	}
	ctx := t.Context()
	id := EventID()
	mustEnqueue(t, q, id, "leadron.lead.created")
	stale := receiveOne(t, q, time.Second)
	// The visibility runs out and another consumer receives it.
	cur, err := q.ReceiveWait(ctx, 10, Long, 5*time.Second)
	if err != nil || len(cur) != 1 || cur[0].EventID != id {
		t.Fatalf("second receive: %v, %v; want the message %s", cur, err, id)
	}
	if err := q.ChangeVisibility(ctx, stale.Receipt, 0); !staleOK(err) {
		t.Errorf("ChangeVisibility with a stale receipt: %v; want nil or queue.ErrInvalidReceipt", err)
	}
	if err := q.Delete(ctx, stale.Receipt); !staleOK(err) {
		t.Errorf("Delete with a stale receipt: %v; want nil or queue.ErrInvalidReceipt", err)
	}
	expectNone(t, q, time.Second, "after a stale ChangeVisibility(0): the current lease still hides it")
	// The message is still there under the current lease.
	if err := q.ChangeVisibility(ctx, cur[0].Receipt, Long); err != nil {
		t.Fatalf("ChangeVisibility with the current receipt: %v (did the stale Delete delete the message?)", err)
	}
	if err := q.Delete(ctx, cur[0].Receipt); err != nil {
		t.Fatalf("Delete with the current receipt: %v", err)
	}
}

func staleOK(err error) bool {
	return err == nil || (errors.Is(err, queue.ErrInvalidReceipt) && !errors.Is(err, queue.ErrUnavailable))
}

func testEmptyReceive(t *testing.T, q Queue) {
	ctx := t.Context()
	msgs, err := q.Receive(ctx, 10, Long)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("Receive on an empty queue: %v, %v; want none, nil", msgs, err)
	}
	start := time.Now()
	msgs, err = q.ReceiveWait(ctx, 10, Long, time.Second)
	took := time.Since(start)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("ReceiveWait on an empty queue: %v, %v; want none, nil", msgs, err)
	}
	if took < 800*time.Millisecond || took > 5*time.Second {
		t.Errorf("ReceiveWait(1 s) on an empty queue returned after %v, want about 1 s", took)
	}
}

func testReceiveWaitWakes(t *testing.T, q Queue) {
	ctx := t.Context()
	id := EventID()
	type result struct {
		msgs []queue.Message
		err  error
		at   time.Time
	}
	done := make(chan result, 1)
	start := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		msgs, err := q.ReceiveWait(ctx, 10, Long, 10*time.Second)
		done <- result{msgs, err, time.Now()}
	})
	defer wg.Wait()
	time.Sleep(300 * time.Millisecond) // let the receive start waiting
	mustEnqueue(t, q, id, "journeybee.lead_created")
	sent := time.Now()
	r := <-done
	if r.err != nil || len(r.msgs) != 1 || r.msgs[0].EventID != id {
		t.Fatalf("waiting receive: %v, %v; want the message %s", r.msgs, r.err, id)
	}
	if lag := r.at.Sub(sent); lag > 3*time.Second {
		t.Errorf("the waiting receive returned %v after the enqueue (%v after it started waiting), want promptly", lag, r.at.Sub(start))
	}
}

func testDeadLetterAndRedrive(t *testing.T, q Queue) {
	dl, ok := q.(DeadLettering)
	if !ok {
		t.Skip("this queue under test does not dead-letter")
	}
	ctx := t.Context()
	id := EventID()
	mustEnqueue(t, q, id, "leadron.lead.created")
	n := dl.MaxReceives()
	for i := 1; i <= n; i++ {
		m := receiveOne(t, q, Long)
		if m.EventID != id || m.ReceiveCount != i {
			t.Fatalf("receive %d: got %s with ReceiveCount %d, want %s with %d", i, m.EventID, m.ReceiveCount, id, i)
		}
		if err := q.ChangeVisibility(ctx, m.Receipt, 0); err != nil {
			t.Fatalf("ChangeVisibility(0): %v", err)
		}
	}
	expectNone(t, q, time.Second, fmt.Sprintf("after %d receives (max receives %d)", n, n))
	dead, err := dl.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 1 || dead[0].EventID != id || dead[0].Type != "leadron.lead.created" {
		t.Fatalf("dead letters: %v, want the message %s", dead, id)
	}
	moved, err := dl.Redrive(ctx)
	if err != nil || moved != 1 {
		t.Fatalf("Redrive: %d, %v; want 1, nil", moved, err)
	}
	back, err := q.ReceiveWait(ctx, 10, Long, 2*time.Second)
	if err != nil || len(back) != 1 || back[0].EventID != id || back[0].Type != "leadron.lead.created" {
		t.Fatalf("receive after Redrive: %v, %v; want the message %s", back, err, id)
	}
	if back[0].ReceiveCount != 1 {
		t.Errorf("ReceiveCount after Redrive = %d, want 1 (reset)", back[0].ReceiveCount)
	}
	if dead, err := dl.DeadLetters(ctx, 10); err != nil || len(dead) != 0 {
		t.Errorf("dead letters after Redrive: %v, %v; want none", dead, err)
	}
	if err := q.Delete(ctx, back[0].Receipt); err != nil {
		t.Errorf("Delete after Redrive: %v", err)
	}
}

// receiveOne receives exactly one message, waiting up to 2 s for it.
func receiveOne(t *testing.T, q Queue, visibility time.Duration) queue.Message {
	t.Helper()
	msgs, err := q.ReceiveWait(t.Context(), 10, visibility, 2*time.Second)
	if err != nil {
		t.Fatalf("ReceiveWait: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("ReceiveWait got %d messages (%v), want 1", len(msgs), msgs)
	}
	return msgs[0]
}

// expectNone fails if a receive waiting up to wait gets a message.
func expectNone(t *testing.T, q Queue, wait time.Duration, when string) {
	t.Helper()
	msgs, err := q.ReceiveWait(t.Context(), 10, Long, wait)
	if err != nil {
		t.Fatalf("ReceiveWait %s: %v", when, err)
	}
	if len(msgs) != 0 {
		t.Fatalf("ReceiveWait %s got %v, want nothing", when, msgs)
	}
}

func mustEnqueue(t *testing.T, q Queue, id, typ string) {
	t.Helper()
	if err := q.Enqueue(t.Context(), id, typ); err != nil {
		t.Fatalf("Enqueue(%s): %v", id, err)
	}
}
