package ingest_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
)

// nopStore accepts every Put as new; the benchmark measures the handler,
// not a store.
type nopStore struct{}

func (nopStore) Put(_ context.Context, ev store.Event, _ time.Time) (store.PutResult, error) {
	return store.PutResult{ID: ev.ID, Status: "received"}, nil
}

func (nopStore) Transition(context.Context, string, store.Status, store.Status) (bool, error) {
	return true, nil
}

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, string, string) error { return nil }

// BenchmarkHandle: the whole handler (transport checks, verify, validate,
// normalize, event build with ULID and normalized JSON, store and queue
// calls, response) over the sample lead deliveries, with no-op fakes.
func BenchmarkHandle(b *testing.B) {
	jb, _ := journeybee.New([]string{jbSecret})
	ld, _ := leadron.New([]string{ldSecret})
	for _, tc := range []struct {
		prov, event string
		v           ingest.Verifier
	}{
		{"journeybee", "lead_created", jb},
		{"leadron", "lead.created", ld},
	} {
		body, err := samples.Body(tc.prov, tc.event)
		if err != nil {
			b.Fatal(err)
		}
		hdr, err := samples.Headers(tc.prov, tc.event, body, samples.Secrets{JourneyBee: jbSecret, Leadron: ldSecret},
			samples.DefaultToken(time.Now()))
		if err != nil {
			b.Fatal(err)
		}
		h := &ingest.Handler{Provider: tc.prov, Verifier: tc.v, Store: nopStore{}, Queue: nopQueue{}}
		req := ingest.Request{Method: http.MethodPost, Header: hdr, Body: body}
		b.Run(tc.prov+"/"+tc.event, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for i := 0; i < b.N; i++ {
				if resp := h.Handle(context.Background(), req); resp.Status != 200 {
					b.Fatal(strconv.Itoa(resp.Status), string(resp.Body))
				}
			}
		})
	}
}
