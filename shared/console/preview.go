package console

// What each destination would receive for an event (the detail page's
// preview): its filter and transform run as the processor runs them
// (deliver.PreviewRoute), nothing sent. The destination's URL, secret and
// signature are never shown: a URL can carry a token (Slack's hook URLs do).

import (
	"context"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/hookline/hookline/shared/deliver"
	"github.com/hookline/hookline/shared/store"
)

// previewTimeout bounds the previews of one event (jq programs are bounded
// by deliver too; this keeps a slow one from holding the page).
const previewTimeout = 2 * time.Second

type previewView struct {
	Destination string `json:"destination"`
	Type        string `json:"type"`    // http, log, eventbridge, sqs
	Matches     bool   `json:"matches"` // the destination's event globs take the event's type
	// Filter is the filter's answer (null without a filter); Filtered: it
	// said false and nothing would be sent.
	Filter      *bool  `json:"filter"`
	Filtered    bool   `json:"filtered"`
	Transformed bool   `json:"transformed"`
	Error       string `json:"error,omitzero"` // a filter or transform failure: a permanent failure for the destination
	ContentType string `json:"content_type,omitzero"`
	// Body is what would be sent, as JSON when it is JSON; null when
	// filtered, failed, or for a log destination.
	Body jsontext.Value `json:"body"`
}

// previews previews ev at every configured route.
func (c *Console) previews(ctx context.Context, ev store.Event) []previewView {
	out := []previewView{}
	ctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	for _, r := range c.o.Routes {
		v := previewView{Destination: r.Config.Name, Type: r.Config.Type, Body: jsontext.Value("null")}
		pv, err := deliver.PreviewRoute(ctx, r, ev)
		v.Matches, v.Filter, v.Filtered, v.Transformed = pv.Matches, pv.Filter, pv.Filtered, pv.Transformed
		if err != nil {
			v.Error = err.Error()
		} else if len(pv.Body) > 0 {
			v.Body = asJSON(pv.Body)
		}
		if pv.Request != nil {
			v.ContentType = pv.Request.Header.Get("Content-Type")
		}
		out = append(out, v)
	}
	return out
}
