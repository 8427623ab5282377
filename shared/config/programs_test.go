package config

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const programsBase = "sources:\n  leadron: { secrets: [s] }\n"

func TestProgramKeys(t *testing.T) {
	doc := programsBase + `
destinations:
  - name: slack
    type: http
    url: https://hooks.slack.com/services/x
    secret: whsec_${SECRET}
    filter: &hot '.data.data.score >= 50' 
    transform: |
      {text: "New lead \(.normalized.lead.email) ${HOME} $ENV.HOME",
       key: "ssm:/not/a/reference"}
  - name: crm
    type: http
    url: https://crm.example.com
    secret: whsec_x
    transform: 'ssm:/hookline/prod/transform'
    content_type: application/vnd.crm+json
  - name: quiet
    type: log
    filter: 'true'
  - name: hot-log
    type: log
    filter: *hot
  - name: plain
    type: eventbridge
    transform: '{id}'
`
	res := ResolverFunc(func(_ context.Context, kind, name string) (string, error) {
		return "", errors.New("a program was resolved as a reference: " + kind + ":" + name)
	})
	c, err := Parse(context.Background(), []byte(doc), env(map[string]string{"SECRET": "c2VjcmV0", "HOME": "/root"}), res)
	if err != nil {
		t.Fatal(err)
	}
	slack, crm, quiet, plain := c.Destinations[0], c.Destinations[1], c.Destinations[2], c.Destinations[4]
	// Programs are kept as written: no ${ENV} or secret reference resolved
	// (a transform reads nothing but the event document), while the other
	// values around them are.
	if slack.Secret != "whsec_c2VjcmV0" {
		t.Errorf("secret = %q", slack.Secret)
	}
	if slack.Filter != ".data.data.score >= 50" {
		t.Errorf("filter = %q", slack.Filter)
	}
	wantT := "{text: \"New lead \\(.normalized.lead.email) ${HOME} $ENV.HOME\",\n key: \"ssm:/not/a/reference\"}\n"
	if slack.Transform != wantT {
		t.Errorf("transform = %q, want %q", slack.Transform, wantT)
	}
	if slack.Format != "" || slack.ContentType != DefaultTransformContentType {
		t.Errorf("slack format %q, content type %q; want none and %s", slack.Format, slack.ContentType, DefaultTransformContentType)
	}
	if crm.Transform != "ssm:/hookline/prod/transform" || crm.ContentType != "application/vnd.crm+json" {
		t.Errorf("crm = %+v", crm)
	}
	if quiet.Filter != "true" || quiet.Format != "cloudevents" {
		t.Errorf("quiet = %+v", quiet)
	}
	if plain.Transform != "{id}" || plain.ContentType != "" {
		t.Errorf("plain = %+v", plain)
	}
	// An alias to a program is the program.
	if got := c.Destinations[3].Filter; got != ".data.data.score >= 50" {
		t.Errorf("aliased filter = %q", got)
	}
}

func TestProgramKeysRejected(t *testing.T) {
	http := "    type: http\n    url: https://x.example\n    secret: whsec_x\n"
	for _, c := range []struct{ name, dest, want string }{
		{"format and transform", http + "    format: raw\n    transform: '{}'\n", "destinations[0] (a): format and transform cannot both be set"},
		{"format cloudevents and transform", http + "    format: cloudevents\n    transform: '{}'\n", "format and transform cannot both be set"},
		{"content type without transform", http + "    content_type: application/json\n", "content_type applies only to an http destination with a transform"},
		{"content type on sqs", "    type: sqs\n    queue_url: https://q\n    transform: '{}'\n    content_type: text/plain\n", "content_type applies only"},
		{"bad content type", http + "    transform: '{}'\n    content_type: 'not a type'\n", "is not a media type"},
		{"transform on log", "    type: log\n    transform: '{}'\n", "a log destination sends no body"},
		{"blank filter", "    type: log\n    filter: '  '\n", "filter is blank"},
		{"filter not a string", "    type: log\n    filter: {a: 1}\n", "invalid config"},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := programsBase + "destinations:\n  - name: a\n" + c.dest
			_, err := Parse(context.Background(), []byte(doc), env(nil), nil)
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want ErrInvalid containing %q", err, c.want)
			}
		})
	}
}
