package console_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/console"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/storetest"
)

// TestReverifyAPI: the re-verify routes over a real SQLite file with a
// hand-written Reverify: claims and quarantine in the list, one and bulk
// (dry run first), 404s, the guards of a state-changing route.
func TestReverifyAPI(t *testing.T) {
	var mu sync.Mutex
	var called []string
	o := console.Options{Reverify: func(_ context.Context, q store.Quarantined) (console.Reverified, error) {
		mu.Lock()
		defer mu.Unlock()
		called = append(called, q.ID)
		if strings.Contains(string(q.Body), "forged") {
			return console.Reverified{Status: "rejected", Reason: "bad_signature"}, nil
		}
		return console.Reverified{Status: "accepted", EventID: "ev-" + q.ID}, nil
	}}
	s := newSetup(t, o)
	now := time.Now()
	bounds := store.QuarantineBounds{MaxCount: 10, MaxBytes: 1 << 20}
	for _, b := range []string{`{"n":"genuine"}`, `{"n":"forged"}`} {
		if err := s.st.RecordQuarantined(t.Context(), storetest.NewRejection("leadron", []byte(b), now),
			storetest.NewQuarantined("leadron", []byte(b), now, time.Hour), bounds); err != nil {
			t.Fatal(err)
		}
	}
	jb := storetest.NewRejection("journeybee", []byte(`{}`), now)
	jb.Claims = map[string]string{"company_uuid": "company_1", "event_id": "lead_created"}
	if err := s.st.RecordRejection(t.Context(), jb); err != nil {
		t.Fatal(err)
	}
	type list struct {
		Rejections []struct {
			ID          string            `json:"id"`
			Provider    string            `json:"provider"`
			Claims      map[string]string `json:"claims"`
			Quarantined bool              `json:"quarantined"`
			Expires     *time.Time        `json:"quarantine_expires_at"`
		} `json:"rejections"`
	}
	got := decode[list](t, s.do(t, "GET", "/api/rejections", ""))
	if len(got.Rejections) != 3 || got.Rejections[0].Claims["company_uuid"] != "company_1" || got.Rejections[0].Quarantined ||
		!got.Rejections[1].Quarantined || got.Rejections[1].Expires == nil {
		t.Fatalf("rejections = %+v", got)
	}
	post := func(path, body string) answer { return s.do(t, "POST", path, body, console.HeaderConsole, "1") }

	one := post("/api/rejections/"+got.Rejections[2].ID+"/reverify", "")
	if r := decode[console.Reverified](t, one); one.status != 200 || r.Status != "accepted" || r.EventID != "ev-"+got.Rejections[2].ID {
		t.Errorf("re-verify: %d %s", one.status, one.body)
	}
	if a := post("/api/rejections/"+got.Rejections[0].ID+"/reverify", ""); a.status != 404 || !strings.Contains(string(a.body), "not_quarantined") {
		t.Errorf("a rejection kept without its delivery: %d %s", a.status, a.body)
	}
	type bulk struct {
		Count     int  `json:"count"`
		Accepted  int  `json:"accepted"`
		Duplicate int  `json:"duplicate"`
		Rejected  int  `json:"rejected"`
		DryRun    bool `json:"dry_run"`
		Results   []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
			Reason string `json:"reason"`
		} `json:"results"`
	}
	mu.Lock()
	called = nil
	mu.Unlock()
	dry := post("/api/rejections/reverify", `{"provider":"leadron","dry_run":true}`)
	if b := decode[bulk](t, dry); dry.status != 200 || b.Count != 2 || !b.DryRun || len(b.Results) != 0 || len(called) != 0 {
		t.Errorf("dry run: %d %s (called %v)", dry.status, dry.body, called)
	}
	all := post("/api/rejections/reverify", `{"provider":"leadron"}`)
	if b := decode[bulk](t, all); all.status != 200 || b.Count != 2 || b.Accepted != 1 || b.Rejected != 1 || len(b.Results) != 2 ||
		b.Results[0].ID != got.Rejections[2].ID || b.Results[1].Reason != "bad_signature" {
		t.Errorf("bulk: %d %s (%+v)", all.status, all.body, decode[bulk](t, all))
	}
	if b := decode[bulk](t, post("/api/rejections/reverify", `{"provider":"journeybee","dry_run":true}`)); b.Count != 0 {
		t.Errorf("journeybee has nothing kept: %+v", b)
	}
	for _, body := range []string{``, `{"provider":"acme"}`, `{"provider":"leadron","extra":1,`} {
		if a := post("/api/rejections/reverify", body); a.status != 400 {
			t.Errorf("bulk %q: %d", body, a.status)
		}
	}
	// A state-changing route: a cross-site POST is refused before anything runs.
	mu.Lock()
	called = nil
	mu.Unlock()
	for _, path := range []string{"/api/rejections/" + got.Rejections[2].ID + "/reverify", "/api/rejections/reverify"} {
		if a := s.do(t, "POST", path, `{"provider":"leadron"}`, "Origin", "https://evil.example"); a.status != 403 {
			t.Errorf("cross-site POST %s: %d", path, a.status)
		}
	}
	if len(called) != 0 {
		t.Errorf("a refused request re-verified %v", called)
	}

	off := newSetup(t, console.Options{})
	if a := off.do(t, "POST", "/api/rejections/1/reverify", "", console.HeaderConsole, "1"); a.status != 404 || !strings.Contains(string(a.body), "quarantine_off") {
		t.Errorf("quarantine off: %d %s", a.status, a.body)
	}
}
