package template_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/shared/template"
)

const sample = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: { Type: String, Default: dev }
  Name: { Type: String }
  Buses: { Type: CommaDelimitedList, Default: "a,b" }
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  NotProd: !Not [!Condition IsProd]
  Both: !And [!Condition NotProd, !Equals [x, x]]
  Either: !Or [!Condition IsProd, !Equals [!Ref "AWS::Region", eu-west-1]]
Globals:
  Function:
    Runtime: provided.al2023
    Timeout: 10
    Layers: [g1]
    Environment:
      Variables:
        SHARED: global
        OVERRIDDEN: global
        TABLE: !Ref Table
Resources:
  Table:
    Type: AWS::DynamoDB::Table
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Metadata:
      BuildMethod: makefile
    Properties:
      MemorySize: 512
      Layers: [f1]
      LoggingConfig:
        LogFormat: JSON
        ApplicationLogLevel: WARN
      Environment:
        Variables:
          OVERRIDDEN: local
          QUEUE: !GetAtt Queue.QueueUrl
          QUEUE_LONG: !GetAtt [Queue, QueueUrl]
          STAGE: !Sub "${Stage}-${AWS::Region}"
          LITERAL: !Sub "${!NotAVar}"
          VARS: !Sub ["${A}/${Stage}", { A: !Ref Stage }]
          MODE: !If [IsProd, strict, !If [Both, relaxed, never]]
          EITHER: !If [Either, yes, no]
          JOINED: !Join [":", [a, !Ref Stage, 3]]
          BUSES: !Join ["|", !Ref Buses]
          NAMED: !Ref Name
          NUMBER: 42
      Events:
        Api:
          Type: HttpApi
          Properties: { Path: /x, Method: POST }
  Other:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/other
`

func parse(t *testing.T) *template.Template {
	t.Helper()
	tmpl, err := template.Parse([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl
}

func TestShortFormTagsBecomeLongForm(t *testing.T) {
	fn, err := parse(t).Function("Fn")
	if err != nil {
		t.Fatal(err)
	}
	env := fn.Env()
	tests := map[string]any{
		"QUEUE":      map[string]any{"Fn::GetAtt": []any{"Queue", "QueueUrl"}},
		"QUEUE_LONG": map[string]any{"Fn::GetAtt": []any{"Queue", "QueueUrl"}},
		"TABLE":      map[string]any{"Ref": "Table"},
		"STAGE":      map[string]any{"Fn::Sub": "${Stage}-${AWS::Region}"},
		"NUMBER":     float64(42),
	}
	for k, want := range tests {
		if !reflect.DeepEqual(env[k], want) {
			t.Errorf("%s = %#v, want %#v", k, env[k], want)
		}
	}
}

func TestGlobalsApplyAsInSAM(t *testing.T) {
	tmpl := parse(t)
	fn, _ := tmpl.Function("Fn")
	other, _ := tmpl.Function("Other")
	checks := []struct {
		name     string
		got, exp any
	}{
		{"scalar from Globals", fn.String("Runtime"), "provided.al2023"},
		{"map keys merged", fn.Env()["SHARED"], "global"},
		{"function's key wins", fn.Env()["OVERRIDDEN"], "local"},
		{"lists add up, Globals first", fn.Properties["Layers"], []any{"g1", "f1"}},
		{"function's scalar", fn.MemoryMB(), 512},
		{"global timeout", fn.Timeout(), 10 * time.Second},
		{"build method", fn.BuildMethod(), "makefile"},
		{"CodeUri default", fn.CodeURI(), "."},
		{"CodeUri", other.CodeURI(), "functions/other"},
		{"no build method", other.BuildMethod(), ""},
		{"SAM's default memory", other.MemoryMB(), 128},
		{"log format", fn.LogFormat(), "JSON"},
		{"application log level", fn.ApplicationLogLevel(), "WARN"},
		{"no logging config", other.LogFormat() + other.ApplicationLogLevel(), ""},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.exp) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.exp)
		}
	}
	if ev := fn.Events()["Api"]; ev.Type != "HttpApi" || ev.Properties["Path"] != "/x" {
		t.Errorf("event %+v", ev)
	}
	ids := []string{}
	for _, f := range tmpl.Functions() {
		ids = append(ids, f.LogicalID)
	}
	if !reflect.DeepEqual(ids, []string{"Fn", "Other"}) {
		t.Errorf("functions %v", ids)
	}
	if _, err := tmpl.Function("Table"); err == nil || !strings.Contains(err.Error(), "functions: Fn, Other") {
		t.Errorf("Function(Table) = %v", err)
	}
}

func TestResolve(t *testing.T) {
	tmpl := parse(t)
	fn, _ := tmpl.Function("Fn")
	env := fn.Env()
	tests := []struct {
		name, key string
		params    map[string]string
		want      string
		wantErr   string
	}{
		{"Sub with a parameter default and a pseudo parameter", "STAGE", nil, "dev-us-east-1", ""},
		{"parameters override defaults", "STAGE", map[string]string{"Stage": "prod", "AWS::Region": "eu-west-1"}, "prod-eu-west-1", ""},
		{"Sub literal", "LITERAL", nil, "${NotAVar}", ""},
		{"Sub with variables", "VARS", nil, "dev/dev", ""},
		{"nested If, false then true", "MODE", nil, "relaxed", ""},
		{"If true", "MODE", map[string]string{"Stage": "prod"}, "strict", ""},
		{"Or false", "EITHER", nil, "no", ""},
		{"Or true through a pseudo parameter", "EITHER", map[string]string{"AWS::Region": "eu-west-1"}, "yes", ""},
		{"Join of a list", "JOINED", nil, "a:dev:3", ""},
		{"Join of a CommaDelimitedList", "BUSES", nil, "a|b", ""},
		{"number", "NUMBER", nil, "42", ""},
		{"plain string", "SHARED", nil, "global", ""},
		{"parameter without default", "NAMED", nil, "", "no default"},
		{"parameter given", "NAMED", map[string]string{"Name": "n"}, "n", ""},
		{"resource Ref", "TABLE", nil, "", "known only in a deployed stack"},
		{"GetAtt", "QUEUE", nil, "", "known only in a deployed stack"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.Resolve(env[tt.key], tt.params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve(%s) = %q, %v; want error %q", tt.key, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%s) = %q, %v; want %q", tt.key, got, err, tt.want)
			}
		})
	}
	_, err := tmpl.Resolve(env["QUEUE"], nil)
	if !errors.Is(err, template.ErrUnresolvable) {
		t.Errorf("GetAtt error %v does not wrap ErrUnresolvable", err)
	}
	if _, err := tmpl.Resolve(map[string]any{"Fn::Base64": "x"}, nil); err == nil {
		t.Error("resolved Fn::Base64")
	}
	if _, err := tmpl.Resolve(map[string]any{"a": 1, "b": 2}, nil); err == nil {
		t.Error("resolved a map")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, doc, want string }{
		{"not YAML", "Resources: [", "template:"},
		{"no resources", "Parameters: {}\n", "no Resources"},
		{"GetAtt without attribute", "Resources:\n  A:\n    Type: X\n    Properties: { B: !GetAtt Queue }\n", "want Resource.Attribute"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := template.Parse([]byte(tt.doc)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v, want %q", err, tt.want)
			}
		})
	}
}
