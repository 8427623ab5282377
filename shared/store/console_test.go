package store_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/store"
)

// A Tally counts attempts by outcome, a filtered one only as Filtered (no
// attempt, no latency), and gives nearest-rank percentiles per destination.
func TestTally(t *testing.T) {
	var empty store.Tally
	if got := empty.Stats(); got == nil || len(got) != 0 {
		t.Errorf("zero Tally: %v, want an empty map", got)
	}
	var tl store.Tally
	ms := time.Millisecond
	for i := 1; i <= 100; i++ {
		tl.Add("crm", "delivered", time.Duration(101-i)*ms) // 100 ms … 1 ms, out of order
	}
	tl.Add("crm", "retry", 500*ms)
	tl.Add("crm", "failed", 700*ms)
	tl.Add("crm", "filtered", time.Hour)
	tl.Add("slack", "filtered", 0)
	tl.Add("audit", "delivered", 3*ms)
	want := map[string]store.DestinationStats{
		// 102 samples: rank 51 is 51 ms, rank ceil(0.99*102)=101 is 500 ms.
		"crm":   {Attempts: 102, Delivered: 100, Retried: 1, Failed: 1, Filtered: 1, P50: 51 * ms, P99: 500 * ms},
		"slack": {Filtered: 1},
		"audit": {Attempts: 1, Delivered: 1, P50: 3 * ms, P99: 3 * ms},
	}
	if got := tl.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats:\n got %+v\nwant %+v", got, want)
	}
}
