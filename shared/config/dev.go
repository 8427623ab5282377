package config

import (
	"context"
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
