package deliver

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/shared/config"
)

// Route is one configured destination with the Destination that delivers
// to it. The config supplies the name, the event globs, max_attempts and
// timeout.
type Route struct {
	Config config.Destination
	Dest   Destination
}

// Builder builds the Destination of one configured destination.
type Builder func(d config.Destination) (Destination, error)

// Builders maps a destination type (http, log, eventbridge, sqs) to its
// Builder. A binary registers the types it links.
type Builders map[string]Builder

// DefaultBuilders builds the types that need no AWS client: http (through
// client, see NewHTTPClient) and log (to log).
func DefaultBuilders(log *slog.Logger, client *http.Client) Builders {
	return Builders{
		"http": func(d config.Destination) (Destination, error) { return NewHTTP(d, client) },
		"log":  func(d config.Destination) (Destination, error) { return NewLog(d.Name, log), nil },
	}
}

// NewRoutes builds a Route for every configured destination, in config
// order. A type with no Builder is an error: a destination is never silently
// left out.
func NewRoutes(dests []config.Destination, b Builders) ([]Route, error) {
	routes := make([]Route, 0, len(dests))
	for _, d := range dests {
		build, ok := b[d.Type]
		if !ok {
			return nil, fmt.Errorf("destination %s: type %q is not available here", d.Name, d.Type)
		}
		dest, err := build(d)
		if err != nil {
			return nil, err
		}
		routes = append(routes, Route{Config: d, Dest: dest})
	}
	return routes, nil
}
