package config

import (
	"context"
	"fmt"
	"os"
)

// Development secrets: fixed, public, for `hookline serve` without a config
// file, the samples in events/ and the tests. Never use them anywhere real.
const (
	DevJourneyBeeSecret = "11111111-2222-4333-8444-555555555555"
	DevLeadronSecret    = "hookline-dev-leadron-secret"
	DevTombaToken       = "hookline-dev-tomba-token"
)

// DevelopmentYAML is the built-in development configuration: every provider
// with its development secret, every event to the log destination.
const DevelopmentYAML = `# hookline built-in development config (used when no hookline.yaml exists)
sources:
  journeybee: { secrets: ["` + DevJourneyBeeSecret + `"] }
  leadron:    { secrets: ["` + DevLeadronSecret + `"] }
  tomba:      { header: X-Tomba-Token, secrets: ["` + DevTombaToken + `"] }
destinations:
  - name: log
    type: log
    events: ["*"]
`

// Development returns the parsed built-in development config.
func Development() *Config {
	c, err := Parse(context.Background(), []byte(DevelopmentYAML), os.LookupEnv, nil)
	if err != nil {
		panic("config: the built-in development config is invalid: " + err.Error())
	}
	return c
}

// DevelopmentSecrets lists where c holds a development secret, e.g.
// "sources.leadron.secrets[0]" (never the value). They are public and
// committed, and the events/ samples signed with them stay valid until 2100:
// the Lambda functions refuse them, and `hookline serve` accepts them on a
// loopback address only.
func (c *Config) DevelopmentSecrets() []string {
	var out []string
	for _, s := range []struct {
		name    string
		secrets []string
	}{
		{"journeybee", c.Sources.JourneyBee.Secrets},
		{"leadron", c.Sources.Leadron.Secrets},
		{"tomba", c.Sources.Tomba.Secrets},
	} {
		for i, v := range s.secrets {
			switch v {
			case DevJourneyBeeSecret, DevLeadronSecret, DevTombaToken:
				out = append(out, fmt.Sprintf("sources.%s.secrets[%d]", s.name, i))
			}
		}
	}
	return out
}
