package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// nullAnswer is the body of every answer of the null server: what hookline
// answers for an accepted event.
const nullAnswer = `{"status":"accepted","event_id":"01KNULL0000000000000000000"}`

// nullHandler reads the request's body and answers nullAnswer: the least
// work a Go net/http webhook receiver does, the ceiling `hookline compare`
// measures the load generator and hookline against.
func nullHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, nullAnswer)
}

const nullServerDoc = `Hidden from hookline -h: a yardstick for hookline compare (make
bench-compare), not a feature. Listens on --addr and answers every request
with what hookline answers for an accepted event, after reading its body.
`

type nullServerFlags struct{ addr *string }

func newNullServerFlags() (*flag.FlagSet, nullServerFlags) {
	fs := flag.NewFlagSet("nullserver", flag.ContinueOnError)
	return fs, nullServerFlags{addr: fs.String("addr", "127.0.0.1:8080", "listen `address`")}
}

// nullServer is `hookline nullserver --addr A`.
func nullServer(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := newNullServerFlags()
	if err := parseNoArgs(fs, args, stdout); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *f.addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(nullHandler), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "null server on http://%s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
