package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/hookline/hookline/shared/config"
	"github.com/hookline/hookline/shared/queue/embedded"
	"github.com/hookline/hookline/shared/samples"
	"github.com/hookline/hookline/shared/store"
	"github.com/hookline/hookline/shared/store/sqlite"
	"github.com/hookline/hookline/shared/wire"
)

// The committed events/ files are exactly what `hookline samples` writes
// (run `make events` after changing a sample body or the generator), and
// events/ holds nothing else.
func TestSampleEventsUpToDate(t *testing.T) {
	files, err := SampleEvents()
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, p := range wire.Providers {
		want += len(samples.Events(p))
	}
	// Provider samples, one processor batch per processor sample and one of
	// them all, the sweeper's scheduled event, env.local.json.
	want += len(processorSamples) + 1 + 1 + 1
	if len(files) != want || want < 45 {
		t.Fatalf("%d files, want %d", len(files), want)
	}
	for name, data := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", "events", name))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("events/%s is missing or stale: run make events", name)
		}
	}
	root := filepath.Join("..", "..", "events")
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name, _ := filepath.Rel(root, path)
		if _, ok := files[name]; !ok {
			t.Errorf("events/%s is not written by hookline samples: remove it", name)
		}
		seen++
		return nil
	})
	if err != nil || seen == 0 {
		t.Fatalf("walking events/: %d files, %v", seen, err)
	}
}

// Every sample event is accepted by the real handler with the development
// secrets, stored once, and a replay of the same file is a duplicate.
func TestSampleEventsAreAccepted(t *testing.T) {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "hookline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q, err := embedded.New(st.DB())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Development()
	var files []string
	for _, prov := range wire.Providers {
		found, _ := filepath.Glob(filepath.Join("..", "..", "events", prov, "*.json"))
		if len(found) == 0 {
			t.Fatalf("no events/%s samples", prov)
		}
		files = append(files, found...)
	}
	ctx := context.Background()
	for _, file := range files {
		prov := filepath.Base(filepath.Dir(file))
		h, err := wire.Handler(cfg, prov, st, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(file)
		var e events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(data, &e); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var ids [2]string
		for i, want := range []string{"accepted", "duplicate"} {
			out, err := h.HandleAPIGateway(ctx, e)
			var a struct {
				Status  string `json:"status"`
				EventID string `json:"event_id"`
			}
			_ = json.Unmarshal([]byte(out.Body), &a)
			if err != nil || out.StatusCode != 200 || a.Status != want {
				t.Fatalf("%s delivery %d: %d %s", file, i+1, out.StatusCode, out.Body)
			}
			ids[i] = a.EventID
		}
		if ids[0] != ids[1] {
			t.Errorf("%s: duplicate answered %s, first was %s", file, ids[1], ids[0])
		}
		ev, err := st.Get(ctx, ids[0])
		if err != nil || ev.Status != store.StatusQueued || ev.Raw == nil || ev.Raw[0] != '{' {
			t.Errorf("%s: stored %+v, %v", file, ev.Status, err)
		}
	}
}
