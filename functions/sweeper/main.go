// Command sweeper is the scheduled Lambda that re-enqueues events stored but
// never queued (the enqueue failed and the provider did not retry).
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/hookline/hookline/shared/awsenv"
)

func main() {
	sw, log, err := awsenv.Sweeper(context.Background())
	if err != nil {
		awsenv.Fatal(err)
	}
	lambda.Start(func(ctx context.Context) (map[string]int, error) {
		n, err := sw.Sweep(ctx)
		level := slog.LevelInfo
		if err != nil {
			level = slog.LevelError
		}
		// With ctx: the line carries the invocation's requestId.
		log.LogAttrs(ctx, level, "sweep", slog.Int("requeued", n), slog.Any("error", err))
		return map[string]int{"requeued": n}, err
	})
}
