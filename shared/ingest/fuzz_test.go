package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/ingest"
	"github.com/hookline/hookline/shared/provider/journeybee"
	"github.com/hookline/hookline/shared/provider/leadron"
	"github.com/hookline/hookline/shared/provider/tomba"
	"github.com/hookline/hookline/shared/samples"
)

const tbToken = "test-tomba-token"

// FuzzHandle runs arbitrary bodies, signed or not, through the handler of
// each provider: it never panics, a non-2xx never changes state, and a 2xx
// has stored exactly that body once and enqueued it.
func FuzzHandle(f *testing.F) {
	for i, prov := range []string{"journeybee", "leadron", "tomba"} {
		for _, ev := range samples.Events(prov) {
			b, err := samples.Body(prov, ev)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint8(i), b, true)
		}
	}
	f.Add(uint8(1), []byte(`{"id":"e","type":"x","createdAt":"2026-01-01T00:00:00Z","data":{}}`), false)
	f.Add(uint8(2), []byte(`{"data":{"email":"a@b"}}`), true)

	jb, _ := journeybee.New([]string{jbSecret})
	ld, _ := leadron.New([]string{ldSecret})
	tb, _ := tomba.New("", []string{tbToken})
	verifiers := []ingest.Verifier{jb, ld, tb}
	names := []string{"journeybee", "leadron", "tomba"}

	f.Fuzz(func(t *testing.T, which uint8, body []byte, sign bool) {
		i := int(which) % 3
		st, q := newMemStore(), &memQueue{}
		h := &ingest.Handler{Provider: names[i], Verifier: verifiers[i], Store: st, Queue: q, MaxBody: 64 << 10}
		hdr := http.Header{"Content-Type": {"application/json"}}
		if sign {
			switch i {
			case 0:
				tok, _ := journeybee.SignHeader(jbSecret, journeybee.Claims{CompanyUUID: "c", UserUUID: "u", EventID: "lead_created",
					IssuedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
				hdr.Set("Authorization", tok)
			case 1:
				hdr.Set(leadron.SignatureHeader, leadron.Sign(ldSecret, body))
			case 2:
				hdr.Set(tomba.DefaultHeader, tbToken)
			}
		}
		resp := h.Handle(context.Background(), ingest.Request{Method: http.MethodPost, Header: hdr, Body: body})
		evs, msgs := st.all(), q.sent()
		if resp.Status != http.StatusOK {
			if resp.Status < 400 || resp.Status >= 500 {
				t.Fatalf("status %d for a fuzzed delivery (store and queue are up)", resp.Status)
			}
			if len(evs) != 0 || len(msgs) != 0 {
				t.Fatalf("rejected with %d but stored %d / enqueued %d", resp.Status, len(evs), len(msgs))
			}
			return
		}
		if len(evs) != 1 || len(msgs) != 1 || !bytes.Equal(evs[0].Raw, body) || msgs[0] != evs[0].ID {
			t.Fatalf("accepted but stored %d events, enqueued %d", len(evs), len(msgs))
		}
	})
}
