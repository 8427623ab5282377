package main

import (
	"context"
	"os"
	"testing"

	"github.com/hookline/hookline/shared/config"
)

// routedBy is the processor's routing done at ingest: an event type that no
// destination's globs match is not enqueued by serve.
func TestRoutedBy(t *testing.T) {
	yaml := config.DevelopmentYAML[:len(config.DevelopmentYAML)-len(`destinations:
  - name: log
    type: log
    events: ["*"]
`)] + `destinations:
  - { name: leads, type: log, events: ["*.lead.created"] }
  - { name: tomba, type: log, events: ["tomba.*"] }
`
	cfg, err := config.Parse(context.Background(), []byte(yaml), os.LookupEnv, nil)
	if err != nil {
		t.Fatal(err)
	}
	routed := routedBy(cfg)
	for typ, want := range map[string]bool{
		"leadron.lead.created":    true,
		"journeybee.lead.created": true,
		"tomba.lead.updated":      true,
		"leadron.lead.updated":    false,
	} {
		if got := routed(typ); got != want {
			t.Errorf("routed(%q) = %v, want %v", typ, got, want)
		}
	}
	if routedBy(config.Development())("anything.at.all") != true {
		t.Error("the development config's log destination takes every event")
	}
}
