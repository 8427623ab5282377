package template_test

import (
	"slices"
	"strings"
	"testing"
)

// TestDynamoDBActionsPerRole: each role grants the DynamoDB calls its
// function's store/dynamo code makes, on the table or index they go to
// (DynamoDB Local enforces no IAM, so nothing else would notice a missing
// one before a deployment):
//
//   - ingest: PutItem (key claim, event item, a duplicate's state item),
//     Query (an event with its state: a duplicate's status), GetItem (a
//     credential binding), DeleteItem (a claim given back);
//   - processor: Query (the event with its state), PutItem (the next state
//     item), UpdateItem (an attempt item no state save carried);
//   - sweeper: Query on by_provider (events by receive time), BatchGetItem
//     (which have a state item), Query (an event with its state), PutItem
//     (received → queued), GetItem and UpdateItem (the checkpoint).
func TestDynamoDBActionsPerRole(t *testing.T) {
	tmpl := repoTemplate(t)
	want := map[string]map[string][]string{
		"IngestPolicy":  {"table": {"PutItem", "Query", "GetItem", "DeleteItem"}},
		"ProcessorRole": {"table": {"Query", "PutItem", "UpdateItem"}},
		"SweeperRole":   {"table": {"BatchGetItem", "Query", "PutItem", "GetItem", "UpdateItem"}, "index/by_provider": {"Query"}},
	}
	for id, resources := range want {
		r, ok := tmpl.Resources[id]
		if !ok {
			t.Fatalf("no %s", id)
		}
		var docs []map[string]any
		if d, ok := r.Properties["PolicyDocument"].(map[string]any); ok {
			docs = append(docs, d)
		}
		policies, _ := r.Properties["Policies"].([]any)
		for _, p := range policies {
			m, _ := p.(map[string]any)
			if d, ok := m["PolicyDocument"].(map[string]any); ok {
				docs = append(docs, d)
			}
		}
		granted := map[string][]string{} // resource → dynamodb actions
		for _, d := range docs {
			stmts, _ := d["Statement"].([]any)
			for _, s := range stmts {
				st, _ := s.(map[string]any)
				var actions []string
				switch a := st["Action"].(type) {
				case string:
					actions = []string{a}
				case []any:
					for _, x := range a {
						if s, ok := x.(string); ok {
							actions = append(actions, s)
						}
					}
				}
				res := ""
				if table, attr := getAtt(st["Resource"]); table == "EventsTable" && attr == "Arn" {
					res = "table"
				} else if m, ok := st["Resource"].(map[string]any); ok {
					if sub, ok := m["Fn::Sub"].(string); ok {
						if rest, ok := strings.CutPrefix(sub, "${EventsTable.Arn}/"); ok {
							res = rest
						}
					}
				}
				for _, a := range actions {
					if name, ok := strings.CutPrefix(a, "dynamodb:"); ok && res != "" {
						granted[res] = append(granted[res], name)
					}
				}
			}
		}
		for res, actions := range resources {
			for _, a := range actions {
				if !slices.Contains(granted[res], a) {
					t.Errorf("%s: no dynamodb:%s on %s (grants %v)", id, a, res, granted)
				}
			}
		}
	}
}
