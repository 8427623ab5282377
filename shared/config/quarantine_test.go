package config

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRejectionsAndQuarantine(t *testing.T) {
	const src = "sources:\n  leadron: { secrets: [s] }\n"
	off, err := Parse(context.Background(), []byte(src), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if off.Ingest.RecordRejections || off.Ingest.Quarantine != nil {
		t.Errorf("both must be off by default: %+v", off.Ingest)
	}
	on, err := Parse(context.Background(), []byte(src+"ingest:\n  record_rejections: true\n  quarantine: {}\n"), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := on.Ingest.Quarantine
	if !on.Ingest.RecordRejections || q == nil || q.TTL.D() != 24*time.Hour || q.MaxBytes != DefaultQuarantineBytes || q.MaxCount != DefaultQuarantineCount {
		t.Errorf("defaults: %+v %+v", on.Ingest, q)
	}
	set, err := Parse(context.Background(), []byte(src+"ingest:\n  quarantine: { ttl: 2h, max_bytes: 1048576, max_count: 10 }\n"), env(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if q := set.Ingest.Quarantine; q.TTL.D() != 2*time.Hour || q.MaxBytes != 1<<20 || q.MaxCount != 10 {
		t.Errorf("set: %+v", q)
	}
	for doc, want := range map[string]string{
		"ingest:\n  quarantine: { ttl: 30s }\n":                                "ingest.quarantine.ttl",
		"ingest:\n  quarantine: { ttl: 8d }\n":                                 "ingest.quarantine.ttl",
		"ingest:\n  quarantine: { max_bytes: 1000 }\n":                         "ingest.quarantine.max_bytes",
		"ingest:\n  max_body_bytes: 2000\n  quarantine: { max_bytes: 1000 }\n": "ingest.quarantine.max_bytes",
		"ingest:\n  quarantine: { max_count: -1 }\n":                           "ingest.quarantine.max_count",
		"ingest:\n  quarantine: { max_count: 1001 }\n":                         "ingest.quarantine.max_count",
		"ingest:\n  quarantine: { ttl: 1h, keep: forever }\n":                  "keep",
		"ingest:\n  record_rejections: yes-please\n":                           "record_rejections",
	} {
		_, err := Parse(context.Background(), []byte(src+doc), env(nil), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want one naming %s", doc, err, want)
		}
	}
}
