package ingest

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// ServeHTTP adapts the handler to net/http (hookline serve). The body is read
// up to MaxBody+1 bytes and never further.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := Request{Method: r.Method, Header: r.Header, RequestID: r.Header.Get("X-Request-Id")}
	if r.Method == http.MethodPost || r.Method == http.MethodPut || r.Method == http.MethodPatch {
		// One byte over the limit is enough to answer 413.
		body, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody()+1))
		if err != nil {
			// The client went away mid-body: it sees no answer anyway.
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		req.Body = body
	}
	resp := h.Handle(r.Context(), req)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// HandleAPIGateway adapts the handler to an API Gateway HTTP API (payload
// format 2.0) Lambda event.
func (h *Handler) HandleAPIGateway(ctx context.Context, e events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	hdr := make(http.Header, len(e.Headers))
	for k, v := range e.Headers {
		// API Gateway joins a repeated header's values with commas; a joined
		// credential never verifies, so it is rejected like a wrong one.
		hdr.Set(k, v)
	}
	req := Request{
		Method:    e.RequestContext.HTTP.Method,
		Header:    hdr,
		RequestID: e.RequestContext.RequestID,
	}
	if e.IsBase64Encoded {
		if int64(base64.StdEncoding.DecodedLen(len(e.Body))) > h.maxBody()+3 {
			req.TooLarge = true
		} else if b, err := base64.StdEncoding.DecodeString(e.Body); err == nil {
			req.Body = b
		} else {
			req.Body = []byte(e.Body) // not valid base64: verification fails
		}
	} else {
		req.Body = []byte(e.Body)
	}
	resp := h.Handle(ctx, req)
	out := events.APIGatewayV2HTTPResponse{
		StatusCode: resp.Status,
		Headers:    make(map[string]string, len(resp.Header)),
		Body:       string(resp.Body),
	}
	for k := range resp.Header {
		out.Headers[k] = resp.Header.Get(k)
	}
	return out, nil
}
