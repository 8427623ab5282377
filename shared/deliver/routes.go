package deliver

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hookline/hookline/shared/config"
)

// Route is one configured destination with the Destination that delivers
// to it. The config supplies the name, the event globs, max_attempts and
// timeout. Programs are its compiled filter and transform (NewRoutes
// compiles them; nil: none).
type Route struct {
	Config   config.Destination
	Dest     Destination
	Programs *Programs
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
// order, and compiles its filter and transform. A type with no Builder is an
// error: a destination is never silently left out. So is a program that
// does not compile.
func NewRoutes(dests []config.Destination, b Builders) ([]Route, error) {
	routes := make([]Route, 0, len(dests))
	for _, d := range dests {
		build, ok := b[d.Type]
		if !ok {
			return nil, fmt.Errorf("destination %s: type %q is not available here", d.Name, d.Type)
		}
		progs, err := CompilePrograms(d)
		if err != nil {
			return nil, err
		}
		dest, err := build(d)
		if err != nil {
			return nil, err
		}
		if _, ok := dest.(BodySender); d.Transform != "" && !ok {
			return nil, fmt.Errorf("destination %s: %w", d.Name, errNoBody)
		}
		routes = append(routes, Route{Config: d, Dest: dest, Programs: progs})
	}
	return routes, nil
}
